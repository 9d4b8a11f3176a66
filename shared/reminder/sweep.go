package reminder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"credportal/shared/mail"
	"credportal/shared/portal"
)

// Sweep runs the expiry reminders.
type Sweep struct {
	store   Store
	sender  Sender
	cfg     Config
	now     func() time.Time
	random  io.Reader
	limiter *rate.Limiter
	log     *slog.Logger
}

// New builds a sweep. now gives the business date and the claims' leases;
// random makes the claim tokens.
func New(st Store, sender Sender, cfg Config, now func() time.Time, random io.Reader) *Sweep {
	if cfg.MaxSendRate <= 0 {
		cfg.MaxSendRate = DefaultConfig().MaxSendRate
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultConfig().Lease
	}
	return &Sweep{
		store: st, sender: sender, cfg: cfg, now: now, random: random,
		limiter: rate.NewLimiter(rate.Limit(cfg.MaxSendRate), 1),
		log:     slog.Default(),
	}
}

// Result counts what a run did.
type Result struct {
	// Examined is the number of credentials (secrets and keys) read from
	// the index.
	Examined int `json:"examined"`
	// Due is the number of (credential, threshold, recipient) reminders
	// found due and not yet known to be done.
	Due int `json:"due"`
	// Sent is the number of digest emails SES accepted.
	Sent int `json:"sent"`
	// Reminders is the number of reminders those digests carried.
	Reminders int `json:"reminders"`
	// Skipped reminders were sent before, are held by another run, or have
	// no one to go to.
	Skipped int `json:"skipped"`
	// Failed counts the reminders that could not be claimed or sent, and the
	// day partitions that could not be read; a later run retries them.
	Failed int `json:"failed"`
	// Deferred reminders were left for the next run when time ran out or
	// SES stopped accepting mail.
	Deferred int `json:"deferred"`
	// Undeliverable reminders went to an address SES refused for good
	// (mail.Undeliverable): recorded, never tried again, and no failure of
	// the run.
	Undeliverable int `json:"undeliverable"`
	// SesNotReady reminders stay due because SES refused the sending side
	// (mail.SenderNotReady: the sender's identity not verified, the
	// sandbox, sending paused): nothing is marked undeliverable, the run
	// stops sending, and the next run sends them once SES is set up.
	SesNotReady int `json:"sesNotReady"`
}

// item is one due reminder, with what its digest shows.
type item struct {
	claim    Claim
	app      portal.Application
	cred     Credential
	daysLeft int
	newer    *Credential // the newer active credential of its kind to use instead, if any
	fallback bool        // sent to the fallback address: the application has no credential manager
}

// credentialRef names a credential of an application.
type credentialRef struct {
	kind      Kind
	appID, id string
}

func refOf(c Credential) credentialRef { return credentialRef{c.Kind, c.ApplicationID, c.ID} }

// thresholdKey identifies a (credential, threshold) pair.
type thresholdKey struct {
	credentialRef
	threshold int
}

