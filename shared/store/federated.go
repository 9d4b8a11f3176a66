package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"credportal/shared/audit"
	"credportal/shared/portal"
)

// Federated credentials are kept as:
//
//	APP#<appId> / FEDCRED#<credentialId>   the credential (federatedItem)
//	APP#<appId> / APP, FederatedCount       how many the application holds,
//	                                        absent before its first one
//	CLIENT#<clientId> / CLIENT:
//	  Federated#<credentialId>              {Issuer, Subject, Audience}
//	  FederatedUsed#<credentialId>          its LastUsedAt
//
// The client item's entries are written in the transactions that add and
// remove a credential, whatever the item's Layout: a client item never held
// a federated credential before they existed, so no item needs migrating.

const typeFederated = "federated"

// Attribute names of the client item.
const (
	clientFederatedPrefix     = "Federated#"
	clientFederatedUsedPrefix = "FederatedUsed#"
)

func federatedKey(appID, credentialID string) map[string]types.AttributeValue {
	return key("APP#"+appID, "FEDCRED#"+credentialID)
}

type federatedItem struct {
	PK         string     `dynamodbav:"PK"`
	SK         string     `dynamodbav:"SK"`
	Type       string     `dynamodbav:"Type"`
	ID         string     `dynamodbav:"ID"`
	AppID      string     `dynamodbav:"AppID"`
	Name       string     `dynamodbav:"Name"`
	Issuer     string     `dynamodbav:"Issuer"`
	Subject    string     `dynamodbav:"Subject"`
	Audience   string     `dynamodbav:"Audience"`
	CreatedAt  time.Time  `dynamodbav:"CreatedAt"`
	CreatedBy  string     `dynamodbav:"CreatedBy"`
	LastUsedAt *time.Time `dynamodbav:"LastUsedAt,omitempty"`
}

func newFederatedItem(fc portal.FederatedCredential) federatedItem {
	return federatedItem{
		PK: "APP#" + fc.ApplicationID, SK: "FEDCRED#" + fc.ID, Type: typeFederated, ID: fc.ID, AppID: fc.ApplicationID,
		Name: fc.Name, Issuer: fc.Issuer, Subject: fc.Subject, Audience: fc.Audience,
		CreatedAt: fc.CreatedAt, CreatedBy: fc.CreatedBy, LastUsedAt: fc.LastUsedAt,
	}
}

func (i federatedItem) domain() portal.FederatedCredential {
	return portal.FederatedCredential{
		ID: i.ID, ApplicationID: i.AppID, Name: i.Name, Issuer: i.Issuer, Subject: i.Subject, Audience: i.Audience,
		CreatedAt: i.CreatedAt, CreatedBy: i.CreatedBy, LastUsedAt: i.LastUsedAt,
	}
}

// clientFederatedValue is a credential's entry in its client item.
func clientFederatedValue(fc portal.FederatedCredential) types.AttributeValue {
	return &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"Issuer": s(fc.Issuer), "Subject": s(fc.Subject), "Audience": s(fc.Audience),
	}}
}

// decodeFederated reads the federated credentials of a client item.
func decodeFederated(appID string, item map[string]types.AttributeValue) ([]portal.FederatedCredential, error) {
	var out []portal.FederatedCredential
	for name, v := range item {
		id, ok := strings.CutPrefix(name, clientFederatedPrefix)
		if !ok {
			continue
		}
		m, ok := v.(*types.AttributeValueMemberM)
		if !ok {
			return nil, fmt.Errorf("client item: %s is no map", name)
		}
		fc := portal.FederatedCredential{
			ID: id, ApplicationID: appID, Issuer: str(m.Value["Issuer"]), Subject: str(m.Value["Subject"]), Audience: str(m.Value["Audience"]),
		}
		if used := str(item[clientFederatedUsedPrefix+id]); used != "" {
			if t, err := time.Parse(time.RFC3339, used); err == nil {
				fc.LastUsedAt = &t
			}
		}
		out = append(out, fc)
	}
	return out, nil
}

// ListFederatedCredentials lists an application's federated credentials,
// oldest first.
func (st *Store) ListFederatedCredentials(ctx context.Context, appID string) ([]portal.FederatedCredential, error) {
	items, err := all[federatedItem](ctx, st, "APP#"+appID, "FEDCRED#")
	if err != nil {
		return nil, fmt.Errorf("list federated credentials of %s: %w", appID, err)
	}
	out := make([]portal.FederatedCredential, 0, len(items))
	for _, it := range items {
		out = append(out, it.domain())
	}
	return out, nil
}

// GetFederatedCredential reads one federated credential.
func (st *Store) GetFederatedCredential(ctx context.Context, appID, credentialID string) (portal.FederatedCredential, error) {
	var it federatedItem
	found, err := st.get(ctx, federatedKey(appID, credentialID), true, &it)
	if err != nil {
		return portal.FederatedCredential{}, fmt.Errorf("get federated credential %s: %w", credentialID, err)
	}
	if !found {
		return portal.FederatedCredential{}, notFound("federated credential", credentialID)
	}
	return it.domain(), nil
}

