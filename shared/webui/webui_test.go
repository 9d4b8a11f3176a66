package webui_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"credportal/infra/apispec"
	"credportal/shared/httpapi"
	"credportal/shared/reminder"
	"credportal/shared/webui"
)

func oidcConfig() webui.Config {
	return webui.Config{
		SignInMode:        webui.ModeOIDC,
		Issuer:            "https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_Abc",
		AuthorizeEndpoint: "https://portal-auth.auth.eu-west-2.amazoncognito.com/oauth2/authorize",
		TokenEndpoint:     "https://portal-auth.auth.eu-west-2.amazoncognito.com/oauth2/token",
		LogoutEndpoint:    "https://portal-auth.auth.eu-west-2.amazoncognito.com/logout",
		TrustedIssuers:    []string{"https://token.actions.githubusercontent.com"},
		ClientID:          "5abc",
		RedirectURI:       "https://portal.example.com/",
		Scope:             "openid email profile",
		MaxLifetimeDays:   365,
	}
}

func localConfig() webui.Config {
	return webui.Config{SignInMode: webui.ModeLocal, RedirectURI: "http://127.0.0.1:3000/", MaxLifetimeDays: 365,
		TrustedIssuers: []string{"https://token.actions.githubusercontent.com", "http://127.0.0.1:3000/local/issuer"}}
}

func newHandler(t *testing.T, cfg webui.Config) *webui.Handler {
	t.Helper()
	h, err := webui.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func get(path string, headers map[string]string) httpapi.Request {
	return httpapi.Request{
		RawPath: path,
		Headers: headers,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: http.MethodGet, Path: path},
		},
	}
}

// serve answers req and checks the answer against docs/openapi.json, unless
// req is for a path that no route of template.yaml reaches (API Gateway would
// not pass it to the function).
func serve(t *testing.T, h *webui.Handler, req httpapi.Request) httpapi.Response {
	t.Helper()
	resp, err := h.Handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if err := apispec.CheckLambda(req, resp); err != nil && !errors.Is(err, apispec.ErrNoRoute) {
		t.Fatal(err)
	}
	return resp
}

// assertSecurityHeaders checks the headers every response must carry.
func assertSecurityHeaders(t *testing.T, resp httpapi.Response) {
	t.Helper()
	want := map[string]string{
		"X-Content-Type-Options":    "nosniff",
		"Referrer-Policy":           "no-referrer",
		"X-Frame-Options":           "DENY",
		"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
	}
	for k, v := range want {
		if got := resp.Headers[k]; got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	csp := resp.Headers["Content-Security-Policy"]
	for _, d := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
		"frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("CSP %q lacks %q", csp, d)
		}
	}
	if strings.Contains(csp, "unsafe-") {
		t.Errorf("CSP %q allows unsafe sources", csp)
	}
}

func TestRoutes(t *testing.T) {
	h := newHandler(t, oidcConfig())
	v := h.Version()
	tests := []struct {
		name        string
		path        string
		status      int
		contentType string
		cache       string
		contains    string
	}{
		{"index", "/", 200, "text/html; charset=utf-8", "no-cache", `src="/assets/` + v + `/app.js"`},
		{"config", "/config.json", 200, "application/json", "no-cache", `"signInMode":"oidc"`},
		{"API description", "/openapi.json", 200, "application/json", "no-cache", `"openapi": "3.1.0"`},
		{"script", "/assets/" + v + "/app.js", 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "import"},
		{"module", "/assets/" + v + "/api.js", 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "export"},
		{"style", "/assets/" + v + "/app.css", 200, "text/css; charset=utf-8", "public, max-age=31536000, immutable", ":root"},
		{"icon", "/assets/" + v + "/icon.svg", 200, "image/svg+xml", "public, max-age=31536000, immutable", "<svg"},
		{"unknown asset", "/assets/" + v + "/nope.js", 404, "text/plain; charset=utf-8", "no-store", ""},
		{"old version", "/assets/0123456789abcdef/app.js", 404, "text/plain; charset=utf-8", "no-store", ""},
		{"no version", "/assets/app.js", 404, "text/plain; charset=utf-8", "no-store", ""},
		{"index.html as asset", "/assets/" + v + "/index.html", 404, "text/plain; charset=utf-8", "no-store", ""},
		{"traversal", "/assets/" + v + "/../webui.go", 404, "text/plain; charset=utf-8", "no-store", ""},
		{"unknown path", "/admin", 404, "text/plain; charset=utf-8", "no-store", ""},
		{"emailed application link", "/applications/app_01m8am01crmyry9xt4qya904zv", 200, "text/html; charset=utf-8", "no-cache", `src="/assets/` + v + `/app.js"`},
		{"deeper application path", "/applications/app_1/secrets", 404, "text/plain; charset=utf-8", "no-store", ""},
		{"applications alone", "/applications/", 404, "text/plain; charset=utf-8", "no-store", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := serve(t, h, get(tc.path, nil))
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.status)
			}
			assertSecurityHeaders(t, resp)
			if got := resp.Headers["Content-Type"]; got != tc.contentType {
				t.Errorf("Content-Type = %q, want %q", got, tc.contentType)
			}
			if got := resp.Headers["Cache-Control"]; got != tc.cache {
				t.Errorf("Cache-Control = %q, want %q", got, tc.cache)
			}
			if !strings.Contains(resp.Body, tc.contains) {
				t.Errorf("body lacks %q", tc.contains)
			}
			if tc.status == 200 && resp.Headers["ETag"] == "" {
				t.Error("no ETag")
			}
		})
	}
}

