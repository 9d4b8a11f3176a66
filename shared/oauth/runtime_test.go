package oauth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"credportal/infra/emulator/emulatortest"
	"credportal/infra/lambdarun/lambdaruntest"
	"credportal/infra/storetest"
)

// TestFunctionsUnderRuntimeEmulator builds functions/token and
// functions/jwks, runs their bootstraps under the Lambda runtime emulator
// with the environment template.yaml gives them, and invokes them with their
// sample events, against data that matches the samples' client id and secret.
func TestFunctionsUnderRuntimeEmulator(t *testing.T) {
	emu := emulatortest.ForTest(t)
	h := lambdaruntest.New(t, emu, "TokenFunction", "JwksFunction")
	portalURL := h.Locals.Params["PortalUrl"]
	refs := h.Locals.Refs

	tokenEvent := h.Event(t, "token.json")
	clientID := storetest.SampleClient(t, emu.Config(), refs["Table"], refs["PepperSecret"], tokenEvent)

	token, jwksFn := h.Start(t, "TokenFunction", nil), h.Start(t, "JwksFunction", nil)

	var tokens []string
	for _, name := range []string{"token.json", "token.post.json"} {
		resp := lambdaruntest.InvokeHTTP(t, token, h.Event(t, name))
		if resp.StatusCode != 200 || resp.Headers["Cache-Control"] != "no-store" {
			t.Fatalf("%s: %d %v %s", name, resp.StatusCode, resp.Headers, resp.Body)
		}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &tok); err != nil || tok.AccessToken == "" {
			t.Fatalf("%s: %s", name, resp.Body)
		}
		tokens = append(tokens, tok.AccessToken)
	}

	resp := lambdaruntest.InvokeHTTP(t, jwksFn, h.Event(t, "jwks.json"))
	if resp.StatusCode != 200 || resp.Headers["Cache-Control"] != "public, max-age=300" {
		t.Fatalf("jwks: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	published := parseJWKS(t, []byte(resp.Body))
	for _, tok := range tokens {
		claims := map[string]any{}
		var std jwt.Claims
		parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
		if err == nil {
			err = parsed.Claims(published[parsed.Headers[0].KeyID], &std, &claims)
		}
		if err == nil {
			err = std.Validate(jwt.Expected{Issuer: strings.TrimSuffix(portalURL, "/"), AnyAudience: jwt.Audience{"search-match"}})
		}
		if err != nil || claims["client_id"] != clientID {
			t.Fatalf("token from the sample does not verify against the JWKS: %v %v", err, claims)
		}
	}

	resp = lambdaruntest.InvokeHTTP(t, jwksFn, h.Event(t, "jwks.metadata.json"))
	var meta struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &meta); err != nil || resp.StatusCode != 200 ||
		meta.Issuer != "http://127.0.0.1:3000" || meta.TokenEndpoint != "http://127.0.0.1:3000/oauth2/token" {
		t.Fatalf("metadata: %d %s", resp.StatusCode, resp.Body)
	}
}

func parseJWKS(t *testing.T, body []byte) map[string]*ecdsa.PublicKey {
	t.Helper()
	var set struct {
		Keys []struct{ Kid, X, Y string } `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("JWKS %s: %v", body, err)
	}
	out := map[string]*ecdsa.PublicKey{}
	for _, k := range set.Keys {
		x, _ := base64.RawURLEncoding.DecodeString(k.X)
		y, _ := base64.RawURLEncoding.DecodeString(k.Y)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			t.Fatal(err)
		}
		out[k.Kid] = pub
	}
	return out
}
