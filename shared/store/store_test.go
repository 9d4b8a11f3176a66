package store_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"sync"
	"sync/atomic"
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

func TestMain(m *testing.M) { os.Exit(emulatortest.RunTests(m)) }

var t0 = time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)

func newStore(t *testing.T) *store.Store {
	t.Helper()
	emu := emulatortest.ForTest(t)
	return store.New(dynamodb.NewFromConfig(emu.Config()), emulatortest.NewTable(t, emu))
}

func newID(t testing.TB, kind string) string {
	t.Helper()
	id, err := ids.New(kind, time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func event(t testing.TB, appID, action string) audit.Event {
	return audit.Event{ID: newID(t, ids.Event), At: t0, Actor: "admin@operator.test", Action: action, ApplicationID: appID}
}

func seedApp(t *testing.T, st *store.Store, name string) portal.Application {
	t.Helper()
	ctx := context.Background()
	org := portal.Organisation{ID: newID(t, ids.Organisation), Name: emulatortest.UniqueName("Org "), Country: "GB", CreatedAt: t0}
	if err := st.CreateOrganisation(ctx, org); err != nil {
		t.Fatal(err)
	}
	app := portal.Application{
		ID: newID(t, ids.Application), Name: name, ClientID: emulatortest.UniqueName("client"),
		Organisation: portal.OrganisationRef{ID: org.ID, Name: org.Name}, APIs: []string{"search-match"}, CreatedAt: t0,
	}
	if err := st.CreateApplication(ctx, app, event(t, app.ID, audit.ApplicationCreated)); err != nil {
		t.Fatal(err)
	}
	return app
}

func newSecret(t testing.TB, appID string, expires time.Time) portal.Secret {
	return portal.Secret{
		ID: newID(t, ids.Secret), ApplicationID: appID, Name: "s", Hint: "abc", Hash: []byte{1, 2, 3},
		PepperVersion: "v1", CreatedAt: t0, CreatedBy: "m@partner.test", ExpiresAt: expires,
	}
}

func TestSecretLifecycle(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	app := seedApp(t, st, "Billing")
	sec := newSecret(t, app.ID, t0.Add(48*time.Hour))
	if err := st.AddSecret(ctx, sec, 3, t0, event(t, app.ID, audit.SecretCreated), nil); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetSecret(ctx, app.ID, sec.ID)
	if err != nil || got.Name != "s" || !got.ExpiresAt.Equal(sec.ExpiresAt) || string(got.Hash) != string(sec.Hash) {
		t.Fatalf("GetSecret = %+v, %v", got, err)
	}
	a, err := st.GetApplication(ctx, app.ID)
	if err != nil || a.ActiveSecrets(t0) != 1 || a.Version != 1 {
		t.Fatalf("application after add: %+v, %v", a, err)
	}
	if err := st.RemoveSecret(ctx, portal.Secret{ApplicationID: app.ID, ID: sec.ID}, event(t, app.ID, audit.SecretDeleted), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetSecret(ctx, app.ID, sec.ID); !errors.Is(err, portal.ErrNotFound) {
		t.Fatalf("GetSecret after remove: %v", err)
	}
	if err := st.RemoveSecret(ctx, portal.Secret{ApplicationID: app.ID, ID: sec.ID}, event(t, app.ID, audit.SecretDeleted), nil); !errors.Is(err, portal.ErrNotFound) {
		t.Fatalf("second remove: %v", err)
	}
	evs, err := st.ListEvents(ctx, app.ID, "", 10)
	if err != nil || len(evs.Items) != 3 || evs.Items[0].Action != audit.SecretDeleted || evs.Items[2].Action != audit.ApplicationCreated {
		t.Fatalf("events = %+v, %v", evs.Items, err)
	}
}

func TestExpiredSecretsFreeTheirPlace(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	app := seedApp(t, st, "Billing")
	for i := 0; i < 2; i++ {
		if err := st.AddSecret(ctx, newSecret(t, app.ID, t0.Add(time.Hour)), 2, t0, event(t, app.ID, audit.SecretCreated), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AddSecret(ctx, newSecret(t, app.ID, t0.Add(time.Hour)), 2, t0, event(t, app.ID, audit.SecretCreated), nil); !errors.Is(err, portal.ErrSecretLimit) {
		t.Fatalf("third add at limit: %v", err)
	}
	later := t0.Add(time.Hour)
	if err := st.AddSecret(ctx, newSecret(t, app.ID, later.Add(time.Hour)), 2, later, event(t, app.ID, audit.SecretCreated), nil); err != nil {
		t.Fatalf("add after the others expired: %v", err)
	}
	page, err := st.ListSecrets(ctx, app.ID, "", 10)
	if err != nil || len(page.Items) != 3 {
		t.Fatalf("expired secrets stay listed: %d, %v", len(page.Items), err)
	}
}

func concurrentAdds(t *testing.T, st *store.Store, appID string, n, limit int) (ok, limited int64) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := st.AddSecret(context.Background(), newSecret(t, appID, t0.Add(240*time.Hour)), limit, t0, event(t, appID, audit.SecretCreated), nil)
			switch {
			case err == nil:
				atomic.AddInt64(&ok, 1)
			case errors.Is(err, portal.ErrSecretLimit):
				atomic.AddInt64(&limited, 1)
			default:
				t.Errorf("add: %v", err)
			}
		}()
	}
	wg.Wait()
	return ok, limited
}

func TestActiveLimitUnderConcurrency(t *testing.T) {
	st := newStore(t)
	t.Run("from empty exactly the limit succeed", func(t *testing.T) {
		app := seedApp(t, st, "Empty")
		ok, limited := concurrentAdds(t, st, app.ID, 50, 3)
		if ok != 3 || limited != 47 {
			t.Fatalf("ok=%d limited=%d, want 3 and 47", ok, limited)
		}
		page, _ := st.ListSecrets(context.Background(), app.ID, "", 100)
		if len(page.Items) != 3 {
			t.Fatalf("%d secrets stored, want 3", len(page.Items))
		}
	})
	t.Run("at the limit none succeeds", func(t *testing.T) {
		app := seedApp(t, st, "Full")
		if ok, _ := concurrentAdds(t, st, app.ID, 3, 3); ok != 3 {
			t.Fatalf("setup: %d created", ok)
		}
		ok, limited := concurrentAdds(t, st, app.ID, 50, 3)
		if ok != 0 || limited != 50 {
			t.Fatalf("ok=%d limited=%d, want 0 and 50", ok, limited)
		}
	})
}

func cursorOf(t *testing.T, keys map[string]string) string {
	t.Helper()
	raw, err := json.Marshal(keys)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(raw)
}

func TestCursors(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	app := seedApp(t, st, "Paged")
	other := seedApp(t, st, "Other")
	for i := 0; i < 3; i++ {
		if err := st.AddSecret(ctx, newSecret(t, app.ID, t0.Add(48*time.Hour)), 3, t0, event(t, app.ID, audit.SecretCreated), nil); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		p, err := st.ListSecrets(ctx, app.ID, cursor, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range p.Items {
			seen[s.ID] = true
		}
		if p.Next == "" || pages > 5 {
			break
		}
		cursor = p.Next
	}
	if len(seen) != 3 {
		t.Fatalf("paging saw %d secrets, want 3", len(seen))
	}
	bad := map[string]string{
		"not base64":        "%%%",
		"not JSON":          base64.RawURLEncoding.EncodeToString([]byte("[1]")),
		"another partition": cursorOf(t, map[string]string{"PK": "APP#" + other.ID, "SK": "SECRET#sec_x"}),
		"empty sort key":    cursorOf(t, map[string]string{"PK": "APP#" + app.ID, "SK": ""}),
		"another item type": cursorOf(t, map[string]string{"PK": "APP#" + app.ID, "SK": "DESIG#a@b.example"}),
		"missing sort key":  cursorOf(t, map[string]string{"PK": "APP#" + app.ID}),
		"extra attribute":   cursorOf(t, map[string]string{"PK": "APP#" + app.ID, "SK": "SECRET#x", "GSI1PK": "APPS"}),
	}
	for name, c := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := st.ListSecrets(ctx, app.ID, c, 10); !errors.Is(err, portal.ErrInvalid) {
				t.Fatalf("ListSecrets with a %s cursor: %v", name, err)
			}
		})
	}
	t.Run("index cursor of another user", func(t *testing.T) {
		c := cursorOf(t, map[string]string{"PK": "APP#" + app.ID, "SK": "DESIG#a@b.example", "GSI1PK": "USER#a@b.example", "GSI1SK": "APP#" + app.ID})
		if _, err := st.ListDesignationsOf(ctx, "c@d.example", c, 10); !errors.Is(err, portal.ErrInvalid) {
			t.Fatalf("ListDesignationsOf: %v", err)
		}
	})
}

