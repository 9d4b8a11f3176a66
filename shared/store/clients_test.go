package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"credportal/infra/emulator/emulatortest"
	"credportal/shared/audit"
	"credportal/shared/ids"
	"credportal/shared/portal"
	"credportal/shared/store"
)

// rawTable is a table with a store, a counted store and the raw client, for
// tests that write items as earlier versions did.
type rawTable struct {
	db      *dynamodb.Client
	table   string
	st      *store.Store
	counted *store.Store
	calls   *emulatortest.Calls
}

func newRawTable(t *testing.T) *rawTable {
	t.Helper()
	emu := emulatortest.ForTest(t)
	r := &rawTable{db: dynamodb.NewFromConfig(emu.Config()), table: emulatortest.NewTable(t, emu), calls: emulatortest.NewCalls()}
	r.st = store.New(r.db, r.table)
	r.counted = store.New(dynamodb.NewFromConfig(emu.Config(), r.calls.Option), r.table)
	return r
}

func (r *rawTable) put(t *testing.T, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := r.db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(r.table), Item: item}); err != nil {
		t.Fatal(err)
	}
}

func (r *rawTable) clientItem(t *testing.T, clientID string) map[string]types.AttributeValue {
	t.Helper()
	out, err := r.db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(r.table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"PK": sv("CLIENT#" + clientID), "SK": sv("CLIENT")},
	})
	if err != nil || out.Item == nil {
		t.Fatalf("client item of %s: %v", clientID, err)
	}
	return out.Item
}

func sv(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// oldSecret is a secret as the portal stored it before client items held
// secrets; the hash is the secret's id, so tests can tell secrets apart.
type oldSecret struct {
	id      string
	expires time.Time
	used    *time.Time
}

// putOldLayout writes an application, its client item and its secrets as
// the portal wrote them before the client item held what authentication
// needs: the client item is {PK, SK, Type, AppID}.
func (r *rawTable) putOldLayout(t *testing.T, apis []string, secrets ...oldSecret) portal.Application {
	t.Helper()
	app := portal.Application{
		ID: newID(t, ids.Application), ClientID: emulatortest.UniqueName("client"), APIs: apis,
		Organisation: portal.OrganisationRef{ID: newID(t, ids.Organisation), Name: "Acme"},
	}
	list := &types.AttributeValueMemberL{}
	for _, a := range apis {
		list.Value = append(list.Value, sv(a))
	}
	set := &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}
	for _, sec := range secrets {
		set.Value[sec.id] = sv(sec.expires.Format(time.RFC3339Nano))
		item := map[string]types.AttributeValue{
			"PK": sv("APP#" + app.ID), "SK": sv("SECRET#" + sec.id), "Type": sv("secret"), "ID": sv(sec.id), "AppID": sv(app.ID),
			"Name": sv("Old"), "Hint": sv("abc"), "Hash": &types.AttributeValueMemberB{Value: []byte(sec.id)}, "PepperVersion": sv("v1"),
			"CreatedAt": sv(t0.Format(time.RFC3339Nano)), "CreatedBy": sv("m@partner.test"), "ExpiresAt": sv(sec.expires.Format(time.RFC3339Nano)),
			"ExpiryDay": sv(sec.expires.Format(time.DateOnly)), "ExpiryKey": sv(sec.expires.Format(time.RFC3339) + "#" + app.ID + "#" + sec.id),
		}
		if sec.used != nil {
			item["LastUsedAt"] = sv(sec.used.Format(time.RFC3339))
		}
		r.put(t, item)
	}
	r.put(t, map[string]types.AttributeValue{
		"PK": sv("APP#" + app.ID), "SK": sv("APP"), "GSI1PK": sv("APPS"), "GSI1SK": sv("APP#" + app.ID), "Type": sv("application"),
		"ID": sv(app.ID), "Name": sv(emulatortest.UniqueName("App ")), "ClientID": sv(app.ClientID), "OrgID": sv(app.Organisation.ID),
		"OrgName": sv("Acme"), "APIs": list, "CreatedAt": sv(t0.Format(time.RFC3339Nano)), "Secrets": set,
		"Version": &types.AttributeValueMemberN{Value: fmt.Sprint(len(secrets))},
	})
	r.put(t, map[string]types.AttributeValue{"PK": sv("CLIENT#" + app.ClientID), "SK": sv("CLIENT"), "Type": sv("client"), "AppID": sv(app.ID)})
	return app
}

