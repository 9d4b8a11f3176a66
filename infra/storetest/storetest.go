// Package storetest writes test data straight into the store: an
// organisation, an application with its designations, secrets, each with
// the audit event the portal's services write with it. Tests start from the
// state they need in a call, and say only what matters to them.
package storetest

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"time"

	"credportal/infra/emulator/emulatortest"
	"credportal/shared/audit"
	"credportal/shared/ids"
	"credportal/shared/portal"
	"credportal/shared/publickey"
	"credportal/shared/store"
)

// Admin is who the data is written as.
const Admin = "admin@operator.test"

// ID returns a new id of kind (ids.Application, …) minted at at.
func ID(t emulatortest.TB, kind string, at time.Time) string {
	t.Helper()
	id, err := ids.New(kind, at, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// orNow is at, or the current time when at is zero.
func orNow(at time.Time) time.Time {
	if at.IsZero() {
		return time.Now().UTC().Truncate(time.Second)
	}
	return at
}

// event is the audit event the services write with a change.
func event(t emulatortest.TB, action, appID, secretID string, at time.Time) audit.Event {
	return audit.Event{ID: ID(t, ids.Event, at), At: at, Actor: Admin, Action: action, ApplicationID: appID, SecretID: secretID}
}

// CreateOrganisation creates o in st. What o leaves empty is made up: the
// id, a unique name, the country GB; CreatedAt zero is now.
func CreateOrganisation(t emulatortest.TB, st *store.Store, o portal.Organisation) portal.Organisation {
	t.Helper()
	o.CreatedAt = orNow(o.CreatedAt)
	o.ID = cmp.Or(o.ID, ID(t, ids.Organisation, o.CreatedAt))
	o.Name = cmp.Or(o.Name, emulatortest.UniqueName("Org "))
	o.Country = cmp.Or(o.Country, "GB")
	if err := st.CreateOrganisation(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	return o
}

// App is an application to create.
type App struct {
	portal.Application
	// Designations are the application's people and their roles.
	Designations map[string]portal.Role
}

// CreateApp creates an application in st with its designations, made at
// a.CreatedAt (zero: now). What a leaves empty is made up: the id, the name
// "App", a unique client id, the API search-match, and an organisation of
// its own (created).
func CreateApp(t emulatortest.TB, st *store.Store, a App) portal.Application {
	t.Helper()
	ctx := context.Background()
	app := a.Application
	app.CreatedAt = orNow(app.CreatedAt)
	if app.Organisation.ID == "" {
		o := CreateOrganisation(t, st, portal.Organisation{CreatedAt: app.CreatedAt})
		app.Organisation = portal.OrganisationRef{ID: o.ID, Name: o.Name}
	}
	app.ID = cmp.Or(app.ID, ID(t, ids.Application, app.CreatedAt))
	app.Name = cmp.Or(app.Name, "App")
	app.ClientID = cmp.Or(app.ClientID, strings.ToLower(emulatortest.UniqueName("client")))
	if app.APIs == nil {
		app.APIs = []string{"search-match"}
	}
	if err := st.CreateApplication(ctx, app, event(t, audit.ApplicationCreated, app.ID, "", app.CreatedAt)); err != nil {
		t.Fatal(err)
	}
	for email, role := range a.Designations {
		d := portal.Designation{ApplicationID: app.ID, Email: email, Role: role, CreatedAt: app.CreatedAt, CreatedBy: Admin}
		ev := event(t, audit.DesignationSet, app.ID, "", app.CreatedAt)
		if err := st.PutDesignation(ctx, d, ev); err != nil {
			t.Fatal(err)
		}
		// The application is the test's starting point, not a change under
		// test: the designations' notices are taken as delivered.
		if err := st.NoticeDelivered(ctx, ev.ID); err != nil {
			t.Fatal(err)
		}
	}
	return app
}

// Designations designates managers credential managers and viewers
// viewers.
func Designations(managers, viewers []string) map[string]portal.Role {
	out := map[string]portal.Role{}
	for _, e := range managers {
		out[e] = portal.RoleCredentialManager
	}
	for _, e := range viewers {
		out[e] = portal.RoleViewer
	}
	return out
}

// AddSecret adds s to its application (s.ApplicationID) in st, made at
// s.CreatedAt (zero: now), with room for 20 active secrets. What s leaves
// empty is made up: the id, the name "Key", a hint, a hash and its pepper
// version, its creator.
func AddSecret(t emulatortest.TB, st *store.Store, s portal.Secret) portal.Secret {
	t.Helper()
	s.CreatedAt = orNow(s.CreatedAt)
	s.ID = cmp.Or(s.ID, ID(t, ids.Secret, s.CreatedAt))
	s.Name = cmp.Or(s.Name, "Key")
	s.Hint = cmp.Or(s.Hint, "x9z")
	if s.Hash == nil {
		s.Hash, s.PepperVersion = []byte{1, 2, 3}, "v1"
	}
	s.CreatedBy = cmp.Or(s.CreatedBy, "manager@partner.test")
	if err := st.AddSecret(context.Background(), s, 20, s.CreatedAt, event(t, audit.SecretCreated, s.ApplicationID, s.ID, s.CreatedAt), nil); err != nil {
		t.Fatal(err)
	}
	return s
}

// AddKey adds the public key k to its application in st. What k leaves
// empty is made up: the id, a name, the creator, and a fresh Ed25519 public
// key (with its thumbprint and algorithm); CreatedAt zero is now.
func AddKey(t emulatortest.TB, st *store.Store, k portal.Key) portal.Key {
	t.Helper()
	k.CreatedAt = orNow(k.CreatedAt)
	k.ID = cmp.Or(k.ID, ID(t, ids.Key, k.CreatedAt))
	k.Name = cmp.Or(k.Name, "Key")
	k.CreatedBy = cmp.Or(k.CreatedBy, "manager@partner.test")
	if k.DER == nil {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := publickey.Parse(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		if err != nil {
			t.Fatal(err)
		}
		k.DER, k.Thumbprint, k.Algorithms, k.Type = parsed.DER, parsed.Thumbprint, parsed.Algorithms, parsed.Type
	}
	ev := event(t, audit.KeyCreated, k.ApplicationID, "", k.CreatedAt)
	ev.Details = map[string]string{"keyId": k.ID, "keyName": k.Name, "thumbprint": k.Thumbprint}
	if err := st.AddKey(context.Background(), k, 20, k.CreatedAt, ev, nil); err != nil {
		t.Fatal(err)
	}
	return k
}
