// Package outbox delivers security notices after the change they tell of has
// been answered.
//
// A change to an application's credentials (a secret, key or federated
// credential created or deleted) leaves a notice in the table's outbox in
// the change's own transaction (see shared/store): the change never happens
// without its notice, and its answer never waits for mail. In AWS the
// table's stream, filtered to outbox items, invokes the notice sender with
// the notice's key; the local stack polls the outbox and invokes the same
// function with the same event.
//
// Exactly once. Each (notice, recipient) is claimed with a conditional
// write just before its message is sent (a random token and a Lease), and
// marked sent once SES accepts it. A claim already sent is skipped, so a
// retried or repeated delivery mails no one twice. If SES refuses the
// message the claim is released and the delivery fails, so it is retried;
// an address SES refuses for good is recorded undeliverable and never tried
// again. If a sender dies between claim and send, the next attempt waits out
// the lease (it is short: the send it covers is bounded to half of it) and
// takes the claim over. What remains: a sender that dies after SES accepted
// a message and before recording it sent leaves the claim to run out, and
// the retry sends that message again. The notice sender prefers that rare
// duplicate, one DynamoDB write wide, to a lost notice; each message carries
// X-Portal-Event, the change's event id, so a duplicate can be recognised.
// Once every recipient has its message (or is undeliverable), the notice
// leaves the outbox.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"credportal/shared/mail"
	"credportal/shared/portal"
)

// Claim names one notice to one recipient.
type Claim struct {
	EventID   string
	Recipient string
}

// ClaimResult is what claiming found.
type ClaimResult int

const (
	// Claimed: the caller now holds the claim and sends.
	Claimed ClaimResult = iota
	// Done: sent before, or undeliverable; nothing to send.
	Done
	// Held: another sender's lease is running.
	Held
)

// Store is what the sender reads and writes.
type Store interface {
	// Notice reads an undelivered notice; false once it has been delivered.
	Notice(ctx context.Context, eventID string) (portal.Notice, bool, error)
	GetApplication(ctx context.Context, id string) (portal.Application, error)
	ListDesignations(ctx context.Context, applicationID string) ([]portal.Designation, error)
	// ClaimNotice takes c for token until now+lease; when another sender
	// holds it (Held), the end of that lease is returned.
	ClaimNotice(ctx context.Context, c Claim, token string, now time.Time, lease time.Duration) (ClaimResult, time.Time, error)
	MarkNoticeSent(ctx context.Context, c Claim, token, messageID string, now time.Time) error
	MarkNoticeUndeliverable(ctx context.Context, c Claim, token, reason string, now time.Time) error
	ReleaseNotice(ctx context.Context, c Claim, token string) error
	// NoticeDelivered removes the notice from the outbox.
	NoticeDelivered(ctx context.Context, eventID string) error
}

// Sender sends one message; mail.Mailer is one.
type Sender interface {
	Send(ctx context.Context, msg mail.Message) (string, error)
}

// Config is the sender's configuration.
type Config struct {
	PortalURL string // the portal's public URL, for the links
	Fallback  string // who is told when an application has no credential manager ("" for no one)
	// SignIn is how a person designated signs in, as their notice says.
	SignIn mail.SignIn
	// Lease is how long a claim is held; sending is bounded to half of it.
	Lease time.Duration
}

// DefaultLease is the claims' lease: short, so that a retry after a sender
// died soon takes its claims over, and far longer than one SES call.
const DefaultLease = 20 * time.Second

// Outbox delivers notices.
type Outbox struct {
	store  Store
	sender Sender
	cfg    Config
	now    func() time.Time
	random io.Reader
	// sleep waits d or until ctx ends; tests move their clock instead.
	sleep func(ctx context.Context, d time.Duration) error
	log   *slog.Logger
}

// Option adjusts an Outbox.
type Option func(*Outbox)

// WithSleep makes the outbox wait with sleep (for tests that move a clock).
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(o *Outbox) { o.sleep = sleep }
}

