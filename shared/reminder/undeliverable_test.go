package reminder_test

import (
	"context"
	"crypto/rand"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"credportal/shared/mail"
	"credportal/shared/publickey"
	"credportal/shared/reminder"
)

// sesAnswers answers SendEmail to one address as SES would refuse it (the
// emulator accepts any address with an @), and counts the attempts to it.
type sesAnswers struct {
	mu       sync.Mutex
	address  string
	answer   error
	attempts int
}

func (a *sesAnswers) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("ses-answers",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if p, ok := in.Parameters.(*sesv2.SendEmailInput); ok && p.Destination != nil && slices.Contains(p.Destination.ToAddresses, a.address) {
				a.mu.Lock()
				a.attempts++
				answer := a.answer
				a.mu.Unlock()
				if answer != nil {
					return middleware.InitializeOutput{}, middleware.Metadata{}, answer
				}
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}

// One address SES refuses for good never fails the run: its reminder is
// recorded undeliverable and never tried again, and the others go out. What
// SES refuses for now (throttling, the quota, its own failures) fails the
// run, so it is retried, and goes out once SES takes it. A refusal of the
// sending side (SES not set up) marks nothing undeliverable either: the run
// counts it as sesNotReady, without failing, and the next run sends it.
func TestUndeliverableRecipient(t *testing.T) {
	const bad = "zoe@bad.test"
	cases := []struct {
		name      string
		answer    error
		permanent bool
		notReady  bool
	}{
		{"message rejected", &types.MessageRejected{Message: aws.String("Address blacklisted.")}, true, false},
		{"sender not verified", &types.MessageRejected{Message: aws.String("Email address is not verified. The following identities failed the check in region EU-WEST-1: " + "no-reply@portal.example")}, false, true},
		{"sending paused", &types.SendingPausedException{Message: aws.String("Sending is paused for this account.")}, false, true},
		{"bad request", &types.BadRequestException{Message: aws.String("Illegal address")}, true, false},
		{"throttled", &types.TooManyRequestsException{Message: aws.String("Maximum sending rate exceeded.")}, false, false},
		{"daily quota", &types.LimitExceededException{Message: aws.String("Daily message quota exceeded.")}, false, false},
		{"SES failure", &smithy.GenericAPIError{Code: "InternalFailure", Message: "Internal failure", Fault: smithy.FaultServer}, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			app := f.app("u", "App u", []string{"good@u.test", bad}, nil)
			s := f.secret(app, "Key U", at(7, 12, 0))
			k := f.publicKey(app, "Signer U", publickey.TypePublicKey, tpRFC7638, at(7, 12, 0))
			other := f.app("v", "App v", []string{"ok@v.test"}, nil)
			s2 := f.secret(other, "Key V", at(7, 12, 0))
			answers := &sesAnswers{address: bad, answer: c.answer}
			ses := sesv2.NewFromConfig(f.emu.Config(), func(o *sesv2.Options) { o.APIOptions = append(o.APIOptions, answers.middleware) })
			sweep := func() (reminder.Result, error) {
				return reminder.New(f.st, mail.NewMailer(ses, f.sender, ""), f.config(), f.clock, rand.Reader).Run(context.Background())
			}
			res, err := sweep()
			claim := reminder.Claim{ApplicationID: app.ID, Kind: reminder.KindSecret, CredentialID: s.ID, Threshold: 7, Recipient: bad, ExpiresAt: s.ExpiresAt}
			status, serr := f.st.ReminderStatus(context.Background(), claim)
			if serr != nil {
				t.Fatal(serr)
			}
			keyClaim := reminder.Claim{ApplicationID: app.ID, Kind: reminder.KindKey, CredentialID: k.ID, Threshold: 7, Recipient: bad, ExpiresAt: k.ExpiresAt}
			keyStatus, serr := f.st.ReminderStatus(context.Background(), keyClaim)
			if serr != nil {
				t.Fatal(serr)
			}
			if c.permanent {
				if err != nil || res.Undeliverable != 2 || res.Sent != 2 || res.Failed != 0 {
					t.Fatalf("run with an undeliverable address: %+v, %v", res, err)
				}
				if status != "undeliverable" || keyStatus != "undeliverable" {
					t.Fatalf("reminders to %s: status %q, the key's %q", bad, status, keyStatus)
				}
				f.setNow(at(1, 7, 0))
				if res, err := sweep(); err != nil || res.Sent != 0 || res.Undeliverable != 0 {
					t.Fatalf("the next day: %+v, %v", res, err)
				}
				if answers.attempts != 1 {
					t.Fatalf("%d attempts to the undeliverable address, want 1", answers.attempts)
				}
				f.exactlyOnce(key("good@u.test", s, 7), keyReminder("good@u.test", k, 7), key("ok@v.test", s2, 7))
				return
			}
			if (err == nil) != c.notReady || res.Undeliverable != 0 || (res.SesNotReady > 0) != c.notReady || status == "undeliverable" || keyStatus == "undeliverable" {
				t.Fatalf("run with a transient refusal: %+v, %v, status %q, the key's %q", res, err, status, keyStatus)
			}
			answers.mu.Lock()
			answers.answer = nil
			answers.mu.Unlock()
			f.setNow(at(0, 7, 5))
			if res, err := sweep(); err != nil || res.Undeliverable != 0 {
				t.Fatalf("the retry: %+v, %v", res, err)
			}
			f.exactlyOnce(key("good@u.test", s, 7), keyReminder("good@u.test", k, 7), key(bad, s, 7), keyReminder(bad, k, 7), key("ok@v.test", s2, 7))
		})
	}
}
