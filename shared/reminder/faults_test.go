package reminder_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go/middleware"

	"credportal/shared/mail"
	"credportal/shared/reminder"
)

// seedThree makes three applications, each with its own two managers and a
// secret seven days from expiry: six reminders in six digests.
func seedThree(f *fixture) []string {
	var want []string
	for i, org := range []string{"a", "b", "c"} {
		m1, m2 := "m1@"+org+".test", "m2@"+org+".test"
		app := f.app(org, "App "+org, []string{m1, m2}, nil)
		s := f.secret(app, "Key "+string(rune('A'+i)), at(7, 12, 0))
		want = append(want, key(m1, s, 7), key(m2, s, 7))
	}
	return want
}

// SES refuses some digests: they go out on the next run, none doubled.
func TestSESFailureRetriedNextRun(t *testing.T) {
	f := newFixture(t)
	want := seedThree(f)
	f.sesFault.set("SendEmail", false, errInjected, 2, 5)
	res, err := f.run()
	if err == nil || res.Failed != 2 || res.Sent != 4 {
		t.Fatalf("first run: %+v, %v", res, err)
	}
	if got := len(f.sent()); got != 4 {
		t.Fatalf("%d reminders after the failing run, want 4", got)
	}
	res, err = f.run()
	if err != nil || res.Sent != 2 || res.Failed != 0 {
		t.Fatalf("second run: %+v, %v", res, err)
	}
	f.sesFault.clear()
	f.mustRun()
	f.exactlyOnce(want...)
}

// SES throttles: the sweep pauses and sends again within the run.
func TestSESThrottlingBacksOff(t *testing.T) {
	f := newFixture(t)
	want := seedThree(f)
	f.sesFault.set("SendEmail", false, errThrottle, 1, 2)
	res := f.mustRun()
	if res.Sent != 6 || res.Failed != 0 {
		t.Fatalf("%+v", res)
	}
	f.exactlyOnce(want...)
}

// A claim is written but the sweep never learns it (the DynamoDB response is
// lost): the run releases the claim it may hold, so the invocation's retry a
// minute later, well within the lease, sends the reminder, once.
func TestDynamoDBFailureAfterClaim(t *testing.T) {
	f := newFixture(t)
	want := seedThree(f)
	f.dbFaults.set("PutItem", true, errInjected, 3)
	if _, err := f.run(); err == nil {
		t.Fatal("a failed claim must fail the run")
	}
	f.dbFaults.clear()
	if got := len(f.sent()); got != 5 {
		t.Fatalf("%d reminders sent, want 5", got)
	}
	f.setNow(day0.Add(time.Minute))
	if res := f.mustRun(); res.Sent != 1 || res.Failed != 0 {
		t.Fatalf("the retried invocation: %+v", res)
	}
	f.setNow(day0.Add(f.config().Lease + time.Minute))
	if res := f.mustRun(); res.Sent != 0 {
		t.Fatalf("run after the lease: %+v", res)
	}
	f.exactlyOnce(want...)
}

// Recording "sent" fails once: it is retried, so the lease running out does
// not send the reminder again.
func TestDynamoDBFailureMarkingSent(t *testing.T) {
	f := newFixture(t)
	want := seedThree(f)
	f.dbFaults.set("UpdateItem", true, errInjected, 1)
	f.mustRun()
	f.dbFaults.clear()
	f.setNow(day0.Add(f.config().Lease + time.Minute))
	if res := f.mustRun(); res.Sent != 0 {
		t.Fatalf("run after the lease: %+v", res)
	}
	f.exactlyOnce(want...)
}

// Reading one day of the index fails: the other days go out, that day's
// secrets on the next run.
func TestDynamoDBFailureReadingADay(t *testing.T) {
	f := newFixture(t)
	want := seedThree(f)
	app := f.app("d", "App d", []string{"m@d.test"}, nil)
	s := f.secret(app, "Tomorrow", at(1, 12, 0))
	want = append(want, key("m@d.test", s, 1))
	f.dbFaults.set("Query", false, errInjected, 3) // day -1, 0, then 1
	res, err := f.run()
	if err == nil || res.Sent != 6 {
		t.Fatalf("first run: %+v, %v", res, err)
	}
	f.dbFaults.clear()
	if res := f.mustRun(); res.Sent != 1 {
		t.Fatalf("second run: %+v", res)
	}
	f.exactlyOnce(want...)
}

// With too little time left the sweep starts nothing, and says so; the next
// run sends everything.
func TestStopsBeforeTheDeadline(t *testing.T) {
	f := newFixture(t)
	want := seedThree(f)
	// The invocation's deadline is 500 ms away, inside the sweep's 1 s
	// margin: too late to start a digest. The context is never done, so
	// the reads before the first digest succeed however slow the machine.
	ctx := deadlineOnly{context.Background(), time.Now().Add(500 * time.Millisecond)}
	res, err := f.sweep(f.config()).Run(ctx)
	if err != nil || res.Sent != 0 || res.Deferred != 6 {
		t.Fatalf("%+v, %v", res, err)
	}
	f.mustRun()
	f.exactlyOnce(want...)
}

