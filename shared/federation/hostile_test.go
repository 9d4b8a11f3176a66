package federation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"credportal/infra/oidcissuer"
	"credportal/shared/oauth"
	"credportal/shared/portal"
)

// TestHostileIssuers: an issuer that stalls, answers too much, redirects
// elsewhere or claims to be another issuer makes verification fail with
// ErrKeysUnavailable, within the fetch timeout, and is not asked again by the
// next request within RefetchInterval. The Authenticator the token endpoint
// uses says so with oauth.ErrFederationUnavailable (a 503 there, not a
// refused client), and records no use.
func TestHostileIssuers(t *testing.T) {
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the other host was asked for %s", r.URL.Path)
	}))
	t.Cleanup(elsewhere.Close)
	big := `{"keys":[` + strings.Repeat(`{"kty":"oct","k":"AAAA"},`, MaxJWKSBytes/20) + `{"kty":"oct","k":"AAAA"}]}`
	bigDiscovery := `{"issuer":"x","pad":"` + strings.Repeat("a", MaxDiscoveryBytes) + `"}`

	tests := []struct {
		name string
		// serve answers discovery (with the server's own URL) and /jwks.
		serve func(self string, w http.ResponseWriter, r *http.Request)
	}{
		{"answers discovery slowly", func(_ string, w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}},
		{"answers the key set slowly", func(self string, w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/jwks" {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"keys":[`))
				w.(http.Flusher).Flush()
				<-r.Context().Done()
				return
			}
			writeDiscovery(w, self, self+"/jwks")
		}},
		{"an oversized key set", func(self string, w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/jwks" {
				_, _ = w.Write([]byte(big))
				return
			}
			writeDiscovery(w, self, self+"/jwks")
		}},
		{"an oversized key set of unknown length", func(self string, w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/jwks" {
				for i := 0; i < len(big); i += 4096 {
					_, _ = w.Write([]byte(big[i:min(i+4096, len(big))]))
					w.(http.Flusher).Flush()
				}
				return
			}
			writeDiscovery(w, self, self+"/jwks")
		}},
		{"an oversized discovery document", func(_ string, w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(bigDiscovery))
		}},
		{"discovery redirects to another host", func(_ string, w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusFound)
		}},
		{"the key set redirects to another host", func(self string, w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/jwks" {
				http.Redirect(w, r, elsewhere.URL+"/jwks", http.StatusMovedPermanently)
				return
			}
			writeDiscovery(w, self, self+"/jwks")
		}},
		{"jwks_uri on another host", func(self string, w http.ResponseWriter, r *http.Request) {
			writeDiscovery(w, self, "https://"+strings.TrimPrefix(elsewhere.URL, "http://")+"/jwks")
		}},
		{"discovery names another issuer", func(_ string, w http.ResponseWriter, r *http.Request) {
			writeDiscovery(w, "https://token.actions.githubusercontent.com", elsewhere.URL+"/jwks")
		}},
		{"an error status", func(_ string, w http.ResponseWriter, r *http.Request) {
			http.Error(w, "no", http.StatusInternalServerError)
		}},
		{"not JSON", func(_ string, w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("<html>"))
		}},
		{"a key set of symmetric keys only", func(self string, w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/jwks" {
				_, _ = w.Write([]byte(`{"keys":[{"kty":"oct","k":"AAAA","kid":"k"}]}`))
				return
			}
			writeDiscovery(w, self, self+"/jwks")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var requests atomic.Int32
			var self string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				tt.serve(self, w, r)
			}))
			t.Cleanup(srv.Close)
			self = srv.URL
			c := &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
			v := newTestVerifier(trustedLoopback(t, self), c)
			creds := []Credential{{ID: "fc", Issuer: self, Subject: "s", Audience: "a"}}
			signer, err := oidcissuer.New(self, c.now)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := signer.Token("s", "a")
			if err != nil {
				t.Fatal(err)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := v.Verify(ctx, tok, creds); !errors.Is(err, ErrKeysUnavailable) {
				t.Fatalf("error %v, want ErrKeysUnavailable", err)
			}
			if ctx.Err() != nil {
				t.Fatal("verification outlasted the test's deadline")
			}
			asked := requests.Load()
			c.add(time.Second)
			if _, err := v.Verify(ctx, tok, creds); !errors.Is(err, ErrKeysUnavailable) {
				t.Fatalf("second request: error %v, want ErrKeysUnavailable", err)
			}
			if n := requests.Load(); n != asked {
				t.Errorf("the failing issuer was asked again within the refetch interval (%d requests, then %d)", asked, n)
			}
			m := &marks{}
			client := portal.Client{ID: "cid", ApplicationID: "app", Federated: []portal.FederatedCredential{{ID: "fc", Issuer: self, Subject: "s", Audience: "a"}}}
			for _, a := range []*Authenticator{NewAuthenticator(v, m), NewAuthenticator(newTestVerifier(trustedLoopback(t, self), c), m)} {
				_, err := a.Authenticate(ctx, client, tok, c.now())
				if !errors.Is(err, oauth.ErrFederationUnavailable) || !errors.Is(err, ErrKeysUnavailable) || !strings.Contains(err.Error(), self) {
					t.Fatalf("Authenticate: error %v, want oauth.ErrFederationUnavailable naming the issuer", err)
				}
			}
			if ctx.Err() != nil || len(m.calls) != 0 {
				t.Fatalf("outlasted the deadline (%v), or recorded a use: %v", ctx.Err(), m.calls)
			}
		})
	}
}

