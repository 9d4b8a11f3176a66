// Package store keeps the portal's records in one DynamoDB table. Item types
// are private to it; callers see the domain types of shared/portal.
//
// Layout (PK / SK; GSI1PK / GSI1SK where set):
//
//	organisation  ORG#<id> / ORG                  ORGS / ORG#<id>
//	application   APP#<id> / APP                  APPS / APP#<id>
//	client id     CLIENT#<clientId> / CLIENT      (kept forever: never reused; holds
//	                                               what the token endpoint needs, see clients.go)
//	app name      ORG#<orgId> / APPNAME#<name>    (unique within an organisation)
//	designation   APP#<id> / DESIG#<email>        USER#<email> / APP#<id>
//	secret        APP#<id> / SECRET#<id>          ByExpiry: ExpiryDay / ExpiryKey
//	key           APP#<id> / KEY#<id>             ByExpiry: ExpiryDay / ExpiryKey (see keys.go)
//	reminder      REMINDER#<secretId> or REMINDER#KEY#<keyId> / <threshold>#<recipient>  (TTL; see reminders.go)
//	secret hash   HASH#<hex of the secret's Hash> / HASH  (kept after the secret: a tombstone; see leaks.go)
//	audit event   AUDIT#<appId> / EVENT#<id>
//	notice        OUTBOX / <eventId>                (a change's security notice, until delivered; see outbox.go)
//	notice claim  OUTBOX#<eventId> / TO#<recipient> (TTL; see outbox.go)
//	token failures THROTTLE#<clientId> / IP#<source>#WINDOW#<n>  (TTL; see tokens.go)
//	token lockout THROTTLE#<clientId> / IP#<source>#LOCK          (TTL; see tokens.go)
//	unknown ids   THROTTLE#IP#<source> / WINDOW#<n>, LOCK         (TTL; see tokens.go)
package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"credportal/shared/portal"
)

// DynamoDB is the part of the DynamoDB client the store uses.
type DynamoDB interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

var _ DynamoDB = (*dynamodb.Client)(nil)

// Store is the DynamoDB implementation of the portal's persistence.
type Store struct {
	db    DynamoDB
	table string
}

var _ portal.Store = (*Store)(nil)

// New returns a store over the named table.
func New(db DynamoDB, table string) *Store { return &Store{db: db, table: table} }

// Index names, as template.yaml declares them.
const (
	indexGSI1     = "GSI1"
	indexByExpiry = "ByExpiry"
)

// Item type tags.
const (
	typeOrganisation = "organisation"
	typeApplication  = "application"
	typeClient       = "client"
	typeAppName      = "appname"
	typeDesignation  = "designation"
	typeSecret       = "secret"
	typeSecretHash   = "secrethash"
	typeEvent        = "event"
)

// auditRetention is how long audit events are kept before TTL removes them.
const auditRetention = 400 * 24 * time.Hour

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"PK": s(pk), "SK": s(sk)}
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func orgKey(id string) map[string]types.AttributeValue    { return key("ORG#"+id, "ORG") }
func appKey(id string) map[string]types.AttributeValue    { return key("APP#"+id, "APP") }
func clientKey(id string) map[string]types.AttributeValue { return key("CLIENT#"+id, "CLIENT") }
func appNameKey(orgID, name string) map[string]types.AttributeValue {
	return key("ORG#"+orgID, "APPNAME#"+name)
}
func designationKey(appID, email string) map[string]types.AttributeValue {
	return key("APP#"+appID, "DESIG#"+email)
}
func secretKey(appID, secretID string) map[string]types.AttributeValue {
	return key("APP#"+appID, "SECRET#"+secretID)
}

// encodeCursor makes an opaque cursor of a query's LastEvaluatedKey; "" at
// the end of the results.
func encodeCursor(lek map[string]types.AttributeValue) string {
	if len(lek) == 0 {
		return ""
	}
	plain := make(map[string]string, len(lek))
	for k, v := range lek {
		if sv, ok := v.(*types.AttributeValueMemberS); ok {
			plain[k] = sv.Value
		}
	}
	raw, _ := json.Marshal(plain)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// decodeCursor reads a cursor back, checking that its fixed attributes (the
// partition being queried) are what the caller queries, that the sort keys
// start as the query's do, and that no key is empty: a cursor can never lead
// into another partition, and DynamoDB is never handed a start key it
// refuses.
func decodeCursor(cursor string, fixed, prefixes map[string]string, want ...string) (map[string]types.AttributeValue, error) {
	if cursor == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(raw) > 2048 {
		return nil, portal.ErrBadCursor
	}
	var plain map[string]string
	if err := json.Unmarshal(raw, &plain); err != nil {
		return nil, portal.ErrBadCursor
	}
	for k, v := range fixed {
		if plain[k] != v {
			return nil, portal.ErrBadCursor
		}
	}
	if len(plain) != len(want) {
		return nil, portal.ErrBadCursor
	}
	out := make(map[string]types.AttributeValue, len(plain))
	for _, k := range want {
		v, ok := plain[k]
		if !ok || v == "" || !strings.HasPrefix(v, prefixes[k]) {
			return nil, portal.ErrBadCursor
		}
		out[k] = s(v)
	}
	return out, nil
}

// canceledReasons returns the per-item codes of a canceled transaction.
func canceledReasons(err error) ([]string, bool) {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil, false
	}
	codes := make([]string, len(tce.CancellationReasons))
	for i, r := range tce.CancellationReasons {
		codes[i] = aws.ToString(r.Code)
	}
	return codes, true
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

func notFound(what, id string) error {
	return fmt.Errorf("%s %s: %w", what, id, portal.ErrNotFound)
}