// Run sweeps once. It returns an error when some reminder failed (so the
// invocation is retried and alarmed on); reminders left for lack of time are
// not an error.
func (s *Sweep) Run(ctx context.Context) (Result, error) {
	r := &run{Sweep: s, now: s.now().UTC(), unmarked: map[thresholdKey]bool{}, recipientSets: map[string]string{}}
	due := r.findDue(ctx)
	byRecipient := r.recipients(ctx, due)

	names := make([]string, 0, len(byRecipient))
	for rcpt := range byRecipient {
		names = append(names, rcpt)
	}
	sort.Strings(names)
	stopped := false
	for _, rcpt := range names {
		items := byRecipient[rcpt]
		if !stopped && s.late(ctx) {
			s.log.WarnContext(ctx, "expiry sweep stopping before the deadline; the rest waits for the next run")
			stopped = true
		}
		if stopped {
			if r.notReady != nil {
				r.res.SesNotReady += len(items)
			} else {
				r.res.Deferred += len(items)
			}
			r.leaveUnmarked(items)
			continue
		}
		if r.deliver(ctx, rcpt, items).stops() {
			s.log.WarnContext(ctx, "expiry sweep stopping: out of time, or SES is not accepting mail; the rest waits for the next run")
			stopped = true
		}
	}
	r.markReminded(ctx, due)

	res := r.res
	if r.notReady != nil {
		mail.ReportSenderNotReady(ctx, s.log, mail.FromOf(s.sender), res.SesNotReady, r.notReady)
	}
	s.log.InfoContext(ctx, "expiry sweep",
		"day", r.now.Format(time.DateOnly), "examined", res.Examined, "due", res.Due, "sent", res.Sent,
		"reminders", res.Reminders, "skipped", res.Skipped, "failed", res.Failed, "deferred", res.Deferred,
		"undeliverable", res.Undeliverable, "sesNotReady", res.SesNotReady)
	if err := errors.Join(r.errs...); err != nil {
		return res, fmt.Errorf("expiry sweep: %d failures, left for a later run: %w", res.Failed, err)
	}
	return res, nil
}

// run is the state of one sweep: its time, its counts and failures, and
// what it learns of each application and due (credential, threshold).
type run struct {
	*Sweep
	now  time.Time
	res  Result
	errs []error
	// unmarked holds the (credential, threshold) pairs this run must not
	// record as reminded: some recipient still lacks the reminder, or it was
	// recorded before.
	unmarked map[thresholdKey]bool
	// recipientSets holds each application's RecipientSet.
	recipientSets map[string]string
	// notReady is SES's refusal of the sending side, once it came.
	notReady error
}

// leaveUnmarked keeps the items' (credential, threshold) pairs from being
// recorded as reminded by this run.
func (r *run) leaveUnmarked(items []item) {
	for _, it := range items {
		r.unmarked[keyOf(it.claim)] = true
	}
}

// markReminded records on each credential the threshold that every
// recipient now has, with who they are, so later runs skip it without
// claiming again, unless the recipients have changed.
func (r *run) markReminded(ctx context.Context, due []dueCredential) {
	marked := map[thresholdKey]bool{}
	for _, d := range due {
		k := d.key()
		if r.unmarked[k] || marked[k] {
			continue
		}
		marked[k] = true
		if err := r.store.MarkReminded(ctx, k.kind, k.appID, k.id, k.threshold, r.recipientSets[k.appID]); err != nil && !errors.Is(err, portal.ErrNotFound) {
			r.log.WarnContext(ctx, "could not record a finished reminder", "kind", string(k.kind), "id", k.id, "threshold", k.threshold, "error", err.Error())
		}
	}
}

// dueCredential is a credential with the threshold it is due for.
type dueCredential struct {
	Expiring
	threshold int
	daysLeft  int
}

func (d dueCredential) key() thresholdKey { return thresholdKey{refOf(d.Credential), d.threshold} }

// findDue reads the window's day partitions and keeps the credentials with
// a threshold crossed and not yet done.
func (r *run) findDue(ctx context.Context) []dueCredential {
	var due []dueCredential
	window := slices.Max(r.cfg.Thresholds)
	for d := -1; d <= window; d++ {
		day := r.now.AddDate(0, 0, d)
		creds, err := r.store.ExpiringOn(ctx, day)
		if err != nil {
			r.log.ErrorContext(ctx, "could not read expiring credentials", "day", day.Format(time.DateOnly), "error", err.Error())
			r.errs = append(r.errs, err)
			r.res.Failed++
			continue
		}
		r.res.Examined += len(creds)
		for _, c := range creds {
			left := DaysLeft(r.now, c.ExpiresAt)
			t, ok := Due(r.cfg.Thresholds, left, DaysLeft(c.CreatedAt, c.ExpiresAt))
			if !ok {
				continue
			}
			due = append(due, dueCredential{Expiring: c, threshold: t, daysLeft: left})
		}
	}
	return due
}

