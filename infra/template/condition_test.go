package template

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// conditional is a template whose conditions and Fn::If the local stack
// evaluates, or must refuse to.
const conditional = `
Parameters:
  AuthIssuer: {Type: String, Default: ""}
  Stage: {Type: String, Default: dev}
  Mode: {Type: String, Default: a}
Conditions:
  CreateUserPool: !Equals [!Ref AuthIssuer, ""]
  Production: !Equals [prod, !Ref Stage]
  NotProduction: !Not [!Condition Production]
  PoolInProduction: !And [!Condition CreateUserPool, !Condition Production]
  PoolOrProduction: !Or [!Condition CreateUserPool, !Equals [!Ref Stage, prod]]
  InUsEast: !Equals [!Ref "AWS::Region", us-east-1]
  OnAResource: !Equals [!Ref Table, x]
  OnAnAttribute: !Equals [!GetAtt Table.Arn, x]
  UsesContains: !Contains [[a, b], !Ref Mode]
  Loop: !Not [!Condition Loop]
Resources:
  Table:
    Type: AWS::DynamoDB::Table
  UserPool:
    Type: AWS::Cognito::UserPool
    Condition: CreateUserPool
  Broken:
    Type: AWS::Serverless::Function
    Condition: UsesContains
`

func loadConditional(t *testing.T) *Template {
	t.Helper()
	path := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(path, []byte(conditional), 0o644); err != nil {
		t.Fatal(err)
	}
	tmpl, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func TestConditions(t *testing.T) {
	tmpl := loadConditional(t)
	local := func(params map[string]string) Locals {
		return Locals{Params: params, Refs: map[string]string{"Table": "t"}, Pseudo: map[string]string{"AWS::Region": "us-east-1"}}
	}
	issuer := map[string]string{"AuthIssuer": "http://127.0.0.1:3000/local"}
	prod := map[string]string{"Stage": "prod"}
	both := map[string]string{"Stage": "prod", "AuthIssuer": ""}
	cases := []struct {
		name      string
		condition string
		params    map[string]string
		want      bool
	}{
		{"equals, parameter at its default", "CreateUserPool", nil, true},
		{"equals, parameter given", "CreateUserPool", issuer, false},
		{"equals, literal first", "Production", prod, true},
		{"not, of a condition", "NotProduction", nil, true},
		{"not, of a condition that holds", "NotProduction", prod, false},
		{"and, one false", "PoolInProduction", issuer, false},
		{"and, both true", "PoolInProduction", both, true},
		{"or, both false", "PoolOrProduction", issuer, false},
		{"or, one true", "PoolOrProduction", map[string]string{"AuthIssuer": "x", "Stage": "prod"}, true},
		{"pseudo parameter", "InUsEast", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := tmpl.Condition(c.condition, local(c.params))
			if err != nil || got != c.want {
				t.Errorf("%s = %v, %v; want %v", c.condition, got, err, c.want)
			}
		})
	}

	failures := []struct{ condition, says string }{
		{"OnAResource", "Ref Table"},
		{"OnAnAttribute", "Fn::GetAtt"},
		{"UsesContains", "Fn::Contains"},
		{"Loop", "refers to itself"},
		{"Nowhere", "no condition Nowhere"},
	}
	for _, f := range failures {
		t.Run("cannot evaluate "+f.condition, func(t *testing.T) {
			got, err := tmpl.Condition(f.condition, local(nil))
			if err == nil || !strings.Contains(err.Error(), f.says) {
				t.Errorf("%s = %v, %v; want an error saying %q", f.condition, got, err, f.says)
			}
		})
	}
}

func TestIfFollowsItsCondition(t *testing.T) {
	tmpl := loadConditional(t)
	l := Locals{Pseudo: map[string]string{"AWS::Region": "us-east-1"}}
	choose := func(condition string) any {
		return map[string]any{"Fn::If": []any{condition, "then", map[string]any{"Ref": "Stage"}}}
	}
	for params, want := range map[string]string{"": "then", "http://issuer.example": "dev"} {
		l.Params = map[string]string{"AuthIssuer": params}
		if got, err := tmpl.Resolve(choose("CreateUserPool"), l); err != nil || got != want {
			t.Errorf("Fn::If with AuthIssuer %q = %q, %v; want %q", params, got, err, want)
		}
	}
	if got, err := tmpl.Resolve(choose("UsesContains"), l); err == nil {
		t.Errorf("Fn::If on a condition it cannot evaluate resolved to %q", got)
	}
	if got, err := tmpl.Resolve(choose("Nowhere"), l); err == nil {
		t.Errorf("Fn::If on an unknown condition resolved to %q", got)
	}
}

func TestExists(t *testing.T) {
	tmpl := loadConditional(t)
	l := Locals{Params: map[string]string{"AuthIssuer": "http://issuer.example"}}
	for id, want := range map[string]bool{"Table": true, "UserPool": false} {
		if got, err := tmpl.Exists(id, l); err != nil || got != want {
			t.Errorf("Exists(%s) = %v, %v; want %v", id, got, err, want)
		}
	}
	if got, err := tmpl.Exists("Broken", l); err == nil || !strings.Contains(err.Error(), "Broken") {
		t.Errorf("Exists(Broken) = %v, %v; want an error naming the resource", got, err)
	}
}
