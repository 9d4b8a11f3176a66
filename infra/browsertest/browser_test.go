package browsertest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"credportal/infra/template"
)

// stepTimeout bounds one browser step; the whole run stays far below it.
const stepTimeout = 20 * time.Second

// chromiumPath finds Debian's Chromium.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is not installed: run `make deps-browser` (apt-get install chromium)")
	return ""
}

// newBrowser starts one headless Chromium, with a fresh profile, for the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// tab is one page in a browser context of its own (its own sessionStorage),
// with every console message, exception and log entry collected.
type tab struct {
	t   *testing.T
	ctx context.Context
	url string

	mu       sync.Mutex
	messages []chromedp.ConsoleMessage
	// expected lists substrings of network errors the scenario causes on
	// purpose (e.g. a refused request); anything else fails the test.
	expected []string
}

func newTab(t *testing.T, browserCtx context.Context, baseURL string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	tb := &tab{t: t, ctx: ctx, url: baseURL}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.messages = append(tb.messages, m)
			tb.mu.Unlock()
		}
	}()
	origin := strings.TrimSuffix(baseURL, "/")
	for _, name := range []string{"clipboard-write", "clipboard-read"} {
		// Headless Chromium may refuse; the copy button then reports failure,
		// which the test accepts as feedback too.
		_, _ = chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true},
			Setting:    browser.PermissionSettingGranted, Origin: origin,
			BrowserContextID: chromedp.FromContext(ctx).BrowserContextID,
		})
	}
	t.Cleanup(tb.checkConsole)
	return tb
}

// checkConsole fails on any console error or warning, uncaught exception, CSP
// violation or unexpected failed request.
func (tb *tab) checkConsole() {
	time.Sleep(100 * time.Millisecond) // let the last events arrive
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, m := range tb.messages {
		bad := m.IsException() || m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning ||
			m.Source == "security" || strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Trusted Type")
		if !bad {
			continue
		}
		allowed := false
		if m.Source == "network" {
			for _, e := range tb.expected {
				if strings.Contains(m.Text, e) || strings.Contains(m.URL, e) {
					allowed = true
				}
			}
		}
		if !allowed {
			tb.t.Errorf("browser console %s (source %q, %s:%d): %s", m.Type, m.Source, m.URL, m.Line, m.Text)
		}
	}
}

func (tb *tab) expect(networkError string) {
	tb.mu.Lock()
	tb.expected = append(tb.expected, networkError)
	tb.mu.Unlock()
}

func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

func (tb *tab) open(hash string) {
	tb.t.Helper()
	tb.do("open "+hash, chromedp.Navigate(tb.url+"/"+hash))
}

func (tb *tab) click(css string) {
	tb.t.Helper()
	tb.waitFor(css)
	tb.do("click "+css, chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible))
}

func (tb *tab) typeInto(css, text string) {
	tb.t.Helper()
	tb.waitFor(css)
	evalJS[bool](tb, fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = ''; e.focus(); return true; })()`, css))
	tb.do("type into "+css, chromedp.SendKeys(chromedp.CSS(css), text))
}

// waitFor waits until an element matching css exists.
func (tb *tab) waitFor(css string) {
	tb.t.Helper()
	tb.waitJS(fmt.Sprintf("document.querySelector(%q) !== null", css), "element "+css)
}

// waitJS waits until the expression is true. chromedp.Poll compiles its
// predicate with new Function, which the page's CSP forbids, so this polls
// with plain evaluations instead.
func (tb *tab) waitJS(expr, what string) {
	tb.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		ok, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool]("Boolean("+expr+")"))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			body, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string]("document.body.innerText"))
			tb.t.Fatalf("waiting for %s: %v\npage text:\n%s", what, err, body)
		}
		time.Sleep(40 * time.Millisecond)
	}
}

func evalJS[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (tb *tab) text(css string) string {
	tb.t.Helper()
	tb.waitFor(css)
	return evalJS[string](tb, fmt.Sprintf("document.querySelector(%q).textContent", css))
}

// screenshot writes the viewport as test-output/screenshots/<name>.png.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	// A toast would float over the middle of a full-page capture.
	evalJS[bool](tb, `(() => { document.getElementById('toast').classList.remove('show'); return true; })()`)
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	root, err := template.RepoRoot()
	if err != nil {
		tb.t.Fatal(err)
	}
	dir := filepath.Join(root, "test-output", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

func (tb *tab) viewport(w, h int64) {
	tb.t.Helper()
	tb.do("viewport", chromedp.EmulateViewport(w, h))
}

// signInAs picks a demo user on the local sign-in page.
func (tb *tab) signInAs(email string) {
	tb.t.Helper()
	tb.click(fmt.Sprintf(`button.user[data-email=%q]`, email))
	tb.waitJS(fmt.Sprintf("document.querySelector('#who .email') && document.querySelector('#who .email').textContent === %q", email), "signed in as "+email)
}

func (tb *tab) signOut() {
	tb.t.Helper()
	tb.click("#sign-out")
	tb.waitFor("button.user")
}