// recipients resolves who gets each due credential: the application's
// credential managers, else the fallback address. It notes each
// application's RecipientSet.
func (r *run) recipients(ctx context.Context, due []dueCredential) map[string][]item {
	byRecipient := map[string][]item{}
	byApp := map[string][]dueCredential{}
	var appIDs []string
	for _, d := range due {
		if _, seen := byApp[d.ApplicationID]; !seen {
			appIDs = append(appIDs, d.ApplicationID)
		}
		byApp[d.ApplicationID] = append(byApp[d.ApplicationID], d)
	}
	if len(appIDs) == 0 {
		return byRecipient
	}
	apps, err := r.store.GetApplications(ctx, appIDs)
	if err != nil {
		r.failDue(due, fmt.Errorf("read applications: %w", err))
		return byRecipient
	}
	for _, app := range apps {
		creds := byApp[app.ID]
		ds, err := r.store.ListDesignations(ctx, app.ID)
		if err != nil {
			r.failDue(creds, fmt.Errorf("read designations of %s: %w", app.ID, err))
			continue
		}
		to := mail.Recipients(ds, r.cfg.Fallback)
		if len(to) == 0 {
			r.log.WarnContext(ctx, "no one to remind: the application has no credential manager and no fallback address is set", "applicationId", app.ID)
			r.res.Skipped += len(creds)
			r.leaveDueUnmarked(creds)
			continue
		}
		fallback := len(mail.Managers(ds)) == 0
		set := RecipientSet(to)
		r.recipientSets[app.ID] = set
		// A threshold recorded as done for these very recipients needs no
		// claims; a recipient added since still gets it.
		creds = slices.DeleteFunc(creds, func(d dueCredential) bool {
			recorded := d.Reminded != nil && *d.Reminded <= d.threshold && d.RemindedTo == set
			if recorded {
				// Nothing to claim, send or record again.
				r.res.Skipped += len(to)
				r.leaveDueUnmarked([]dueCredential{d})
			}
			return recorded
		})
		if len(creds) == 0 {
			continue
		}
		newer, err := r.replacements(ctx, r.now, app, creds)
		if err != nil {
			// The note is a courtesy: send the reminders without it.
			r.log.WarnContext(ctx, "could not check for replacement credentials", "applicationId", app.ID, "error", err.Error())
		}
		for _, d := range creds {
			for _, rcpt := range to {
				r.res.Due++
				byRecipient[rcpt] = append(byRecipient[rcpt], item{
					claim: Claim{
						ApplicationID: app.ID, Kind: d.Kind, CredentialID: d.ID, Threshold: d.threshold, Recipient: rcpt, ExpiresAt: d.ExpiresAt,
					},
					app: app, cred: d.Credential, daysLeft: d.daysLeft, newer: newer[refOf(d.Credential)], fallback: fallback,
				})
			}
		}
	}
	return byRecipient
}

// failDue counts due credentials whose recipients could not be read as
// failed, to be tried by a later run.
func (r *run) failDue(due []dueCredential, err error) {
	r.errs = append(r.errs, err)
	r.res.Failed += len(due)
	r.leaveDueUnmarked(due)
}

// leaveDueUnmarked keeps the credentials' thresholds from being recorded as
// reminded by this run.
func (r *run) leaveDueUnmarked(due []dueCredential) {
	for _, d := range due {
		r.unmarked[d.key()] = true
	}
}

