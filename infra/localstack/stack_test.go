package localstack

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"credportal/infra/seed"
	"credportal/shared/config"
)

// TestSecretLifecycleOverHTTP drives the stack over HTTP only, as a
// credential manager would: list, create, list, delete, read the audit.
func TestSecretLifecycleOverHTTP(t *testing.T) {
	alice := token(t, "Alice@Acme.example", false)

	var apps struct {
		Items []struct {
			ID, Name, Role string
		} `json:"items"`
	}
	r := call(t, http.MethodGet, "/v1/applications", alice, "", "")
	r.json(t, &apps)
	if r.status != http.StatusOK {
		t.Fatalf("list applications: %d %s", r.status, r.body)
	}
	var names []string
	appID := ""
	for _, a := range apps.Items {
		names = append(names, a.Name)
		if a.Name == "Acme Data Sync" {
			appID = a.ID
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"Acme Data Sync", "Acme Search"}) || appID == "" {
		t.Fatalf("alice sees %v", names)
	}

	r = call(t, http.MethodPost, "/v1/applications/"+appID+"/secrets", alice, "application/json", `{"name":"Lifecycle test","lifetimeDays":30}`)
	var created struct {
		ID, Name, Value, Hint string
	}
	r.json(t, &created)
	if r.status != http.StatusCreated || created.ID == "" || !strings.HasPrefix(created.Value, "cps_") {
		t.Fatalf("create secret: %d %s", r.status, r.body)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("create response Cache-Control %q", cc)
	}

	listed := func() []string {
		var secrets struct {
			Items []struct{ ID, Name, Value string } `json:"items"`
		}
		r := call(t, http.MethodGet, "/v1/applications/"+appID+"/secrets", alice, "", "")
		r.json(t, &secrets)
		if r.status != http.StatusOK {
			t.Fatalf("list secrets: %d %s", r.status, r.body)
		}
		var ids []string
		for _, s := range secrets.Items {
			if s.Value != "" {
				t.Errorf("a listed secret shows its value")
			}
			ids = append(ids, s.ID)
		}
		return ids
	}
	if ids := listed(); !slices.Contains(ids, created.ID) {
		t.Fatalf("new secret %s not listed: %v", created.ID, ids)
	}

	r = call(t, http.MethodDelete, "/v1/applications/"+appID+"/secrets/"+created.ID, alice, "", "")
	if r.status != http.StatusNoContent {
		t.Fatalf("delete secret: %d %s", r.status, r.body)
	}
	if ids := listed(); slices.Contains(ids, created.ID) {
		t.Fatalf("deleted secret still listed: %v", ids)
	}

	var audit struct {
		Items []struct {
			Action, Actor, SecretID string
		} `json:"items"`
	}
	r = call(t, http.MethodGet, "/v1/applications/"+appID+"/audit", alice, "", "")
	r.json(t, &audit)
	if r.status != http.StatusOK {
		t.Fatalf("audit: %d %s", r.status, r.body)
	}
	var actions []string
	for _, ev := range audit.Items {
		if ev.SecretID == created.ID {
			actions = append(actions, ev.Action+" by "+ev.Actor)
		}
	}
	want := []string{"secret.deleted by alice@acme.example", "secret.created by alice@acme.example"}
	if !slices.Equal(actions, want) {
		t.Errorf("audit of the secret = %v, want %v (newest first)", actions, want)
	}
}

// TestOtherOrganisationsApplicationsAreNotFound: carol of Globex is told
// Acme's applications do not exist.
func TestOtherOrganisationsApplicationsAreNotFound(t *testing.T) {
	carol := token(t, "carol@globex.example", false)
	acme := applicationID(t, "Acme Search")
	for _, path := range []string{"/v1/applications/" + acme, "/v1/applications/" + acme + "/secrets", "/v1/applications/" + acme + "/audit"} {
		r := call(t, http.MethodGet, path, carol, "", "")
		if r.status != http.StatusNotFound || !strings.Contains(string(r.body), `"error"`) {
			t.Errorf("carol GET %s: %d %s", path, r.status, r.body)
		}
	}
	r := call(t, http.MethodPost, "/v1/applications/"+acme+"/secrets", carol, "application/json", `{"name":"x","lifetimeDays":30}`)
	if r.status != http.StatusNotFound {
		t.Errorf("carol creates a secret on Acme Search: %d %s", r.status, r.body)
	}
	var apps struct {
		Items []struct{ Name string } `json:"items"`
	}
	r = call(t, http.MethodGet, "/v1/applications", carol, "", "")
	r.json(t, &apps)
	if len(apps.Items) != 1 || apps.Items[0].Name != "Globex Matching" {
		t.Errorf("carol lists %+v", apps.Items)
	}
}

