package httpapi_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"credportal/infra/apispec"
	"credportal/infra/emulator/emulatortest"
	"credportal/infra/storetest"
	"credportal/infra/testlog"
	"credportal/shared/audit"
	"credportal/shared/httpapi"
	"credportal/shared/ids"
	"credportal/shared/keys"
	"credportal/shared/portal"
	"credportal/shared/store"
)

func TestMain(m *testing.M) { os.Exit(emulatortest.RunTests(m)) }

const (
	admin      = "admin@operator.test"
	managerA   = "manager@a.test"
	viewerA    = "viewer@a.test"
	managerB   = "manager@b.test"
	outsiderA  = "someone.else@a.test"
	adminGroup = "portal-admins"
)

// fixture is a table with two organisations: A with applications A1 (a
// manager and a viewer) and A2, and B with B1.
type fixture struct {
	api       routedAPI
	db        *dynamodb.Client
	table     string
	a1, a2, b string
	now       time.Time
	pepper    string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	emu := emulatortest.ForTest(t)
	ctx := context.Background()
	db := dynamodb.NewFromConfig(emu.Config())
	sm := secretsmanager.NewFromConfig(emu.Config())
	f := &fixture{db: db, table: emulatortest.NewTable(t, emu), now: time.Now().UTC().Truncate(time.Second)}
	pepperID := emulatortest.NewSecret(t, emu)
	pv, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(pepperID)})
	if err != nil {
		t.Fatal(err)
	}
	f.pepper = aws.ToString(pv.SecretString)
	st := store.New(db, f.table)
	svc := portal.NewService(st, keys.NewPeppers(sm, pepperID, time.Now), portal.DefaultConfig(), time.Now, rand.Reader)
	f.api = routedAPI{httpapi.API{Service: svc, Identity: httpapi.Identity{AdminGroup: adminGroup, GroupsClaim: "cognito:groups"}}}

	org := func(name string) portal.OrganisationRef {
		o := storetest.CreateOrganisation(t, st, portal.Organisation{Name: name, CreatedAt: f.now})
		return portal.OrganisationRef{ID: o.ID, Name: o.Name}
	}
	app := func(o portal.OrganisationRef, name string, designations map[string]portal.Role) string {
		return storetest.CreateApp(t, st, storetest.App{
			Application:  portal.Application{Name: name, Organisation: o, CreatedAt: f.now},
			Designations: designations,
		}).ID
	}
	a, b := org("Org A"), org("Org B")
	f.a1 = app(a, "A1", map[string]portal.Role{managerA: portal.RoleCredentialManager, viewerA: portal.RoleViewer})
	f.a2 = app(a, "A2", map[string]portal.Role{"other.manager@a.test": portal.RoleCredentialManager})
	f.b = app(b, "B1", map[string]portal.Role{managerB: portal.RoleCredentialManager})
	return f
}

