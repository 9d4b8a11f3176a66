package localstack

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"credportal/infra/seed"
	"credportal/shared/federation"
)

// TestLoopbackIssuer: the stack serves an OpenID Connect issuer that the
// federation package, as the token function runs it, accepts; its tokens
// match the demo federated credential.
func TestLoopbackIssuer(t *testing.T) {
	issuer := stack.URL + IssuerPath
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	r := call(t, http.MethodGet, IssuerPath+"/.well-known/openid-configuration", "", "", "")
	r.json(t, &disc)
	if r.status != http.StatusOK || disc.Issuer != issuer || disc.JWKSURI != issuer+"/jwks" {
		t.Fatalf("discovery: %d %s", r.status, r.body)
	}

	var got struct {
		Token string `json:"token"`
	}
	r = call(t, http.MethodGet, IssuerPath+"/token?sub="+url.QueryEscape(seed.DemoSubject)+"&aud="+url.QueryEscape(stack.URL), "", "", "")
	r.json(t, &got)
	if r.status != http.StatusOK || got.Token == "" {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	if r := call(t, http.MethodGet, IssuerPath+"/token?aud=x", "", "", ""); r.status != http.StatusBadRequest {
		t.Errorf("a token without sub: %d %s", r.status, r.body)
	}

	// The demo credential, as Alice lists it.
	var list struct {
		Items []struct {
			ID, Name, Issuer, Subject, Audience string
		} `json:"items"`
	}
	appID := stack.Seeded.Applications["Acme Search"]
	r = call(t, http.MethodGet, "/v1/applications/"+appID+"/federated-credentials", token(t, "alice@acme.example", false), "", "")
	r.json(t, &list)
	if r.status != http.StatusOK || len(list.Items) != 1 || list.Items[0].Issuer != issuer || list.Items[0].Subject != seed.DemoSubject || list.Items[0].Audience != stack.URL {
		t.Fatalf("Acme Search's federated credentials: %d %s", r.status, r.body)
	}

	// The token endpoint takes it as the demo credential's client assertion.
	var clientID string
	for _, sec := range stack.Seeded.Secrets {
		if sec.Application == "Acme Search" {
			clientID = sec.ClientID
		}
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {got.Token}}
	r = call(t, http.MethodPost, "/oauth2/token", "", "application/x-www-form-urlencoded", form.Encode())
	var issued struct {
		AccessToken string `json:"access_token"`
	}
	r.json(t, &issued)
	if r.status != http.StatusOK || issued.AccessToken == "" {
		t.Fatalf("token with the local issuer's token: %d %s", r.status, r.body)
	}

	trusted, err := federation.Trusted{}.WithLoopback(issuer)
	if err != nil {
		t.Fatal(err)
	}
	v := federation.NewVerifier(trusted, federation.NewHTTPClient(), time.Now)
	creds := []federation.Credential{{ID: list.Items[0].ID, Issuer: issuer, Subject: seed.DemoSubject, Audience: stack.URL}}
	if c, err := v.Verify(context.Background(), got.Token, creds); err != nil || c.ID != list.Items[0].ID {
		t.Fatalf("the local issuer's token does not verify: %v", err)
	}
}
