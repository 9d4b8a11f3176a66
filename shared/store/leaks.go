package store

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"credportal/shared/portal"
)

// The secret hash index finds a secret from its value alone: one item per
// secret, keyed on the value's keyed hash (the Hash the secret item holds),
// written in the same transaction as the secret and never deleted, so it
// stays as a tombstone of a deleted secret. The first report of a leak is
// recorded on it.

var _ portal.LeakStore = (*Store)(nil)

func hashKey(digest []byte) map[string]types.AttributeValue {
	return key("HASH#"+hex.EncodeToString(digest), "HASH")
}

type secretHashItem struct {
	PK            string    `dynamodbav:"PK"`
	SK            string    `dynamodbav:"SK"`
	Type          string    `dynamodbav:"Type"`
	Hash          []byte    `dynamodbav:"Hash"`
	AppID         string    `dynamodbav:"AppID"`
	SecretID      string    `dynamodbav:"SecretID"`
	PepperVersion string    `dynamodbav:"PepperVersion"`
	CreatedAt     time.Time `dynamodbav:"CreatedAt"`
	// Set by the first leak report.
	LeakedAt     *time.Time `dynamodbav:"LeakedAt,omitempty"`
	LeakReporter string     `dynamodbav:"LeakReporter,omitempty"`
	LeakURL      string     `dynamodbav:"LeakURL,omitempty"`
	LeakSource   string     `dynamodbav:"LeakSource,omitempty"`
	LeakAction   string     `dynamodbav:"LeakAction,omitempty"`
	SecretName   string     `dynamodbav:"SecretName,omitempty"`
	Hint         string     `dynamodbav:"Hint,omitempty"`
	Notice       string     `dynamodbav:"Notice,omitempty"`
	NoticeToken  string     `dynamodbav:"NoticeToken,omitempty"`
	NoticeLease  int64      `dynamodbav:"NoticeLease,omitempty"` // Unix seconds
}

func newSecretHashItem(sec portal.Secret) secretHashItem {
	return secretHashItem{
		PK: "HASH#" + hex.EncodeToString(sec.Hash), SK: "HASH", Type: typeSecretHash, Hash: sec.Hash,
		AppID: sec.ApplicationID, SecretID: sec.ID, PepperVersion: sec.PepperVersion, CreatedAt: sec.CreatedAt,
	}
}

func (i secretHashItem) domain() portal.SecretHash {
	h := portal.SecretHash{Digest: i.Hash, ApplicationID: i.AppID, SecretID: i.SecretID}
	if i.LeakedAt != nil {
		h.Leak = &portal.LeakReport{
			At: *i.LeakedAt, Reporter: i.LeakReporter, URL: i.LeakURL, Source: i.LeakSource,
			Action: portal.LeakAction(i.LeakAction), SecretName: i.SecretName, Hint: i.Hint, Notice: i.Notice,
		}
	}
	return h
}

// secretHashPut is the transaction item that indexes a new secret. Values
// are 256 random bits, so no two secrets share a hash: the put needs no
// condition.
func (st *Store) secretHashPut(sec portal.Secret) (types.TransactWriteItem, error) {
	return put(st.table, newSecretHashItem(sec), "")
}

// FindSecretHash returns the index entry of the first of digests that has
// one, read consistently.
func (st *Store) FindSecretHash(ctx context.Context, digests [][]byte) (portal.SecretHash, error) {
	keys := make([]map[string]types.AttributeValue, len(digests))
	for i, d := range digests {
		keys[i] = hashKey(d)
	}
	items, err := batchGet[secretHashItem](ctx, st, keys, true)
	if err != nil {
		return portal.SecretHash{}, fmt.Errorf("find secret hash: %w", err)
	}
	for _, d := range digests {
		for _, it := range items {
			if string(it.Hash) == string(d) {
				return it.domain(), nil
			}
		}
	}
	return portal.SecretHash{}, fmt.Errorf("secret hash: %w", portal.ErrNotFound)
}

