package portal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"credportal/shared/audit"
	"credportal/shared/ids"
	"credportal/shared/secret"
)

// Leak is a secret value reported as found in public: by whom (the scanning
// partner's actor name), where, and in what kind of content.
type Leak struct {
	Value    string // the reported value; never stored or logged
	Reporter string // e.g. "secret-scanning:github"
	URL      string // where it was found
	Source   string // the kind of content, e.g. "content", "commit"
}

// LeakAction is what the portal does with a secret reported as leaked.
type LeakAction string

// Leak actions.
const (
	// LeakRevoke deletes the secret at once, without confirmation.
	LeakRevoke LeakAction = "revoke"
	// LeakNotify keeps the secret, marked leaked.
	LeakNotify LeakAction = "notify"
)

// ParseLeakAction reads a configured action; empty is LeakRevoke.
func ParseLeakAction(s string) (LeakAction, error) {
	switch LeakAction(s) {
	case "", LeakRevoke:
		return LeakRevoke, nil
	case LeakNotify:
		return LeakNotify, nil
	}
	return "", fmt.Errorf("leak action %q is neither %q nor %q", s, LeakRevoke, LeakNotify)
}

// Notice states of a leak report.
const (
	NoticePending = "pending"
	NoticeSent    = "sent"
)

// SecretHash is the index entry that finds a secret from its value alone:
// the value's keyed hash names the secret. It outlives the secret (a
// tombstone), so a value reported after its secret was deleted is still
// recognised. Leak is set once the value has been reported.
type SecretHash struct {
	Digest        []byte
	ApplicationID string
	SecretID      string
	Leak          *LeakReport
}

// LeakReport is what the portal recorded of the first report of a value: the
// secret as it was (its item may be gone), where it was found, what was done,
// and whether its notice has been sent.
type LeakReport struct {
	At         time.Time
	Reporter   string
	URL        string
	Source     string
	Action     LeakAction
	SecretName string
	Hint       string
	Notice     string // NoticePending or NoticeSent
}

// LeakRecord is the change that records a first report, in one transaction:
// the report on the index entry, the audit events, and the secret removed
// (LeakRevoke) or marked leaked (LeakNotify). The notice is claimed with
// NoticeToken until NoticeLease.
type LeakRecord struct {
	Hash        SecretHash
	Application Application
	Secret      Secret
	Report      LeakReport
	Events      []audit.Event
	NoticeToken string
	NoticeLease time.Time
}

// ErrLeakRecorded is returned by LeakStore.RecordLeak when the value's report
// was recorded already (by a concurrent report).
var ErrLeakRecorded = errors.New("leak already recorded")

// LeakStore is the persistence that leak reports need. Not-found lookups
// return an error wrapping ErrNotFound.
type LeakStore interface {
	GetApplication(ctx context.Context, id string) (Application, error)
	GetSecret(ctx context.Context, applicationID, secretID string) (Secret, error)
	// FindSecretHash returns the index entry of the first of digests that
	// has one, read consistently.
	FindSecretHash(ctx context.Context, digests [][]byte) (SecretHash, error)
	// RecordLeak writes r atomically: ErrLeakRecorded when the value was
	// recorded already, ErrNotFound when the secret is gone.
	RecordLeak(ctx context.Context, r LeakRecord) error
	// ClaimLeakNotice takes a pending notice for token until lease; false
	// when it is sent or another holds it.
	ClaimLeakNotice(ctx context.Context, digest []byte, token string, now, lease time.Time) (bool, error)
	// FinishLeakNotice marks token's claimed notice sent, or releases it.
	FinishLeakNotice(ctx context.Context, digest []byte, token string, sent bool) error
}

// LivePeppers gives every pepper version a stored hash may name.
type LivePeppers interface {
	Live(ctx context.Context) ([]secret.Pepper, error)
}

// LeakNotifier sends the urgent notice of a leaked secret to the
// application's credential managers (or the fallback address).
type LeakNotifier interface {
	SecretLeaked(ctx context.Context, app Application, r LeakReport) error
}

// NoticeLease is how long a claimed leak notice is held before another
// report may send it.
const NoticeLease = 2 * time.Minute

// Leaks acts on reports of leaked secret values.
type Leaks struct {
	store    LeakStore
	peppers  LivePeppers
	notifier LeakNotifier
	action   LeakAction
	now      func() time.Time
	random   io.Reader
}

// NewLeaks builds the leak handling; action is what a first report does.
func NewLeaks(store LeakStore, peppers LivePeppers, notifier LeakNotifier, action LeakAction, now func() time.Time, random io.Reader) *Leaks {
	return &Leaks{store: store, peppers: peppers, notifier: notifier, action: action, now: now, random: random}
}

