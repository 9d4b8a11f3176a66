package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"credportal/shared/reminder"
)

// Reminder claims (one per credential, threshold and recipient):
//
//	secret's  REMINDER#<secretId> / <threshold>#<recipient>       (SecretID set)
//	key's     REMINDER#KEY#<keyId> / <threshold>#<recipient>      (KeyID set)
//
// Status is "claimed" while a run holds it (Token, until LeaseUntil, in Unix
// milliseconds), then "sent", or "undeliverable" when SES refused the
// recipient for good (see claims.go). TTL removes it long after the
// credential has left the sweep's window.

const (
	typeReminder = "reminder"
	// reminderRetention is how long after a credential's expiry its claims
	// are kept: far past the day after expiry, the last day the sweep reads
	// it.
	reminderRetention = 30 * 24 * time.Hour
)

type reminderItem struct {
	PK   string `dynamodbav:"PK"`
	SK   string `dynamodbav:"SK"`
	Type string `dynamodbav:"Type"`
	claimFields
	AppID     string `dynamodbav:"AppID"`
	SecretID  string `dynamodbav:"SecretID,omitempty"`
	KeyID     string `dynamodbav:"KeyID,omitempty"`
	Threshold int    `dynamodbav:"Threshold"`
	Recipient string `dynamodbav:"Recipient"`
	TTL       int64  `dynamodbav:"TTL"`
}

// reminderPK is the partition of a credential's claims.
func reminderPK(c reminder.Claim) string {
	if c.Kind == reminder.KindKey {
		return "REMINDER#KEY#" + c.CredentialID
	}
	return "REMINDER#" + c.CredentialID
}

func reminderSK(c reminder.Claim) string { return strconv.Itoa(c.Threshold) + "#" + c.Recipient }

func reminderKey(c reminder.Claim) map[string]types.AttributeValue {
	return key(reminderPK(c), reminderSK(c))
}

// ClaimReminder takes c for token until now+lease (see takeClaim): it
// succeeds when no run has claimed c, or when the claim was never finished
// and its lease has run out (the run holding it died).
func (st *Store) ClaimReminder(ctx context.Context, c reminder.Claim, token string, now time.Time, lease time.Duration) (reminder.ClaimResult, error) {
	it := reminderItem{
		PK: reminderPK(c), SK: reminderSK(c), Type: typeReminder, claimFields: newClaim(token, now, lease),
		AppID: c.ApplicationID, Threshold: c.Threshold, Recipient: c.Recipient,
		TTL: c.ExpiresAt.Add(reminderRetention).Unix(),
	}
	if c.Kind == reminder.KindKey {
		it.KeyID = c.CredentialID
	} else {
		it.SecretID = c.CredentialID
	}
	av, err := attributevalue.MarshalMap(it)
	if err != nil {
		return 0, err
	}
	got, _, err := st.takeClaim(ctx, av, token, now)
	if err != nil {
		return 0, fmt.Errorf("claim reminder %s: %w", c.Key(), err)
	}
	// Undeliverable is as final as sent: never tried again.
	return map[claimOutcome]reminder.ClaimResult{claimTaken: reminder.Claimed, claimFinal: reminder.AlreadySent, claimHeld: reminder.Held}[got], nil
}

// MarkReminderSent records that c went out, while token holds it.
func (st *Store) MarkReminderSent(ctx context.Context, c reminder.Claim, token, messageID string, now time.Time) error {
	err := st.finishClaim(ctx, reminderKey(c), token, claimSent, map[string]types.AttributeValue{
		"SentAt": s(now.UTC().Format(time.RFC3339Nano)), "MessageID": s(messageID),
	})
	if err != nil {
		return fmt.Errorf("mark reminder %s sent: %w", c.Key(), err)
	}
	return nil
}

// MarkReminderUndeliverable records, while token holds c, that SES refused
// its recipient for good (reason is SES's answer): c is never tried again.
func (st *Store) MarkReminderUndeliverable(ctx context.Context, c reminder.Claim, token, reason string, now time.Time) error {
	err := st.finishClaim(ctx, reminderKey(c), token, claimUndeliverable, map[string]types.AttributeValue{
		"SentAt": s(now.UTC().Format(time.RFC3339Nano)), "Reason": s(reason),
	})
	if err != nil {
		return fmt.Errorf("mark reminder %s undeliverable: %w", c.Key(), err)
	}
	return nil
}

// ReleaseReminder gives c up at once (its lease ends now), while token holds
// it and it was not sent: the next run claims it again.
func (st *Store) ReleaseReminder(ctx context.Context, c reminder.Claim, token string) error {
	if err := st.releaseClaim(ctx, reminderKey(c), token); err != nil {
		return fmt.Errorf("release reminder %s: %w", c.Key(), err)
	}
	return nil
}

// ReminderStatus reads a claim's status ("claimed", "sent", "undeliverable"), or "" if none.
func (st *Store) ReminderStatus(ctx context.Context, c reminder.Claim) (string, error) {
	var it reminderItem
	found, err := st.get(ctx, reminderKey(c), true, &it)
	if err != nil || !found {
		return "", err
	}
	return it.Status, nil
}
