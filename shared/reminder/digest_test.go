package reminder_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"credportal/infra/emulator/emulatortest"
	"credportal/infra/storetest"
	"credportal/shared/portal"
)

// Names stored in the table reach the digest as they are: the HTML part
// escapes them and no header can be injected through the subject.
func TestDigestEscapesStoredNames(t *testing.T) {
	f := newFixture(t)
	app := f.app("Acme <i>", "Search <script>alert(1)</script>\r\nBcc: mallory@evil.test", []string{"alice@acme.test"}, nil)
	f.secret(app, "<b>Key</b>\nX-Injected: yes", at(1, 12, 0)) // hint "<x9"
	f.mustRun()
	m := f.mail()
	if len(m) != 1 {
		t.Fatalf("%d messages, want one digest", len(m))
	}
	for _, bad := range []string{"<script>", "<b>Key</b>", "<i>", "<x9"} {
		if strings.Contains(m[0].HTML, bad) {
			t.Errorf("HTML part holds unescaped %q:\n%s", bad, m[0].HTML)
		}
	}
	for _, want := range []string{"Search &lt;script&gt;alert(1)&lt;/script&gt;", "&lt;b&gt;Key&lt;/b&gt;", "<code>&lt;x9…</code>", "Acme &lt;i&gt;"} {
		if !strings.Contains(m[0].HTML, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, m[0].HTML)
		}
	}
	if !strings.Contains(m[0].Text, "<b>Key</b>") {
		t.Errorf("text part does not show the name as it is:\n%s", m[0].Text)
	}
	head, _, _ := strings.Cut(m[0].Raw, "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n") {
		name, _, _ := strings.Cut(line, ":")
		if strings.EqualFold(name, "Bcc") || strings.EqualFold(name, "X-Injected") {
			t.Errorf("header injected: %q\n%s", line, head)
		}
	}
	if rcpt := to(t, m[0]); rcpt != "alice@acme.test" {
		t.Errorf("sent to %s", rcpt)
	}
}