// secretIDs are the ids of a client's secrets, sorted.
func secretIDs(c portal.Client) []string {
	var out []string
	for _, s := range c.Secrets {
		out = append(out, s.ID)
	}
	slices.Sort(out)
	return out
}

func sortedIDs(ids ...string) []string { slices.Sort(ids); return ids }

func TestClientIsOneConsistentRead(t *testing.T) {
	ctx := context.Background()
	r := newRawTable(t)
	app := seedApp(t, r.st, "Billing")
	live := newSecret(t, app.ID, t0.Add(48*time.Hour))
	soon := newSecret(t, app.ID, t0.Add(time.Hour))
	for _, s := range []portal.Secret{live, soon} {
		if err := r.st.AddSecret(ctx, s, 3, t0, event(t, app.ID, audit.SecretCreated), nil); err != nil {
			t.Fatal(err)
		}
	}
	r.calls.Reset()
	c, err := r.counted.Client(ctx, app.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if n := r.calls.Reset(); n["GetItem"] != 1 || len(n) != 1 {
		t.Fatalf("requests of Client: %v, want one GetItem", n)
	}
	if c.ID != app.ClientID || c.ApplicationID != app.ID || c.OrganisationID != app.Organisation.ID || !slices.Equal(c.APIs, app.APIs) {
		t.Fatalf("client %+v", c)
	}
	if got, want := secretIDs(c), sortedIDs(live.ID, soon.ID); !slices.Equal(got, want) {
		t.Fatalf("secrets %v, want %v", got, want)
	}
	for _, s := range c.Secrets {
		want := live
		if s.ID == soon.ID {
			want = soon
		}
		if string(s.Hash) != string(want.Hash) || s.PepperVersion != want.PepperVersion || !s.ExpiresAt.Equal(want.ExpiresAt) ||
			s.Hint != want.Hint || s.ApplicationID != app.ID || s.LastUsedAt != nil {
			t.Fatalf("secret %+v, want %+v", s, want)
		}
	}
	if _, err := r.counted.Client(ctx, "no-such-client"); !errors.Is(err, portal.ErrNotFound) {
		t.Fatalf("unknown client: %v", err)
	}

	t.Run("a deleted secret leaves it at once", func(t *testing.T) {
		if err := r.st.RemoveSecret(ctx, soon, event(t, app.ID, audit.SecretDeleted), nil); err != nil {
			t.Fatal(err)
		}
		c, err := r.st.Client(ctx, app.ClientID)
		if err != nil || !slices.Equal(secretIDs(c), []string{live.ID}) {
			t.Fatalf("after delete: %v, %v", secretIDs(c), err)
		}
	})
	t.Run("a change of APIs reaches it", func(t *testing.T) {
		current, err := r.st.GetApplication(ctx, app.ID)
		if err != nil {
			t.Fatal(err)
		}
		apis := []string{"match-connect", "data-manager"}
		if err := r.st.UpdateApplication(ctx, current, current.Name, apis, event(t, app.ID, audit.ApplicationUpdated)); err != nil {
			t.Fatal(err)
		}
		c, err := r.st.Client(ctx, app.ClientID)
		if err != nil || !slices.Equal(c.APIs, apis) {
			t.Fatalf("APIs after the change: %v, %v", c.APIs, err)
		}
	})
	t.Run("expired secrets leave it when a secret is added", func(t *testing.T) {
		later := t0.Add(50 * time.Hour) // live has expired
		fresh := newSecret(t, app.ID, later.Add(24*time.Hour))
		if err := r.st.AddSecret(ctx, fresh, 3, later, event(t, app.ID, audit.SecretCreated), nil); err != nil {
			t.Fatal(err)
		}
		c, err := r.st.Client(ctx, app.ClientID)
		if err != nil || !slices.Equal(secretIDs(c), []string{fresh.ID}) {
			t.Fatalf("after the add: %v, %v", secretIDs(c), err)
		}
	})
}

func TestMarkSecretUsed(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	app := seedApp(t, st, "Billing")
	sec := newSecret(t, app.ID, t0.Add(48*time.Hour))
	if err := st.AddSecret(ctx, sec, 3, t0, event(t, app.ID, audit.SecretCreated), nil); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name  string
		at    time.Time
		wrote bool
		want  time.Time
	}{
		{"first use writes", t0.Add(1500 * time.Millisecond), true, t0.Add(time.Second)},
		{"a minute later does not", t0.Add(time.Minute), false, t0.Add(time.Second)},
		{"exactly the precision later does not", t0.Add(time.Second + portal.LastUsedPrecision), false, t0.Add(time.Second)},
		{"a second past it writes", t0.Add(2*time.Second + portal.LastUsedPrecision), true, t0.Add(2*time.Second + portal.LastUsedPrecision)},
		{"an earlier time never goes back", t0, false, t0.Add(2*time.Second + portal.LastUsedPrecision)},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			wrote, err := st.MarkSecretUsed(ctx, app.ClientID, app.ID, sec.ID, s.at)
			if err != nil || wrote != s.wrote {
				t.Fatalf("MarkSecretUsed = %v, %v; want %v", wrote, err, s.wrote)
			}
			got, err := st.GetSecret(ctx, app.ID, sec.ID)
			if err != nil || got.LastUsedAt == nil || !got.LastUsedAt.Equal(s.want) {
				t.Fatalf("LastUsedAt = %v, %v; want %v", got.LastUsedAt, err, s.want)
			}
			c, err := st.Client(ctx, app.ClientID)
			if err != nil || len(c.Secrets) != 1 || c.Secrets[0].LastUsedAt == nil || !c.Secrets[0].LastUsedAt.Equal(s.want) {
				t.Fatalf("the client item's LastUsedAt = %+v, %v; want %v", c.Secrets, err, s.want)
			}
		})
	}
	t.Run("a deleted secret is not brought back", func(t *testing.T) {
		if err := st.RemoveSecret(ctx, sec, event(t, app.ID, audit.SecretDeleted), nil); err != nil {
			t.Fatal(err)
		}
		if wrote, err := st.MarkSecretUsed(ctx, app.ClientID, app.ID, sec.ID, t0.Add(time.Hour)); err != nil || wrote {
			t.Fatalf("MarkSecretUsed after delete = %v, %v", wrote, err)
		}
		if _, err := st.GetSecret(ctx, app.ID, sec.ID); !errors.Is(err, portal.ErrNotFound) {
			t.Fatalf("GetSecret after delete = %v", err)
		}
		if c, err := st.Client(ctx, app.ClientID); err != nil || len(c.Secrets) != 0 {
			t.Fatalf("client after delete = %+v, %v", c, err)
		}
	})
}

