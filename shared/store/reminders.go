package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"credportal/shared/reminder"
)

// Reminder claims (one per credential, threshold and recipient):
//
//	secret's  REMINDER#<secretId> / <threshold>#<recipient>       (SecretID set)
//	key's     REMINDER#KEY#<keyId> / <threshold>#<recipient>      (KeyID set)
//
// Status is "claimed" while a run holds it (Token, until LeaseUntil, in Unix
// milliseconds), then "sent". TTL removes it long after the credential has
// left the sweep's window.

const (
	typeReminder    = "reminder"
	reminderClaimed = "claimed"
	reminderSent    = "sent"
	// reminderUndeliverable: SES refused the recipient for good; the
	// reminder is never tried again.
	reminderUndeliverable = "undeliverable"
	// reminderRetention is how long after a credential's expiry its claims
	// are kept: far past the day after expiry, the last day the sweep reads
	// it.
	reminderRetention = 30 * 24 * time.Hour
)

type reminderItem struct {
	PK         string     `dynamodbav:"PK"`
	SK         string     `dynamodbav:"SK"`
	Type       string     `dynamodbav:"Type"`
	Status     string     `dynamodbav:"Status"`
	Token      string     `dynamodbav:"Token"`
	ClaimedAt  time.Time  `dynamodbav:"ClaimedAt"`
	LeaseUntil int64      `dynamodbav:"LeaseUntil"`
	SentAt     *time.Time `dynamodbav:"SentAt,omitempty"`
	MessageID  string     `dynamodbav:"MessageID,omitempty"`
	Reason     string     `dynamodbav:"Reason,omitempty"` // SES's refusal, when undeliverable
	AppID      string     `dynamodbav:"AppID"`
	SecretID   string     `dynamodbav:"SecretID,omitempty"`
	KeyID      string     `dynamodbav:"KeyID,omitempty"`
	Threshold  int        `dynamodbav:"Threshold"`
	Recipient  string     `dynamodbav:"Recipient"`
	TTL        int64      `dynamodbav:"TTL"`
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

func reminderNumber(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// ClaimReminder takes c for token until now+lease. It succeeds when no run
// has claimed c, or when the claim was never marked sent and its lease has
// run out (the run holding it died): one conditional write, so of two runs
// taking over the same stale claim only one can win.
func (st *Store) ClaimReminder(ctx context.Context, c reminder.Claim, token string, now time.Time, lease time.Duration) (reminder.ClaimResult, error) {
	it := reminderItem{
		PK: reminderPK(c), SK: reminderSK(c), Type: typeReminder,
		Status: reminderClaimed, Token: token, ClaimedAt: now.UTC(), LeaseUntil: now.Add(lease).UnixMilli(),
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
	_, err = st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(st.table), Item: av,
		ConditionExpression:      aws.String("attribute_not_exists(PK) OR (#status = :claimed AND LeaseUntil < :now)"),
		ExpressionAttributeNames: map[string]string{"#status": "Status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":claimed": s(reminderClaimed), ":now": reminderNumber(now.UnixMilli()),
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		var old reminderItem
		if err := attributevalue.UnmarshalMap(ccf.Item, &old); err != nil {
			return 0, err
		}
		switch {
		case old.Status == reminderSent || old.Status == reminderUndeliverable:
			// Undeliverable is as final as sent: never tried again.
			return reminder.AlreadySent, nil
		case old.Token == token:
			// A retried write whose first attempt succeeded: the claim is ours.
			return reminder.Claimed, nil
		}
		return reminder.Held, nil
	}
	if err != nil {
		return 0, fmt.Errorf("claim reminder %s: %w", c.Key(), err)
	}
	return reminder.Claimed, nil
}

// MarkReminderSent records that c went out, while token holds it.
func (st *Store) MarkReminderSent(ctx context.Context, c reminder.Claim, token, messageID string, now time.Time) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(st.table), Key: reminderKey(c),
		UpdateExpression:         aws.String("SET #status = :sent, SentAt = :at, MessageID = :id"),
		ConditionExpression:      aws.String("#token = :token"),
		ExpressionAttributeNames: map[string]string{"#status": "Status", "#token": "Token"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":sent": s(reminderSent), ":at": s(now.UTC().Format(time.RFC3339Nano)), ":id": s(messageID), ":token": s(token),
		},
	})
	if isConditionFailed(err) {
		return fmt.Errorf("mark reminder %s sent: the claim was taken over", c.Key())
	}
	if err != nil {
		return fmt.Errorf("mark reminder %s sent: %w", c.Key(), err)
	}
	return nil
}

// MarkReminderUndeliverable records, while token holds c, that SES refused
// its recipient for good (reason is SES's answer): c is never tried again.
func (st *Store) MarkReminderUndeliverable(ctx context.Context, c reminder.Claim, token, reason string, now time.Time) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(st.table), Key: reminderKey(c),
		UpdateExpression:         aws.String("SET #status = :undeliverable, SentAt = :at, Reason = :reason"),
		ConditionExpression:      aws.String("#token = :token"),
		ExpressionAttributeNames: map[string]string{"#status": "Status", "#token": "Token"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":undeliverable": s(reminderUndeliverable), ":at": s(now.UTC().Format(time.RFC3339Nano)), ":reason": s(reason), ":token": s(token),
		},
	})
	if isConditionFailed(err) {
		return fmt.Errorf("mark reminder %s undeliverable: the claim was taken over", c.Key())
	}
	if err != nil {
		return fmt.Errorf("mark reminder %s undeliverable: %w", c.Key(), err)
	}
	return nil
}

// ReleaseReminder gives c up at once (its lease ends now), while token holds
// it and it was not sent: the next run claims it again.
func (st *Store) ReleaseReminder(ctx context.Context, c reminder.Claim, token string) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(st.table), Key: reminderKey(c),
		UpdateExpression:         aws.String("SET LeaseUntil = :zero"),
		ConditionExpression:      aws.String("#token = :token AND #status = :claimed"),
		ExpressionAttributeNames: map[string]string{"#status": "Status", "#token": "Token"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":zero": reminderNumber(0), ":token": s(token), ":claimed": s(reminderClaimed),
		},
	})
	if isConditionFailed(err) {
		return nil
	}
	if err != nil {
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
