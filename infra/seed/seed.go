// Package seed writes the local stack's demo data — two organisations, three
// applications, their designations and secrets — through the portal's own
// admin and secret services, as an admin and the credential managers would
// through the API. It is idempotent: what exists (found by name) is left as
// it is, so a second run changes nothing.
package seed

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"credportal/shared/config"
	"credportal/shared/directory"
	"credportal/shared/keys"
	"credportal/shared/portal"
	"credportal/shared/store"
)

// User is a demo user.
type User struct {
	Email string `json:"email"`
	Admin bool   `json:"admin"`
	Note  string `json:"note"`
}

// AdminEmail is the demo admin; the token of GET /local/token?admin=true
// puts them in the admin group.
const AdminEmail = "admin@registry.example"

// Users are the demo users.
var Users = []User{
	{Email: AdminEmail, Admin: true, Note: "operator IT team (admin)"},
	{Email: "alice@acme.example", Note: "Acme Ltd: credential manager of Acme Search and Acme Data Sync"},
	{Email: "bob@acme.example", Note: "Acme Ltd: credential manager of Acme Search"},
	{Email: "victor@acme.example", Note: "Acme Ltd: viewer of Acme Search"},
	{Email: "carol@globex.example", Note: "Globex GmbH: credential manager of Globex Matching"},
	{Email: "dave@globex.example", Note: "Globex GmbH: credential manager of Globex Matching"},
}

// Organisation is one demo organisation.
type Organisation struct {
	Name, Country string
	Applications  []Application
}

// Application is one demo application.
type Application struct {
	Name     string
	APIs     []string
	Managers []string
	Viewers  []string
	Secrets  []Secret
	// Federated are federated credentials naming the local stack's
	// loopback issuer (Config.FederatedIssuer).
	Federated []Federated
}

// Federated is one demo federated credential: a token of the local issuer
// for Subject, with the default audience, authenticates its application.
type Federated struct {
	Name, Subject string
}

// DemoSubject is the subject of the demo federated credential, in GitHub
// Actions' format.
const DemoSubject = "repo:acme/search-sync:ref:refs/heads/main"

// Secret is one demo secret: created Age ago, expiring Left from now (a
// negative Left has expired), last used UsedAgo ago (zero: never).
type Secret struct {
	Name    string
	Age     time.Duration
	Left    time.Duration
	UsedAgo time.Duration
}

const day = 24 * time.Hour

// Data is the demo data.
var Data = []Organisation{
	{Name: "Acme Ltd", Country: "GB", Applications: []Application{
		{
			Name: "Acme Search", APIs: []string{"search-match", "match-connect"},
			Managers: []string{"alice@acme.example", "bob@acme.example"}, Viewers: []string{"victor@acme.example"},
			Secrets: []Secret{
				{Name: "Production key", Age: 300 * day, Left: 5 * day, UsedAgo: 3 * time.Hour},
				{Name: "Rotation 2026", Age: 2 * day, Left: 90 * day, UsedAgo: 20 * time.Minute},
			},
			Federated: []Federated{{Name: "Deploy from main (local issuer)", Subject: DemoSubject}},
		},
		{
			Name: "Acme Data Sync", APIs: []string{"data-manager", "data-manager-sandbox"},
			Managers: []string{"alice@acme.example"},
			Secrets: []Secret{
				{Name: "Nightly sync", Age: 92 * day, Left: -2 * day},
				{Name: "Sync 2026", Age: 65 * day, Left: 25 * day},
			},
		},
	}},
	{Name: "Globex GmbH", Country: "DE", Applications: []Application{
		{
			Name: "Globex Matching", APIs: []string{"match-connect", "search-match-sandbox"},
			Managers: []string{"carol@globex.example", "dave@globex.example"},
			Secrets: []Secret{
				{Name: "Matching 2026", Age: 30 * day, Left: 200 * day},
				{Name: "Matching legacy", Age: 300 * day, Left: day},
			},
		},
	}},
}

// Config is what seeding needs: the emulator's (or an account's) SDK
// configuration and the functions' environment (table, pepper, policy).
type Config struct {
	AWS aws.Config
	Env config.Env
	Now func() time.Time
	// FederatedIssuer and FederatedAudience are the issuer and audience of
	// the demo federated credentials; none are written without an issuer.
	FederatedIssuer, FederatedAudience string
}

// CreatedSecret is a demo secret created by this run, with its value (shown
// only once).
type CreatedSecret struct {
	Organisation string    `json:"organisation"`
	Application  string    `json:"application"`
	ClientID     string    `json:"clientId"`
	SecretID     string    `json:"secretId"`
	Name         string    `json:"name"`
	Value        string    `json:"value"`
	ExpiresAt    time.Time `json:"expiresAt"`
}

