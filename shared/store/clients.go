package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"credportal/shared/portal"
)

// The client item, CLIENT#<clientId> / CLIENT, reserves a client id for ever
// and holds everything the token endpoint needs to authenticate it, so that a
// successful token request reads one item, consistently:
//
//	AppID, OrgID, APIs     the application's, as it is now
//	AppVersion             the application's Version the item reflects
//	Secret#<secretId>      per unexpired secret: {Hash, Pepper, Expires, Hint}
//	Used#<secretId>        that secret's LastUsedAt (RFC 3339, to the second)
//	Key#<keyId>            per unexpired public key: {DER, Kid, Algs, Expires}
//	KeyUsed#<keyId>        that key's LastUsedAt (see keys.go)
//	Layout                 clientLayout once the item holds all of the above
//	Federated#<id>         per federated credential (see federated.go)
//
// The transactions that create and delete secrets and keys and change an application
// change its client item in the same transaction. Items written before that
// (Layout absent) hold only AppID; MigrateClient fills them in, and until it
// has, Client falls back to reading the application and its secrets.

// clientLayout marks a client item holding what authentication needs.
const clientLayout = 2

// Attribute names of the client item.
const (
	clientSecretPrefix = "Secret#"
	clientUsedPrefix   = "Used#"
)

func clientSecretAttr(secretID string) string { return clientSecretPrefix + secretID }
func clientUsedAttr(secretID string) string   { return clientUsedPrefix + secretID }

// clientItem is the client item as CreateApplication writes it; secrets are
// added by AddSecret.
type clientItem struct {
	PK         string   `dynamodbav:"PK"`
	SK         string   `dynamodbav:"SK"`
	Type       string   `dynamodbav:"Type"`
	AppID      string   `dynamodbav:"AppID"`
	OrgID      string   `dynamodbav:"OrgID,omitempty"`
	APIs       []string `dynamodbav:"APIs"`
	AppVersion int64    `dynamodbav:"AppVersion"`
	Layout     int      `dynamodbav:"Layout,omitempty"`
}

func newClientItem(a portal.Application) clientItem {
	apis := a.APIs
	if apis == nil {
		apis = []string{}
	}
	return clientItem{
		PK: "CLIENT#" + a.ClientID, SK: "CLIENT", Type: typeClient, AppID: a.ID, OrgID: a.Organisation.ID,
		APIs: apis, AppVersion: a.Version, Layout: clientLayout,
	}
}

func stringList(v []string) types.AttributeValue {
	l := make([]types.AttributeValue, 0, len(v))
	for _, x := range v {
		l = append(l, s(x))
	}
	return &types.AttributeValueMemberL{Value: l}
}

// clientSecretValue is a secret's entry in its client item.
func clientSecretValue(sec portal.Secret) types.AttributeValue {
	return &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"Hash":    &types.AttributeValueMemberB{Value: sec.Hash},
		"Pepper":  s(sec.PepperVersion),
		"Expires": s(sec.ExpiresAt.UTC().Format(time.RFC3339Nano)),
		"Hint":    s(sec.Hint),
	}}
}

// Client reads, consistently and in one request, what authenticating a
// client id needs. A client item not yet migrated is completed from the
// application and its secrets (more reads; see MigrateClient).
func (st *Store) Client(ctx context.Context, clientID string) (portal.Client, error) {
	res, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.table), Key: clientKey(clientID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return portal.Client{}, fmt.Errorf("get client: %w", err)
	}
	if res.Item == nil {
		return portal.Client{}, notFound("client", "")
	}
	var c portal.Client
	if layout(res.Item) != clientLayout {
		c, err = st.legacyClient(ctx, clientID, str(res.Item["AppID"]))
	} else {
		c, err = decodeClient(clientID, res.Item)
	}
	if err != nil {
		return portal.Client{}, err
	}
	// Federated credentials are in the client item whatever its layout.
	if c.Federated, err = decodeFederated(c.ApplicationID, res.Item); err != nil {
		return portal.Client{}, err
	}
	return c, nil
}

func layout(item map[string]types.AttributeValue) int {
	n, ok := item["Layout"].(*types.AttributeValueMemberN)
	if !ok {
		return 0
	}
	v, _ := strconv.Atoi(n.Value)
	return v
}

func str(v types.AttributeValue) string {
	if sv, ok := v.(*types.AttributeValueMemberS); ok {
		return sv.Value
	}
	return ""
}

