package oauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"credportal/infra/apispec"
	"credportal/infra/emulator/emulatortest"
	"credportal/infra/storetest"
	"credportal/shared/audit"
	"credportal/shared/ids"
	"credportal/shared/keys"
	"credportal/shared/oauth"
	"credportal/shared/portal"
	"credportal/shared/store"
)

func TestMain(m *testing.M) { os.Exit(emulatortest.RunTests(m)) }

const issuer = "https://portal.example.test"

var t0 = time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)

// clock is the injected time of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func total(n map[string]int) int {
	sum := 0
	for _, v := range n {
		sum += v
	}
	return sum
}

// fixture is a token endpoint and discovery over the emulator, with its own
// table, pepper and signing secret.
type fixture struct {
	t         testing.TB
	emuConfig aws.Config // the emulator's, uncounted
	clock     *clock
	calls     *emulatortest.Calls
	st        *store.Store
	db        *dynamodb.Client // the store's client, counted
	table     string
	sm        *secretsmanager.Client
	peppers   *keys.Peppers
	signing   *keys.SigningKeys
	signingID string
	service   *portal.Service
	server    *oauth.Server
	discovery oauth.Discovery
	token     oauth.Handler
	jwks      oauth.Handler
}

func newFixture(t *testing.T, throttle oauth.ThrottlePolicy) *fixture {
	t.Helper()
	return newFixtureWith(t, func(c *oauth.Config) { c.Throttle = throttle })
}

// newFixtureWith is a fixture whose token endpoint has the default
// configuration as configure changes it.
func newFixtureWith(t testing.TB, configure func(*oauth.Config)) *fixture {
	t.Helper()
	emu := emulatortest.ForTest(t)
	f := &fixture{t: t, emuConfig: emu.Config(), clock: &clock{t: t0}, calls: emulatortest.NewCalls()}
	f.db, f.table = dynamodb.NewFromConfig(emu.Config(), f.calls.Option), emulatortest.NewTable(t, emu)
	f.st = store.New(f.db, f.table)
	f.sm = secretsmanager.NewFromConfig(emu.Config())
	peppers := keys.NewPeppers(f.sm, emulatortest.NewSecret(t, emu), f.clock.Now)
	f.peppers = peppers
	f.signingID = emulatortest.NewSecret(t, emu) // random text: the token endpoint generates the key
	f.service = portal.NewService(f.st, peppers, portal.DefaultConfig(), f.clock.Now, rand.Reader)
	cfg := oauth.DefaultConfig(issuer + "/")
	configure(&cfg)
	f.signing = keys.NewSigningKeys(f.sm, f.signingID, f.clock.Now, rand.Reader).GenerateWith(f.sm)
	f.server = oauth.NewServer(f.st, peppers, f.signing, cfg, f.clock.Now, rand.Reader)
	f.token = f.server.TokenHandler()
	// The discovery function reads the keys on its own, as its own function.
	f.discovery = oauth.Discovery{Keys: keys.NewSigningKeys(f.sm, f.signingID, f.clock.Now, rand.Reader), Issuer: issuer, Catalogue: portal.DefaultCatalogue()}
	f.jwks = f.discovery.Handler()
	return f
}

// newBenchFixture is a fixture with the default configuration, for a
// benchmark.
func newBenchFixture(b *testing.B) *fixture {
	b.Helper()
	return newFixtureWith(b, func(*oauth.Config) {})
}

// lenient is a throttle that tests of other behaviour never reach.
func lenient() oauth.ThrottlePolicy {
	return oauth.ThrottlePolicy{Failures: 1000, Window: 5 * time.Minute, Lockout: 15 * time.Minute}
}

var clientIDs = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func newClientID(t testing.TB) string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	id := clientIDs.EncodeToString(b[:])
	if !portal.ValidClientID(id) {
		t.Fatalf("generated client id %q is not valid", id)
	}
	return id
}