// TestAuthorizerRejects checks the emulated JWT authorizer answers 401 as
// API Gateway does for every token it must not accept.
func TestAuthorizerRejects(t *testing.T) {
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// Alice's own subject, so the valid control is Alice as her
	// designations are bound.
	alice, _, err := stack.auth.verify(token(t, "alice@acme.example", false))
	if err != nil {
		t.Fatal(err)
	}
	sign := func(key *ecdsa.PrivateKey, change func(map[string]any)) string {
		now := time.Now()
		c := map[string]any{"iss": stack.Issuer, "aud": stack.Audience, "email": "alice@acme.example", "email_verified": true, "sub": alice["sub"], "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		change(c)
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, nil)
		if err != nil {
			t.Fatal(err)
		}
		s, err := jwt.Signed(signer).Claims(c).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := sign(stack.auth.key, func(map[string]any) {})
	noneClaims, err := json.Marshal(map[string]any{"iss": stack.Issuer, "aud": stack.Audience, "email": "alice@acme.example", "exp": time.Now().Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + base64.RawURLEncoding.EncodeToString(noneClaims) + "."
	cases := map[string]string{
		"missing":         "",
		"malformed":       "not-a-jwt",
		"expired":         sign(stack.auth.key, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }),
		"no expiry":       sign(stack.auth.key, func(c map[string]any) { delete(c, "exp") }),
		"bad signature":   sign(other, func(map[string]any) {}),
		"tampered":        valid[:strings.LastIndex(valid, ".")] + ".AAAA" + valid[strings.LastIndex(valid, ".")+5:],
		"wrong audience":  sign(stack.auth.key, func(c map[string]any) { c["aud"] = "someone-else" }),
		"wrong issuer":    sign(stack.auth.key, func(c map[string]any) { c["iss"] = "https://issuer.example" }),
		"unsigned (none)": none,
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			r := call(t, http.MethodGet, "/v1/applications", tok, "", "")
			if r.status != http.StatusUnauthorized || strings.TrimSpace(string(r.body)) != `{"message":"Unauthorized"}` {
				t.Errorf("got %d %s", r.status, r.body)
			}
		})
	}
	t.Run("valid control", func(t *testing.T) {
		if r := call(t, http.MethodGet, "/v1/applications", valid, "", ""); r.status != http.StatusOK {
			t.Errorf("a valid token got %d %s", r.status, r.body)
		}
	})
}

// TestAdminClaim: the admin token's group reaches the function as the HTTP
// API renders arrays, and makes the caller an admin.
func TestAdminClaim(t *testing.T) {
	claims, _, err := stack.auth.verify("Bearer " + token(t, "admin@registry.example", true))
	if err != nil {
		t.Fatal(err)
	}
	if claims["cognito:groups"] != "[portal-admins]" || claims["email"] != "admin@registry.example" {
		t.Errorf("claims %v", claims)
	}
	var me struct {
		Email string `json:"email"`
		Admin bool   `json:"admin"`
	}
	r := call(t, http.MethodGet, "/v1/me", token(t, "admin@registry.example", true), "", "")
	r.json(t, &me)
	if !me.Admin || me.Email != "admin@registry.example" {
		t.Errorf("/v1/me of the admin: %s", r.body)
	}
	r = call(t, http.MethodGet, "/v1/me", token(t, "victor@acme.example", false), "", "")
	r.json(t, &me)
	if me.Admin {
		t.Errorf("/v1/me of a viewer: %s", r.body)
	}
}

// TestEveryTemplateRouteIsServed sends a request to every HttpApi route of
// template.yaml, path parameters filled in, and expects its function to
// answer: never the router's 404, never a 5xx.
func TestEveryTemplateRouteIsServed(t *testing.T) {
	admin := token(t, "admin@registry.example", true)
	values := map[string]string{
		"applicationId":  applicationID(t, "Globex Matching"),
		"organisationId": "org_00000000000000000000000000",
		"secretId":       "sec_00000000000000000000000000",
		"email":          "nobody@globex.example",
		"proxy":          "no-such-asset.js",
	}
	param := regexp.MustCompile(`\{([^}+]+)\+?\}`)
	for _, fn := range stack.Template.Functions() {
		for _, rt := range fn.Routes {
			path := param.ReplaceAllStringFunc(rt.Path, func(m string) string {
				if v, ok := values[strings.Trim(m, "{}+")]; ok {
					return v
				}
				return "x"
			})
			t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
				tok := ""
				if rt.Authorized {
					tok = admin
				}
				body := ""
				if rt.Method == http.MethodPost || rt.Method == http.MethodPut || rt.Method == http.MethodPatch {
					body = "{}"
				}
				r := call(t, rt.Method, path, tok, "application/json", body)
				if r.header.Get("Apigw-Requestid") == "" {
					t.Errorf("%s %s was not routed to %s: %d %s", rt.Method, path, fn.LogicalID, r.status, r.body)
				}
				if r.status >= 500 {
					t.Errorf("%s %s: %d %s", rt.Method, path, r.status, r.body)
				}
			})
		}
	}
}

