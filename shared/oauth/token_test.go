package oauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"credportal/infra/testlog"
	"credportal/shared/audit"
	"credportal/shared/ids"
	"credportal/shared/keys"
	"credportal/shared/oauth"
	"credportal/shared/portal"
)

func TestOAuthClientGetsAVerifiableToken(t *testing.T) {
	f := newFixture(t, lenient())
	app := f.app("Search", "search-match", "match-connect")
	value, _ := f.secret(app, 30)
	srv := f.httpServer()
	cases := []struct {
		name   string
		style  oauth2.AuthStyle
		scopes []string
		aud    []string
	}{
		{"basic, every API by default", oauth2.AuthStyleInHeader, nil, []string{"search-match", "match-connect"}},
		{"post, one API asked for", oauth2.AuthStyleInParams, []string{"match-connect"}, []string{"match-connect"}},
		{"basic, both asked for", oauth2.AuthStyleInHeader, []string{"match-connect", "search-match"}, []string{"match-connect", "search-match"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cc := clientcredentials.Config{ClientID: app.ClientID, ClientSecret: value, TokenURL: srv.URL + oauth.TokenPath, Scopes: c.scopes, AuthStyle: c.style}
			tok, err := cc.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tok.TokenType != "Bearer" || tok.Extra("scope") != strings.Join(c.aud, " ") || tok.Extra("expires_in") != 3600.0 {
				t.Fatalf("token response %+v scope %v", tok, tok.Extra("scope"))
			}
			claims, kid, err := verify(t, tok.AccessToken, publishedKeys(t, srv.URL+oauth.JWKSPath), t0.Add(time.Minute))
			if err != nil {
				t.Fatalf("the token does not verify against the JWKS: %v", err)
			}
			if kid == "" || claims["sub"] != app.ClientID || claims["client_id"] != app.ClientID || claims["scope"] != strings.Join(c.aud, " ") {
				t.Fatalf("claims %v", claims)
			}
			if aud := claims.audience(); strings.Join(aud, " ") != strings.Join(c.aud, " ") {
				t.Fatalf("aud %v, want %v", aud, c.aud)
			}
			iat, exp := claims.time("iat"), claims.time("exp")
			if !iat.Equal(t0) || !exp.Equal(t0.Add(time.Hour)) {
				t.Fatalf("iat %v exp %v", iat, exp)
			}
			if jti, _ := claims["jti"].(string); len(jti) < 20 {
				t.Fatalf("jti %q", jti)
			}
			if _, _, err := verify(t, tok.AccessToken, publishedKeys(t, srv.URL+oauth.JWKSPath), t0.Add(time.Hour+time.Second)); err == nil {
				t.Fatal("the token verifies after it expired")
			}
		})
	}
	t.Run("wrong secret gives the client invalid_client", func(t *testing.T) {
		other, _ := f.secret(f.app("Other", "search-match"), 30)
		cc := clientcredentials.Config{ClientID: app.ClientID, ClientSecret: other, TokenURL: srv.URL + oauth.TokenPath, AuthStyle: oauth2.AuthStyleInHeader}
		_, err := cc.Token(context.Background())
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != oauth.CodeInvalidClient || re.Response.StatusCode != http.StatusUnauthorized {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestTokenErrors(t *testing.T) {
	f := newFixture(t, lenient())
	app := f.app("Search", "search-match", "match-connect")
	value, _ := f.secret(app, 30)
	otherApp := f.app("Other", "search-match")
	otherValue, _ := f.secret(otherApp, 30)
	deletedValue, deletedID := f.secret(app, 30)
	if err := f.service.DeleteSecret(context.Background(), admin, app.ID, deletedID, true, portalRequest()); err != nil {
		t.Fatal(err)
	}
	bare := f.app("Bare")
	bareValue, _ := f.secret(bare, 30)
	wellFormedWrong, _ := oauth.DefaultConfig("").Format.Generate(rand.Reader)
	unknownClient := newClientID(t)

	cases := []struct {
		name   string
		req    tokenRequest
		status int
		code   string
	}{
		{"basic", basicRequest(app.ClientID, value, ""), 200, ""},
		{"post", postRequest(app.ClientID, value, ""), 200, ""},
		{"post, base64 body", func() tokenRequest { r := postRequest(app.ClientID, value, ""); r.base64 = true; return r }(), 200, ""},
		{"scope within the APIs", basicRequest(app.ClientID, value, "scope=search-match"), 200, ""},
		{"wrong secret", basicRequest(app.ClientID, wellFormedWrong, ""), 401, oauth.CodeInvalidClient},
		{"secret of another application", basicRequest(app.ClientID, otherValue, ""), 401, oauth.CodeInvalidClient},
		{"secret of another application, post", postRequest(app.ClientID, otherValue, ""), 401, oauth.CodeInvalidClient},
		{"deleted secret", basicRequest(app.ClientID, deletedValue, ""), 401, oauth.CodeInvalidClient},
		{"unknown client id", basicRequest(unknownClient, value, ""), 401, oauth.CodeInvalidClient},
		{"malformed client id", basicRequest("not a client id", value, ""), 401, oauth.CodeInvalidClient},
		{"malformed secret", basicRequest(app.ClientID, "cps_short", ""), 401, oauth.CodeInvalidClient},
		{"bad checksum", basicRequest(app.ClientID, flipLast(value), ""), 401, oauth.CodeInvalidClient},
		{"wrong grant type", tokenRequest{authorization: basicAuth(app.ClientID, value), contentType: "application/x-www-form-urlencoded", body: "grant_type=password&username=a&password=b"}, 400, oauth.CodeUnsupportedGrantType},
		{"missing grant type", tokenRequest{authorization: basicAuth(app.ClientID, value), contentType: "application/x-www-form-urlencoded", body: "scope=search-match"}, 400, oauth.CodeInvalidRequest},
		{"scope outside the APIs", basicRequest(app.ClientID, value, "scope=search-match+data-manager"), 400, oauth.CodeInvalidScope},
		{"scope with bad characters", basicRequest(app.ClientID, value, "scope=search%5Cmatch"), 400, oauth.CodeInvalidScope},
		{"application without APIs", basicRequest(bare.ClientID, bareValue, ""), 400, oauth.CodeUnauthorizedClient},
		{"no credentials", tokenRequest{contentType: "application/x-www-form-urlencoded", body: "grant_type=client_credentials"}, 401, oauth.CodeInvalidClient},
		{"client_id without secret", postRequest(app.ClientID, "", ""), 401, oauth.CodeInvalidClient},
		{"duplicate grant_type", basicRequest(app.ClientID, value, "grant_type=client_credentials"), 400, oauth.CodeInvalidRequest},
		{"duplicate scope", basicRequest(app.ClientID, value, "scope=search-match&scope=match-connect"), 400, oauth.CodeInvalidRequest},
		{"both auth methods", basicRequest(app.ClientID, value, "client_secret="+value), 400, oauth.CodeInvalidRequest},
		{"JSON body", tokenRequest{authorization: basicAuth(app.ClientID, value), contentType: "application/json", body: `{"grant_type":"client_credentials"}`}, 400, oauth.CodeInvalidRequest},
		{"malformed base64 in Basic", tokenRequest{authorization: "Basic a%b", contentType: "application/x-www-form-urlencoded", body: "grant_type=client_credentials"}, 400, oauth.CodeInvalidRequest},
		{"malformed base64 body", tokenRequest{authorization: basicAuth(app.ClientID, value), contentType: "application/x-www-form-urlencoded", body: "!!", base64: false}, 400, oauth.CodeInvalidRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := f.call(c.req)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, resp.Body)
			}
			if resp.Headers["Cache-Control"] != "no-store" || resp.Headers["Pragma"] != "no-cache" || !strings.HasPrefix(resp.Headers["Content-Type"], "application/json") {
				t.Fatalf("headers %v", resp.Headers)
			}
			if c.code == "" {
				tokenOf(t, resp)
				return
			}
			if got := errorOf(t, resp); got != c.code {
				t.Fatalf("error %q, want %q", got, c.code)
			}
			if www := resp.Headers["WWW-Authenticate"]; (c.status == 401) != strings.HasPrefix(www, `Basic realm="`) {
				t.Fatalf("WWW-Authenticate %q with status %d", www, c.status)
			}
		})
	}
	t.Run("a base64 body that is not", func(t *testing.T) {
		r := basicRequest(app.ClientID, value, "")
		r.base64 = false
		r.body = "%%%"
		resp := f.call(r)
		if resp.StatusCode != 400 || errorOf(t, resp) != oauth.CodeInvalidRequest {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
	})
}

func flipLast(v string) string {
	last := v[len(v)-1]
	if last == 'A' {
		return v[:len(v)-1] + "B"
	}
	return v[:len(v)-1] + "A"
}

func TestMalformedSecretsNeverReachDynamoDB(t *testing.T) {
	f := newFixture(t, lenient())
	app := f.app("Search", "search-match")
	value, _ := f.secret(app, 30)
	for name, secret := range map[string]string{
		"bad checksum": flipLast(value), "too short": value[:len(value)-1], "wrong prefix": "xyz_" + value[4:], "not base62": value[:10] + "-" + value[11:],
	} {
		t.Run(name, func(t *testing.T) {
			f.calls.Reset()
			resp := f.call(basicRequest(app.ClientID, secret, ""))
			if resp.StatusCode != 401 || errorOf(t, resp) != oauth.CodeInvalidClient {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
			if n := f.calls.Reset(); total(n) != 0 {
				t.Fatalf("DynamoDB was called: %v", n)
			}
		})
	}
	t.Run("a well-formed one is looked up", func(t *testing.T) {
		f.calls.Reset()
		tokenOf(t, f.call(basicRequest(app.ClientID, value, "")))
		if n := f.calls.Reset(); total(n) == 0 {
			t.Fatal("the counting wrapper saw nothing")
		}
	})
}

func TestExpiryToTheSecond(t *testing.T) {
	f := newFixture(t, lenient())
	app := f.app("Search", "search-match")
	value, _ := f.secret(app, 1) // expires at t0 + 24h
	expires := t0.Add(24 * time.Hour)
	cases := []struct {
		at     time.Time
		status int
	}{
		{expires.Add(-time.Second), 200},
		{expires.Add(-time.Millisecond), 200},
		{expires, 401},
		{expires.Add(time.Second), 401},
	}
	for _, c := range cases {
		t.Run(c.at.Format(time.RFC3339Nano), func(t *testing.T) {
			f.clock.Set(c.at)
			resp := f.call(basicRequest(app.ClientID, value, ""))
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, resp.Body)
			}
			if c.status == 401 && errorOf(t, resp) != oauth.CodeInvalidClient {
				t.Fatal(resp.Body)
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, lenient())
	app := f.app("Search", "search-match")
	value, _ := f.secret(app, 30)
	srv := f.httpServer()
	jwksURL := srv.URL + oauth.JWKSPath

	before := tokenOf(t, f.call(basicRequest(app.ClientID, value, "")))
	_, oldKid, err := verify(t, before.AccessToken, publishedKeys(t, jwksURL), f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}

	rotated, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	text, _ := keys.EncodeSigningKey(rotated)
	if _, err := f.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(f.signingID), SecretString: aws.String(text)}); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(keys.SigningTTL) // the functions' caches expire

	after := tokenOf(t, f.call(basicRequest(app.ClientID, value, "")))
	published := publishedKeys(t, jwksURL)
	if len(published) != 2 {
		t.Fatalf("JWKS after rotation has %d keys, want current and previous", len(published))
	}
	_, newKid, err := verify(t, after.AccessToken, published, f.clock.Now())
	want, _ := keys.NewSigningKey(rotated, "")
	if err != nil || newKid != want.ID || newKid == oldKid {
		t.Fatalf("new token: kid %s (want %s, old %s), %v", newKid, want.ID, oldKid, err)
	}
	if _, kid, err := verify(t, before.AccessToken, published, f.clock.Now()); err != nil || kid != oldKid {
		t.Fatalf("a token of the previous key no longer verifies: %v", err)
	}
}

func TestLastUsedAtWrittenOncePerPrecision(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, lenient())
	app := f.app("Search", "search-match")
	value, secretID := f.secret(app, 30)
	steps := []struct {
		after  time.Duration
		writes int
		want   time.Duration
	}{
		{0, 1, 0},
		{time.Second, 0, 0},
		{time.Minute, 0, 0},
		{portal.LastUsedPrecision, 0, 0},
		{portal.LastUsedPrecision + time.Second, 1, portal.LastUsedPrecision + time.Second},
		{portal.LastUsedPrecision + 2*time.Second, 0, portal.LastUsedPrecision + time.Second},
		{3 * portal.LastUsedPrecision, 1, 3 * portal.LastUsedPrecision},
	}
	writes := 0
	for _, s := range steps {
		f.clock.Set(t0.Add(s.after))
		f.calls.Reset()
		tokenOf(t, f.call(basicRequest(app.ClientID, value, "")))
		calls := f.calls.Reset()
		n := calls["TransactWriteItems"]
		writes += n
		if n != s.writes || calls["GetItem"] != 1 || total(calls) != 1+s.writes {
			t.Fatalf("at +%v: requests %v, want one GetItem and %d writes", s.after, calls, s.writes)
		}
		sec, err := f.st.GetSecret(ctx, app.ID, secretID)
		if err != nil || sec.LastUsedAt == nil || !sec.LastUsedAt.Equal(t0.Add(s.want)) {
			t.Fatalf("at +%v: LastUsedAt %v, want %v", s.after, sec.LastUsedAt, t0.Add(s.want))
		}
	}
	if writes != 3 {
		t.Fatalf("writes %d", writes)
	}
}

func TestLastUsedAtFailureDoesNotFailTheToken(t *testing.T) {
	f := newFixture(t, lenient())
	app := f.app("Search", "search-match")
	value, _ := f.secret(app, 30)
	f.calls.SetFault(func(params any) error {
		if _, ok := params.(*dynamodb.TransactWriteItemsInput); ok {
			return errInjected
		}
		return nil
	})
	logs := testlog.Capture(t)
	tokenOf(t, f.call(basicRequest(app.ClientID, value, "")))
	if !strings.Contains(logs.String(), "lastUsedAt not written") {
		t.Fatalf("the failed write was not logged: %s", logs)
	}
}

func TestStoreFailureIsServerError(t *testing.T) {
	f := newFixture(t, lenient())
	app := f.app("Search", "search-match")
	value, _ := f.secret(app, 30)
	f.calls.SetFault(func(params any) error {
		if _, ok := params.(*dynamodb.GetItemInput); ok {
			return errInjected
		}
		return nil
	})
	logs := testlog.Capture(t)
	resp := f.call(basicRequest(app.ClientID, value, ""))
	if resp.StatusCode != 500 || errorOf(t, resp) != oauth.CodeServerError || strings.Contains(resp.Body, "injected") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	if !strings.Contains(logs.String(), "injected failure") {
		t.Fatalf("the failure was not logged: %s", logs)
	}
}

func TestLogsNeverHoldSecretsOrTokens(t *testing.T) {
	f := newFixture(t, oauth.ThrottlePolicy{Failures: 2, Window: 5 * time.Minute, Lockout: 10 * time.Minute})
	app := f.app("Search", "search-match")
	value, _ := f.secret(app, 30)
	wrong, _ := oauth.DefaultConfig("").Format.Generate(rand.Reader)
	logs := testlog.Capture(t)
	tok := tokenOf(t, f.call(basicRequest(app.ClientID, value, "")))
	tokPost := tokenOf(t, f.call(postRequest(app.ClientID, value, "")))
	for range 3 { // failures, then the lockout
		f.call(basicRequest(app.ClientID, wrong, ""))
	}
	f.call(basicRequest(app.ClientID, flipLast(value), ""))
	out := logs.String()
	for _, want := range []string{"token issued", "token refused", "locked out"} {
		if !strings.Contains(out, want) {
			t.Fatalf("logs lack %q: %s", want, out)
		}
	}
	signature := tok.AccessToken[strings.LastIndex(tok.AccessToken, ".")+1:]
	for name, leak := range map[string]string{
		"secret": value, "wrong secret": wrong, "mistyped secret": flipLast(value), "secret body": value[len("cps_"):],
		"token": tok.AccessToken, "token signature": signature, "second token": tokPost.AccessToken,
		"basic credentials": strings.TrimPrefix(basicAuth(app.ClientID, value), "Basic "),
	} {
		if strings.Contains(out, leak) {
			t.Fatalf("the logs hold the %s", name)
		}
	}
}

func TestDiscovery(t *testing.T) {
	f := newFixture(t, lenient())
	srv := f.httpServer()
	t.Run("metadata", func(t *testing.T) {
		resp, err := http.Get(srv.URL + oauth.MetadataPath)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "public, max-age=300" {
			t.Fatalf("%d %v", resp.StatusCode, resp.Header)
		}
		raw, _ := json.Marshal(m)
		want := `{"grant_types_supported":["client_credentials"],"issuer":"https://portal.example.test","jwks_uri":"https://portal.example.test/.well-known/jwks.json",` +
			`"response_types_supported":[],"scopes_supported":["search-match","search-match-sandbox","match-connect","match-connect-sandbox","data-manager","data-manager-sandbox"],` +
			`"token_endpoint":"https://portal.example.test/oauth2/token","token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","private_key_jwt"],` +
			`"token_endpoint_auth_signing_alg_values_supported":["ES256","ES384","EdDSA","Ed25519","RS256","RS384","RS512","PS256","PS384","PS512"]}`
		if string(raw) != want {
			t.Fatalf("metadata\n got %s\nwant %s", raw, want)
		}
	})
	t.Run("an empty key set before any key exists", func(t *testing.T) {
		if keys := publishedKeys(t, srv.URL+oauth.JWKSPath); len(keys) != 0 {
			t.Fatalf("%d keys", len(keys))
		}
	})
	t.Run("the key is published as soon as the token endpoint made it", func(t *testing.T) {
		app := f.app("Search", "search-match")
		value, _ := f.secret(app, 30)
		tok := tokenOf(t, f.call(basicRequest(app.ClientID, value, "")))
		if _, _, err := verify(t, tok.AccessToken, publishedKeys(t, srv.URL+oauth.JWKSPath), f.clock.Now()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("another path", func(t *testing.T) {
		resp, err := f.jwks(context.Background(), oauth.Request{RawPath: "/.well-known/other"})
		if err != nil || resp.StatusCode != 404 {
			t.Fatalf("%d %v", resp.StatusCode, err)
		}
	})
}

// A secret whose pepper version is gone cannot match, but does not stop the
// application's other secrets from working.
func TestUnreadablePepperOfOneSecret(t *testing.T) {
	f := newFixture(t, oauth.DefaultConfig("https://portal.example").Throttle)
	app := f.app("Search", "search-match")
	value, _ := f.secret(app, 30)
	orphan := portal.Secret{
		ID: newID(t, ids.Secret), ApplicationID: app.ID, Name: "Old", Hint: "abc", Hash: []byte{1, 2, 3},
		PepperVersion: "a-version-that-was-removed", CreatedAt: t0, CreatedBy: "m@partner.test", ExpiresAt: t0.AddDate(0, 0, 30),
	}
	ev := audit.Event{ID: newID(t, ids.Event), At: t0, Actor: "m@partner.test", Action: audit.SecretCreated, ApplicationID: app.ID}
	if err := f.st.AddSecret(context.Background(), orphan, 3, t0, ev, nil); err != nil {
		t.Fatal(err)
	}
	if resp := f.call(basicRequest(app.ClientID, value, "")); resp.StatusCode != 200 {
		t.Fatalf("token with the readable secret: %d %s", resp.StatusCode, resp.Body)
	}
}