// A digest says once, in words, when each secret expires, what happens then,
// and what to do: switch to a newer secret by name if the application has
// one, delete this one if the newer one is in use, otherwise create one.
// Run on 2026-11-26 at 07:00 UTC; the expected text is written out in full.
func TestDigestText(t *testing.T) {
	f := newFixture(t)
	org := storetest.CreateOrganisation(t, f.st, portal.Organisation{Name: "Acme " + emulatortest.UniqueName(""), CreatedAt: day0})
	app := func(name string) portal.Application { return f.orgApp(org, name, "alice@acme.test") }
	search, billing, sync, legacy := app("Acme Search"), app("Acme Billing"), app("Acme Data Sync"), app("Acme Legacy")
	f.secret(search, "Production key", time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC))
	f.secret(billing, "Nightly", time.Date(2026, 11, 27, 21, 46, 0, 0, time.UTC))
	f.secret(billing, "Rotation 2026", time.Date(2027, 3, 26, 9, 30, 0, 0, time.UTC)) // never used
	f.secret(sync, "Today key", time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC))
	newSync := f.secret(sync, "New sync", time.Date(2027, 6, 14, 12, 0, 0, 0, time.UTC))
	if _, err := f.st.MarkSecretUsed(context.Background(), sync.ClientID, sync.ID, newSync.ID, time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	f.secret(legacy, "Old key", time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	f.secret(legacy, "Early key", time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC))
	f.mustRun()
	m := f.mail()
	if len(m) != 1 {
		t.Fatalf("%d messages, want one digest", len(m))
	}
	link := func(a portal.Application) string { return "https://portal.test/applications/" + a.ID }
	wantText := `5 client secrets you manage are close to expiry.

Acme Billing (` + org.Name + `)
  - Nightly (nx9…) expires tomorrow, 27 November 2026 at 21:46 UTC. From then on, token requests with it fail.
    Switch your systems to the newer secret "Rotation 2026" (rx9…), valid until 26 March 2027 at 09:30 UTC, then delete this one.
  ` + link(billing) + `

Acme Data Sync (` + org.Name + `)
  - Today key (tx9…) expires today, 26 November 2026 at 20:00 UTC. From then on, token requests with it fail.
    A newer secret, "New sync" (nx9…), was last used 26 November 2026 at 05:00 UTC: this one looks replaced and can be deleted.
  ` + link(sync) + `

Acme Legacy (` + org.Name + `)
  - Old key (ox9…) expired yesterday, 25 November 2026 at 12:00 UTC. Token requests with it now fail.
    Create a new secret, switch your systems to it, then delete this one.
  - Early key (ex9…) expired today, 26 November 2026 at 03:00 UTC. Token requests with it now fail.
    Create a new secret, switch your systems to it, then delete this one.
  ` + link(legacy) + `

Acme Search (` + org.Name + `)
  - Production key (px9…) expires in 5 days, on 1 December 2026 at 09:30 UTC. From then on, token requests with it fail.
    Create a new secret, switch your systems to it, then delete this one.
  ` + link(search) + `

You receive this because you are a credential manager of these applications.
`
	if got := strings.ReplaceAll(m[0].Text, "\r\n", "\n"); got != wantText {
		t.Errorf("text part\n got %s\nwant %s", got, wantText)
	}
	if m[0].Subject != "5 client secrets close to expiry" {
		t.Errorf("subject %q", m[0].Subject)
	}
	if from := m[0].Header.Get("From"); from != `"Registry API Credentials" <`+f.sender+`>` {
		t.Errorf("From %q", from)
	}
	for _, want := range []string{
		"<p>5 client secrets you manage are close to expiry.</p>",
		"<li><p><strong>Nightly</strong> (<code>nx9…</code>) expires tomorrow, 27 November 2026 at 21:46 UTC. From then on, token requests with it fail.</p>" +
			"<p>Switch your systems to the newer secret &#34;Rotation 2026&#34; (rx9…), valid until 26 March 2027 at 09:30 UTC, then delete this one.</p></li>",
		"<li><p><strong>Today key</strong> (<code>tx9…</code>) expires today, 26 November 2026 at 20:00 UTC. From then on, token requests with it fail.</p>" +
			"<p>A newer secret, &#34;New sync&#34; (nx9…), was last used 26 November 2026 at 05:00 UTC: this one looks replaced and can be deleted.</p></li>",
		"<li><p><strong>Old key</strong> (<code>ox9…</code>) expired yesterday, 25 November 2026 at 12:00 UTC. Token requests with it now fail.</p>" +
			"<p>Create a new secret, switch your systems to it, then delete this one.</p></li>",
		"<li><p><strong>Early key</strong> (<code>ex9…</code>) expired today, 26 November 2026 at 03:00 UTC. Token requests with it now fail.</p>",
		"<li><p><strong>Production key</strong> (<code>px9…</code>) expires in 5 days, on 1 December 2026 at 09:30 UTC. From then on, token requests with it fail.</p>",
		`<p><a href="` + link(billing) + `">Open Acme Billing in the portal</a></p>`,
	} {
		if !strings.Contains(m[0].HTML, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, m[0].HTML)
		}
	}
}

// A digest of one reminder names it in its subject and says it once in its
// body.
func TestDigestOfOne(t *testing.T) {
	f := newFixture(t)
	app := f.app("Acme", "Acme Billing", []string{"alice@acme.test"}, nil)
	f.secret(app, "Nightly", time.Date(2026, 11, 27, 21, 46, 0, 0, time.UTC))
	f.mustRun()
	m := f.mail()
	if len(m) != 1 {
		t.Fatalf("%d messages, want one digest", len(m))
	}
	if m[0].Subject != `Client secret "Nightly" of Acme Billing expires tomorrow` {
		t.Errorf("subject %q", m[0].Subject)
	}
	wantText := `A client secret you manage is close to expiry.

Acme Billing (` + app.Organisation.Name + `)
  - Nightly (nx9…) expires tomorrow, 27 November 2026 at 21:46 UTC. From then on, token requests with it fail.
    Create a new secret, switch your systems to it, then delete this one.
  https://portal.test/applications/` + app.ID + `

You receive this because you are a credential manager of these applications.
`
	if got := strings.ReplaceAll(m[0].Text, "\r\n", "\n"); got != wantText {
		t.Errorf("text part\n got %s\nwant %s", got, wantText)
	}
}
