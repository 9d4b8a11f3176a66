package browsertest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"credportal/shared/httpapi"
	"credportal/shared/webui"
)

// issuer is a minimal OpenID Connect provider: /authorize signs anyone in at
// once and sends the browser back with a code; /token checks the code, the
// redirect URI and the PKCE verifier before it gives an ID token.
type issuer struct {
	t      *testing.T
	srv    *httptest.Server
	client string

	mu        sync.Mutex
	challenge string
	nonce     string
	redirect  string
	code      string
	issued    string
	failures  []string
}

func newIssuer(t *testing.T, clientID string) *issuer {
	is := &issuer{t: t, client: clientID}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", is.authorize)
	mux.HandleFunc("/token", is.token)
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

func (is *issuer) fail(format string, args ...any) {
	is.mu.Lock()
	is.failures = append(is.failures, fmt.Sprintf(format, args...))
	is.mu.Unlock()
}

func (is *issuer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k, want := range map[string]string{"response_type": "code", "client_id": is.client, "code_challenge_method": "S256"} {
		if q.Get(k) != want {
			is.fail("authorize %s = %q, want %q", k, q.Get(k), want)
		}
	}
	if !strings.Contains(q.Get("scope"), "openid") || q.Get("state") == "" || q.Get("nonce") == "" || len(q.Get("code_challenge")) != 43 {
		is.fail("authorize without scope openid, state, nonce or an S256 challenge: %s", r.URL.RawQuery)
	}
	is.mu.Lock()
	is.challenge, is.nonce, is.redirect, is.code = q.Get("code_challenge"), q.Get("nonce"), q.Get("redirect_uri"), "code-"+q.Get("state")[:8]
	back := is.redirect + "?code=" + url.QueryEscape(is.code) + "&state=" + url.QueryEscape(q.Get("state"))
	is.mu.Unlock()
	http.Redirect(w, r, back, http.StatusFound)
}

func (is *issuer) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Accept")
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err := r.ParseForm(); err != nil {
		is.fail("token form: %v", err)
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case r.PostForm.Get("grant_type") != "authorization_code", r.PostForm.Get("client_id") != is.client:
		is.failures = append(is.failures, "token: wrong grant or client: "+r.PostForm.Encode())
	case r.PostForm.Get("code") != is.code, r.PostForm.Get("redirect_uri") != is.redirect:
		is.failures = append(is.failures, "token: code or redirect_uri differ from the authorization's")
	case base64.RawURLEncoding.EncodeToString(sum[:]) != is.challenge:
		is.failures = append(is.failures, "token: the PKCE verifier does not match the challenge")
	default:
		is.code = "" // one use
		is.issued = unsignedJWT(map[string]any{
			"iss": is.srv.URL, "aud": is.client, "email": "carol@globex.example", "nonce": is.nonce,
			"exp": time.Now().Add(time.Hour).Unix(), "cognito:groups": []string{},
		})
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id_token": is.issued, "access_token": "unused", "token_type": "Bearer", "expires_in": 3600})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = io.WriteString(w, `{"error":"invalid_grant"}`)
}

// unsignedJWT is enough for the UI, which reads claims but leaves signature
// checks to the API's authorizer (here, the test's own /v1 stub).
func unsignedJWT(claims map[string]any) string {
	enc := func(v any) string {
		raw, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(raw)
	}
	return enc(map[string]string{"alg": "none", "typ": "JWT"}) + "." + enc(claims) + ".sig"
}

// serveUI adapts the UI's Lambda handler to net/http, and answers the two
// API calls the UI makes first, with the bearer checked against the issued
// ID token.
func serveUI(t *testing.T, h *webui.Handler, is *issuer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/") {
			is.mu.Lock()
			ok := is.issued != "" && r.Header.Get("Authorization") == "Bearer "+is.issued
			is.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			switch {
			case !ok:
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"message":"Unauthorized"}`)
			case r.URL.Path == "/v1/me":
				_, _ = io.WriteString(w, `{"email":"carol@globex.example","admin":false,"designations":[]}`)
			case r.URL.Path == "/v1/applications":
				_, _ = io.WriteString(w, `{"items":[]}`)
			default:
				w.WriteHeader(http.StatusNotFound)
			}
			return
		}
		req := httpapi.Request{RawPath: r.URL.Path, Headers: map[string]string{}}
		req.RequestContext.HTTP.Method = r.Method
		req.RequestContext.HTTP.Path = r.URL.Path
		for k := range r.Header {
			req.Headers[strings.ToLower(k)] = r.Header.Get(k)
		}
		resp, err := h.Handle(r.Context(), req)
		if err != nil {
			t.Errorf("handler: %v", err)
		}
		for k, v := range resp.Headers {
			w.Header().Set(k, v)
		}
		body := []byte(resp.Body)
		if resp.IsBase64Encoded {
			if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
				t.Errorf("handler body: %v", err)
			}
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(body)
	})
}

// TestOIDCSignIn signs in through the authorization code flow with PKCE and
// checks that the code and state leave the address bar and the ID token
// becomes the API's bearer.
func TestOIDCSignIn(t *testing.T) {
	is := newIssuer(t, "portal-client")
	var portal *httptest.Server
	var handler http.Handler
	portal = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(portal.Close)
	h, err := webui.New(webui.Config{
		SignInMode: webui.ModeOIDC, Issuer: is.srv.URL, ClientID: "portal-client",
		AuthorizeEndpoint: is.srv.URL + "/authorize", TokenEndpoint: is.srv.URL + "/token",
		RedirectURI: portal.URL + "/", Scope: "openid email profile", MaxLifetimeDays: 365,
	})
	if err != nil {
		t.Fatal(err)
	}
	handler = serveUI(t, h, is)

	tb := newTab(t, newBrowser(t), portal.URL)
	tb.open("#/applications")
	tb.waitFor("#oidc-sign-in")
	tb.check("sign-in-oidc")
	tb.click("#oidc-sign-in")
	tb.waitJS(`document.querySelector('#who .email') && document.querySelector('#who .email').textContent === 'carol@globex.example'`, "signed in through the issuer")
	tb.waitFor("main .empty")
	loc := evalJS[string](tb, `location.href`)
	if loc != portal.URL+"/#/applications" {
		t.Errorf("after sign-in the address is %q: the code and state must go, the page must stay", loc)
	}
	is.mu.Lock()
	issued, failures := is.issued, is.failures
	is.mu.Unlock()
	for _, f := range failures {
		t.Error(f)
	}
	if got := evalJS[string](tb, `sessionStorage.getItem('credportal.token') || ''`); got != issued || got == "" {
		t.Errorf("stored token %q, want the ID token", got)
	}
	if evalJS[bool](tb, `!!sessionStorage.getItem('credportal.pending')`) {
		t.Error("the PKCE verifier outlives the sign-in")
	}

	// A callback this tab did not start (a stale or forged code) is refused
	// before any request, reported, and cleaned from the address.
	tb.click("#sign-out")
	tb.waitFor("#oidc-sign-in")
	if evalJS[bool](tb, `!!sessionStorage.getItem('credportal.token')`) {
		t.Error("sign-out kept the token")
	}
	tb.open("?code=stale&state=stale#/")
	tb.waitFor("#oidc-sign-in")
	tb.waitJS(`document.querySelector('main .notice.error') && !document.querySelector('main .notice.error').hidden`, "sign-in error shown")
	if msg := tb.text("main .notice.error"); !strings.Contains(msg, "does not match") {
		t.Errorf("error shown %q", msg)
	}
	tb.check("sign-in-oidc-error")
	if loc := evalJS[string](tb, `location.search`); loc != "" {
		t.Errorf("query left in the address: %q", loc)
	}
}