func TestUnknownRouteIsNotFound(t *testing.T) {
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/v2/applications"},
		{http.MethodPut, "/v1/me"},
		{http.MethodGet, "/v1/applications/a/b/c/d"},
		{http.MethodGet, "/assets"},
	} {
		r := call(t, c.method, c.path, token(t, "alice@acme.example", false), "", "")
		if r.status != http.StatusNotFound || strings.TrimSpace(string(r.body)) != `{"message":"Not Found"}` {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.status, r.body)
		}
	}
}

// TestConcurrentRequests: one function serves one invocation at a time;
// concurrent requests queue rather than fail.
func TestConcurrentRequests(t *testing.T) {
	alice := token(t, "alice@acme.example", false)
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, stack.URL+"/v1/me", nil)
			req.Header.Set("Authorization", "Bearer "+alice)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs <- fmt.Sprint(resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestLocalToken(t *testing.T) {
	for _, c := range []struct {
		query  string
		status int
	}{
		{"email=alice@acme.example", 200},
		{"email=admin@registry.example&admin=true", 200},
		{"", 400},
		{"email=not-an-address", 400},
		{"email=a@b.example&admin=yes", 400},
	} {
		r := call(t, http.MethodGet, "/local/token?"+c.query, "", "", "")
		if r.status != c.status {
			t.Errorf("/local/token?%s: %d %s", c.query, r.status, r.body)
		}
	}
	claims, _, err := stack.auth.verify(token(t, "Bob@ACME.example", false))
	if err != nil {
		t.Fatal(err)
	}
	if claims["email"] != "bob@acme.example" || claims["iss"] != stack.Issuer || claims["aud"] != stack.Audience || claims["cognito:groups"] != "" {
		t.Errorf("claims %v", claims)
	}
	// Without &sub= the subject is the same for the same address on every
	// sign-in, and another address's is another.
	subOf := func(query string) string {
		t.Helper()
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		r := call(t, http.MethodGet, "/local/token?"+query, "", "", "")
		r.json(t, &tok)
		claims, _, err := stack.auth.verify(tok.AccessToken)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return claims["sub"]
	}
	bob := subOf("email=bob@acme.example")
	if bob == "" || bob != subOf("email=Bob@acme.example") || bob == subOf("email=alice@acme.example") {
		t.Errorf("derived subjects: %q", bob)
	}
	if got := subOf("email=bob@acme.example&sub=someone-else"); got != "someone-else" {
		t.Errorf("sub=someone-else gave %q", got)
	}
	if r := call(t, http.MethodGet, "/local/token?email=bob@acme.example&sub="+strings.Repeat("s", 256), "", "", ""); r.status != 400 {
		t.Errorf("a 256-byte subject: %d", r.status)
	}
}

// A designation is bound to the subject that first uses it: the same address
// with another subject is refused until an admin re-adds the designation.
func TestLocalIdentityBinding(t *testing.T) {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	call(t, http.MethodGet, "/local/token?email=victor@acme.example&sub=impostor-of-victor", "", "", "").json(t, &tok)
	if r := call(t, http.MethodGet, "/v1/applications", token(t, "victor@acme.example", false), "", ""); r.status != 200 {
		t.Fatalf("victor: %d %s", r.status, r.body)
	}
	r := call(t, http.MethodGet, "/v1/applications", tok.AccessToken, "", "")
	if r.status != 401 || !strings.Contains(string(r.body), `"identity_mismatch"`) {
		t.Fatalf("victor's address with another subject: %d %s", r.status, r.body)
	}
}

// TestSweepAndMail runs the expiry sweep through POST /local/sweep (501
// while the template has no sweep function) and reads the mail it sent.
func TestSweepAndMail(t *testing.T) {
	r := call(t, http.MethodPost, "/local/sweep", "", "", "")
	if _, ok := stack.Template.Resources[SweepFunction]; !ok {
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		r.json(t, &e)
		if r.status != http.StatusNotImplemented || e.Error.Code != "not_implemented" {
			t.Fatalf("sweep without a sweep function: %d %s", r.status, r.body)
		}
		return
	}
	// The sweep answers with what it did. The seed's secrets in the window
	// (yesterday to 30 days ahead) expire in about 1, 5 and 25 days (and,
	// near midnight UTC, the one that expired 2 days ago falls on yesterday):
	// the reminders go to carol and dave (Globex Matching) and alice and bob
	// (Acme Search, and alice for Acme Data Sync), one digest each.
	if r.status != http.StatusOK {
		t.Fatalf("sweep: %d %s", r.status, r.body)
	}
	var result map[string]int
	r.json(t, &result)
	want := map[string]int{"sent": 4, "skipped": 0, "failed": 0, "deferred": 0, "undeliverable": 0, "sesNotReady": 0}
	for k, n := range want {
		if result[k] != n {
			t.Errorf("sweep %s = %d, want %d", k, result[k], n)
		}
	}
	if len(result) != 9 || result["examined"] < 3 || result["examined"] > 4 || result["due"] != result["reminders"] || result["reminders"] < 5 {
		t.Errorf("sweep: %d %s, want 3 or 4 secrets examined and every due reminder sent", r.status, r.body)
	}
	again := call(t, http.MethodPost, "/local/sweep", "", "", "")
	result = nil
	again.json(t, &result)
	if again.status != http.StatusOK || result["sent"] != 0 || result["reminders"] != 0 || result["failed"] != 0 {
		t.Errorf("second sweep: %d %s, want nothing sent", again.status, again.body)
	}
	if r := call(t, http.MethodGet, "/local/sweep", "", "", ""); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET /local/sweep: %d", r.status)
	}

	// The seeded secrets expiring in 1 and 5 days are due a reminder.
	req, _ := http.NewRequest(http.MethodGet, stack.URL+"/local/mail", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var mail struct {
		Items []struct {
			To      []string   `json:"to"`
			Subject string     `json:"subject"`
			Text    string     `json:"text"`
			HTML    string     `json:"html"`
			SentAt  *time.Time `json:"sentAt"`
		} `json:"items"`
	}
	err = json.NewDecoder(resp.Body).Decode(&mail)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("mail: %d %v", resp.StatusCode, err)
	}
	recipients := map[string]bool{}
	for i, m := range mail.Items {
		if len(m.To) == 0 || m.Subject == "" || m.Text == "" && m.HTML == "" {
			t.Errorf("mail %d incomplete: %+v", i, m)
		}
		if i > 0 && m.SentAt != nil && mail.Items[i-1].SentAt != nil && m.SentAt.After(*mail.Items[i-1].SentAt) {
			t.Errorf("mail not newest first at %d", i)
		}
		for _, to := range m.To {
			recipients[to] = true
		}
	}
	for _, who := range []string{"carol@globex.example", "dave@globex.example", "alice@acme.example", "bob@acme.example"} {
		if !recipients[who] {
			t.Errorf("no reminder to %s; mail to %v", who, recipients)
		}
	}

	page := call(t, http.MethodGet, "/local/mail", "", "", "")
	if !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") || page.status != http.StatusOK {
		t.Fatalf("mail page: %d %s", page.status, page.header.Get("Content-Type"))
	}
	if len(mail.Items) > 0 {
		subject := template.HTMLEscapeString(mail.Items[0].Subject)
		if !strings.Contains(string(page.body), subject) {
			t.Errorf("mail page lacks the newest subject %q", subject)
		}
	}
}

