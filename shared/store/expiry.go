package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"credportal/shared/portal"
	"credportal/shared/reminder"
)

// reminderMark is the attribute a secret or key records its finished
// reminder threshold in (see reminder.Expiring), with the item's type.
type reminderMark struct {
	Type       string `dynamodbav:"Type"`
	Reminded   *int   `dynamodbav:"Reminded,omitempty"`
	RemindedTo string `dynamodbav:"RemindedTo,omitempty"`
}

var _ reminder.Store = (*Store)(nil)

// expiryKey is the ByExpiry sort key of a credential: its expiry, then its
// application and id, a key's id behind "key#" so that it never equals a
// secret's.
func expiryKey(kind reminder.Kind, appID, id string, expiresAt time.Time) string {
	k := expiresAt.UTC().Format(time.RFC3339) + "#" + appID + "#"
	if kind == reminder.KindKey {
		k += "key#"
	}
	return k + id
}

// ExpiringOn lists the secrets and keys whose expiry falls on day's UTC
// date: one partition of the ByExpiry index, read in full. Deleted ones are
// gone from it with their item.
func (st *Store) ExpiringOn(ctx context.Context, day time.Time) ([]reminder.Expiring, error) {
	expr, err := expression.NewBuilder().WithKeyCondition(
		expression.Key("ExpiryDay").Equal(expression.Value(expiryDay(day))),
	).Build()
	if err != nil {
		return nil, err
	}
	p := dynamodb.NewQueryPaginator(st.db, &dynamodb.QueryInput{
		TableName: aws.String(st.table), IndexName: aws.String(indexByExpiry),
		KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	var out []reminder.Expiring
	for p.HasMorePages() {
		res, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read credentials expiring on %s: %w", expiryDay(day), err)
		}
		for _, av := range res.Items {
			var mark reminderMark
			if err := attributevalue.UnmarshalMap(av, &mark); err != nil {
				return nil, err
			}
			var c reminder.Credential
			switch mark.Type {
			case typeSecret:
				var it secretItem
				if err := attributevalue.UnmarshalMap(av, &it); err != nil {
					return nil, err
				}
				c = reminder.SecretCredential(it.domain())
			case typeKey:
				var it keyItem
				if err := attributevalue.UnmarshalMap(av, &it); err != nil {
					return nil, err
				}
				c = reminder.KeyCredential(it.domain())
			default:
				return nil, fmt.Errorf("read credentials expiring on %s: an item of type %q is on the index", expiryDay(day), mark.Type)
			}
			out = append(out, reminder.Expiring{Credential: c, Reminded: mark.Reminded, RemindedTo: mark.RemindedTo})
		}
	}
	return out, nil
}

// GetSecrets reads the given secrets of an application (strongly
// consistent), skipping any that no longer exist.
func (st *Store) GetSecrets(ctx context.Context, appID string, ids []string) ([]portal.Secret, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	for _, id := range ids {
		keys = append(keys, secretKey(appID, id))
	}
	items, err := batchGet[secretItem](ctx, st, keys, true)
	if err != nil {
		return nil, fmt.Errorf("batch get secrets of %s: %w", appID, err)
	}
	out := make([]portal.Secret, 0, len(items))
	for _, it := range items {
		out = append(out, it.domain())
	}
	return out, nil
}

// GetKeys reads the given keys of an application (strongly consistent),
// skipping any that no longer exist.
func (st *Store) GetKeys(ctx context.Context, appID string, ids []string) ([]portal.Key, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	for _, id := range ids {
		keys = append(keys, keyKey(appID, id))
	}
	items, err := batchGet[keyItem](ctx, st, keys, true)
	if err != nil {
		return nil, fmt.Errorf("get keys of %s: %w", appID, err)
	}
	out := make([]portal.Key, 0, len(items))
	for _, it := range items {
		out = append(out, it.domain())
	}
	return out, nil
}

// MarkReminded records on a secret or key that the reminders of threshold
// all went out to recipients (a reminder.RecipientSet), unless it records a
// more urgent threshold already, or this one for the same recipients. One
// deleted meanwhile is not brought back.
func (st *Store) MarkReminded(ctx context.Context, kind reminder.Kind, appID, id string, threshold int, recipients string) error {
	k := secretKey(appID, id)
	if kind == reminder.KindKey {
		k = keyKey(appID, id)
	}
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(st.table), Key: k,
		UpdateExpression: aws.String("SET Reminded = :t, RemindedTo = :r"),
		ConditionExpression: aws.String("attribute_exists(PK) AND (attribute_not_exists(Reminded) OR Reminded > :t OR " +
			"(Reminded = :t AND (attribute_not_exists(RemindedTo) OR RemindedTo <> :r)))"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":t": &types.AttributeValueMemberN{Value: strconv.Itoa(threshold)},
			":r": &types.AttributeValueMemberS{Value: recipients},
		},
	})
	if isConditionFailed(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mark %s %s reminded: %w", kind, id, err)
	}
	return nil
}