func TestMigrationFromTheOldLayout(t *testing.T) {
	ctx := context.Background()
	r := newRawTable(t)
	used := t0.Add(-time.Hour)
	a, b := newID(t, ids.Secret), newID(t, ids.Secret)
	app := r.putOldLayout(t, []string{"search-match"}, oldSecret{a, t0.Add(48 * time.Hour), &used}, oldSecret{b, t0.Add(24 * time.Hour), nil})
	bare := r.putOldLayout(t, []string{})

	t.Run("before the migration the old layout still authenticates, with more reads", func(t *testing.T) {
		r.calls.Reset()
		c, err := r.counted.Client(ctx, app.ClientID)
		if err != nil || !slices.Equal(secretIDs(c), sortedIDs(a, b)) || !slices.Equal(c.APIs, []string{"search-match"}) {
			t.Fatalf("client %+v, %v", c, err)
		}
		if n := r.calls.Reset(); n["GetItem"] != 2 || n["BatchGetItem"] != 1 {
			t.Fatalf("requests %v", n)
		}
		// lastUsedAt is written to the secret, the old client item is left
		// as it is.
		if wrote, err := r.st.MarkSecretUsed(ctx, app.ClientID, app.ID, b, t0); err != nil || !wrote {
			t.Fatalf("MarkSecretUsed on the old layout = %v, %v", wrote, err)
		}
	})

	report, err := r.st.MigrateClients(ctx)
	if err != nil || report.Migrated != 2 || report.Applications < 2 {
		t.Fatalf("MigrateClients = %+v, %v", report, err)
	}

	t.Run("after it one read gives everything", func(t *testing.T) {
		r.calls.Reset()
		c, err := r.counted.Client(ctx, app.ClientID)
		if n := r.calls.Reset(); n["GetItem"] != 1 || len(n) != 1 {
			t.Fatalf("requests %v", n)
		}
		if err != nil || c.ApplicationID != app.ID || c.OrganisationID != app.Organisation.ID || !slices.Equal(secretIDs(c), sortedIDs(a, b)) {
			t.Fatalf("client %+v, %v", c, err)
		}
		for _, s := range c.Secrets {
			if string(s.Hash) != s.ID || s.PepperVersion != "v1" || s.Hint != "abc" {
				t.Fatalf("secret %+v", s)
			}
			wantUsed := map[string]time.Time{a: used, b: t0}[s.ID]
			if s.LastUsedAt == nil || !s.LastUsedAt.Equal(wantUsed) {
				t.Fatalf("LastUsedAt of %s = %v, want %v", s.ID, s.LastUsedAt, wantUsed)
			}
		}
		if c, err := r.st.Client(ctx, bare.ClientID); err != nil || c.ApplicationID != bare.ID || len(c.Secrets) != 0 || c.APIs == nil {
			t.Fatalf("bare client %+v, %v", c, err)
		}
	})
	t.Run("running it again changes nothing", func(t *testing.T) {
		before := r.clientItem(t, app.ClientID)
		report, err := r.st.MigrateClients(ctx)
		if err != nil || report.Migrated != 0 {
			t.Fatalf("second run = %+v, %v", report, err)
		}
		if after := r.clientItem(t, app.ClientID); fmt.Sprint(len(after)) != fmt.Sprint(len(before)) {
			t.Fatalf("the item changed: %d attributes, then %d", len(before), len(after))
		}
	})
	t.Run("writers keep the migrated item current", func(t *testing.T) {
		current, err := r.st.GetApplication(ctx, app.ID)
		if err != nil {
			t.Fatal(err)
		}
		fresh := newSecret(t, app.ID, t0.Add(72*time.Hour))
		if err := r.st.AddSecret(ctx, fresh, 3, t0, event(t, app.ID, audit.SecretCreated), nil); err != nil {
			t.Fatal(err)
		}
		if err := r.st.RemoveSecret(ctx, portal.Secret{ApplicationID: app.ID, ID: a}, event(t, app.ID, audit.SecretDeleted), nil); err != nil {
			t.Fatal(err)
		}
		c, err := r.st.Client(ctx, app.ClientID)
		if err != nil || !slices.Equal(secretIDs(c), sortedIDs(b, fresh.ID)) {
			t.Fatalf("after add and delete: %v, %v (was %v)", secretIDs(c), err, current.Secrets)
		}
		if report, err := r.st.MigrateClients(ctx); err != nil || report.Migrated != 0 {
			t.Fatalf("a migration after the writers = %+v, %v", report, err)
		}
	})
}

