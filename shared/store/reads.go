package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"credportal/shared/audit"
	"credportal/shared/portal"
)

// get reads one item into out; found is false when there is none.
func (st *Store) get(ctx context.Context, k map[string]types.AttributeValue, consistent bool, out any) (bool, error) {
	res, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.table), Key: k, ConsistentRead: aws.Bool(consistent)})
	if err != nil {
		return false, err
	}
	if res.Item == nil {
		return false, nil
	}
	return true, attributevalue.UnmarshalMap(res.Item, out)
}

// one reads the item at k and converts it; a missing item is an error
// wrapping portal.ErrNotFound. what names the item in errors.
func one[I any, T any](ctx context.Context, st *Store, k map[string]types.AttributeValue, consistent bool, what string, conv func(I) T) (T, error) {
	var it I
	found, err := st.get(ctx, k, consistent, &it)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("get %s: %w", what, err)
	}
	if !found {
		var zero T
		return zero, fmt.Errorf("%s: %w", what, portal.ErrNotFound)
	}
	return conv(it), nil
}

// page queries one page of a partition (of the table or an index). The
// cursor may only continue the same partition.
func page[I any, T any](ctx context.Context, st *Store, index, pkAttr, pkValue, skAttr, skPrefix, cursor string, limit int, newestFirst bool, conv func(I) T) (portal.Page[T], error) {
	keyCond := expression.Key(pkAttr).Equal(expression.Value(pkValue))
	if skPrefix != "" {
		keyCond = keyCond.And(expression.Key(skAttr).BeginsWith(skPrefix))
	}
	expr, err := expression.NewBuilder().WithKeyCondition(keyCond).Build()
	if err != nil {
		return portal.Page[T]{}, err
	}
	want := []string{"PK", "SK"}
	if index != "" && pkAttr != "PK" {
		want = append(want, pkAttr, skAttr)
	}
	start, err := decodeCursor(cursor, map[string]string{pkAttr: pkValue}, map[string]string{skAttr: skPrefix}, want...)
	if err != nil {
		return portal.Page[T]{}, err
	}
	in := &dynamodb.QueryInput{
		TableName: aws.String(st.table), KeyConditionExpression: expr.KeyCondition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ExclusiveStartKey: start, Limit: aws.Int32(int32(limit)), ScanIndexForward: aws.Bool(!newestFirst),
	}
	if index != "" {
		in.IndexName = aws.String(index)
	}
	res, err := st.db.Query(ctx, in)
	if err != nil {
		return portal.Page[T]{}, err
	}
	var items []I
	if err := attributevalue.UnmarshalListOfMaps(res.Items, &items); err != nil {
		return portal.Page[T]{}, err
	}
	out := portal.Page[T]{Items: make([]T, 0, len(items)), Next: encodeCursor(res.LastEvaluatedKey)}
	for _, it := range items {
		out.Items = append(out.Items, conv(it))
	}
	return out, nil
}

// all reads every item of a partition, following the query paginator.
func all[I any](ctx context.Context, st *Store, pk, skPrefix string) ([]I, error) {
	expr, err := expression.NewBuilder().WithKeyCondition(
		expression.Key("PK").Equal(expression.Value(pk)).And(expression.Key("SK").BeginsWith(skPrefix)),
	).Build()
	if err != nil {
		return nil, err
	}
	p := dynamodb.NewQueryPaginator(st.db, &dynamodb.QueryInput{
		TableName: aws.String(st.table), KeyConditionExpression: expr.KeyCondition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(), ConsistentRead: aws.Bool(true),
	})
	var out []I
	for p.HasMorePages() {
		res, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		var items []I
		if err := attributevalue.UnmarshalListOfMaps(res.Items, &items); err != nil {
			return nil, err
		}
		out = append(out, items...)
	}
	return out, nil
}

// GetApplication reads one application.
func (st *Store) GetApplication(ctx context.Context, id string) (portal.Application, error) {
	return st.getApplication(ctx, id, false)
}

func (st *Store) getApplication(ctx context.Context, id string, consistent bool) (portal.Application, error) {
	return one(ctx, st, appKey(id), consistent, "application "+id, applicationItem.domain)
}