// RecordLeak records the first report of a value in one transaction: the
// report on the index entry (on condition that none is there), the audit
// events, and the secret removed or marked leaked (on condition that it is
// still there).
func (st *Store) RecordLeak(ctx context.Context, r portal.LeakRecord) error {
	leakedAt, err := attributevalue.Marshal(r.Report.At)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{{Update: &types.Update{
		TableName: aws.String(st.table), Key: hashKey(r.Hash.Digest),
		UpdateExpression: aws.String("SET LeakedAt = :at, LeakReporter = :reporter, LeakURL = :url, LeakSource = :source, " +
			"LeakAction = :action, SecretName = :name, Hint = :hint, Notice = :notice, NoticeToken = :token, NoticeLease = :lease"),
		ConditionExpression: aws.String("attribute_exists(PK) AND attribute_not_exists(LeakedAt)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":at": leakedAt, ":reporter": s(r.Report.Reporter), ":url": s(r.Report.URL), ":source": s(r.Report.Source),
			":action": s(string(r.Report.Action)), ":name": s(r.Report.SecretName), ":hint": s(r.Report.Hint),
			":notice": s(r.Report.Notice), ":token": s(r.NoticeToken), ":lease": num(r.NoticeLease.Unix()),
		},
	}}}
	switch r.Report.Action {
	case portal.LeakRevoke:
		items = append(items, st.secretRemoval(r.Application, r.Secret.ID)...)
	case portal.LeakNotify:
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName: aws.String(st.table), Key: secretKey(r.Secret.ApplicationID, r.Secret.ID),
			UpdateExpression:          aws.String("SET LeakedAt = :at"),
			ConditionExpression:       aws.String("attribute_exists(PK)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":at": leakedAt},
		}})
	default:
		return fmt.Errorf("record leak: unknown action %q", r.Report.Action)
	}
	for _, ev := range r.Events {
		p, err := st.eventPut(ev)
		if err != nil {
			return err
		}
		items = append(items, p)
	}
	reasons, err := st.transact(ctx, items...)
	switch {
	case failedAt(reasons, 0):
		return portal.ErrLeakRecorded
	case failedAt(reasons, 1):
		return notFound("secret", r.Secret.ID)
	case err != nil:
		return fmt.Errorf("record leak of %s: %w", r.Secret.ID, err)
	}
	return nil
}

// ClaimLeakNotice takes a pending notice whose lease has run out (or that
// has none) for token until lease.
func (st *Store) ClaimLeakNotice(ctx context.Context, digest []byte, token string, now, lease time.Time) (bool, error) {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(st.table), Key: hashKey(digest),
		UpdateExpression:    aws.String("SET NoticeToken = :token, NoticeLease = :lease"),
		ConditionExpression: aws.String("Notice = :pending AND (attribute_not_exists(NoticeLease) OR NoticeLease <= :now)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":token": s(token), ":lease": num(lease.Unix()), ":pending": s(portal.NoticePending), ":now": num(now.Unix()),
		},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim leak notice: %w", err)
	}
	return true, nil
}

// FinishLeakNotice marks token's claimed notice sent, or releases the claim
// for the next report. A claim that token no longer holds is left alone.
func (st *Store) FinishLeakNotice(ctx context.Context, digest []byte, token string, sent bool) error {
	update := "REMOVE NoticeToken, NoticeLease"
	values := map[string]types.AttributeValue{":token": s(token)}
	if sent {
		update = "SET Notice = :sent " + update
		values[":sent"] = s(portal.NoticeSent)
	}
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(st.table), Key: hashKey(digest),
		UpdateExpression: aws.String(update), ConditionExpression: aws.String("NoticeToken = :token"),
		ExpressionAttributeValues: values,
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("finish leak notice: %w", err)
	}
	return nil
}

// HashIndexReport counts what MigrateSecretHashes did.
type HashIndexReport struct {
	Applications int // applications looked at
	Secrets      int // their secrets
	Indexed      int // index entries written
}

// MigrateSecretHashes indexes the secrets stored before the secret hash
// index existed, from the hash each secret item holds (the value itself is
// never kept; a secret deleted before has left nothing to index). Idempotent:
// an entry already there is left as it is, so it may run again, and while the
// portal serves requests.
func (st *Store) MigrateSecretHashes(ctx context.Context) (HashIndexReport, error) {
	var r HashIndexReport
	err := st.eachApplication(ctx, func(a portal.Application) error {
		r.Applications++
		secrets, err := all[secretItem](ctx, st, "APP#"+a.ID, "SECRET#")
		if err != nil {
			return fmt.Errorf("secrets of %s: %w", a.ID, err)
		}
		for _, it := range secrets {
			r.Secrets++
			if len(it.Hash) == 0 {
				return fmt.Errorf("secret %s of %s holds no hash", it.ID, it.AppID)
			}
			av, err := attributevalue.MarshalMap(newSecretHashItem(it.domain()))
			if err != nil {
				return err
			}
			_, err = st.db.PutItem(ctx, &dynamodb.PutItemInput{
				TableName: aws.String(st.table), Item: av, ConditionExpression: aws.String("attribute_not_exists(PK)"),
			})
			if isConditionFailed(err) {
				continue
			}
			if err != nil {
				return fmt.Errorf("index secret %s: %w", it.ID, err)
			}
			r.Indexed++
		}
		return nil
	})
	return r, err
}
