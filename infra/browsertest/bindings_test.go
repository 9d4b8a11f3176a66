package browsertest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

	"credportal/infra/apispec"
	"credportal/infra/localstack"
	"credportal/infra/seed"
)

// bindings: a designation is bound to the account that first used it. The
// admin page shows whose it is (a long subject wraps inside the window) or
// that it is unused; resetting it removes and re-adds it with the same
// role. A reset whose second half fails says so and offers to add the person
// back; a reset that works leaves the designation unused, and the API and
// the audit log agree.
func bindings(t *testing.T, tb *tab, stack *localstack.Stack) {
	const (
		carol   = "carol@globex.example"
		dave    = "dave@globex.example"
		appName = "Globex Matching"
	)
	// Carol's first request binds her designation to a long subject; another
	// account with her email is then refused.
	subject := "urn:example:idp:tenant-7f3c:user:" + strings.Repeat("9b1e4c7a", 16)
	first := localToken(t, stack, carol, subject)
	appID := visibleApplication(t, stack, first, appName)
	other := localToken(t, stack, carol, "")
	if status, body := apiGet(t, stack, other, "/v1/applications"); status != http.StatusUnauthorized || !strings.Contains(body, `"identity_mismatch"`) {
		t.Fatalf("another account with carol's email: status %d %s, want 401 identity_mismatch", status, body)
	}

	tb.open("")
	tb.waitFor("button.user")
	tb.signInAs(seed.AdminEmail)
	tb.open("#/admin/applications/" + appID)
	carolRow := fmt.Sprintf(`#admin-designations tr[data-email=%q]`, carol)
	daveRow := fmt.Sprintf(`#admin-designations tr[data-email=%q]`, dave)
	tb.waitFor(carolRow + " .bound")

	bound := func(sub string) {
		t.Helper()
		got := evalJS[[]string](tb, `(() => { const c = document.querySelector('`+carolRow+` td.binding');
			return [c.querySelector('.subject').textContent, c.querySelector('.issuer').textContent, c.querySelector('time').getAttribute('datetime'), c.querySelector('p').textContent, c.querySelector('time').textContent]; })()`)
		if got[0] != sub || got[1] != stack.Issuer {
			t.Errorf("carol's binding shows subject %q at %q, want %q at %q", got[0], got[1], sub, stack.Issuer)
		}
		at, err := time.Parse(time.RFC3339, got[2])
		if err != nil || time.Since(at) < 0 || time.Since(at) > 10*time.Minute {
			t.Errorf("carol's binding is dated %q (%v), want a moment ago", got[2], err)
		}
		if want := "Signed in as " + sub + " at " + stack.Issuer + ", since " + got[4]; got[3] != want {
			t.Errorf("carol's binding reads %q, want %q", got[3], want)
		}
		if !zoneNamed.MatchString(got[4]) {
			t.Errorf("carol's binding time %q does not name its zone", got[4])
		}
	}
	unbound := func(row string) {
		t.Helper()
		if got := tb.text(row + " td.binding"); got != "Not used yet" {
			t.Errorf("%s: binding cell %q, want Not used yet", row, got)
		}
		if evalJS[bool](tb, `!!document.querySelector('`+row+` button.reset-binding')`) {
			t.Errorf("%s: an unused designation offers a reset", row)
		}
	}
	bound(subject)
	unbound(daveRow)
	// At 375 px the long subject wraps inside its row, whole.
	tb.viewport(375, 812)
	tb.settle()
	if got := evalJS[string](tb, `(() => {
		const s = document.querySelector('`+carolRow+` .subject').getBoundingClientRect();
		const cell = document.querySelector('`+carolRow+` td.binding').getBoundingClientRect();
		const row = document.querySelector('`+carolRow+`').getBoundingClientRect();
		return [s.left >= row.left, s.right <= row.right, s.height > 40, cell.width > row.width * 0.8].join(' ');
	})()`); got != "true true true true" {
		t.Errorf("at 375 px the subject is inside its row, wraps, and its cell is as wide as the row = %q", got)
	}
	tb.viewport(1280, 900)
	tb.check("admin-bindings")

	// The reset: the removal goes through, the re-adding fails (the portal
	// answers 503). The page says carol has no access and offers to add her
	// back; she is indeed without access until then.
	failing, stopFailing := failDesignationPuts(t, tb)
	tb.expect("503")
	tb.click(carolRow + " button.reset-binding")
	tb.waitFor("dialog[open] #confirm-reset")
	if got := tb.text("dialog[open]"); !strings.Contains(got, subject) || !strings.Contains(got, "designates them again as a credential manager") {
		t.Errorf("reset dialog says %q: want the subject and what the reset does", got)
	}
	tb.check("reset-binding-dialog")
	tb.click("dialog[open] #confirm-reset")
	stranded := fmt.Sprintf(`.stranded[data-email=%q]`, carol)
	tb.waitFor(stranded)
	if n := failing(); n != 1 {
		t.Errorf("%d designation PUTs failed on purpose, want 1", n)
	}
	if got := tb.text(stranded); !strings.Contains(got, carol+" was removed from "+appName+" but could not be added back.") ||
		!strings.Contains(got, "no access") || !strings.Contains(got, "Add "+carol+" back as a credential manager") {
		t.Errorf("stranded notice says %q", got)
	}
	if evalJS[bool](tb, `!!document.querySelector('`+carolRow+`')`) {
		t.Error("carol is still listed after her removal")
	}
	if status, body := apiGet(t, stack, first, "/v1/applications/"+appID); status != http.StatusNotFound {
		t.Errorf("carol, removed: status %d %s, want 404", status, body)
	}
	tb.check("binding-stranded")
	// The notice stays on a reload; adding her back ends it.
	tb.do("reload", chromedp.Reload())
	tb.waitFor(stranded + " button.readd")
	stopFailing()
	tb.click(stranded + " button.readd")
	tb.waitJS(`!document.querySelector('.stranded') && document.querySelector('`+carolRow+`')`, "carol added back")
	unbound(carolRow)
	if got, want := tb.text("#toast"), carol+" is a credential manager on "+appName+" again; their next sign-in binds the designation."; got != want {
		t.Errorf("toast %q, want %q", got, want)
	}

	// The account refused before now gets in, and binds the designation;
	// a reset that works frees it again.
	if status, body := apiGet(t, stack, other, "/v1/applications/"+appID); status != http.StatusOK {
		t.Fatalf("carol's other account after the reset: status %d %s, want 200", status, body)
	}
	tb.do("reload", chromedp.Reload())
	tb.waitFor(carolRow + " .bound")
	otherSubject := evalJS[string](tb, `document.querySelector('`+carolRow+` .subject').textContent`)
	if otherSubject == subject || otherSubject == "" {
		t.Errorf("after her other account's request, carol is bound to %q", otherSubject)
	}
	bound(otherSubject)
	tb.click(carolRow + " button.reset-binding")
	tb.click("dialog[open] #confirm-reset")
	tb.waitJS(`document.querySelector('`+carolRow+` td.binding .unbound')`, "carol's binding reset")
	unbound(carolRow)
	if got, want := tb.text("#toast"), "The binding of "+carol+" is reset: their next sign-in binds it again."; got != want {
		t.Errorf("toast %q, want %q", got, want)
	}
	if got := evalJS[string](tb, `document.querySelector('`+carolRow+` select.role').value`); got != "credential_manager" {
		t.Errorf("after the reset carol is %q, want credential_manager", got)
	}

	// The API agrees: both designations unbound, carol still a manager; the
	// audit log holds both resets, each a removal then a designation.
	admin, err := stack.Token(seed.AdminEmail, true)
	if err != nil {
		t.Fatal(err)
	}
	status, body := apiGet(t, stack, admin, "/v1/applications/"+appID)
	var detail struct {
		Designations []struct {
			Email, Role string
			Binding     *json.RawMessage
		}
	}
	if err := json.Unmarshal([]byte(body), &detail); status != http.StatusOK || err != nil {
		t.Fatalf("application as admin: status %d, %v: %s", status, err, body)
	}
	for _, d := range detail.Designations {
		if d.Binding != nil {
			t.Errorf("%s still has a binding: %s", d.Email, *d.Binding)
		}
		if d.Email == carol && d.Role != "credential_manager" {
			t.Errorf("carol's role %q", d.Role)
		}
	}
	status, body = apiGet(t, stack, admin, "/v1/applications/"+appID+"/audit")
	var log struct {
		Items []struct {
			Action, Actor string
			Details       map[string]string
		}
	}
	if err := json.Unmarshal([]byte(body), &log); status != http.StatusOK || err != nil {
		t.Fatalf("audit: status %d, %v: %s", status, err, body)
	}
	var got []string
	for _, e := range log.Items {
		if strings.HasPrefix(e.Action, "designation.") && e.Details["email"] == carol {
			got = append(got, e.Action+" by "+e.Actor+": "+e.Details["roleBefore"]+" → "+e.Details["roleAfter"])
		}
	}
	reset := []string{
		"designation.set by " + seed.AdminEmail + ":  → credential_manager",
		"designation.removed by " + seed.AdminEmail + ": credential_manager → ",
	}
	if want := slices.Concat(reset, reset); len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Errorf("carol's designation events, newest first:\n%s\nwant first:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	tb.signOut()
}

// localToken is GET /local/token?email=E&sub=S: a user's token, for the
// subject sub ("" for the user's usual one).
func localToken(t *testing.T, stack *localstack.Stack, email, sub string) string {
	t.Helper()
	q := url.Values{"email": {email}}
	if sub != "" {
		q.Set("sub", sub)
	}
	status, body := apiGet(t, stack, "", "/local/token?"+q.Encode())
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(body), &out); status != http.StatusOK || err != nil || out.AccessToken == "" {
		t.Fatalf("local token for %s: status %d, %v: %s", email, status, err, body)
	}
	return out.AccessToken
}

