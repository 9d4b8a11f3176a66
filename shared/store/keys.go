package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"credportal/shared/audit"
	"credportal/shared/portal"
	"credportal/shared/reminder"
)

// A registered public key is the item APP#<appId> / KEY#<keyId>, listed in
// its application's Keys (id → expiry, the active-key limit's record) and
// copied into its client item as Key#<keyId> = {DER, Kid, Algs, Expires},
// with KeyUsed#<keyId> its LastUsedAt, so that a private_key_jwt request
// reads the client item alone.

// Attribute names of a key's entry in the client item.
const (
	clientKeyPrefix     = "Key#"
	clientKeyUsedPrefix = "KeyUsed#"
)

func clientKeyAttr(keyID string) string     { return clientKeyPrefix + keyID }
func clientKeyUsedAttr(keyID string) string { return clientKeyUsedPrefix + keyID }

func keyKey(appID, keyID string) map[string]types.AttributeValue {
	return key("APP#"+appID, "KEY#"+keyID)
}

type keyItem struct {
	PK string `dynamodbav:"PK"`
	SK string `dynamodbav:"SK"`
	// ExpiryDay and ExpiryKey put the key on the ByExpiry index, for the
	// expiry sweep; keys stored before they were set get them from
	// MigrateKeyExpiry.
	ExpiryDay  string     `dynamodbav:"ExpiryDay,omitempty"`
	ExpiryKey  string     `dynamodbav:"ExpiryKey,omitempty"`
	Type       string     `dynamodbav:"Type"`
	ID         string     `dynamodbav:"ID"`
	AppID      string     `dynamodbav:"AppID"`
	Name       string     `dynamodbav:"Name"`
	KeyType    string     `dynamodbav:"KeyType"`
	Thumbprint string     `dynamodbav:"Thumbprint"`
	Algorithms []string   `dynamodbav:"Algorithms"`
	DER        []byte     `dynamodbav:"DER"`
	CreatedAt  time.Time  `dynamodbav:"CreatedAt"`
	CreatedBy  string     `dynamodbav:"CreatedBy"`
	ExpiresAt  time.Time  `dynamodbav:"ExpiresAt"`
	LastUsedAt *time.Time `dynamodbav:"LastUsedAt,omitempty"`
}

const typeKey = "key"

func newKeyItem(k portal.Key) keyItem {
	return keyItem{
		PK: "APP#" + k.ApplicationID, SK: "KEY#" + k.ID, Type: typeKey, ID: k.ID, AppID: k.ApplicationID, Name: k.Name,
		ExpiryDay: expiryDay(k.ExpiresAt), ExpiryKey: expiryKey(reminder.KindKey, k.ApplicationID, k.ID, k.ExpiresAt),
		KeyType: k.Type, Thumbprint: k.Thumbprint, Algorithms: k.Algorithms, DER: k.DER,
		CreatedAt: k.CreatedAt, CreatedBy: k.CreatedBy, ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt,
	}
}

func (i keyItem) domain() portal.Key {
	return portal.Key{
		ID: i.ID, ApplicationID: i.AppID, Name: i.Name, Type: i.KeyType, Thumbprint: i.Thumbprint, Algorithms: i.Algorithms,
		DER: i.DER, CreatedAt: i.CreatedAt, CreatedBy: i.CreatedBy, ExpiresAt: i.ExpiresAt, LastUsedAt: i.LastUsedAt,
	}
}

// clientKeyValue is a key's entry in its client item.
func clientKeyValue(k portal.Key) types.AttributeValue {
	return &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"DER":     &types.AttributeValueMemberB{Value: k.DER},
		"Kid":     s(k.Thumbprint),
		"Algs":    stringList(k.Algorithms),
		"Expires": s(k.ExpiresAt.UTC().Format(time.RFC3339Nano)),
	}}
}