func writeDiscovery(w http.ResponseWriter, issuer, jwks string) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, issuer, jwks)
}

// TestStaleKeysRideOutAnOutage: keys older than KeysFresh are refetched; when
// the issuer is down they are still used until KeysStale.
func TestStaleKeysRideOutAnOutage(t *testing.T) {
	c := &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	iss := newTestIssuer(t, c)
	var down atomic.Bool
	var refused atomic.Int32
	up := iss.srv.Config.Handler
	iss.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			refused.Add(1)
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		up.ServeHTTP(w, r)
	})
	v := newTestVerifier(trustedLoopback(t, iss.URL()), c)
	creds := []Credential{{ID: "fc", Issuer: iss.URL(), Subject: "s", Audience: "a"}}
	verify := func() error {
		tok, err := iss.Token("s", "a")
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Verify(context.Background(), tok, creds)
		return err
	}
	if err := verify(); err != nil {
		t.Fatal(err)
	}
	down.Store(true)
	c.add(KeysFresh + time.Minute)
	if err := verify(); err != nil {
		t.Fatalf("stale keys during an outage: %v", err)
	}
	if n := iss.keySets.Load(); n != 1 {
		t.Errorf("key set fetched %d times, want 1", n)
	}
	if n := refused.Load(); n != 1 {
		t.Errorf("%d refreshes tried during the outage, want 1", n)
	}
	// A kid the cached keys lack is refused, as when the issuer is up: the
	// keys are at hand, the refetch it prompts fails.
	c.add(RefetchInterval)
	stranger, err := oidcissuer.New(iss.URL(), c.now)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := stranger.Token("s", "a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), forged, creds); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("an unknown kid during the outage: error %v, want ErrUnknownKey", err)
	}
	if n := refused.Load(); n != 2 {
		t.Errorf("%d refreshes tried during the outage, want 2 (one for the unknown kid)", n)
	}
	c.add(KeysStale)
	if err := verify(); !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("keys past KeysStale: error %v, want ErrKeysUnavailable", err)
	}
}

func TestTrusted(t *testing.T) {
	tests := []struct {
		list    string
		want    []string
		wantErr bool
	}{
		{DefaultTrustedIssuers, []string{"https://token.actions.githubusercontent.com"}, false},
		{"https://a.example, https://b.example/tenant https://a.example", []string{"https://a.example", "https://b.example/tenant"}, false},
		{"", nil, false},
		{"http://a.example", nil, true},
		{"http://127.0.0.1:3000/local/issuer", nil, true},
		{"https://a.example/", nil, true},
		{"https://a.example?x=1", nil, true},
		{"https://a.example#f", nil, true},
		{"https://user@a.example", nil, true},
		{"a.example", nil, true},
		{"https://" + strings.Repeat("a", 256), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.list, func(t *testing.T) {
			got, err := ParseTrusted(tt.list)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalidIssuer) {
				t.Errorf("error %v is not ErrInvalidIssuer", err)
			}
			if fmt.Sprint(got.List()) != fmt.Sprint(tt.want) {
				t.Errorf("issuers %v, want %v", got.List(), tt.want)
			}
		})
	}
	loopback := []struct {
		issuer string
		ok     bool
	}{
		{"http://127.0.0.1:3000/local/issuer", true},
		{"http://[::1]:3000/local/issuer", true},
		{"http://localhost:3000/local/issuer", false},
		{"http://10.0.0.1/local/issuer", false},
		{"https://127.0.0.1/x", true},
	}
	for _, tt := range loopback {
		tr, err := Trusted{}.WithLoopback(tt.issuer)
		if (err == nil) != tt.ok {
			t.Errorf("WithLoopback(%q): error %v, want ok %v", tt.issuer, err, tt.ok)
		}
		if tt.ok && !tr.Contains(tt.issuer) {
			t.Errorf("WithLoopback(%q) does not trust it", tt.issuer)
		}
	}
}
