package browsertest_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"credportal/infra/localstack"
	"credportal/infra/seed"
	"credportal/shared/reminder"
)

// zoneNamed matches a time as fmtTime shows it, ending with its zone.
var zoneNamed = regexp.MustCompile(`\d{1,2}:\d{2}(\s?[AP]M)? (UTC|GMT([+-]\d{1,2}(:\d{2})?)?|[A-Z]{3,5})$`)

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

// secretNamed finds a demo secret the stack seeded.
func secretNamed(t *testing.T, stack *localstack.Stack, name string) seed.CreatedSecret {
	t.Helper()
	for _, s := range stack.Seeded.Secrets {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no demo secret %q", name)
	return seed.CreatedSecret{}
}

// inDays words a count of days as the UI does.
func inDays(d int) string {
	switch d {
	case 0:
		return "today"
	case 1:
		return "tomorrow"
	}
	return fmt.Sprintf("in %d days", d)
}

// urgencyRules checks, in the page's own modules, that days left are UTC
// calendar days exactly as the reminder emails count them, and that the
// colours follow the thresholds the deployment configures.
func urgencyRules(t *testing.T, tb *tab) {
	thresholds := evalJS[[]int](tb, `fetch('/config.json').then(r => r.json()).then(c => c.reminderThresholds)`)
	if !slices.Equal(thresholds, []int{30, 14, 7, 3, 1, 0}) {
		t.Errorf("config.json reminderThresholds %v, want the template's default", thresholds)
	}
	base := time.Date(2026, 12, 1, 23, 50, 0, 0, time.UTC)
	type dayCase struct {
		Now     int64  `json:"now"`
		Expires string `json:"expires"`
		Want    int    `json:"want"`
	}
	var days []dayCase
	for _, d := range []time.Duration{-49 * time.Hour, -time.Hour, 5 * time.Minute, 15 * time.Minute, 23 * time.Hour, 24*time.Hour + 15*time.Minute, 72 * time.Hour, 30 * 24 * time.Hour} {
		for _, now := range []time.Time{base, base.Add(-23 * time.Hour)} {
			exp := now.Add(d)
			days = append(days, dayCase{now.UnixMilli(), exp.Format(time.RFC3339), reminder.DaysLeft(now, exp)})
		}
	}
	type levelCase struct {
		Thresholds []int  `json:"thresholds"`
		Days       int    `json:"days"`
		Want       string `json:"want"`
	}
	levels := []levelCase{
		{thresholds, 31, "neutral"}, {thresholds, 30, "amber"}, {thresholds, 8, "amber"}, {thresholds, 7, "red"},
		{thresholds, 1, "red"}, {thresholds, 0, "red"}, {thresholds, -1, "red"},
		{[]int{5, 60, 10}, 61, "neutral"}, {[]int{5, 60, 10}, 60, "amber"}, {[]int{5, 60, 10}, 6, "amber"}, {[]int{5, 60, 10}, 5, "red"},
		{[]int{30, 14}, 1, "amber"}, {[]int{30, 14}, -1, "red"},
	}
	in, _ := json.Marshal(map[string]any{"days": days, "levels": levels})
	out := evalJS[string](tb, `(async () => {
		const src = document.querySelector('script[type=module]').src.replace(/app\.js$/, 'dom.js');
		const dom = await import(src);
		const input = `+string(in)+`;
		const now = Date.UTC(2026, 11, 1, 12, 0, 0);
		return JSON.stringify({
			days: input.days.map(c => dom.daysLeft(c.expires, c.now)),
			levels: input.levels.map(c => dom.urgency(new Date(now + c.days * 86400000 + (c.days < 0 ? 0 : 3600000)).toISOString(), c.thresholds, now).level),
		});
	})()`)
	var got struct {
		Days   []int    `json:"days"`
		Levels []string `json:"levels"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	for i, c := range days {
		if got.Days[i] != c.Want {
			t.Errorf("now %s, expiry %s: the page counts %d days left, the emails %d", time.UnixMilli(c.Now).UTC().Format(time.RFC3339), c.Expires, got.Days[i], c.Want)
		}
	}
	for i, c := range levels {
		if got.Levels[i] != c.Want {
			t.Errorf("thresholds %v, %d days left: %s, want %s", c.Thresholds, c.Days, got.Levels[i], c.Want)
		}
	}
}

// auditSentences checks, in the page's own module, how each kind of audit
// event reads, older events without a secret name included.
func auditSentences(t *testing.T, tb *tab) {
	tests := []struct {
		event string
		want  string
	}{
		{`{"action":"secret.created","actor":"alice@acme.example","secretName":"CI deploy","hint":"AbC","sourceIp":"203.0.113.7"}`,
			`alice@acme.example created secret "CI deploy" (hint AbC…) from 203.0.113.7.`},
		{`{"action":"secret.deleted","actor":"bob@acme.example","hint":"AbC"}`,
			`bob@acme.example deleted a secret (hint AbC…).`},
		{`{"action":"designation.set","actor":"admin@registry.example","details":{"email":"carol@acme.example","roleBefore":"","roleAfter":"viewer"}}`,
			`admin@registry.example designated carol@acme.example as viewer.`},
		{`{"action":"designation.set","actor":"admin@registry.example","details":{"email":"carol@acme.example","roleBefore":"viewer","roleAfter":"credential_manager"}}`,
			`admin@registry.example made carol@acme.example a credential manager (was viewer).`},
		{`{"action":"designation.removed","actor":"admin@registry.example","sourceIp":"192.0.2.1","details":{"email":"carol@acme.example","roleBefore":"viewer","roleAfter":""}}`,
			`admin@registry.example removed carol@acme.example, viewer, from the application from 192.0.2.1.`},
		{`{"action":"application.created","actor":"admin@registry.example","details":{"name":"Acme Search","apis":"search-match,other-api","clientId":"abc123","organisationId":"org_1"}}`,
			`admin@registry.example created the application "Acme Search" with Search & Match, other-api and client ID abc123.`},
		{`{"action":"application.updated","actor":"admin@registry.example","details":{"nameBefore":"A","nameAfter":"B","apisBefore":"search-match","apisAfter":""}}`,
			`admin@registry.example renamed the application from "A" to "B" and changed its APIs from Search & Match to no APIs.`},
		{`{"action":"token.failures","actor":"abc123","sourceIp":"198.51.100.4","details":{"failures":"10","window":"5m0s"}}`,
			`10 failed token requests for client abc123 within 5 minutes from 198.51.100.4.`},
		{`{"action":"secret.leaked","actor":"secret-scanning:github","secretName":"CI deploy","hint":"AbC","details":{"url":"https://github.com/o/r/blob/x","action":"revoke"}}`,
			`secret-scanning:github reported secret "CI deploy" (hint AbC…) as leaked at https://github.com/o/r/blob/x.`},
	}
	var events []json.RawMessage
	for _, tc := range tests {
		events = append(events, json.RawMessage(tc.event))
	}
	in, _ := json.Marshal(events)
	got := evalJS[[]string](tb, `(async () => {
		const audit = await import(document.querySelector('script[type=module]').src.replace(/app\.js$/, 'audit.js'));
		const names = new Map([['search-match', 'Search & Match']]);
		return `+string(in)+`.map(ev => audit.sentence(ev, names));
	})()`)
	for i, tc := range tests {
		if got[i] != tc.want {
			t.Errorf("%s\nreads %q\nwant  %q", tc.event, got[i], tc.want)
		}
	}
}

// credentialManager: alice signs in, sees how urgent each expiry is, creates
// a secret and is told how to use it, reaches the limit, deletes after
// confirming, and reads both in the audit log.
func credentialManager(t *testing.T, tb *tab, stack *localstack.Stack) {
	tb.open("")
	tb.waitFor("button.user")
	if n := evalJS[int](tb, `document.querySelectorAll('button.user .badge.admin').length`); n != 1 {
		t.Errorf("sign-in page flags %d admins, want 1", n)
	}
	tb.check("sign-in")
	tb.signInAs("alice@acme.example")
	urgencyRules(t, tb)
	auditSentences(t, tb)

	if got := strings.Join(appNames(tb), ", "); got != "Acme Data Sync, Acme Search" {
		t.Fatalf("alice sees %q, want her two applications only", got)
	}
	if got := tb.text("main h1"); got != "My applications" {
		t.Errorf("title %q", got)
	}
	// Each card says how many secrets expire soon, counted as the emails count.
	now := time.Now()
	production, sync2026 := secretNamed(t, stack, "Production key"), secretNamed(t, stack, "Sync 2026")
	cards := map[string][]string{
		"Acme Search":    {"red: 1 secret expires " + inDays(reminder.DaysLeft(now, production.ExpiresAt))},
		"Acme Data Sync": {"amber: 1 secret expires " + inDays(reminder.DaysLeft(now, sync2026.ExpiresAt)), "red: 1 secret expired"},
	}
	for name, want := range cards {
		got := evalJS[[]string](tb, fmt.Sprintf(`[...[...document.querySelectorAll('#applications li.card')].find(c => c.querySelector('h2').textContent === %q).querySelectorAll('.urgency .badge')].map(b => b.dataset.urgency + ': ' + b.textContent)`, name))
		if !slices.Equal(got, want) {
			t.Errorf("%s card says %q, want %q", name, got, want)
		}
	}
	tb.check("applications")

	id := appID(tb, "Acme Search")
	tb.click(fmt.Sprintf(`#applications li.card[data-id=%q] h2 a`, id))
	tb.waitFor("#secrets tbody tr")
	tb.waitFor("#audit li")
	if got := tb.text("#my-role"); got != "Credential manager" {
		t.Errorf("role shown %q", got)
	}
	if !evalJS[bool](tb, `location.hash.startsWith('#/applications/')`) {
		t.Error("application page is not at its hash route")
	}
	if got := tb.text("#secret-count"); got != "2 of 3 active secrets" {
		t.Errorf("limit shown %q", got)
	}
	rowBadge := func(name string) string {
		return evalJS[string](tb, fmt.Sprintf(`(() => { const r = [...document.querySelectorAll('#secrets tbody tr')].find(r => r.querySelector('.name').textContent === %q); return r.querySelector('.expires .badge').dataset.urgency + ': ' + r.querySelector('.expires .badge').textContent; })()`, name))
	}
	wantLeft := func(s seed.CreatedSecret) string {
		d := reminder.DaysLeft(time.Now(), s.ExpiresAt)
		switch d {
		case 0:
			return "expires today"
		case 1:
			return "expires tomorrow"
		}
		return fmt.Sprintf("%d days left", d)
	}
	rotation := secretNamed(t, stack, "Rotation 2026")
	if got, want := rowBadge("Production key"), "red: "+wantLeft(production); got != want {
		t.Errorf("Production key: %q, want %q", got, want)
	}
	if got, want := rowBadge("Rotation 2026"), "neutral: "+wantLeft(rotation); got != want {
		t.Errorf("Rotation 2026: %q, want %q", got, want)
	}
	// Delete is a quiet button in the rows and a red one in the dialog.
	rowDelete := evalJS[string](tb, `getComputedStyle(document.querySelector('#secrets button.delete')).backgroundColor`)
	tb.check("application")

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
	tb.click("#ack-recent")
	dialogDelete := evalJS[string](tb, `getComputedStyle(document.querySelector('#confirm-delete')).backgroundColor`)
	cardBg := evalJS[string](tb, `getComputedStyle(document.querySelector('main .card')).backgroundColor`)
	if rowDelete != cardBg || dialogDelete == cardBg || dialogDelete == rowDelete {
		t.Errorf("delete buttons: row %s, dialog %s, card %s: want a quiet row button and a solid one in the dialog", rowDelete, dialogDelete, cardBg)
	}
	tb.check("delete-dialog")
	tb.click("#cancel-delete")
	tb.waitJS(`!document.querySelector('dialog[open]') && document.activeElement && document.activeElement.classList.contains('delete')`, "dialog closed, focus restored")

	// The focus ring stands out from what is behind it, in both schemes.
	for _, dark := range []bool{false, true} {
		tb.scheme(dark)
		for _, from := range []string{"#create-secret", ".brand"} {
			el, c := tb.focusRingContrast(from)
			t.Logf("dark %v: focus ring of %s: contrast %.2f:1", dark, el, c)
			if c < 3 {
				t.Errorf("dark %v: focus ring of %s has contrast %.2f:1, want at least 3:1", dark, el, c)
			}
		}
	}
	tb.scheme(false)

	// Create a secret; a name left empty is refused next to its field.
	tb.click("#create-secret")
	tb.waitFor("#secret-name")
	if got := evalJS[string](tb, `document.querySelector('#secret-name').value`); got != "Secret by Alice" {
		t.Errorf("suggested name %q", got)
	}
	if got := evalJS[[]string](tb, `[...document.querySelectorAll('input[name=lifetime]')].map(e => e.value)`); strings.Join(got, ",") != "30,90,180,365,date" {
		t.Errorf("lifetime choices %v", got)
	}
	if got := tb.text("#secret-count"); got != "2 of 3 active secrets now" {
		t.Errorf("limit on the form %q", got)
	}
	// The date field is disabled until "Until a date" is picked, and looks it.
	dateLooks := evalJS[[]string](tb, `['#secret-date', '#secret-name'].map(s => { const c = getComputedStyle(document.querySelector(s)); return c.backgroundColor + ' ' + c.borderStyle; })`)
	if dateLooks[0] == dateLooks[1] || !strings.HasSuffix(dateLooks[0], "dashed") {
		t.Errorf("disabled date field looks %q, the name field %q", dateLooks[0], dateLooks[1])
	}
	tb.typeInto("#secret-name", " ")
	tb.click("#create-submit")
	tb.waitFor("#secret-name-error")
	if got := evalJS[string](tb, `(() => { const n = document.querySelector('#secret-name'); return n.getAttribute('aria-invalid') + ' ' + n.getAttribute('aria-describedby') + ' ' + (document.activeElement === n) + ' ' + (n.parentElement === document.querySelector('#secret-name-error').parentElement); })()`); got != "true secret-name-hint secret-name-error true true" {
		t.Errorf("name error: aria-invalid, aria-describedby, focused, beside the field = %q", got)
	}
	tb.check("new-secret-error")
	tb.typeInto("#secret-name", "Browser test key")
	if evalJS[bool](tb, `document.querySelector('#secret-name').hasAttribute('aria-invalid') || !!document.querySelector('#secret-name-error')`) {
		t.Error("the name error stays after the name was corrected")
	}
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
	copyValue := `button.copy[data-copy="secret value"]`
	if got := evalJS[string](tb, `document.querySelector('`+copyValue+`').textContent`); got != "Copy secret value" {
		t.Errorf("copy button named %q", got)
	}
	tb.click(copyValue)
	tb.waitJS(`document.querySelector('`+copyValue+` .copy-state').textContent !== 'Copy'`, "copy feedback")
	feedback := tb.text(copyValue + " .copy-state")
	if feedback == "Copied" {
		if got := evalJS[string](tb, `navigator.clipboard.readText().catch(() => '')`); got != "" && got != value {
			t.Errorf("clipboard holds %q", got)
		}
	} else if !strings.HasPrefix(feedback, "Copy failed") {
		t.Errorf("copy feedback %q", feedback)
	}

	// The hand-off: client id, token endpoint and requests that read the
	// value from $CLIENT_SECRET; the value itself is only in its box.
	tb.waitFor("#curl-snippet")
	clientID := secretNamed(t, stack, "Rotation 2026").ClientID
	if got := tb.text("#handoff-client-id"); got != clientID {
		t.Errorf("hand-off client id %q, want %q", got, clientID)
	}
	if got := tb.text("#token-endpoint"); got != stack.URL+"/oauth2/token" {
		t.Errorf("token endpoint %q, want %q", got, stack.URL+"/oauth2/token")
	}
	if n := evalJS[int](tb, fmt.Sprintf(`document.documentElement.outerHTML.split(%q).length - 1`, value)); n != 1 {
		t.Errorf("the value appears %d times in the page, want once (its box)", n)
	}
	curl, python := tb.text("#curl-snippet"), tb.text("#python-snippet")
	for _, snippet := range []string{curl, python} {
		if !strings.Contains(snippet, "CLIENT_SECRET") || strings.Contains(snippet, value) {
			t.Errorf("snippet does not read $CLIENT_SECRET, or holds the value:\n%s", snippet)
		}
	}
	tb.check("secret-created")

	// Three of three: Create is disabled, and the page says why and what to do.
	hint := value[len("cps_") : len("cps_")+3]
	tb.click("#secret-done")
	row := fmt.Sprintf(`#secrets tr[data-hint=%q]`, hint)
	tb.waitFor(row)
	if got := tb.text(row + " .last-used"); got != "never" {
		t.Errorf("last used of a new secret: %q", got)
	}
	if evalJS[bool](tb, fmt.Sprintf(`document.documentElement.outerHTML.includes(%q) || sessionStorage.getItem('credportal.token').includes(%q)`, value, value)) {
		t.Fatal("the secret value is still in the page after leaving the creation page")
	}
	if got := tb.text("#secret-count"); got != "3 of 3 active secrets" {
		t.Errorf("limit shown %q", got)
	}
	if got := evalJS[string](tb, `(() => { const b = document.querySelector('#create-secret'); return b.tagName + ' ' + b.disabled + ' ' + document.getElementById(b.getAttribute('aria-describedby')).textContent; })()`); !strings.HasPrefix(got, "BUTTON true This application has 3 active secrets, the most it may have.") || !strings.Contains(got, "first delete a secret") {
		t.Errorf("create at the limit: %q", got)
	}
	tb.check("application-at-limit")
	tb.open(fmt.Sprintf("#/applications/%s/secrets/new", id))
	tb.waitFor("main #limit-note")
	if evalJS[bool](tb, `!!document.querySelector('#create-submit')`) {
		t.Error("the creation form is offered at the limit")
	}
	tb.check("new-secret-at-limit")
	tb.open("#/applications/" + id)
	tb.waitFor(row)

	// The API client now uses it, behind the page's back, exactly as the
	// hand-off said, with the value in $CLIENT_SECRET: the token endpoint
	// answers and records lastUsedAt.
	for _, run := range []struct {
		name string
		cmd  *exec.Cmd
	}{
		{"curl", exec.Command("sh", "-c", curl)},
		{"python", exec.Command("python3", "-c", python+"\nprint(access_token)")},
	} {
		run.cmd.Env = append(os.Environ(), "CLIENT_SECRET="+value)
		out, err := run.cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("the %s snippet failed: %v\n%s", run.name, err, out)
		}
		if !strings.Contains(string(out), ".") || (run.name == "curl" && !strings.Contains(string(out), `"access_token"`)) {
			t.Errorf("the %s snippet got no access token:\n%s", run.name, out)
		}
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
	if got := tb.text("#toast"); got != `Secret "Browser test key" (`+hint+`…) deleted from Acme Search.` {
		t.Errorf("toast %q", got)
	}
	tb.waitJS(`document.querySelector('#secret-count').textContent === '2 of 3 active secrets' && document.querySelector('a#create-secret')`, "create offered again")

	// The audit log tells both as sentences, with the secret's name, and
	// filters by kind.
	tb.waitFor(`#audit li[data-action="secret.deleted"]`)
	sentences := evalJS[[]string](tb, `[...document.querySelectorAll('#audit li')].map(li => li.dataset.action + ' | ' + li.querySelector('.sentence').textContent)`)
	for _, want := range []string{
		`secret.created | alice@acme.example created secret "Browser test key" (hint ` + hint + `…) from 127.0.0.1.`,
		`secret.deleted | alice@acme.example deleted secret "Browser test key" (hint ` + hint + `…) from 127.0.0.1.`,
	} {
		if !slices.Contains(sentences, want) {
			t.Errorf("audit log lacks %q:\n%s", want, strings.Join(sentences, "\n"))
		}
	}
	if !slices.ContainsFunc(sentences, func(s string) bool {
		return strings.HasPrefix(s, "designation.set | ") && strings.Contains(s, " designated alice@acme.example as credential manager")
	}) {
		t.Errorf("audit log lacks alice's designation:\n%s", strings.Join(sentences, "\n"))
	}
	if at := tb.text("#audit li time"); !zoneNamed.MatchString(at) {
		t.Errorf("audit time %q does not name its zone", at)
	}
	tb.do("filter secrets", chromedp.SetValue(chromedp.CSS("#audit-kind"), "secret."))
	evalJS[bool](tb, `(() => { document.querySelector('#audit-kind').dispatchEvent(new Event('change')); return true; })()`)
	shown := evalJS[[]string](tb, `[...document.querySelectorAll('#audit li:not([hidden])')].map(li => li.dataset.action)`)
	if len(shown) < 2 || slices.ContainsFunc(shown, func(a string) bool { return !strings.HasPrefix(a, "secret.") }) {
		t.Errorf("filtered to secrets, the log shows %v", shown)
	}
	tb.check("audit-filtered")
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
	tb.check("application-viewer")

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
	tb.check("session-ended")
}

// admin: creates an application in an organisation, designates a manager
// (the API warns about fewer than two), and the manager then sees it.
func admin(t *testing.T, tb *tab, manager string) {
	appName := fmt.Sprintf("Acme Billing %d", time.Now().UnixNano()%10000)
	tb.open("")
	tb.waitFor("button.user")
	tb.signInAs("admin@registry.example")
	// An admin's home lists every application, and the menu names it so.
	appNames(tb)
	if got := evalJS[[]string](tb, `[document.querySelector('main h1').textContent, ...[...document.querySelectorAll('#nav a')].map(a => a.textContent)]`); !slices.Equal(got, []string{"All applications", "All applications", "Organisations"}) {
		t.Errorf("admin's title and menu %q", got)
	}
	tb.check("all-applications")
	tb.click(`#nav a[href="#/admin/organisations"]`)
	tb.waitFor("#organisations li a")
	tb.check("admin-organisations")
	org := evalJS[string](tb, `[...document.querySelectorAll('#organisations li a')].find(a => a.textContent === 'Acme Ltd').getAttribute('href')`)
	tb.click(fmt.Sprintf(`#organisations a[href=%q]`, org))
	tb.waitFor("#app-name")
	// Nothing filled in: each error is told beside its field.
	tb.click("#create-application")
	tb.waitFor("#app-name-error")
	if got := evalJS[string](tb, `(() => { const n = document.querySelector('#app-name'), f = document.querySelector('fieldset.apis'); return [n.getAttribute('aria-invalid'), n.getAttribute('aria-describedby'), document.activeElement === n, f.getAttribute('aria-describedby') === f.id + '-error', f.querySelector('.field-error').textContent, [...f.querySelectorAll('input')].every(i => i.getAttribute('aria-invalid') === 'true')].join(' '); })()`); got != "true app-name-error true true Choose at least one API. true" {
		t.Errorf("application form errors: %q", got)
	}
	tb.check("admin-organisation-errors")
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
	if got, want := tb.text("#toast"), manager+" is now a credential manager on "+appName+"."; got != want {
		t.Errorf("toast %q, want %q", got, want)
	}
	if !strings.Contains(tb.text("#warnings"), "1 credential manager") {
		t.Errorf("after one designation, warnings %q", tb.text("#warnings"))
	}
	tb.check("admin-application")

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
	if got, want := tb.text("#toast"), "victor@acme.example is now a credential manager on "+appName+"."; got != want {
		t.Errorf("toast %q, want %q", got, want)
	}
	// At 375 px: full-size checkboxes, the role select and its button in
	// view, emails on one line.
	tb.viewport(375, 812)
	tb.settle()
	if got := evalJS[string](tb, `(() => {
		const boxes = [...document.querySelectorAll('.check input')].map(i => i.getBoundingClientRect().width);
		const sel = document.querySelector('`+victor+` select.role').getBoundingClientRect();
		const btn = document.querySelector('`+victor+` button.change-role').getBoundingClientRect();
		const row = document.querySelector('`+victor+`').getBoundingClientRect();
		const range = document.createRange();
		range.selectNodeContents(document.querySelector('`+victor+` .email-text'));
		const lines = new Set([...range.getClientRects()].map(r => Math.round(r.bottom))).size;
		return [Math.min(...boxes) >= 18, sel.left >= row.left && sel.right <= row.right && sel.width >= 150, btn.right <= row.right, lines === 1].join(' ');
	})()`); got != "true true true true" {
		t.Errorf("admin page at 375 px: checkboxes full size, role select whole, change button in view, email on one line = %q", got)
	}
	tb.viewport(1280, 900)
	tb.click(victor + " button.remove")
	tb.waitFor("dialog[open] #confirm-remove")
	tb.check("remove-dialog")
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