// batchGet reads the items with the given keys, 100 to a request, retrying
// what DynamoDB leaves unprocessed; items that do not exist are skipped.
func batchGet[I any](ctx context.Context, st *Store, keys []map[string]types.AttributeValue, consistent bool) ([]I, error) {
	var out []I
	for start := 0; start < len(keys); start += 100 {
		request := map[string]types.KeysAndAttributes{st.table: {Keys: keys[start:min(start+100, len(keys))], ConsistentRead: aws.Bool(consistent)}}
		for attempt := 0; len(request) > 0; attempt++ {
			if attempt > 0 {
				if err := backoff(ctx, attempt); err != nil {
					return nil, err
				}
			}
			res, err := st.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: request})
			if err != nil {
				return nil, err
			}
			var items []I
			if err := attributevalue.UnmarshalListOfMaps(res.Responses[st.table], &items); err != nil {
				return nil, err
			}
			out = append(out, items...)
			request = res.UnprocessedKeys
		}
	}
	return out, nil
}

// GetApplications reads the applications with the given ids, in that order,
// skipping any that no longer exist.
func (st *Store) GetApplications(ctx context.Context, ids []string) ([]portal.Application, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	for _, id := range ids {
		keys = append(keys, appKey(id))
	}
	items, err := batchGet[applicationItem](ctx, st, keys, false)
	if err != nil {
		return nil, fmt.Errorf("batch get applications: %w", err)
	}
	byID := make(map[string]portal.Application, len(items))
	for _, it := range items {
		byID[it.ID] = it.domain()
	}
	out := make([]portal.Application, 0, len(byID))
	for _, id := range ids {
		if a, ok := byID[id]; ok {
			out = append(out, a)
		}
	}
	return out, nil
}

// GetDesignations reads, consistently, the designations of email on the
// given applications: those that still exist.
func (st *Store) GetDesignations(ctx context.Context, email string, appIDs []string) ([]portal.Designation, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(appIDs))
	for _, id := range appIDs {
		keys = append(keys, designationKey(id, email))
	}
	items, err := batchGet[designationItem](ctx, st, keys, true)
	if err != nil {
		return nil, fmt.Errorf("batch get designations: %w", err)
	}
	out := make([]portal.Designation, 0, len(items))
	for _, it := range items {
		out = append(out, it.domain())
	}
	return out, nil
}

// ListApplications lists every application, oldest first.
func (st *Store) ListApplications(ctx context.Context, cursor string, limit int) (portal.Page[portal.Application], error) {
	p, err := page(ctx, st, indexGSI1, "GSI1PK", "APPS", "GSI1SK", "APP#", cursor, limit, false, applicationItem.domain)
	if err != nil {
		return p, fmt.Errorf("list applications: %w", err)
	}
	return p, nil
}

// GetDesignation reads the designation of email on an application.
func (st *Store) GetDesignation(ctx context.Context, appID, email string) (portal.Designation, error) {
	return one(ctx, st, designationKey(appID, email), true, "designation on "+appID, designationItem.domain)
}

// ListDesignations lists every designation of an application.
func (st *Store) ListDesignations(ctx context.Context, appID string) ([]portal.Designation, error) {
	items, err := all[designationItem](ctx, st, "APP#"+appID, "DESIG#")
	if err != nil {
		return nil, fmt.Errorf("list designations of %s: %w", appID, err)
	}
	out := make([]portal.Designation, 0, len(items))
	for _, it := range items {
		out = append(out, it.domain())
	}
	return out, nil
}

// ListDesignationsOf lists the designations of one email, across applications.
func (st *Store) ListDesignationsOf(ctx context.Context, email, cursor string, limit int) (portal.Page[portal.Designation], error) {
	p, err := page(ctx, st, indexGSI1, "GSI1PK", "USER#"+email, "GSI1SK", "APP#", cursor, limit, false, designationItem.domain)
	if err != nil {
		return p, fmt.Errorf("list designations of user: %w", err)
	}
	return p, nil
}

// GetSecret reads one secret of an application.
func (st *Store) GetSecret(ctx context.Context, appID, secretID string) (portal.Secret, error) {
	return one(ctx, st, secretKey(appID, secretID), true, "secret "+secretID, secretItem.domain)
}

// ListSecrets lists an application's secrets, newest first.
func (st *Store) ListSecrets(ctx context.Context, appID, cursor string, limit int) (portal.Page[portal.Secret], error) {
	p, err := page(ctx, st, "", "PK", "APP#"+appID, "SK", "SECRET#", cursor, limit, true, secretItem.domain)
	if err != nil {
		return p, fmt.Errorf("list secrets of %s: %w", appID, err)
	}
	return p, nil
}

// ListEvents lists an application's audit events, newest first.
func (st *Store) ListEvents(ctx context.Context, appID, cursor string, limit int) (portal.Page[audit.Event], error) {
	p, err := page(ctx, st, "", "PK", "AUDIT#"+appID, "SK", "EVENT#", cursor, limit, true, eventItem.domain)
	if err != nil {
		return p, fmt.Errorf("list events of %s: %w", appID, err)
	}
	return p, nil
}
