package oauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/golang-jwt/jwt/v5"

	"credportal/infra/emulator"
	"credportal/infra/lambdarun"
	"credportal/infra/template"
	"credportal/shared/audit"
	"credportal/shared/ids"
	"credportal/shared/keys"
	"credportal/shared/portal"
	"credportal/shared/secret"
	"credportal/shared/store"
)

// lambdaResponse is what a function under the runtime emulator answers.
type lambdaResponse struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
}

// TestFunctionsUnderRuntimeEmulator builds functions/token and
// functions/jwks, runs their bootstraps under the Lambda runtime emulator
// with the environment template.yaml gives them, and invokes them with their
// sample events, against data that matches the samples' client id and secret.
func TestFunctionsUnderRuntimeEmulator(t *testing.T) {
	ctx := context.Background()
	emu := emulator.ForTest(t)
	tmpl, root, err := template.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	fns := map[string]template.Function{}
	for _, f := range tmpl.Functions() {
		if f.LogicalID == "TokenFunction" || f.LogicalID == "JwksFunction" {
			fns[f.LogicalID] = f
		}
	}
	if len(fns) != 2 {
		t.Fatalf("template.yaml lacks the token or jwks function: %v", fns)
	}
	build, err := lambdarun.BuildFunctions(ctx, root, lambdarun.DefaultDir(root), fns["TokenFunction"].Package, fns["JwksFunction"].Package)
	if err != nil {
		t.Fatal(err)
	}

	const portalURL = "http://127.0.0.1:3000/"
	refs := map[string]string{}
	for id := range tmpl.Resources {
		refs[id] = "local-" + id
	}
	refs["Table"], refs["PepperSecret"], refs["SigningKeySecret"] = emu.NewTable(t), emu.NewSecret(t), emu.NewSecret(t)
	locals := template.Locals{Refs: refs, Params: map[string]string{"PortalUrl": portalURL}, Pseudo: map[string]string{"AWS::Region": emulator.Region}}

	tokenEvent := readEvent(t, root, "token.json")
	clientID, value := sampleCredentials(t, tokenEvent)
	seedSample(t, emu, refs["Table"], refs["PepperSecret"], clientID, value)

	start := func(fn template.Function) *lambdarun.Instance {
		env, err := lambdarun.Env(tmpl, fn, locals, emu.URL, emulator.Region)
		if err != nil {
			t.Fatal(err)
		}
		in, err := build.Start(ctx, fn, env, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(in.Stop)
		return in
	}
	invoke := func(in *lambdarun.Instance, event []byte) lambdaResponse {
		out, err := in.Invoke(ctx, event)
		if err != nil {
			t.Fatal(err)
		}
		var resp lambdaResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return resp
	}
	token, jwksFn := start(fns["TokenFunction"]), start(fns["JwksFunction"])

	var tokens []string
	for _, name := range []string{"token.json", "token.post.json"} {
		resp := invoke(token, readEvent(t, root, name))
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

	resp := invoke(jwksFn, readEvent(t, root, "jwks.json"))
	if resp.StatusCode != 200 || resp.Headers["Cache-Control"] != "public, max-age=300" {
		t.Fatalf("jwks: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	published := parseJWKS(t, []byte(resp.Body))
	for _, tok := range tokens {
		claims := jwt.MapClaims{}
		_, err := jwt.ParseWithClaims(tok, claims, func(tk *jwt.Token) (any, error) {
			kid, _ := tk.Header["kid"].(string)
			return published[kid], nil
		}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer(strings.TrimSuffix(portalURL, "/")), jwt.WithAudience("search-match"))
		if err != nil || claims["client_id"] != clientID {
			t.Fatalf("token from the sample does not verify against the JWKS: %v %v", err, claims)
		}
	}

	resp = invoke(jwksFn, readEvent(t, root, "jwks.metadata.json"))
	var meta struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &meta); err != nil || resp.StatusCode != 200 ||
		meta.Issuer != "http://127.0.0.1:3000" || meta.TokenEndpoint != "http://127.0.0.1:3000/oauth2/token" {
		t.Fatalf("metadata: %d %s", resp.StatusCode, resp.Body)
	}
}

func readEvent(t *testing.T, root, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// sampleCredentials reads the client id and secret the sample's Basic
// header carries.
func sampleCredentials(t *testing.T, event []byte) (string, string) {
	t.Helper()
	var ev struct {
		Headers map[string]string `json:"headers"`
	}
	if err := json.Unmarshal(event, &ev); err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(ev.Headers["authorization"], "Basic "))
	if err != nil {
		t.Fatal(err)
	}
	rawID, rawSecret, _ := strings.Cut(string(raw), ":")
	id, _ := url.QueryUnescape(rawID)
	value, _ := url.QueryUnescape(rawSecret)
	if !portal.ValidClientID(id) || (secret.Format{Prefix: secret.DefaultPrefix}).Check(value) != nil {
		t.Fatalf("the sample's credentials are not well formed: %q", raw)
	}
	return id, value
}

// seedSample stores an application with the sample's client id and a secret
// with the sample's value, hashed under the table's pepper.
func seedSample(t *testing.T, emu *emulator.Emulator, table, pepperID, clientID, value string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	st := store.New(dynamodb.NewFromConfig(emu.Config()), table)
	pepper, err := keys.NewPeppers(secretsmanager.NewFromConfig(emu.Config()), pepperID, time.Now).Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	org := portal.Organisation{ID: newID(t, ids.Organisation), Name: "Acme Ltd", Country: "GB", CreatedAt: now}
	if err := st.CreateOrganisation(ctx, org); err != nil {
		t.Fatal(err)
	}
	app := portal.Application{
		ID: newID(t, ids.Application), Name: "Acme Search", ClientID: clientID, APIs: []string{"search-match", "match-connect"},
		Organisation: portal.OrganisationRef{ID: org.ID, Name: org.Name}, CreatedAt: now,
	}
	if err := st.CreateApplication(ctx, app, audit.Event{ID: newID(t, ids.Event), At: now, Actor: "admin@operator.test", Action: audit.ApplicationCreated, ApplicationID: app.ID}); err != nil {
		t.Fatal(err)
	}
	sec := portal.Secret{
		ID: newID(t, ids.Secret), ApplicationID: app.ID, Name: "Sample", Hint: value[4:7],
		Hash: secret.Digest(pepper.Key, value), PepperVersion: pepper.Version, CreatedAt: now, CreatedBy: "admin@operator.test",
		ExpiresAt: now.Add(30 * 24 * time.Hour),
	}
	if err := st.AddSecret(ctx, sec, 3, now, audit.Event{ID: newID(t, ids.Event), At: now, Actor: "admin@operator.test", Action: audit.SecretCreated, ApplicationID: app.ID, SecretID: sec.ID}); err != nil {
		t.Fatal(err)
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
