package browsertest_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"credportal/infra/localstack"
)

// TestPortal runs the UI's main journeys in Chromium against the local
// stack, seeded with the demo data, as `make dev` serves it.
func TestPortal(t *testing.T) {
	stack := startStack(t, nil)
	acmeSearch := applicationID(t, stack, "alice@acme.example", "Acme Search")
	link := reminderLink(t, stack, acmeSearch)
	t.Logf("reminder link: %s", link)
	b := newBrowser(t)
	t.Cleanup(func() {
		axeTally.Lock()
		defer axeTally.Unlock()
		t.Logf("axe-core (WCAG 2.1 A and AA): %d checks of pages, %d violations", axeTally.runs, axeTally.violations)
	})
	t.Run("credential manager", func(t *testing.T) {
		credentialManager(t, newTab(t, b, stack.URL), stack)
	})
	t.Run("viewer", func(t *testing.T) {
		viewer(t, newTab(t, b, stack.URL), acmeSearch, link)
	})
	t.Run("federated credentials", func(t *testing.T) {
		federated(t, newTab(t, b, stack.URL), acmeSearch)
	})
	t.Run("keys and certificates", func(t *testing.T) {
		keys(t, newTab(t, b, stack.URL), acmeSearch)
	})
	t.Run("admin", func(t *testing.T) {
		admin(t, newTab(t, b, stack.URL), "bob@acme.example")
	})
	t.Run("identity bindings", func(t *testing.T) {
		bindings(t, newTab(t, b, stack.URL), stack)
	})
	// Someone designated on nothing is told whom to ask: SupportContact.
	t.Run("not designated", func(t *testing.T) {
		tb := newTab(t, b, stack.URL)
		tb.open("")
		tb.waitFor("button.user")
		tb.typeInto("form.other input[name=email]", "stranger@acme.example")
		tb.click("form.other button[type=submit]")
		tb.waitJS("document.querySelector('#who .email') && document.querySelector('#who .email').textContent === 'stranger@acme.example'", "signed in as stranger@acme.example")
		if names := appNames(tb); len(names) != 0 {
			t.Fatalf("applications %v", names)
		}
		text := tb.text("main .empty")
		href := evalJS[string](tb, `(document.querySelector('main .empty a') || {}).href || ''`)
		if !strings.Contains(text, "Ask support@registry.example to designate you") || href != "mailto:support@registry.example" {
			t.Fatalf("empty state %q, link %q", text, href)
		}
	})
}

// startStack starts the local stack, seeded with the demo data, with the
// template parameters params overrides; its logs are shown if the test fails.
func startStack(t *testing.T, params map[string]string) *localstack.Stack {
	t.Helper()
	logs := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("stack log lines about failures, then its last lines:\n%s", logs.summary(100, 40))
		}
	})
	stack, err := localstack.Start(context.Background(), localstack.Options{Addr: "127.0.0.1:0", Seed: true, Logs: logs, Params: params})
	if err != nil {
		t.Fatalf("start the local stack: %v", err)
	}
	t.Cleanup(func() {
		if err := stack.Stop(); err != nil {
			t.Errorf("stop the local stack: %v", err)
		}
	})
	return stack
}

// applicationID finds an application the user sees, through the API.
func applicationID(t *testing.T, stack *localstack.Stack, email, name string) string {
	t.Helper()
	token, err := stack.Token(email, false)
	if err != nil {
		t.Fatal(err)
	}
	return visibleApplication(t, stack, token, name)
}

// reminderLink runs the expiry sweep and returns the link to the
// application from a reminder it sent, as a credential manager would click it.
func reminderLink(t *testing.T, stack *localstack.Stack, appID string) string {
	t.Helper()
	resp, err := http.Post(stack.URL+"/local/sweep", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sweep: status %d: %s", resp.StatusCode, body)
	}
	mails, err := stack.Mail(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`https?://[^\s"<>]*` + regexp.QuoteMeta(appID))
	for _, m := range mails {
		if l := re.FindString(m.Text); l != "" {
			return l
		}
	}
	t.Fatalf("no reminder links to %s among %d emails", appID, len(mails))
	return ""
}

// logBuffer keeps the stack's logs, to show when a journey fails.
type logBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (w *logBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) < 8<<20 {
		w.buf = append(w.buf, p...)
	}
	return len(p), nil
}

// summary gives up to problems lines that mention a panic or an error, then
// the last tail lines.
func (w *logBuffer) summary(problems, tail int) string {
	w.mu.Lock()
	lines := strings.Split(strings.TrimSpace(string(w.buf)), "\n")
	w.mu.Unlock()
	var out []string
	for _, l := range lines {
		lower := strings.ToLower(l)
		if len(out) < problems && (strings.Contains(lower, "panic") || strings.Contains(lower, "error") || strings.Contains(lower, "exited")) {
			out = append(out, l)
		}
	}
	out = append(out, "…")
	if len(lines) > tail {
		lines = lines[len(lines)-tail:]
	}
	return strings.Join(append(out, lines...), "\n")
}