func TestProxyPathParameter(t *testing.T) {
	h := newHandler(t, localConfig())
	req := get("/assets/"+h.Version()+"/app.css", nil)
	req.PathParameters = map[string]string{"proxy": h.Version() + "/app.css"}
	if resp := serve(t, h, req); resp.StatusCode != 200 || !strings.Contains(resp.Body, ":root") {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestConditionalAndMethods(t *testing.T) {
	h := newHandler(t, localConfig())
	first := serve(t, h, get("/", nil))
	etag := first.Headers["ETag"]
	tests := []struct {
		name   string
		req    httpapi.Request
		status int
		body   bool
	}{
		{"matching etag", get("/", map[string]string{"if-none-match": etag}), 304, false},
		{"weak matching etag", get("/", map[string]string{"If-None-Match": `"x", W/` + etag}), 304, false},
		{"other etag", get("/", map[string]string{"if-none-match": `"other"`}), 200, true},
		{"head", func() httpapi.Request { r := get("/", nil); r.RequestContext.HTTP.Method = http.MethodHead; return r }(), 200, false},
		{"post", func() httpapi.Request { r := get("/", nil); r.RequestContext.HTTP.Method = http.MethodPost; return r }(), 405, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := serve(t, h, tc.req)
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.status)
			}
			if (resp.Body != "") != tc.body {
				t.Errorf("body %q, want a body: %v", resp.Body, tc.body)
			}
			assertSecurityHeaders(t, resp)
		})
	}
}

func TestCSPConnectSources(t *testing.T) {
	tests := []struct {
		name    string
		cfg     webui.Config
		connect string
	}{
		{"oidc adds the token endpoint origin", oidcConfig(), "connect-src 'self' https://portal-auth.auth.eu-west-2.amazoncognito.com;"},
		{"local is self only", localConfig(), "connect-src 'self';"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			csp := webui.CSP(tc.cfg)
			if !strings.Contains(csp, tc.connect) {
				t.Fatalf("CSP %q lacks %q", csp, tc.connect)
			}
		})
	}
}

func TestConfigJSON(t *testing.T) {
	tests := []struct {
		name      string
		cfg       webui.Config
		demoUsers bool
	}{
		{"oidc", oidcConfig(), false},
		{"local", localConfig(), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := serve(t, newHandler(t, tc.cfg), get("/config.json", nil))
			var got webui.Config
			if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
				t.Fatal(err)
			}
			want := tc.cfg
			if tc.demoUsers {
				want.DemoUsers = webui.DemoUsers
			}
			wantJSON, _ := json.Marshal(want)
			gotJSON, _ := json.Marshal(got)
			if string(wantJSON) != string(gotJSON) {
				t.Fatalf("config.json = %s\nwant %s", gotJSON, wantJSON)
			}
			if tc.demoUsers {
				admins := 0
				for _, u := range got.DemoUsers {
					if u.Admin {
						admins++
					}
				}
				if admins != 1 || len(got.DemoUsers) != 6 {
					t.Fatalf("demo users %+v", got.DemoUsers)
				}
			}
		})
	}
}

