package reminder_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"credportal/infra/emulator"
	"credportal/infra/emulator/emulatortest"
	"credportal/infra/storetest"
	"credportal/shared/audit"
	"credportal/shared/ids"
	"credportal/shared/mail"
	"credportal/shared/portal"
	"credportal/shared/reminder"
	"credportal/shared/store"
)

func TestMain(m *testing.M) { os.Exit(emulatortest.RunTests(m)) }

// day0 is the first day of the tests' calendar; sweeps run at 07:00 UTC.
var day0 = time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)

const portalURL = "https://portal.test/"

// senderName is the display name the sweep's mail is sent under.
const senderName = "Registry API Credentials"

// faults fails chosen calls of one operation of a real SDK client: the Nth
// call (counting from 1) of op fails before it is sent, or after the
// emulator has processed it when after is set.
type faults struct {
	mu    sync.Mutex
	op    string
	after bool
	err   error
	fail  map[int]bool
	calls int
}

func (f *faults) set(op string, after bool, err error, nth ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.op, f.after, f.err, f.calls, f.fail = op, after, err, 0, map[int]bool{}
	for _, n := range nth {
		f.fail[n] = true
	}
}

func (f *faults) clear() { f.set("", false, nil) }

func (f *faults) hit(ctx context.Context) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.op == "" || awsmiddleware.GetOperationName(ctx) != f.op {
		return false
	}
	f.calls++
	return f.fail[f.calls]
}

func (f *faults) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("inject-fault",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			failing := f.hit(ctx)
			if failing && !f.after {
				return middleware.InitializeOutput{}, middleware.Metadata{}, f.err
			}
			out, md, err := next.HandleInitialize(ctx, in)
			if failing {
				return middleware.InitializeOutput{}, md, f.err
			}
			return out, md, err
		}), middleware.Before)
}

var (
	errInjected = errors.New("injected failure")
	errThrottle = &smithy.GenericAPIError{Code: "TooManyRequestsException", Message: "Maximum sending rate exceeded."}
)

// fixture is a fresh table, a fresh sender identity and SDK clients with
// fault injection, all on the shared emulator.
type fixture struct {
	t        testing.TB
	emu      *emulator.Emulator
	st       *store.Store
	table    string
	sender   string
	fallback string
	dbFaults *faults
	sesFault *faults
	ses      *sesv2.Client
	now      time.Time
	mu       sync.Mutex
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	emu := emulatortest.ForTest(t)
	// The package's tests run one at a time on their own emulator: each
	// starts from an empty one, which keeps reading its sent mail (a dump
	// of everything the emulator ever held) quick.
	if err := emu.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, emu: emu, dbFaults: &faults{}, sesFault: &faults{}, now: day0}
	cfg := emu.Config()
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		// The SDK's own retries, as in AWS, for the emulator's transient
		// connection errors; injected faults come before them and are final.
		o.RetryMaxAttempts = 3
		o.APIOptions = append(o.APIOptions, f.dbFaults.middleware)
	})
	f.table = emulatortest.NewTable(t, emu)
	f.st = store.New(db, f.table)
	f.ses = sesv2.NewFromConfig(cfg, func(o *sesv2.Options) { o.APIOptions = append(o.APIOptions, f.sesFault.middleware) })
	domain := strings.ToLower(emulatortest.UniqueName("t")) + ".example"
	f.sender = "no-reply@" + domain
	f.fallback = "credentials@" + domain
	if _, err := sesv2.NewFromConfig(cfg).CreateEmailIdentity(context.Background(), &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(f.sender)}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) setNow(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = t
}

func (f *fixture) config() reminder.Config {
	cfg := reminder.DefaultConfig()
	cfg.PortalURL = portalURL
	cfg.Fallback = f.fallback
	cfg.MaxSendRate = 1000
	cfg.Margin = time.Second
	return cfg
}

func (f *fixture) sweep(cfg reminder.Config) *reminder.Sweep {
	return reminder.New(f.st, mail.NewMailer(f.ses, f.sender, senderName), cfg, f.clock, rand.Reader)
}

// run sweeps once at the fixture's now with the default configuration.
func (f *fixture) run() (reminder.Result, error) {
	return f.sweep(f.config()).Run(context.Background())
}

// runAtOnce runs n sweeps at the same time at the fixture's now.
func (f *fixture) runAtOnce(n int) {
	f.t.Helper()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.run(); err != nil {
				f.t.Error(err)
			}
		}()
	}
	wg.Wait()
}

func (f *fixture) mustRun() reminder.Result {
	f.t.Helper()
	res, err := f.run()
	if err != nil {
		f.t.Fatalf("sweep: %v (%+v)", err, res)
	}
	return res
}

