package localstack

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// TestHiddenInputAsAWSDelivers sends inputs that hide in their encoding
// (a non-ASCII local part, an internationalised domain, a "%" in an address,
// a body that is not valid UTF-8) through the local stack, and the same
// requests, as a hand-made HTTP API event the way AWS delivers them (path
// parameters and rawPath decoded, such a body base64-encoded), straight to
// the function the stack runs: both answer alike, with the answer AWS gives.
func TestHiddenInputAsAWSDelivers(t *testing.T) {
	ctx := context.Background()
	admin := token(t, "admin@registry.example", true)
	appID := applicationID(t, "Acme Search")
	designation := "/v1/admin/applications/" + appID + "/designations/"
	// The demo data is shared by the package's tests: the designations
	// made here go again.
	t.Cleanup(func() {
		for _, email := range []string{"idn@xn--bcher-kva.example", "a%25b@x.example"} {
			call(t, http.MethodDelete, designation+email, admin, "", "")
		}
	})
	for _, tc := range []struct {
		name        string
		function    string
		method      string
		path        string // as sent, percent-encoded
		routeKey    string
		params      map[string]string // as AWS delivers them
		contentType string
		body        []byte
		status      int
		code        string
	}{
		{
			name: "non-ASCII local part", function: "AdminFunction", method: http.MethodPut,
			path: designation + "zo%C3%AB-1@x.example", routeKey: "PUT /v1/admin/applications/{applicationId}/designations/{email}",
			params: map[string]string{"applicationId": appID, "email": "zoë-1@x.example"}, contentType: "application/json",
			body: []byte(`{"role":"viewer"}`), status: 400, code: "invalid_email",
		},
		{
			name: "internationalised domain", function: "AdminFunction", method: http.MethodPut,
			path: designation + "idn@b%C3%BCcher.example", routeKey: "PUT /v1/admin/applications/{applicationId}/designations/{email}",
			params: map[string]string{"applicationId": appID, "email": "idn@bücher.example"}, contentType: "application/json",
			body: []byte(`{"role":"viewer"}`), status: 200,
		},
		{
			name: "percent sign in an address", function: "AdminFunction", method: http.MethodPut,
			path: designation + "a%25b@x.example", routeKey: "PUT /v1/admin/applications/{applicationId}/designations/{email}",
			params: map[string]string{"applicationId": appID, "email": "a%b@x.example"}, contentType: "application/json",
			body: []byte(`{"role":"viewer"}`), status: 200,
		},
		{
			name: "body not valid UTF-8", function: "CreateSecretFunction", method: http.MethodPost,
			path: "/v1/applications/" + appID + "/secrets", routeKey: "POST /v1/applications/{applicationId}/secrets",
			params: map[string]string{"applicationId": appID}, contentType: "application/json",
			body: []byte("{\"name\":\"ab\xff\xfecd\",\"lifetimeDays\":30}"), status: 400, code: "invalid_utf8",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Through the local stack, over HTTP.
			req, err := http.NewRequest(tc.method, stack.URL+tc.path, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+admin)
			req.Header.Set("Content-Type", tc.contentType)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var local struct {
				Error struct{ Code string } `json:"error"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&local)
			resp.Body.Close()

			// As AWS delivers it, to the same function.
			claims, scopes, err := stack.auth.verify("Bearer " + admin)
			if err != nil {
				t.Fatal(err)
			}
			decoded, err := url.PathUnescape(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			ev := events.APIGatewayV2HTTPRequest{
				Version: "2.0", RouteKey: tc.routeKey, RawPath: decoded, PathParameters: tc.params,
				Headers: map[string]string{"content-type": tc.contentType, "authorization": "Bearer " + admin},
				RequestContext: events.APIGatewayV2HTTPRequestContext{
					RouteKey: tc.routeKey, Stage: "$default", RequestID: "aws-event", TimeEpoch: time.Now().UnixMilli(),
					HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: tc.method, Path: decoded, SourceIP: "203.0.113.7", Protocol: "HTTP/1.1"},
					Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims, Scopes: scopes}},
				},
			}
			if strings.Contains(tc.name, "UTF-8") {
				ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(tc.body), true
			} else {
				ev.Body = string(tc.body)
			}
			payload, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			out, err := stack.Functions[tc.function].Invoke(ctx, payload)
			if err != nil {
				t.Fatal(err)
			}
			var direct events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(out, &direct); err != nil {
				t.Fatalf("%s: %v", out, err)
			}
			var directBody struct {
				Error struct{ Code string } `json:"error"`
			}
			_ = json.Unmarshal([]byte(direct.Body), &directBody)

			if resp.StatusCode != tc.status || local.Error.Code != tc.code {
				t.Errorf("local stack: %d %q, want %d %q", resp.StatusCode, local.Error.Code, tc.status, tc.code)
			}
			if direct.StatusCode != tc.status || directBody.Error.Code != tc.code {
				t.Errorf("AWS event: %d %q, want %d %q: %s", direct.StatusCode, directBody.Error.Code, tc.status, tc.code, direct.Body)
			}
		})
	}
	// The internationalised domain is stored in punycode, once.
	var app struct {
		Designations []struct{ Email string } `json:"designations"`
	}
	r := call(t, http.MethodGet, "/v1/applications/"+appID, admin, "", "")
	r.json(t, &app)
	found := 0
	for _, d := range app.Designations {
		if d.Email == "idn@xn--bcher-kva.example" {
			found++
		}
		if strings.Contains(d.Email, "%C3") || strings.Contains(d.Email, "ü") {
			t.Errorf("stored as %q", d.Email)
		}
	}
	if found != 1 {
		t.Errorf("designations %+v: want idn@xn--bcher-kva.example once", app.Designations)
	}
}