// req builds an event as API Gateway passes it after the JWT authorizer;
// email "" means no identity.
func req(email string, path map[string]string, query map[string]string, body string) httpapi.Request {
	r := events.APIGatewayV2HTTPRequest{PathParameters: path, QueryStringParameters: query, Body: body}
	r.RequestContext.RequestID = "req-" + email
	r.RequestContext.HTTP.SourceIP = "203.0.113.7"
	r.RequestContext.HTTP.UserAgent = "route-test/1.0"
	r.Headers = map[string]string{"authorization": "Bearer header.payload.signature-of-" + email}
	if email != "" {
		claims := claimsOf(email)
		claims["email"] = strings.ToUpper(email[:1]) + email[1:]
		if email == admin {
			claims["cognito:groups"] = "[" + adminGroup + "]"
		}
		r.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	return r
}

// testIssuer is the issuer of the tests' tokens.
const testIssuer = "https://issuer.test/pool"

// claimsOf are the claims of a verified token for email, with a subject of
// its own.
func claimsOf(email string) map[string]string {
	return map[string]string{"email": email, "email_verified": "true", "iss": testIssuer, "sub": "sub-" + email}
}

// route is a handler with the route key API Gateway invokes it behind.
type route struct {
	key string
	h   httpapi.Handler
}

// routedAPI names each handler of the API with its route key.
type routedAPI struct{ httpapi.API }

func (a routedAPI) Me() route { return route{"GET /v1/me", a.API.Me()} }
func (a routedAPI) ListApplications() route {
	return route{"GET /v1/applications", a.API.ListApplications()}
}
func (a routedAPI) GetApplication() route {
	return route{"GET /v1/applications/{applicationId}", a.API.GetApplication()}
}
func (a routedAPI) ListSecrets() route {
	return route{"GET /v1/applications/{applicationId}/secrets", a.API.ListSecrets()}
}
func (a routedAPI) CreateSecret() route {
	return route{"POST /v1/applications/{applicationId}/secrets", a.API.CreateSecret()}
}
func (a routedAPI) DeleteSecret() route {
	return route{"DELETE /v1/applications/{applicationId}/secrets/{secretId}", a.API.DeleteSecret()}
}
func (a routedAPI) ListEvents() route {
	return route{"GET /v1/applications/{applicationId}/audit", a.API.ListEvents()}
}

// call invokes the handler and checks its answer as every answer of the API
// must be: described by docs/openapi.json, no-store, and an error with a code
// and a message.
func call(t *testing.T, rt route, r httpapi.Request) (int, map[string]any, httpapi.Response) {
	t.Helper()
	resp, err := rt.h(context.Background(), r)
	if err != nil {
		t.Fatalf("handler error: %v", err)
	}
	r.RouteKey = rt.key
	if err := apispec.CheckLambda(r, resp); err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if resp.Body != "" {
		if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
			t.Fatalf("body is not JSON: %q", resp.Body)
		}
	}
	if resp.StatusCode >= 400 {
		e, _ := body["error"].(map[string]any)
		if code, _ := e["code"].(string); code == "" {
			t.Fatalf("error body without a code: %s", resp.Body)
		}
		if msg, _ := e["message"].(string); msg == "" {
			t.Fatalf("error body without a message: %s", resp.Body)
		}
	}
	if resp.Headers["Cache-Control"] != "no-store" {
		t.Fatalf("Cache-Control = %q", resp.Headers["Cache-Control"])
	}
	return resp.StatusCode, body, resp
}

func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func items(body map[string]any) []any {
	list, _ := body["items"].([]any)
	return list
}

func app(id string) map[string]string { return map[string]string{"applicationId": id} }

func secretPath(appID, secretID string) map[string]string {
	return map[string]string{"applicationId": appID, "secretId": secretID}
}

func (f *fixture) create(t *testing.T, email, appID, body string) (int, map[string]any) {
	t.Helper()
	status, out, _ := call(t, f.api.CreateSecret(), req(email, app(appID), nil, body))
	return status, out
}