// decodeClientKey reads a key's entry of a client item.
func decodeClientKey(item map[string]types.AttributeValue, appID, id string, v types.AttributeValue) (portal.Key, error) {
	m, ok := v.(*types.AttributeValueMemberM)
	if !ok {
		return portal.Key{}, fmt.Errorf("client item: key %s is no map", id)
	}
	expires, err := time.Parse(time.RFC3339Nano, str(m.Value["Expires"]))
	if err != nil {
		return portal.Key{}, fmt.Errorf("client item: expiry of key %s: %w", id, err)
	}
	der, _ := m.Value["DER"].(*types.AttributeValueMemberB)
	if der == nil {
		return portal.Key{}, fmt.Errorf("client item: key %s has no DER", id)
	}
	k := portal.Key{ID: id, ApplicationID: appID, Thumbprint: str(m.Value["Kid"]), DER: der.Value, ExpiresAt: expires}
	if l, ok := m.Value["Algs"].(*types.AttributeValueMemberL); ok {
		for _, a := range l.Value {
			k.Algorithms = append(k.Algorithms, str(a))
		}
	}
	if used := str(item[clientKeyUsedAttr(id)]); used != "" {
		if t, err := time.Parse(time.RFC3339, used); err == nil {
			k.LastUsedAt = &t
		}
	}
	return k, nil
}

// GetKey reads one key of an application, consistently.
func (st *Store) GetKey(ctx context.Context, appID, keyID string) (portal.Key, error) {
	var it keyItem
	found, err := st.get(ctx, keyKey(appID, keyID), true, &it)
	if err != nil {
		return portal.Key{}, fmt.Errorf("get key %s: %w", keyID, err)
	}
	if !found {
		return portal.Key{}, notFound("key", keyID)
	}
	return it.domain(), nil
}

// ListKeys lists an application's keys, newest first.
func (st *Store) ListKeys(ctx context.Context, appID, cursor string, limit int) (portal.Page[portal.Key], error) {
	p, err := page(ctx, st, "", "PK", "APP#"+appID, "SK", "KEY#", cursor, limit, true, keyItem.domain)
	if err != nil {
		return p, fmt.Errorf("list keys of %s: %w", appID, err)
	}
	return p, nil
}

// keysOf reads, consistently, the keys the application's record lists.
func (st *Store) keysOf(ctx context.Context, app portal.Application) ([]portal.Key, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(app.Keys))
	for id := range app.Keys {
		keys = append(keys, keyKey(app.ID, id))
	}
	items, err := batchGet[keyItem](ctx, st, keys, true)
	if err != nil {
		return nil, fmt.Errorf("get keys of %s: %w", app.ID, err)
	}
	out := make([]portal.Key, 0, len(items))
	for _, it := range items {
		out = append(out, it.domain())
	}
	return out, nil
}