// conflictOnce cancels the first transaction as DynamoDB does when another
// transaction or write touches the same items at the same time.
type conflictOnce struct {
	store.DynamoDB
	done atomic.Bool
}

func (c *conflictOnce) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if c.done.CompareAndSwap(false, true) {
		reasons := make([]types.CancellationReason, len(in.TransactItems))
		for i := range reasons {
			reasons[i].Code = aws.String("None")
		}
		reasons[0].Code = aws.String("TransactionConflict")
		return nil, &types.TransactionCanceledException{Message: aws.String("Transaction cancelled"), CancellationReasons: reasons}
	}
	return c.DynamoDB.TransactWriteItems(ctx, in, opts...)
}

func TestWritesRetryATransactionConflict(t *testing.T) {
	ctx := context.Background()
	emu := emulatortest.ForTest(t)
	table := emulatortest.NewTable(t, emu)
	plain := store.New(dynamodb.NewFromConfig(emu.Config()), table)
	app := seedApp(t, plain, "Busy")
	sec := newSecret(t, app.ID, t0.Add(48*time.Hour))
	if err := plain.AddSecret(ctx, sec, 3, t0, event(t, app.ID, audit.SecretCreated), nil); err != nil {
		t.Fatal(err)
	}
	conflicting := store.New(&conflictOnce{DynamoDB: dynamodb.NewFromConfig(emu.Config())}, table)
	if err := conflicting.RemoveSecret(ctx, portal.Secret{ApplicationID: app.ID, ID: sec.ID}, event(t, app.ID, audit.SecretDeleted), nil); err != nil {
		t.Fatalf("remove after a conflict: %v", err)
	}
	if _, err := plain.GetSecret(ctx, app.ID, sec.ID); !errors.Is(err, portal.ErrNotFound) {
		t.Fatalf("secret still there: %v", err)
	}
	conflicting = store.New(&conflictOnce{DynamoDB: dynamodb.NewFromConfig(emu.Config())}, table)
	d := portal.Designation{ApplicationID: app.ID, Email: "m@partner.test", Role: portal.RoleCredentialManager, CreatedAt: t0, CreatedBy: "admin@operator.test"}
	if err := conflicting.PutDesignation(ctx, d, event(t, app.ID, audit.DesignationSet)); err != nil {
		t.Fatalf("designate after a conflict: %v", err)
	}
	if _, err := plain.GetDesignation(ctx, app.ID, d.Email); err != nil {
		t.Fatalf("designation not stored: %v", err)
	}
}