func TestRoutesStatusPaths(t *testing.T) {
	f := newFixture(t)
	a := f.api
	const ok = `{"name":"Secret by manager","lifetimeDays":90}`
	_, created := f.create(t, managerA, f.a1, ok)
	secretID, _ := created["id"].(string)
	malformedApp := "app_../../etc"
	unknownApp, _ := ids.New(ids.Application, time.Now(), rand.Reader)
	unknownSecret, _ := ids.New(ids.Secret, time.Now(), rand.Reader)

	cases := []struct {
		name   string
		h      route
		r      httpapi.Request
		status int
		code   string
	}{
		{"me 200", a.Me(), req(managerA, nil, nil, ""), 200, ""},
		{"me 401", a.Me(), req("", nil, nil, ""), 401, "unauthenticated"},
		{"list applications 200", a.ListApplications(), req(managerA, nil, nil, ""), 200, ""},
		{"list applications 401", a.ListApplications(), req("", nil, nil, ""), 401, "unauthenticated"},
		{"list applications bad cursor 400", a.ListApplications(), req(managerA, nil, map[string]string{"cursor": "not-a-cursor"}, ""), 400, "invalid_cursor"},
		{"get application 200 manager", a.GetApplication(), req(managerA, app(f.a1), nil, ""), 200, ""},
		{"get application 200 viewer", a.GetApplication(), req(viewerA, app(f.a1), nil, ""), 200, ""},
		{"get application 200 admin", a.GetApplication(), req(admin, app(f.b), nil, ""), 200, ""},
		{"get application 404 other organisation", a.GetApplication(), req(managerA, app(f.b), nil, ""), 404, "application_not_found"},
		{"get application 404 same organisation, not designated", a.GetApplication(), req(managerA, app(f.a2), nil, ""), 404, "application_not_found"},
		{"get application 404 malformed id", a.GetApplication(), req(managerA, app(malformedApp), nil, ""), 404, "application_not_found"},
		{"get application 404 unknown id, admin", a.GetApplication(), req(admin, app(unknownApp), nil, ""), 404, "application_not_found"},
		{"get application 401", a.GetApplication(), req("", app(f.a1), nil, ""), 401, "unauthenticated"},
		{"list secrets 200", a.ListSecrets(), req(viewerA, app(f.a1), nil, ""), 200, ""},
		{"list secrets 404", a.ListSecrets(), req(managerB, app(f.a1), nil, ""), 404, "application_not_found"},
		{"list secrets bad cursor 400", a.ListSecrets(), req(managerA, app(f.a1), map[string]string{"cursor": "eyJQSyI6IkFQUCNvdGhlciIsIlNLIjoiU0VDUkVUI3gifQ"}, ""), 400, "invalid_cursor"},
		{"create 403 viewer", a.CreateSecret(), req(viewerA, app(f.a1), nil, ok), 403, "forbidden"},
		{"create 404 other organisation", a.CreateSecret(), req(managerB, app(f.a1), nil, ok), 404, "application_not_found"},
		{"create 401", a.CreateSecret(), req("", app(f.a1), nil, ok), 401, "unauthenticated"},
		{"create 400 unknown field", a.CreateSecret(), req(managerA, app(f.a1), nil, `{"name":"n","lifetimeDays":30,"value":"cps_mine"}`), 400, "unknown_field"},
		{"create 400 366 days", a.CreateSecret(), req(managerA, app(f.a1), nil, `{"name":"n","lifetimeDays":366}`), 400, "invalid_lifetime"},
		{"create 400 0 days", a.CreateSecret(), req(managerA, app(f.a1), nil, `{"name":"n","lifetimeDays":0}`), 400, "invalid_lifetime"},
		{"create 400 expiresAt in an hour", a.CreateSecret(), req(managerA, app(f.a1), nil, `{"name":"n","expiresAt":"`+f.now.Add(time.Hour).Format(time.RFC3339)+`"}`), 400, "invalid_lifetime"},
		{"create 400 both lifetimes", a.CreateSecret(), req(managerA, app(f.a1), nil, `{"name":"n","lifetimeDays":30,"expiresAt":"`+f.now.Add(48*time.Hour).Format(time.RFC3339)+`"}`), 400, "invalid_lifetime"},
		{"create 400 no lifetime", a.CreateSecret(), req(managerA, app(f.a1), nil, `{"name":"n"}`), 400, "invalid_lifetime"},
		{"create 400 empty name", a.CreateSecret(), req(managerA, app(f.a1), nil, `{"name":"","lifetimeDays":30}`), 400, "invalid_name"},
		{"create 400 long name", a.CreateSecret(), req(managerA, app(f.a1), nil, `{"name":"`+strings.Repeat("x", 101)+`","lifetimeDays":30}`), 400, "invalid_name"},
		{"create 400 control character", a.CreateSecret(), req(managerA, app(f.a1), nil, `{"name":"a\u0007b","lifetimeDays":30}`), 400, "invalid_name"},
		{"create 400 not JSON", a.CreateSecret(), req(managerA, app(f.a1), nil, `name=x`), 400, "invalid_json"},
		{"create 413", a.CreateSecret(), req(managerA, app(f.a1), nil, `{"name":"`+strings.Repeat("x", 17<<10)+`","lifetimeDays":30}`), 413, "body_too_large"},
		{"delete 403 viewer", a.DeleteSecret(), req(viewerA, secretPath(f.a1, secretID), nil, ""), 403, "forbidden"},
		{"delete 404 other organisation", a.DeleteSecret(), req(managerB, secretPath(f.a1, secretID), nil, ""), 404, "application_not_found"},
		{"delete 404 unknown secret", a.DeleteSecret(), req(managerA, secretPath(f.a1, unknownSecret), nil, ""), 404, "secret_not_found"},
		{"delete 404 malformed secret id", a.DeleteSecret(), req(managerA, secretPath(f.a1, "sec_%00"), nil, ""), 404, "secret_not_found"},
		{"delete 404 secret of another application", a.DeleteSecret(), req(admin, secretPath(f.b, secretID), nil, ""), 404, "secret_not_found"},
		{"delete 400 bad confirm", a.DeleteSecret(), req(managerA, secretPath(f.a1, secretID), map[string]string{"confirm": "yes"}, ""), 400, "invalid_confirm"},
		{"delete 401", a.DeleteSecret(), req("", secretPath(f.a1, secretID), nil, ""), 401, "unauthenticated"},
		{"audit 200 viewer", a.ListEvents(), req(viewerA, app(f.a1), nil, ""), 200, ""},
		{"audit 404 other organisation", a.ListEvents(), req(managerB, app(f.a1), nil, ""), 404, "application_not_found"},
		{"audit 401", a.ListEvents(), req("", app(f.a1), nil, ""), 401, "unauthenticated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body, resp := call(t, c.h, c.r)
			if status != c.status || errCode(body) != c.code {
				t.Fatalf("status %d code %q, want %d %q: %s", status, errCode(body), c.status, c.code, resp.Body)
			}
			if resp.Headers["Content-Type"] != "application/json" || resp.Headers["Cache-Control"] != "no-store" {
				t.Fatalf("headers %v", resp.Headers)
			}
		})
	}
	// None of the refused requests changed anything: A1 still has one secret
	// and B1 none.
	for appID, want := range map[string]int{f.a1: 1, f.b: 0} {
		_, body, _ := call(t, a.ListSecrets(), req(admin, app(appID), nil, ""))
		if got := len(items(body)); got != want {
			t.Fatalf("application has %d secrets after refused requests, want %d", got, want)
		}
	}
}

