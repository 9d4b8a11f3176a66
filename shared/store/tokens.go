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

	"credportal/shared/audit"
)

// What the token endpoint reads and writes.
//
// Throttling of failed token requests is per (source address, client id) of
// an application, in the client id's partition, and per source address alone
// for client ids that are no application's, which get no record of their own:
//
//	failure count  THROTTLE#<clientId> / IP#<source>#WINDOW#<n>   Failures (ADD), TTL
//	lockout        THROTTLE#<clientId> / IP#<source>#LOCK         LockedUntil, Failures, TTL
//	unknown ids    THROTTLE#IP#<source> / WINDOW#<n>, LOCK        the same
//
// n numbers fixed windows of the failure-counting period since the Unix
// epoch; every item expires through the table's TTL. (Client ids are
// lower-case base32, so no client id's partition is an address's.)

// usedAt formats a LastUsedAt: UTC to the second, so that stored values of
// equal length compare in time order as strings.
func usedAt(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// throttleKey is the key of the record sk of a (clientID, source) pair; an
// empty clientID names the source's unknown client ids.
func throttleKey(clientID, source, sk string) map[string]types.AttributeValue {
	if clientID == "" {
		return key("THROTTLE#IP#"+source, sk)
	}
	return key("THROTTLE#"+clientID, "IP#"+source+"#"+sk)
}

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// LockedUntil returns when the lockout of a (client id, source) pair ends, or
// the zero time when it is not locked at now.
func (st *Store) LockedUntil(ctx context.Context, clientID, source string, now time.Time) (time.Time, error) {
	var it struct {
		LockedUntil int64 `dynamodbav:"LockedUntil"`
	}
	found, err := st.get(ctx, throttleKey(clientID, source, "LOCK"), true, &it)
	if err != nil {
		return time.Time{}, fmt.Errorf("get lockout: %w", err)
	}
	if !found || it.LockedUntil <= now.Unix() {
		return time.Time{}, nil
	}
	return time.Unix(it.LockedUntil, 0).UTC(), nil
}

// AddFailure counts one failed token request of a (client id, source) pair in
// the fixed window of length window that holds now, and returns the window's
// count.
func (st *Store) AddFailure(ctx context.Context, clientID, source string, now time.Time, window time.Duration) (int, error) {
	secs := int64(window / time.Second)
	if secs < 1 {
		secs = 1
	}
	n := now.Unix() / secs
	out, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(st.table),
		Key:                      throttleKey(clientID, source, "WINDOW#"+strconv.FormatInt(n, 10)),
		UpdateExpression:         aws.String("ADD Failures :one SET #ttl = :ttl"),
		ExpressionAttributeNames: map[string]string{"#ttl": "TTL"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one": num(1), ":ttl": num((n + 2) * secs),
		},
		ReturnValues: types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("count token failure: %w", err)
	}
	var got struct {
		Failures int `dynamodbav:"Failures"`
	}
	if err := attributevalue.UnmarshalMap(out.Attributes, &got); err != nil {
		return 0, err
	}
	return got.Failures, nil
}

// Lock locks a (client id, source) pair out until until, unless it is locked
// at now already, and reports whether this call started the lockout. When ev
// is given (the client id is an application's) it is recorded with the
// lockout, atomically: one audit event per lockout.
func (st *Store) Lock(ctx context.Context, clientID, source string, failures int, now, until time.Time, ev *audit.Event) (bool, error) {
	expr, err := expression.NewBuilder().
		WithUpdate(expression.Set(expression.Name("LockedUntil"), expression.Value(until.Unix())).
			Set(expression.Name("Failures"), expression.Value(failures)).
			Set(expression.Name("TTL"), expression.Value(until.Add(time.Hour).Unix()))).
		WithCondition(expression.Or(
			expression.AttributeNotExists(expression.Name("LockedUntil")),
			expression.Name("LockedUntil").LessThanEqual(expression.Value(now.Unix())),
		)).Build()
	if err != nil {
		return false, err
	}
	update := &types.Update{
		TableName: aws.String(st.table), Key: throttleKey(clientID, source, "LOCK"),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}
	if ev == nil {
		_, err = st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: update.TableName, Key: update.Key, UpdateExpression: update.UpdateExpression,
			ConditionExpression: update.ConditionExpression, ExpressionAttributeNames: update.ExpressionAttributeNames,
			ExpressionAttributeValues: update.ExpressionAttributeValues,
		})
		if isConditionFailed(err) {
			return false, nil
		}
	} else {
		var event types.TransactWriteItem
		if event, err = st.eventPut(*ev); err != nil {
			return false, err
		}
		var reasons []string
		reasons, err = st.transact(ctx, types.TransactWriteItem{Update: update}, event)
		if failedAt(reasons, 0) {
			return false, nil
		}
	}
	if err != nil {
		return false, fmt.Errorf("lock client out: %w", err)
	}
	return true, nil
}
