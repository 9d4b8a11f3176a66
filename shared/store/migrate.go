package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"credportal/shared/portal"
)

// MigrationReport counts what MigrateClients did.
type MigrationReport struct {
	Applications int // applications looked at
	Migrated     int // client items written
}

// MigrateClients brings every application's client item to the current
// layout (see clients.go). It is idempotent, and safe while the portal runs:
// each item is written in a transaction conditional on the application being
// as it was read, and retried when it changed meanwhile.
func (st *Store) MigrateClients(ctx context.Context) (MigrationReport, error) {
	var r MigrationReport
	err := st.eachApplication(ctx, func(a portal.Application) error {
		wrote, err := st.MigrateClient(ctx, a.ID)
		if err != nil {
			return err
		}
		r.Applications++
		if wrote {
			r.Migrated++
		}
		return nil
	})
	return r, err
}

// eachApplication calls fn with every application, a page at a time, until
// fn fails.
func (st *Store) eachApplication(ctx context.Context, fn func(portal.Application) error) error {
	for cursor := ""; ; {
		p, err := st.ListApplications(ctx, cursor, 100)
		if err != nil {
			return err
		}
		for _, a := range p.Items {
			if err := fn(a); err != nil {
				return err
			}
		}
		if cursor = p.Next; cursor == "" {
			return nil
		}
	}
}

// MigrateClient makes an application's client item hold what authentication
// needs, copied from the application, its secrets and its keys, unless it does already.
// It reports whether it wrote.
func (st *Store) MigrateClient(ctx context.Context, appID string) (bool, error) {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return false, err
			}
		}
		app, err := st.getApplication(ctx, appID, true)
		if err != nil {
			return false, err
		}
		res, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.table), Key: clientKey(app.ClientID), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return false, fmt.Errorf("get client of %s: %w", appID, err)
		}
		if res.Item == nil {
			return false, fmt.Errorf("application %s: its client item %s is missing", appID, app.ClientID)
		}
		secrets, err := st.secretsOf(ctx, app)
		if err != nil {
			return false, err
		}
		want := map[string]types.AttributeValue{
			"Type": s(typeClient), "AppID": s(app.ID), "OrgID": s(app.Organisation.ID), "APIs": stringList(app.APIs),
			"AppVersion": num(app.Version), "Layout": num(clientLayout),
		}
		keys, err := st.keysOf(ctx, app)
		if err != nil {
			return false, err
		}
		for _, k := range keys {
			want[clientKeyAttr(k.ID)] = clientKeyValue(k)
			if k.LastUsedAt != nil {
				want[clientKeyUsedAttr(k.ID)] = s(usedAt(*k.LastUsedAt))
			}
		}
		for _, sec := range secrets {
			want[clientSecretAttr(sec.ID)] = clientSecretValue(sec)
			if sec.LastUsedAt != nil {
				want[clientUsedAttr(sec.ID)] = s(usedAt(*sec.LastUsedAt))
			}
		}
		var stale []string
		for name := range res.Item {
			if _, keep := want[name]; !keep && isClientEntry(name) {
				stale = append(stale, name)
			}
		}
		if len(stale) == 0 && holds(res.Item, want) {
			return false, nil
		}
		reasons, err := st.transact(ctx,
			types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
				TableName: aws.String(st.table), Key: appKey(app.ID),
				ConditionExpression:       aws.String("Version = :version AND APIs = :apis"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":version": num(app.Version), ":apis": stringList(app.APIs)},
			}},
			types.TransactWriteItem{Update: clientRewrite(st.table, app.ClientID, want, stale)},
		)
		if err == nil {
			return true, nil
		}
		if !failedAt(reasons, 0) {
			return false, fmt.Errorf("migrate client of %s: %w", appID, err)
		}
		// The application changed since it was read: read again.
	}
	return false, fmt.Errorf("migrate client of %s: the application kept changing", appID)
}