func (f *fixture) id(kind string) string {
	id, err := ids.New(kind, f.clock(), rand.Reader)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

func (f *fixture) event(appID, action string) audit.Event {
	return audit.Event{ID: f.id(ids.Event), At: f.clock(), Actor: "admin@operator.test", Action: action, ApplicationID: appID}
}

// app creates an organisation's application with the given designations.
func (f *fixture) app(org, name string, managers, viewers []string) portal.Application {
	f.t.Helper()
	o := storetest.CreateOrganisation(f.t, f.st, portal.Organisation{Name: org + " " + emulatortest.UniqueName(""), CreatedAt: day0})
	return storetest.CreateApp(f.t, f.st, storetest.App{
		Application:  portal.Application{Name: name, Organisation: portal.OrganisationRef{ID: o.ID, Name: o.Name}, CreatedAt: day0},
		Designations: storetest.Designations(managers, viewers),
	})
}

// orgApp creates an application of org with the given credential managers.
func (f *fixture) orgApp(org portal.Organisation, name string, managers ...string) portal.Application {
	f.t.Helper()
	return storetest.CreateApp(f.t, f.st, storetest.App{
		Application:  portal.Application{Name: name, Organisation: portal.OrganisationRef{ID: org.ID, Name: org.Name}, CreatedAt: day0},
		Designations: storetest.Designations(managers, nil),
	})
}

// secret adds a secret to app with a 90-day lifetime, so every threshold is
// due in its time; one that would have been created after the fixture's now
// is created at now.
func (f *fixture) secret(app portal.Application, name string, expiresAt time.Time) portal.Secret {
	f.t.Helper()
	created := expiresAt.AddDate(0, 0, -90)
	if now := f.clock(); created.After(now) {
		created = now
	}
	return f.secretCreated(app, name, created, expiresAt)
}

// secretCreated adds a secret to app, created at createdAt.
func (f *fixture) secretCreated(app portal.Application, name string, createdAt, expiresAt time.Time) portal.Secret {
	f.t.Helper()
	return storetest.AddSecret(f.t, f.st, portal.Secret{
		ApplicationID: app.ID, Name: name, Hint: strings.ToLower(name[:1]) + "x9", CreatedAt: createdAt, ExpiresAt: expiresAt,
	})
}

// publicKey adds a key of type typ (publickey.TypePublicKey or
// TypeCertificate) to app with a 90-day lifetime, as secret does; thumbprint
// is shown as given ("" makes one up).
func (f *fixture) publicKey(app portal.Application, name, typ, thumbprint string, expiresAt time.Time) portal.Key {
	f.t.Helper()
	created := expiresAt.AddDate(0, 0, -90)
	if now := f.clock(); created.After(now) {
		created = now
	}
	return f.publicKeyCreated(app, name, typ, thumbprint, created, expiresAt)
}

// publicKeyCreated adds a key to app, created at createdAt.
func (f *fixture) publicKeyCreated(app portal.Application, name, typ, thumbprint string, createdAt, expiresAt time.Time) portal.Key {
	f.t.Helper()
	k := portal.Key{ApplicationID: app.ID, Name: name, Type: typ, Thumbprint: thumbprint, CreatedAt: createdAt, ExpiresAt: expiresAt}
	if thumbprint != "" {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			f.t.Fatal(err)
		}
		if k.DER, err = x509.MarshalPKIXPublicKey(pub); err != nil {
			f.t.Fatal(err)
		}
		k.Algorithms = []string{"EdDSA"}
	}
	k = storetest.AddKey(f.t, f.st, k)
	if k.Type != typ {
		f.t.Fatalf("key of type %q, want %q", k.Type, typ)
	}
	return k
}

func (f *fixture) removeKey(k portal.Key) {
	f.t.Helper()
	if err := f.st.RemoveKey(context.Background(), k, f.event(k.ApplicationID, audit.KeyDeleted), nil); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) remove(s portal.Secret) {
	f.t.Helper()
	if err := f.st.RemoveSecret(context.Background(), s, f.event(s.ApplicationID, audit.SecretDeleted), nil); err != nil {
		f.t.Fatal(err)
	}
}

// mail returns the messages sent from this fixture's sender, oldest first.
func (f *fixture) mail() []emulator.Mail {
	f.t.Helper()
	all, err := f.emu.SentMail(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	var out []emulator.Mail
	for _, m := range all {
		if m.Source == f.sender {
			out = append(out, m)
		}
	}
	return out
}

// to returns the one recipient of a message.
func to(t testing.TB, m emulator.Mail) string {
	t.Helper()
	set := map[string]bool{}
	for _, d := range m.Destination {
		set[d] = true
	}
	if len(set) != 1 {
		t.Fatalf("message to %v, want one recipient", m.Destination)
	}
	for d := range set {
		return d
	}
	return ""
}

// sent counts, from the mail sent, each reminder "recipient secretId@threshold"
// or "recipient key:keyId@threshold".
func (f *fixture) sent() map[string]int {
	f.t.Helper()
	out := map[string]int{}
	for _, m := range f.mail() {
		rcpt := to(f.t, m)
		for _, k := range strings.Fields(m.Header.Get("X-Portal-Reminders")) {
			out[rcpt+" "+k]++
		}
	}
	return out
}

func key(rcpt string, s portal.Secret, threshold int) string {
	return fmt.Sprintf("%s %s@%d", rcpt, s.ID, threshold)
}

// keyReminder is a key's reminder as sent counts it.
func keyReminder(rcpt string, k portal.Key, threshold int) string {
	return fmt.Sprintf("%s key:%s@%d", rcpt, k.ID, threshold)
}

// exactlyOnce checks that the reminders sent are want, each once.
func (f *fixture) exactlyOnce(want ...string) {
	f.t.Helper()
	got := f.sent()
	for k, n := range got {
		if n != 1 {
			f.t.Errorf("reminder %s sent %d times", k, n)
		}
	}
	var missing, extra []string
	wanted := map[string]bool{}
	for _, k := range want {
		wanted[k] = true
		if got[k] == 0 {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if !wanted[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		f.t.Errorf("reminders missing %v, unexpected %v", missing, extra)
	}
}

// at is day d of the calendar at hh:mm UTC.
func at(d, hh, mm int) time.Time {
	return time.Date(day0.Year(), day0.Month(), day0.Day()+d, hh, mm, 0, 0, time.UTC)
}
