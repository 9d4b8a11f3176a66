package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"credportal/shared/audit"
	"credportal/shared/portal"
)

type nameItem struct {
	PK    string `dynamodbav:"PK"`
	SK    string `dynamodbav:"SK"`
	Type  string `dynamodbav:"Type"`
	RefID string `dynamodbav:"RefID"`
}

// nameKey folds a name for uniqueness: case and surrounding space ignored.
func nameKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

func put(table string, item any, condition string) (types.TransactWriteItem, error) {
	av, err := attributevalue.MarshalMap(item)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	p := &types.Put{TableName: aws.String(table), Item: av}
	if condition != "" {
		p.ConditionExpression = aws.String(condition)
	}
	return types.TransactWriteItem{Put: p}, nil
}

// transact writes items in one transaction. One canceled by a conflict with
// another transaction or write on the same items (not by a condition) is
// tried again, as DynamoDB advises; the codes of a final cancellation are
// returned with its error.
func (st *Store) transact(ctx context.Context, items ...types.TransactWriteItem) ([]string, error) {
	for attempt := 1; ; attempt++ {
		_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		reasons, canceled := canceledReasons(err)
		if !canceled {
			return nil, err
		}
		if !slices.Contains(reasons, "TransactionConflict") || slices.Contains(reasons, "ConditionalCheckFailed") || attempt == maxAttempts {
			return reasons, err
		}
		if err := backoff(ctx, attempt); err != nil {
			return reasons, err
		}
	}
}

func failedAt(reasons []string, i int) bool {
	return i < len(reasons) && reasons[i] == "ConditionalCheckFailed"
}

var _ portal.AdminStore = (*Store)(nil)

// CreateOrganisation stores a new organisation; names are unique.
func (st *Store) CreateOrganisation(ctx context.Context, o portal.Organisation) error {
	org, err := put(st.table, newOrganisationItem(o), "attribute_not_exists(PK)")
	if err != nil {
		return err
	}
	name, err := put(st.table, nameItem{PK: "ORGNAME#" + nameKey(o.Name), SK: "ORGNAME", Type: "orgname", RefID: o.ID}, "attribute_not_exists(PK)")
	if err != nil {
		return err
	}
	reasons, err := st.transact(ctx, org, name)
	if failedAt(reasons, 1) {
		return portal.ErrDuplicateOrganisation
	}
	if err != nil {
		return fmt.Errorf("create organisation: %w", err)
	}
	return nil
}

// GetOrganisation reads one organisation.
func (st *Store) GetOrganisation(ctx context.Context, id string) (portal.Organisation, error) {
	return one(ctx, st, orgKey(id), true, "organisation "+id, organisationItem.domain)
}

// ListOrganisations lists organisations, oldest first.
func (st *Store) ListOrganisations(ctx context.Context, cursor string, limit int) (portal.Page[portal.Organisation], error) {
	p, err := page(ctx, st, indexGSI1, "GSI1PK", "ORGS", "GSI1SK", "ORG#", cursor, limit, false, organisationItem.domain)
	if err != nil {
		return p, fmt.Errorf("list organisations: %w", err)
	}
	return p, nil
}

// CreateApplication stores a new application with its client id, which stays
// reserved for ever, and its audit event. A taken client id gives
// portal.ErrClientIDTaken; a name the organisation uses already, a conflict.
func (st *Store) CreateApplication(ctx context.Context, a portal.Application, ev audit.Event) error {
	app, err := put(st.table, newApplicationItem(a), "attribute_not_exists(PK)")
	if err != nil {
		return err
	}
	client, err := put(st.table, newClientItem(a), "attribute_not_exists(PK)")
	if err != nil {
		return err
	}
	name, err := put(st.table, nameItem{PK: "ORG#" + a.Organisation.ID, SK: "APPNAME#" + nameKey(a.Name), Type: typeAppName, RefID: a.ID}, "attribute_not_exists(PK)")
	if err != nil {
		return err
	}
	event, err := st.eventPut(ev)
	if err != nil {
		return err
	}
	reasons, err := st.transact(ctx, app, client, name, event)
	switch {
	case failedAt(reasons, 1):
		return portal.ErrClientIDTaken
	case failedAt(reasons, 2):
		return portal.ErrDuplicateApplication
	case err != nil:
		return fmt.Errorf("create application: %w", err)
	}
	return nil
}

