package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"credportal/shared/audit"
	"credportal/shared/outbox"
	"credportal/shared/portal"
)

// The outbox of security notices:
//
//	notice        OUTBOX / <eventId>                 (until delivered to every recipient)
//	notice claim  OUTBOX#<eventId> / TO#<recipient>  (TTL)
//
// A notice is written in the transaction of the change it tells of, and
// deleted once each recipient has it (or SES refused the address for good).
// Its insertion is what the table's stream delivers to the notice sender
// (template.yaml filters the stream to PK = OUTBOX); the local stack queries
// the partition instead. The partition holds only undelivered notices, so it
// stays small; a notice left there after the sender gave up is delivered by
// touching it (any update re-sends it through the stream).

const (
	typeNotice      = "notice"
	typeNoticeClaim = "noticeclaim"
	// noticeClaimRetention is how long a notice's claims outlive it: far
	// longer than any retry of its delivery.
	noticeClaimRetention = 30 * 24 * time.Hour
)

// Kinds of credential a notice tells of.
const (
	kindSecret    = "secret"
	kindKey       = "key"
	kindFederated = "federated_credential"
	// A designation's notice tells the person designated.
	kindDesignation = "designation"
)

type noticeItem struct {
	PK    string `dynamodbav:"PK"`
	SK    string `dynamodbav:"SK"`
	Type  string `dynamodbav:"Type"`
	AppID string `dynamodbav:"AppID"`
	// The change's event.
	EventID   string    `dynamodbav:"EventID"`
	At        time.Time `dynamodbav:"At"`
	Actor     string    `dynamodbav:"Actor"`
	Action    string    `dynamodbav:"Action"`
	SourceIP  string    `dynamodbav:"SourceIP,omitempty"`
	UserAgent string    `dynamodbav:"UserAgent,omitempty"`
	RequestID string    `dynamodbav:"RequestID,omitempty"`
	// The credential, as the notice shows it (never a hash or key material).
	Kind         string     `dynamodbav:"Kind"`
	CredentialID string     `dynamodbav:"CredentialID"`
	Name         string     `dynamodbav:"Name"`
	Hint         string     `dynamodbav:"Hint,omitempty"`
	KeyType      string     `dynamodbav:"KeyType,omitempty"`
	Thumbprint   string     `dynamodbav:"Thumbprint,omitempty"`
	Issuer       string     `dynamodbav:"Issuer,omitempty"`
	Subject      string     `dynamodbav:"Subject,omitempty"`
	Audience     string     `dynamodbav:"Audience,omitempty"`
	ExpiresAt    *time.Time `dynamodbav:"ExpiresAt,omitempty"`
	// The designation, for a designation's notice.
	Email string `dynamodbav:"Email,omitempty"`
	Role  string `dynamodbav:"Role,omitempty"`
	// Details are the event's details a designation's notice shows (the
	// role before).
	RoleBefore string `dynamodbav:"RoleBefore,omitempty"`
}

func noticeKey(eventID string) map[string]types.AttributeValue {
	return key(outbox.OutboxPartition, eventID)
}

func newNoticeItem(n portal.Notice) noticeItem {
	ev := n.Event
	it := noticeItem{
		PK: outbox.OutboxPartition, SK: ev.ID, Type: typeNotice, AppID: ev.ApplicationID,
		EventID: ev.ID, At: ev.At, Actor: ev.Actor, Action: ev.Action, SourceIP: ev.SourceIP, UserAgent: ev.UserAgent, RequestID: ev.RequestID,
	}
	switch {
	case n.Secret != nil:
		exp := n.Secret.ExpiresAt
		it.Kind, it.CredentialID, it.Name, it.Hint, it.ExpiresAt = kindSecret, n.Secret.ID, n.Secret.Name, n.Secret.Hint, &exp
	case n.Key != nil:
		exp := n.Key.ExpiresAt
		it.Kind, it.CredentialID, it.Name, it.KeyType, it.Thumbprint, it.ExpiresAt = kindKey, n.Key.ID, n.Key.Name, n.Key.Type, n.Key.Thumbprint, &exp
	case n.Federated != nil:
		fc := n.Federated
		it.Kind, it.CredentialID, it.Name, it.Issuer, it.Subject, it.Audience = kindFederated, fc.ID, fc.Name, fc.Issuer, fc.Subject, fc.Audience
	case n.Designation != nil:
		it.Kind, it.Email, it.Role, it.RoleBefore = kindDesignation, n.Designation.Email, string(n.Designation.Role), ev.Details["roleBefore"]
	}
	return it
}

