package oauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"credportal/infra/oidcissuer"
	"credportal/infra/testlog"
	"credportal/shared/federation"
	"credportal/shared/oauth"
	"credportal/shared/portal"
)

// TestFederatedCredentials: a token of a trusted issuer for a credential's
// subject and audience gets the application an access token, with client_id
// given; everything else is invalid_client, counted by the throttling rule.
func TestFederatedCredentials(t *testing.T) {
	f := newFixture(t, oauth.ThrottlePolicy{Failures: 20, Window: 5 * time.Minute, Lockout: 15 * time.Minute})
	f.clock.Set(time.Now().UTC().Truncate(time.Second))
	serve := func() (*oidcissuer.Issuer, *httptest.Server) {
		var iss *oidcissuer.Issuer
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { iss.Handler().ServeHTTP(w, r) }))
		t.Cleanup(srv.Close)
		var err error
		if iss, err = oidcissuer.New(srv.URL, f.clock.Now); err != nil {
			t.Fatal(err)
		}
		return iss, srv
	}
	trustedIss, _ := serve()
	untrustedIss, _ := serve()
	trusted, err := federation.Trusted{}.WithLoopback(trustedIss.URL())
	if err != nil {
		t.Fatal(err)
	}
	auth := federation.NewAuthenticator(federation.NewVerifier(trusted, federation.NewHTTPClient(), f.clock.Now), f.st)
	cfg := oauth.DefaultConfig(issuer + "/")
	cfg.Throttle = oauth.ThrottlePolicy{Failures: 20, Window: 5 * time.Minute, Lockout: 15 * time.Minute}
	f.token = oauth.NewServer(f.st, f.peppers, f.signing, cfg, f.clock.Now, rand.Reader, oauth.WithFederation(auth)).TokenHandler()

	fed := portal.NewFederatedService(f.service, f.st, portal.Federation{
		TrustedIssuers: []string{trustedIss.URL(), untrustedIss.URL()}, DefaultAudience: issuer, Limit: 20,
	})
	app := f.app("Deploy", "search-match")
	other := f.app("Other", "search-match")
	const subject = "repo:acme/deploy:ref:refs/heads/main"
	for _, a := range []portal.Application{app, other} {
		sub := subject
		if a.ID == other.ID {
			sub = "repo:acme/other:ref:refs/heads/main"
		}
		if _, err := fed.CreateFederatedCredential(context.Background(), admin, a.ID, portal.CreateFederatedInput{Name: "CI", Issuer: trustedIss.URL(), Subject: sub}, portal.Request{}); err != nil {
			t.Fatal(err)
		}
	}
	// Audiences that are another service's are refused, with that service
	// named; one of the operator's own is taken.
	for aud, want := range map[string]error{
		"sts.amazonaws.com": portal.ErrForeignAudience, "sts.eu-west-1.amazonaws.com": portal.ErrForeignAudience,
		"api://AzureADTokenExchange": portal.ErrForeignAudience,
		"//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x":       portal.ErrForeignAudience,
		"https://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x": portal.ErrForeignAudience,
		"https://portal.registry.eu/partners":                                                        nil,
	} {
		a := aud
		_, err := fed.CreateFederatedCredential(context.Background(), admin, other.ID, portal.CreateFederatedInput{Name: "Aud", Issuer: trustedIss.URL(), Subject: "repo:acme/aud:ref:refs/heads/main", Audience: &a}, portal.Request{})
		var pe *portal.Error
		switch {
		case want == nil && err != nil, want != nil && !errors.Is(err, want):
			t.Fatalf("audience %s: %v, want %v", aud, err, want)
		case want != nil && (!errors.As(err, &pe) || pe.Value == ""):
			t.Fatalf("audience %s: the service is not named: %v", aud, err)
		}
	}
	// A credential naming an issuer the token function does not trust.
	if _, err := fed.CreateFederatedCredential(context.Background(), admin, app.ID, portal.CreateFederatedInput{Name: "Stray", Issuer: untrustedIss.URL(), Subject: subject}, portal.Request{}); err != nil {
		t.Fatal(err)
	}
	tok := func(iss *oidcissuer.Issuer, sub, aud string) string {
		s, err := iss.Token(sub, aud)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := f.clock.Now()
	unknownKey, err := oidcissuer.Sign(stranger, "unknown", jwt.Claims{Issuer: trustedIss.URL(), Subject: subject, Audience: jwt.Audience{issuer},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	expired, err := trustedIss.SignClaims(jwt.Claims{Issuer: trustedIss.URL(), Subject: subject, Audience: jwt.Audience{issuer},
		IssuedAt: jwt.NewNumericDate(now.Add(-time.Hour)), Expiry: jwt.NewNumericDate(now.Add(-2 * time.Minute))})
	if err != nil {
		t.Fatal(err)
	}

	// A token with a jti (GitHub Actions' have one) authenticates once.
	withJTI, err := trustedIss.SignClaims(jwt.Claims{Issuer: trustedIss.URL(), Subject: subject, Audience: jwt.Audience{issuer}, ID: "run-42-attempt-1",
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(5 * time.Minute))})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		clientID string
		token    string
		status   int
	}{
		{"the credential's token", app.ClientID, tok(trustedIss, subject, issuer), http.StatusOK},
		{"a token with a jti", app.ClientID, withJTI, http.StatusOK},
		{"the same token again", app.ClientID, withJTI, http.StatusUnauthorized},
		{"untrusted issuer", app.ClientID, tok(untrustedIss, subject, issuer), http.StatusUnauthorized},
		{"wrong subject", app.ClientID, tok(trustedIss, "repo:acme/deploy:ref:refs/heads/dev", issuer), http.StatusUnauthorized},
		{"wrong audience", app.ClientID, tok(trustedIss, subject, "https://elsewhere.example"), http.StatusUnauthorized},
		{"signed by an unknown key", app.ClientID, unknownKey, http.StatusUnauthorized},
		{"expired", app.ClientID, expired, http.StatusUnauthorized},
		{"another application's credential", other.ClientID, tok(trustedIss, subject, issuer), http.StatusUnauthorized},
		{"no client_id", "", tok(trustedIss, subject, issuer), http.StatusUnauthorized},
		{"unknown client_id", newClientID(t), tok(trustedIss, subject, issuer), http.StatusUnauthorized},
	}
	failures := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := f.call(assertionRequest(tt.clientID, tt.token, ""))
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, resp.Body)
			}
			if tt.status == http.StatusUnauthorized {
				if tt.clientID == app.ClientID {
					failures++ // counted for (source address, app's client id)
				}
				if !strings.Contains(resp.Body, `"error":"invalid_client"`) {
					t.Errorf("body %s", resp.Body)
				}
			}
		})
	}
	list, err := f.st.ListFederatedCredentials(context.Background(), app.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, fc := range list {
		if fc.Issuer == trustedIss.URL() && (fc.LastUsedAt == nil || !fc.LastUsedAt.Equal(now)) {
			t.Errorf("lastUsedAt %v, want %v", fc.LastUsedAt, now)
		}
	}
	// The failures were counted: the pair is locked out at the limit.
	for range cfg.Throttle.Failures - failures {
		f.call(assertionRequest(app.ClientID, tok(trustedIss, "nope", issuer), ""))
	}
	if resp := f.call(assertionRequest(app.ClientID, tok(trustedIss, "nope", issuer), "")); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("after %d failures: status %d, want 429", cfg.Throttle.Failures, resp.StatusCode)
	}
}