func TestLoad(t *testing.T) {
	base := map[string]string{
		"SIGN_IN_MODE":       "oidc",
		"OIDC_ISSUER":        "https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_Abc",
		"OIDC_AUTHORIZE_URL": "https://x.auth.eu-west-2.amazoncognito.com/oauth2/authorize",
		"OIDC_TOKEN_URL":     "https://x.auth.eu-west-2.amazoncognito.com/oauth2/token",
		"OIDC_CLIENT_ID":     "client",
		"PORTAL_URL":         "https://portal.example.com/",
		"MAX_LIFETIME_DAYS":  "90",
	}
	with := func(changes map[string]string) func(string) string {
		return func(k string) string {
			if v, ok := changes[k]; ok {
				return v
			}
			return base[k]
		}
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"oidc complete", nil, ""},
		{"local needs no issuer", map[string]string{"SIGN_IN_MODE": "local", "OIDC_ISSUER": "", "OIDC_CLIENT_ID": "", "OIDC_AUTHORIZE_URL": "", "OIDC_TOKEN_URL": ""}, ""},
		{"mode defaults to oidc", map[string]string{"SIGN_IN_MODE": ""}, ""},
		{"unknown mode", map[string]string{"SIGN_IN_MODE": "magic"}, "SIGN_IN_MODE"},
		{"oidc without client", map[string]string{"OIDC_CLIENT_ID": ""}, "OIDC_CLIENT_ID is not set"},
		{"oidc without token url", map[string]string{"OIDC_TOKEN_URL": ""}, "OIDC_TOKEN_URL is not set"},
		{"plain http issuer", map[string]string{"OIDC_ISSUER": "http://issuer.example.com"}, "must use https"},
		{"loopback http issuer", map[string]string{"OIDC_ISSUER": "http://127.0.0.1:9000"}, ""},
		{"no portal url", map[string]string{"PORTAL_URL": ""}, "PORTAL_URL is not set"},
		{"bad lifetime", map[string]string{"MAX_LIFETIME_DAYS": "lots"}, "MAX_LIFETIME_DAYS"},
		{"bad limit", map[string]string{"ACTIVE_SECRET_LIMIT": "0"}, "ACTIVE_SECRET_LIMIT"},
		{"bad thresholds", map[string]string{"REMINDER_THRESHOLDS": "30,soon"}, "REMINDER_THRESHOLDS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := webui.Load(with(tc.env))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if cfg.MaxLifetimeDays != 90 {
					t.Errorf("MaxLifetimeDays = %d", cfg.MaxLifetimeDays)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one naming %q", err, tc.wantErr)
			}
		})
	}
}

// TestLoadDeploymentRules: config.json carries the active-secret limit and
// the reminder thresholds the functions are given, defaulting as they do.
func TestLoadDeploymentRules(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		limit      int
		thresholds []int
	}{
		{"defaults", nil, 3, []int{30, 14, 7, 3, 1, 0}},
		{"configured", map[string]string{"ACTIVE_SECRET_LIMIT": "5", "REMINDER_THRESHOLDS": "7, 60,2"}, 5, []int{60, 7, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"SIGN_IN_MODE": "local", "PORTAL_URL": "http://127.0.0.1:3000/"}
			for k, v := range tc.env {
				env[k] = v
			}
			cfg, err := webui.Load(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if cfg.ActiveSecretLimit != tc.limit || !slices.Equal(cfg.ReminderThresholds, tc.thresholds) {
				t.Fatalf("limit %d, thresholds %v; want %d, %v", cfg.ActiveSecretLimit, cfg.ReminderThresholds, tc.limit, tc.thresholds)
			}
			body := serve(t, newHandler(t, cfg), get("/config.json", nil)).Body
			var got struct {
				ActiveSecretLimit  int   `json:"activeSecretLimit"`
				ReminderThresholds []int `json:"reminderThresholds"`
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil || got.ActiveSecretLimit != tc.limit || !slices.Equal(got.ReminderThresholds, tc.thresholds) {
				t.Fatalf("config.json %s (%v)", body, err)
			}
		})
	}
}