func TestCreateListDelete(t *testing.T) {
	f := newFixture(t)
	status, created, resp := call(t, f.api.CreateSecret(), req(managerA, app(f.a1), nil, `{"name":"Rotation 2026","lifetimeDays":30}`))
	if status != http.StatusCreated || resp.Headers["Cache-Control"] != "no-store" {
		t.Fatalf("create: %d %v", status, resp.Headers)
	}
	value, _ := created["value"].(string)
	id, _ := created["id"].(string)
	if !strings.HasPrefix(value, "cps_") || created["hint"] != value[4:7] || created["createdBy"] != managerA || created["status"] != "active" {
		t.Fatalf("created = %v", created)
	}
	exp, _ := time.Parse(time.RFC3339, created["expiresAt"].(string))
	if d := exp.Sub(f.now); d < 30*24*time.Hour-5*time.Second || d > 30*24*time.Hour+5*time.Second {
		t.Fatalf("expiresAt %v is not 30 days out", exp)
	}
	_, list, resp := call(t, f.api.ListSecrets(), req(viewerA, app(f.a1), nil, ""))
	if strings.Contains(resp.Body, value) || strings.Contains(resp.Body, value[4:]) {
		t.Fatal("the list shows the secret value")
	}
	got := items(list)
	if len(got) != 1 {
		t.Fatalf("list = %v", list)
	}
	entry := got[0].(map[string]any)
	for _, k := range []string{"id", "name", "hint", "createdAt", "createdBy", "expiresAt", "lastUsedAt", "status"} {
		if _, ok := entry[k]; !ok {
			t.Fatalf("list entry lacks %s: %v", k, entry)
		}
	}
	if _, ok := entry["value"]; ok {
		t.Fatal("list entry has a value")
	}
	if _, ok := entry["hash"]; ok {
		t.Fatal("list entry has a hash")
	}
	// The stored item holds the HMAC under the pepper, never the value.
	raw, err := f.db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(f.table), Key: map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "APP#" + f.a1}, "SK": &types.AttributeValueMemberS{Value: "SECRET#" + id},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range raw.Item {
		if s, ok := v.(*types.AttributeValueMemberS); ok && strings.Contains(s.Value, value[4:20]) {
			t.Fatalf("attribute %s holds the value", k)
		}
	}
	if status, _, _ := call(t, f.api.DeleteSecret(), req(managerA, secretPath(f.a1, id), nil, "")); status != http.StatusNoContent {
		t.Fatalf("delete: %d", status)
	}
	if _, list, _ := call(t, f.api.ListSecrets(), req(managerA, app(f.a1), nil, "")); len(items(list)) != 0 {
		t.Fatalf("deleted secret still listed: %v", list)
	}
	_, evs, _ := call(t, f.api.ListEvents(), req(viewerA, app(f.a1), nil, ""))
	list2 := items(evs)
	if len(list2) < 2 {
		t.Fatalf("audit = %v", evs)
	}
	first := list2[0].(map[string]any)
	second := list2[1].(map[string]any)
	if first["action"] != audit.SecretDeleted || second["action"] != audit.SecretCreated {
		t.Fatalf("audit order: %v, %v", first["action"], second["action"])
	}
	for _, e := range []map[string]any{first, second} {
		if e["actor"] != managerA || e["secretId"] != id || e["secretName"] != "Rotation 2026" || e["hint"] != value[4:7] || e["sourceIp"] != "203.0.113.7" || e["userAgent"] != "route-test/1.0" || e["requestId"] != "req-"+managerA {
			t.Fatalf("audit event %v", e)
		}
	}
	if strings.Contains(fmtJSON(evs), value) {
		t.Fatal("audit shows the value")
	}
}

