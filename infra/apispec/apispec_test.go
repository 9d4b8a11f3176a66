package apispec_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/getkin/kin-openapi/openapi3"

	"credportal/infra/apispec"
	"credportal/infra/template"
)

func load(t *testing.T) *apispec.Spec {
	t.Helper()
	spec, err := apispec.Load()
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// TestRoutesAreTheTemplates: the document describes exactly the HttpApi
// routes of template.yaml, no more and no fewer, and says which need a
// user's token exactly where the template puts the JWT authorizer.
func TestRoutesAreTheTemplates(t *testing.T) {
	spec := load(t)
	tmpl, _, err := template.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	for _, fn := range tmpl.Functions() {
		for _, r := range fn.Routes {
			key := apispec.RouteKey(r.Method + " " + r.Path)
			declared = append(declared, key)
			op, ok := spec.Operation(key)
			if !ok {
				continue
			}
			signedIn := op.Security != nil && slices.ContainsFunc(*op.Security, func(req openapi3.SecurityRequirement) bool {
				_, ok := req["userToken"]
				return ok
			})
			if signedIn != r.Authorized {
				t.Errorf("%s: the document says a user token is needed: %v; template.yaml's JWT authorizer: %v", key, signedIn, r.Authorized)
			}
		}
	}
	slices.Sort(declared)
	documented := spec.Routes()
	for _, k := range declared {
		if !slices.Contains(documented, k) {
			t.Errorf("template.yaml's route %s is not in docs/openapi.json", k)
		}
	}
	for _, k := range documented {
		if !slices.Contains(declared, k) {
			t.Errorf("docs/openapi.json describes %s, which template.yaml does not declare", k)
		}
	}
	if len(declared) == 0 {
		t.Fatal("no routes read from template.yaml")
	}
}

// TestFunctionsDoNotLinkTheValidator: validation runs in tests only; no
// function binary links the validator or this package.
func TestFunctionsDoNotLinkTheValidator(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", "credportal/functions/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v: %s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/getkin/") || pkg == "credportal/infra/apispec" {
			t.Errorf("a function links %s", pkg)
		}
	}
}

