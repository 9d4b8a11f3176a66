package smoke_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"credportal/infra/localstack"
	"credportal/infra/smoke"
)

// TestCheckLocalStack runs the checks against the real local stack, with a
// client secret made through its API by an admin. The stack is new, so its
// key set is empty until the first check with credentials makes the key.
func TestCheckLocalStack(t *testing.T) {
	stack := startStack(t)
	clientID, secret := newClientSecret(t, stack)

	t.Run("every check passes", func(t *testing.T) {
		var out strings.Builder
		// The stack's URL has no trailing slash: Check adds it.
		err := smoke.Check(t.Context(), smoke.Config{URL: stack.URL, ClientID: clientID, ClientSecret: secret, Out: &out})
		if err != nil {
			t.Fatalf("Check: %v\n%s", err, out.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 5 {
			t.Fatalf("%d lines, want 5:\n%s", len(lines), out.String())
		}
		for _, l := range lines {
			if !strings.HasPrefix(l, "ok    ") {
				t.Errorf("line %q is not ok", l)
			}
		}
		notPrinted(t, out.String(), secret)
	})

	t.Run("a wrong client secret fails the token check", func(t *testing.T) {
		var out strings.Builder
		wrong := "wrong-" + secret
		err := smoke.Check(t.Context(), smoke.Config{URL: stack.URL + "/", ClientID: clientID, ClientSecret: wrong, Out: &out})
		wantFailed(t, err, out.String(), "token (client_credentials)", "invalid_client")
		notPrinted(t, out.String()+err.Error(), secret)
	})

	for _, c := range []struct {
		name, id, secret, want string
	}{
		{"only the client id", clientID, "", "a client id without its client secret"},
		{"only the client secret", "", secret, "a client secret without its client id"},
	} {
		t.Run(c.name+" fails the token check", func(t *testing.T) {
			var out strings.Builder
			err := smoke.Check(t.Context(), smoke.Config{URL: stack.URL + "/", ClientID: c.id, ClientSecret: c.secret, Out: &out})
			wantFailed(t, err, out.String(), "token (client_credentials)", c.want)
			for _, ok := range []string{"metadata", "web UI", "API description"} {
				if !strings.Contains(out.String(), "ok    "+ok) {
					t.Errorf("%s did not pass:\n%s", ok, out.String())
				}
			}
			notPrinted(t, out.String()+err.Error(), secret)
		})
	}
}

// TestCheckNothingAnswers: a closed port is said to be one, once.
func TestCheckNothingAnswers(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	var out strings.Builder
	err = smoke.Check(t.Context(), smoke.Config{URL: "http://" + addr, Out: &out})
	want := "nothing answers at http://" + addr + "/: connection refused"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one containing %q", err, want)
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 1 {
		t.Errorf("%d lines, want 1 (the checks stop):\n%s", len(lines), out.String())
	}
}

// TestCheckURL: what is not an absolute http(s) URL is refused before any
// request.
func TestCheckURL(t *testing.T) {
	for _, u := range []string{"", "portal.example", "/relative/", "ftp://portal.example/", "https://portal.example/?a=b", "https:///"} {
		t.Run(u, func(t *testing.T) {
			var out strings.Builder
			err := smoke.Check(t.Context(), smoke.Config{URL: u, Out: &out})
			if err == nil || !strings.Contains(err.Error(), "URL") {
				t.Errorf("error %v, want one about the URL", err)
			}
			if out.Len() != 0 {
				t.Errorf("checks ran:\n%s", out.String())
			}
		})
	}
}

// TestCheckFake runs the checks against a portal served by the test, right
// or wrong in one way per case.
func TestCheckFake(t *testing.T) {
	const id, secret = "fakeclient", "fake-secret"
	for _, c := range []struct {
		name        string
		change      func(f *fakePortal)
		failed, why string // "" when every check passes
	}{
		{name: "a portal as it should be", change: func(*fakePortal) {}},
		{
			name:   "wrong issuer",
			change: func(f *fakePortal) { f.metadata["issuer"] = "https://other.example" },
			failed: "metadata (.well-known/oauth-authorization-server)", why: `issuer is "https://other.example"`,
		},
		{
			name:   "no token_endpoint",
			change: func(f *fakePortal) { delete(f.metadata, "token_endpoint") },
			failed: "metadata (.well-known/oauth-authorization-server)", why: "token_endpoint is missing",
		},
		{
			name:   "a jwks_uri in clear text off this machine",
			change: func(f *fakePortal) { f.metadata["jwks_uri"] = "http://portal.example/.well-known/jwks.json" },
			failed: "metadata (.well-known/oauth-authorization-server)", why: "is not https",
		},
		{
			name:   "metadata that is not JSON",
			change: func(f *fakePortal) { f.metadataType = "text/html" },
			failed: "metadata (.well-known/oauth-authorization-server)", why: "want application/json",
		},
		{
			name: "an RSA key only",
			change: func(f *fakePortal) {
				key, _ := rsa.GenerateKey(rand.Reader, 2048)
				f.jwks = []any{jose.JSONWebKey{Key: key.Public(), KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"}}
			},
			failed: "signing keys (jwks_uri)", why: "none of the 1 keys is usable for ES256",
		},
		{
			name: "a P-256 key without a kid",
			change: func(f *fakePortal) {
				f.jwks = []any{jose.JSONWebKey{Key: f.signer.Public(), Algorithm: "ES256", Use: "sig"}}
			},
			failed: "signing keys (jwks_uri)", why: "none of the 1 keys is usable for ES256",
		},
		{
			name: "a private key published",
			change: func(f *fakePortal) {
				f.jwks = []any{jose.JSONWebKey{Key: f.signer, KeyID: f.kid, Algorithm: "ES256", Use: "sig"}}
			},
			failed: "signing keys (jwks_uri)", why: `publishes the private member "d"`,
		},
		{
			name:   "an empty key set",
			change: func(f *fakePortal) { f.jwks = []any{} },
			failed: "signing keys (jwks_uri)", why: "the key set is empty",
		},
		{
			name:   "a UI that is not HTML",
			change: func(f *fakePortal) { f.pageType = "text/plain" },
			failed: "web UI (/)", why: `Content-Type is "text/plain"`,
		},
		{
			name:   "a Swagger 2 description",
			change: func(f *fakePortal) { f.openapi = `{"swagger":"2.0"}` },
			failed: "API description (openapi.json)", why: `openapi is ""`,
		},
		{
			name: "a token signed by a key the set does not publish",
			change: func(f *fakePortal) {
				other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				f.signer = other
			},
			failed: "token (client_credentials)", why: "does not verify",
		},
		{
			name:   "a token signed with a key the set does not name",
			change: func(f *fakePortal) { f.kid = "key-2" },
			failed: "token (client_credentials)", why: `signed with key "key-2", which the key set does not publish`,
		},
		{
			name:   "a token for another client",
			change: func(f *fakePortal) { f.claims["sub"] = "someone-else" },
			failed: "token (client_credentials)", why: `sub is "someone-else"`,
		},
		{
			name:   "a token of another issuer",
			change: func(f *fakePortal) { f.claims["iss"] = "https://other.example" },
			failed: "token (client_credentials)", why: `iss is "https://other.example"`,
		},
		{
			name:   "a token type that is not Bearer",
			change: func(f *fakePortal) { f.tokenType = "DPoP" },
			failed: "token (client_credentials)", why: `token_type is "DPoP"`,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakePortal(t, id, secret)
			c.change(f)
			var out strings.Builder
			err := smoke.Check(t.Context(), smoke.Config{URL: f.url, ClientID: id, ClientSecret: secret, Out: &out})
			notPrinted(t, out.String(), secret)
			if c.failed == "" {
				if err != nil {
					t.Fatalf("Check: %v\n%s", err, out.String())
				}
				if n := strings.Count(out.String(), "ok    "); n != 5 {
					t.Errorf("%d ok lines, want 5:\n%s", n, out.String())
				}
				return
			}
			wantFailed(t, err, out.String(), c.failed, c.why)
		})
	}
}

// wantFailed checks that err and out name the failed check and why.
func wantFailed(t *testing.T, err error, out, check, why string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Check passed, want %s to fail:\n%s", check, out)
	}
	if !strings.Contains(err.Error(), check+": ") || !strings.Contains(err.Error(), why) {
		t.Errorf("error %q, want it to name %q and say %q", err, check, why)
	}
	if !strings.Contains(out, "FAIL  "+check+": ") {
		t.Errorf("no FAIL line for %s:\n%s", check, out)
	}
}

// notPrinted checks that neither a secret nor a JWT (whose header's base64
// begins "eyJ") was printed.
func notPrinted(t *testing.T, out, secret string) {
	t.Helper()
	if secret != "" && strings.Contains(out, secret) {
		t.Errorf("the client secret was printed:\n%s", out)
	}
	if strings.Contains(out, "eyJ") {
		t.Errorf("a token was printed:\n%s", out)
	}
}

// startStack starts the local stack, seeded, on free ports, until the test
// ends. LOCALSTACK_LOG=1 shows its logs.
func startStack(t *testing.T) *localstack.Stack {
	t.Helper()
	var logs io.Writer
	if os.Getenv("LOCALSTACK_LOG") != "" {
		logs = os.Stderr
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	stack, err := localstack.Start(ctx, localstack.Options{Addr: "127.0.0.1:0", Seed: true, Logs: logs})
	if err != nil {
		t.Fatalf("start the local stack: %v", err)
	}
	t.Cleanup(func() {
		if err := stack.Stop(); err != nil {
			t.Errorf("stop the local stack: %v", err)
		}
	})
	return stack
}

// newClientSecret creates a secret of the demo application Acme Search
// through the stack's API, as an admin, and returns the application's client
// id and the secret's value.
func newClientSecret(t *testing.T, stack *localstack.Stack) (clientID, secret string) {
	t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	call(t, stack, http.MethodGet, "/local/token?email=admin@registry.example&admin=true", "", "", http.StatusOK, &tok)
	appID := stack.Seeded.Applications["Acme Search"]
	if appID == "" {
		t.Fatal("the demo data has no application Acme Search")
	}
	var created struct {
		Value string `json:"value"`
	}
	call(t, stack, http.MethodPost, "/v1/applications/"+appID+"/secrets", tok.AccessToken, `{"name":"Smoke","lifetimeDays":30}`, http.StatusCreated, &created)
	var app struct {
		ClientID string `json:"clientId"`
	}
	call(t, stack, http.MethodGet, "/v1/applications/"+appID, tok.AccessToken, "", http.StatusOK, &app)
	if created.Value == "" || app.ClientID == "" {
		t.Fatalf("secret value %t, client id %q", created.Value != "", app.ClientID)
	}
	return app.ClientID, created.Value
}

// call sends a request to the stack and reads its JSON answer into out.
func call(t *testing.T, stack *localstack.Stack, method, path, token, body string, want int, out any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, stack.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s %s: %v: %s", method, path, err, b)
	}
}

// fakePortal serves what the checks read, as the portal serves it, from
// fields a case may change.
type fakePortal struct {
	url          string
	metadata     map[string]any
	metadataType string
	jwks         []any // the key set's keys
	pageType     string
	openapi      string
	tokenType    string
	claims       map[string]any
	signer       *ecdsa.PrivateKey // signs the tokens
	kid          string            // the tokens' kid
}

// newFakePortal starts a portal on a free loopback port that accepts the
// client id and secret, until the test ends.
func newFakePortal(t *testing.T, clientID, secret string) *fakePortal {
	t.Helper()
	signer, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakePortal{
		metadataType: "application/json", pageType: "text/html; charset=utf-8",
		openapi: `{"openapi":"3.1.0"}`, tokenType: "Bearer", signer: signer, kid: "key-1",
	}
	f.jwks = []any{jose.JSONWebKey{Key: signer.Public(), KeyID: f.kid, Algorithm: "ES256", Use: "sig"}}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", f.metadataType)
		json.NewEncoder(w).Encode(f.metadata)
	})
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"keys": f.jwks})
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", f.pageType)
		io.WriteString(w, "<!doctype html><title>Portal</title>")
	})
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, f.openapi)
	})
	mux.HandleFunc("POST /oauth2/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		id, sec, ok := r.BasicAuth()
		if !ok || id != clientID || sec != secret || r.PostFormValue("grant_type") != "client_credentials" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"invalid_client","error_description":"Client authentication failed."}`)
			return
		}
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: f.signer, KeyID: f.kid}},
			(&jose.SignerOptions{}).WithType("at+jwt"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		access, err := jwt.Signed(signer).Claims(f.claims).Serialize()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"access_token": access, "token_type": f.tokenType, "expires_in": 3600})
	})
	srv := httptest.NewServer(mux) // on 127.0.0.1, a free port
	t.Cleanup(srv.Close)

	// Like the portal's: the issuer without a trailing slash, the URL with one.
	f.url = srv.URL + "/"
	f.metadata = map[string]any{
		"issuer": srv.URL, "token_endpoint": srv.URL + "/oauth2/token", "jwks_uri": srv.URL + "/.well-known/jwks.json",
	}
	f.claims = map[string]any{"iss": srv.URL, "sub": clientID, "client_id": clientID, "aud": "search-match"}
	return f
}
