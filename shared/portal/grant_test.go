package portal_test

import (
	"context"
	"crypto/rand"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go/middleware"

	"credportal/infra/emulator/emulatortest"
	"credportal/shared/audit"
	"credportal/shared/directory"
	"credportal/shared/keys"
	"credportal/shared/portal"
	"credportal/shared/store"
)

// beforeTransaction runs change, once each time it is armed, just before the
// client's next TransactWriteItems call: an admin's change that lands
// between the service's access check and its transaction.
type beforeTransaction struct {
	armed  atomic.Bool
	change func(context.Context) error
	err    error
}

func (b *beforeTransaction) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("changeBeforeTransaction",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if _, ok := in.Parameters.(*dynamodb.TransactWriteItemsInput); ok && b.armed.CompareAndSwap(true, false) {
					b.err = b.change(context.WithoutCancel(ctx))
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	})
}

// A credential manager whose designation an admin removes (or demotes)
// after the access check and before the create or delete transaction gets
// nothing: the transaction checks the designation too. An admin's change is
// not held up: an admin's right is in the token.
func TestDesignationIsCheckedInTheChangesTransaction(t *testing.T) {
	ctx := context.Background()
	emu := emulatortest.ForTest(t)
	table := emulatortest.NewTable(t, emu)
	plain := store.New(dynamodb.NewFromConfig(emu.Config()), table)
	adm := portal.NewAdmin(plain, portal.DefaultConfig(), clock(), rand.Reader, directory.None{})
	org, err := adm.CreateOrganisation(ctx, admin, portal.OrganisationInput{Name: "Racing Ltd", Country: "GB"}, request)
	if err != nil {
		t.Fatal(err)
	}
	app, err := adm.CreateApplication(ctx, admin, org.ID, portal.ApplicationInput{Name: "Racing App", APIs: []string{"search-match"}}, request)
	if err != nil {
		t.Fatal(err)
	}
	const who = "manager@racing.example"
	designate := func(role portal.Role) {
		t.Helper()
		if _, err := adm.SetDesignation(ctx, admin, app.ID, who, role, request); err != nil {
			t.Fatal(err)
		}
	}
	designate(portal.RoleCredentialManager)

	hook := &beforeTransaction{}
	hooked := store.New(dynamodb.NewFromConfig(emu.Config(), hook.option), table)
	peppers := keys.NewPeppers(secretsmanager.NewFromConfig(emu.Config()), emulatortest.NewSecret(t, emu), clock())
	svc := portal.NewService(hooked, peppers, portal.DefaultConfig(), clock(), rand.Reader)
	manager := portal.Caller{Email: who, Issuer: "https://issuer.test/", Subject: "manager"}
	days := 30
	in := portal.CreateSecretInput{Name: "Raced", LifetimeDays: &days}
	remove := func(ctx context.Context) error {
		_, err := adm.RemoveDesignation(ctx, admin, app.ID, who, request)
		return err
	}
	demote := func(ctx context.Context) error {
		_, err := adm.SetDesignation(ctx, admin, app.ID, who, portal.RoleViewer, request)
		return err
	}

	secrets := func() int {
		t.Helper()
		p, err := plain.ListSecrets(ctx, app.ID, "", 50)
		if err != nil {
			t.Fatal(err)
		}
		return len(p.Items)
	}
	actions := func() map[string]int {
		t.Helper()
		p, err := plain.ListEvents(ctx, app.ID, "", 50)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, e := range p.Items {
			out[e.Action]++
		}
		return out
	}

	// Create, designation removed meanwhile: 404, nothing written.
	hook.change = remove
	hook.armed.Store(true)
	if _, err := svc.CreateSecret(ctx, manager, app.ID, in, request); !errors.Is(err, portal.ErrApplicationNotFound) {
		t.Fatalf("create under a removed designation: %v", err)
	}
	if hook.err != nil || hook.armed.Load() {
		t.Fatalf("the removal did not run: %v", hook.err)
	}
	if n := secrets(); n != 0 {
		t.Fatalf("%d secrets written under a removed designation", n)
	}

	// Create, demoted to viewer meanwhile: 403, nothing written.
	designate(portal.RoleCredentialManager)
	hook.change = demote
	hook.armed.Store(true)
	if _, err := svc.CreateSecret(ctx, manager, app.ID, in, request); !errors.Is(err, portal.ErrManagersOnly) {
		t.Fatalf("create under a demoted designation: %v", err)
	}
	if n := secrets(); n != 0 || actions()[audit.SecretCreated] != 0 {
		t.Fatalf("%d secrets, %v written under a demoted designation", n, actions())
	}

	// Without a race the manager creates, then a delete raced by a removal
	// leaves the secret in place.
	designate(portal.RoleCredentialManager)
	created, err := svc.CreateSecret(ctx, manager, app.ID, in, request)
	if err != nil {
		t.Fatal(err)
	}
	hook.change = remove
	hook.armed.Store(true)
	if err := svc.DeleteSecret(ctx, manager, app.ID, created.ID, true, request); !errors.Is(err, portal.ErrApplicationNotFound) {
		t.Fatalf("delete under a removed designation: %v", err)
	}
	if n := secrets(); n != 1 || actions()[audit.SecretDeleted] != 0 {
		t.Fatalf("after a delete under a removed designation: %d secrets, %v", n, actions())
	}

	// An admin's create and delete go through whatever happens to
	// designations meanwhile.
	designate(portal.RoleCredentialManager)
	hook.change = remove
	hook.armed.Store(true)
	byAdmin, err := svc.CreateSecret(ctx, admin, app.ID, in, request)
	if err != nil {
		t.Fatalf("admin create: %v", err)
	}
	designate(portal.RoleCredentialManager)
	hook.armed.Store(true)
	if err := svc.DeleteSecret(ctx, admin, app.ID, byAdmin.ID, true, request); err != nil {
		t.Fatalf("admin delete: %v", err)
	}
	if hook.armed.Load() {
		t.Fatal("the admin's transaction was not raced")
	}
}
