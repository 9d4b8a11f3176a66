// Package reminder is the scheduled expiry sweep: it finds the credentials
// that expire — client secrets and registered keys (private_key_jwt public
// keys and certificates, whose expiry is at most the certificate's notAfter)
// — whose expiry crossed a reminder threshold, and emails each recipient one
// digest covering both kinds, exactly once per (credential, threshold,
// recipient).
//
// Schedule. A credential's days left are counted in whole UTC calendar days:
// the UTC date of its expiry minus the UTC date of the sweep's now (so a
// secret expiring at 23:00 today has 0 days left at 07:00, one expiring at
// 01:00 tomorrow has 1). A threshold T is crossed once days left ≤ T; a run
// sends only the most urgent (smallest) threshold crossed, so a credential
// that crossed several since the last run gets one reminder. T is due only if
// the credential had more than T days left when it was created (counted the
// same way from its creation): no reminder for a threshold crossed before it
// existed. The sweep reads the ByExpiry index one day partition at a time,
// from yesterday (a day's grace for a run that failed on the expiry day) to
// today + the largest threshold: it reads the secrets and keys in that window
// and nothing else.
//
// Exactly once. Just before a digest is sent (once the send rate allows it),
// each of its (credential, threshold, recipient) reminders is claimed with a
// conditional write of REMINDER#<secretId> / <threshold>#<recipient> (for a
// key, REMINDER#KEY#<keyId> / <threshold>#<recipient>)
// carrying a random token and a 45-second lease; after SES accepts the digest the claims
// are marked sent. A claim that already reads sent, or is leased by another
// run, is skipped, so concurrent and repeated runs send nothing twice. If SES
// refuses the digest the claims are released (conditional on the token) and
// the next run sends them. If the run dies between claim and send, the lease
// (45 s; the send it covers is bounded to half of it) has run out by the
// time Lambda retries the invocation, about a minute later, and that retry
// takes the claim over, conditionally, and sends it. What remains: if the run dies after SES
// accepted a digest and before it recorded sent (retried several times), a
// later run sends that digest again. That window is one DynamoDB write long;
// the sweep prefers a rare duplicate to a lost reminder, and each message
// carries the X-Portal-Reminders header naming its keys (secretId@threshold,
// key:keyId@threshold) so a duplicate can be recognised. Once every recipient
// of a credential's threshold has it, the credential records the threshold
// (Reminded), so later runs skip it without claiming again.
package reminder

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"credportal/shared/mail"
	"credportal/shared/portal"
)

// Kind is the sort of credential a reminder is about.
type Kind string

// Kinds of credential that expire.
const (
	// KindSecret is a client secret (portal.Secret).
	KindSecret Kind = "secret"
	// KindKey is a registered public key or certificate (portal.Key).
	KindKey Kind = "key"
)

// Credential is what the sweep needs of an expiring secret or key.
type Credential struct {
	Kind          Kind
	ID            string
	ApplicationID string
	Name          string
	CreatedAt     time.Time
	ExpiresAt     time.Time
	LastUsedAt    *time.Time
	// Hint is a secret's; Leaked says the secret was reported leaked.
	Hint   string
	Leaked bool
	// KeyType (publickey.TypeCertificate or TypePublicKey) and Thumbprint
	// (RFC 7638) are a key's.
	KeyType    string
	Thumbprint string
}

// SecretCredential is the sweep's view of a client secret.
func SecretCredential(s portal.Secret) Credential {
	return Credential{
		Kind: KindSecret, ID: s.ID, ApplicationID: s.ApplicationID, Name: s.Name,
		CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt, LastUsedAt: s.LastUsedAt,
		Hint: s.Hint, Leaked: s.LeakedAt != nil,
	}
}

// KeyCredential is the sweep's view of a registered key.
func KeyCredential(k portal.Key) Credential {
	return Credential{
		Kind: KindKey, ID: k.ID, ApplicationID: k.ApplicationID, Name: k.Name,
		CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt,
		KeyType: k.Type, Thumbprint: k.Thumbprint,
	}
}

// Expiring is a credential as the date-keyed index holds it.
type Expiring struct {
	Credential
	// Reminded is the most urgent threshold whose reminders have all been
	// sent, or nil before the first; RemindedTo names who they went to.
	Reminded   *int
	RemindedTo string
}

// Claim names one reminder: a credential, a threshold and a recipient.
type Claim struct {
	ApplicationID string
	Kind          Kind
	CredentialID  string
	Threshold     int
	Recipient     string
	// ExpiresAt is the credential's expiry; the claim record is kept well
	// past it.
	ExpiresAt time.Time
}

// Key is the claim's idempotency key as messages name it: secretId@threshold
// for a secret, key:keyId@threshold for a key.
func (c Claim) Key() string {
	k := c.CredentialID + "@" + strconv.Itoa(c.Threshold)
	if c.Kind == KindKey {
		return "key:" + k
	}
	return k
}

