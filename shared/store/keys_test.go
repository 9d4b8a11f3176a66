package store_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"slices"
	"testing"
	"time"

	"credportal/shared/audit"
	"credportal/shared/ids"
	"credportal/shared/portal"
)

func newKey(t *testing.T, appID string, expires time.Time) portal.Key {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	id := newID(t, ids.Key)
	return portal.Key{
		ID: id, ApplicationID: appID, Name: "k", Type: "public_key", Thumbprint: "tp-" + id,
		Algorithms: []string{"EdDSA"}, DER: der, CreatedAt: t0, CreatedBy: "m@partner.test", ExpiresAt: expires,
	}
}

func keyIDs(c portal.Client) []string {
	var out []string
	for _, k := range c.Keys {
		out = append(out, k.ID)
	}
	slices.Sort(out)
	return out
}

// Keys added to an application whose client item has the old layout
// authenticate before the migration (through the fallback reads), and after
// it from the client item alone; the migration copies them, with their
// lastUsedAt, and a second run changes nothing.
func TestKeysAcrossTheClientMigration(t *testing.T) {
	ctx := context.Background()
	r := newRawTable(t)
	app := r.putOldLayout(t, []string{"search-match"}, oldSecret{newID(t, ids.Secret), t0.Add(48 * time.Hour), nil})
	k1, k2 := newKey(t, app.ID, t0.Add(48*time.Hour)), newKey(t, app.ID, t0.Add(24*time.Hour))
	for _, k := range []portal.Key{k1, k2} {
		if err := r.st.AddKey(ctx, k, 5, t0, event(t, app.ID, audit.KeyCreated), nil); err != nil {
			t.Fatal(err)
		}
	}
	if wrote, err := r.st.MarkKeyUsed(ctx, app.ClientID, app.ID, k1.ID, t0); err != nil || !wrote {
		t.Fatalf("MarkKeyUsed on the old layout = %v, %v", wrote, err)
	}
	c, err := r.counted.Client(ctx, app.ClientID)
	if err != nil || !slices.Equal(keyIDs(c), sortedIDs(k1.ID, k2.ID)) {
		t.Fatalf("before the migration: %v, %v", keyIDs(c), err)
	}
	if n := r.calls.Reset(); n["GetItem"] != 2 || n["BatchGetItem"] != 2 {
		t.Fatalf("requests before the migration %v", n)
	}

	report, err := r.st.MigrateClients(ctx)
	if err != nil || report.Migrated != 1 {
		t.Fatalf("MigrateClients = %+v, %v", report, err)
	}
	c, err = r.counted.Client(ctx, app.ClientID)
	if n := r.calls.Reset(); n["GetItem"] != 1 || len(n) != 1 {
		t.Fatalf("requests after the migration %v", n)
	}
	if err != nil || !slices.Equal(keyIDs(c), sortedIDs(k1.ID, k2.ID)) || len(c.Secrets) != 1 {
		t.Fatalf("after the migration: %+v, %v", c, err)
	}
	for _, k := range c.Keys {
		want := map[string]portal.Key{k1.ID: k1, k2.ID: k2}[k.ID]
		if string(k.DER) != string(want.DER) || !slices.Equal(k.Algorithms, want.Algorithms) || !k.ExpiresAt.Equal(want.ExpiresAt) || k.Thumbprint != want.Thumbprint {
			t.Fatalf("key %+v, want %+v", k, want)
		}
		if (k.ID == k1.ID) != (k.LastUsedAt != nil) || (k.LastUsedAt != nil && !k.LastUsedAt.Equal(t0)) {
			t.Fatalf("LastUsedAt of %s = %v", k.ID, k.LastUsedAt)
		}
	}
	if report, err := r.st.MigrateClients(ctx); err != nil || report.Migrated != 0 {
		t.Fatalf("second run = %+v, %v", report, err)
	}
	// Removing a key takes it from the client item too.
	if err := r.st.RemoveKey(ctx, portal.Key{ApplicationID: app.ID, ID: k1.ID}, event(t, app.ID, audit.KeyDeleted), nil); err != nil {
		t.Fatal(err)
	}
	if c, err := r.st.Client(ctx, app.ClientID); err != nil || !slices.Equal(keyIDs(c), []string{k2.ID}) {
		t.Fatalf("after the delete: %v, %v", keyIDs(c), err)
	}
	if report, err := r.st.MigrateClients(ctx); err != nil || report.Migrated != 0 {
		t.Fatalf("a migration after the writers = %+v, %v", report, err)
	}
}