func fmtJSON(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}

func TestLimitAndRecentUse(t *testing.T) {
	f := newFixture(t)
	var last string
	for i := 0; i < 3; i++ {
		status, body := f.create(t, managerA, f.a1, `{"name":"s","lifetimeDays":10}`)
		if status != http.StatusCreated {
			t.Fatalf("create %d: %d %v", i, status, body)
		}
		last = body["id"].(string)
	}
	if status, body := f.create(t, admin, f.a1, `{"name":"s","lifetimeDays":10}`); status != http.StatusConflict || errCode(body) != "secret_limit_reached" {
		t.Fatalf("beyond the limit: %d %v", status, body)
	}
	// Mark the secret used an hour ago, as the token endpoint does.
	_, err := f.db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: aws.String(f.table),
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "APP#" + f.a1}, "SK": &types.AttributeValueMemberS{Value: "SECRET#" + last},
		},
		UpdateExpression:          aws.String("SET LastUsedAt = :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: f.now.Add(-time.Hour).Format(time.RFC3339Nano)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	status, body, _ := call(t, f.api.DeleteSecret(), req(managerA, secretPath(f.a1, last), nil, ""))
	if status != http.StatusConflict || errCode(body) != "recently_used" {
		t.Fatalf("delete of a recently used secret: %d %v", status, body)
	}
	if status, _, _ := call(t, f.api.DeleteSecret(), req(managerA, secretPath(f.a1, last), map[string]string{"confirm": "true"}, "")); status != http.StatusNoContent {
		t.Fatalf("confirmed delete: %d", status)
	}
	if status, body := f.create(t, managerA, f.a1, `{"name":"s","lifetimeDays":10}`); status != http.StatusCreated {
		t.Fatalf("create after delete: %d %v", status, body)
	}
}

func TestTenantIsolation(t *testing.T) {
	f := newFixture(t)
	_, created := f.create(t, managerB, f.b, `{"name":"B's","lifetimeDays":10}`)
	bSecret := created["id"].(string)
	a := f.api
	// A manager of A gets 404 on every route of B's application.
	for name, h := range map[string]route{
		"get": a.GetApplication(), "list secrets": a.ListSecrets(), "create": a.CreateSecret(),
		"delete": a.DeleteSecret(), "audit": a.ListEvents(),
	} {
		t.Run(name, func(t *testing.T) {
			for _, who := range []string{managerA, viewerA, outsiderA} {
				status, body, _ := call(t, h, req(who, secretPath(f.b, bSecret), nil, `{"name":"x","lifetimeDays":5}`))
				if status != http.StatusNotFound || errCode(body) != "application_not_found" {
					t.Fatalf("%s: %d %v", who, status, body)
				}
			}
		})
	}
	t.Run("undesignated user sees an empty list", func(t *testing.T) {
		_, body, resp := call(t, a.ListApplications(), req(outsiderA, nil, nil, ""))
		if len(items(body)) != 0 || !strings.Contains(resp.Body, `"items":[]`) {
			t.Fatalf("list = %s", resp.Body)
		}
		_, me, _ := call(t, a.Me(), req(outsiderA, nil, nil, ""))
		if me["email"] != outsiderA || me["admin"] != false || len(me["designations"].([]any)) != 0 {
			t.Fatalf("me = %v", me)
		}
	})
	t.Run("manager sees only their applications", func(t *testing.T) {
		_, body, _ := call(t, a.ListApplications(), req(managerA, nil, nil, ""))
		got := items(body)
		if len(got) != 1 || got[0].(map[string]any)["id"] != f.a1 || got[0].(map[string]any)["role"] != "credential_manager" {
			t.Fatalf("list = %v", got)
		}
		entry := got[0].(map[string]any)
		for _, k := range []string{"name", "clientId", "organisation", "apis", "activeSecrets", "nextExpiry", "secretExpiries"} {
			if _, ok := entry[k]; !ok {
				t.Fatalf("entry lacks %s: %v", k, entry)
			}
		}
	})
	t.Run("admin sees all", func(t *testing.T) {
		_, body, _ := call(t, a.ListApplications(), req(admin, nil, nil, ""))
		if len(items(body)) != 3 {
			t.Fatalf("admin list = %v", body)
		}
		_, me, _ := call(t, a.Me(), req(admin, nil, nil, ""))
		if me["admin"] != true {
			t.Fatalf("me = %v", me)
		}
	})
	t.Run("B's secret untouched", func(t *testing.T) {
		_, body, _ := call(t, a.ListSecrets(), req(managerB, app(f.b), nil, ""))
		if len(items(body)) != 1 {
			t.Fatalf("B's secrets = %v", body)
		}
	})
}