// UpdateApplication changes an application's name and APIs, keeping names
// unique within its organisation, and records ev. It applies only while the
// application still has before's name and APIs: a concurrent change gives
// portal.ErrConcurrentUpdate rather than being overwritten (or orphaning a name).
func (st *Store) UpdateApplication(ctx context.Context, before portal.Application, name string, apis []string, ev audit.Event) error {
	beforeAPIs := before.APIs
	if beforeAPIs == nil {
		beforeAPIs = []string{}
	}
	upd, err := expression.NewBuilder().
		WithUpdate(expression.Set(expression.Name("Name"), expression.Value(name)).Set(expression.Name("APIs"), expression.Value(apis))).
		WithCondition(expression.AttributeExists(expression.Name("PK")).
			And(expression.Name("Name").Equal(expression.Value(before.Name))).
			And(expression.Name("APIs").Equal(expression.Value(beforeAPIs)))).Build()
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{{Update: &types.Update{
		TableName: aws.String(st.table), Key: appKey(before.ID), UpdateExpression: upd.Update(),
		ConditionExpression: upd.Condition(), ExpressionAttributeNames: upd.Names(), ExpressionAttributeValues: upd.Values(),
	}}, {Update: &types.Update{
		// The token endpoint grants the APIs its client item names.
		TableName: aws.String(st.table), Key: clientKey(before.ClientID),
		UpdateExpression: aws.String("SET APIs = :apis"), ConditionExpression: aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":apis": stringList(apis)},
	}}}
	renamed := nameKey(name) != nameKey(before.Name)
	if renamed {
		newName, err := put(st.table, nameItem{PK: "ORG#" + before.Organisation.ID, SK: "APPNAME#" + nameKey(name), Type: typeAppName, RefID: before.ID}, "attribute_not_exists(PK)")
		if err != nil {
			return err
		}
		items = append(items, newName, types.TransactWriteItem{Delete: &types.Delete{
			TableName: aws.String(st.table), Key: appNameKey(before.Organisation.ID, nameKey(before.Name)),
		}})
	}
	event, err := st.eventPut(ev)
	if err != nil {
		return err
	}
	items = append(items, event)
	reasons, err := st.transact(ctx, items...)
	switch {
	case failedAt(reasons, 0):
		if _, err := st.getApplication(ctx, before.ID, true); err != nil {
			return err
		}
		return portal.ErrConcurrentUpdate
	case renamed && failedAt(reasons, 2):
		return portal.ErrDuplicateApplication
	case err != nil:
		return fmt.Errorf("update application %s: %w", before.ID, err)
	}
	return nil
}

// ApplicationByClientID finds the application a client id was issued to.
func (st *Store) ApplicationByClientID(ctx context.Context, clientID string) (portal.Application, error) {
	client, err := one(ctx, st, clientKey(clientID), false, "client "+clientID, func(it clientItem) string { return it.AppID })
	if err != nil {
		return portal.Application{}, err
	}
	return st.GetApplication(ctx, client)
}

// PutDesignation creates the designation of an email on an application, or
// changes its role, and records ev, with the notice telling the person. The
// application must exist. A role change keeps the designation's binding:
// only removing the designation ends it.
func (st *Store) PutDesignation(ctx context.Context, d portal.Designation, ev audit.Event) error {
	it := newDesignationItem(d)
	upd, err := expression.NewBuilder().WithUpdate(
		expression.Set(expression.Name("GSI1PK"), expression.Value(it.GSI1PK)).
			Set(expression.Name("GSI1SK"), expression.Value(it.GSI1SK)).
			Set(expression.Name("Type"), expression.Value(it.Type)).
			Set(expression.Name("AppID"), expression.Value(it.AppID)).
			Set(expression.Name("Email"), expression.Value(it.Email)).
			Set(expression.Name("Role"), expression.Value(it.Role)).
			Set(expression.Name("CreatedAt"), expression.Value(it.CreatedAt)).
			Set(expression.Name("CreatedBy"), expression.Value(it.CreatedBy))).Build()
	if err != nil {
		return err
	}
	desig := types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(st.table), Key: designationKey(d.ApplicationID, d.Email), UpdateExpression: upd.Update(),
		ExpressionAttributeNames: upd.Names(), ExpressionAttributeValues: upd.Values(),
	}}
	// The person designated is told, through the outbox, in the same
	// transaction.
	puts, err := st.changePuts(portal.Notice{Event: ev, Designation: &d})
	if err != nil {
		return err
	}
	check := types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: aws.String(st.table), Key: appKey(d.ApplicationID), ConditionExpression: aws.String("attribute_exists(PK)"),
	}}
	reasons, err := st.transact(ctx, append([]types.TransactWriteItem{check, desig}, puts...)...)
	if failedAt(reasons, 0) {
		return notFound("application", d.ApplicationID)
	}
	if err != nil {
		return fmt.Errorf("put designation: %w", err)
	}
	return nil
}

// DeleteDesignation removes the designation of an email, and records ev.
func (st *Store) DeleteDesignation(ctx context.Context, appID, email string, ev audit.Event) error {
	event, err := st.eventPut(ev)
	if err != nil {
		return err
	}
	reasons, err := st.transact(ctx, types.TransactWriteItem{Delete: &types.Delete{
		TableName: aws.String(st.table), Key: designationKey(appID, email), ConditionExpression: aws.String("attribute_exists(PK)"),
	}}, event)
	if failedAt(reasons, 0) {
		return notFound("designation of", email)
	}
	if err != nil {
		return fmt.Errorf("delete designation: %w", err)
	}
	return nil
}

// BindDesignation binds a designation without a binding to b: one
// conditional write, so of two first uses racing only one binds. It returns
// the designation as stored afterwards.
func (st *Store) BindDesignation(ctx context.Context, appID, email string, b portal.Binding) (portal.Designation, error) {
	upd, err := expression.NewBuilder().
		WithUpdate(expression.Set(expression.Name("BoundIssuer"), expression.Value(b.Issuer)).
			Set(expression.Name("BoundSubject"), expression.Value(b.Subject)).
			Set(expression.Name("BoundAt"), expression.Value(b.At.UTC()))).
		WithCondition(expression.AttributeExists(expression.Name("PK")).
			And(expression.AttributeNotExists(expression.Name("BoundSubject")))).Build()
	if err != nil {
		return portal.Designation{}, err
	}
	_, err = st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(st.table), Key: designationKey(appID, email),
		UpdateExpression: upd.Update(), ConditionExpression: upd.Condition(),
		ExpressionAttributeNames: upd.Names(), ExpressionAttributeValues: upd.Values(),
	})
	if err != nil && !isConditionFailed(err) {
		return portal.Designation{}, fmt.Errorf("bind designation on %s: %w", appID, err)
	}
	// Bound by this call or before it, or removed: read what is there.
	return st.GetDesignation(ctx, appID, email)
}