// TestSeedIsIdempotent runs the seed again on the stack's data: nothing
// changes.
func TestSeedIsIdempotent(t *testing.T) {
	if len(stack.Seeded.Secrets) != 6 || len(stack.Seeded.Applications) != 3 {
		t.Fatalf("seeded %d secrets, %d applications", len(stack.Seeded.Secrets), len(stack.Seeded.Applications))
	}
	env, err := config.Load(func(k string) string {
		return map[string]string{"TABLE_NAME": stack.TableName, "PEPPER_SECRET_ID": stack.Secrets["PepperSecret"]}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	before := call(t, http.MethodGet, "/v1/applications/"+applicationID(t, "Acme Search")+"/audit", token(t, "admin@registry.example", true), "", "")
	res, err := seed.Run(context.Background(), seed.Config{AWS: stack.Emulator.Config(), Env: env})
	if err != nil {
		t.Fatal(err)
	}
	if res.Created || len(res.Secrets) != 0 {
		t.Errorf("second seed created %+v", res)
	}
	for name, id := range stack.Seeded.Applications {
		if res.Applications[name] != id {
			t.Errorf("application %s: %s, was %s", name, res.Applications[name], id)
		}
	}
	after := call(t, http.MethodGet, "/v1/applications/"+applicationID(t, "Acme Search")+"/audit", token(t, "admin@registry.example", true), "", "")
	if string(before.body) != string(after.body) {
		t.Errorf("the second seed wrote audit events:\n%s\n%s", before.body, after.body)
	}
}

// TestBusyPort: a port in use is a one-line error naming it.
func TestBusyPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = Start(context.Background(), Options{Addr: l.Addr().String()})
	_, port, _ := net.SplitHostPort(l.Addr().String())
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), port+" is in use") {
		t.Errorf("got %v", err)
	}
}
