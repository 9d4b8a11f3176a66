package provision

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"credportal/infra/template"
)

func loadTemplate(t *testing.T, text string) *template.Template {
	t.Helper()
	path := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	tmpl, err := template.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

const functions = `
Parameters:
  AuthIssuer: {Type: String, Default: ""}
Conditions:
  CreateUserPool: !Equals [!Ref AuthIssuer, ""]
  UseIssuer: !Not [!Condition CreateUserPool]
Resources:
  Always:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: functions/always/}
  WithPool:
    Type: AWS::Serverless::Function
    Condition: CreateUserPool
    Properties: {CodeUri: functions/with-pool/}
  WithIssuer:
    Type: AWS::Serverless::Function
    Condition: UseIssuer
    Properties: {CodeUri: functions/with-issuer/}
`

// The local stack runs the functions whose conditions hold with its
// parameters, and refuses a template whose conditions it cannot evaluate.
func TestFunctionsFollowTheirConditions(t *testing.T) {
	tmpl := loadTemplate(t, functions)
	for _, c := range []struct {
		params map[string]string
		want   string
	}{
		{LocalParams("http://127.0.0.1:3000"), "Always WithIssuer"},
		{map[string]string{}, "Always WithPool"},
	} {
		fns, err := Functions(tmpl, Locals(tmpl, "s", c.params))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range fns {
			got = append(got, f.LogicalID)
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("with %v: functions %v, want %s", c.params, got, c.want)
		}
	}

	unknown := loadTemplate(t, strings.Replace(functions, "Condition: UseIssuer", "Condition: InProduction", 1))
	if fns, err := Functions(unknown, Locals(unknown, "s", nil)); err == nil || !strings.Contains(err.Error(), "WithIssuer") {
		t.Errorf("a function under an undefined condition: %v, %v; want an error naming it", fns, err)
	}
	opaque := loadTemplate(t, strings.Replace(functions, `!Equals [!Ref AuthIssuer, ""]`, `!Equals [!GetAtt Always.Arn, ""]`, 1))
	if fns, err := Functions(opaque, Locals(opaque, "s", nil)); err == nil || !strings.Contains(err.Error(), "CreateUserPool") {
		t.Errorf("a condition on a resource's attribute: %v, %v; want an error", fns, err)
	}
}

func TestLocals(t *testing.T) {
	tmpl := loadTemplate(t, `
Resources:
  Table: {Type: AWS::DynamoDB::Table}
  PepperSecret: {Type: AWS::SecretsManager::Secret}
`)
	l := Locals(tmpl, "credportal-local", LocalParams("http://127.0.0.1:3001/"))
	for in, want := range map[string]string{
		`{"Ref": "Table"}`:                        "credportal-local-Table",
		`{"Fn::GetAtt": ["Table", "Arn"]}`:        "arn:aws:dynamodb:us-east-1:123456789012:table/credportal-local-Table",
		`{"Fn::GetAtt": ["PepperSecret", "Arn"]}`: "arn:aws:secretsmanager:us-east-1:123456789012:secret:credportal-local-PepperSecret",
		`{"Ref": "PortalUrl"}`:                    "http://127.0.0.1:3001/",
		`{"Ref": "AuthIssuer"}`:                   "http://127.0.0.1:3001/local",
	} {
		got, err := tmpl.Resolve(decode(t, in), l)
		if err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", in, got, err, want)
		}
	}
}

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}
