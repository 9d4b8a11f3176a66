package portal_test

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/smithy-go/middleware"

	"credportal/infra/emulator"
	"credportal/infra/emulator/emulatortest"
	"credportal/shared/audit"
	"credportal/shared/directory"
	"credportal/shared/keys"
	"credportal/shared/mail"
	"credportal/shared/portal"
	"credportal/shared/store"
)

// sesFault fails SendEmail while set.
type sesFault struct{ on atomic.Bool }

func (f *sesFault) option(o *sesv2.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("sesFault", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if f.on.Load() {
				return middleware.InitializeOutput{}, middleware.Metadata{}, errors.New("injected SES failure")
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
	})
}

type leakFixture struct {
	fixture
	emu      *emulator.Emulator
	sm       *secretsmanager.Client
	pepperID string
	domain   string
	ses      *sesFault
	leaks    func(portal.LeakAction) *portal.Leaks
}

func newLeakFixture(t *testing.T) *leakFixture {
	t.Helper()
	emu := emulatortest.ForTest(t)
	cfg := emu.Config()
	ctx := context.Background()
	st := store.New(dynamodb.NewFromConfig(cfg), emulatortest.NewTable(t, emu))
	sm := secretsmanager.NewFromConfig(cfg)
	pepperID := emulatortest.NewSecret(t, emu)
	domain := strings.ToLower(emulatortest.UniqueName("leak")) + ".example"
	sender := "no-reply@" + domain
	fault := &sesFault{}
	ses := sesv2.NewFromConfig(cfg, fault.option)
	if _, err := ses.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(sender)}); err != nil {
		t.Fatal(err)
	}
	now := clock()
	notifier := mail.NewNotifier(mail.NewMailer(ses, sender, ""), st, "https://portal.test/", "credentials@"+domain)
	f := &leakFixture{
		fixture: fixture{
			store:   st,
			admin:   portal.NewAdmin(st, portal.DefaultConfig(), now, rand.Reader, directory.None{}),
			service: portal.NewService(st, keys.NewPeppers(sm, pepperID, now), portal.DefaultConfig(), now, rand.Reader),
		},
		emu: emu, sm: sm, pepperID: pepperID, domain: domain, ses: fault,
	}
	// Each Leaks has its own pepper cache, as each function instance does.
	f.leaks = func(action portal.LeakAction) *portal.Leaks {
		return portal.NewLeaks(st, keys.NewPeppers(sm, pepperID, now).WithVersionLister(sm), notifier, action, now, rand.Reader)
	}
	return f
}

func (f *leakFixture) addr(local string) string { return local + "@" + f.domain }