func (it noticeItem) domain() (portal.Notice, error) {
	n := portal.Notice{Event: audit.Event{
		ID: it.EventID, At: it.At, Actor: it.Actor, Action: it.Action, ApplicationID: it.AppID,
		SourceIP: it.SourceIP, UserAgent: it.UserAgent, RequestID: it.RequestID,
	}}
	var exp time.Time
	if it.ExpiresAt != nil {
		exp = *it.ExpiresAt
	}
	switch it.Kind {
	case kindSecret:
		n.Secret = &portal.Secret{ID: it.CredentialID, ApplicationID: it.AppID, Name: it.Name, Hint: it.Hint, ExpiresAt: exp}
	case kindKey:
		n.Key = &portal.Key{ID: it.CredentialID, ApplicationID: it.AppID, Name: it.Name, Type: it.KeyType, Thumbprint: it.Thumbprint, ExpiresAt: exp}
	case kindFederated:
		n.Federated = &portal.FederatedCredential{ID: it.CredentialID, ApplicationID: it.AppID, Name: it.Name, Issuer: it.Issuer, Subject: it.Subject, Audience: it.Audience}
	case kindDesignation:
		n.Designation = &portal.Designation{ApplicationID: it.AppID, Email: it.Email, Role: portal.Role(it.Role)}
		n.Event.Details = map[string]string{"email": it.Email, "roleBefore": it.RoleBefore, "roleAfter": it.Role}
	default:
		return portal.Notice{}, fmt.Errorf("notice %s: unknown kind %q", it.EventID, it.Kind)
	}
	return n, nil
}

// noticePut is the transaction item that leaves n in the outbox.
func (st *Store) noticePut(n portal.Notice) (types.TransactWriteItem, error) {
	av, err := attributevalue.MarshalMap(newNoticeItem(n))
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName: aws.String(st.table), Item: av, ConditionExpression: aws.String("attribute_not_exists(PK)"),
	}}, nil
}

// changePuts are the transaction items that record a change: its audit
// event and its notice.
func (st *Store) changePuts(n portal.Notice) ([]types.TransactWriteItem, error) {
	event, err := st.eventPut(n.Event)
	if err != nil {
		return nil, err
	}
	notice, err := st.noticePut(n)
	if err != nil {
		return nil, err
	}
	return []types.TransactWriteItem{event, notice}, nil
}

var _ outbox.Store = (*Store)(nil)

// Notice reads an undelivered notice (strongly consistent); false once it
// has been delivered.
func (st *Store) Notice(ctx context.Context, eventID string) (portal.Notice, bool, error) {
	var it noticeItem
	found, err := st.get(ctx, noticeKey(eventID), true, &it)
	if err != nil {
		return portal.Notice{}, false, fmt.Errorf("get notice %s: %w", eventID, err)
	}
	if !found {
		return portal.Notice{}, false, nil
	}
	n, err := it.domain()
	return n, err == nil, err
}

// PendingNotices lists up to limit undelivered notices' event ids, oldest
// first.
func (st *Store) PendingNotices(ctx context.Context, limit int) ([]string, error) {
	out, err := st.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(st.table),
		KeyConditionExpression:    aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s(outbox.OutboxPartition)},
		ProjectionExpression:      aws.String("SK"),
		ConsistentRead:            aws.Bool(true),
		Limit:                     aws.Int32(int32(limit)),
	})
	if err != nil {
		return nil, fmt.Errorf("list pending notices: %w", err)
	}
	ids := make([]string, 0, len(out.Items))
	for _, item := range out.Items {
		if sk, ok := item["SK"].(*types.AttributeValueMemberS); ok {
			ids = append(ids, sk.Value)
		}
	}
	return ids, nil
}

