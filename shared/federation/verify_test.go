package federation

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"credportal/infra/oidcissuer"
)

// clock is a settable now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testIssuer serves an oidcissuer.Issuer on 127.0.0.1 and counts the
// requests for its discovery document and key set.
type testIssuer struct {
	*oidcissuer.Issuer
	srv                  *httptest.Server
	discoveries, keySets atomic.Int32
}

func newTestIssuer(t *testing.T, c *clock) *testIssuer {
	t.Helper()
	ti := &testIssuer{}
	ti.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			ti.discoveries.Add(1)
		case "/jwks":
			ti.keySets.Add(1)
		}
		ti.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(ti.srv.Close)
	iss, err := oidcissuer.New(ti.srv.URL, c.now)
	if err != nil {
		t.Fatal(err)
	}
	ti.Issuer = iss
	return ti
}

// trustedLoopback trusts the given loopback issuers.
func trustedLoopback(t *testing.T, issuers ...string) Trusted {
	t.Helper()
	tr, err := ParseTrusted(DefaultTrustedIssuers)
	if err != nil {
		t.Fatal(err)
	}
	for _, iss := range issuers {
		if tr, err = tr.WithLoopback(iss); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

// newTestVerifier verifies with a short fetch timeout, so a test of a slow
// issuer ends quickly.
func newTestVerifier(tr Trusted, c *clock) *Verifier {
	v := NewVerifier(tr, NewHTTPClient(), c.now)
	v.keys.timeout = 500 * time.Millisecond
	return v
}

// signed has the issuer sign claims of the test's choosing.
func signed(t *testing.T, ti *testIssuer, claims jwt.Claims) string {
	t.Helper()
	tok, err := ti.SignClaims(claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func sign(t *testing.T, key *ecdsa.PrivateKey, kid string, claims jwt.Claims) string {
	t.Helper()
	tok, err := oidcissuer.Sign(key, kid, claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestVerify(t *testing.T) {
	c := &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	good := newTestIssuer(t, c)
	other := newTestIssuer(t, c) // trusted, but no credential names it
	untrusted := newTestIssuer(t, c)
	v := newTestVerifier(trustedLoopback(t, good.URL(), other.URL()), c)
	creds := []Credential{
		{ID: "fc1", Issuer: good.URL(), Subject: "repo:acme/app:ref:refs/heads/main", Audience: "https://portal.example"},
		{ID: "fc2", Issuer: good.URL(), Subject: "repo:acme/app:environment:prod", Audience: "api://custom"},
	}
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := c.now()
	claims := func(edit func(*jwt.Claims)) jwt.Claims {
		cl := jwt.Claims{
			Issuer: good.URL(), Subject: "repo:acme/app:ref:refs/heads/main", Audience: jwt.Audience{"https://portal.example"},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(5 * time.Minute)),
		}
		if edit != nil {
			edit(&cl)
		}
		return cl
	}
	mustToken := func(tok string, err error) string {
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	hs256, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hsToken := mustToken(jwt.Signed(hs256).Claims(claims(nil)).Serialize())
	noneToken := base64url(`{"alg":"none"}`) + "." + base64url(mustJSON(t, claims(nil))) + "."

	tests := []struct {
		name   string
		token  string
		wantID string
		want   error
	}{
		{"the issuer's token for the first credential", mustToken(good.Token("repo:acme/app:ref:refs/heads/main", "https://portal.example")), "fc1", nil},
		{"a custom audience", mustToken(good.Token("repo:acme/app:environment:prod", "api://custom")), "fc2", nil},
		{"several audiences, one of them right", signed(t, good, claims(func(c *jwt.Claims) { c.Audience = jwt.Audience{"x", "https://portal.example"} })), "fc1", nil},
		{"untrusted issuer", mustToken(untrusted.Token("repo:acme/app:ref:refs/heads/main", "https://portal.example")), "", ErrUntrustedIssuer},
		{"trusted issuer no credential names", mustToken(other.Token("repo:acme/app:ref:refs/heads/main", "https://portal.example")), "", ErrNoCredential},
		{"wrong subject", mustToken(good.Token("repo:acme/app:ref:refs/heads/dev", "https://portal.example")), "", ErrNoCredential},
		{"subject differing in case", mustToken(good.Token("repo:ACME/app:ref:refs/heads/main", "https://portal.example")), "", ErrNoCredential},
		{"wrong audience", mustToken(good.Token("repo:acme/app:ref:refs/heads/main", "https://other.example")), "", ErrNoCredential},
		{"another credential's audience", mustToken(good.Token("repo:acme/app:ref:refs/heads/main", "api://custom")), "", ErrNoCredential},
		{"signed by an unknown key", sign(t, stranger, "unknown-kid", claims(nil)), "", ErrUnknownKey},
		{"signed by another key under the issuer's kid", sign(t, stranger, good.KeyID(), claims(nil)), "", ErrBadSignature},
		{"expired", signed(t, good, claims(func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(-61 * time.Second)) })), "", ErrExpired},
		{"expired within the skew", signed(t, good, claims(func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(-30 * time.Second)) })), "fc1", nil},
		{"no exp", signed(t, good, claims(func(c *jwt.Claims) { c.Expiry = nil })), "", ErrExpired},
		{"not yet valid", signed(t, good, claims(func(c *jwt.Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(2 * time.Minute)) })), "", ErrExpired},
		{"issued in the future", signed(t, good, claims(func(c *jwt.Claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(2 * time.Minute)) })), "", ErrExpired},
		{"HS256", hsToken, "", ErrMalformed},
		{"alg none", noneToken, "", ErrMalformed},
		{"not a JWT", "not-a-jwt", "", ErrMalformed},
		{"oversized", strings.Repeat("a", maxTokenBytes+1), "", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(context.Background(), tt.token, creds)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if got.ID != tt.wantID {
				t.Errorf("credential %q, want %q", got.ID, tt.wantID)
			}
		})
	}
	if n := untrusted.discoveries.Load(); n != 0 {
		t.Errorf("the untrusted issuer was asked for discovery %d times", n)
	}
	if n := other.discoveries.Load(); n != 0 {
		t.Errorf("an issuer no credential names was asked for discovery %d times", n)
	}
	if d, k := good.discoveries.Load(), good.keySets.Load(); d != 1 || k != 1 {
		t.Errorf("the issuer was asked %d times for discovery and %d for keys, want once each (cached)", d, k)
	}
}

