package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cognito "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	cognitotypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"credportal/infra/emulator"
	"credportal/infra/template"
	"credportal/shared/store"
)

// Audience is the audience of the local authorizer's tokens (the user-pool
// client id in AWS).
const Audience = "credportal-local"

// account is the account id of every local ARN.
const account = "123456789012"

// ScanningKeysPath is where the local stack publishes the key of its
// stand-in secret scanning signer.
const ScanningKeysPath = "/local/secret-scanning/keys"

// LocalParams are the template parameters that differ outside AWS, for a
// portal that answers at baseURL ("http://127.0.0.1:3000"): the local sign-in,
// the local authorizer as the issuer of users' tokens (so no user pool
// is created), and the stand-in secret scanning signer's key list.
func LocalParams(baseURL string) map[string]string {
	baseURL = strings.TrimRight(baseURL, "/")
	return map[string]string{
		"PortalUrl": baseURL + "/", "SignInMode": "local", "AuthIssuer": baseURL + "/local", "AuthAudience": Audience,
		// The local stack's stand-in for GitHub's secret scanning signer.
		"SecretScanningKeysUrl": baseURL + ScanningKeysPath,
		// Addresses AWS would need real: locally mail stays in the emulator.
		"SenderEmail": "no-reply@portal.example", "FallbackEmail": "credentials@portal.example",
		"SupportContact": "support@registry.example", "AlarmEmail": "alarms@registry.example",
	}
}

// Locals gives the local values of t's references for a stack called
// stackName run with params: every resource is named stackName-LogicalId.
func Locals(t *template.Template, stackName string, params map[string]string) template.Locals {
	l := template.Locals{
		Refs: map[string]string{}, Attrs: map[string]string{}, Params: params,
		Pseudo: map[string]string{
			"AWS::Region": emulator.Region, "AWS::AccountId": account, "AWS::Partition": "aws",
			"AWS::StackName": stackName, "AWS::URLSuffix": "amazonaws.com", "AWS::StackId": stackName,
		},
	}
	for id, r := range t.Resources {
		name := stackName + "-" + id
		l.Refs[id] = name
		l.Attrs[id+".Arn"] = arn(r.Type, name)
		l.Attrs[id+".Name"] = name
		l.Attrs[id+".QueueName"] = name
	}
	return l
}

func arn(typ, name string) string {
	prefix := ":" + emulator.Region + ":" + account + ":"
	switch typ {
	case "AWS::DynamoDB::Table":
		return "arn:aws:dynamodb" + prefix + "table/" + name
	case "AWS::SecretsManager::Secret":
		return "arn:aws:secretsmanager" + prefix + "secret:" + name
	case "AWS::SQS::Queue":
		return "arn:aws:sqs" + prefix + name
	}
	return "arn:aws:local" + prefix + name
}

// Functions lists the functions of t that exist with the local parameters.
// A function whose condition cannot be evaluated locally is an error.
func Functions(t *template.Template, l template.Locals) ([]template.Function, error) {
	var out []template.Function
	for _, f := range t.Functions() {
		exists, err := t.Exists(f.LogicalID, l)
		if err != nil {
			return nil, err
		}
		if exists {
			out = append(out, f)
		}
	}
	return out, nil
}

// Resources creates in the AWS emulator cfg points at what the functions of
// t need, named by l: every table (with its indexes and time to live), every
// secret, and a verified SES identity for each function's sender address
// (SENDER_EMAIL). What exists already is kept.
func Resources(ctx context.Context, cfg aws.Config, t *template.Template, l template.Locals) error {
	db := dynamodb.NewFromConfig(cfg)
	sm := secretsmanager.NewFromConfig(cfg)
	for _, typ := range []string{"AWS::DynamoDB::Table", "AWS::SecretsManager::Secret"} {
		for _, id := range t.ResourcesOfType(typ) {
			exists, err := t.Exists(id, l)
			if err != nil {
				return err
			}
			if !exists {
				continue
			}
			if typ == "AWS::DynamoDB::Table" {
				err = Table(ctx, db, t, id, l.Refs[id])
				// An emulator already running may hold items of an
				// earlier layout: bring them to this version's.
				if err == nil {
					_, err = store.New(db, l.Refs[id]).MigrateClients(ctx)
				}
				if err == nil {
					_, err = store.New(db, l.Refs[id]).MigrateSecretHashes(ctx)
				}
				if err == nil {
					_, err = store.New(db, l.Refs[id]).MigrateKeyExpiry(ctx)
				}
			} else {
				err = GeneratedSecret(ctx, sm, l.Refs[id])
			}
			if err != nil {
				return err
			}
		}
	}
	if err := UserPools(ctx, cognito.NewFromConfig(cfg), t, l); err != nil {
		return err
	}
	fns, err := Functions(t, l)
	if err != nil {
		return err
	}
	ses := sesv2.NewFromConfig(cfg)
	seen := map[string]bool{}
	for _, f := range fns {
		v, ok := f.Env["SENDER_EMAIL"]
		if !ok {
			continue
		}
		sender, err := t.Resolve(v, l)
		if err != nil {
			return fmt.Errorf("%s: SENDER_EMAIL: %w", f.LogicalID, err)
		}
		if sender == "" || seen[sender] {
			continue
		}
		seen[sender] = true
		if err := SenderIdentity(ctx, ses, sender); err != nil {
			return err
		}
	}
	return nil
}