// The send rate holds the sweep back; when the next send would fall past
// the deadline's margin the sweep stops cleanly and leaves the rest.
func TestSendRateAndDeadline(t *testing.T) {
	f := newFixture(t)
	want := seedThree(f)
	cfg := f.config()
	cfg.MaxSendRate = 0.2 // one message every 5 s
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	res, err := f.sweep(cfg).Run(ctx)
	if err != nil || res.Sent != 1 || res.Deferred != 5 || res.Failed != 0 {
		t.Fatalf("%+v, %v", res, err)
	}
	f.mustRun()
	f.exactlyOnce(want...)
}

// A deleted secret leaves the index with its item: no reminder.
func TestDeletedSecretsAreGone(t *testing.T) {
	f := newFixture(t)
	app := f.app("a", "App", []string{"m@a.test"}, nil)
	s := f.secret(app, "Gone", at(3, 12, 0))
	keep := f.secret(app, "Kept", at(3, 13, 0))
	f.remove(s)
	f.mustRun()
	f.exactlyOnce(key("m@a.test", keep, 3))
	if m := f.mail(); len(m) != 1 || strings.Contains(m[0].Text, "Gone") {
		t.Fatalf("mail %+v", m)
	}
}

// SES stops taking mail (daily quota): the run stops at once, fails, and
// leaves everything to the next run.
func TestSESQuotaStopsTheRun(t *testing.T) {
	f := newFixture(t)
	want := seedThree(f)
	f.sesFault.set("SendEmail", false, &types.LimitExceededException{Message: aws.String("Daily message quota exceeded.")}, 1)
	res, err := f.run()
	if err == nil || res.Sent != 0 || res.Failed != 1 || res.Deferred != 5 {
		t.Fatalf("%+v, %v", res, err)
	}
	f.sesFault.clear()
	if res := f.mustRun(); res.Sent != 6 {
		t.Fatalf("next run %+v", res)
	}
	f.exactlyOnce(want...)
}

// crashOnSend is an SES middleware that ends the run at its nth send, before
// SES sees it, the way a crash would: it panics, so nothing after the claim
// (no release, no record) runs.
type crashOnSend struct {
	nth, calls int
}

type crashed struct{}

func (c *crashOnSend) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("crash-on-send",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if _, ok := in.Parameters.(*sesv2.SendEmailInput); ok {
				if c.calls++; c.calls == c.nth {
					panic(crashed{})
				}
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}

// A run dies between claiming a digest's reminders and sending it. A run
// half a minute later (a concurrent one) finds the claims held and leaves
// them; Lambda's retry of the invocation a minute later finds them free and
// sends each reminder exactly once.
func TestCrashBetweenClaimAndSend(t *testing.T) {
	f := newFixture(t)
	want := seedThree(f)
	crash := &crashOnSend{nth: 2}
	ses := sesv2.NewFromConfig(f.emu.Config(), func(o *sesv2.Options) { o.APIOptions = append(o.APIOptions, crash.middleware) })
	dying := reminder.New(f.st, mail.NewMailer(ses, f.sender, ""), f.config(), f.clock, rand.Reader)
	func() {
		defer func() {
			if r := recover(); r != (crashed{}) {
				t.Fatalf("the run did not crash: %v", r)
			}
		}()
		_, _ = dying.Run(context.Background())
	}()
	if got := len(f.sent()); got != 1 {
		t.Fatalf("%d reminders sent before the crash, want 1", got)
	}

	f.setNow(day0.Add(30 * time.Second))
	res := f.mustRun()
	if res.Sent != 4 || res.Skipped < 1 {
		t.Fatalf("a run while the dead run's claim is leased: %+v", res)
	}
	if got := len(f.sent()); got != 5 {
		t.Fatalf("%d reminders after the second run, want 5", got)
	}

	f.setNow(day0.Add(time.Minute))
	if res := f.mustRun(); res.Sent != 1 {
		t.Fatalf("the retry a minute later: %+v", res)
	}
	f.setNow(day0.Add(time.Hour))
	if res := f.mustRun(); res.Sent != 0 {
		t.Fatalf("a later run: %+v", res)
	}
	f.exactlyOnce(want...)
}

// deadlineOnly has a deadline, as a Lambda invocation's context does, but is
// never done.
type deadlineOnly struct {
	context.Context
	deadline time.Time
}

func (c deadlineOnly) Deadline() (time.Time, bool) { return c.deadline, true }
