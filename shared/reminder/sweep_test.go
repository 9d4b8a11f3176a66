package reminder_test

import (
	"context"
	"html"
	"strings"
	"testing"
	"time"

	"credportal/infra/emulator"
	"credportal/shared/audit"
	"credportal/shared/portal"
	"credportal/shared/reminder"
)

func TestThresholdsAndDaysLeft(t *testing.T) {
	ts, err := reminder.ParseThresholds(reminder.DefaultThresholds)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		expires time.Time
		left    int
		due     int // -1: none
	}{
		{"31 days", at(31, 12, 0), 31, -1},
		{"30 days", at(30, 23, 59), 30, 30},
		{"15 days", at(15, 0, 0), 15, 30},
		{"14 days", at(14, 6, 0), 14, 14},
		{"8 days", at(8, 1, 0), 8, 14},
		{"7 days", at(7, 8, 0), 7, 7},
		{"4 days", at(4, 8, 0), 4, 7},
		{"3 days", at(3, 8, 0), 3, 3},
		{"2 days", at(2, 8, 0), 2, 3},
		{"tomorrow just after midnight", at(1, 0, 1), 1, 1},
		{"today, later", at(0, 23, 59), 0, 0},
		{"today, earlier (expired)", at(0, 3, 0), 0, 0},
		{"yesterday", at(-1, 12, 0), -1, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			left := reminder.DaysLeft(day0, c.expires)
			if left != c.left {
				t.Fatalf("DaysLeft = %d, want %d", left, c.left)
			}
			got, ok := reminder.Due(ts, left, reminder.DaysLeft(at(-90, 7, 0), c.expires))
			if (c.due < 0) == ok || (ok && got != c.due) {
				t.Fatalf("Due(%d) = %d, %v; want %d", left, got, ok, c.due)
			}
		})
	}
	for _, bad := range []string{"", "7,x", "-1", "3,3", "1,,2"} {
		if _, err := reminder.ParseThresholds(bad); err == nil {
			t.Errorf("ParseThresholds(%q) accepted", bad)
		}
	}
	if got, _ := reminder.ParseThresholds(" 1, 30 ,7"); len(got) != 3 || got[0] != 30 || got[2] != 1 {
		t.Errorf("ParseThresholds sorts from the largest: %v", got)
	}
}

