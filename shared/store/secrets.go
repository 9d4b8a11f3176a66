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

// AddSecret stores a new secret, its hash index entry, its audit event and
// its security notice, unless the application
// already holds limit secrets active at now. The application's record holds
// the set of its secrets and a version; the write is conditional on the
// version read, so concurrent creates cannot both take the last place.
func (st *Store) AddSecret(ctx context.Context, sec portal.Secret, limit int, now time.Time, ev audit.Event, by *portal.Designation) error {
	secretAV, err := attributevalue.MarshalMap(newSecretItem(sec))
	if err != nil {
		return err
	}
	recorded, err := st.changePuts(portal.Notice{Event: ev, Secret: &sec})
	if err != nil {
		return err
	}
	hashPut, err := st.secretHashPut(sec)
	if err != nil {
		return err
	}
	return st.addVersioned(ctx, versionedAdd{
		appID: sec.ApplicationID, id: sec.ID, expiresAt: sec.ExpiresAt,
		set: "Secrets", entries: func(a portal.Application) map[string]time.Time { return a.Secrets },
		active: portal.Application.ActiveSecrets, limit: limit, limitErr: portal.ErrSecretLimit, what: "secret",
		items: func(app portal.Application, expired []string) []types.TransactWriteItem {
			return append([]types.TransactWriteItem{
				{Put: &types.Put{TableName: aws.String(st.table), Item: secretAV, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
				{Update: st.clientSecretAdded(app, sec, expired)},
				hashPut,
			}, recorded...)
		},
	}, now, by)
}

// A versionedAdd is the addition of one credential to an application's
// id → expiry set: what differs between a secret and a key.
type versionedAdd struct {
	appID, id string
	expiresAt time.Time
	set       string                                        // the application's attribute
	entries   func(portal.Application) map[string]time.Time // its value, as read
	active    func(portal.Application, time.Time) int       // how many count against limit
	limit     int
	limitErr  error
	what      string // for error messages
	// items are the transaction's writes after the application's update:
	// the credential's item, its client item entry (dropping expired), etc.
	items func(app portal.Application, expired []string) []types.TransactWriteItem
	// check, if set, refuses the addition to app as read (a duplicate):
	// the version condition makes its answer hold until the write.
	check func(ctx context.Context, app portal.Application, now time.Time) error
}

// addVersioned adds a.id to the application's set unless it already holds
// a.limit credentials active at now. The application's record holds the set
// and a version; the write is conditional on the version read, so
// concurrent adds cannot both take the last place. Expired entries leave the
// set here, and the client item: they no longer count, nor authenticate.
// by (nil for an admin) is checked in the same transaction.
func (st *Store) addVersioned(ctx context.Context, a versionedAdd, now time.Time, by *portal.Designation) error {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
		}
		app, err := st.getApplication(ctx, a.appID, true)
		if err != nil {
			return err
		}
		if a.active(app, now) >= a.limit {
			return a.limitErr
		}
		if a.check != nil {
			if err := a.check(ctx, app, now); err != nil {
				return err
			}
		}
		kept := map[string]time.Time{a.id: a.expiresAt}
		var expired []string
		for id, exp := range a.entries(app) {
			if exp.After(now) {
				kept[id] = exp
			} else {
				expired = append(expired, id)
			}
		}
		appUpdate, err := versionedSet(st.table, app, a.set, kept)
		if err != nil {
			return err
		}
		items := append([]types.TransactWriteItem{{Update: appUpdate}}, a.items(app, expired)...)
		if by != nil {
			items = append(items, st.grantCheck(*by))
		}
		_, err = st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			return nil
		}
		reasons, canceled := canceledReasons(err)
		if !canceled {
			return fmt.Errorf("add %s: %w", a.what, err)
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
// audit event and security notice, atomically. Its hash index entry stays, a
// tombstone. by is the designation the deletion is made under (nil for an
// admin), checked in the same transaction.
func (st *Store) RemoveSecret(ctx context.Context, sec portal.Secret, ev audit.Event, by *portal.Designation) error {
	return st.removeCredential(ctx, sec.ApplicationID, "secret", sec.ID, portal.Notice{Event: ev, Secret: &sec}, by, func(app portal.Application) []types.TransactWriteItem {
		return st.secretRemoval(app, sec.ID)
	})
}

// removeCredential deletes one credential of an application with the
// transaction items removal gives for the application read (the first
// conditional on the credential being there), and records the change's
// event and notice n, atomically,
// under by (nil for an admin). A missing credential is not found.
func (st *Store) removeCredential(ctx context.Context, appID, kind, id string, n portal.Notice, by *portal.Designation, removal func(app portal.Application) []types.TransactWriteItem) error {
	recorded, err := st.changePuts(n)
	if err != nil {
		return err
	}
	app, err := st.getApplication(ctx, appID, true) // for its client id
	if err != nil {
		return err
	}
	reasons, err := st.transactUnder(ctx, by, append(removal(app), recorded...)...)
	if errors.Is(err, portal.ErrGrantChanged) {
		return err
	}
	if failedAt(reasons, 0) {
		return notFound(kind, id)
	}
	if err != nil {
		return fmt.Errorf("remove %s %s: %w", kind, id, err)
	}
	return nil
}

// secretRemoval is the transaction items that delete a secret of app, from
// its client item too; the first is conditional on the secret being there.
func (st *Store) secretRemoval(app portal.Application, secretID string) []types.TransactWriteItem {
	return st.entryRemoval(app, secretKey(app.ID, secretID), "Secrets", secretID, clientSecretAttr(secretID), clientUsedAttr(secretID))
}

// entryRemoval is the transaction items that delete the item at itemKey,
// its id from app's set attr and its entry and use time from the client
// item; the first is conditional on the item being there.
func (st *Store) entryRemoval(app portal.Application, itemKey map[string]types.AttributeValue, set, id, entryAttr, usedAttr string) []types.TransactWriteItem {
	return []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: aws.String(st.table), Key: itemKey, ConditionExpression: aws.String("attribute_exists(PK)")}},
		{Update: &types.Update{
			TableName: aws.String(st.table), Key: appKey(app.ID),
			UpdateExpression:         aws.String("REMOVE #set.#id SET Version = Version + :one"),
			ConditionExpression:      aws.String("attribute_exists(PK)"),
			ExpressionAttributeNames: map[string]string{"#set": set, "#id": id},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":one": num(1),
			},
		}},
		{Update: &types.Update{
			TableName: aws.String(st.table), Key: clientKey(app.ClientID),
			UpdateExpression:         aws.String("REMOVE #entry, #used SET AppVersion = if_not_exists(AppVersion, :zero) + :one"),
			ConditionExpression:      aws.String("attribute_exists(PK)"),
			ExpressionAttributeNames: map[string]string{"#entry": entryAttr, "#used": usedAttr},
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