// TestFederatedIssuerUnavailable: when the trusted issuer of a federated
// credential cannot be read — it answers an error, or too slowly — the token
// request gets 503 temporarily_unavailable with Retry-After (the slow one
// once the fetch times out), logged at error level with the issuer, and not counted
// by the throttling rule; once the issuer answers again (after the refetch
// interval), the same request gets its token.
func TestFederatedIssuerUnavailable(t *testing.T) {
	cases := []struct {
		name string
		down http.HandlerFunc
	}{
		{"an error status", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusInternalServerError) }},
		{"answers slowly", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			throttle := oauth.ThrottlePolicy{Failures: 3, Window: 5 * time.Minute, Lockout: 15 * time.Minute}
			f := newFixture(t, throttle)
			f.clock.Set(time.Now().UTC().Truncate(time.Second))
			var (
				iss  *oidcissuer.Issuer
				down atomic.Bool
			)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if down.Load() {
					c.down(w, r)
					return
				}
				iss.Handler().ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			var err error
			if iss, err = oidcissuer.New(srv.URL, f.clock.Now); err != nil {
				t.Fatal(err)
			}
			trusted, err := federation.Trusted{}.WithLoopback(iss.URL())
			if err != nil {
				t.Fatal(err)
			}
			auth := federation.NewAuthenticator(federation.NewVerifier(trusted, federation.NewHTTPClient(), f.clock.Now), f.st)
			cfg := oauth.DefaultConfig(issuer + "/")
			cfg.Throttle = throttle
			f.token = oauth.NewServer(f.st, f.peppers, f.signing, cfg, f.clock.Now, rand.Reader, oauth.WithFederation(auth)).TokenHandler()
			fed := portal.NewFederatedService(f.service, f.st, portal.Federation{TrustedIssuers: []string{iss.URL()}, DefaultAudience: issuer, Limit: 20})
			app := f.app("Deploy", "search-match")
			const subject = "repo:acme/deploy:ref:refs/heads/main"
			if _, err := fed.CreateFederatedCredential(context.Background(), admin, app.ID, portal.CreateFederatedInput{Name: "CI", Issuer: iss.URL(), Subject: subject}, portal.Request{}); err != nil {
				t.Fatal(err)
			}
			tok := func(sub string) string {
				s, err := iss.Token(sub, issuer)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}

			down.Store(true)
			logs := testlog.Capture(t)
			for i := range 2 * throttle.Failures {
				resp := f.call(assertionRequest(app.ClientID, tok(subject), ""))
				if resp.StatusCode != http.StatusServiceUnavailable || errorOf(t, resp) != "temporarily_unavailable" {
					t.Fatalf("request %d: status %d, want 503 temporarily_unavailable: %s", i, resp.StatusCode, resp.Body)
				}
				if resp.Headers["Retry-After"] != "60" || resp.Headers["Cache-Control"] != "no-store" || resp.Headers["WWW-Authenticate"] != "" {
					t.Fatalf("request %d: headers %v", i, resp.Headers)
				}
			}
			var logged bool
			for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				var entry map[string]any
				if err := json.Unmarshal([]byte(line), &entry); err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				if entry["level"] == "ERROR" && entry["issuer"] == iss.URL() && entry["clientId"] == app.ClientID {
					logged = true
				}
			}
			if !logged {
				t.Errorf("no error-level log line naming the issuer:\n%s", logs.String())
			}
			// None of them was counted: failed authentications up to the limit
			// are still 401, the one after them 429.
			for i := range throttle.Failures {
				if resp := f.call(assertionRequest(app.ClientID, tok("repo:acme/other:ref:refs/heads/main"), "")); resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("failure %d after the outage: status %d, want 401: %s", i+1, resp.StatusCode, resp.Body)
				}
			}
			if resp := f.call(assertionRequest(app.ClientID, tok("repo:acme/other:ref:refs/heads/main"), "")); resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("failure %d: status %d, want 429", throttle.Failures+1, resp.StatusCode)
			}

			down.Store(false)
			f.clock.Add(federation.RefetchInterval)
			if resp := f.call(assertionRequest(app.ClientID, tok(subject), "")); resp.StatusCode != http.StatusOK {
				t.Fatalf("with the issuer back: status %d: %s", resp.StatusCode, resp.Body)
			}
		})
	}
}