// replacements finds, for each due credential, the newer credential of the
// same kind and application its systems should be on: one that is active,
// not reported leaked, created after it and expiring after it. Of those, the
// one used most recently (the due one then looks replaced), else the one
// expiring last (the digest names it as the one to switch to). Only such
// candidates are read, from the sets of secret and key ids and expiries the
// application record keeps.
func (s *Sweep) replacements(ctx context.Context, now time.Time, app portal.Application, due []dueCredential) (map[credentialRef]*Credential, error) {
	out := map[credentialRef]*Credential{}
	var errs []error
	for _, kind := range []Kind{KindSecret, KindKey} {
		set := app.Secrets
		if kind == KindKey {
			set = app.Keys
		}
		var candidates []string
		for id, exp := range set {
			if !exp.After(now) {
				continue
			}
			for _, d := range due {
				if d.Kind == kind && id != d.ID && exp.After(d.ExpiresAt) {
					candidates = append(candidates, id)
					break
				}
			}
		}
		if len(candidates) == 0 {
			continue
		}
		sort.Strings(candidates)
		newer, err := s.credentials(ctx, kind, app.ID, candidates)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, d := range due {
			if d.Kind != kind {
				continue
			}
			for i := range newer {
				n := newer[i]
				if n.ID == d.ID || n.Leaked || !n.CreatedAt.After(d.CreatedAt) || !n.ExpiresAt.After(d.ExpiresAt) || !n.ExpiresAt.After(now) {
					continue
				}
				if cur := out[refOf(d.Credential)]; cur == nil || better(n, *cur) {
					out[refOf(d.Credential)] = &n
				}
			}
		}
	}
	return out, errors.Join(errs...)
}

// credentials reads the given secrets or keys of an application.
func (s *Sweep) credentials(ctx context.Context, kind Kind, appID string, ids []string) ([]Credential, error) {
	var out []Credential
	if kind == KindKey {
		keys, err := s.store.GetKeys(ctx, appID, ids)
		for _, k := range keys {
			out = append(out, KeyCredential(k))
		}
		return out, err
	}
	secrets, err := s.store.GetSecrets(ctx, appID, ids)
	for _, sec := range secrets {
		out = append(out, SecretCredential(sec))
	}
	return out, err
}

// better says whether a is a likelier successor than b: used before unused,
// then used more recently, then expiring later.
func better(a, b Credential) bool {
	switch {
	case (a.LastUsedAt == nil) != (b.LastUsedAt == nil):
		return a.LastUsedAt != nil
	case a.LastUsedAt != nil && !a.LastUsedAt.Equal(*b.LastUsedAt):
		return a.LastUsedAt.After(*b.LastUsedAt)
	default:
		return a.ExpiresAt.After(b.ExpiresAt)
	}
}

// outcome is what became of one recipient's digest.
type outcome int

const (
	// nothingClaimed: every reminder was sent before, is held by another
	// run, or could not be claimed.
	nothingClaimed outcome = iota
	// digestSent: SES took the digest.
	digestSent
	// digestFailed: the digest could not be written or sent; its reminders
	// wait for a later run.
	digestFailed
	// outOfTime: the invocation's time ran out before the digest went out.
	outOfTime
	// sesRefusing: SES is throttling or not accepting mail now.
	sesRefusing
	// digestUndeliverable: SES refused the recipient for good; its
	// reminders are recorded so and never tried again.
	digestUndeliverable
	// sesNotReady: SES refused the sending side (mail.SenderNotReady);
	// nothing more can go out until it is set up.
	sesNotReady
)

// stops says whether the run should send nothing more.
func (o outcome) stops() bool { return o == outOfTime || o == sesRefusing || o == sesNotReady }

