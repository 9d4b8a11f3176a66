package storetest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"credportal/infra/emulator/emulatortest"
	"credportal/shared/keys"
	"credportal/shared/portal"
	"credportal/shared/secret"
	"credportal/shared/store"
)

// SampleClient stores, in table, what a token request event of events/
// authenticates with: an application with the client id its Basic header
// carries, granted search-match and match-connect, and a secret with its
// value, hashed under the current version of the pepper secret. It returns
// the client id.
func SampleClient(t emulatortest.TB, cfg aws.Config, table, pepperSecretID string, event []byte) string {
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
	clientID, _ := url.QueryUnescape(rawID)
	value, _ := url.QueryUnescape(rawSecret)
	if !portal.ValidClientID(clientID) || (secret.Format{Prefix: secret.DefaultPrefix}).Check(value) != nil {
		t.Fatalf("the sample's credentials are not well formed: %q", raw)
	}
	pepper, err := keys.NewPeppers(secretsmanager.NewFromConfig(cfg), pepperSecretID, time.Now).Current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(dynamodb.NewFromConfig(cfg), table)
	now := time.Now().UTC().Truncate(time.Second)
	app := CreateApp(t, st, App{Application: portal.Application{
		Name: "Acme Search", ClientID: clientID, APIs: []string{"search-match", "match-connect"}, CreatedAt: now,
	}})
	AddSecret(t, st, portal.Secret{
		ApplicationID: app.ID, Name: "Sample", Hint: value[len(secret.DefaultPrefix) : len(secret.DefaultPrefix)+3],
		Hash: secret.Digest(pepper.Key, value), PepperVersion: pepper.Version, CreatedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour),
	})
	return clientID
}