func newID(t testing.TB, kind string) string {
	id, err := ids.New(kind, time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// app creates an application granted apis.
func (f *fixture) app(name string, apis ...string) portal.Application {
	f.t.Helper()
	if apis == nil {
		apis = []string{}
	}
	return storetest.CreateApp(f.t, f.st, storetest.App{Application: portal.Application{Name: name, ClientID: newClientID(f.t), APIs: apis, CreatedAt: t0}})
}

var admin = portal.Caller{Email: "admin@operator.test", Admin: true}

// secret creates a secret on app through the portal service, now, living
// days days; it returns the value and the secret's id.
func (f *fixture) secret(app portal.Application, days int) (string, string) {
	f.t.Helper()
	created, err := f.service.CreateSecret(context.Background(), admin, app.ID, portal.CreateSecretInput{Name: "Test", LifetimeDays: &days}, portal.Request{})
	if err != nil {
		f.t.Fatal(err)
	}
	return created.Value, created.ID
}

// tokenRequest is a token request event.
type tokenRequest struct {
	authorization string
	contentType   string
	body          string
	base64        bool
}

func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

func basicRequest(id, secret, extra string) tokenRequest {
	body := "grant_type=client_credentials"
	if extra != "" {
		body += "&" + extra
	}
	return tokenRequest{authorization: basicAuth(id, secret), contentType: "application/x-www-form-urlencoded", body: body, base64: true}
}

func postRequest(id, secret, extra string) tokenRequest {
	body := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}.Encode()
	if extra != "" {
		body += "&" + extra
	}
	return tokenRequest{contentType: "application/x-www-form-urlencoded", body: body}
}

// sourceIP is where the fixture's requests come from unless a test says.
const sourceIP = "198.51.100.7"

func (f *fixture) call(r tokenRequest) oauth.Response {
	f.t.Helper()
	return f.callFrom(sourceIP, nil, r)
}

// callFrom sends r as API Gateway would from the address ip, with extra
// headers.
func (f *fixture) callFrom(ip string, headers map[string]string, r tokenRequest) oauth.Response {
	f.t.Helper()
	req := f.eventFrom(ip, headers, r)
	resp, err := f.token(context.Background(), req)
	if err != nil {
		f.t.Fatalf("handler error: %v", err)
	}
	if err := apispec.CheckLambda(req, resp); err != nil {
		f.t.Fatal(err)
	}
	return resp
}

// event is r as the HTTP API delivers it from the fixture's address.
func (f *fixture) event(r tokenRequest) oauth.Request { return f.eventFrom(sourceIP, nil, r) }

func (f *fixture) eventFrom(ip string, headers map[string]string, r tokenRequest) oauth.Request {
	req := oauth.Request{
		Version: "2.0", RouteKey: "POST " + oauth.TokenPath, RawPath: oauth.TokenPath,
		Headers: map[string]string{"user-agent": "fixture/1"}, Body: r.body, IsBase64Encoded: r.base64,
	}
	for k, v := range headers {
		req.Headers[k] = v
	}
	req.RequestContext.HTTP.Method = http.MethodPost
	req.RequestContext.HTTP.SourceIP = ip
	req.RequestContext.HTTP.UserAgent = req.Headers["user-agent"] // as API Gateway copies it
	req.RequestContext.RequestID = "req-" + newID(f.t, ids.Event)
	if r.base64 {
		req.Body = base64.StdEncoding.EncodeToString([]byte(r.body))
	}
	if r.authorization != "" {
		req.Headers["authorization"] = r.authorization
	}
	if r.contentType != "" {
		req.Headers["content-type"] = r.contentType
	}
	return req
}

// errorOf reads an RFC 6749 §5.2 error body, failing on any other shape.
func errorOf(t *testing.T, resp oauth.Response) string {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	code, _ := body["error"].(string)
	desc, _ := body["error_description"].(string)
	if code == "" || desc == "" || len(body) != 2 {
		t.Fatalf("not an RFC 6749 error body: %s", resp.Body)
	}
	return code
}

func tokenOf(t testing.TB, resp oauth.Response) oauth.Token {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	var tok oauth.Token
	if err := json.Unmarshal([]byte(resp.Body), &tok); err != nil {
		t.Fatal(err)
	}
	return tok
}

// routes serves Lambda handlers over HTTP the way the HTTP API does: payload
// format 2.0, headers lower-cased, the body base64-encoded. Every answer must
// be one docs/openapi.json describes.
func routes(t testing.TB, handlers map[string]oauth.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Method + " " + r.URL.Path
		h, ok := handlers[key]
		if !ok {
			http.NotFound(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		headers := map[string]string{}
		for k, vs := range r.Header {
			headers[strings.ToLower(k)] = strings.Join(vs, ",")
		}
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		req := events.APIGatewayV2HTTPRequest{
			Version: "2.0", RouteKey: key, RawPath: r.URL.Path, RawQueryString: r.URL.RawQuery, Headers: headers,
			Body: base64.StdEncoding.EncodeToString(body), IsBase64Encoded: true,
		}
		req.RequestContext.HTTP = events.APIGatewayV2HTTPRequestContextHTTPDescription{
			Method: r.Method, Path: r.URL.Path, SourceIP: host, UserAgent: r.UserAgent(), Protocol: r.Proto,
		}
		req.RequestContext.RouteKey = key
		reqID, _ := ids.New(ids.Event, time.Now(), rand.Reader)
		req.RequestContext.RequestID = "http-" + reqID
		resp, err := h(r.Context(), req)
		if err != nil {
			http.Error(w, "handler error", http.StatusBadGateway)
			return
		}
		if err := apispec.CheckLambda(req, resp); err != nil {
			t.Error(err)
		}
		for k, v := range resp.Headers {
			w.Header().Set(k, v)
		}
		out := []byte(resp.Body)
		if resp.IsBase64Encoded {
			out, _ = base64.StdEncoding.DecodeString(resp.Body)
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(out)
	})
}

// httpServer serves the token endpoint and the discovery documents.
func (f *fixture) httpServer() *httptest.Server {
	srv := httptest.NewServer(routes(f.t, map[string]oauth.Handler{
		"POST " + oauth.TokenPath:   f.token,
		"GET " + oauth.JWKSPath:     f.jwks,
		"GET " + oauth.MetadataPath: f.jwks,
	}))
	f.t.Cleanup(srv.Close)
	return srv
}

// publishedKeys fetches a JWKS and reads its EC keys without the JOSE library
// that signed them: the coordinates are decoded here.
func publishedKeys(t *testing.T, jwksURL string) map[string]*ecdsa.PublicKey {
	t.Helper()
	resp, err := http.Get(jwksURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct {
			Kty, Crv, X, Y, Kid, Alg, Use, D string
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	// A key set may be cached; an empty one, before the first key, not.
	cache := "public, max-age=300"
	if len(set.Keys) == 0 {
		cache = "no-store"
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != cache {
		t.Fatalf("JWKS of %d keys: %d, Cache-Control %q", len(set.Keys), resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	out := map[string]*ecdsa.PublicKey{}
	for _, k := range set.Keys {
		if k.Kty != "EC" || k.Crv != "P-256" || k.Alg != "ES256" || k.Use != "sig" || k.Kid == "" || k.D != "" {
			t.Fatalf("published key %+v", k)
		}
		x, err1 := base64.RawURLEncoding.DecodeString(k.X)
		y, err2 := base64.RawURLEncoding.DecodeString(k.Y)
		if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
			t.Fatalf("coordinates of %s", k.Kid)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			t.Fatalf("key %s: %v", k.Kid, err)
		}
		out[k.Kid] = pub
	}
	return out
}

// claimSet is a verified token's claims.
type claimSet map[string]any

// audience reads aud, a string or a list of them.
func (c claimSet) audience() []string {
	switch a := c["aud"].(type) {
	case string:
		return []string{a}
	case []any:
		out := make([]string, 0, len(a))
		for _, v := range a {
			s, _ := v.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

// time reads a NumericDate claim.
func (c claimSet) time(name string) time.Time {
	n, _ := c[name].(float64)
	return time.Unix(int64(n), 0).UTC()
}

// verify checks an access token with go-jose against published keys, at
// now, and returns its claims and kid.
func verify(t *testing.T, token string, keys map[string]*ecdsa.PublicKey, now time.Time) (claimSet, string, error) {
	t.Helper()
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return nil, "", err
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "at+jwt" {
		return nil, h.KeyID, fmt.Errorf("typ %q", typ)
	}
	k, ok := keys[h.KeyID]
	if !ok {
		return nil, h.KeyID, fmt.Errorf("kid %q is not published", h.KeyID)
	}
	var std jwt.Claims
	claims := claimSet{}
	if err := tok.Claims(k, &std, &claims); err != nil {
		return nil, h.KeyID, err
	}
	if std.Expiry == nil || std.IssuedAt == nil {
		return nil, h.KeyID, errors.New("exp or iat missing")
	}
	if !now.Before(std.Expiry.Time()) {
		return nil, h.KeyID, errors.New("expired")
	}
	return claims, h.KeyID, std.ValidateWithLeeway(jwt.Expected{Issuer: issuer, Time: now}, 0)
}

// events of an application with the given action.
func (f *fixture) events(appID, action string) []audit.Event {
	f.t.Helper()
	page, err := f.st.ListEvents(context.Background(), appID, "", 50)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []audit.Event
	for _, e := range page.Items {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

// errInjected is the failure a test makes DynamoDB answer with.
var errInjected = errors.New("injected failure")

func portalRequest() portal.Request {
	return portal.Request{SourceIP: "198.51.100.9", UserAgent: "portal-test", RequestID: "req-portal"}
}