// AddKey stores a new key, in its client item too, and its audit event,
// unless the application already holds limit keys active at now. Like
// AddSecret, the write is conditional on the application's version.
func (st *Store) AddKey(ctx context.Context, k portal.Key, limit int, now time.Time, ev audit.Event, by *portal.Designation) error {
	keyAV, err := attributevalue.MarshalMap(newKeyItem(k))
	if err != nil {
		return err
	}
	recorded, err := st.changePuts(portal.Notice{Event: ev, Key: &k})
	if err != nil {
		return err
	}
	return st.addVersioned(ctx, versionedAdd{
		appID: k.ApplicationID, id: k.ID, expiresAt: k.ExpiresAt,
		set: "Keys", entries: func(a portal.Application) map[string]time.Time { return a.Keys },
		active: portal.Application.ActiveKeys, limit: limit, limitErr: portal.ErrKeyLimit, what: "key",
		// The same public key twice would leave it working after one of
		// them is deleted: an active key with its thumbprint refuses it.
		check: func(ctx context.Context, app portal.Application, now time.Time) error {
			c, err := st.Client(ctx, app.ClientID)
			if errors.Is(err, portal.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			for _, other := range c.Keys {
				if other.Thumbprint == k.Thumbprint && other.ExpiresAt.After(now) {
					return portal.ErrDuplicateKey
				}
			}
			return nil
		},
		items: func(app portal.Application, expired []string) []types.TransactWriteItem {
			return append([]types.TransactWriteItem{
				{Put: &types.Put{TableName: aws.String(st.table), Item: keyAV, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
				{Update: st.clientEntryAdded(app, clientKeyAttr(k.ID), clientKeyValue(k), expired, clientKeyAttr, clientKeyUsedAttr)},
			}, recorded...)
		},
	}, now, by)
}

// versionedSet sets the application's id → expiry set attr to kept and
// bumps its version, conditional on the version read.
func versionedSet(table string, app portal.Application, attr string, kept map[string]time.Time) (*types.Update, error) {
	update, err := expression.NewBuilder().
		WithUpdate(expression.Set(expression.Name(attr), expression.Value(kept)).
			Set(expression.Name("Version"), expression.Value(app.Version+1))).
		WithCondition(expression.Name("Version").Equal(expression.Value(app.Version))).
		Build()
	if err != nil {
		return nil, err
	}
	return &types.Update{
		TableName: aws.String(table), Key: appKey(app.ID),
		UpdateExpression: update.Update(), ConditionExpression: update.Condition(),
		ExpressionAttributeNames: update.Names(), ExpressionAttributeValues: update.Values(),
	}, nil
}

// clientEntryAdded is the change of app's client item that sets one entry
// (a secret's or a key's) and drops the expired ones with their use times.
func (st *Store) clientEntryAdded(app portal.Application, attr string, entry types.AttributeValue, expired []string, entryAttr, usedAttr func(string) string) *types.Update {
	names := map[string]string{"#new": attr}
	update := "SET #new = :entry, AppVersion = :version"
	if len(expired) > 0 {
		var remove []string
		for i, id := range expired {
			n := strconv.Itoa(i)
			names["#s"+n], names["#u"+n] = entryAttr(id), usedAttr(id)
			remove = append(remove, "#s"+n, "#u"+n)
		}
		update += " REMOVE " + strings.Join(remove, ", ")
	}
	return &types.Update{
		TableName: aws.String(st.table), Key: clientKey(app.ClientID),
		UpdateExpression: aws.String(update), ConditionExpression: aws.String("attribute_exists(PK)"),
		ExpressionAttributeNames: names,
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":entry": entry, ":version": num(app.Version + 1),
		},
	}
}

// RemoveKey deletes a key, from its client item too, and records its audit
// event and security notice, atomically.
func (st *Store) RemoveKey(ctx context.Context, k portal.Key, ev audit.Event, by *portal.Designation) error {
	return st.removeCredential(ctx, k.ApplicationID, "key", k.ID, portal.Notice{Event: ev, Key: &k}, by, func(app portal.Application) []types.TransactWriteItem {
		return st.entryRemoval(app, keyKey(k.ApplicationID, k.ID), "Keys", k.ID, clientKeyAttr(k.ID), clientKeyUsedAttr(k.ID))
	})
}

// MarkKeyUsed sets a key's LastUsedAt to at, in the key's item and its
// client item, unless it was set less than UsedPrecision before at (or the
// key no longer exists). It reports whether it wrote.
func (st *Store) MarkKeyUsed(ctx context.Context, clientID, appID, keyID string, at time.Time) (bool, error) {
	wrote, err := st.markUsed(ctx, clientID, keyKey(appID, keyID), clientKeyUsedAttr(keyID), at)
	if err != nil {
		return false, fmt.Errorf("mark key %s used: %w", keyID, err)
	}
	return wrote, nil
}

// UseAssertionID records that a client assertion with this jti was accepted
// for clientID, kept until its expiry through the table's TTL. It reports
// false when the jti was accepted before and has not expired: a replay.
func (st *Store) UseAssertionID(ctx context.Context, clientID, jti string, exp, now time.Time) (bool, error) {
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(st.table),
		Item: map[string]types.AttributeValue{
			"PK": s("JTI#" + clientID + "#" + jti), "SK": s("JTI"), "Type": s("jti"),
			"TTL": num(exp.Unix()),
		},
		ConditionExpression:      aws.String("attribute_not_exists(PK) OR #ttl < :now"),
		ExpressionAttributeNames: map[string]string{"#ttl": "TTL"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": num(now.Unix()),
		},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record assertion id: %w", err)
	}
	return true, nil
}