func TestLogsNeverHoldSecrets(t *testing.T) {
	f := newFixture(t)
	logs := testlog.Capture(t)

	r := req(managerA, app(f.a1), nil, `{"name":"logged","lifetimeDays":30}`)
	status, created, _ := call(t, f.api.CreateSecret(), r)
	if status != http.StatusCreated {
		t.Fatalf("create: %d", status)
	}
	// A failing request logs its error: point the service at a pepper that
	// does not exist.
	emu := emulatortest.ForTest(t)
	broken := routedAPI{httpapi.API{Identity: f.api.Identity, Service: portal.NewService(
		store.New(f.db, f.table), keys.NewPeppers(secretsmanager.NewFromConfig(emu.Config()), "missing-pepper", time.Now),
		portal.DefaultConfig(), time.Now, rand.Reader)}}
	if status, _, _ := call(t, broken.CreateSecret(), r); status != http.StatusInternalServerError {
		t.Fatalf("broken create: %d", status)
	}
	out := logs.String()
	if !strings.Contains(out, "request failed") {
		t.Fatalf("the failure was not logged: %s", out)
	}
	value := created["value"].(string)
	for what, s := range map[string]string{"secret value": value, "pepper": f.pepper, "bearer token": "header.payload.signature"} {
		if strings.Contains(out, s) {
			t.Fatalf("logs contain the %s", what)
		}
	}
}

func TestIdentityNeedsAVerifiedEmail(t *testing.T) {
	f := newFixture(t)
	with := func(extra map[string]string) map[string]string {
		c := map[string]string{"iss": testIssuer, "sub": "sub-" + managerA}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	cases := map[string]struct {
		claims         map[string]string
		issuerVerifies bool
		status         int
		code           string
	}{
		"verified":                      {with(map[string]string{"email": managerA, "email_verified": "true"}), false, 200, ""},
		"issuer says nothing":           {with(map[string]string{"email": managerA}), false, 401, "email_not_verified"},
		"issuer says nothing, declared": {with(map[string]string{"email": managerA}), true, 200, ""},
		"not verified":                  {with(map[string]string{"email": managerA, "email_verified": "false"}), false, 401, "email_not_verified"},
		"not verified, declared":        {with(map[string]string{"email": managerA, "email_verified": "false"}), true, 401, "email_not_verified"},
		"verified, as a number":         {with(map[string]string{"email": managerA, "email_verified": "1"}), false, 401, "email_not_verified"},
		"no email":                      {with(map[string]string{"email_verified": "true"}), false, 401, "unauthenticated"},
		"no subject":                    {map[string]string{"iss": testIssuer, "email": managerA, "email_verified": "true"}, false, 401, "unauthenticated"},
		"no issuer":                     {map[string]string{"sub": "sub-" + managerA, "email": managerA, "email_verified": "true"}, false, 401, "unauthenticated"},
		"not an address":                {with(map[string]string{"email": "manager", "email_verified": "true"}), false, 401, "unauthenticated"},
		"too long":                      {with(map[string]string{"email": strings.Repeat("a", 250) + "@a.test", "email_verified": "true"}), false, 401, "unauthenticated"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			api := f.api
			api.Identity.IssuerVerifiesEmail = c.issuerVerifies
			r := req("", app(f.a1), nil, "")
			r.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: c.claims},
			}
			status, body, _ := call(t, api.GetApplication(), r)
			if status != c.status || errCode(body) != c.code {
				t.Fatalf("%d %v, want %d %s", status, body, c.status, c.code)
			}
		})
	}
}