// application makes an application with the given credential managers and
// a viewer, and one secret; it returns the application and the secret's value.
func (f *leakFixture) application(t *testing.T, managers ...string) (portal.AdminApplication, portal.CreatedSecret) {
	t.Helper()
	ctx := context.Background()
	a := f.app(t, f.org(t, emulatortest.UniqueName("Org ")).ID, "Acme Search", "search-match")
	for _, m := range managers {
		if _, err := f.admin.SetDesignation(ctx, admin, a.ID, m, portal.RoleCredentialManager, request); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.admin.SetDesignation(ctx, admin, a.ID, f.addr("viewer"), portal.RoleViewer, request); err != nil {
		t.Fatal(err)
	}
	days := 90
	sec, err := f.service.CreateSecret(ctx, admin, a.ID, portal.CreateSecretInput{Name: "CI deploy key", LifetimeDays: &days}, request)
	if err != nil {
		t.Fatal(err)
	}
	return a, sec
}

// mails returns the messages sent to this test's domain.
func (f *leakFixture) mails(t *testing.T) []emulator.Mail {
	t.Helper()
	all, err := f.emu.SentMail(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []emulator.Mail
	for _, m := range all {
		if strings.HasSuffix(m.Source, "@"+f.domain) {
			out = append(out, m)
		}
	}
	return out
}

// recipients are a message's distinct destinations, sorted (the emulator
// may list a raw message's recipients more than once).
func recipients(m emulator.Mail) []string {
	return slices.Compact(slices.Sorted(slices.Values(m.Destination)))
}

func (f *leakFixture) events(t *testing.T, appID string) []audit.Event {
	t.Helper()
	p, err := f.service.ListEvents(context.Background(), admin, appID, "")
	if err != nil {
		t.Fatal(err)
	}
	return p.Items
}

func (f *leakFixture) secrets(t *testing.T, appID string) []portal.SecretView {
	t.Helper()
	p, err := f.service.ListSecrets(context.Background(), admin, appID, "")
	if err != nil {
		t.Fatal(err)
	}
	return p.Items
}

func leakOf(value string) portal.Leak {
	return portal.Leak{Value: value, Reporter: "secret-scanning:github", URL: "https://github.com/acme/deploy/blob/4f2a/ci.env", Source: "content"}
}

func report(t *testing.T, l *portal.Leaks, value string) bool {
	t.Helper()
	found, err := l.ReportLeak(context.Background(), leakOf(value))
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func actions(evs []audit.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Actor+" "+e.Action)
	}
	return out
}

func TestLeakRevokes(t *testing.T) {
	f := newLeakFixture(t)
	a, sec := f.application(t, f.addr("ann"), f.addr("bob"))
	leaks := f.leaks(portal.LeakRevoke)
	before := len(f.events(t, a.ID))

	if !report(t, leaks, sec.Value) {
		t.Fatal("our secret's value is not recognised")
	}
	if got := f.secrets(t, a.ID); len(got) != 0 {
		t.Fatalf("the leaked secret is still listed: %+v", got)
	}
	evs := f.events(t, a.ID)
	if got, want := actions(evs[:len(evs)-before]), []string{"secret-scanning:github secret.deleted", "secret-scanning:github secret.leaked"}; !slices.Equal(got, want) {
		t.Fatalf("new audit events (newest first) %q, want %q", got, want)
	}
	leaked := evs[1]
	if leaked.SecretID != sec.ID || leaked.Hint != sec.Hint || leaked.Details["url"] != "https://github.com/acme/deploy/blob/4f2a/ci.env" || leaked.Details["source"] != "content" || leaked.Details["action"] != "revoke" {
		t.Fatalf("secret.leaked event %+v", leaked)
	}
	msgs := f.mails(t)
	if len(msgs) != 1 {
		t.Fatalf("%d emails, want one", len(msgs))
	}
	m := msgs[0]
	if got, want := recipients(m), []string{f.addr("ann"), f.addr("bob")}; !slices.Equal(got, want) {
		t.Fatalf("sent to %q, want the managers %q (not the viewer)", got, want)
	}
	for _, want := range []string{"Acme Search", "CI deploy key", "(" + sec.Hint + "…)", "https://github.com/acme/deploy/blob/4f2a/ci.env", "has been revoked", "What to do now", "https://portal.test/applications/" + a.ID} {
		if !strings.Contains(m.Text, want) || !strings.Contains(m.HTML, strings.ReplaceAll(want, "&", "&amp;")) {
			t.Fatalf("the email lacks %q:\n%s", want, m.Text)
		}
	}
	if !strings.Contains(m.Subject, "URGENT") || !strings.Contains(m.Subject, "revoked") {
		t.Fatalf("subject %q", m.Subject)
	}
	if strings.Contains(m.Raw, sec.Value) {
		t.Fatal("the email carries the secret's value")
	}

	// Reported again: still ours, and nothing more happens.
	if !report(t, f.leaks(portal.LeakRevoke), sec.Value) {
		t.Fatal("a revoked secret's value is no longer recognised")
	}
	if got := len(f.events(t, a.ID)); got != len(evs) {
		t.Fatalf("a repeated report wrote %d audit events", got-len(evs))
	}
	if got := len(f.mails(t)); got != 1 {
		t.Fatalf("a repeated report sent %d more emails", got-1)
	}
}

func TestLeakNotifyKeepsTheSecretMarked(t *testing.T) {
	f := newLeakFixture(t)
	a, sec := f.application(t, f.addr("ann"))
	leaks := f.leaks(portal.LeakNotify)
	before := len(f.events(t, a.ID))

	if !report(t, leaks, sec.Value) {
		t.Fatal("our secret's value is not recognised")
	}
	list := f.secrets(t, a.ID)
	if len(list) != 1 || list[0].ID != sec.ID || list[0].Status != "leaked" {
		t.Fatalf("secrets %+v, want the one, status leaked", list)
	}
	evs := f.events(t, a.ID)
	if got, want := actions(evs[:len(evs)-before]), []string{"secret-scanning:github secret.leaked"}; !slices.Equal(got, want) {
		t.Fatalf("new audit events %q, want %q", got, want)
	}
	msgs := f.mails(t)
	if len(msgs) != 1 || !slices.Equal(recipients(msgs[0]), []string{f.addr("ann")}) {
		t.Fatalf("emails %+v", msgs)
	}
	for _, want := range []string{"It still works", "Delete the leaked secret", "CI deploy key", "still active, marked leaked"} {
		if !strings.Contains(msgs[0].Text, want) {
			t.Fatalf("the email lacks %q:\n%s", want, msgs[0].Text)
		}
	}
	if !report(t, leaks, sec.Value) || len(f.mails(t)) != 1 || len(f.events(t, a.ID)) != len(evs) {
		t.Fatal("a repeated report changed or sent something")
	}
	// The managers delete it as advised; a later report changes nothing.
	if err := f.service.DeleteSecret(context.Background(), admin, a.ID, sec.ID, true, request); err != nil {
		t.Fatal(err)
	}
	if !report(t, leaks, sec.Value) || len(f.mails(t)) != 1 {
		t.Fatal("a report after deletion")
	}
}

func TestLeakOfValuesNotOurs(t *testing.T) {
	f := newLeakFixture(t)
	a, sec := f.application(t, f.addr("ann"))
	leaks := f.leaks(portal.LeakRevoke)
	other, err := portal.DefaultConfig().Format.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if report(t, leaks, other) {
		t.Fatal("a well-formed value that was never issued is recognised")
	}
	if got := f.secrets(t, a.ID); len(got) != 1 || got[0].Status != "active" {
		t.Fatalf("secrets changed: %+v", got)
	}
	if len(f.mails(t)) != 0 {
		t.Fatal("an email for a value not ours")
	}
	_ = sec
}

func TestLeakOfASecretDeletedBefore(t *testing.T) {
	f := newLeakFixture(t)
	a, sec := f.application(t, f.addr("ann"))
	if err := f.service.DeleteSecret(context.Background(), admin, a.ID, sec.ID, true, request); err != nil {
		t.Fatal(err)
	}
	evs := f.events(t, a.ID)
	if !report(t, f.leaks(portal.LeakRevoke), sec.Value) {
		t.Fatal("a deleted secret's value is not recognised (its index entry is its tombstone)")
	}
	if len(f.events(t, a.ID)) != len(evs) || len(f.mails(t)) != 0 {
		t.Fatal("a report of a deleted secret changed or sent something")
	}
}

func TestLeakWithoutManagersGoesToTheFallback(t *testing.T) {
	f := newLeakFixture(t)
	_, sec := f.application(t)
	report(t, f.leaks(portal.LeakRevoke), sec.Value)
	msgs := f.mails(t)
	if len(msgs) != 1 || !slices.Equal(recipients(msgs[0]), []string{f.addr("credentials")}) {
		t.Fatalf("emails %+v, want one to the fallback address", msgs)
	}
}

func TestConcurrentReportsRevokeOnceAndMailOnce(t *testing.T) {
	for _, action := range []portal.LeakAction{portal.LeakRevoke, portal.LeakNotify} {
		t.Run(string(action), func(t *testing.T) {
			f := newLeakFixture(t)
			a, sec := f.application(t, f.addr("ann"))
			before := len(f.events(t, a.ID))
			const n = 12
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					found, err := f.leaks(action).ReportLeak(context.Background(), leakOf(sec.Value))
					if err == nil && !found {
						err = errors.New("not recognised")
					}
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			want := map[portal.LeakAction][]string{
				portal.LeakRevoke: {"secret-scanning:github secret.deleted", "secret-scanning:github secret.leaked"},
				portal.LeakNotify: {"secret-scanning:github secret.leaked"},
			}[action]
			evs := f.events(t, a.ID)
			if got := actions(evs[:len(evs)-before]); !slices.Equal(got, want) {
				t.Fatalf("audit events %q, want %q", got, want)
			}
			if got := len(f.mails(t)); got != 1 {
				t.Fatalf("%d emails from %d concurrent reports, want 1", got, n)
			}
		})
	}
}

func TestLeakNoticeThatFailedIsSentByTheRetry(t *testing.T) {
	f := newLeakFixture(t)
	a, sec := f.application(t, f.addr("ann"))
	leaks := f.leaks(portal.LeakRevoke)
	f.ses.on.Store(true)
	if _, err := leaks.ReportLeak(context.Background(), leakOf(sec.Value)); err == nil {
		t.Fatal("a report whose notice failed succeeded: the sender would not retry")
	}
	if got := f.secrets(t, a.ID); len(got) != 0 {
		t.Fatal("the secret was not revoked at once")
	}
	if len(f.mails(t)) != 0 {
		t.Fatal("mail sent through a failing SES")
	}
	evs := len(f.events(t, a.ID))
	f.ses.on.Store(false)
	// The sender retries the report.
	if !report(t, leaks, sec.Value) {
		t.Fatal("not recognised on retry")
	}
	msgs := f.mails(t)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, "has been revoked") || !strings.Contains(msgs[0].Text, "CI deploy key") {
		t.Fatalf("emails after the retry: %+v", msgs)
	}
	if len(f.events(t, a.ID)) != evs {
		t.Fatal("the retry wrote audit events again")
	}
	if !report(t, leaks, sec.Value) || len(f.mails(t)) != 1 {
		t.Fatal("a further report sent the notice again")
	}
}

func TestLeakFoundUnderAnEarlierPepper(t *testing.T) {
	f := newLeakFixture(t)
	a, sec := f.application(t, f.addr("ann"))
	// Rotate the pepper twice: the secret's version loses every stage.
	for _, v := range []string{strings.Repeat("r", 40), strings.Repeat("s", 40)} {
		if _, err := f.sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(f.pepperID), SecretString: aws.String(v)}); err != nil {
			t.Fatal(err)
		}
	}
	if !report(t, f.leaks(portal.LeakRevoke), sec.Value) {
		t.Fatal("a secret hashed under an earlier pepper is not found")
	}
	if got := f.secrets(t, a.ID); len(got) != 0 {
		t.Fatal("not revoked")
	}
}