// The migration runs while secrets are created and deleted: whatever the
// interleaving, the client item ends holding exactly the application's
// secrets.
func TestMigrationDuringTraffic(t *testing.T) {
	ctx := context.Background()
	r := newRawTable(t)
	var olds []oldSecret
	for range 2 {
		olds = append(olds, oldSecret{newID(t, ids.Secret), t0.Add(48 * time.Hour), nil})
	}
	app := r.putOldLayout(t, []string{"search-match"}, olds...)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	wg.Add(3)
	go func() {
		defer wg.Done()
		for range 4 {
			sec := newSecret(t, app.ID, t0.Add(96*time.Hour))
			if err := r.st.AddSecret(ctx, sec, 10, t0, event(t, app.ID, audit.SecretCreated), nil); err != nil {
				errs <- err
				return
			}
			if err := r.st.RemoveSecret(ctx, sec, event(t, app.ID, audit.SecretDeleted), nil); err != nil {
				errs <- err
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		sec := newSecret(t, app.ID, t0.Add(96*time.Hour))
		if err := r.st.AddSecret(ctx, sec, 10, t0, event(t, app.ID, audit.SecretCreated), nil); err != nil {
			errs <- err
		}
		if err := r.st.RemoveSecret(ctx, portal.Secret{ApplicationID: app.ID, ID: olds[0].id}, event(t, app.ID, audit.SecretDeleted), nil); err != nil {
			errs <- err
		}
	}()
	go func() {
		defer wg.Done()
		for range 3 {
			if _, err := r.st.MigrateClient(ctx, app.ID); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if _, err := r.st.MigrateClient(ctx, app.ID); err != nil {
		t.Fatal(err)
	}
	current, err := r.st.GetApplication(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for id := range current.Secrets {
		want = append(want, id)
	}
	slices.Sort(want)
	c, err := r.st.Client(ctx, app.ClientID)
	if err != nil || !slices.Equal(secretIDs(c), want) || len(want) != 2 {
		t.Fatalf("client holds %v, the application %v (%v)", secretIDs(c), want, err)
	}
}