// Result is what a run did.
type Result struct {
	// Created is false when the demo data was there already.
	Created bool
	// Secrets are the secrets this run created, with their values.
	Secrets []CreatedSecret
	// Applications maps each demo application's name to its id.
	Applications map[string]string
}

// seeder is the request context of the demo data's audit events.
var seeder = portal.Request{SourceIP: "127.0.0.1", UserAgent: "credportal-seed", RequestID: "seed"}

// Run writes whatever of Data is missing.
func Run(ctx context.Context, cfg Config) (Result, error) {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	st := store.New(dynamodb.NewFromConfig(cfg.AWS), cfg.Env.TableName)
	peppers := keys.NewPeppers(secretsmanager.NewFromConfig(cfg.AWS), cfg.Env.PepperSecretID, now)
	admin := portal.NewAdmin(st, cfg.Env.Portal, now, rand.Reader, directory.None{})
	root := portal.Caller{Email: AdminEmail, Admin: true}
	res := Result{Applications: map[string]string{}}
	waiting, err := st.PendingNotices(ctx, 1000)
	if err != nil {
		return res, err
	}

	orgs, err := existingOrganisations(ctx, admin, root)
	if err != nil {
		return res, err
	}
	apps, err := existingApplications(ctx, st)
	if err != nil {
		return res, err
	}
	for _, o := range Data {
		org, ok := orgs[o.Name]
		if !ok {
			if org, err = admin.CreateOrganisation(ctx, root, portal.OrganisationInput{Name: o.Name, Country: o.Country}, seeder); err != nil {
				return res, fmt.Errorf("create organisation %s: %w", o.Name, err)
			}
			res.Created = true
		}
		for _, a := range o.Applications {
			app, ok := apps[org.ID+"\x00"+a.Name]
			if !ok {
				created, err := admin.CreateApplication(ctx, root, org.ID, portal.ApplicationInput{Name: a.Name, APIs: a.APIs}, seeder)
				if err != nil {
					return res, fmt.Errorf("create application %s: %w", a.Name, err)
				}
				app = portal.Application{ID: created.ID, ClientID: created.ClientID, Name: created.Name}
				res.Created = true
			}
			res.Applications[a.Name] = app.ID
			if err := designate(ctx, admin, st, root, app.ID, a, &res); err != nil {
				return res, err
			}
			if err := addSecrets(ctx, cfg, st, peppers, now, o, a, app, &res); err != nil {
				return res, err
			}
			if err := addFederated(ctx, cfg, st, now, a, app.ID); err != nil {
				return res, err
			}
		}
	}
	return res, dropNotices(ctx, st, waiting)
}

// dropNotices removes from the outbox the security notices seeding left
// (those not waiting before it): the demo data is history, not news, and
// starting the local stack mails no one.
func dropNotices(ctx context.Context, st *store.Store, waiting []string) error {
	for {
		ids, err := st.PendingNotices(ctx, 1000)
		if err != nil {
			return err
		}
		dropped := 0
		for _, id := range ids {
			if slices.Contains(waiting, id) {
				continue
			}
			if err := st.NoticeDelivered(ctx, id); err != nil {
				return err
			}
			dropped++
		}
		if dropped == 0 {
			return nil
		}
	}
}

func existingOrganisations(ctx context.Context, admin *portal.Admin, root portal.Caller) (map[string]portal.Organisation, error) {
	out := map[string]portal.Organisation{}
	cursor := ""
	for {
		page, err := admin.ListOrganisations(ctx, root, cursor)
		if err != nil {
			return nil, fmt.Errorf("list organisations: %w", err)
		}
		for _, o := range page.Items {
			out[o.Name] = o
		}
		if page.Next == "" {
			return out, nil
		}
		cursor = page.Next
	}
}

// existingApplications indexes the applications by organisation id and name.
func existingApplications(ctx context.Context, st *store.Store) (map[string]portal.Application, error) {
	out := map[string]portal.Application{}
	cursor := ""
	for {
		page, err := st.ListApplications(ctx, cursor, 100)
		if err != nil {
			return nil, fmt.Errorf("list applications: %w", err)
		}
		for _, a := range page.Items {
			out[a.Organisation.ID+"\x00"+a.Name] = a
		}
		if page.Next == "" {
			return out, nil
		}
		cursor = page.Next
	}
}

