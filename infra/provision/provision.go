// Package provision sets up the local copy of template.yaml's resources, for
// the local stack and the tests alike: the names and parameters the
// template's references resolve to outside AWS, and, in the AWS emulator,
// the table, the secrets and the SES sender identity, made from
// template.yaml's own definitions.
package provision

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"credportal/infra/template"
)

// TableInput translates the AWS::DynamoDB::Table resource logicalID of t into
// a CreateTable request for a table called name.
func TableInput(t *template.Template, logicalID, name string) (*dynamodb.CreateTableInput, error) {
	r, ok := t.Resources[logicalID]
	if !ok || r.Type != "AWS::DynamoDB::Table" {
		return nil, fmt.Errorf("template has no table %s", logicalID)
	}
	p := r.Properties
	in := &dynamodb.CreateTableInput{TableName: aws.String(name), BillingMode: ddbtypes.BillingModePayPerRequest}
	for _, a := range list(p["AttributeDefinitions"]) {
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{
			AttributeName: aws.String(str(a["AttributeName"])), AttributeType: ddbtypes.ScalarAttributeType(str(a["AttributeType"])),
		})
	}
	in.KeySchema = keySchema(p["KeySchema"])
	for _, g := range list(p["GlobalSecondaryIndexes"]) {
		proj, _ := g["Projection"].(map[string]any)
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, ddbtypes.GlobalSecondaryIndex{
			IndexName:  aws.String(str(g["IndexName"])),
			KeySchema:  keySchema(g["KeySchema"]),
			Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionType(str(proj["ProjectionType"]))},
		})
	}
	if len(in.KeySchema) == 0 {
		return nil, fmt.Errorf("table %s has no key schema", logicalID)
	}
	return in, nil
}

// TTLAttribute is the table's time-to-live attribute, or "".
func TTLAttribute(t *template.Template, logicalID string) string {
	spec, _ := t.Resources[logicalID].Properties["TimeToLiveSpecification"].(map[string]any)
	return str(spec["AttributeName"])
}

// DynamoDB is the part of the DynamoDB client provisioning uses.
type DynamoDB interface {
	CreateTable(context.Context, *dynamodb.CreateTableInput, ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	UpdateTimeToLive(context.Context, *dynamodb.UpdateTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

// Table creates the table unless it exists already.
func Table(ctx context.Context, db DynamoDB, t *template.Template, logicalID, name string) error {
	in, err := TableInput(t, logicalID, name)
	if err != nil {
		return err
	}
	_, err = db.CreateTable(ctx, in)
	var inUse *ddbtypes.ResourceInUseException
	if errors.As(err, &inUse) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	if attr := TTLAttribute(t, logicalID); attr != "" {
		if _, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName:               aws.String(name),
			TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(attr), Enabled: aws.Bool(true)},
		}); err != nil {
			return fmt.Errorf("enable TTL on %s: %w", name, err)
		}
	}
	return nil
}

// SecretsManager is the part of the Secrets Manager client provisioning uses.
type SecretsManager interface {
	CreateSecret(context.Context, *secretsmanager.CreateSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
}

// GeneratedSecret creates a secret called name holding random text, as a
// GenerateSecretString resource does, unless it exists already.
func GeneratedSecret(ctx context.Context, sm SecretsManager, name string) error {
	var raw [48]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return err
	}
	_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String(base64.RawURLEncoding.EncodeToString(raw[:])),
	})
	var exists *smtypes.ResourceExistsException
	if errors.As(err, &exists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create secret %s: %w", name, err)
	}
	return nil
}

func keySchema(v any) []ddbtypes.KeySchemaElement {
	var out []ddbtypes.KeySchemaElement
	for _, k := range list(v) {
		out = append(out, ddbtypes.KeySchemaElement{AttributeName: aws.String(str(k["AttributeName"])), KeyType: ddbtypes.KeyType(str(k["KeyType"]))})
	}
	return out
}

func list(v any) []map[string]any {
	items, _ := v.([]any)
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