// ReportLeak finds leak's value among the secrets, present or deleted, and
// reports whether it is (or was) one. The first report of a secret still
// present revokes it (or marks it leaked), records secret.leaked (and
// secret.deleted), and sends the notice. A later report changes nothing and
// sends nothing, except a notice that an earlier attempt failed to send.
func (l *Leaks) ReportLeak(ctx context.Context, leak Leak) (bool, error) {
	peppers, err := l.peppers.Live(ctx)
	if err != nil {
		return false, fmt.Errorf("get peppers: %w", err)
	}
	digests := make([][]byte, len(peppers))
	for i, p := range peppers {
		digests[i] = secret.Digest(p.Key, leak.Value)
	}
	h, err := l.store.FindSecretHash(ctx, digests)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find secret by hash: %w", err)
	}
	if h.Leak != nil {
		if h.Leak.Notice == NoticeSent {
			return true, nil
		}
		return true, l.resend(ctx, h)
	}
	sec, err := l.store.GetSecret(ctx, h.ApplicationID, h.SecretID)
	if errors.Is(err, ErrNotFound) {
		logInfo(ctx, "leaked secret was deleted before", "applicationId", h.ApplicationID, "secretId", h.SecretID)
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("get secret %s: %w", h.SecretID, err)
	}
	app, err := l.store.GetApplication(ctx, h.ApplicationID)
	if err != nil {
		return false, fmt.Errorf("get application %s: %w", h.ApplicationID, err)
	}
	rec, err := l.record(h, app, sec, leak)
	if err != nil {
		return false, err
	}
	err = l.store.RecordLeak(ctx, rec)
	switch {
	case errors.Is(err, ErrLeakRecorded):
		return true, nil
	case errors.Is(err, ErrNotFound):
		logInfo(ctx, "leaked secret deleted meanwhile", "applicationId", h.ApplicationID, "secretId", h.SecretID)
		return true, nil
	case err != nil:
		return false, fmt.Errorf("record leak of %s: %w", h.SecretID, err)
	}
	logInfo(ctx, "leaked secret", "applicationId", app.ID, "secretId", sec.ID, "action", string(l.action), "url", leak.URL, "source", leak.Source)
	return true, l.send(ctx, h.Digest, rec.NoticeToken, app, rec.Report)
}

func (l *Leaks) record(h SecretHash, app Application, sec Secret, leak Leak) (LeakRecord, error) {
	now := l.now().UTC()
	report := LeakReport{
		At: now, Reporter: leak.Reporter, URL: leak.URL, Source: leak.Source, Action: l.action,
		SecretName: sec.Name, Hint: sec.Hint, Notice: NoticePending,
	}
	leaked, err := secretEvent(now, l.random, leak.Reporter, audit.SecretLeaked, sec, Request{})
	if err != nil {
		return LeakRecord{}, err
	}
	leaked.Details = map[string]string{"url": leak.URL, "source": leak.Source, "action": string(l.action)}
	events := []audit.Event{leaked}
	if l.action == LeakRevoke {
		// A millisecond later, so the trail shows the deletion after the report.
		deleted, err := secretEvent(now.Add(time.Millisecond), l.random, leak.Reporter, audit.SecretDeleted, sec, Request{})
		if err != nil {
			return LeakRecord{}, err
		}
		events = append(events, deleted)
	}
	token, err := ids.New(ids.Event, now, l.random)
	if err != nil {
		return LeakRecord{}, fmt.Errorf("generate notice token: %w", err)
	}
	return LeakRecord{
		Hash: h, Application: app, Secret: sec, Report: report, Events: events,
		NoticeToken: token, NoticeLease: now.Add(NoticeLease),
	}, nil
}

// resend sends a notice that an earlier report recorded but did not send.
func (l *Leaks) resend(ctx context.Context, h SecretHash) error {
	now := l.now().UTC()
	token, err := ids.New(ids.Event, now, l.random)
	if err != nil {
		return fmt.Errorf("generate notice token: %w", err)
	}
	claimed, err := l.store.ClaimLeakNotice(ctx, h.Digest, token, now, now.Add(NoticeLease))
	if err != nil || !claimed {
		return err
	}
	app, err := l.store.GetApplication(ctx, h.ApplicationID)
	if err != nil {
		return errors.Join(fmt.Errorf("get application %s: %w", h.ApplicationID, err), l.store.FinishLeakNotice(ctx, h.Digest, token, false))
	}
	return l.send(ctx, h.Digest, token, app, *h.Leak)
}

// send sends the claimed notice; a failure releases the claim, so the
// sender's retry of the report sends it.
func (l *Leaks) send(ctx context.Context, digest []byte, token string, app Application, r LeakReport) error {
	if err := l.notifier.SecretLeaked(ctx, app, r); err != nil {
		release := l.store.FinishLeakNotice(ctx, digest, token, false)
		return errors.Join(fmt.Errorf("leak notice for %s: %w", app.ID, err), release)
	}
	if err := l.store.FinishLeakNotice(ctx, digest, token, true); err != nil {
		// Sent; only its mark is missing. No error, so the report is not
		// retried for it; the notice stays pending, and only a report of the
		// value after the lease would send it again.
		logError(ctx, "leak notice sent but not marked", "applicationId", app.ID, "error", err.Error())
	}
	return nil
}
