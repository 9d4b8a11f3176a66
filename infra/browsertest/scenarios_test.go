package browsertest_test

import (
	"fmt"

	"github.com/chromedp/chromedp"
	"sort"
	"strings"
	"testing"
	"time"
)

// appNames lists the application cards of the applications page, sorted.
func appNames(tb *tab) []string {
	tb.t.Helper()
	tb.waitJS(`document.querySelector('#applications li.card') || document.querySelector('main .empty')`, "applications")
	names := evalJS[[]string](tb, `[...document.querySelectorAll('#applications li.card h2')].map(e => e.textContent)`)
	sort.Strings(names)
	return names
}

func appID(tb *tab, name string) string {
	tb.t.Helper()
	appNames(tb)
	id := evalJS[string](tb, fmt.Sprintf(`(() => { const c = [...document.querySelectorAll('#applications li.card')].find(e => e.querySelector('h2').textContent === %q); return c ? c.dataset.id : ''; })()`, name))
	if id == "" {
		tb.t.Fatalf("no application %q listed", name)
	}
	return id
}

// credentialManager: alice signs in, sees only her applications, creates a
// secret, copies it, sees it listed by hint only, deletes it after
// confirming, and finds both in the audit log.
func credentialManager(t *testing.T, tb *tab) {
	tb.open("")
	tb.waitFor("button.user")
	if n := evalJS[int](tb, `document.querySelectorAll('button.user .badge.admin').length`); n != 1 {
		t.Errorf("sign-in page flags %d admins, want 1", n)
	}
	tb.screenshot("sign-in")
	tb.signInAs("alice@acme.example")

	if got := strings.Join(appNames(tb), ", "); got != "Acme Data Sync, Acme Search" {
		t.Fatalf("alice sees %q, want her two applications only", got)
	}
	// Acme Data Sync has a secret expiring within 30 days: a warning badge.
	if !evalJS[bool](tb, `[...document.querySelectorAll('#applications li.card')].some(c => c.querySelector('.next-expiry .badge.warn'))`) {
		t.Error("no warning badge on an application whose next secret expires within 30 days")
	}
	tb.screenshot("applications")
	tb.viewport(375, 812)
	tb.screenshot("applications-375px")
	if w := evalJS[int](tb, `document.documentElement.scrollWidth`); w > 375 {
		t.Errorf("at 375 px the page is %d px wide", w)
	}
	tb.viewport(1280, 900)

	id := appID(tb, "Acme Search")
	tb.click(fmt.Sprintf(`#applications li.card[data-id=%q] h2 a`, id))
	tb.waitFor("#secrets tbody tr")
	tb.waitFor("#audit tbody tr")
	if got := tb.text("#my-role"); got != "Credential manager" {
		t.Errorf("role shown %q", got)
	}
	if !evalJS[bool](tb, `location.hash.startsWith('#/applications/')`) {
		t.Error("application page is not at its hash route")
	}
	tb.screenshot("application")

	// A secret used in the last 24 hours asks for the stronger confirmation;
	// cancelling leaves it alone and gives focus back to its button.
	tb.click(`#secrets tr:has(.last-used .muted) button.delete`)
	tb.waitFor("dialog[open] #ack-recent")
	if !evalJS[bool](tb, `document.querySelector('#confirm-delete').disabled`) {
		t.Error("the recently used secret can be deleted without ticking the acknowledgement")
	}
	if !evalJS[bool](tb, `document.querySelector('dialog[open]').contains(document.activeElement)`) {
		t.Error("focus is not inside the dialog")
	}
	tb.click("#cancel-delete")
	tb.waitJS(`!document.querySelector('dialog[open]') && document.activeElement && document.activeElement.classList.contains('delete')`, "dialog closed, focus restored")

	// Create a secret.
	tb.click("#create-secret")
	tb.waitFor("#secret-name")
	if got := evalJS[string](tb, `document.querySelector('#secret-name').value`); got != "Secret by Alice" {
		t.Errorf("suggested name %q", got)
	}
	if got := evalJS[[]string](tb, `[...document.querySelectorAll('input[name=lifetime]')].map(e => e.value)`); strings.Join(got, ",") != "30,90,180,365,date" {
		t.Errorf("lifetime choices %v", got)
	}
	tb.typeInto("#secret-name", "Browser test key")
	tb.click("#life-30")
	tb.click("#create-submit")
	tb.waitFor("#secret-value")
	value := tb.text("#secret-value")
	if !strings.HasPrefix(value, "cps_") || len(value) < 40 {
		t.Fatalf("secret value %q", value)
	}
	if !strings.Contains(tb.text("main .notice"), "you will not see it again") {
		t.Error("no one-time notice")
	}
	tb.click(`button.copy[aria-label="Copy secret value"]`)
	tb.waitJS(`document.querySelector('button.copy[aria-label="Copy secret value"]').textContent !== 'Copy'`, "copy feedback")
	feedback := tb.text(`button.copy[aria-label="Copy secret value"]`)
	if feedback == "Copied" {
		if got := evalJS[string](tb, `navigator.clipboard.readText().catch(() => '')`); got != "" && got != value {
			t.Errorf("clipboard holds %q", got)
		}
	} else if !strings.HasPrefix(feedback, "Copy failed") {
		t.Errorf("copy feedback %q", feedback)
	}
	tb.screenshot("secret-created")

	// Back on the application: listed by hint, the value nowhere.
	hint := value[len("cps_") : len("cps_")+3]
	tb.click("#secret-done")
	tb.waitFor(fmt.Sprintf(`#secrets tr[data-hint=%q]`, hint))
	row := fmt.Sprintf(`#secrets tr[data-hint=%q]`, hint)
	if got := tb.text(row + " .last-used"); got != "never" {
		t.Errorf("last used of a new secret: %q", got)
	}
	if evalJS[bool](tb, fmt.Sprintf(`document.documentElement.outerHTML.includes(%q) || sessionStorage.getItem('credportal.token').includes(%q)`, value, value)) {
		t.Fatal("the secret value is still in the page after leaving the creation page")
	}

	// An API client now uses it, behind the page's back: the token endpoint
	// records lastUsedAt.
	clientID := tb.text(".client-id code")
	status := evalJS[int](tb, fmt.Sprintf(`fetch('/oauth2/token', {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: new URLSearchParams({grant_type: 'client_credentials', client_id: %q, client_secret: %q})}).then(r => r.status)`, clientID, value))
	if status != 200 {
		t.Fatalf("token request with the new secret: status %d", status)
	}

	// Delete it: the page still shows it as never used, so the first
	// confirmation is the plain one; the API answers 409 recently_used, and
	// the stronger confirmation follows before confirm=true is sent.
	tb.expect("409")
	tb.click(row + " button.delete")
	tb.waitFor("dialog[open] #confirm-delete")
	if evalJS[bool](tb, `!!document.querySelector('dialog[open] #ack-recent')`) {
		t.Error("a never-used secret asks for the recently-used confirmation")
	}
	tb.click("#confirm-delete")
	tb.waitFor("dialog[open] #ack-recent")
	tb.click("#ack-recent")
	tb.click("#confirm-delete")
	tb.waitJS(fmt.Sprintf(`!document.querySelector(%q) && document.querySelector('#secrets')`, row), "secret gone from the list")

	// The audit log shows both.
	for _, action := range []string{"secret.created", "secret.deleted"} {
		tb.waitFor(fmt.Sprintf(`#audit tr[data-action=%q]`, action))
		if !evalJS[bool](tb, fmt.Sprintf(`[...document.querySelectorAll('#audit tr[data-action=%q]')].some(r => r.textContent.includes(%q) && r.textContent.includes('alice@acme.example'))`, action, hint+"…")) {
			t.Errorf("no %s audit entry for hint %s by alice", action, hint)
		}
	}
	tb.signOut()
}