// decodeClient reads a migrated client item. It is decoded by hand, not by
// reflection: it is on the path of every token request.
func decodeClient(clientID string, item map[string]types.AttributeValue) (portal.Client, error) {
	c := portal.Client{ID: clientID, ApplicationID: str(item["AppID"]), OrganisationID: str(item["OrgID"])}
	if l, ok := item["APIs"].(*types.AttributeValueMemberL); ok {
		c.APIs = make([]string, 0, len(l.Value))
		for _, v := range l.Value {
			c.APIs = append(c.APIs, str(v))
		}
	}
	for name, v := range item {
		if id, ok := strings.CutPrefix(name, clientKeyPrefix); ok {
			k, err := decodeClientKey(item, c.ApplicationID, id, v)
			if err != nil {
				return portal.Client{}, err
			}
			c.Keys = append(c.Keys, k)
			continue
		}
		id, ok := strings.CutPrefix(name, clientSecretPrefix)
		if !ok {
			continue
		}
		m, ok := v.(*types.AttributeValueMemberM)
		if !ok {
			return portal.Client{}, fmt.Errorf("client item: %s is no map", name)
		}
		expires, err := time.Parse(time.RFC3339Nano, str(m.Value["Expires"]))
		if err != nil {
			return portal.Client{}, fmt.Errorf("client item: expiry of %s: %w", id, err)
		}
		hash, _ := m.Value["Hash"].(*types.AttributeValueMemberB)
		if hash == nil {
			return portal.Client{}, fmt.Errorf("client item: %s has no hash", id)
		}
		sec := portal.Secret{
			ID: id, ApplicationID: c.ApplicationID, Hint: str(m.Value["Hint"]), Hash: hash.Value,
			PepperVersion: str(m.Value["Pepper"]), ExpiresAt: expires,
		}
		if used := str(item[clientUsedPrefix+id]); used != "" {
			if t, err := time.Parse(time.RFC3339, used); err == nil {
				sec.LastUsedAt = &t
			}
		}
		c.Secrets = append(c.Secrets, sec)
	}
	return c, nil
}

// legacyClient completes a client item written before the client item held
// the secrets: the application, then its secrets, both read consistently.
func (st *Store) legacyClient(ctx context.Context, clientID, appID string) (portal.Client, error) {
	app, err := st.getApplication(ctx, appID, true)
	if err != nil {
		return portal.Client{}, err
	}
	secrets, err := st.secretsOf(ctx, app)
	if err != nil {
		return portal.Client{}, err
	}
	keys, err := st.keysOf(ctx, app)
	if err != nil {
		return portal.Client{}, err
	}
	return portal.Client{ID: clientID, ApplicationID: app.ID, OrganisationID: app.Organisation.ID, APIs: app.APIs, Secrets: secrets, Keys: keys}, nil
}

// secretsOf reads, consistently, the secrets the application's record lists.
func (st *Store) secretsOf(ctx context.Context, app portal.Application) ([]portal.Secret, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(app.Secrets))
	for _, id := range slices.Sorted(maps.Keys(app.Secrets)) {
		keys = append(keys, secretKey(app.ID, id))
	}
	items, err := batchGet[secretItem](ctx, st, keys, true)
	if err != nil {
		return nil, fmt.Errorf("get secrets of %s: %w", app.ID, err)
	}
	out := make([]portal.Secret, 0, len(items))
	for _, it := range items {
		out = append(out, it.domain())
	}
	return out, nil
}

// MarkSecretUsed sets a secret's LastUsedAt to at, in the secret's item and
// its client item, unless it was set less than portal.LastUsedPrecision before at (or
// the secret no longer exists). It reports whether it wrote.
func (st *Store) MarkSecretUsed(ctx context.Context, clientID, appID, secretID string, at time.Time) (bool, error) {
	wrote, err := st.markUsed(ctx, clientID, secretKey(appID, secretID), clientUsedAttr(secretID), at)
	if err != nil {
		return false, fmt.Errorf("mark secret %s used: %w", secretID, err)
	}
	return wrote, nil
}

// markUsed sets LastUsedAt to at on the item at itemKey and usedAttr on the
// client item, unless it was set less than UsedPrecision before at or the
// item no longer exists. The client item's condition names no credential
// entry: IAM counts every attribute a request names (dynamodb:Attributes),
// and the token function may name only the Used# attributes; the
// credential's own item, in the same transaction, fails when it is gone.
func (st *Store) markUsed(ctx context.Context, clientID string, itemKey map[string]types.AttributeValue, usedAttr string, at time.Time) (bool, error) {
	itemUpdate := &types.Update{
		TableName: aws.String(st.table), Key: itemKey,
		UpdateExpression:          aws.String("SET LastUsedAt = :at"),
		ConditionExpression:       aws.String("attribute_exists(PK) AND (attribute_not_exists(LastUsedAt) OR LastUsedAt < :since)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": s(usedAt(at)), ":since": s(usedAt(at.Add(-portal.LastUsedPrecision)))},
	}
	_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: itemUpdate},
		{Update: &types.Update{
			TableName: aws.String(st.table), Key: clientKey(clientID),
			UpdateExpression:          aws.String("SET #used = :at"),
			ConditionExpression:       aws.String("attribute_exists(PK)"),
			ExpressionAttributeNames:  map[string]string{"#used": usedAttr},
			ExpressionAttributeValues: map[string]types.AttributeValue{":at": s(usedAt(at))},
		}},
	}})
	reasons, canceled := canceledReasons(err)
	switch {
	case err == nil:
		return true, nil
	case failedAt(reasons, 0):
		return false, nil
	case canceled && failedAt(reasons, 1):
		// A client item not yet migrated holds no entry for it.
		_, err = st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: itemUpdate.TableName, Key: itemUpdate.Key, UpdateExpression: itemUpdate.UpdateExpression,
			ConditionExpression: itemUpdate.ConditionExpression, ExpressionAttributeValues: itemUpdate.ExpressionAttributeValues,
		})
		if isConditionFailed(err) {
			return false, nil
		}
		if err == nil {
			return true, nil
		}
	}
	return false, err
}