// TestThresholdsAgreeWithTheSweep: the portal reads REMINDER_THRESHOLDS
// exactly as the sweep does, default included, so the page's colours and the
// emails agree.
func TestThresholdsAgreeWithTheSweep(t *testing.T) {
	if webui.DefaultThresholds != reminder.DefaultThresholds {
		t.Fatalf("default %q, the sweep's %q", webui.DefaultThresholds, reminder.DefaultThresholds)
	}
	for _, in := range []string{"30,14,7,3,1,0", " 7 ,30", "0", "3650", "3651", "-1", "7,7", "", ",", "1,,2", "x", "10, 5 ,1"} {
		got, gotErr := webui.ParseThresholds(in)
		want, wantErr := reminder.ParseThresholds(in)
		if (gotErr == nil) != (wantErr == nil) || !slices.Equal(got, want) {
			t.Errorf("%q: portal %v (%v), sweep %v (%v)", in, got, gotErr, want, wantErr)
		}
	}
}

// TestAssetsReferenceOnlyWhatExists follows every asset URL in the page and
// every module import, so a renamed file cannot ship a broken UI.
func TestAssetsReferenceOnlyWhatExists(t *testing.T) {
	h := newHandler(t, localConfig())
	index := serve(t, h, get("/", nil)).Body
	refs := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(index, -1)
	if len(refs) < 3 {
		t.Fatalf("index references %d assets", len(refs))
	}
	seen := map[string]bool{}
	queue := []string{}
	for _, r := range refs {
		queue = append(queue, r[1])
	}
	importRe := regexp.MustCompile(`(?m)^\s*(?:import|export)\b[^;]*?from\s+'(\./[^']+)'`)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		resp := serve(t, h, get(p, nil))
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", p, resp.StatusCode)
		}
		for _, m := range importRe.FindAllStringSubmatch(resp.Body, -1) {
			queue = append(queue, filepath.Join(filepath.Dir(p), m[1]))
		}
	}
	for _, name := range []string{"api.js", "auth.js", "dom.js", "views.js", "admin.js", "signin.js"} {
		if !seen["/assets/"+h.Version()+"/"+name] {
			t.Errorf("%s is never imported", name)
		}
	}
}

// TestAssetsAvoidUnsafeDOM keeps markup out of API data and inline code out
// of the page: the CSP would block the latter, Trusted Types the former.
func TestAssetsAvoidUnsafeDOM(t *testing.T) {
	entries, err := os.ReadDir("assets")
	if err != nil {
		t.Fatal(err)
	}
	banned := []*regexp.Regexp{
		regexp.MustCompile(`\.innerHTML\s*=|\.outerHTML\s*=|insertAdjacentHTML|document\.write`),
		regexp.MustCompile(`\beval\(|new Function\(`),
		regexp.MustCompile(`setAttribute\(\s*'style'|\.style\.cssText`),
		regexp.MustCompile(`(?i)\son[a-z]+="`),
		regexp.MustCompile(`(?i)<script>|\sstyle="|<style`),
	}
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join("assets", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, re := range banned {
			if loc := re.FindIndex(raw); loc != nil {
				t.Errorf("%s: %q", e.Name(), raw[loc[0]:loc[1]])
			}
		}
	}
}

// TestSampleEvents runs events/portal*.json through the Lambda handler, as
// the runtime would deliver them.
func TestSampleEvents(t *testing.T) {
	h := newHandler(t, oidcConfig())
	tests := []struct {
		file   string
		status int
		want   string
	}{
		{"portal.json", 200, "<!doctype html>"},
		{"portal.config.json", 200, `"clientId":"5abc"`},
		{"portal.openapi.json", 200, `"openapi": "3.1.0"`},
		{"portal.asset.json", 200, "import"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("..", "..", "events", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			// The sample's asset version is a placeholder for the real one.
			raw = []byte(strings.ReplaceAll(string(raw), "0000000000000000", h.Version()))
			out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), raw)
			if err != nil {
				t.Fatal(err)
			}
			if err := apispec.CheckInvoke(raw, out); err != nil {
				t.Fatal(err)
			}
			var resp httpapi.Response
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || !strings.Contains(resp.Body, tc.want) {
				t.Fatalf("status %d, body %.80q", resp.StatusCode, resp.Body)
			}
			assertSecurityHeaders(t, resp)
		})
	}
}

