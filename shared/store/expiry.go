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
	var out []portal.Secret
	for start := 0; start < len(ids); start += 100 {
		end := min(start+100, len(ids))
		keys := make([]map[string]types.AttributeValue, 0, end-start)
		for _, id := range ids[start:end] {
			keys = append(keys, secretKey(appID, id))
		}
		request := map[string]types.KeysAndAttributes{st.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
		for attempt := 0; len(request) > 0; attempt++ {
			if attempt > 0 {
				if err := backoff(ctx, attempt); err != nil {
					return nil, err
				}
			}
			res, err := st.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: request})
			if err != nil {
				return nil, fmt.Errorf("batch get secrets of %s: %w", appID, err)
			}
			var items []secretItem
			if err := attributevalue.UnmarshalListOfMaps(res.Responses[st.table], &items); err != nil {
				return nil, err
			}
			for _, it := range items {
				out = append(out, it.domain())
			}
			request = res.UnprocessedKeys
		}
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