// NoticeDelivered removes a notice from the outbox: every recipient has it.
func (st *Store) NoticeDelivered(ctx context.Context, eventID string) error {
	_, err := st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(st.table), Key: noticeKey(eventID)})
	if err != nil {
		return fmt.Errorf("remove delivered notice %s: %w", eventID, err)
	}
	return nil
}

type noticeClaimItem struct {
	PK   string `dynamodbav:"PK"`
	SK   string `dynamodbav:"SK"`
	Type string `dynamodbav:"Type"`
	claimFields
	Recipient string `dynamodbav:"Recipient"`
	TTL       int64  `dynamodbav:"TTL"`
}

func noticeClaimKey(c outbox.Claim) map[string]types.AttributeValue {
	return key("OUTBOX#"+c.EventID, "TO#"+c.Recipient)
}

// ClaimNotice takes c for token until now+lease (see takeClaim). When
// another sender holds it, the end of its lease is returned.
func (st *Store) ClaimNotice(ctx context.Context, c outbox.Claim, token string, now time.Time, lease time.Duration) (outbox.ClaimResult, time.Time, error) {
	av, err := attributevalue.MarshalMap(noticeClaimItem{
		PK: "OUTBOX#" + c.EventID, SK: "TO#" + c.Recipient, Type: typeNoticeClaim, claimFields: newClaim(token, now, lease),
		Recipient: c.Recipient, TTL: now.Add(noticeClaimRetention).Unix(),
	})
	if err != nil {
		return 0, time.Time{}, err
	}
	got, until, err := st.takeClaim(ctx, av, token, now)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("claim notice %s to %s: %w", c.EventID, c.Recipient, err)
	}
	return map[claimOutcome]outbox.ClaimResult{claimTaken: outbox.Claimed, claimFinal: outbox.Done, claimHeld: outbox.Held}[got], until, nil
}

// MarkNoticeSent records that c went out, while token holds it.
func (st *Store) MarkNoticeSent(ctx context.Context, c outbox.Claim, token, messageID string, now time.Time) error {
	err := st.finishClaim(ctx, noticeClaimKey(c), token, claimSent, map[string]types.AttributeValue{
		"SentAt": s(now.UTC().Format(time.RFC3339Nano)), "MessageID": s(messageID),
	})
	if err != nil {
		return fmt.Errorf("mark notice %s to %s sent: %w", c.EventID, c.Recipient, err)
	}
	return nil
}

// MarkNoticeUndeliverable records, while token holds c, that SES refused
// its recipient for good (reason is SES's answer): c is never tried again.
func (st *Store) MarkNoticeUndeliverable(ctx context.Context, c outbox.Claim, token, reason string, now time.Time) error {
	err := st.finishClaim(ctx, noticeClaimKey(c), token, claimUndeliverable, map[string]types.AttributeValue{
		"SentAt": s(now.UTC().Format(time.RFC3339Nano)), "Reason": s(reason),
	})
	if err != nil {
		return fmt.Errorf("mark notice %s to %s undeliverable: %w", c.EventID, c.Recipient, err)
	}
	return nil
}

// ReleaseNotice gives c up at once, while token holds it and it was not
// sent: the next attempt claims it again.
func (st *Store) ReleaseNotice(ctx context.Context, c outbox.Claim, token string) error {
	return st.releaseClaim(ctx, noticeClaimKey(c), token)
}

// NoticeClaimStatus reads a notice claim's status ("claimed", "sent",
// "undeliverable"), or "" if none.
func (st *Store) NoticeClaimStatus(ctx context.Context, c outbox.Claim) (string, error) {
	var it noticeClaimItem
	found, err := st.get(ctx, noticeClaimKey(c), true, &it)
	if err != nil || !found {
		return "", err
	}
	return it.Status, nil
}
