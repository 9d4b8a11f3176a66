package oauth_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/zitadel/oidc/v3/pkg/client"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"credportal/shared/oauth"
	"credportal/shared/portal"
)

// key registers the public half of priv on app through the portal service,
// living days days, and returns the registered key.
func (f *fixture) key(app portal.Application, priv crypto.Signer, days int) portal.KeyView {
	f.t.Helper()
	der, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		f.t.Fatal(err)
	}
	text, _ := json.Marshal(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	k, err := f.service.CreateKey(context.Background(), admin, app.ID, portal.CreateKeyInput{Name: "Signing key", PublicKey: text, LifetimeDays: &days}, portal.Request{})
	if err != nil {
		f.t.Fatal(err)
	}
	return k
}

// assertion is the claims of a client assertion, signed by sign.
func assertion(t *testing.T, key crypto.Signer, alg jose.SignatureAlgorithm, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// unsigned writes a JWS with the given header and claims and signature.
func unsigned(header, claims map[string]any, sign func(input []byte) []byte) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	return input + "." + base64.RawURLEncoding.EncodeToString(sign([]byte(input)))
}

func assertionRequest(clientID, raw, extra string) tokenRequest {
	v := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {oauth.AssertionTypeJWTBearer}, "client_assertion": {raw}}
	if clientID != "" {
		v.Set("client_id", clientID)
	}
	body := v.Encode()
	if extra != "" {
		body += "&" + extra
	}
	return tokenRequest{contentType: "application/x-www-form-urlencoded", body: body}
}