func designate(ctx context.Context, admin *portal.Admin, st *store.Store, root portal.Caller, appID string, a Application, res *Result) error {
	have, err := st.ListDesignations(ctx, appID)
	if err != nil {
		return fmt.Errorf("list designations of %s: %w", a.Name, err)
	}
	roles := map[string]portal.Role{}
	for _, d := range have {
		roles[d.Email] = d.Role
	}
	want := map[string]portal.Role{}
	for _, e := range a.Managers {
		want[e] = portal.RoleCredentialManager
	}
	for _, e := range a.Viewers {
		want[e] = portal.RoleViewer
	}
	for _, e := range append(append([]string{}, a.Managers...), a.Viewers...) {
		if _, ok := roles[e]; ok {
			continue
		}
		if _, err := admin.SetDesignation(ctx, root, appID, e, want[e], seeder); err != nil {
			return fmt.Errorf("designate %s on %s: %w", e, a.Name, err)
		}
		res.Created = true
	}
	return nil
}

// addSecrets creates the application's demo secrets it lacks (by name), each
// as its first credential manager would have: by a service whose clock is
// set back to the secret's creation, so expiry and audit times are
// consistent.
func addSecrets(ctx context.Context, cfg Config, st *store.Store, peppers *keys.Peppers, now func() time.Time, o Organisation, a Application, app portal.Application, res *Result) error {
	have := map[string]bool{}
	cursor := ""
	for {
		page, err := st.ListSecrets(ctx, app.ID, cursor, 100)
		if err != nil {
			return fmt.Errorf("list secrets of %s: %w", a.Name, err)
		}
		for _, s := range page.Items {
			have[s.Name] = true
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	// Created with the authority of an admin (whose right needs no
	// designation) in the name of the first manager: seeding binds no
	// designation to an identity, so the demo users' first sign-in does.
	manager := portal.Caller{Email: a.Managers[0], Admin: true}
	for _, s := range a.Secrets {
		if have[s.Name] {
			continue
		}
		realNow := now()
		createdAt := realNow.Add(-s.Age)
		// An hour's margin, so "5 days left" reads as 5 days for a while.
		expiresAt := realNow.Add(s.Left + time.Hour).UTC().Truncate(time.Second)
		svc := portal.NewService(st, peppers, cfg.Env.Portal, func() time.Time { return createdAt }, rand.Reader)
		created, err := svc.CreateSecret(ctx, manager, app.ID, portal.CreateSecretInput{Name: s.Name, ExpiresAt: &expiresAt}, seeder)
		if err != nil {
			return fmt.Errorf("create secret %q of %s: %w", s.Name, a.Name, err)
		}
		if s.UsedAgo > 0 {
			if _, err := st.MarkSecretUsed(ctx, app.ClientID, app.ID, created.ID, realNow.Add(-s.UsedAgo)); err != nil {
				return fmt.Errorf("mark secret %q used: %w", s.Name, err)
			}
		}
		res.Created = true
		res.Secrets = append(res.Secrets, CreatedSecret{
			Organisation: o.Name, Application: a.Name, ClientID: app.ClientID, SecretID: created.ID,
			Name: s.Name, Value: created.Value, ExpiresAt: created.ExpiresAt,
		})
	}
	return nil
}

// WriteSecrets writes the secrets a run created, with their values, to path
// (readable by the owner only), so the token endpoint can be tried with
// them. Nothing is written when the run created none.
func WriteSecrets(path string, secrets []CreatedSecret) error {
	if len(secrets) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(map[string]any{"secrets": secrets}, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(raw, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// addFederated writes the application's demo federated credentials that it
// lacks (by name).
func addFederated(ctx context.Context, cfg Config, st *store.Store, now func() time.Time, a Application, appID string) error {
	if cfg.FederatedIssuer == "" || len(a.Federated) == 0 {
		return nil
	}
	have, err := st.ListFederatedCredentials(ctx, appID)
	if err != nil {
		return err
	}
	names := map[string]bool{}
	for _, fc := range have {
		names[fc.Name] = true
	}
	svc := portal.NewFederatedService(portal.NewService(st, nil, cfg.Env.Portal, now, rand.Reader), st, portal.Federation{
		TrustedIssuers: []string{cfg.FederatedIssuer}, DefaultAudience: cfg.FederatedAudience, Limit: portal.DefaultFederatedLimit,
	})
	root := portal.Caller{Email: AdminEmail, Admin: true}
	for _, f := range a.Federated {
		if names[f.Name] {
			continue
		}
		if _, err := svc.CreateFederatedCredential(ctx, root, appID, portal.CreateFederatedInput{Name: f.Name, Issuer: cfg.FederatedIssuer, Subject: f.Subject}, seeder); err != nil {
			return fmt.Errorf("create federated credential %s: %w", f.Name, err)
		}
	}
	return nil
}
