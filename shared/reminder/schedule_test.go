package reminder_test

import (
	"context"
	"reflect"
	"sort"
	"strings"
	"testing"

	"credportal/shared/reminder"
	"time"
)

// sentOn runs the daily sweep on each of days and returns, per day, the
// reminders that went out that day.
func (f *fixture) sentOn(days []int, before func(day int)) map[int][]string {
	f.t.Helper()
	out := map[int][]string{}
	seen := map[string]bool{}
	for _, d := range days {
		if before != nil {
			before(d)
		}
		f.setNow(at(d, 7, 0))
		if f.mustRun().Sent == 0 {
			continue
		}
		for k := range f.sent() {
			if !seen[k] {
				seen[k] = true
				out[d] = append(out[d], k)
			}
		}
		sort.Strings(out[d])
	}
	return out
}

func daysFrom(first, last, step int) []int {
	var out []int
	for d := first; d <= last; d += step {
		out = append(out, d)
	}
	return out
}

// A secret's whole schedule, run daily: 30, 14, 7, 3, 1 days before and on
// the expiry day, each once, on the right day; nothing before or after.
func TestDailySchedule(t *testing.T) {
	f := newFixture(t)
	app := f.app("a", "App", []string{"m@a.test"}, nil)
	s := f.secret(app, "Key", at(31, 12, 0))
	got := f.sentOn(daysFrom(-2, 34, 1), nil)
	want := map[int][]string{
		1: {key("m@a.test", s, 30)}, 17: {key("m@a.test", s, 14)}, 24: {key("m@a.test", s, 7)},
		28: {key("m@a.test", s, 3)}, 30: {key("m@a.test", s, 1)}, 31: {key("m@a.test", s, 0)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("schedule\n got %v\nwant %v", got, want)
	}
	var subjects []string
	for _, m := range f.mail() {
		subjects = append(subjects, m.Subject)
	}
	if !strings.Contains(subjects[0], "expires in 30 days") || !strings.Contains(subjects[4], "expires tomorrow") || !strings.Contains(subjects[5], "expires today") {
		t.Errorf("subjects %q", subjects)
	}
}

// Runs six days apart: a secret that crossed several thresholds since the
// last run gets only the most urgent.
func TestSparseRunsSendTheMostUrgent(t *testing.T) {
	f := newFixture(t)
	app := f.app("a", "App", []string{"m@a.test"}, nil)
	s := f.secret(app, "Key", at(20, 12, 0))
	got := f.sentOn(daysFrom(0, 30, 6), nil)
	// day 0: 20 left → 30; day 6: 14 → 14; day 12: 8 → 14 again, nothing;
	// day 18: 2 → 3 (7 skipped); day 24: expired four days ago, out of the window.
	want := map[int][]string{0: {key("m@a.test", s, 30)}, 6: {key("m@a.test", s, 14)}, 18: {key("m@a.test", s, 3)}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

// A run missed on the expiry day is made up the day after, once.
func TestExpiryReminderADayLate(t *testing.T) {
	f := newFixture(t)
	app := f.app("a", "App", []string{"m@a.test"}, nil)
	s := f.secret(app, "Key", at(2, 5, 0))
	got := f.sentOn([]int{1, 3, 4}, nil)
	want := map[int][]string{1: {key("m@a.test", s, 1)}, 3: {key("m@a.test", s, 0)}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	if m := f.mail(); !strings.Contains(m[len(m)-1].Text, "expired yesterday, 28 November 2026 at 05:00 UTC. Token requests with it now fail.") {
		t.Errorf("late expiry notice:\n%s", m[len(m)-1].Text)
	}
}

// Deleting a secret stops its reminders; rotating (a new secret, used, then
// the old one deleted) notes the replacement, then stops the old one's.
func TestDeleteAndReplaceStopReminders(t *testing.T) {
	f := newFixture(t)
	app := f.app("a", "App", []string{"m@a.test"}, nil)
	deleted := f.secret(app, "Deleted", at(10, 12, 0))
	old := f.secret(app, "Old", at(8, 12, 0))
	var replacement string
	got := f.sentOn(daysFrom(0, 12, 1), func(d int) {
		switch d {
		case 2:
			f.remove(deleted)
		case 3:
			f.setNow(at(3, 6, 0))
			n := f.secret(app, "New", at(120, 12, 0))
			replacement = n.ID
			if _, err := f.st.MarkSecretUsed(context.Background(), app.ClientID, app.ID, n.ID, at(3, 6, 30)); err != nil {
				t.Fatal(err)
			}
		case 6:
			f.remove(old)
		}
	})
	// day 0: deleted (10 left) → 14, old (8 left) → 14; day 1: old → 7;
	// deleted gone from day 2; day 5: old → 3, with the note; old gone from day 6.
	want := map[int][]string{
		0: {key("m@a.test", deleted, 14), key("m@a.test", old, 14)},
		1: {key("m@a.test", old, 7)},
		5: {key("m@a.test", old, 3)},
	}
	sort.Strings(want[0])
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	m := f.mail()
	last := m[len(m)-1]
	if !strings.Contains(last.Text, `A newer secret, "New"`) || !strings.Contains(last.Text, "looks replaced") || replacement == "" {
		t.Errorf("no replacement note on day 5:\n%s", last.Text)
	}
	if strings.Contains(m[1].Text, "looks replaced") {
		t.Errorf("replacement note before there was a replacement:\n%s", m[1].Text)
	}
}

// A threshold crossed before the secret existed is never due: T is due only
// if the secret had more than T days left (UTC calendar days) when it was
// created. Dates are written out; the expectations are worked by hand.
func TestNoReminderForAThresholdCrossedBeforeCreation(t *testing.T) {
	ts, err := reminder.ParseThresholds("30,14,7,3,1,0")
	if err != nil {
		t.Fatal(err)
	}
	utc := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name             string
		created, expires string
		now              string
		left, atCreation int
		due              int // -1: none
	}{
		{"30-day lifetime, at creation", "2026-11-26 07:00", "2026-12-26 07:00", "2026-11-26 07:00", 30, 30, -1},
		{"30-day lifetime, next day", "2026-11-26 07:00", "2026-12-26 07:00", "2026-11-27 07:00", 29, 30, -1},
		{"30-day lifetime, 14 left", "2026-11-26 07:00", "2026-12-26 07:00", "2026-12-12 07:00", 14, 30, 14},
		{"31 days at creation, 30 left", "2026-11-25 23:00", "2026-12-26 01:00", "2026-11-26 07:00", 30, 31, 30},
		{"20 days at creation", "2026-11-26 10:00", "2026-12-16 10:00", "2026-11-26 10:00", 20, 20, -1},
		{"20 days at creation, 15 left", "2026-11-26 10:00", "2026-12-16 10:00", "2026-12-01 07:00", 15, 20, -1},
		{"20 days at creation, 14 left", "2026-11-26 10:00", "2026-12-16 10:00", "2026-12-02 07:00", 14, 20, 14},
		{"exactly 14 at creation, late to early", "2026-11-26 23:30", "2026-12-10 00:30", "2026-11-27 07:00", 13, 14, -1},
		{"exactly 14 at creation, 7 left", "2026-11-26 23:30", "2026-12-10 00:30", "2026-12-03 07:00", 7, 14, 7},
		{"exactly 14 at creation, early to late", "2026-11-26 00:10", "2026-12-10 23:50", "2026-11-26 07:00", 14, 14, -1},
		{"15 at creation, 14 left", "2026-11-25 23:59", "2026-12-10 00:01", "2026-11-26 07:00", 14, 15, 14},
		{"created the day before expiry, on the day", "2026-11-25 12:00", "2026-11-26 20:00", "2026-11-26 07:00", 0, 1, 0},
		{"created the day before expiry, that day", "2026-11-25 12:00", "2026-11-26 20:00", "2026-11-25 13:00", 1, 1, -1},
		{"created on the expiry day", "2026-11-26 01:00", "2026-11-26 20:00", "2026-11-26 07:00", 0, 0, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			created, expires, now := utc(c.created), utc(c.expires), utc(c.now)
			left, atCreation := reminder.DaysLeft(now, expires), reminder.DaysLeft(created, expires)
			if left != c.left || atCreation != c.atCreation {
				t.Fatalf("days left %d, at creation %d; want %d, %d", left, atCreation, c.left, c.atCreation)
			}
			got, ok := reminder.Due(ts, left, atCreation)
			if (c.due < 0) == ok || (ok && got != c.due) {
				t.Fatalf("Due = %d, %v; want %d", got, ok, c.due)
			}
		})
	}
}

// The sweep applies it: run daily, a secret created with a 30-day lifetime
// gets its 14-day reminder first, one created with 20 days left too, and one
// created with exactly 14 days left its 7-day one.
func TestScheduleStartsAfterCreation(t *testing.T) {
	f := newFixture(t)
	app := f.app("a", "App", []string{"m@a.test"}, nil)
	thirty := f.secretCreated(app, "Thirty", time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC), time.Date(2026, 12, 26, 7, 0, 0, 0, time.UTC))
	twenty := f.secretCreated(app, "Twenty", time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC), time.Date(2026, 12, 16, 10, 0, 0, 0, time.UTC))
	fourteen := f.secretCreated(app, "Fourteen", time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC), time.Date(2026, 12, 10, 12, 0, 0, 0, time.UTC))
	got := f.sentOn(daysFrom(0, 30, 1), nil)
	// Day 0 is 2026-11-26: Thirty's 14 falls on 12-12 (day 16), 7 on 12-19
	// (23), 3 on 12-23 (27), 1 on 12-25 (29), 0 on 12-26 (30); Twenty's 14
	// on 12-02 (6), 7 on 12-09 (13), 3 on 12-13 (17), 1 on 12-15 (19), 0 on
	// 12-16 (20); Fourteen's 7 on 12-03 (7), 3 on 12-07 (11), 1 on 12-09
	// (13), 0 on 12-10 (14).
	want := map[int][]string{
		6: {key("m@a.test", twenty, 14)}, 7: {key("m@a.test", fourteen, 7)}, 11: {key("m@a.test", fourteen, 3)},
		13: {key("m@a.test", twenty, 7), key("m@a.test", fourteen, 1)}, 14: {key("m@a.test", fourteen, 0)},
		16: {key("m@a.test", thirty, 14)}, 17: {key("m@a.test", twenty, 3)}, 19: {key("m@a.test", twenty, 1)},
		20: {key("m@a.test", twenty, 0)}, 23: {key("m@a.test", thirty, 7)}, 27: {key("m@a.test", thirty, 3)},
		29: {key("m@a.test", thirty, 1)}, 30: {key("m@a.test", thirty, 0)},
	}
	sort.Strings(want[13])
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("schedule\n got %v\nwant %v", got, want)
	}
}
