package reminder_test

import (
	"context"
	"reflect"
	"sort"
	"strings"
	"testing"
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
	if m := f.mail(); !strings.Contains(m[len(m)-1].Text, "has expired") {
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
	if !strings.Contains(last.Text, "A newer secret, New") || !strings.Contains(last.Text, "looks replaced") || replacement == "" {
		t.Errorf("no replacement note on day 5:\n%s", last.Text)
	}
	if strings.Contains(m[1].Text, "looks replaced") {
		t.Errorf("replacement note before there was a replacement:\n%s", m[1].Text)
	}
}