// claimsFor are valid claims of a client assertion of clientID at now.
func claimsFor(clientID string, now time.Time, jti string) map[string]any {
	return map[string]any{
		"iss": clientID, "sub": clientID, "aud": issuer + oauth.TokenPath, "jti": jti,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
}

// mustKey is k, generated without error.
func mustKey[K crypto.Signer](k K, err error) K {
	if err != nil {
		panic(err)
	}
	return k
}

// TestPrivateKeyJWTWithZitadelClient gets a token as a client library that
// implements private_key_jwt does: zitadel/oidc's client signs the assertion
// (RS256, with a uuid jti and time.Now) and calls the token endpoint over
// HTTP.
func TestPrivateKeyJWTWithZitadelClient(t *testing.T) {
	f := newFixture(t, lenient())
	f.clock.Set(time.Now().UTC())
	app := f.app("Search", "search-match")
	priv := mustKey(rsa.GenerateKey(rand.Reader, 2048))
	registered := f.key(app, priv, 30)
	srv := f.httpServer()

	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := client.NewSignerFromPrivateKeyByte(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), registered.Thumbprint)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := client.SignedJWTProfileAssertion(app.ClientID, []string{srv.URL + oauth.TokenPath, issuer + oauth.TokenPath}, 2*time.Minute, signer)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := client.CallTokenEndpoint(context.Background(), &oidc.ClientCredentialsRequest{
		GrantType: oidc.GrantTypeClientCredentials, ClientAssertion: raw, ClientAssertionType: oidc.ClientAssertionTypeJWTAssertion,
		Scope: oidc.SpaceDelimitedArray{"search-match"},
	}, caller{srv.URL + oauth.TokenPath, srv.Client()})
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	claims, _, err := verify(t, tok.AccessToken, publishedKeys(t, srv.URL+oauth.JWKSPath), f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if claims["client_id"] != app.ClientID || claims["scope"] != "search-match" {
		t.Fatalf("claims %v", claims)
	}
	// The same assertion again is a replay.
	_, err = client.CallTokenEndpoint(context.Background(), &oidc.ClientCredentialsRequest{
		GrantType: oidc.GrantTypeClientCredentials, ClientAssertion: raw, ClientAssertionType: oidc.ClientAssertionTypeJWTAssertion,
	}, caller{srv.URL + oauth.TokenPath, srv.Client()})
	if err == nil {
		t.Fatal("a replayed assertion got a token")
	}
	keys, err := f.service.ListKeys(context.Background(), admin, app.ID, "")
	if err != nil || len(keys.Items) != 1 || keys.Items[0].LastUsedAt == nil {
		t.Fatalf("lastUsedAt not recorded: %+v %v", keys.Items, err)
	}
}

type caller struct {
	endpoint string
	client   *http.Client
}

func (c caller) TokenEndpoint() string    { return c.endpoint }
func (c caller) HttpClient() *http.Client { return c.client }

// TestPrivateKeyJWTRefusals: every assertion that must not authenticate gets
// 401 invalid_client (and is counted), and the mixing of methods 400.
func TestPrivateKeyJWTRefusals(t *testing.T) {
	f := newFixture(t, lenient())
	app := f.app("Search", "search-match")
	other := f.app("Other", "search-match")
	ec := mustKey(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	ecKey := f.key(app, ec, 30)
	_, ed := mustKeyPair(t)
	f.key(other, ed, 30)
	deleted := mustKey(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	del := f.key(app, deleted, 30)
	if err := f.service.DeleteKey(context.Background(), admin, app.ID, del.ID, true, portal.Request{}); err != nil {
		t.Fatal(err)
	}
	expiring := mustKey(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	f.key(app, expiring, 1)
	now := t0

	n := 0
	jti := func() string {
		n++
		return "jti-" + time.Now().Format("150405.000000000") + "-" + string(rune('a'+n%26))
	}
	with := func(change func(map[string]any)) map[string]any {
		c := claimsFor(app.ClientID, now, jti())
		change(c)
		return c
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(ec.Public())
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	replayed := assertion(t, ec, jose.ES256, "", claimsFor(app.ClientID, now, "once"))
	tokenOf(t, f.call(assertionRequest("", replayed, "")))

	cases := []struct {
		name     string
		clientID string
		raw      string
		at       time.Duration // clock offset from now
	}{
		{"wrong aud", "", assertion(t, ec, jose.ES256, "", with(func(c map[string]any) { c["aud"] = "https://elsewhere.example/oauth2/token" })), 0},
		{"expired", "", assertion(t, ec, jose.ES256, "", with(func(c map[string]any) { c["exp"] = now.Add(-2 * time.Minute).Unix() })), 0},
		{"exp too far ahead", "", assertion(t, ec, jose.ES256, "", with(func(c map[string]any) { c["exp"] = now.Add(62 * time.Minute).Unix() })), 0},
		{"no exp", "", assertion(t, ec, jose.ES256, "", with(func(c map[string]any) { delete(c, "exp") })), 0},
		{"no jti", "", assertion(t, ec, jose.ES256, "", with(func(c map[string]any) { delete(c, "jti") })), 0},
		{"replayed jti", "", replayed, 0},
		{"sub is not the client id", "", assertion(t, ec, jose.ES256, "", with(func(c map[string]any) { c["sub"] = other.ClientID })), 0},
		{"alg none", "", unsigned(map[string]any{"alg": "none", "typ": "JWT"}, with(func(map[string]any) {}), func([]byte) []byte { return nil }), 0},
		{"HS256 keyed with the public key's PEM", "", unsigned(map[string]any{"alg": "HS256", "typ": "JWT"}, with(func(map[string]any) {}), func(in []byte) []byte {
			m := hmac.New(sha256.New, pubPEM)
			m.Write(in)
			return m.Sum(nil)
		}), 0},
		{"HS256 keyed with the public key's DER", "", unsigned(map[string]any{"alg": "HS256", "kid": ecKey.Thumbprint}, with(func(map[string]any) {}), func(in []byte) []byte {
			m := hmac.New(sha256.New, pubDER)
			m.Write(in)
			return m.Sum(nil)
		}), 0},
		{"ES384 claimed for a P-256 key", "", unsigned(map[string]any{"alg": "ES384"}, with(func(map[string]any) {}), func(in []byte) []byte { return make([]byte, 96) }), 0},
		{"a deleted key", "", assertion(t, deleted, jose.ES256, "", with(func(map[string]any) {})), 0},
		{"an expired key", "", assertion(t, expiring, jose.ES256, "", with(func(c map[string]any) {
			c["exp"] = now.Add(48*time.Hour + 5*time.Minute).Unix()
			c["iat"] = now.Add(48 * time.Hour).Unix()
		})), 48 * time.Hour},
		{"another application's key", "", assertion(t, ed, jose.EdDSA, "", with(func(map[string]any) {})), 0},
		{"mismatched client_id", other.ClientID, assertion(t, ec, jose.ES256, "", with(func(map[string]any) {})), 0},
		{"unknown client id", "", assertion(t, ec, jose.ES256, "", with(func(c map[string]any) { c["iss"], c["sub"] = newClientID(t), newClientID(t) })), 0},
		{"a kid that is not the key's", "", assertion(t, ec, jose.ES256, "not-the-thumbprint", with(func(map[string]any) {})), 0},
		{"not a JWS", "", "not.a.jws", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.clock.Set(now.Add(c.at))
			resp := f.call(assertionRequest(c.clientID, c.raw, ""))
			if resp.StatusCode != http.StatusUnauthorized || errorOf(t, resp) != oauth.CodeInvalidClient {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
		})
	}
	f.clock.Set(now)
	t.Run("failures count towards throttling", func(t *testing.T) {
		g := newFixture(t, oauth.ThrottlePolicy{Failures: 2, Window: 5 * time.Minute, Lockout: 15 * time.Minute})
		a := g.app("Throttled", "search-match")
		g.key(a, ec, 30)
		bad := func() tokenRequest {
			return assertionRequest("", assertion(t, ec, jose.ES256, "", map[string]any{"iss": a.ClientID, "sub": a.ClientID, "aud": "https://wrong.example", "jti": jti(), "exp": t0.Add(time.Minute).Unix()}), "")
		}
		g.call(bad())
		g.call(bad())
		if resp := g.call(bad()); resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("third failure: %d %s", resp.StatusCode, resp.Body)
		}
		// A valid assertion still gets its token.
		tokenOf(t, g.call(assertionRequest("", assertion(t, ec, jose.ES256, "", claimsFor(a.ClientID, t0, jti())), "")))
	})
	t.Run("mixing methods is invalid_request", func(t *testing.T) {
		value, _ := f.secret(app, 30)
		raw := assertion(t, ec, jose.ES256, "", claimsFor(app.ClientID, now, jti()))
		for name, req := range map[string]tokenRequest{
			"with Basic":         {authorization: basicAuth(app.ClientID, value), contentType: "application/x-www-form-urlencoded", body: assertionRequest("", raw, "").body},
			"with client_secret": assertionRequest(app.ClientID, raw, "client_secret="+url.QueryEscape(value)),
			"wrong type":         {contentType: "application/x-www-form-urlencoded", body: "grant_type=client_credentials&client_assertion_type=urn:x&client_assertion=" + raw},
		} {
			resp := f.call(req)
			if resp.StatusCode != http.StatusBadRequest || errorOf(t, resp) != oauth.CodeInvalidRequest {
				t.Errorf("%s: status %d: %s", name, resp.StatusCode, resp.Body)
			}
		}
	})
	t.Run("accepted", func(t *testing.T) {
		for name, raw := range map[string]string{
			"aud the issuer, client_id given": assertion(t, ec, jose.ES256, ecKey.Thumbprint, with(func(c map[string]any) { c["aud"] = []string{"x", issuer} })),
			"exp 10 minutes ahead":            assertion(t, ec, jose.ES256, "", with(func(c map[string]any) { c["exp"] = now.Add(10 * time.Minute).Unix() })),
			// Client libraries' default: exp one hour after iat.
			"exp an hour after iat": assertion(t, ec, jose.ES256, "", with(func(c map[string]any) {
				c["iat"], c["exp"] = now.Unix(), now.Add(time.Hour).Unix()
			})),
			"expired within the skew": assertion(t, ec, jose.ES256, "", with(func(c map[string]any) { c["exp"] = now.Add(-30 * time.Second).Unix() })),
		} {
			tok := f.call(assertionRequest(app.ClientID, raw, "scope=search-match"))
			if tok.StatusCode != http.StatusOK {
				t.Errorf("%s: %d %s", name, tok.StatusCode, tok.Body)
			}
		}
	})
}

func mustKeyPair(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

// An Ed25519 key signs with the header's alg "EdDSA" (RFC 8037) or
// "Ed25519" (RFC 9864, current openid-client's choice): both authenticate;
// "Ed25519" claimed for a P-256 key does not.
func TestEd25519AlgorithmNames(t *testing.T) {
	f := newFixture(t, lenient())
	app := f.app("Search", "search-match")
	_, ed := mustKeyPair(t)
	f.key(app, ed, 30)
	ec := mustKey(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	f.key(app, ec, 30)
	signed := func(alg, jti string, sign func([]byte) []byte) string {
		return unsigned(map[string]any{"alg": alg, "typ": "JWT"}, claimsFor(app.ClientID, f.clock.Now(), jti), sign)
	}
	edSign := func(in []byte) []byte { return ed25519.Sign(ed, in) }
	for _, alg := range []string{"EdDSA", "Ed25519"} {
		tokenOf(t, f.call(assertionRequest("", signed(alg, "jti-"+alg, edSign), "")))
	}
	resp := f.call(assertionRequest("", signed("Ed25519", "jti-ec", func(in []byte) []byte { return make([]byte, 64) }), ""))
	if resp.StatusCode != http.StatusUnauthorized || errorOf(t, resp) != oauth.CodeInvalidClient {
		t.Fatalf("Ed25519 claimed for a P-256 key: %d %s", resp.StatusCode, resp.Body)
	}
}

// TestDynamoDBRequestsPerPrivateKeyJWT: a successful private_key_jwt
// request is one consistent read of the client item and the jti's
// conditional write, plus the lastUsedAt write at most once per 5 minutes.
func TestDynamoDBRequestsPerPrivateKeyJWT(t *testing.T) {
	f := newFixture(t, lenient())
	app := f.app("Search", "search-match")
	_, ed := mustKeyPair(t)
	f.key(app, ed, 30)
	var r reads
	r.watch(f)
	f.calls.Reset()
	call := func(jti string) map[string]int {
		t.Helper()
		tokenOf(t, f.call(assertionRequest("", assertion(t, ed, jose.EdDSA, "", claimsFor(app.ClientID, f.clock.Now(), jti)), "")))
		return f.calls.Reset()
	}
	if got, want := call("first"), map[string]int{"GetItem": 1, "PutItem": 1, "TransactWriteItems": 1}; !maps.Equal(got, want) {
		t.Fatalf("first use: requests %v, want %v", got, want)
	}
	if got, want := call("second"), map[string]int{"GetItem": 1, "PutItem": 1}; !maps.Equal(got, want) {
		t.Fatalf("second use: requests %v, want %v", got, want)
	}
	if got := r.take(); len(got) != 2 || got[0] != "CLIENT consistent=true" || got[1] != "CLIENT consistent=true" {
		t.Fatalf("reads %v", got)
	}
	f.clock.Add(6 * time.Minute)
	if got, want := call("third"), map[string]int{"GetItem": 1, "PutItem": 1, "TransactWriteItems": 1}; !maps.Equal(got, want) {
		t.Fatalf("after 6 minutes: requests %v, want %v", got, want)
	}
}

// TestRawClientIDNotLogged: on the assertion path a client_id, or an
// assertion's iss and sub, that is not of the portal's client id format
// (a secret pasted there, say) never reaches the logs.
func TestRawClientIDNotLogged(t *testing.T) {
	f := newFixture(t, lenient())
	app := f.app("Search", "search-match")
	ec := mustKey(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	f.key(app, ec, 30)
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, nil)))
	defer slog.SetDefault(prev)

	pasted := "cps_ThisLooksLikeASecretValueThatWasPastedInTheWrongField123"
	claims := claimsFor(app.ClientID, f.clock.Now(), "jti-logged")
	claims["iss"], claims["sub"] = pasted, pasted
	for _, tc := range []struct{ clientID, raw string }{
		{pasted, assertion(t, ec, jose.ES256, "", claimsFor(app.ClientID, f.clock.Now(), "jti-1"))},
		{"", assertion(t, ec, jose.ES256, "", claims)},
		{pasted, "not.a.jws"},
	} {
		resp := f.call(assertionRequest(tc.clientID, tc.raw, ""))
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
		}
	}
	if !strings.Contains(logs.String(), "token refused") {
		t.Fatalf("nothing logged:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "ThisLooksLikeASecret") {
		t.Fatalf("the raw value was logged:\n%s", logs.String())
	}
}