// deliver claims a recipient's reminders, sends the digest of those claimed,
// and records them sent, or releases them if the digest did not go out.
//
// The claims are taken only once the send rate allows this digest, just
// before it is sent, and their lease (Config.Lease, 45 s) covers that one
// send, which is bounded to half of it: a run that dies after claiming
// leaves claims that are free again when Lambda retries the invocation about
// a minute later.
func (r *run) deliver(ctx context.Context, rcpt string, items []item) outcome {
	token, err := mail.ClaimToken(r.random)
	if err != nil {
		r.errs = append(r.errs, err)
		r.res.Failed += len(items)
		r.leaveUnmarked(items)
		return digestFailed
	}
	if err := r.pace(ctx); err != nil {
		r.res.Deferred += len(items)
		r.leaveUnmarked(items)
		return outOfTime
	}
	claimed := r.claim(ctx, token, items)
	if len(claimed) == 0 {
		return nothingClaimed
	}
	msg, renderErr := r.digest(rcpt, r.now, token, claimed)
	if renderErr != nil {
		return r.unsent(ctx, token, claimed, renderErr)
	}
	id, sendErr := r.send(ctx, msg)
	if mail.SenderNotReady(sendErr) {
		return r.senderNotReady(ctx, token, claimed, sendErr)
	}
	if mail.Undeliverable(sendErr) {
		r.undeliverable(ctx, rcpt, token, claimed, sendErr)
		return digestUndeliverable
	}
	if sendErr != nil {
		return r.unsent(ctx, token, claimed, sendErr)
	}
	r.res.Sent++
	r.res.Reminders += len(claimed)
	for _, it := range claimed {
		record := func(ctx context.Context) error { return r.store.MarkReminderSent(ctx, it.claim, token, id, r.now) }
		if err := mail.RecordSent(ctx, record); err != nil {
			// SES has it: the claim's lease runs out and a later run sends
			// it again. The one duplicate the design allows.
			r.log.ErrorContext(ctx, "reminder sent but not recorded", "reminder", it.claim.Key(), "messageId", id, "error", err.Error())
			r.unmarked[keyOf(it.claim)] = true
			r.errs = append(r.errs, err)
		}
	}
	return digestSent
}

// claim claims the reminders for this run under token and returns those it
// now holds.
func (r *run) claim(ctx context.Context, token string, items []item) []item {
	var claimed []item
	for _, it := range items {
		got, err := r.store.ClaimReminder(ctx, it.claim, token, r.now, r.cfg.Lease)
		switch {
		case err != nil:
			r.log.ErrorContext(ctx, "could not claim a reminder", "reminder", it.claim.Key(), "error", err.Error())
			// The claim may have been written though its answer was lost:
			// release it (only if it is this run's), so the invocation's
			// retry can send the reminder rather than wait out the lease.
			r.release(ctx, it.claim, token)
			r.res.Failed++
			r.unmarked[keyOf(it.claim)] = true
			r.errs = append(r.errs, err)
		case got == Claimed:
			claimed = append(claimed, it)
		case got == AlreadySent:
			r.res.Skipped++
		default:
			r.res.Skipped++
			r.unmarked[keyOf(it.claim)] = true
		}
	}
	return claimed
}

// unsent releases the claims of a digest that did not go out, so that the
// next run sends them, and says what stopped it.
func (r *run) unsent(ctx context.Context, token string, claimed []item, err error) outcome {
	late := errors.Is(err, errOutOfTime)
	if late {
		r.res.Deferred += len(claimed)
	} else {
		r.log.ErrorContext(ctx, "could not send a reminder digest", "reminders", len(claimed), "error", err.Error())
		r.res.Failed += len(claimed)
		r.errs = append(r.errs, err)
	}
	r.leaveUnmarked(claimed)
	for _, it := range claimed {
		// Released at once, the reminder goes out with the next run; if the
		// release fails too, the lease runs out instead.
		r.release(ctx, it.claim, token)
	}
	switch {
	case late:
		return outOfTime
	case mail.Stopped(err) || mail.Throttled(err):
		return sesRefusing
	case ctx.Err() != nil:
		return outOfTime
	}
	return digestFailed
}

// senderNotReady leaves the claimed reminders of a digest due, released at
// once, when SES refused the sending side: no recipient is at fault, and no
// later digest of this run can go out either.
func (r *run) senderNotReady(ctx context.Context, token string, claimed []item, err error) outcome {
	r.notReady = err
	r.res.SesNotReady += len(claimed)
	r.leaveUnmarked(claimed)
	for _, it := range claimed {
		r.release(ctx, it.claim, token)
	}
	return sesNotReady
}

