package template

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// What holds credentials outlives the stack: deleting or replacing the stack
// must never lose the table, the pepper its hashes need, or the signing key.
func TestCredentialsOutliveTheStack(t *testing.T) {
	tmpl, _ := load(t)
	var stateful []string
	for _, typ := range []string{"AWS::DynamoDB::Table", "AWS::SecretsManager::Secret"} {
		stateful = append(stateful, tmpl.ResourcesOfType(typ)...)
	}
	for _, want := range []string{"Table", "PepperSecret", "SigningKeySecret"} {
		if _, ok := tmpl.Resources[want]; !ok {
			t.Errorf("template.yaml has no %s", want)
		}
	}
	for _, id := range stateful {
		r := tmpl.Resources[id]
		if r.DeletionPolicy != "Retain" || r.UpdateReplacePolicy != "Retain" {
			t.Errorf("%s: DeletionPolicy %q, UpdateReplacePolicy %q; want Retain for both", id, r.DeletionPolicy, r.UpdateReplacePolicy)
		}
	}
	if len(stateful) < 3 {
		t.Errorf("stateful resources %v", stateful)
	}
}

// The HTTP API writes one JSON access-log line per request, with what an
// operator needs to trace abuse, into a log group that expires its lines.
func TestHTTPAPIAccessLogs(t *testing.T) {
	tmpl, _ := load(t)
	apis := tmpl.ResourcesOfType("AWS::Serverless::HttpApi")
	if len(apis) != 1 {
		t.Fatalf("HTTP APIs %v", apis)
	}
	settings := asMap(tmpl.Resources[apis[0]].Properties["AccessLogSettings"])
	if settings == nil {
		t.Fatal("the HTTP API has no AccessLogSettings")
	}
	var fields map[string]string
	if err := json.Unmarshal([]byte(asString(settings["Format"])), &fields); err != nil {
		t.Fatalf("access log format is not a JSON object of strings: %v\n%s", err, settings["Format"])
	}
	for field, variable := range map[string]string{
		"requestId": "$context.requestId", "sourceIp": "$context.identity.sourceIp", "routeKey": "$context.routeKey",
		"status": "$context.status", "responseLatency": "$context.responseLatency", "requestTime": "$context.requestTime",
		"integrationLatency": "$context.integrationLatency", "userAgent": "$context.identity.userAgent",
	} {
		if fields[field] != variable {
			t.Errorf("access log field %q is %q, want %q", field, fields[field], variable)
		}
	}
	dest := asMap(settings["DestinationArn"])
	att, _ := dest["Fn::GetAtt"].([]any)
	if len(att) != 2 || att[1] != "Arn" {
		t.Fatalf("access log destination %v is not a log group of the template", settings["DestinationArn"])
	}
	group, ok := tmpl.Resources[asString(att[0])]
	if !ok || group.Type != "AWS::Logs::LogGroup" {
		t.Fatalf("access log destination %v is not a log group of the template", att[0])
	}
	retention := group.Properties["RetentionInDays"]
	if p := asString(asMap(retention)["Ref"]); p != "" {
		retention = tmpl.Parameters[p].Default
	}
	if days := asInt(retention); days < 1 {
		t.Errorf("access logs are kept for ever (RetentionInDays %v)", group.Properties["RetentionInDays"])
	}
}

// The local stack's demo sign-in cannot be deployed: the template allows only
// OIDC sign-in, and the local stack sets its own mode as a parameter override.
func TestSignInModeIsOIDCOnly(t *testing.T) {
	tmpl, _ := load(t)
	p, ok := tmpl.Parameters["SignInMode"]
	if !ok {
		t.Fatal("template.yaml has no SignInMode parameter")
	}
	if !reflect.DeepEqual(p.AllowedValues, []any{"oidc"}) || p.Default != "oidc" {
		t.Errorf("SignInMode allows %v (default %v), want only oidc", p.AllowedValues, p.Default)
	}
	for _, f := range tmpl.Functions() {
		for name, v := range f.Env {
			raw, _ := json.Marshal(v)
			if strings.Contains(string(raw), `"local"`) {
				t.Errorf("%s sets %s to %s", f.LogicalID, name, raw)
			}
		}
	}
}
