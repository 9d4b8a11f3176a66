package localstack

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"credportal/infra/template"
)

func TestMatch(t *testing.T) {
	routes, err := newRoutes([]template.Function{
		{LogicalID: "Page", Routes: []template.Route{{Method: "GET", Path: "/"}, {Method: "GET", Path: "/assets/{proxy+}"}, {Method: "GET", Path: "/assets/special.js"}}},
		{LogicalID: "App", Routes: []template.Route{{Method: "GET", Path: "/v1/applications/{applicationId}"}, {Method: "GET", Path: "/v1/applications/mine"}}},
		{LogicalID: "Secrets", Routes: []template.Route{{Method: "DELETE", Path: "/v1/applications/{applicationId}/secrets/{secretId}"}}},
		{LogicalID: "Any", Routes: []template.Route{{Method: "ANY", Path: "/any/{x}"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path string
		fn           string
		params       map[string]string
	}{
		{"GET", "/", "Page", map[string]string{}},
		{"GET", "/assets/app.js", "Page", map[string]string{"proxy": "app.js"}},
		{"GET", "/assets/css/site.css", "Page", map[string]string{"proxy": "css/site.css"}},
		{"GET", "/assets/special.js", "Page", map[string]string{}},
		{"GET", "/assets", "", nil},
		{"GET", "/assets/", "", nil},
		{"GET", "/v1/applications/app_1", "App", map[string]string{"applicationId": "app_1"}},
		{"GET", "/v1/applications/mine", "App", map[string]string{}},
		{"POST", "/v1/applications/app_1", "", nil},
		{"DELETE", "/v1/applications/a/secrets/s", "Secrets", map[string]string{"applicationId": "a", "secretId": "s"}},
		{"DELETE", "/v1/applications/a/secrets", "", nil},
		{"PATCH", "/any/1", "Any", map[string]string{"x": "1"}},
		// Parameters decoded, as HTTP APIs deliver them.
		{"GET", "/v1/applications/a%40b", "App", map[string]string{"applicationId": "a@b"}},
		{"GET", "/v1/applications/zo%C3%AB", "App", map[string]string{"applicationId": "zoë"}},
		{"GET", "/v1/applications/a%2Fb", "App", map[string]string{"applicationId": "a/b"}},
		{"GET", "/assets/a%20b/c.js", "Page", map[string]string{"proxy": "a b/c.js"}},
		{"HEAD", "/assets/app.js", "", nil},
		{"GET", "//assets/app.js", "", nil},
		{"GET", "/v1/applications/app_1/", "", nil},
	} {
		r, params, ok := routes.match(c.method, c.path)
		if ok != (c.fn != "") || ok && (r.function != c.fn || !maps.Equal(params, c.params)) {
			t.Errorf("%s %s: %v %s %v, want %s %v", c.method, c.path, ok, r.function, params, c.fn, c.params)
		}
	}
}

// Routes that match the same requests with neither more specific are
// refused, not served in an arbitrary order.
func TestAmbiguousRoutes(t *testing.T) {
	_, err := newRoutes([]template.Function{
		{LogicalID: "A", Routes: []template.Route{{Method: "GET", Path: "/{x}/b"}}},
		{LogicalID: "B", Routes: []template.Route{{Method: "GET", Path: "/a/{y}"}}},
	})
	if err == nil || !strings.Contains(err.Error(), "/a/{y}") {
		t.Errorf("ambiguous routes: %v", err)
	}
}

func TestClaimString(t *testing.T) {
	var claims map[string]any
	_ = json.Unmarshal([]byte(`{"s":"x","n":1795680000,"f":1.5,"b":true,"a":["portal-admins","b"],"one":["g"],"o":{"k":"v"}}`), &claims)
	want := map[string]string{"s": "x", "n": "1795680000", "f": "1.5", "b": "true", "a": "[portal-admins b]", "one": "[g]", "o": "map[k:v]"}
	for k, w := range want {
		if got := claimString(claims[k]); got != w {
			t.Errorf("%s: %q, want %q", k, got, w)
		}
	}
}

func TestEvent(t *testing.T) {
	req := httptest.NewRequest("POST", "http://127.0.0.1:3000/oauth2/token?a=1&a=2&b=x", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", "c1=v1; c2=v2")
	req.Header.Add("X-Multi", "1")
	req.Header.Add("X-Multi", "2")
	rt := route{Route: template.Route{Method: "POST", Path: "/oauth2/token"}}
	ev := event(req, rt, nil, []byte("grant_type=client_credentials"), "rid", testNow)
	if ev.RouteKey != "POST /oauth2/token" || ev.RawPath != "/oauth2/token" || ev.RawQueryString != "a=1&a=2&b=x" {
		t.Errorf("route %q path %q query %q", ev.RouteKey, ev.RawPath, ev.RawQueryString)
	}
	if ev.QueryStringParameters["a"] != "1,2" || ev.Headers["x-multi"] != "1,2" || ev.Headers["cookie"] != "" {
		t.Errorf("query %v headers %v", ev.QueryStringParameters, ev.Headers)
	}
	if len(ev.Cookies) != 2 || ev.Cookies[1] != "c2=v2" {
		t.Errorf("cookies %v", ev.Cookies)
	}
	if !ev.IsBase64Encoded || ev.Body != "Z3JhbnRfdHlwZT1jbGllbnRfY3JlZGVudGlhbHM=" {
		t.Errorf("form body %q base64 %v", ev.Body, ev.IsBase64Encoded)
	}
	rc := ev.RequestContext
	if rc.Stage != "$default" || rc.RequestID != "rid" || rc.HTTP.Method != "POST" || rc.HTTP.SourceIP != "192.0.2.1" || rc.HTTP.Protocol != "HTTP/1.1" {
		t.Errorf("request context %+v", rc)
	}
	// A JSON body that is not valid UTF-8 reaches the function byte for
	// byte, base64-encoded, never repaired into U+FFFD.
	bad := []byte("{\"name\":\"ab\xff\xfecd\"}")
	req = httptest.NewRequest("POST", "/x", bytes.NewReader(bad))
	req.Header.Set("Content-Type", "application/json")
	if ev := event(req, rt, nil, bad, "r", testNow); !ev.IsBase64Encoded || ev.Body != base64.StdEncoding.EncodeToString(bad) {
		t.Errorf("invalid UTF-8 body %q base64 %v", ev.Body, ev.IsBase64Encoded)
	}
	// rawPath decoded, as HTTP APIs deliver it.
	req = httptest.NewRequest("PUT", "/v1/x/zo%C3%AB%40x.example", nil)
	if ev := event(req, rt, nil, nil, "r", testNow); ev.RawPath != "/v1/x/zoë@x.example" {
		t.Errorf("rawPath %q", ev.RawPath)
	}
	req = httptest.NewRequest("POST", "/x", strings.NewReader(`{"a":1}`))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if ev := event(req, rt, nil, []byte(`{"a":1}`), "r", testNow); ev.IsBase64Encoded || ev.Body != `{"a":1}` {
		t.Errorf("JSON body %q base64 %v", ev.Body, ev.IsBase64Encoded)
	}
}

func TestWriteResponse(t *testing.T) {
	for _, c := range []struct {
		out    string
		status int
		body   string
		header map[string]string
	}{
		{`{"statusCode":201,"headers":{"Content-Type":"application/json"},"body":"{\"a\":1}"}`, 201, `{"a":1}`, map[string]string{"Content-Type": "application/json"}},
		{`{"statusCode":200,"headers":{"Content-Type":"image/png"},"body":"iVBORw==","isBase64Encoded":true}`, 200, "\x89PNG", nil},
		{`{"statusCode":204,"cookies":["a=b; Path=/"]}`, 204, "", map[string]string{"Set-Cookie": "a=b; Path=/"}},
		{`{"statusCode":200,"multiValueHeaders":{"Vary":["Accept","Origin"]},"body":"x"}`, 200, "x", map[string]string{"Vary": "Accept"}},
		{`{"hello":"world"}`, 200, `{"hello":"world"}`, map[string]string{"Content-Type": "application/json"}},
		{`{"errorMessage":"boom","errorType":"errorString"}`, 500, `{"message":"Internal Server Error"}` + "\n", nil},
		{`not json`, 500, `{"message":"Internal Server Error"}` + "\n", nil},
	} {
		w := httptest.NewRecorder()
		writeResponse(w, []byte(c.out))
		if w.Code != c.status || w.Body.String() != c.body {
			t.Errorf("%s: %d %q", c.out, w.Code, w.Body.String())
		}
		for k, v := range c.header {
			if w.Header().Get(k) != v {
				t.Errorf("%s: header %s = %q", c.out, k, w.Header().Values(k))
			}
		}
	}
}

var testNow = mustTime("2026-11-26T07:00:00Z")

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
