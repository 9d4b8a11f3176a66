package reminder_test

import (
	"strings"
	"testing"
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
