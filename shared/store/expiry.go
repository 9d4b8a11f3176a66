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

// reminderMark is the attribute a secret records its finished reminder
// threshold in (see reminder.Expiring).
type reminderMark struct {
	Reminded   *int   `dynamodbav:"Reminded,omitempty"`
	RemindedTo string `dynamodbav:"RemindedTo,omitempty"`
}

var _ reminder.Store = (*Store)(nil)

// ExpiringOn lists the secrets whose expiry falls on day's UTC date: one
// partition of the ByExpiry index, read in full. Deleted secrets are gone
// from it with their item.
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
			return nil, fmt.Errorf("read secrets expiring on %s: %w", expiryDay(day), err)
		}
		for _, av := range res.Items {
			var (
				it   secretItem
				mark reminderMark
			)
			if err := attributevalue.UnmarshalMap(av, &it); err != nil {
				return nil, err
			}
			if err := attributevalue.UnmarshalMap(av, &mark); err != nil {
				return nil, err
			}
			out = append(out, reminder.Expiring{Secret: it.domain(), Reminded: mark.Reminded, RemindedTo: mark.RemindedTo})
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

// MarkReminded records on a secret that the reminders of threshold all went
// out to recipients (a reminder.RecipientSet), unless it records a more
// urgent threshold already, or this one for the same recipients. A secret
// deleted meanwhile is not brought back.
func (st *Store) MarkReminded(ctx context.Context, appID, secretID string, threshold int, recipients string) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(st.table), Key: secretKey(appID, secretID),
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
		return fmt.Errorf("mark secret %s reminded: %w", secretID, err)
	}
	return nil
}