// viewer: victor follows a link from a reminder email, signs in, lands on
// the application, sees no create or delete control, and the API refuses
// him anyway.
func viewer(t *testing.T, tb *tab, appID, link string) {
	tb.do("open "+link, chromedp.Navigate(link))
	tb.waitFor("button.user")
	tb.signInAs("victor@acme.example")
	tb.waitFor("#secrets tbody tr")
	if got := evalJS[string](tb, `location.hash`); got != "#/applications/"+appID {
		t.Errorf("after sign-in the page is %q, want the deep link", got)
	}
	if got := tb.text("#my-role"); got != "Viewer" {
		t.Errorf("role shown %q", got)
	}
	if n := evalJS[int](tb, `document.querySelectorAll('#create-secret, button.delete, a[href$="/secrets/new"]').length`); n != 0 {
		t.Errorf("a viewer sees %d create/delete controls", n)
	}
	tb.screenshot("application-viewer")
	tb.viewport(375, 812)
	tb.screenshot("application-375px")
	if w := evalJS[int](tb, `document.documentElement.scrollWidth`); w > 375 {
		t.Errorf("at 375 px the application page is %d px wide", w)
	}
	tb.viewport(1280, 900)

	tb.expect("403")
	post := evalJS[int](tb, fmt.Sprintf(`fetch('/v1/applications/%s/secrets', {method: 'POST', headers: {'Authorization': 'Bearer ' + sessionStorage.getItem('credportal.token'), 'Content-Type': 'application/json'}, body: JSON.stringify({name: 'Sneaky', lifetimeDays: 30})}).then(r => r.status)`, appID))
	if post != 403 {
		t.Errorf("viewer's create: status %d, want 403", post)
	}
	secretID := evalJS[string](tb, `document.querySelector('#secrets tbody tr').dataset.secret`)
	del := evalJS[int](tb, fmt.Sprintf(`fetch('/v1/applications/%s/secrets/%s?confirm=true', {method: 'DELETE', headers: {'Authorization': 'Bearer ' + sessionStorage.getItem('credportal.token')}}).then(r => r.status)`, appID, secretID))
	if del != 403 {
		t.Errorf("viewer's delete: status %d, want 403", del)
	}

	// A token the API no longer accepts sends the user back to sign in.
	tb.expect("401")
	evalJS[bool](tb, `(() => { sessionStorage.setItem('credportal.token', 'not.a-valid.token'); return true; })()`)
	tb.open("#/")
	tb.waitFor("button.user")
	tb.waitJS(`document.querySelector('main .notice.error') && document.querySelector('main .notice.error').textContent.includes('session has ended')`, "session-ended notice")
}