// TestDigests checks who gets what: one digest per recipient, grouped by
// application, credential managers only, never another organisation's
// secrets, and the fallback address for an application without managers.
func TestDigests(t *testing.T) {
	f := newFixture(t)
	search := f.app("Acme", "Acme Search", []string{"alice@acme.test", "bob@acme.test"}, []string{"victor@acme.test"})
	sync := f.app("Acme", "Acme Data Sync", []string{"alice@acme.test"}, nil)
	globex := f.app("Globex", "Globex Matching", []string{"carol@globex.test", "dave@globex.test"}, nil)
	orphan := f.app("Initech", "Initech Billing", nil, []string{"vera@initech.test"})

	prod := f.secret(search, "Production key", at(5, 9, 30))
	f.secret(search, "Rotation 2026", at(90, 9, 30))
	today := f.secret(search, "Today key", at(0, 20, 0))
	syncKey := f.secret(sync, "Sync key", at(30, 6, 0))
	glx := f.secret(globex, "Globex key", at(1, 12, 0))
	f.secret(globex, "Globex long", at(200, 12, 0))
	orph := f.secret(orphan, "Orphan key", at(14, 12, 0))

	res := f.mustRun()
	if res.Examined != 5 || res.Due != 8 || res.Sent != 5 || res.Reminders != 8 || res.Failed != 0 || res.Skipped != 0 {
		t.Errorf("result %+v", res)
	}
	f.exactlyOnce(
		key("alice@acme.test", prod, 7), key("alice@acme.test", today, 0), key("alice@acme.test", syncKey, 30),
		key("bob@acme.test", prod, 7), key("bob@acme.test", today, 0),
		key("carol@globex.test", glx, 1), key("dave@globex.test", glx, 1),
		key(f.fallback, orph, 14),
	)
	byRcpt := map[string]emulator.Mail{}
	for _, m := range f.mail() {
		byRcpt[to(t, m)] = m
	}
	if len(byRcpt) != 5 {
		t.Fatalf("recipients %v", byRcpt)
	}
	for _, nobody := range []string{"victor@acme.test", "vera@initech.test"} {
		if _, ok := byRcpt[nobody]; ok {
			t.Errorf("viewer %s got a reminder", nobody)
		}
	}

	alice := byRcpt["alice@acme.test"]
	for _, part := range []string{alice.Text, alice.HTML} {
		for _, want := range []string{
			"Acme Search", "Acme Data Sync", "Production key", prod.Hint + "…", "expires in 5 days, on 1 December 2026 at 09:30 UTC",
			"Today key", "expires today", "Sync key", "expires in 30 days",
			portalURL + "applications/" + search.ID, portalURL + "applications/" + sync.ID,
		} {
			if !strings.Contains(part, want) {
				t.Errorf("alice's digest lacks %q:\n%s", want, part)
			}
		}
		for _, never := range []string{"Globex", "Orphan"} {
			if strings.Contains(part, never) {
				t.Errorf("alice's digest shows %q", never)
			}
		}
	}
	// Acme Search's unused newer secret is named as the one to switch to.
	if strings.Count(alice.Text, `Switch your systems to the newer secret "Rotation 2026"`) != 2 {
		t.Errorf("the newer secret is not named for both of Acme Search's:\n%s", alice.Text)
	}
	// Grouped by application: each application's heading once, its secrets
	// between it and its link.
	for _, g := range []struct {
		app     portal.Application
		secrets []string
	}{{search, []string{"Production key", "Today key"}}, {sync, []string{"Sync key"}}} {
		head := strings.Index(alice.Text, g.app.Name+" (")
		link := strings.Index(alice.Text, portalURL+"applications/"+g.app.ID)
		if strings.Count(alice.Text, g.app.Name+" (") != 1 || head < 0 || link < head {
			t.Fatalf("no group for %s:\n%s", g.app.Name, alice.Text)
		}
		for _, name := range g.secrets {
			if i := strings.Index(alice.Text, name); i < head || i > link {
				t.Errorf("%s is not in the group of %s:\n%s", name, g.app.Name, alice.Text)
			}
		}
	}
	if alice.Subject != "3 client secrets close to expiry" {
		t.Errorf("subject %q", alice.Subject)
	}
	carol := byRcpt["carol@globex.test"]
	if carol.Subject != `Client secret "Globex key" of Globex Matching expires tomorrow` {
		t.Errorf("subject %q", carol.Subject)
	}
	for _, never := range []string{"Acme", "Production key", "Initech"} {
		if strings.Contains(carol.Text, never) || strings.Contains(carol.HTML, never) {
			t.Errorf("carol's digest shows %q", never)
		}
	}
	if fb := byRcpt[f.fallback]; !strings.Contains(fb.Text, "Orphan key") || !strings.Contains(fb.Text, "expires in 14 days, on 10 December 2026 at 12:00 UTC") {
		t.Errorf("fallback digest:\n%s", fb.Text)
	}
	// The fallback address is not told it manages the applications.
	const managerReason = "You receive this because you are a credential manager of these applications."
	const fallbackReason = "You receive this because these applications have no credential manager and this is the portal's fallback address. Designate credential managers, so that reminders reach the people who can act on them."
	if fb := byRcpt[f.fallback]; strings.Contains(fb.Text, managerReason) || !strings.Contains(fb.Text, fallbackReason) || !strings.Contains(fb.HTML, html.EscapeString(fallbackReason)) ||
		!strings.HasPrefix(fb.Text, "A client secret of an application without a credential manager is close to expiry.\n") {
		t.Errorf("fallback digest's reason:\n%s", fb.Text)
	}
	if !strings.Contains(alice.Text, managerReason) || strings.Contains(alice.Text, fallbackReason) {
		t.Errorf("manager digest's reason:\n%s", alice.Text)
	}
	if strings.Contains(alice.HTML, "<script") || !strings.Contains(alice.Raw, "multipart/alternative") {
		t.Errorf("not a multipart/alternative message:\n%s", alice.Raw)
	}

	// The next run, the same day, finds everything done.
	res = f.mustRun()
	if res.Sent != 0 || res.Due != 0 {
		t.Errorf("second run %+v", res)
	}
}

