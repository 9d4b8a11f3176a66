package store_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"credportal/shared/audit"
	"credportal/shared/ids"
	"credportal/shared/portal"
)

func newFederated(t testing.TB, appID, subject string) portal.FederatedCredential {
	return portal.FederatedCredential{
		ID: newID(t, ids.FederatedCredential), ApplicationID: appID, Name: "CI", Issuer: "https://token.actions.githubusercontent.com",
		Subject: subject, Audience: "https://portal.example", CreatedAt: t0, CreatedBy: "m@partner.test",
	}
}

func TestFederatedLifecycle(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	app := seedApp(t, st, "Fed")
	fc := newFederated(t, app.ID, "repo:acme/app:ref:refs/heads/main")
	if err := st.AddFederatedCredential(ctx, fc, 20, event(t, app.ID, audit.FederatedCredentialCreated), nil); err != nil {
		t.Fatal(err)
	}
	list, err := st.ListFederatedCredentials(ctx, app.ID)
	if err != nil || len(list) != 1 || list[0].Subject != fc.Subject || list[0].Audience != fc.Audience || list[0].Name != "CI" {
		t.Fatalf("list %+v %v", list, err)
	}
	c, err := st.Client(ctx, app.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	want := portal.FederatedCredential{ID: fc.ID, ApplicationID: app.ID, Issuer: fc.Issuer, Subject: fc.Subject, Audience: fc.Audience}
	if len(c.Federated) != 1 || c.Federated[0] != want {
		t.Fatalf("client's federated credentials %+v, want %+v", c.Federated, want)
	}

	used := t0.Add(time.Hour)
	if wrote, err := st.MarkFederatedUsed(ctx, app.ClientID, app.ID, fc.ID, used); err != nil || !wrote {
		t.Fatalf("mark used: %v %v", wrote, err)
	}
	if wrote, err := st.MarkFederatedUsed(ctx, app.ClientID, app.ID, fc.ID, used.Add(time.Minute)); err != nil || wrote {
		t.Fatalf("mark used again within the precision: %v %v", wrote, err)
	}
	got, err := st.GetFederatedCredential(ctx, app.ID, fc.ID)
	if err != nil || got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) {
		t.Fatalf("after use: %+v %v", got, err)
	}
	if c, _ := st.Client(ctx, app.ClientID); c.Federated[0].LastUsedAt == nil || !c.Federated[0].LastUsedAt.Equal(used) {
		t.Fatalf("client item's lastUsedAt %+v", c.Federated)
	}

	if err := st.RemoveFederatedCredential(ctx, portal.FederatedCredential{ApplicationID: app.ID, ID: fc.ID}, event(t, app.ID, audit.FederatedCredentialDeleted), nil); err != nil {
		t.Fatal(err)
	}
	if err := st.RemoveFederatedCredential(ctx, portal.FederatedCredential{ApplicationID: app.ID, ID: fc.ID}, event(t, app.ID, audit.FederatedCredentialDeleted), nil); !errors.Is(err, portal.ErrNotFound) {
		t.Fatalf("second remove: %v", err)
	}
	if _, err := st.GetFederatedCredential(ctx, app.ID, fc.ID); !errors.Is(err, portal.ErrNotFound) {
		t.Fatalf("get after remove: %v", err)
	}
	if c, _ := st.Client(ctx, app.ClientID); len(c.Federated) != 0 {
		t.Fatalf("client item still holds %+v", c.Federated)
	}
	if wrote, err := st.MarkFederatedUsed(ctx, app.ClientID, app.ID, fc.ID, used.Add(time.Hour)); err != nil || wrote {
		t.Fatalf("mark a deleted credential used: %v %v", wrote, err)
	}
	evs, err := st.ListEvents(ctx, app.ID, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range evs.Items {
		actions = append(actions, e.Action)
	}
	// Two successful changes, one failed remove that recorded nothing.
	if n := count(actions, audit.FederatedCredentialCreated) + count(actions, audit.FederatedCredentialDeleted); n != 2 {
		t.Errorf("events %v", actions)
	}
}

func count(list []string, v string) int {
	n := 0
	for _, x := range list {
		if x == v {
			n++
		}
	}
	return n
}

// TestFederatedLimitUnderConcurrency: concurrent creates never exceed the
// limit, and a delete frees a place.
func TestFederatedLimitUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	app := seedApp(t, st, "Fed limit")
	const limit, tries = 3, 8
	var ok, limited atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var added []string
	for i := range tries {
		wg.Go(func() {
			fc := newFederated(t, app.ID, "subject-"+string(rune('a'+i)))
			err := st.AddFederatedCredential(ctx, fc, limit, event(t, app.ID, audit.FederatedCredentialCreated), nil)
			switch {
			case err == nil:
				ok.Add(1)
				mu.Lock()
				added = append(added, fc.ID)
				mu.Unlock()
			case errors.Is(err, portal.ErrFederatedLimit):
				limited.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != limit || limited.Load() != tries-limit {
		t.Fatalf("%d added, %d refused; want %d and %d", ok.Load(), limited.Load(), limit, tries-limit)
	}
	if list, _ := st.ListFederatedCredentials(ctx, app.ID); len(list) != limit {
		t.Fatalf("%d stored", len(list))
	}
	if err := st.RemoveFederatedCredential(ctx, portal.FederatedCredential{ApplicationID: app.ID, ID: added[0]}, event(t, app.ID, audit.FederatedCredentialDeleted), nil); err != nil {
		t.Fatal(err)
	}
	if err := st.AddFederatedCredential(ctx, newFederated(t, app.ID, "after"), limit, event(t, app.ID, audit.FederatedCredentialCreated), nil); err != nil {
		t.Fatalf("a delete did not free a place: %v", err)
	}
}

// TestFederatedOnAnOldClientItem: a client item of the layout before it held
// secrets gets its federated credential entry all the same, and Client reads
// it from there; migrating the item afterwards keeps it.
func TestFederatedOnAnOldClientItem(t *testing.T) {
	ctx := context.Background()
	r := newRawTable(t)
	app := r.putOldLayout(t, []string{"search-match"}, oldSecret{id: newID(t, ids.Secret), expires: t0.Add(48 * time.Hour)})
	fc := newFederated(t, app.ID, "repo:acme/app:ref:refs/heads/main")
	if err := r.st.AddFederatedCredential(ctx, fc, 20, event(t, app.ID, audit.FederatedCredentialCreated), nil); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		c, err := r.st.Client(ctx, app.ClientID)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Federated) != 1 || c.Federated[0].ID != fc.ID || c.Federated[0].Subject != fc.Subject || len(c.Secrets) != 1 {
			t.Fatalf("%s: client %+v", when, c)
		}
	}
	check("before migrating")
	for range 2 { // idempotent
		if _, err := r.st.MigrateClient(ctx, app.ID); err != nil {
			t.Fatal(err)
		}
		check("after migrating")
	}
}
