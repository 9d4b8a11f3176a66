package browsertest_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"credportal/infra/template"
)

var updateDocs = flag.Bool("update-docs", false, "also write the screenshots the README shows to docs/screenshots")

// docShots are the pages whose screenshots docs/screenshots keeps, in every look.
var docShots = map[string]bool{
	"applications": true, "application": true, "secret-created": true, "admin-application": true,
	"application-federated": true, "application-keys": true, "admin-bindings": true,
}

// wcagTags select the axe-core rules of WCAG 2.1 levels A and AA.
var wcagTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// look is one way a page is seen: a window width and a colour scheme.
type look struct {
	name          string
	width, height int64
	dark          bool
}

var looks = []look{
	{"desktop-light", 1280, 900, false},
	{"desktop-dark", 1280, 900, true},
	{"mobile-light", 375, 812, false},
	{"mobile-dark", 375, 812, true},
}

// axeTally counts the accessibility checks of a run and their violations.
var axeTally struct {
	sync.Mutex
	runs, violations int
}

var (
	axeOnce   sync.Once
	axeScript string
	axeErr    error
)

// axeSource is axe-core's browser build, which `make test` installs from npm.
func axeSource(t *testing.T) string {
	t.Helper()
	axeOnce.Do(func() {
		root, err := template.RepoRoot()
		if err != nil {
			axeErr = err
			return
		}
		b, err := os.ReadFile(filepath.Join(root, "infra", "browsertest", "node", "node_modules", "axe-core", "axe.min.js"))
		if err != nil {
			axeErr = fmt.Errorf("axe-core is not installed (npm ci --prefix infra/browsertest/node, which make test runs): %w", err)
			return
		}
		axeScript = string(b)
	})
	if axeErr != nil {
		t.Fatal(axeErr)
	}
	return axeScript
}

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  string `json:"target"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

// scheme makes the page see prefers-color-scheme: dark, or light.
func (tb *tab) scheme(dark bool) {
	tb.t.Helper()
	value := "light"
	if dark {
		value = "dark"
	}
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: value}},
	}); err != nil {
		tb.t.Fatalf("emulate prefers-color-scheme %s: %v", value, err)
	}
}

// settle waits for the page to lay out and paint what changed.
func (tb *tab) settle() {
	tb.t.Helper()
	evalJS[bool](tb, `new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`)
}

// axe runs axe-core's WCAG 2.1 A and AA rules on the page as it is now.
func (tb *tab) axe() []axeViolation {
	tb.t.Helper()
	if !evalJS[bool](tb, `typeof window.axe === 'object'`) {
		evalJS[bool](tb, axeSource(tb.t)+"\n;true")
	}
	tags, _ := json.Marshal(wcagTags)
	out := evalJS[string](tb, `axe.run(document, {runOnly: {type: 'tag', values: `+string(tags)+`}, resultTypes: ['violations']})
		.then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact || '', help: v.help,
			nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary || ''}))}))))`)
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		tb.t.Fatalf("axe result %q: %v", out, err)
	}
	return vs
}

// check looks at the page in every look: axe-core's WCAG 2.1 AA rules must
// find nothing, nothing may be wider than the window, and a screenshot of
// each is kept as test-output/screenshots/<name>-<look>.png.
func (tb *tab) check(name string) {
	tb.t.Helper()
	// The toast fades; axe would measure it half-transparent.
	evalJS[bool](tb, `(() => { const t = document.getElementById('toast'); t.classList.remove('show'); t.textContent = ''; return true; })()`)
	for _, l := range looks {
		tb.viewport(l.width, l.height)
		tb.scheme(l.dark)
		tb.settle()
		vs := tb.axe()
		axeTally.Lock()
		axeTally.runs++
		axeTally.violations += len(vs)
		axeTally.Unlock()
		for _, v := range vs {
			var nodes []string
			for _, n := range v.Nodes {
				nodes = append(nodes, "    "+n.Target+": "+strings.ReplaceAll(n.Summary, "\n", " "))
			}
			tb.t.Errorf("%s (%s): axe %s [%s] %s\n%s", name, l.name, v.ID, v.Impact, v.Help, strings.Join(nodes, "\n"))
		}
		if w := evalJS[int](tb, `document.documentElement.scrollWidth`); w > int(l.width) {
			tb.t.Errorf("%s (%s): the page is %d px wide in a %d px window", name, l.name, w, l.width)
		}
		tb.screenshot(name + "-" + l.name)
		if *updateDocs && docShots[name] {
			tb.saveDoc(name + "-" + l.name)
		}
	}
	tb.viewport(1280, 900)
	tb.scheme(false)
}

// saveDoc copies a screenshot of test-output/screenshots to docs/screenshots.
func (tb *tab) saveDoc(name string) {
	tb.t.Helper()
	root, err := template.RepoRoot()
	if err != nil {
		tb.t.Fatal(err)
	}
	png, err := os.ReadFile(filepath.Join(root, "test-output", "screenshots", name+".png"))
	if err == nil {
		err = os.MkdirAll(filepath.Join(root, "docs", "screenshots"), 0o755)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(root, "docs", "screenshots", name+".png"), png, 0o644)
	}
	if err != nil {
		tb.t.Fatal(err)
	}
}

// focusRingContrast moves the focus with the Tab key from the element css
// names to the next one, and measures the contrast of its focus ring
// against the background it is drawn on.
func (tb *tab) focusRingContrast(css string) (string, float64) {
	tb.t.Helper()
	tb.waitFor(css)
	tb.do("focus "+css, chromedp.Focus(chromedp.CSS(css)))
	tb.waitJS(fmt.Sprintf(`document.activeElement === document.querySelector(%q)`, css), "focus on "+css)
	tb.do("press Tab", chromedp.KeyEvent(kb.Tab))
	tb.settle()
	var r struct {
		Element  string  `json:"element"`
		Contrast float64 `json:"contrast"`
	}
	out := evalJS[string](tb, `(() => {
		const el = document.activeElement;
		const rgb = (c) => { const m = c.match(/[\d.]+/g).map(Number); return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; };
		const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
		const s = getComputedStyle(el);
		if (!el.matches(':focus-visible') || s.outlineStyle === 'none' || parseFloat(s.outlineWidth) < 2) return JSON.stringify({element: el.outerHTML.slice(0, 80), contrast: 0});
		let bg = null;
		for (let p = el.parentElement; p; p = p.parentElement) {
			const c = rgb(getComputedStyle(p).backgroundColor);
			if (c.a > 0) { bg = c; break; }
		}
		if (!bg) bg = rgb(getComputedStyle(document.documentElement).backgroundColor);
		const a = lum(rgb(s.outlineColor)), b = lum(bg);
		return JSON.stringify({element: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' ' + (el.textContent || '').trim().slice(0, 30), contrast: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)});
	})()`)
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		tb.t.Fatalf("focus ring: %q: %v", out, err)
	}
	return r.Element, r.Contrast
}