func TestMatch(t *testing.T) {
	spec := load(t)
	cases := []struct {
		method, path string
		key          string
		params       map[string]string
	}{
		{"GET", "/v1/me", "GET /v1/me", map[string]string{}},
		{"GET", "/", "GET /", map[string]string{}},
		{"DELETE", "/v1/applications/app_1/secrets/sec_2", "DELETE /v1/applications/{applicationId}/secrets/{secretId}", map[string]string{"applicationId": "app_1", "secretId": "sec_2"}},
		{"PUT", "/v1/admin/applications/app_1/designations/a%40b.example", "PUT /v1/admin/applications/{applicationId}/designations/{email}", map[string]string{"applicationId": "app_1", "email": "a@b.example"}},
		{"GET", "/assets/0123/app.js", "GET /assets/{proxy}", map[string]string{"proxy": "0123/app.js"}},
		{"PUT", "/v1/me", "", nil},
		{"GET", "/v2/applications", "", nil},
		{"GET", "/assets", "", nil},
	}
	for _, c := range cases {
		key, params, ok := spec.Match(c.method, c.path)
		if key != c.key || ok != (c.key != "") || (ok && !mapsEqual(params, c.params)) {
			t.Errorf("Match(%s %s) = %q %v %v, want %q %v", c.method, c.path, key, params, ok, c.key, c.params)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func jsonResponse(status int, body string) apispec.Response {
	return apispec.Response{Status: status, Body: []byte(body), Header: http.Header{
		"Content-Type": {"application/json"}, "Cache-Control": {"no-store"},
	}}
}

// TestCheck: answers the document describes pass; answers that differ from it
// in status, header or body fail. The expected verdicts are written here, by
// hand, from the product's rules.
func TestCheck(t *testing.T) {
	spec := load(t)
	const (
		me      = "GET /v1/me"
		secrets = "POST /v1/applications/{applicationId}/secrets"
		token   = "POST /oauth2/token"
	)
	app := map[string]string{"applicationId": "app_01jx6q3m9v0000000000000000"}
	created := `{"id":"sec_01jx6q3m9v0000000000000000","name":"n","hint":"abc","createdAt":"2026-11-30T10:00:00Z","createdBy":"a@b.example","expiresAt":"2026-12-30T10:00:00Z","lastUsedAt":null,"status":"active","value":"cps_abc"}`
	gatewayDenied := apispec.Response{Status: 401, Body: []byte(`{"message":"Unauthorized"}`), Header: http.Header{"Content-Type": {"application/json"}}}
	noCache := jsonResponse(200, `{"email":"a@b.example","admin":false,"designations":[]}`)
	noCache.Header.Del("Cache-Control")
	tokenOK := apispec.Response{Status: 200, Body: []byte(`{"access_token":"x.y.z","token_type":"Bearer","expires_in":3600,"scope":"search-match"}`),
		Header: http.Header{"Content-Type": {"application/json;charset=UTF-8"}, "Cache-Control": {"no-store"}, "Pragma": {"no-cache"}}}
	invalidClient := apispec.Response{Status: 401, Body: []byte(`{"error":"invalid_client","error_description":"Client authentication failed."}`),
		Header: http.Header{"Content-Type": {"application/json;charset=UTF-8"}, "Cache-Control": {"no-store"}, "Pragma": {"no-cache"}}}
	noChallenge := invalidClient
	invalidClient.Header = invalidClient.Header.Clone()
	invalidClient.Header.Set("WWW-Authenticate", `Basic realm="oauth2", charset="UTF-8"`)

	cases := []struct {
		name   string
		route  string
		params map[string]string
		resp   apispec.Response
		ok     bool
	}{
		{"me", me, nil, jsonResponse(200, `{"email":"a@b.example","admin":false,"designations":[{"applicationId":"app_01jx6q3m9v0000000000000000","role":"viewer"}]}`), true},
		{"me with an extra field", me, nil, jsonResponse(200, `{"email":"a@b.example","admin":false,"designations":[],"groups":[]}`), false},
		{"me without designations", me, nil, jsonResponse(200, `{"email":"a@b.example","admin":false}`), false},
		{"me with an unknown role", me, nil, jsonResponse(200, `{"email":"a@b.example","admin":false,"designations":[{"applicationId":"app_01jx6q3m9v0000000000000000","role":"owner"}]}`), false},
		{"me without Cache-Control", me, nil, noCache, false},
		{"me: API Gateway's 401", me, nil, gatewayDenied, true},
		{"me: the function's 401", me, nil, jsonResponse(401, `{"error":{"code":"unauthenticated","message":"Sign in."}}`), true},
		{"me: a 401 code it never gives", me, nil, jsonResponse(401, `{"error":{"code":"forbidden","message":"No."}}`), false},
		{"me: an error without a message", me, nil, jsonResponse(401, `{"error":{"code":"unauthenticated"}}`), false},
		{"me: an undocumented status", me, nil, jsonResponse(404, `{"error":{"code":"application_not_found","message":"No."}}`), false},
		{"create secret 201", secrets, app, jsonResponse(201, created), true},
		{"create secret 201 without the value", secrets, app, jsonResponse(201, strings.Replace(created, `,"value":"cps_abc"`, "", 1)), false},
		{"create secret 201 with a bad time", secrets, app, jsonResponse(201, strings.Replace(created, "2026-12-30T10:00:00Z", "next month", 1)), false},
		{"create secret 409", secrets, app, jsonResponse(409, `{"error":{"code":"secret_limit_reached","message":"Delete one first."}}`), true},
		{"create secret 409 with another code", secrets, app, jsonResponse(409, `{"error":{"code":"recently_used","message":"No."}}`), false},
		{"create secret: text, not JSON", secrets, app, apispec.Response{Status: 400, Body: []byte("bad"), Header: http.Header{"Content-Type": {"text/plain"}, "Cache-Control": {"no-store"}}}, false},
		{"token 200", token, nil, tokenOK, true},
		{"token 401 with WWW-Authenticate", token, nil, invalidClient, true},
		{"token 401 without WWW-Authenticate", token, nil, noChallenge, false},
		{"token error in the portal's JSON shape", token, nil, apispec.Response{Status: 400, Body: []byte(`{"error":{"code":"invalid_request","message":"x"}}`), Header: tokenOK.Header}, false},
		{"unknown route", "GET /v1/nothing", nil, jsonResponse(200, `{}`), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := spec.Check(c.route, c.params, c.resp)
			if (err == nil) != c.ok {
				t.Fatalf("Check = %v, want ok %v", err, c.ok)
			}
		})
	}
}

// TestFromLambda: a base64 body is decoded, and a gzip one is checked as the
// browser reads it.
func TestFromLambda(t *testing.T) {
	spec := load(t)
	cfg := `{"signInMode":"local","redirectUri":"http://127.0.0.1:3000/","apiBase":"","maxLifetimeDays":365,"activeSecretLimit":3,"reminderThresholds":[30,14,7,3,1,0],"trustedIssuers":["https://token.actions.githubusercontent.com"]}`
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write([]byte(cfg))
	_ = zw.Close()
	resp, err := apispec.FromLambda(events.APIGatewayV2HTTPResponse{
		StatusCode: 200, IsBase64Encoded: true, Body: base64.StdEncoding.EncodeToString(zipped.Bytes()),
		Headers: map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip", "Cache-Control": "no-cache", "ETag": `"x-gz"`},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.Check("GET /config.json", nil, resp); err != nil {
		t.Fatal(err)
	}
	resp.Body = []byte(`{"signInMode":"none"}`)
	resp.Header.Del("Content-Encoding")
	if err := spec.Check("GET /config.json", nil, resp); err == nil {
		t.Fatal("a config with an unknown sign-in mode passed")
	}
}
