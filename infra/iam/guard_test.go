package iam_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	"gopkg.in/yaml.v3"

	"credportal/infra/emulator"
	"credportal/infra/emulator/emulatortest"
	"credportal/infra/iam"
	"credportal/infra/lambdarun/lambdaruntest"
	"credportal/infra/provision"
	"credportal/infra/storetest"
	"credportal/infra/template"
	"credportal/shared/portal"
	"credportal/shared/store"
)

func TestMain(m *testing.M) { os.Exit(emulatortest.RunTests(m)) }

// asFunction is an SDK configuration that signs as a function registered
// with the emulator's guard.
func asFunction(emu *emulator.Emulator, accessKey string) aws.Config {
	cfg := emu.Config()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(accessKey, "local", "")
	cfg.RetryMaxAttempts = 1
	return cfg
}

func isAccessDenied(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "AccessDeniedException"
}

// withoutAction writes a copy of template.yaml in which the first statement
// of function's first policy lacks action: the template as it stood before
// a fix.
func withoutAction(t *testing.T, root, function, action string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	get := func(n *yaml.Node, key string) *yaml.Node {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i+1]
			}
		}
		t.Fatalf("template.yaml: no %s", key)
		return nil
	}
	policies := get(get(get(get(doc.Content[0], "Resources"), function), "Properties"), "Policies")
	actions := get(get(policies.Content[0], "Statement").Content[0], "Action")
	before := len(actions.Content)
	actions.Content = slices.DeleteFunc(actions.Content, func(n *yaml.Node) bool { return n.Value == action })
	if len(actions.Content) == before {
		t.Fatalf("%s's first statement does not allow %s", function, action)
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestKeyDeletionNeedsConditionCheck runs the real DeleteKeyFunction on its
// sample event (a credential manager deleting a key), first under the policy
// it had before dynamodb:ConditionCheckItem was added: the designation check
// in the deletion's transaction is denied, the function answers 500 and the
// key stays, as it would have in AWS. Under template.yaml's policy the key is
// deleted.
func TestKeyDeletionNeedsConditionCheck(t *testing.T) {
	ctx := context.Background()
	emu := emulatortest.ForTest(t)
	h := lambdaruntest.New(t, emu, "DeleteKeyFunction")
	st := store.New(dynamodb.NewFromConfig(emu.Config()), h.Locals.Refs["Table"])
	const appID, keyID, manager = "app_01jx0000000000000000000000", "key_01jx0000000000000000000001", "alice@acme.example"
	storetest.CreateApp(t, st, storetest.App{
		Application:  portal.Application{ID: appID, Name: "Acme Search"},
		Designations: storetest.Designations([]string{manager}, nil),
	})
	storetest.AddKey(t, st, portal.Key{ID: keyID, ApplicationID: appID, CreatedBy: manager, ExpiresAt: time.Now().Add(72 * time.Hour)})
	event := h.Event(t, "delete-key.json")
	fn := h.Function(t, "DeleteKeyFunction")

	old := withoutAction(t, h.Root, "DeleteKeyFunction", "dynamodb:ConditionCheckItem")
	keys, err := h.Guard.RegisterFrom(ctx, old, h.Template, h.Locals, "before-fix", []template.Function{fn})
	if err != nil {
		t.Fatal(err)
	}
	env := h.Env(t, "DeleteKeyFunction")
	env["AWS_ACCESS_KEY_ID"] = keys["DeleteKeyFunction"]
	before, err := h.Build.Start(ctx, fn, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(before.Stop)
	if resp := lambdaruntest.InvokeHTTP(t, before, event); resp.StatusCode != 500 {
		t.Fatalf("without ConditionCheckItem: status %d, want 500: %s", resp.StatusCode, resp.Body)
	}
	if !slices.Contains(h.Guard.Seen(), iam.Seen{Function: "DeleteKeyFunction", Action: "dynamodb:ConditionCheckItem", Decision: iam.ImplicitlyDenied}) {
		t.Fatalf("the guard did not deny the designation check: %v", h.Guard.Seen())
	}
	if got, err := st.ListKeys(ctx, appID, "", 10); err != nil || len(got.Items) != 1 {
		t.Fatalf("the denied deletion changed the keys: %v %v", got, err)
	}

	after := h.Start(t, "DeleteKeyFunction", nil)
	if resp := lambdaruntest.InvokeHTTP(t, after, event); resp.StatusCode != 204 {
		t.Fatalf("with template.yaml's policy: status %d, want 204: %s", resp.StatusCode, resp.Body)
	}
	if got, err := st.ListKeys(ctx, appID, "", 10); err != nil || len(got.Items) != 0 {
		t.Fatalf("the key is still there: %v %v", got, err)
	}
}

// TestDeniedCalls makes, signed as each function, calls its policy must
// not allow, beside the nearest call it must allow: a denied write changes
// nothing.
func TestDeniedCalls(t *testing.T) {
	ctx := context.Background()
	emu := emulatortest.ForTest(t)
	tmpl, _, err := template.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	root, _ := template.RepoRoot()
	stack := emulatortest.UniqueName("iam-test-")
	locals := provision.Locals(tmpl, stack, provision.LocalParams(lambdaruntest.PortalURL))
	if err := provision.Resources(ctx, emu.Config(), tmpl, locals); err != nil {
		t.Fatal(err)
	}
	fns, err := provision.Functions(tmpl, locals)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := iam.Enforce(emu, root).Register(ctx, tmpl, locals, stack, fns)
	if err != nil {
		t.Fatal(err)
	}
	table := locals.Refs["Table"]
	admin := dynamodb.NewFromConfig(emu.Config())
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	key := func(pk, sk string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"PK": s(pk), "SK": s(sk)}
	}
	put := func(pk, sk string, attrs map[string]string) *dynamodb.PutItemInput {
		item := key(pk, sk)
		for k, v := range attrs {
			item[k] = s(v)
		}
		return &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}
	}
	set := func(pk, sk, attr string, rv types.ReturnValue) *dynamodb.UpdateItemInput {
		return &dynamodb.UpdateItemInput{
			TableName: aws.String(table), Key: key(pk, sk), UpdateExpression: aws.String("SET #a = :v"),
			ExpressionAttributeNames: map[string]string{"#a": attr}, ExpressionAttributeValues: map[string]types.AttributeValue{":v": s("changed")},
			ReturnValues: rv,
		}
	}
	// Items the calls aim at, as the admin sees them.
	for _, in := range []*dynamodb.PutItemInput{
		put("APP#a1", "DESIG#bob@partner.example", map[string]string{"Role": "viewer"}),
		put("APP#a1", "SECRET#s1", map[string]string{"Name": "Production"}),
		put("CLIENT#c1", "CLIENT", map[string]string{"Secret#s1": "hash"}),
		put("ORG#o1", "ORG", map[string]string{"Name": "Acme"}),
	} {
		if _, err := admin.PutItem(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	snapshot := func() string {
		out, err := admin.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
		if err != nil {
			t.Fatal(err)
		}
		return fmtItems(out.Items)
	}

	type call func(cfg aws.Config) error
	db := func(f func(*dynamodb.Client) error) call {
		return func(cfg aws.Config) error { return f(dynamodb.NewFromConfig(cfg)) }
	}
	updateItem := func(in *dynamodb.UpdateItemInput) call {
		return db(func(c *dynamodb.Client) error { _, err := c.UpdateItem(ctx, in); return err })
	}
	putItem := func(in *dynamodb.PutItemInput) call {
		return db(func(c *dynamodb.Client) error { _, err := c.PutItem(ctx, in); return err })
	}
	deleteItem := func(pk, sk string) call {
		return db(func(c *dynamodb.Client) error {
			_, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: key(pk, sk)})
			return err
		})
	}
	getItem := func(pk, sk string) call {
		return db(func(c *dynamodb.Client) error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key(pk, sk)})
			return err
		})
	}
	getSecret := func(logicalID string) call {
		return func(cfg aws.Config) error {
			_, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(locals.Refs[logicalID])})
			return err
		}
	}
	sender, _ := tmpl.Resolve(map[string]any{"Ref": "SenderEmail"}, locals)
	sendEmail := func(cfg aws.Config) error {
		_, err := sesv2.NewFromConfig(cfg).SendEmail(ctx, &sesv2.SendEmailInput{
			FromEmailAddress: aws.String(sender),
			Destination:      &sestypes.Destination{ToAddresses: []string{"alice@acme.example"}},
			Content: &sestypes.EmailContent{Simple: &sestypes.Message{
				Subject: &sestypes.Content{Data: aws.String("Test")}, Body: &sestypes.Body{Text: &sestypes.Content{Data: aws.String("Test")}},
			}},
		})
		return err
	}

	for _, tc := range []struct {
		name     string
		function string
		call     call
		allowed  bool
	}{
		{"token: a secret's last use", "TokenFunction", updateItem(set("APP#a1", "SECRET#s1", "LastUsedAt", "")), true},
		{"token: a secret's last use, returning the item", "TokenFunction", updateItem(set("APP#a1", "SECRET#s1", "LastUsedAt", types.ReturnValueAllNew)), false},
		{"token: a secret's name", "TokenFunction", updateItem(set("APP#a1", "SECRET#s1", "Name", "")), false},
		{"token: a designation's role", "TokenFunction", updateItem(set("APP#a1", "DESIG#bob@partner.example", "Role", "")), false},
		{"token: a client item's used entry", "TokenFunction", updateItem(set("CLIENT#c1", "CLIENT", "Used#s1", "")), true},
		{"token: a client item's secret hash", "TokenFunction", updateItem(set("CLIENT#c1", "CLIENT", "Secret#s1", "")), false},
		{"token: an organisation", "TokenFunction", updateItem(set("ORG#o1", "ORG", "Name", "")), false},
		{"token: a notice in the outbox", "TokenFunction", putItem(put("OUTBOX", "NOTICE#1", nil)), false},
		{"token: deleting a designation", "TokenFunction", deleteItem("APP#a1", "DESIG#bob@partner.example"), false},
		{"token: the pepper", "TokenFunction", getSecret("PepperSecret"), true},
		{"scanning: a secret it revokes", "SecretScanningFunction", deleteItem("APP#a1", "SECRET#s1"), true},
		{"scanning: an organisation", "SecretScanningFunction", updateItem(set("ORG#o1", "ORG", "Name", "")), false},
		{"scanning: a secret marked leaked", "SecretScanningFunction", updateItem(set("APP#a1", "SECRET#s1", "LeakedAt", "")), true},
		{"scanning: a leak report on the hash entry", "SecretScanningFunction", updateItem(set("HASH#h1", "HASH", "LeakURL", "")), true},
		{"scanning: a designation's role", "SecretScanningFunction", updateItem(set("APP#a1", "DESIG#bob@partner.example", "Role", "")), false},
		{"scanning: a secret's name", "SecretScanningFunction", updateItem(set("APP#a1", "SECRET#s1", "Name", "")), false},
		{"scanning: the hash entry's secret", "SecretScanningFunction", updateItem(set("HASH#h1", "HASH", "SecretID", "")), false},
		{"scanning: a client item's key", "SecretScanningFunction", updateItem(set("CLIENT#c1", "CLIENT", "Key#k1", "")), false},
		{"scanning: a throttle lock", "SecretScanningFunction", updateItem(set("THROTTLE#c1", "IP#1#LOCK", "LockedUntil", "")), false},
		{"scanning: a notice in the outbox", "SecretScanningFunction", putItem(put("OUTBOX", "NOTICE#1", nil)), false},
		{"scanning: deleting a client item", "SecretScanningFunction", deleteItem("CLIENT#c1", "CLIENT"), false},
		{"scanning: the signing key", "SecretScanningFunction", getSecret("SigningKeySecret"), false},
		{"list secrets: reading", "ListSecretsFunction", getItem("APP#a1", "SECRET#s1"), true},
		{"list secrets: a binding", "ListSecretsFunction", updateItem(set("APP#a1", "DESIG#bob@partner.example", "BoundSubject", "")), true},
		{"list secrets: a designation's role", "ListSecretsFunction", updateItem(set("APP#a1", "DESIG#bob@partner.example", "Role", "")), false},
		{"list secrets: putting", "ListSecretsFunction", putItem(put("APP#a1", "SECRET#s2", nil)), false},
		{"list secrets: deleting", "ListSecretsFunction", deleteItem("APP#a1", "SECRET#s1"), false},
		{"list audit: putting an event", "ListAuditFunction", putItem(put("AUDIT#a1", "EVENT#1", nil)), false},
		{"me: the pepper", "MeFunction", getSecret("PepperSecret"), false},
		{"jwks: the signing key", "JwksFunction", getSecret("SigningKeySecret"), true},
		{"jwks: the pepper", "JwksFunction", getSecret("PepperSecret"), false},
		{"jwks: the table", "JwksFunction", getItem("APP#a1", "SECRET#s1"), false},
		{"portal: the table", "PortalFunction", getItem("APP#a1", "SECRET#s1"), false},
		{"portal: mail", "PortalFunction", sendEmail, false},
		{"sweep: mail", "ExpirySweepFunction", sendEmail, true},
		{"sweep: a secret's name", "ExpirySweepFunction", updateItem(set("APP#a1", "SECRET#s1", "Name", "")), false},
		{"notices: a designation", "SendNoticesFunction", deleteItem("APP#a1", "DESIG#bob@partner.example"), false},
		{"create secret: mail", "CreateSecretFunction", sendEmail, false},
		{"delete key: the pepper", "DeleteKeyFunction", getSecret("PepperSecret"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot()
			err := tc.call(asFunction(emu, keys[tc.function]))
			switch {
			case tc.allowed && err != nil:
				t.Fatalf("%s: %v, want it allowed", tc.function, err)
			case !tc.allowed && !isAccessDenied(err):
				t.Fatalf("%s: %v, want AccessDeniedException", tc.function, err)
			case !tc.allowed && snapshot() != before:
				t.Fatalf("%s: a denied call changed the table", tc.function)
			}
		})
	}
	// The admin's own credentials are not a function's: they are not checked.
	if _, err := admin.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: key("ORG#o1", "ORG")}); err != nil {
		t.Fatal(err)
	}
}

func fmtItems(items []map[string]types.AttributeValue) string {
	var out []string
	for _, it := range items {
		var line []string
		for k, v := range it {
			if sv, ok := v.(*types.AttributeValueMemberS); ok {
				line = append(line, k+"="+sv.Value)
			} else {
				line = append(line, k+"=?")
			}
		}
		slices.Sort(line)
		out = append(out, strings.Join(line, ","))
	}
	slices.Sort(out)
	return strings.Join(out, ";")
}
