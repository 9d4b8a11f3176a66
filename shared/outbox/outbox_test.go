package outbox_test

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"credportal/infra/emulator"
	"credportal/infra/emulator/emulatortest"
	"credportal/infra/storetest"
	"credportal/shared/directory"
	"credportal/shared/keys"
	"credportal/shared/mail"
	"credportal/shared/outbox"
	"credportal/shared/portal"
	"credportal/shared/store"
)

func TestMain(m *testing.M) { os.Exit(emulatortest.RunTests(m)) }

var t0 = time.Date(2026, 11, 26, 9, 15, 0, 0, time.UTC)

// ses answers SendEmail as SES would in the cases the emulator cannot make:
// per address, an error, or a wait until released.
type ses struct {
	mu       sync.Mutex
	answers  map[string]error
	blocked  chan struct{} // when set, every send waits for it to close
	entered  chan string   // when set, told of each send that waits
	attempts map[string]int
}

func newSES() *ses { return &ses{answers: map[string]error{}, attempts: map[string]int{}} }

func (a *ses) set(address string, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.answers[address] = err
}

func (a *ses) tries(address string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.attempts[address]
}

func (a *ses) option(o *sesv2.Options) {
	o.RetryMaxAttempts = 1 // as the function sends: one attempt per send
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("ses-answers",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				p, ok := in.Parameters.(*sesv2.SendEmailInput)
				if !ok || p.Destination == nil {
					return next.HandleInitialize(ctx, in)
				}
				a.mu.Lock()
				var answer error
				for _, to := range p.Destination.ToAddresses {
					a.attempts[to]++
					if err := a.answers[to]; err != nil {
						answer = err
					}
				}
				blocked, entered := a.blocked, a.entered
				a.mu.Unlock()
				if blocked != nil {
					select {
					case entered <- p.Destination.ToAddresses[0]:
					default:
					}
					select {
					case <-blocked:
					case <-ctx.Done():
						return middleware.InitializeOutput{}, middleware.Metadata{}, ctx.Err()
					}
				}
				if answer != nil {
					return middleware.InitializeOutput{}, middleware.Metadata{}, answer
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	})
}

// clock is a test's time: now moves only when the test, or a wait, moves it.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// sleep is the outbox's wait on this clock: it moves the clock at once.
func (c *clock) sleep(ctx context.Context, d time.Duration) error {
	c.advance(d)
	return ctx.Err()
}

type fixture struct {
	t      *testing.T
	emu    *emulator.Emulator
	st     *store.Store
	calls  *emulatortest.Calls
	svc    *portal.Service
	ses    *ses
	clock  *clock
	sender string
	domain string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	emu := emulatortest.ForTest(t)
	cfg := emu.Config()
	domain := strings.ToLower(emulatortest.UniqueName("o")) + ".example"
	f := &fixture{t: t, emu: emu, calls: emulatortest.NewCalls(), ses: newSES(), clock: &clock{now: t0}, sender: "no-reply@" + domain, domain: domain}
	if _, err := sesv2.NewFromConfig(cfg).CreateEmailIdentity(context.Background(), &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(f.sender)}); err != nil {
		t.Fatal(err)
	}
	f.st = store.New(dynamodb.NewFromConfig(cfg, f.calls.Option), emulatortest.NewTable(t, emu))
	peppers := keys.NewPeppers(secretsmanager.NewFromConfig(cfg), emulatortest.NewSecret(t, emu), time.Now)
	f.svc = portal.NewService(f.st, peppers, portal.DefaultConfig(), f.clock.Now, rand.Reader)
	return f
}

// outbox is a notice sender over the fixture's store and SES.
func (f *fixture) outbox() *outbox.Outbox {
	m := mail.NewMailer(sesv2.NewFromConfig(f.emu.Config(), f.ses.option), f.sender, "")
	return outbox.New(f.st, m, outbox.Config{PortalURL: "https://portal.test/", Fallback: "credentials@" + f.domain}, f.clock.Now, rand.Reader, outbox.WithSleep(f.clock.sleep))
}

// address is a recipient of this test's domain, so that tests sharing the
// emulator never read each other's mail.
func (f *fixture) address(name string) string { return name + "@" + f.domain }

