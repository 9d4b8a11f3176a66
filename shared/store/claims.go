package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// A claim is the item a worker writes before it sends something that must
// go out once (an expiry reminder, a security notice to one recipient): Status is "claimed"
// while a worker holds it (Token, until LeaseUntil, in Unix milliseconds),
// then "sent" or "undeliverable", both final.
const (
	claimClaimed       = "claimed"
	claimSent          = "sent"
	claimUndeliverable = "undeliverable" // SES refused the recipient for good
)

// claimOutcome is what taking a claim found.
type claimOutcome int

const (
	claimTaken claimOutcome = iota // the caller now holds it
	claimFinal                     // sent or undeliverable: nothing to do
	claimHeld                      // another worker's lease is running
)

// claimFields are the attributes every claim item has.
type claimFields struct {
	Status     string     `dynamodbav:"Status"`
	Token      string     `dynamodbav:"Token"`
	ClaimedAt  time.Time  `dynamodbav:"ClaimedAt"`
	LeaseUntil int64      `dynamodbav:"LeaseUntil"`
	SentAt     *time.Time `dynamodbav:"SentAt,omitempty"`
	MessageID  string     `dynamodbav:"MessageID,omitempty"`
	Reason     string     `dynamodbav:"Reason,omitempty"` // SES's refusal, when undeliverable
}

// newClaim is a claim held by token from now until now+lease.
func newClaim(token string, now time.Time, lease time.Duration) claimFields {
	return claimFields{Status: claimClaimed, Token: token, ClaimedAt: now.UTC(), LeaseUntil: now.Add(lease).UnixMilli()}
}

// takeClaim writes item (a claim holding Status "claimed", its Token and
// LeaseUntil) when no worker has claimed it, or when the claim was never
// finished and its lease ended before now (the worker holding it died): one
// conditional write, so of two workers taking over the same stale claim
// only one wins. A claim already held under the same token is taken: a
// retried write whose first attempt succeeded. The lease end is returned
// when another worker holds it.
func (st *Store) takeClaim(ctx context.Context, item map[string]types.AttributeValue, token string, now time.Time) (claimOutcome, time.Time, error) {
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(st.table), Item: item,
		ConditionExpression:      aws.String("attribute_not_exists(PK) OR (#status = :claimed AND LeaseUntil < :now)"),
		ExpressionAttributeNames: map[string]string{"#status": "Status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":claimed": s(claimClaimed), ":now": num(now.UnixMilli()),
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		var old claimFields
		if err := attributevalue.UnmarshalMap(ccf.Item, &old); err != nil {
			return 0, time.Time{}, err
		}
		switch {
		case old.Status == claimSent || old.Status == claimUndeliverable:
			return claimFinal, time.Time{}, nil
		case old.Token == token:
			return claimTaken, time.Time{}, nil
		}
		return claimHeld, time.UnixMilli(old.LeaseUntil), nil
	}
	if err != nil {
		return 0, time.Time{}, err
	}
	return claimTaken, time.Time{}, nil
}

// finishClaim sets the claim at k to status (sent or undeliverable) with
// the attributes set, while token holds it.
func (st *Store) finishClaim(ctx context.Context, k map[string]types.AttributeValue, token, status string, set map[string]types.AttributeValue) error {
	update := "SET #status = :status"
	values := map[string]types.AttributeValue{":status": s(status), ":token": s(token)}
	for name, v := range set {
		update += ", " + name + " = :" + name
		values[":"+name] = v
	}
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(st.table), Key: k,
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("#token = :token"),
		ExpressionAttributeNames:  map[string]string{"#status": "Status", "#token": "Token"},
		ExpressionAttributeValues: values,
	})
	if isConditionFailed(err) {
		return errors.New("the claim was taken over")
	}
	return err
}

// releaseClaim gives the claim at k up at once (its lease ends now), while
// token holds it and it is unfinished, so that the next attempt takes it.
// A claim no longer the token's is left alone.
func (st *Store) releaseClaim(ctx context.Context, k map[string]types.AttributeValue, token string) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(st.table), Key: k,
		UpdateExpression:         aws.String("SET LeaseUntil = :zero"),
		ConditionExpression:      aws.String("#token = :token AND #status = :claimed"),
		ExpressionAttributeNames: map[string]string{"#status": "Status", "#token": "Token"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":zero": num(0), ":token": s(token), ":claimed": s(claimClaimed),
		},
	})
	if isConditionFailed(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("release claim: %w", err)
	}
	return nil
}