// AddFederatedCredential stores fc, its client item entry, ev and the
// change's security notice in one transaction, conditional on the application holding fewer than limit
// credentials: concurrent creates cannot both take the last place.
// by is the designation the change is made under (nil for an admin),
// checked in the same transaction.
func (st *Store) AddFederatedCredential(ctx context.Context, fc portal.FederatedCredential, limit int, ev audit.Event, by *portal.Designation) error {
	item, err := attributevalue.MarshalMap(newFederatedItem(fc))
	if err != nil {
		return err
	}
	recorded, err := st.changePuts(portal.Notice{Event: ev, Federated: &fc})
	if err != nil {
		return err
	}
	app, err := st.getApplication(ctx, fc.ApplicationID, true) // for its client id
	if err != nil {
		return err
	}
	reasons, err := st.transactUnder(ctx, by, append([]types.TransactWriteItem{
		{Update: &types.Update{
			TableName: aws.String(st.table), Key: appKey(fc.ApplicationID),
			UpdateExpression:          aws.String("ADD FederatedCount :one"),
			ConditionExpression:       aws.String("attribute_exists(PK) AND (attribute_not_exists(FederatedCount) OR FederatedCount < :limit)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":limit": num(int64(limit))},
		}},
		{Put: &types.Put{TableName: aws.String(st.table), Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		{Update: &types.Update{
			TableName: aws.String(st.table), Key: clientKey(app.ClientID),
			UpdateExpression:          aws.String("SET #entry = :entry"),
			ConditionExpression:       aws.String("attribute_exists(PK)"),
			ExpressionAttributeNames:  map[string]string{"#entry": clientFederatedPrefix + fc.ID},
			ExpressionAttributeValues: map[string]types.AttributeValue{":entry": clientFederatedValue(fc)},
		}},
	}, recorded...)...)
	if errors.Is(err, portal.ErrGrantChanged) {
		return err
	}
	if failedAt(reasons, 0) {
		return portal.ErrFederatedLimit
	}
	if err != nil {
		return fmt.Errorf("add federated credential: %w", err)
	}
	return nil
}

// RemoveFederatedCredential deletes a federated credential, from its client
// item too, and records ev and the change's security notice, atomically.
func (st *Store) RemoveFederatedCredential(ctx context.Context, fc portal.FederatedCredential, ev audit.Event, by *portal.Designation) error {
	appID, credentialID := fc.ApplicationID, fc.ID
	return st.removeCredential(ctx, appID, "federated credential", credentialID, portal.Notice{Event: ev, Federated: &fc}, by, func(app portal.Application) []types.TransactWriteItem {
		return []types.TransactWriteItem{
			{Delete: &types.Delete{TableName: aws.String(st.table), Key: federatedKey(appID, credentialID), ConditionExpression: aws.String("attribute_exists(PK)")}},
			{Update: &types.Update{
				TableName: aws.String(st.table), Key: appKey(appID),
				UpdateExpression:          aws.String("ADD FederatedCount :minus"),
				ConditionExpression:       aws.String("attribute_exists(PK)"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":minus": num(-1)},
			}},
			{Update: &types.Update{
				TableName: aws.String(st.table), Key: clientKey(app.ClientID),
				UpdateExpression:         aws.String("REMOVE #entry, #used"),
				ConditionExpression:      aws.String("attribute_exists(PK)"),
				ExpressionAttributeNames: map[string]string{"#entry": clientFederatedPrefix + credentialID, "#used": clientFederatedUsedPrefix + credentialID},
			}},
		}
	})
}

// MarkFederatedUsed sets a federated credential's LastUsedAt to at, in its
// item and its client item, unless it was set less than portal.LastUsedPrecision before
// at (or the credential no longer exists). It reports whether it wrote.
func (st *Store) MarkFederatedUsed(ctx context.Context, clientID, appID, credentialID string, at time.Time) (bool, error) {
	_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		types.TransactWriteItem{Update: &types.Update{
			TableName: aws.String(st.table), Key: federatedKey(appID, credentialID),
			UpdateExpression:          aws.String("SET LastUsedAt = :at"),
			ConditionExpression:       aws.String("attribute_exists(PK) AND (attribute_not_exists(LastUsedAt) OR LastUsedAt < :since)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":at": s(usedAt(at)), ":since": s(usedAt(at.Add(-portal.LastUsedPrecision)))},
		}},
		types.TransactWriteItem{Update: &types.Update{
			TableName: aws.String(st.table), Key: clientKey(clientID),
			UpdateExpression:          aws.String("SET #used = :at"),
			ConditionExpression:       aws.String("attribute_exists(PK)"),
			ExpressionAttributeNames:  map[string]string{"#used": clientFederatedUsedPrefix + credentialID},
			ExpressionAttributeValues: map[string]types.AttributeValue{":at": s(usedAt(at))},
		}},
	}})
	if _, canceled := canceledReasons(err); canceled {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mark federated credential %s used: %w", credentialID, err)
	}
	return true, nil
}

var _ portal.FederatedStore = (*Store)(nil)
