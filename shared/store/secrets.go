package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"credportal/shared/audit"
	"credportal/shared/portal"
)

// maxAttempts bounds the optimistic retries of a write that lost a race.
const maxAttempts = 12

// AddSecret stores a new secret, its hash index entry and its audit event,
// unless the application
// already holds limit secrets active at now. The application's record holds
// the set of its secrets and a version; the write is conditional on the
// version read, so concurrent creates cannot both take the last place.
func (st *Store) AddSecret(ctx context.Context, sec portal.Secret, limit int, now time.Time, ev audit.Event, by *portal.Designation) error {
	secretAV, err := attributevalue.MarshalMap(newSecretItem(sec))
	if err != nil {
		return err
	}
	eventPut, err := st.eventPut(ev)
	if err != nil {
		return err
	}
	hashPut, err := st.secretHashPut(sec)
	if err != nil {
		return err
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
		}
		app, err := st.getApplication(ctx, sec.ApplicationID, true)
		if err != nil {
			return err
		}
		if app.ActiveSecrets(now) >= limit {
			return portal.ErrSecretLimit
		}
		// Expired entries leave the set here, and the client item: they no
		// longer count, nor authenticate.
		kept := map[string]time.Time{sec.ID: sec.ExpiresAt}
		var expired []string
		for id, exp := range app.Secrets {
			if exp.After(now) {
				kept[id] = exp
			} else {
				expired = append(expired, id)
			}
		}
		update, err := expression.NewBuilder().
			WithUpdate(expression.Set(expression.Name("Secrets"), expression.Value(kept)).
				Set(expression.Name("Version"), expression.Value(app.Version+1))).
			WithCondition(expression.Name("Version").Equal(expression.Value(app.Version))).
			Build()
		if err != nil {
			return err
		}
		items := []types.TransactWriteItem{
			{Update: &types.Update{
				TableName: aws.String(st.table), Key: appKey(sec.ApplicationID),
				UpdateExpression: update.Update(), ConditionExpression: update.Condition(),
				ExpressionAttributeNames: update.Names(), ExpressionAttributeValues: update.Values(),
			}},
			{Put: &types.Put{TableName: aws.String(st.table), Item: secretAV, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
			{Update: st.clientSecretAdded(app, sec, expired)},
			hashPut,
			eventPut,
		}
		if by != nil {
			items = append(items, st.grantCheck(*by))
		}
		_, err = st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			return nil
		}
		reasons, canceled := canceledReasons(err)
		if !canceled {
			return fmt.Errorf("add secret: %w", err)
		}
		if by != nil && failedAt(reasons, len(items)-1) {
			return portal.ErrGrantChanged
		}
		// The application changed since it was read (or a transaction on it
		// was in flight): read again and decide again.
	}
	return portal.ErrBusy
}

// clientSecretAdded is the change of app's client item that adds sec and
// drops the expired secrets.
func (st *Store) clientSecretAdded(app portal.Application, sec portal.Secret, expired []string) *types.Update {
	return st.clientEntryAdded(app, clientSecretAttr(sec.ID), clientSecretValue(sec), expired, clientSecretAttr, clientUsedAttr)
}

// RemoveSecret deletes a secret, from its client item too, and records its
// audit event, atomically. Its hash index entry stays, a tombstone. by is
// the designation the deletion is made under (nil for an admin), checked in
// the same transaction.
func (st *Store) RemoveSecret(ctx context.Context, appID, secretID string, ev audit.Event, by *portal.Designation) error {
	eventPut, err := st.eventPut(ev)
	if err != nil {
		return err
	}
	app, err := st.getApplication(ctx, appID, true) // for its client id
	if err != nil {
		return err
	}
	reasons, err := st.transactUnder(ctx, by, append(st.secretRemoval(app, secretID), eventPut)...)
	if errors.Is(err, portal.ErrGrantChanged) {
		return err
	}
	if failedAt(reasons, 0) {
		return notFound("secret", secretID)
	}
	if err != nil {
		return fmt.Errorf("remove secret %s: %w", secretID, err)
	}
	return nil
}

// secretRemoval is the transaction items that delete a secret of app, from
// its client item too; the first is conditional on the secret being there.
func (st *Store) secretRemoval(app portal.Application, secretID string) []types.TransactWriteItem {
	return []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: aws.String(st.table), Key: secretKey(app.ID, secretID), ConditionExpression: aws.String("attribute_exists(PK)")}},
		{Update: &types.Update{
			TableName: aws.String(st.table), Key: appKey(app.ID),
			UpdateExpression:         aws.String("REMOVE Secrets.#id SET Version = Version + :one"),
			ConditionExpression:      aws.String("attribute_exists(PK)"),
			ExpressionAttributeNames: map[string]string{"#id": secretID},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":one": &types.AttributeValueMemberN{Value: "1"},
			},
		}},
		{Update: &types.Update{
			TableName: aws.String(st.table), Key: clientKey(app.ClientID),
			UpdateExpression:         aws.String("REMOVE #secret, #used SET AppVersion = if_not_exists(AppVersion, :zero) + :one"),
			ConditionExpression:      aws.String("attribute_exists(PK)"),
			ExpressionAttributeNames: map[string]string{"#secret": clientSecretAttr(secretID), "#used": clientUsedAttr(secretID)},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":zero": num(0), ":one": num(1),
			},
		}},
	}
}

// grantCheck is the condition, inside a change's transaction, that the
// designation the change is made under is still there with the role and the
// binding it had when it allowed the change: an admin's removal or demotion
// that lands between the access check and the transaction cancels the
// change.
func (st *Store) grantCheck(d portal.Designation) types.TransactWriteItem {
	cond := expression.AttributeExists(expression.Name("PK")).And(expression.Name("Role").Equal(expression.Value(string(d.Role))))
	if b := d.Binding; b != nil {
		cond = cond.And(expression.Name("BoundIssuer").Equal(expression.Value(b.Issuer))).
			And(expression.Name("BoundSubject").Equal(expression.Value(b.Subject)))
	}
	expr, _ := expression.NewBuilder().WithCondition(cond).Build() // a fixed, valid condition
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: aws.String(st.table), Key: designationKey(d.ApplicationID, d.Email),
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}}
}

// transactUnder writes items in one transaction with, unless by is nil, the
// check that the designation by is unchanged; it returns ErrGrantChanged
// when that check failed, and otherwise what transact returns.
func (st *Store) transactUnder(ctx context.Context, by *portal.Designation, items ...types.TransactWriteItem) ([]string, error) {
	if by != nil {
		items = append(items, st.grantCheck(*by))
	}
	reasons, err := st.transact(ctx, items...)
	if by != nil && failedAt(reasons, len(items)-1) {
		return reasons, portal.ErrGrantChanged
	}
	return reasons, err
}

func (st *Store) eventPut(ev audit.Event) (types.TransactWriteItem, error) {
	av, err := attributevalue.MarshalMap(newEventItem(ev))
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName: aws.String(st.table), Item: av, ConditionExpression: aws.String("attribute_not_exists(PK)"),
	}}, nil
}

// backoff sleeps a jittered, growing delay before retry number attempt.
func backoff(ctx context.Context, attempt int) error {
	ceiling := int64(5*time.Millisecond) << min(attempt, 6)
	n, _ := rand.Int(rand.Reader, big.NewInt(ceiling))
	t := time.NewTimer(time.Duration(n.Int64()))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