func TestNoFallbackSendsNothing(t *testing.T) {
	f := newFixture(t)
	orphan := f.app("Initech", "Initech Billing", nil, []string{"vera@initech.test"})
	f.secret(orphan, "Orphan key", at(3, 12, 0))
	cfg := f.config()
	cfg.Fallback = ""
	res, err := f.sweep(cfg).Run(context.Background())
	if err != nil || res.Sent != 0 || res.Skipped != 1 {
		t.Fatalf("%+v, %v", res, err)
	}
	if m := f.mail(); len(m) != 0 {
		t.Fatalf("sent %d", len(m))
	}
}

// An application with a newer active secret that has been used gets the
// note that the old one looks replaced; one whose newer secret is unused is
// told to switch to it.
func TestReplacedNote(t *testing.T) {
	f := newFixture(t)
	replaced := f.app("Acme", "Replaced", []string{"alice@acme.test"}, nil)
	unused := f.app("Acme", "Unused", []string{"alice@acme.test"}, nil)
	older := f.app("Acme", "Older", []string{"alice@acme.test"}, nil)

	oldR := f.secret(replaced, "Old R", at(7, 12, 0))
	oldU := f.secret(unused, "Old U", at(7, 12, 0))
	// Pre O was created before the due secret Old O.
	preO := f.secretCreated(older, "Pre O", at(-40, 12, 0), at(60, 12, 0))
	oldO := f.secretCreated(older, "Old O", at(-30, 12, 0), at(7, 12, 0))
	f.setNow(day0.Add(time.Minute))
	newR := f.secret(replaced, "New R", at(120, 12, 0))
	f.secret(unused, "New U", at(120, 12, 0))
	used := day0.Add(-2 * time.Hour)
	for _, u := range []struct {
		app portal.Application
		s   portal.Secret
	}{{replaced, newR}, {older, preO}} {
		if _, err := f.st.MarkSecretUsed(context.Background(), u.app.ClientID, u.app.ID, u.s.ID, used); err != nil {
			t.Fatal(err)
		}
	}
	f.setNow(day0)
	f.mustRun()
	f.exactlyOnce(key("alice@acme.test", oldR, 7), key("alice@acme.test", oldU, 7), key("alice@acme.test", oldO, 7))
	m := f.mail()
	if len(m) != 1 {
		t.Fatalf("%d messages, want one digest", len(m))
	}
	note := `A newer secret, "New R" (` + newR.Hint + "…), was last used 26 November 2026 at 05:00 UTC: this one looks replaced and can be deleted."
	if !strings.Contains(m[0].Text, note) {
		t.Errorf("no replacement note:\n%s", m[0].Text)
	}
	if strings.Count(m[0].Text, "looks replaced") != 1 || strings.Count(m[0].HTML, "looks replaced") != 1 {
		t.Errorf("the note belongs to Old R only (New U is unused; Pre O is older):\n%s", m[0].Text)
	}
	// An unused newer secret is named as the one to switch to instead.
	if !strings.Contains(m[0].Text, `Switch your systems to the newer secret "New U" (nx9…), valid until 26 March 2027 at 12:00 UTC, then delete this one.`) {
		t.Errorf("New U not named for Old U:\n%s", m[0].Text)
	}
}