// admin: creates an application in an organisation, designates a manager
// (the API warns about fewer than two), and the manager then sees it.
func admin(t *testing.T, tb *tab, manager string) {
	appName := fmt.Sprintf("Acme Billing %d", time.Now().UnixNano()%10000)
	tb.open("")
	tb.waitFor("button.user")
	tb.signInAs("admin@registry.example")
	tb.click(`#nav a[href="#/admin/organisations"]`)
	tb.waitFor("#organisations li a")
	tb.screenshot("admin-organisations")
	org := evalJS[string](tb, `[...document.querySelectorAll('#organisations li a')].find(a => a.textContent === 'Acme Ltd').getAttribute('href')`)
	tb.click(fmt.Sprintf(`#organisations a[href=%q]`, org))
	tb.waitFor("#app-name")
	tb.typeInto("#app-name", appName)
	tb.click(`#api-search-match`)
	tb.click(`#api-data-manager-sandbox`)
	tb.click("#create-application")
	tb.waitFor("#designate-email")
	tb.waitFor("#warnings")
	if !strings.Contains(tb.text("#warnings"), "credential manager") {
		t.Errorf("warnings %q", tb.text("#warnings"))
	}
	tb.typeInto("#designate-email", manager)
	tb.click("#designate")
	tb.waitFor(fmt.Sprintf(`#admin-designations tr[data-email=%q]`, manager))
	if !strings.Contains(tb.text("#warnings"), "1 credential manager") {
		t.Errorf("after one designation, warnings %q", tb.text("#warnings"))
	}
	tb.screenshot("admin-application")

	// A second person, promoted to credential manager, ends the warning;
	// removing them brings it back.
	tb.typeInto("#designate-email", "victor@acme.example")
	evalJS[bool](tb, `(() => { const s = document.querySelector('#designate-role'); s.value = 'viewer'; return true; })()`)
	tb.click("#designate")
	victor := `#admin-designations tr[data-email="victor@acme.example"]`
	tb.waitFor(victor)
	if got := evalJS[string](tb, `document.querySelector('`+victor+` select.role').value`); got != "viewer" {
		t.Errorf("victor designated as %q", got)
	}
	evalJS[bool](tb, `(() => { const s = document.querySelector('`+victor+` select.role'); s.value = 'credential_manager'; return true; })()`)
	tb.click(victor + " button.change-role")
	tb.waitJS(`!document.querySelector('#warnings') && document.querySelector('`+victor+` select.role').value === 'credential_manager'`, "two managers, no warning")
	tb.click(victor + " button.remove")
	tb.click("dialog[open] #confirm-remove")
	tb.waitJS(`!document.querySelector('`+victor+`') && document.querySelector('#warnings')`, "victor removed, warning back")

	// Rename it and drop an API.
	tb.typeInto("#edit-name", appName+" EU")
	tb.click("#api-data-manager-sandbox")
	tb.click("#save-application")
	tb.waitJS(fmt.Sprintf(`document.querySelector('h1').textContent === %q && !document.querySelector('#api-data-manager-sandbox').checked && document.querySelector('#api-search-match').checked`, appName+" EU"), "renamed, one API left")
	appName += " EU"
	tb.signOut()

	tb.signInAs(manager)
	if names := appNames(tb); !contains(names, appName) {
		t.Errorf("%s sees %v, not the new application", manager, names)
	}
	tb.signOut()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
