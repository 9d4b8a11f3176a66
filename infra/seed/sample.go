package seed

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"credportal/shared/audit"
	"credportal/shared/ids"
	"credportal/shared/keys"
	"credportal/shared/portal"
	"credportal/shared/secret"
	"credportal/shared/store"
)

// SampleCredentials reads the client id and secret that the Basic header of
// a token request event (events/token.json) carries.
func SampleCredentials(event []byte) (clientID, value string, err error) {
	var ev struct {
		Headers map[string]string `json:"headers"`
	}
	if err := json.Unmarshal(event, &ev); err != nil {
		return "", "", err
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(ev.Headers["authorization"], "Basic "))
	if err != nil {
		return "", "", err
	}
	rawID, rawSecret, _ := strings.Cut(string(raw), ":")
	id, _ := url.QueryUnescape(rawID)
	value, _ = url.QueryUnescape(rawSecret)
	if !portal.ValidClientID(id) || (secret.Format{Prefix: secret.DefaultPrefix}).Check(value) != nil {
		return "", "", fmt.Errorf("the sample's credentials are not well formed: %q", raw)
	}
	return id, value, nil
}

// SampleClient stores, in table, an application with clientID, granted
// search-match and match-connect, and a secret of it with value, hashed
// under the current version of the pepper secret: what the token samples of
// events/ authenticate with.
func SampleClient(ctx context.Context, cfg aws.Config, table, pepperSecretID, clientID, value string, now time.Time) error {
	now = now.UTC().Truncate(time.Second)
	st := store.New(dynamodb.NewFromConfig(cfg), table)
	pepper, err := keys.NewPeppers(secretsmanager.NewFromConfig(cfg), pepperSecretID, time.Now).Current(ctx)
	if err != nil {
		return err
	}
	id := func(kind string) string { v, _ := ids.New(kind, now, rand.Reader); return v }
	org := portal.Organisation{ID: id(ids.Organisation), Name: "Acme Ltd " + id(ids.Organisation), Country: "GB", CreatedAt: now}
	if err := st.CreateOrganisation(ctx, org); err != nil {
		return err
	}
	app := portal.Application{
		ID: id(ids.Application), Name: "Acme Search", ClientID: clientID, APIs: []string{"search-match", "match-connect"},
		Organisation: portal.OrganisationRef{ID: org.ID, Name: org.Name}, CreatedAt: now,
	}
	const actor = "admin@operator.test"
	if err := st.CreateApplication(ctx, app, audit.Event{ID: id(ids.Event), At: now, Actor: actor, Action: audit.ApplicationCreated, ApplicationID: app.ID}); err != nil {
		return err
	}
	sec := portal.Secret{
		ID: id(ids.Secret), ApplicationID: app.ID, Name: "Sample", Hint: value[len(secret.DefaultPrefix) : len(secret.DefaultPrefix)+3],
		Hash: secret.Digest(pepper.Key, value), PepperVersion: pepper.Version, CreatedAt: now, CreatedBy: actor,
		ExpiresAt: now.Add(30 * 24 * time.Hour),
	}
	return st.AddSecret(ctx, sec, 3, now, audit.Event{ID: id(ids.Event), At: now, Actor: actor, Action: audit.SecretCreated, ApplicationID: app.ID, SecretID: sec.ID})
}