// release gives a claim up at once, even when the invocation is ending.
func (r *run) release(ctx context.Context, c Claim, token string) {
	if err := r.store.ReleaseReminder(context.WithoutCancel(ctx), c, token); err != nil {
		r.log.WarnContext(ctx, "could not release a reminder claim", "reminder", c.Key(), "error", err.Error())
	}
}

// undeliverable records the claimed reminders of a digest SES refused for
// good: final, like sent, so no later run tries the address again and one
// bad address never fails the run. A record that fails leaves the claim to
// run out and be tried again.
func (r *run) undeliverable(ctx context.Context, rcpt, token string, claimed []item, sendErr error) {
	r.log.ErrorContext(ctx, "reminder undeliverable: SES refused the address for good; it is not tried again",
		"recipient", rcpt, "reminders", len(claimed), "error", sendErr.Error())
	for _, it := range claimed {
		if err := r.store.MarkReminderUndeliverable(context.WithoutCancel(ctx), it.claim, token, sendErr.Error(), r.now); err != nil {
			r.log.WarnContext(ctx, "could not record an undeliverable reminder", "reminder", it.claim.Key(), "error", err.Error())
			r.unmarked[keyOf(it.claim)] = true
			continue
		}
		r.res.Undeliverable++
	}
}

// pace waits until the send rate allows another digest, or returns
// errOutOfTime when the invocation's time runs out first.
func (s *Sweep) pace(ctx context.Context) error {
	work, cancel := s.workContext(ctx)
	defer cancel()
	if err := s.limiter.Wait(work); err != nil {
		return errOutOfTime
	}
	return nil
}

// send sends a digest whose claims were just taken, pausing and trying again
// while SES throttles, all within half the claims' lease: a live run never
// holds a claim past its lease, so no other run takes it over meanwhile.
func (s *Sweep) send(ctx context.Context, msg mail.Message) (string, error) {
	work, cancel := s.workContext(ctx)
	defer cancel()
	bounded, cancelSend := context.WithTimeout(work, s.cfg.Lease/2)
	defer cancelSend()
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		id, err := s.sender.Send(bounded, msg)
		if err == nil || !mail.Throttled(err) || attempt == 5 {
			if err != nil && work.Err() != nil && ctx.Err() == nil {
				return "", errOutOfTime
			}
			return id, err
		}
		s.log.WarnContext(ctx, "SES throttled; pausing", "pause", wait.String())
		if err := mail.Sleep(bounded, wait); err != nil {
			return "", errOutOfTime
		}
		if err := s.limiter.Wait(bounded); err != nil {
			return "", errOutOfTime
		}
		wait = min(2*wait, 3*time.Second)
	}
}

// RecipientSet identifies a set of recipients, whatever their order.
func RecipientSet(to []string) string {
	sorted := slices.Clone(to)
	slices.Sort(sorted)
	sum := sha256.Sum256([]byte(strings.Join(sorted, "\n")))
	return hex.EncodeToString(sum[:12])
}

func keyOf(c Claim) thresholdKey {
	return thresholdKey{credentialRef{c.Kind, c.ApplicationID, c.CredentialID}, c.Threshold}
}

// late reports whether the invocation is too close to its deadline to start
// another digest. The deadline is wall-clock time, as Lambda sets it.
func (s *Sweep) late(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < s.cfg.Margin
}

// workContext ends Margin before the invocation's deadline: waits end there.
func (s *Sweep) workContext(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, dl.Add(-s.cfg.Margin))
}

// errOutOfTime means the invocation's time ran out before a digest went out:
// its reminders wait for the next run.
var errOutOfTime = errors.New("out of time before the deadline")

// keys lists the idempotency keys of a digest's reminders.
func keys(items []item) string {
	ks := make([]string, len(items))
	for i, it := range items {
		ks[i] = it.claim.Key()
	}
	return strings.Join(ks, " ")
}