// asSubject is req for email with the token's subject set to sub.
func asSubject(email, sub string, path map[string]string, body string) httpapi.Request {
	r := req(email, path, nil, body)
	r.RequestContext.Authorizer.JWT.Claims["sub"] = sub
	return r
}

// A designation belongs to the first (issuer, subject) that uses it: another
// subject with the same email is refused on every route until an admin
// removes and re-adds the designation; a role change keeps the binding.
func TestIdentityBinding(t *testing.T) {
	f := newFixture(t)
	a := f.api
	const first, second = "person-1", "person-2"
	routes := map[string]struct {
		h    route
		path map[string]string
		body string
	}{
		"me":                {a.Me(), nil, ""},
		"list applications": {a.ListApplications(), nil, ""},
		"get application":   {a.GetApplication(), app(f.a1), ""},
		"list secrets":      {a.ListSecrets(), app(f.a1), ""},
		"audit":             {a.ListEvents(), app(f.a1), ""},
		"create":            {a.CreateSecret(), app(f.a1), `{"name":"n","lifetimeDays":30}`},
	}
	// The first use binds: here a read of the application.
	if status, body, _ := call(t, a.GetApplication(), asSubject(managerA, first, app(f.a1), "")); status != 200 {
		t.Fatalf("first use: %d %v", status, body)
	}
	for name, r := range routes {
		status, body, _ := call(t, r.h, asSubject(managerA, second, r.path, r.body))
		if status != 401 || errCode(body) != "identity_mismatch" {
			t.Errorf("%s as another subject: %d %v, want 401 identity_mismatch", name, status, body)
		}
		// Another issuer with the same subject is another person too.
		other := asSubject(managerA, first, r.path, r.body)
		other.RequestContext.Authorizer.JWT.Claims["iss"] = "https://elsewhere.test/"
		if status, body, _ := call(t, r.h, other); status != 401 || errCode(body) != "identity_mismatch" {
			t.Errorf("%s from another issuer: %d %v, want 401 identity_mismatch", name, status, body)
		}
	}
	if status, _, _ := call(t, a.ListSecrets(), asSubject(managerA, first, app(f.a1), "")); status != 200 {
		t.Fatalf("the bound subject: %d", status)
	}

	// Admins see the binding among the application's designations; nobody
	// else does.
	binding := func(as string) map[string]any {
		t.Helper()
		_, body, _ := call(t, a.GetApplication(), asSubject(as, "sub-"+as, app(f.a1), ""))
		ds, _ := body["designations"].([]any)
		for _, d := range ds {
			m := d.(map[string]any)
			if m["email"] == managerA {
				b, _ := m["binding"].(map[string]any)
				return b
			}
		}
		t.Fatalf("%s does not see %s's designation: %v", as, managerA, body)
		return nil
	}
	if b := binding(admin); b["issuer"] != testIssuer || b["subject"] != first || b["boundAt"] == nil {
		t.Fatalf("admin sees binding %v", b)
	}
	if b := binding(viewerA); b != nil {
		t.Fatalf("a viewer sees the binding %v", b)
	}

	// A role change keeps the binding.
	st := store.New(f.db, f.table)
	ctx := context.Background()
	ev := func() audit.Event {
		id, _ := ids.New(ids.Event, time.Now(), rand.Reader)
		return audit.Event{ID: id, At: f.now, Actor: admin, Action: audit.DesignationSet, ApplicationID: f.a1}
	}
	if err := st.PutDesignation(ctx, portal.Designation{ApplicationID: f.a1, Email: managerA, Role: portal.RoleViewer, CreatedAt: f.now, CreatedBy: admin}, ev()); err != nil {
		t.Fatal(err)
	}
	if status, body, _ := call(t, a.GetApplication(), asSubject(managerA, second, app(f.a1), "")); status != 401 || errCode(body) != "identity_mismatch" {
		t.Fatalf("after a role change, another subject: %d %v", status, body)
	}

	// Removing and re-adding the designation resets it: the next first use
	// binds anew.
	if err := st.DeleteDesignation(ctx, f.a1, managerA, ev()); err != nil {
		t.Fatal(err)
	}
	if err := st.PutDesignation(ctx, portal.Designation{ApplicationID: f.a1, Email: managerA, Role: portal.RoleCredentialManager, CreatedAt: f.now, CreatedBy: admin}, ev()); err != nil {
		t.Fatal(err)
	}
	if status, body, _ := call(t, a.Me(), asSubject(managerA, second, nil, "")); status != 200 {
		t.Fatalf("after re-adding, the new subject: %d %v", status, body)
	}
	if status, body, _ := call(t, a.GetApplication(), asSubject(managerA, first, app(f.a1), "")); status != 401 || errCode(body) != "identity_mismatch" {
		t.Fatalf("after re-adding, the old subject: %d %v", status, body)
	}
}

