package template

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
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

// raw is template.yaml as plain values, every section.
func raw(t *testing.T) map[string]any {
	t.Helper()
	_, root := load(t)
	b, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return asMap(value(&doc))
}

// The portal's address is known before the first deploy: its own domain
// (DomainName and CertificateArn make the HTTP API's custom domain, and the
// URL follows from it), or a PortalUrl the operator gives; never an example
// that breaks sign-in, and never the API's own URL (a circular dependency).
func TestPortalAddress(t *testing.T) {
	tmpl, _ := load(t)
	doc := raw(t)
	params := asMap(doc["Parameters"])
	if _, ok := asMap(params["PortalUrl"])["Default"]; ok {
		t.Errorf("PortalUrl has a default (%v): sam deploy --guided would not ask for it", asMap(params["PortalUrl"])["Default"])
	}
	for _, p := range []string{"DomainName", "CertificateArn"} {
		if d, ok := asMap(params[p])["Default"]; !ok || d != "" {
			t.Errorf("%s: default %v, want empty (no custom domain)", p, d)
		}
	}

	// Everything that needs the address takes the one derived value.
	derived := map[string]any{"Fn::If": []any{
		"PortalUrlFromDomain", map[string]any{"Fn::Sub": "https://${DomainName}/"}, map[string]any{"Ref": "PortalUrl"},
	}}
	conds := asMap(doc["Conditions"])
	wantCond := map[string]any{"Fn::And": []any{map[string]any{"Condition": "HasDomain"}, map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "PortalUrl"}, ""}}}}
	if !reflect.DeepEqual(conds["PortalUrlFromDomain"], wantCond) {
		t.Errorf("PortalUrlFromDomain is %v", conds["PortalUrlFromDomain"])
	}
	if !reflect.DeepEqual(conds["HasDomain"], map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "DomainName"}, ""}}}}) {
		t.Errorf("HasDomain is %v", conds["HasDomain"])
	}
	body, _ := json.Marshal(map[string]any{"Resources": doc["Resources"], "Globals": doc["Globals"], "Outputs": doc["Outputs"]})
	expr, _ := json.Marshal(derived)
	refs, uses := strings.Count(string(body), `{"Ref":"PortalUrl"}`), strings.Count(string(body), string(expr))
	if refs != uses || uses == 0 {
		t.Errorf("PortalUrl is referenced %d times, %d of them through the derived address %s", refs, uses, expr)
	}
	client := tmpl.Resources["UserPoolClient"].Properties
	for _, p := range []string{"CallbackURLs", "LogoutURLs"} {
		if !reflect.DeepEqual(client[p], []any{derived}) {
			t.Errorf("UserPoolClient %s is %v, want the portal's address", p, client[p])
		}
	}
	for _, f := range tmpl.Functions() {
		if f.Env["PORTAL_URL"] == nil {
			t.Errorf("%s has no PORTAL_URL", f.LogicalID)
		}
		for _, name := range []string{"PORTAL_URL", "ISSUER"} {
			if v, ok := f.Env[name]; ok && !reflect.DeepEqual(v, derived) {
				t.Errorf("%s: %s is %v, want the portal's address", f.LogicalID, name, v)
			}
		}
		// Locally (a PortalUrl is given) it is the PortalUrl.
		got, err := tmpl.Resolve(f.Env["PORTAL_URL"], Locals{Params: map[string]string{"PortalUrl": "http://127.0.0.1:3000/"}})
		if err != nil || got != "http://127.0.0.1:3000/" {
			t.Errorf("%s: PORTAL_URL resolves locally to %q, %v", f.LogicalID, got, err)
		}
	}

	// The address as CloudFormation would evaluate it.
	for _, c := range []struct {
		params map[string]string
		want   string
		domain bool
	}{
		{map[string]string{"DomainName": "portal.registry.example", "PortalUrl": ""}, "https://portal.registry.example/", true},
		{map[string]string{"DomainName": "portal.registry.example", "PortalUrl": "https://edge.registry.example/"}, "https://edge.registry.example/", true},
		{map[string]string{"PortalUrl": "https://abc123.execute-api.eu-west-1.amazonaws.com/"}, "https://abc123.execute-api.eu-west-1.amazonaws.com/", false},
	} {
		got, err := tmpl.Resolve(derived, Locals{Params: c.params})
		if err != nil || got != c.want {
			t.Errorf("with %v the portal's address is %q, %v; want %q", c.params, got, err, c.want)
		}
		for _, id := range []string{"ApiDomain", "ApiDomainMapping"} {
			if exists, err := tmpl.Exists(id, Locals{Params: c.params}); err != nil || exists != c.domain {
				t.Errorf("with %v, %s exists: %v, %v", c.params, id, exists, err)
			}
		}
	}

	// The custom domain, only with DomainName, mapped to the API's stage.
	domain, mapping := tmpl.Resources["ApiDomain"], tmpl.Resources["ApiDomainMapping"]
	if domain.Type != "AWS::ApiGatewayV2::DomainName" || domain.Condition != "HasDomain" || !reflect.DeepEqual(domain.Properties["DomainName"], map[string]any{"Ref": "DomainName"}) {
		t.Errorf("ApiDomain: %+v", domain)
	}
	cfg, _ := domain.Properties["DomainNameConfigurations"].([]any)
	if len(cfg) != 1 || !reflect.DeepEqual(asMap(cfg[0])["CertificateArn"], map[string]any{"Ref": "CertificateArn"}) || asMap(cfg[0])["EndpointType"] != "REGIONAL" {
		t.Errorf("ApiDomain configurations: %v", cfg)
	}
	if mapping.Type != "AWS::ApiGatewayV2::ApiMapping" || mapping.Condition != "HasDomain" ||
		!reflect.DeepEqual(mapping.Properties["ApiId"], map[string]any{"Ref": "HttpApi"}) ||
		!reflect.DeepEqual(mapping.Properties["DomainName"], map[string]any{"Ref": "ApiDomain"}) {
		t.Errorf("ApiDomainMapping: %+v", mapping)
	}
	// A deploy with neither a domain nor a PortalUrl, or a domain without a
	// certificate, is refused before anything is created.
	rules := asMap(doc["Rules"])
	for _, r := range []string{"PortalAddressKnown", "DomainHasCertificate"} {
		if asMap(rules[r])["Assertions"] == nil {
			t.Errorf("template.yaml has no rule %s", r)
		}
	}
	outputs := asMap(doc["Outputs"])
	for _, o := range []string{"PortalUrl", "ApiUrl", "ApiDomainTarget", "ApiDomainHostedZoneId"} {
		if outputs[o] == nil {
			t.Errorf("template.yaml has no output %s", o)
		}
	}
}