func (f *fixture) app(name string, managers, viewers []string) portal.Application {
	f.t.Helper()
	o := storetest.CreateOrganisation(f.t, f.st, portal.Organisation{Name: emulatortest.UniqueName(name), CreatedAt: t0})
	return storetest.CreateApp(f.t, f.st, storetest.App{
		Application:  portal.Application{Name: name, Organisation: portal.OrganisationRef{ID: o.ID, Name: o.Name}, CreatedAt: t0},
		Designations: storetest.Designations(managers, viewers),
	})
}

var admin = portal.Caller{Email: "admin@operator.test", Admin: true}

func (f *fixture) createSecret(app portal.Application, name string) portal.CreatedSecret {
	f.t.Helper()
	days := 90
	created, err := f.svc.CreateSecret(context.Background(), admin, app.ID, portal.CreateSecretInput{Name: name, LifetimeDays: &days}, portal.Request{})
	if err != nil {
		f.t.Fatal(err)
	}
	return created
}

func (f *fixture) pending() []string {
	f.t.Helper()
	ids, err := f.st.PendingNotices(context.Background(), 100)
	if err != nil {
		f.t.Fatal(err)
	}
	return ids
}

// received counts this test's messages by recipient and subject.
func (f *fixture) received() map[string]int {
	f.t.Helper()
	all, err := f.emu.SentMail(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]int{}
	for _, m := range all {
		if m.Source != f.sender {
			continue
		}
		// The emulator may list a recipient more than once per message.
		for _, d := range slices.Compact(slices.Sorted(slices.Values(m.Destination))) {
			out[d+" "+m.Subject]++
		}
	}
	return out
}

func (f *fixture) expectMail(want map[string]int) {
	f.t.Helper()
	got := f.received()
	if len(got) != len(want) {
		f.t.Fatalf("mail %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			f.t.Fatalf("mail %v, want %v", got, want)
		}
	}
}

// A notice goes to each credential manager once (never to a viewer), however
// often it is delivered, and then leaves the outbox.
func TestDeliveredOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	alice, bob := f.address("alice"), f.address("bob")
	app := f.app("Acme Search", []string{alice, bob}, []string{f.address("victor")})
	f.createSecret(app, "CI")
	ids := f.pending()
	if len(ids) != 1 {
		t.Fatalf("outbox %v after one change, want one notice", ids)
	}
	o := f.outbox()
	for range 3 {
		if err := o.Deliver(ctx, ids[0]); err != nil {
			t.Fatal(err)
		}
	}
	f.expectMail(map[string]int{alice + " Client secret created on Acme Search": 1, bob + " Client secret created on Acme Search": 1})
	if left := f.pending(); len(left) != 0 {
		t.Fatalf("outbox %v after delivery", left)
	}
	for _, rcpt := range []string{alice, bob} {
		if st, err := f.st.NoticeClaimStatus(ctx, outbox.Claim{EventID: ids[0], Recipient: rcpt}); err != nil || st != "sent" {
			t.Fatalf("claim of %s: %q, %v", rcpt, st, err)
		}
	}
}