// TestUnknownKeyRefetch: a kid the cached set lacks prompts one refetch, then
// none until RefetchInterval has passed; a rotated key verifies after it.
func TestUnknownKeyRefetch(t *testing.T) {
	c := &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	iss := newTestIssuer(t, c)
	v := newTestVerifier(trustedLoopback(t, iss.URL()), c)
	creds := []Credential{{ID: "fc", Issuer: iss.URL(), Subject: "s", Audience: "a"}}
	tok, _ := iss.Token("s", "a")
	if _, err := v.Verify(context.Background(), tok, creds); err != nil {
		t.Fatal(err)
	}
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forged := func() string {
		now := c.now()
		return sign(t, stranger, "rotated", jwt.Claims{Issuer: iss.URL(), Subject: "s", Audience: jwt.Audience{"a"},
			IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute))})
	}
	steps := []struct {
		name      string
		advance   time.Duration
		wantKeys  int32
		wantError error
	}{
		{"within the interval of the first fetch: no refetch", time.Second, 1, ErrUnknownKey},
		{"after the interval: one refetch", RefetchInterval, 2, ErrUnknownKey},
		{"again at once: rate-limited", time.Second, 2, ErrUnknownKey},
		{"again and again: still rate-limited", 10 * time.Second, 2, ErrUnknownKey},
		{"after the interval again: one more", RefetchInterval, 3, ErrUnknownKey},
	}
	for _, st := range steps {
		c.add(st.advance)
		_, err := v.Verify(context.Background(), forged(), creds)
		if !errors.Is(err, st.wantError) {
			t.Fatalf("%s: error %v, want %v", st.name, err, st.wantError)
		}
		if n := iss.keySets.Load(); n != st.wantKeys {
			t.Fatalf("%s: key set fetched %d times, want %d", st.name, n, st.wantKeys)
		}
	}
}

// TestConcurrentFetch: requests arriving together with a cold cache share one
// fetch.
func TestConcurrentFetch(t *testing.T) {
	c := &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	iss := newTestIssuer(t, c)
	v := newTestVerifier(trustedLoopback(t, iss.URL()), c)
	creds := []Credential{{ID: "fc", Issuer: iss.URL(), Subject: "s", Audience: "a"}}
	tok, _ := iss.Token("s", "a")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			_, err := v.Verify(context.Background(), tok, creds)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if d, k := iss.discoveries.Load(), iss.keySets.Load(); d != 1 || k != 1 {
		t.Errorf("discovery fetched %d times, key set %d, want once each", d, k)
	}
}

func base64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