// The same sweep three times, and two sweeps at once, send each reminder once.
func TestRepeatedAndConcurrentRuns(t *testing.T) {
	f := newFixture(t)
	// The secrets are created long before, so every threshold was ahead of
	// them when they were made.
	created := day0.AddDate(0, 0, -60)
	var want []string
	// Day 0: secrets that many days from expiry get the reminder of that
	// threshold, the most urgent one crossed.
	oneDayAway := []portal.Secret{}
	for i, c := range []struct{ days, threshold int }{{0, 0}, {1, 1}, {3, 3}, {7, 7}, {14, 14}, {30, 30}} {
		app := f.app("Org", "App "+string(rune('A'+i)), []string{"m1@org.test", "m2@org.test"}, []string{"v@org.test"})
		f.setNow(created)
		s := f.secret(app, "Key", at(c.days, 12, 0))
		s2 := f.secret(app, "Second", at(c.days, 13, 0))
		f.setNow(day0)
		for _, r := range []string{"m1@org.test", "m2@org.test"} {
			want = append(want, key(r, s, c.threshold), key(r, s2, c.threshold))
		}
		if c.days == 1 {
			oneDayAway = []portal.Secret{s, s2}
		}
	}
	for i := 0; i < 3; i++ {
		f.mustRun()
	}
	f.exactlyOnce(want...)
	if n := len(f.mail()); n != 2 {
		t.Errorf("%d emails, want one digest per manager", n)
	}

	// Two sweeps at once, twice, the next day: each sends nothing the other did.
	f.setNow(day0.AddDate(0, 0, 1))
	for _, c := range []struct{ days, threshold int }{{1, 1}, {2, 3}, {5, 7}} {
		app := f.app("Org", "Late", []string{"m3@org.test", "m4@org.test", "m5@org.test"}, nil)
		f.setNow(created)
		s := f.secret(app, "Key", at(c.days+1, 12, 0))
		f.setNow(day0.AddDate(0, 0, 1))
		for _, r := range []string{"m3@org.test", "m4@org.test", "m5@org.test"} {
			want = append(want, key(r, s, c.threshold))
		}
	}
	for round := 0; round < 2; round++ {
		f.runAtOnce(2)
	}
	// The day's moves: the secrets 1 day away yesterday expire today,
	// threshold 0. The others stay at the threshold they had (0 days → -1:
	// still 0; 3 → 2: still 3; 7 → 6, 14 → 13, 30 → 29), sent yesterday.
	for _, s := range oneDayAway {
		for _, r := range []string{"m1@org.test", "m2@org.test"} {
			want = append(want, key(r, s, 0))
		}
	}
	f.exactlyOnce(want...)
}

// A credential manager designated after a threshold's reminders went out
// still gets that threshold's reminder on the next run; the others do not
// get it again.
func TestNewManagerGetsTheCurrentThreshold(t *testing.T) {
	f := newFixture(t)
	app := f.app("Acme", "Search", []string{"alice@acme.example"}, nil)
	sec := f.secret(app, "Production key", day0.AddDate(0, 0, 6).Add(time.Hour))
	f.mustRun()
	d := portal.Designation{ApplicationID: app.ID, Email: "bob@acme.example", Role: portal.RoleCredentialManager, CreatedAt: day0, CreatedBy: "admin@operator.test"}
	if err := f.st.PutDesignation(context.Background(), d, f.event(app.ID, audit.DesignationSet)); err != nil {
		t.Fatal(err)
	}
	f.setNow(day0.Add(24 * time.Hour))
	f.mustRun()
	f.setNow(day0.Add(48 * time.Hour))
	if res := f.mustRun(); res.Sent != 0 {
		t.Fatalf("a third run sent %+v", res)
	}
	f.exactlyOnce(key("alice@acme.example", sec, 7), key("bob@acme.example", sec, 7))
}