// FuzzHandle: whatever the path, the handler answers with the security
// headers, and serves a body only for the page, its config and its assets.
func FuzzHandle(f *testing.F) {
	for _, seed := range []string{"/", "/config.json", "/assets/x/app.js", "/assets/../../etc/passwd", "//", "/assets/", "/index.html", "/assets/%2e%2e/webui.go"} {
		f.Add(seed)
	}
	h, err := webui.New(localConfig())
	if err != nil {
		f.Fatal(err)
	}
	known := map[string]bool{"/": true, "/index.html": true, "/config.json": true}
	isPage := func(p string) bool {
		id, ok := strings.CutPrefix(p, "/applications/")
		return ok && id != "" && !strings.ContainsAny(id, "/\\")
	}
	for _, name := range []string{"app.js", "api.js", "auth.js", "dom.js", "views.js", "admin.js", "signin.js", "app.css", "icon.svg"} {
		known["/assets/"+h.Version()+"/"+name] = true
	}
	f.Fuzz(func(t *testing.T, path string) {
		resp, err := h.Handle(context.Background(), get(path, nil))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Headers["Content-Security-Policy"] == "" || resp.Headers["X-Content-Type-Options"] != "nosniff" {
			t.Fatalf("%q: security headers missing", path)
		}
		switch resp.StatusCode {
		case 200:
			if !known[path] && !isPage(path) {
				t.Fatalf("%q served", path)
			}
		case 404:
			if known[path] || isPage(path) {
				t.Fatalf("%q not served", path)
			}
		default:
			t.Fatalf("%q: status %d", path, resp.StatusCode)
		}
	})
}

func TestGzip(t *testing.T) {
	h := newHandler(t, localConfig())
	plain := serve(t, h, get("/assets/"+h.Version()+"/views.js", nil))
	tests := []struct {
		name   string
		accept string
		gzip   bool
	}{
		{"browser", "gzip, deflate, br, zstd", true},
		{"gzip only", "gzip", true},
		{"refused", "gzip;q=0, br", false},
		{"none", "", false},
		{"identity", "identity", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := serve(t, h, get("/assets/"+h.Version()+"/views.js", map[string]string{"accept-encoding": tc.accept}))
			if resp.Headers["Vary"] != "Accept-Encoding" {
				t.Errorf("Vary = %q", resp.Headers["Vary"])
			}
			if !tc.gzip {
				if resp.IsBase64Encoded || resp.Headers["Content-Encoding"] != "" || resp.Body != plain.Body {
					t.Fatal("compressed without being asked to")
				}
				return
			}
			if !resp.IsBase64Encoded || resp.Headers["Content-Encoding"] != "gzip" || resp.Headers["ETag"] == plain.Headers["ETag"] {
				t.Fatalf("not gzipped: headers %v", resp.Headers)
			}
			raw, err := base64.StdEncoding.DecodeString(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != plain.Body {
				t.Fatal("gzipped body differs")
			}
			if len(raw) >= len(plain.Body)/2 {
				t.Errorf("gzip gives %d bytes of %d", len(raw), len(plain.Body))
			}
			again := serve(t, h, get("/assets/"+h.Version()+"/views.js", map[string]string{"accept-encoding": tc.accept, "if-none-match": resp.Headers["ETag"]}))
			if again.StatusCode != http.StatusNotModified {
				t.Errorf("revalidation of the gzipped form: %d", again.StatusCode)
			}
		})
	}
}

// TestOpenAPIDocument: GET /openapi.json serves docs/openapi.json as it is in
// the repository, revalidated by ETag like the page.
func TestOpenAPIDocument(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("..", "..", "docs", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, oidcConfig())
	resp := serve(t, h, get("/openapi.json", nil))
	if resp.StatusCode != 200 || resp.Body != string(want) || resp.Headers["Cache-Control"] != "no-cache" || resp.Headers["ETag"] == "" {
		t.Fatalf("status %d, headers %v, %d bytes of %d", resp.StatusCode, resp.Headers, len(resp.Body), len(want))
	}
	if again := serve(t, h, get("/openapi.json", map[string]string{"if-none-match": resp.Headers["ETag"]})); again.StatusCode != 304 {
		t.Fatalf("revalidation: status %d", again.StatusCode)
	}
}