// Cognito is the part of the Cognito user pools client provisioning uses.
type Cognito interface {
	ListUserPools(context.Context, *cognito.ListUserPoolsInput, ...func(*cognito.Options)) (*cognito.ListUserPoolsOutput, error)
	CreateUserPool(context.Context, *cognito.CreateUserPoolInput, ...func(*cognito.Options)) (*cognito.CreateUserPoolOutput, error)
	CreateGroup(context.Context, *cognito.CreateGroupInput, ...func(*cognito.Options)) (*cognito.CreateGroupOutput, error)
}

// UserPools creates in the emulator each user pool of t that exists with l
// (the stack's own, when AuthIssuer is empty), with its groups, and records
// its id and ARN in l as !Ref and !GetAtt give them in AWS. A pool of the
// same name is reused.
func UserPools(ctx context.Context, c Cognito, t *template.Template, l template.Locals) error {
	for _, id := range t.ResourcesOfType("AWS::Cognito::UserPool") {
		exists, err := t.Exists(id, l)
		if err != nil {
			return err
		}
		if !exists {
			continue
		}
		name := l.Refs[id]
		poolID, arn, err := userPool(ctx, c, name)
		if err != nil {
			return fmt.Errorf("user pool %s: %w", name, err)
		}
		l.Refs[id], l.Attrs[id+".Arn"] = poolID, arn
	}
	for _, id := range t.ResourcesOfType("AWS::Cognito::UserPoolGroup") {
		exists, err := t.Exists(id, l)
		if err != nil {
			return err
		}
		if !exists {
			continue
		}
		props := t.Resources[id].Properties
		poolID, err := t.Resolve(props["UserPoolId"], l)
		if err != nil {
			return err
		}
		group, err := t.Resolve(props["GroupName"], l)
		if err != nil {
			return err
		}
		_, err = c.CreateGroup(ctx, &cognito.CreateGroupInput{UserPoolId: aws.String(poolID), GroupName: aws.String(group)})
		var groupExists *cognitotypes.GroupExistsException
		if err != nil && !errors.As(err, &groupExists) {
			return fmt.Errorf("group %s: %w", group, err)
		}
	}
	return nil
}

func userPool(ctx context.Context, c Cognito, name string) (id, arn string, err error) {
	pages := cognito.NewListUserPoolsPaginator(c, &cognito.ListUserPoolsInput{MaxResults: aws.Int32(60)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return "", "", err
		}
		for _, p := range page.UserPools {
			if aws.ToString(p.Name) == name {
				id := aws.ToString(p.Id)
				return id, "arn:aws:cognito-idp:" + emulator.Region + ":" + account + ":userpool/" + id, nil
			}
		}
	}
	out, err := c.CreateUserPool(ctx, &cognito.CreateUserPoolInput{
		PoolName:               aws.String(name),
		UsernameAttributes:     []cognitotypes.UsernameAttributeType{cognitotypes.UsernameAttributeTypeEmail},
		AutoVerifiedAttributes: []cognitotypes.VerifiedAttributeType{cognitotypes.VerifiedAttributeTypeEmail},
	})
	if err != nil {
		return "", "", err
	}
	return aws.ToString(out.UserPool.Id), aws.ToString(out.UserPool.Arn), nil
}

// SES is the part of the SES v2 client provisioning uses.
type SES interface {
	CreateEmailIdentity(context.Context, *sesv2.CreateEmailIdentityInput, ...func(*sesv2.Options)) (*sesv2.CreateEmailIdentityOutput, error)
}

// SenderIdentity makes address a verified SES identity, unless it is one
// already (the emulator verifies every identity it creates).
func SenderIdentity(ctx context.Context, ses SES, address string) error {
	_, err := ses.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(address)})
	var exists *sestypes.AlreadyExistsException
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("verify the sender %s in SES: %w", address, err)
	}
	return nil
}