// ClaimResult is the outcome of trying to claim a reminder.
type ClaimResult int

// Claim outcomes.
const (
	// Claimed: this run holds the reminder and sends it.
	Claimed ClaimResult = iota
	// AlreadySent: some run sent it before.
	AlreadySent
	// Held: another run holds an unexpired lease on it.
	Held
)

// Store is the persistence the sweep needs.
type Store interface {
	// ExpiringOn lists the secrets and keys whose expiry falls on the UTC
	// date of day.
	ExpiringOn(ctx context.Context, day time.Time) ([]Expiring, error)
	GetApplications(ctx context.Context, ids []string) ([]portal.Application, error)
	ListDesignations(ctx context.Context, applicationID string) ([]portal.Designation, error)
	// GetSecrets reads the given secrets of an application, skipping missing ones.
	GetSecrets(ctx context.Context, applicationID string, ids []string) ([]portal.Secret, error)
	// GetKeys reads the given keys of an application, skipping missing ones.
	GetKeys(ctx context.Context, applicationID string, ids []string) ([]portal.Key, error)
	// MarkReminded records on a secret or key that threshold is done for
	// everyone. recipients identifies who it went to (RecipientSet).
	MarkReminded(ctx context.Context, kind Kind, applicationID, id string, threshold int, recipients string) error
	// ClaimReminder takes c for token until now+lease, unless it was sent or
	// another token's lease has not yet run out.
	ClaimReminder(ctx context.Context, c Claim, token string, now time.Time, lease time.Duration) (ClaimResult, error)
	// MarkReminderSent records that c went out, if token still holds it.
	MarkReminderSent(ctx context.Context, c Claim, token, messageID string, now time.Time) error
	// ReleaseReminder gives c up at once, if token still holds it.
	ReleaseReminder(ctx context.Context, c Claim, token string) error
	// MarkReminderUndeliverable records, if token still holds c, that SES
	// refused its recipient for good: c is never tried again.
	MarkReminderUndeliverable(ctx context.Context, c Claim, token, reason string, now time.Time) error
}

// Sender sends one email and returns its message id.
type Sender interface {
	Send(ctx context.Context, m mail.Message) (string, error)
}

var _ Sender = (*mail.Mailer)(nil)

// DefaultThresholds are the days before expiry a reminder is due.
const DefaultThresholds = "30,14,7,3,1,0"

// Config is the sweep's policy.
type Config struct {
	// Thresholds in days before expiry, any order, no duplicates.
	Thresholds []int
	// Fallback receives the reminders of applications with no credential
	// manager; "" sends those nowhere.
	Fallback string
	// PortalURL is the portal's public URL; links go to PortalURL + "applications/<id>".
	PortalURL string
	// MaxSendRate is SES's sending rate, messages per second.
	MaxSendRate float64
	// Lease is how long a claim stays held without being marked sent. A
	// claim is taken just before its digest is sent, and the send is bounded
	// to half the lease, so a live run never loses one; under a minute, so
	// that when a run dies between claim and send, Lambda's first retry of
	// the invocation (about a minute later) finds the claim free.
	Lease time.Duration
	// Margin is the time before the invocation's deadline at which the
	// sweep stops starting new digests.
	Margin time.Duration
}

// DefaultConfig is the policy when nothing else is configured.
func DefaultConfig() Config {
	ts, _ := ParseThresholds(DefaultThresholds)
	return Config{Thresholds: ts, MaxSendRate: 10, Lease: 45 * time.Second, Margin: 15 * time.Second}
}

// ParseThresholds reads a comma-separated list of whole days ≥ 0, such as
// "30,14,7,3,1,0", and returns it sorted from the largest.
func ParseThresholds(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 || n > 3650 {
			return nil, fmt.Errorf("reminder thresholds: %q is not a whole number of days from 0 to 3650", f)
		}
		if slices.Contains(out, n) {
			return nil, fmt.Errorf("reminder thresholds: %d appears twice", n)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out, nil
}

// DaysLeft counts whole UTC calendar days from now's date to the expiry's
// date: 0 on the expiry day (before or after the instant), -1 the day after.
func DaysLeft(now, expiresAt time.Time) int {
	return int(date(expiresAt).Sub(date(now)).Hours() / 24)
}

func date(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Due returns the most urgent threshold crossed with left days to go, of a
// credential that had atCreation days left when it was created (both counted
// by DaysLeft): the smallest T with left ≤ T < atCreation. A threshold the
// credential was already past when it was created is never due: a secret
// created with a 30-day lifetime gets no 30-day reminder, one created with 20
// days left gets the 14-day one first. ok is false when none is due.
func Due(thresholds []int, left, atCreation int) (threshold int, ok bool) {
	for _, t := range thresholds {
		if left <= t && t < atCreation && (!ok || t < threshold) {
			threshold, ok = t, true
		}
	}
	return threshold, ok
}