// New builds an outbox. now stamps the claims' leases; random makes their
// tokens.
func New(st Store, sender Sender, cfg Config, now func() time.Time, random io.Reader, opts ...Option) *Outbox {
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	o := &Outbox{store: st, sender: sender, cfg: cfg, now: now, random: random, sleep: mail.Sleep, log: slog.Default()}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// Handle is the Lambda handler of the table's stream, filtered to the
// outbox's notices: it delivers each record's notice and reports those
// that failed, so that only they are retried.
func (o *Outbox) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	res := events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
	for _, r := range ev.Records {
		id, ok := noticeID(r)
		if !ok {
			o.log.WarnContext(ctx, "stream record is not an outbox notice; ignored", "eventName", r.EventName, "eventID", r.EventID)
			continue
		}
		if err := o.Deliver(ctx, id); err != nil {
			o.log.ErrorContext(ctx, "security notice not delivered yet; it is retried", "eventId", id, "error", err.Error())
			res.BatchItemFailures = append(res.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
		}
	}
	return res, nil
}

// OutboxPartition is the outbox's partition key (store.OutboxPartition).
const OutboxPartition = "OUTBOX"

// noticeID is the event id of the notice a stream record is about: an
// insertion or update of an item of the outbox partition.
func noticeID(r events.DynamoDBEventRecord) (string, bool) {
	if r.EventName != string(events.DynamoDBOperationTypeInsert) && r.EventName != string(events.DynamoDBOperationTypeModify) {
		return "", false
	}
	pk, sk := r.Change.Keys["PK"], r.Change.Keys["SK"]
	if pk.DataType() != events.DataTypeString || sk.DataType() != events.DataTypeString || pk.String() != OutboxPartition || sk.String() == "" {
		return "", false
	}
	return sk.String(), true
}

// errHeld means another sender holds a claim past what this invocation can
// wait for.
var errHeld = errors.New("another sender holds a claim")

// Deliver sends the notice of eventID to each of its recipients (a
// credential's notice, each credential manager of its application or the
// fallback address; a designation's, the person designated), each once, and
// removes it from the outbox when all have it. An error means some have
// not: deliver again.
func (o *Outbox) Deliver(ctx context.Context, eventID string) error {
	n, ok, err := o.store.Notice(ctx, eventID)
	if err != nil || !ok {
		return err // a notice no longer in the outbox was delivered
	}
	app, err := o.store.GetApplication(ctx, n.Event.ApplicationID)
	if err != nil {
		return fmt.Errorf("application of notice %s: %w", eventID, err)
	}
	msg, to, err := o.compose(ctx, app, n)
	if err != nil {
		return err
	}
	if len(to) == 0 {
		o.log.WarnContext(ctx, "security notice has no one to go to: no credential manager and no fallback address", "eventId", eventID, "applicationId", app.ID)
	}
	token, err := mail.ClaimToken(o.random)
	if err != nil {
		return err
	}
	var errs []error
	for _, rcpt := range to {
		if err := o.deliverTo(ctx, Claim{EventID: eventID, Recipient: rcpt}, token, msg); err != nil {
			errs = append(errs, fmt.Errorf("to %s: %w", rcpt, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return o.store.NoticeDelivered(ctx, eventID)
}

// compose writes n's message and says whom it goes to: a designation's, the
// person designated; a security notice, the application's credential
// managers (mail.Recipients).
func (o *Outbox) compose(ctx context.Context, app portal.Application, n portal.Notice) (mail.Message, []string, error) {
	if n.Designation != nil {
		msg, err := mail.DesignationNotice(o.cfg.PortalURL, o.cfg.SignIn, app, n)
		return msg, []string{n.Designation.Email}, err
	}
	ds, err := o.store.ListDesignations(ctx, app.ID)
	if err != nil {
		return mail.Message{}, nil, fmt.Errorf("designations of notice %s: %w", n.Event.ID, err)
	}
	msg, err := mail.SecurityNotice(o.cfg.PortalURL, app, n)
	return msg, mail.Recipients(ds, o.cfg.Fallback), err
}

// deliverTo sends msg to c's recipient unless it has been sent: nil once
// it is sent or undeliverable.
func (o *Outbox) deliverTo(ctx context.Context, c Claim, token string, msg mail.Message) error {
	got, until, err := o.store.ClaimNotice(ctx, c, token, o.now(), o.cfg.Lease)
	if got == Held && err == nil {
		// A sender that died holding the claim: wait its lease out, when
		// this invocation has the time to, and take the claim over.
		if !o.canWaitUntil(ctx, until) {
			return errHeld
		}
		if err := o.sleep(ctx, until.Sub(o.now())+time.Millisecond); err != nil {
			return errHeld
		}
		got, _, err = o.store.ClaimNotice(ctx, c, token, o.now(), o.cfg.Lease)
	}
	switch {
	case err != nil:
		// The claim may have been written though its answer was lost:
		// release it (only if it is ours), so the retry need not wait.
		o.release(ctx, c, token)
		return err
	case got == Done:
		return nil
	case got == Held:
		return errHeld
	}
	m := msg
	m.To = []string{c.Recipient}
	send, cancel := context.WithTimeout(ctx, o.cfg.Lease/2)
	id, err := o.sender.Send(send, m)
	cancel()
	switch {
	case err == nil:
		if err := mail.RecordSent(ctx, func(ctx context.Context) error { return o.store.MarkNoticeSent(ctx, c, token, id, o.now()) }); err != nil {
			// Sent, but not recorded: the claim runs out and a retry sends
			// again. Nothing better is possible; say so.
			o.log.ErrorContext(ctx, "security notice sent but not recorded; a retry may send it again", "eventId", c.EventID, "recipient", c.Recipient, "messageId", id, "error", err.Error())
			return err
		}
		return nil
	case mail.SenderNotReady(err):
		// No recipient is at fault: the notice stays in the outbox and the
		// stream's retries send it once SES is set up.
		mail.ReportSenderNotReady(ctx, o.log, mail.FromOf(o.sender), 1, err)
		o.release(ctx, c, token)
		return fmt.Errorf("send: %w", err)
	case mail.Undeliverable(err):
		o.log.ErrorContext(ctx, "security notice undeliverable: SES refused the address for good; it is not tried again",
			"eventId", c.EventID, "recipient", c.Recipient, "error", err.Error())
		if markErr := o.store.MarkNoticeUndeliverable(context.WithoutCancel(ctx), c, token, err.Error(), o.now()); markErr != nil {
			return markErr // the claim runs out and the address is tried again
		}
		return nil
	}
	o.release(ctx, c, token)
	return fmt.Errorf("send: %w", err)
}

// canWaitUntil reports whether the invocation has time to wait until t and
// then send.
func (o *Outbox) canWaitUntil(ctx context.Context, t time.Time) bool {
	dl, ok := ctx.Deadline()
	return !ok || t.Add(o.cfg.Lease/2).Before(dl.Add(o.now().Sub(time.Now())))
}

// release gives a claim up at once, even when the invocation is ending.
func (o *Outbox) release(ctx context.Context, c Claim, token string) {
	if err := o.store.ReleaseNotice(context.WithoutCancel(ctx), c, token); err != nil {
		o.log.WarnContext(ctx, "could not release a notice claim", "eventId", c.EventID, "recipient", c.Recipient, "error", err.Error())
	}
}