// isClientEntry reports whether a client item's attribute is a secret's or
// a key's entry or use time.
func isClientEntry(name string) bool {
	for _, p := range []string{clientSecretPrefix, clientUsedPrefix, clientKeyPrefix, clientKeyUsedPrefix} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// holds reports whether item has every attribute of want with that value.
// The layout's values are strings, numbers, binaries, lists of strings and
// maps of those.
func holds(item, want map[string]types.AttributeValue) bool {
	for name, w := range want {
		if !sameValue(item[name], w) {
			return false
		}
	}
	return true
}

func sameValue(a, b types.AttributeValue) bool {
	switch b := b.(type) {
	case *types.AttributeValueMemberS:
		a, ok := a.(*types.AttributeValueMemberS)
		return ok && a.Value == b.Value
	case *types.AttributeValueMemberN:
		a, ok := a.(*types.AttributeValueMemberN)
		return ok && a.Value == b.Value
	case *types.AttributeValueMemberB:
		a, ok := a.(*types.AttributeValueMemberB)
		return ok && string(a.Value) == string(b.Value)
	case *types.AttributeValueMemberL:
		a, ok := a.(*types.AttributeValueMemberL)
		return ok && slices.EqualFunc(a.Value, b.Value, sameValue)
	case *types.AttributeValueMemberM:
		a, ok := a.(*types.AttributeValueMemberM)
		return ok && len(a.Value) == len(b.Value) && holds(a.Value, b.Value)
	}
	return false
}

// clientRewrite sets every attribute of want on a client item and removes
// the stale ones.
func clientRewrite(table, clientID string, want map[string]types.AttributeValue, stale []string) *types.Update {
	names := map[string]string{}
	values := map[string]types.AttributeValue{}
	var set, remove []string
	for i, name := range slices.Sorted(maps.Keys(want)) {
		n := strconv.Itoa(i)
		names["#a"+n], values[":v"+n] = name, want[name]
		set = append(set, "#a"+n+" = :v"+n)
	}
	for i, name := range stale {
		n := strconv.Itoa(i)
		names["#r"+n] = name
		remove = append(remove, "#r"+n)
	}
	update := "SET " + strings.Join(set, ", ")
	if len(remove) > 0 {
		update += " REMOVE " + strings.Join(remove, ", ")
	}
	return &types.Update{
		TableName: aws.String(table), Key: clientKey(clientID), UpdateExpression: aws.String(update),
		ConditionExpression: aws.String("attribute_exists(PK)"), ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	}
}

// KeyExpiryReport counts what MigrateKeyExpiry did.
type KeyExpiryReport struct {
	Applications int // applications looked at
	Keys         int // their keys
	Indexed      int // keys put on the ByExpiry index
}

// MigrateKeyExpiry puts the keys stored before keys were reminded of their
// expiry on the ByExpiry index: it sets ExpiryDay and ExpiryKey, derived
// from the key's own expiry, on each key item that lacks them, reading each
// application's keys with one query (never a Scan). Idempotent: a key that
// has them is left as it is, and each write is conditional on the key
// still existing with the expiry read and still lacking them, so a key
// deleted meanwhile is not brought back and nothing newer is overwritten.
// Safe while the portal serves requests.
func (st *Store) MigrateKeyExpiry(ctx context.Context) (KeyExpiryReport, error) {
	var r KeyExpiryReport
	err := st.eachApplication(ctx, func(a portal.Application) error {
		r.Applications++
		keys, err := all[keyItem](ctx, st, "APP#"+a.ID, "KEY#")
		if err != nil {
			return fmt.Errorf("keys of %s: %w", a.ID, err)
		}
		for _, it := range keys {
			r.Keys++
			if it.ExpiryDay != "" && it.ExpiryKey != "" {
				continue
			}
			wrote, err := st.indexKeyExpiry(ctx, it)
			if err != nil {
				return err
			}
			if wrote {
				r.Indexed++
			}
		}
		return nil
	})
	return r, err
}

// indexKeyExpiry sets a key item's ExpiryDay and ExpiryKey as newKeyItem
// does, if the key still exists with the expiry read and lacks them. It
// reports whether it wrote.
func (st *Store) indexKeyExpiry(ctx context.Context, it keyItem) (bool, error) {
	want := newKeyItem(it.domain())
	expires, err := attributevalue.Marshal(it.ExpiresAt)
	if err != nil {
		return false, err
	}
	_, err = st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(st.table), Key: keyKey(it.AppID, it.ID),
		UpdateExpression: aws.String("SET ExpiryDay = :day, ExpiryKey = :key"),
		ConditionExpression: aws.String("attribute_exists(PK) AND ExpiresAt = :expires AND " +
			"(attribute_not_exists(ExpiryDay) OR attribute_not_exists(ExpiryKey))"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":day": s(want.ExpiryDay), ":key": s(want.ExpiryKey), ":expires": expires,
		},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("index the expiry of key %s: %w", it.ID, err)
	}
	return true, nil
}