// Designating someone (through the admin service, as the admin API does)
// leaves a notice for that person alone, the viewer included; a change of
// role another; setting the same role again none. Each goes out once.
func TestDesignationTold(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	alice, peter := f.address("alice"), f.address("peter")
	app := f.app("Acme Search", []string{alice}, nil)
	adm := portal.NewAdmin(f.st, portal.DefaultConfig(), f.clock.Now, rand.Reader, directory.None{})
	for _, role := range []portal.Role{portal.RoleViewer, portal.RoleViewer, portal.RoleCredentialManager} {
		if _, err := adm.SetDesignation(ctx, admin, app.ID, peter, role, portal.Request{}); err != nil {
			t.Fatal(err)
		}
	}
	ids := f.pending()
	if len(ids) != 2 {
		t.Fatalf("outbox %v, want the designation's notice and the role change's", ids)
	}
	o := f.outbox()
	for range 2 {
		for _, id := range ids {
			if err := o.Deliver(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.expectMail(map[string]int{
		peter + " You are now a viewer of Acme Search":                1,
		peter + " Your role on Acme Search is now credential manager": 1,
	})
	if left := f.pending(); len(left) != 0 {
		t.Fatalf("outbox %v after delivery", left)
	}
}

// What SES refuses for now fails the delivery, which is retried; what it
// refused for one address is sent again to that address only. An address
// SES refuses for good is recorded undeliverable, never tried again, and
// does not hold the notice back.
func TestSESRefusals(t *testing.T) {
	cases := []struct {
		name      string
		answer    error
		permanent bool
	}{
		{"message rejected", &sestypes.MessageRejected{Message: aws.String("Address blacklisted.")}, true},
		// The sending side not set up is no recipient's fault: retried.
		{"sender not verified", &sestypes.MessageRejected{Message: aws.String("Email address is not verified. The following identities failed the check in region EU-WEST-1: no-reply@portal.example")}, false},
		{"sending paused", &sestypes.SendingPausedException{Message: aws.String("Sending is paused for this account.")}, false},
		{"bad request", &sestypes.BadRequestException{Message: aws.String("Illegal address")}, true},
		{"throttled", &sestypes.TooManyRequestsException{Message: aws.String("Maximum sending rate exceeded.")}, false},
		{"daily quota", &sestypes.LimitExceededException{Message: aws.String("Daily message quota exceeded.")}, false},
		{"SES failure", &smithy.GenericAPIError{Code: "InternalFailure", Message: "Internal failure", Fault: smithy.FaultServer}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			good, bad := f.address("good"), f.address("zoe")
			app := f.app("Acme Billing", []string{good, bad}, nil)
			f.createSecret(app, "Ops")
			id := f.pending()[0]
			f.ses.set(bad, c.answer)
			err := f.outbox().Deliver(ctx, id)
			subject := " Client secret created on Acme Billing"
			if c.permanent {
				if err != nil {
					t.Fatalf("delivery with an undeliverable address: %v", err)
				}
				if st, _ := f.st.NoticeClaimStatus(ctx, outbox.Claim{EventID: id, Recipient: bad}); st != "undeliverable" {
					t.Fatalf("claim of %s: %q", bad, st)
				}
				if left := f.pending(); len(left) != 0 {
					t.Fatalf("outbox %v", left)
				}
				f.expectMail(map[string]int{good + subject: 1})
				if n := f.ses.tries(bad); n != 1 {
					t.Fatalf("%d attempts to the undeliverable address", n)
				}
				return
			}
			if err == nil {
				t.Fatal("a transient refusal did not fail the delivery")
			}
			if left := f.pending(); !slices.Equal(left, []string{id}) {
				t.Fatalf("outbox %v, want the notice kept", left)
			}
			f.expectMail(map[string]int{good + subject: 1})
			f.ses.set(bad, nil)
			if err := f.outbox().Deliver(ctx, id); err != nil {
				t.Fatal(err)
			}
			f.expectMail(map[string]int{good + subject: 1, bad + subject: 1})
			if f.ses.tries(good) != 1 {
				t.Fatalf("%d attempts to %s, want 1", f.ses.tries(good), good)
			}
		})
	}
}

// A sender that dies between claim and send leaves the claim leased; the
// retry waits the short lease out and sends it, once.
func TestRetryAfterACrashBetweenClaimAndSend(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	alice := f.address("alice")
	app := f.app("Acme Deploy", []string{alice}, nil)
	f.createSecret(app, "Deploy")
	id := f.pending()[0]
	// The dead sender's claim, taken a second ago.
	claim := outbox.Claim{EventID: id, Recipient: alice}
	if got, _, err := f.st.ClaimNotice(ctx, claim, "dead-sender", f.clock.Now().Add(-time.Second), outbox.DefaultLease); err != nil || got != outbox.Claimed {
		t.Fatalf("claim: %v, %v", got, err)
	}
	// A retry without the time to wait the lease out sends nothing.
	short, cancel := context.WithDeadline(ctx, time.Now().Add(outbox.DefaultLease/2))
	defer cancel()
	if err := f.outbox().Deliver(short, id); err == nil {
		t.Fatal("delivered while another sender held the claim")
	}
	f.expectMail(map[string]int{})
	// One with the time waits and sends.
	start := f.clock.Now()
	if err := f.outbox().Deliver(ctx, id); err != nil {
		t.Fatal(err)
	}
	if waited := f.clock.Now().Sub(start); waited <= 0 || waited > outbox.DefaultLease {
		t.Fatalf("waited %v for a lease of %v", waited, outbox.DefaultLease)
	}
	f.expectMail(map[string]int{alice + " Client secret created on Acme Deploy": 1})
	if err := f.outbox().Deliver(ctx, id); err != nil {
		t.Fatal(err)
	}
	f.expectMail(map[string]int{alice + " Client secret created on Acme Deploy": 1})
}

// A failure of DynamoDB after SES accepted every message (the notice's
// removal) fails the delivery; its retry sends nothing again.
func TestRemovalFailureSendsNothingTwice(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	alice := f.address("alice")
	app := f.app("Acme Keys", []string{alice}, nil)
	f.createSecret(app, "Main")
	id := f.pending()[0]
	f.calls.SetFault(func(p any) error {
		if _, ok := p.(*dynamodb.DeleteItemInput); ok {
			return errors.New("injected: DynamoDB unavailable")
		}
		return nil
	})
	if err := f.outbox().Deliver(ctx, id); err == nil {
		t.Fatal("the removal failed and the delivery did not")
	}
	f.calls.SetFault(nil)
	if err := f.outbox().Deliver(ctx, id); err != nil {
		t.Fatal(err)
	}
	f.expectMail(map[string]int{alice + " Client secret created on Acme Keys": 1})
	if left := f.pending(); len(left) != 0 {
		t.Fatalf("outbox %v", left)
	}
}

// A change is answered while SES hangs: the value of a new secret reaches
// its creator whatever mail does, and the notices go out once SES answers.
func TestChangesAnswerWhileSESHangs(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	alice := f.address("alice")
	app := f.app("Acme Search", []string{alice}, nil)
	f.createSecret(app, "First")
	first := f.pending()[0]

	blocked, entered := make(chan struct{}), make(chan string, 1)
	f.ses.mu.Lock()
	f.ses.blocked, f.ses.entered = blocked, entered
	f.ses.mu.Unlock()
	delivered := make(chan error, 1)
	go func() { delivered <- f.outbox().Deliver(ctx, first) }()
	<-entered // the sender is inside SES, which does not answer

	created := f.createSecret(app, "Second")
	if created.Value == "" {
		t.Fatal("no value returned")
	}
	if err := f.svc.DeleteSecret(ctx, admin, app.ID, created.ID, true, portal.Request{}); err != nil {
		t.Fatal(err)
	}
	if ids := f.pending(); len(ids) != 3 {
		t.Fatalf("outbox %v, want the three notices", ids)
	}
	close(blocked)
	if err := <-delivered; err != nil {
		t.Fatal(err)
	}
	for _, id := range f.pending() {
		if err := f.outbox().Deliver(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	f.expectMail(map[string]int{
		alice + " Client secret created on Acme Search": 2,
		alice + " Client secret deleted on Acme Search": 1,
	})
}

// The stream handler delivers each record's notice, reports the records
// whose delivery failed by sequence number (only they are retried), and
// ignores records that are not outbox notices.
func TestStreamBatch(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	good, bad := f.address("good"), f.address("bad")
	ok := f.app("Acme OK", []string{good}, nil)
	failing := f.app("Acme Failing", []string{bad}, nil)
	f.createSecret(ok, "A")
	okID := f.pending()[0]
	f.createSecret(failing, "B")
	var failingID string
	for _, id := range f.pending() {
		if id != okID {
			failingID = id
		}
	}
	f.ses.set(bad, &sestypes.TooManyRequestsException{Message: aws.String("Maximum sending rate exceeded.")})
	record := func(name, pk, sk, seq string) events.DynamoDBEventRecord {
		return events.DynamoDBEventRecord{EventName: name, EventSource: "aws:dynamodb", Change: events.DynamoDBStreamRecord{
			Keys:           map[string]events.DynamoDBAttributeValue{"PK": events.NewStringAttribute(pk), "SK": events.NewStringAttribute(sk)},
			SequenceNumber: seq, StreamViewType: "KEYS_ONLY",
		}}
	}
	res, err := f.outbox().Handle(ctx, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		record("INSERT", "OUTBOX", okID, "100"),
		record("INSERT", "OUTBOX", failingID, "200"),
		record("INSERT", "APP#"+ok.ID, "APP", "300"),
		record("REMOVE", "OUTBOX", okID, "400"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.BatchItemFailures) != 1 || res.BatchItemFailures[0].ItemIdentifier != "200" {
		t.Fatalf("failures %+v, want only sequence number 200", res.BatchItemFailures)
	}
	f.expectMail(map[string]int{good + " Client secret created on Acme OK": 1})
	f.ses.set(bad, nil)
	// The retry (Lambda resends from the failed record on).
	res, err = f.outbox().Handle(ctx, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		record("INSERT", "OUTBOX", failingID, "200"),
		record("MODIFY", "OUTBOX", okID, "500"),
	}})
	if err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("retry: %+v, %v", res, err)
	}
	f.expectMail(map[string]int{good + " Client secret created on Acme OK": 1, bad + " Client secret created on Acme Failing": 1})
}