// putRaw writes an item of string attributes as it is, bypassing the store,
// and returns it.
func (f *fixture) putRaw(t *testing.T, pk, sk string, attrs map[string]string) map[string]types.AttributeValue {
	t.Helper()
	item := map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: pk}, "SK": &types.AttributeValueMemberS{Value: sk}}
	for k, v := range attrs {
		item[k] = &types.AttributeValueMemberS{Value: v}
	}
	if _, err := f.db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(f.table), Item: item}); err != nil {
		t.Fatal(err)
	}
	return item
}

// A designation item written before bindings existed (no Bound* attributes)
// is bound by its first use, and then holds to it.
func TestIdentityBindingOfAnOldDesignation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const who = "legacy@a.test"
	old := f.putRaw(t, "APP#"+f.a1, "DESIG#"+who, map[string]string{
		"GSI1PK": "USER#" + who, "GSI1SK": "APP#" + f.a1, "Type": "designation", "AppID": f.a1, "Email": who,
		"Role": "credential_manager", "CreatedAt": "2025-01-01T00:00:00Z", "CreatedBy": admin,
	})
	if status, body, _ := call(t, f.api.ListApplications(), asSubject(who, "legacy-sub", nil, "")); status != 200 || len(items(body)) != 1 {
		t.Fatalf("first use of an old designation: %d %v", status, body)
	}
	got, err := f.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(f.table), Key: map[string]types.AttributeValue{"PK": old["PK"], "SK": old["SK"]}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if sub, _ := got.Item["BoundSubject"].(*types.AttributeValueMemberS); sub == nil || sub.Value != "legacy-sub" {
		t.Fatalf("item after first use: %v", got.Item)
	}
	if iss, _ := got.Item["BoundIssuer"].(*types.AttributeValueMemberS); iss == nil || iss.Value != testIssuer {
		t.Fatalf("item after first use: %v", got.Item)
	}
	if role, _ := got.Item["Role"].(*types.AttributeValueMemberS); role == nil || role.Value != "credential_manager" {
		t.Fatalf("the binding changed the role: %v", got.Item)
	}
	if status, body, _ := call(t, f.api.GetApplication(), asSubject(who, "someone-else", app(f.a1), "")); status != 401 || errCode(body) != "identity_mismatch" {
		t.Fatalf("another subject after the binding: %d %v", status, body)
	}
}

// An item with the key of a designation but no role an admin gives (as the
// binding write alone could create, were its condition lost) grants nothing.
func TestDesignationWithoutARoleGrantsNothing(t *testing.T) {
	f := newFixture(t)
	const who = "planted@a.test"
	f.putRaw(t, "APP#"+f.a2, "DESIG#"+who, map[string]string{
		"GSI1PK": "USER#" + who, "GSI1SK": "APP#" + f.a2, "BoundIssuer": testIssuer, "BoundSubject": "sub-" + who,
	})
	if status, body, _ := call(t, f.api.GetApplication(), req(who, app(f.a2), nil, "")); status != 404 {
		t.Fatalf("get application: %d %v", status, body)
	}
	if status, body, _ := call(t, f.api.ListApplications(), req(who, nil, nil, "")); status != 200 || len(items(body)) != 0 {
		t.Fatalf("list applications: %d %v", status, body)
	}
	if status, body, _ := call(t, f.api.Me(), req(who, nil, nil, "")); status != 200 || len(body["designations"].([]any)) != 0 {
		t.Fatalf("me: %d %v", status, body)
	}
}