// visibleApplication lists the applications with token and returns the id
// of the one named name.
func visibleApplication(t *testing.T, stack *localstack.Stack, token, name string) string {
	t.Helper()
	status, body := apiGet(t, stack, token, "/v1/applications")
	var list struct {
		Items []struct{ ID, Name string }
	}
	if err := json.Unmarshal([]byte(body), &list); status != http.StatusOK || err != nil {
		t.Fatalf("list applications: status %d, %v: %s", status, err, body)
	}
	for _, a := range list.Items {
		if a.Name == name {
			return a.ID
		}
	}
	t.Fatalf("%q not listed: %s", name, body)
	return ""
}

// apiGet sends GET path to the stack, with token as the bearer if given,
// and holds the answer of an API route to docs/openapi.json.
func apiGet(t *testing.T, stack *localstack.Stack, token, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, stack.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(path, "/local/") {
		if err := apispec.CheckHTTP(req.Method, req.URL.EscapedPath(), apispec.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}); err != nil {
			t.Errorf("GET %s: the answer does not match docs/openapi.json: %v", path, err)
		}
	}
	return resp.StatusCode, string(b)
}

// failDesignationPuts makes the browser answer every PUT of a designation
// itself, with 503 and the API's error body, and lets the other designation
// requests through, until stop is called. failed counts the PUTs it answered.
func failDesignationPuts(t *testing.T, tb *tab) (failed func() int, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(tb.ctx)
	count := make(chan int, 1)
	count <- 0
	events := chromedp.Events(ctx, fetch.RequestPaused)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			if ev.Request.Method == http.MethodPut {
				count <- <-count + 1
				_, _ = chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
					RequestID: ev.RequestID, ResponseCode: http.StatusServiceUnavailable,
					ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "application/json"}},
					Body:            []byte(`{"error":{"code":"temporarily_unavailable","message":"The service is temporarily unavailable; try again in a minute."}}`),
				})
				continue
			}
			_, _ = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
		}
	}()
	if _, err := chromedp.Call(tb.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*/v1/admin/applications/*/designations/*"}}}); err != nil {
		cancel()
		t.Fatalf("intercept designation requests: %v", err)
	}
	failed = func() int {
		n := <-count
		count <- n
		return n
	}
	stop = func() {
		t.Helper()
		defer cancel()
		if _, err := chromedp.Call(tb.ctx, fetch.Disable, cdp.Empty{}); err != nil {
			t.Fatalf("stop intercepting: %v", err)
		}
	}
	return failed, stop
}
