package template

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// contract maps each route of the product's HTTP API (v1) to the folder of
// the function that serves it, and whether the JWT authorizer guards it.
var contract = map[string]struct {
	function   string
	authorized bool
}{
	"GET /v1/me":                                                                   {"me", true},
	"GET /v1/applications":                                                         {"list-applications", true},
	"GET /v1/applications/{applicationId}":                                         {"get-application", true},
	"GET /v1/applications/{applicationId}/secrets":                                 {"list-secrets", true},
	"POST /v1/applications/{applicationId}/secrets":                                {"create-secret", true},
	"DELETE /v1/applications/{applicationId}/secrets/{secretId}":                   {"delete-secret", true},
	"GET /v1/applications/{applicationId}/keys":                                    {"list-keys", true},
	"POST /v1/applications/{applicationId}/keys":                                   {"create-key", true},
	"DELETE /v1/applications/{applicationId}/keys/{keyId}":                         {"delete-key", true},
	"GET /v1/applications/{applicationId}/audit":                                   {"list-audit", true},
	"GET /v1/applications/{applicationId}/federated-credentials":                   {"list-federated-credentials", true},
	"POST /v1/applications/{applicationId}/federated-credentials":                  {"create-federated-credential", true},
	"DELETE /v1/applications/{applicationId}/federated-credentials/{credentialId}": {"delete-federated-credential", true},
	"GET /v1/admin/apis":                                                           {"admin", true},
	"POST /v1/admin/organisations":                                                 {"admin", true},
	"GET /v1/admin/organisations":                                                  {"admin", true},
	"POST /v1/admin/organisations/{organisationId}/applications":                   {"admin", true},
	"PATCH /v1/admin/applications/{applicationId}":                                 {"admin", true},
	"PUT /v1/admin/applications/{applicationId}/designations/{email}":              {"admin", true},
	"DELETE /v1/admin/applications/{applicationId}/designations/{email}":           {"admin", true},
	"POST /oauth2/token":                                                           {"token", false},
	"GET /.well-known/jwks.json":                                                   {"jwks", false},
	"GET /.well-known/oauth-authorization-server":                                  {"jwks", false},
	"POST /secret-scanning/github":                                                 {"secret-scanning", false},
	"GET /":                                                                        {"portal", false},
}

// portalAsset reports whether a route is one of the web UI's public GET
// routes ("GET / and static assets").
func portalAsset(key string) bool {
	if !strings.HasPrefix(key, "GET /") {
		return false
	}
	for _, reserved := range []string{"GET /v1/", "GET /oauth2/", "GET /.well-known/", "GET /local/"} {
		if strings.HasPrefix(key, reserved) {
			return false
		}
	}
	return true
}

func load(t *testing.T) (*Template, string) {
	t.Helper()
	tmpl, root, err := LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	return tmpl, root
}

func TestRoutesAreTheContract(t *testing.T) {
	tmpl, root := load(t)
	declared := map[string]bool{}
	folders := map[string]bool{}
	for _, f := range tmpl.Functions() {
		folder := strings.TrimPrefix(f.Package, "functions/")
		folders[folder] = true
		if _, err := os.Stat(filepath.Join(root, f.Package, "main.go")); err != nil {
			t.Errorf("%s: CodeUri %s has no main.go", f.LogicalID, f.Package)
		}
		for _, r := range f.Routes {
			key := r.Method + " " + r.Path
			if declared[key] {
				t.Errorf("route %s declared twice", key)
			}
			declared[key] = true
			want, ok := contract[key]
			switch {
			case ok && want.function != folder:
				t.Errorf("%s is served by %s, want functions/%s", key, f.Package, want.function)
			case ok && want.authorized != r.Authorized:
				t.Errorf("%s: authorizer %v, want %v", key, r.Authorized, want.authorized)
			case !ok && folder == "portal" && portalAsset(key):
				if r.Authorized {
					t.Errorf("%s: the web UI's assets must be public", key)
				}
			case !ok:
				t.Errorf("%s (functions/%s) is not a route of the contract", key, folder)
			}
		}
	}
	// Every contract route of a function that exists is declared.
	for key, want := range contract {
		if _, err := os.Stat(filepath.Join(root, "functions", want.function)); err == nil && !declared[key] {
			t.Errorf("functions/%s exists but template.yaml lacks %s", want.function, key)
		}
	}
	// Every function folder is in the template, and has its sample event.
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if !folders[e.Name()] {
			t.Errorf("functions/%s is not in template.yaml", e.Name())
		}
		raw, err := os.ReadFile(filepath.Join(root, "events", e.Name()+".json"))
		if err != nil {
			t.Errorf("functions/%s has no events/%s.json", e.Name(), e.Name())
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Errorf("events/%s.json: %v", e.Name(), err)
		}
	}
}

// readOnly are the functions that only read: they may not write to the
// table, change a secret or send mail. writers are the others. Together
// they are every function of the template.
var (
	readOnly = []string{
		"GetApplicationFunction", "JwksFunction", "ListApplicationsFunction", "ListAuditFunction",
		"ListKeysFunction", "ListSecretsFunction", "ListFederatedCredentialsFunction", "MeFunction", "PortalFunction",
	}
	writers = []string{
		"AdminFunction", "CreateKeyFunction", "CreateSecretFunction", "DeleteKeyFunction", "DeleteSecretFunction", "InitialAdminFunction",
		"CreateFederatedCredentialFunction", "DeleteFederatedCredentialFunction", "ExpirySweepFunction", "SecretScanningFunction", "SendNoticesFunction", "TokenFunction",
	}
)

func TestFunctionsFollowTheHouseRules(t *testing.T) {
	tmpl, _ := load(t)
	if got := tmpl.Globals["Runtime"]; got != "provided.al2023" {
		t.Errorf("runtime %v", got)
	}
	if got, _ := tmpl.Globals["Architectures"].([]any); len(got) != 1 || got[0] != "arm64" {
		t.Errorf("architectures %v", got)
	}
	if lc, _ := tmpl.Globals["LoggingConfig"].(map[string]any); lc["LogFormat"] != "JSON" {
		t.Errorf("logging config %v", lc)
	}
	var names []string
	for _, f := range tmpl.Functions() {
		names = append(names, f.LogicalID)
		r := tmpl.Resources[f.LogicalID]
		if r.Properties["Policies"] == nil && r.Properties["Role"] == nil {
			t.Errorf("%s has no IAM policies of its own", f.LogicalID)
		}
		// Built by the Makefile's build-<LogicalId> target from the whole
		// module (infra/lambdabuild's test runs each target).
		if r.Metadata["BuildMethod"] != "makefile" || r.Metadata["ProjectRootDirectory"] != "." {
			t.Errorf("%s: Metadata %v", f.LogicalID, r.Metadata)
		}
	}
	want := append(slices.Clone(readOnly), writers...)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("functions %v, want %v (a new function belongs in readOnly or writers)", names, want)
	}
}

func TestCfnLint(t *testing.T) {
	_, root := load(t)
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Fatal("cfn-lint is not installed: run 'make deps'")
	}
	out, err := exec.Command(lint, filepath.Join(root, "template.yaml")).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("cfn-lint template.yaml: %v\n%s", err, out)
	}
}

func TestResolve(t *testing.T) {
	tmpl, _ := load(t)
	l := Locals{
		Refs:   map[string]string{"Table": "portal-local", "PepperSecret": "portal-local-pepper"},
		Attrs:  map[string]string{"Table.Arn": "arn:aws:dynamodb:us-east-1:123456789012:table/portal-local"},
		Params: map[string]string{"PortalUrl": "http://127.0.0.1:3000/"},
		Pseudo: map[string]string{"AWS::Region": "us-east-1", "AWS::StackName": "portal"},
	}
	cases := []struct {
		in   any
		want string
	}{
		{map[string]any{"Ref": "Table"}, "portal-local"},
		{map[string]any{"Ref": "AdminGroup"}, "portal-admins"},
		{map[string]any{"Ref": "PortalUrl"}, "http://127.0.0.1:3000/"},
		{map[string]any{"Fn::Sub": "${Table.Arn}/index/*"}, "arn:aws:dynamodb:us-east-1:123456789012:table/portal-local/index/*"},
		{map[string]any{"Fn::Sub": "${AWS::StackName}-users"}, "portal-users"},
		{map[string]any{"Fn::Join": []any{"-", []any{"a", map[string]any{"Ref": "Table"}}}}, "a-portal-local"},
		{"plain", "plain"},
	}
	for _, c := range cases {
		got, err := tmpl.Resolve(c.in, l)
		if err != nil || got != c.want {
			t.Errorf("Resolve(%v) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if _, err := tmpl.Resolve(map[string]any{"Ref": "Nowhere"}, l); err == nil {
		t.Error("an unknown Ref resolved")
	}
}

// Every function that sends mail (it has SENDER_EMAIL) sends it under the
// SenderName parameter, "Registry API Credentials" unless set.
// mailSenders are the functions that send mail: the sweep's reminders, the
// scanner's urgent leak notices and the outbox's security notices. The
// functions that change credentials only leave notices in the outbox: their
// answer never waits for SES.
var mailSenders = []string{"ExpirySweepFunction", "SecretScanningFunction", "SendNoticesFunction"}

func TestMailSendersHaveTheSenderName(t *testing.T) {
	tmpl, _ := load(t)
	var senders []string
	for _, f := range tmpl.Functions() {
		sends := slices.ContainsFunc(statements(tmpl, f.LogicalID), func(s statement) bool {
			return slices.ContainsFunc(s.actions, func(a string) bool { return strings.HasPrefix(a, "ses:") })
		})
		if sends != (f.Env["SENDER_EMAIL"] != nil) {
			t.Errorf("%s: may send mail %v, but has SENDER_EMAIL %v", f.LogicalID, sends, f.Env["SENDER_EMAIL"])
		}
		if !sends {
			continue
		}
		senders = append(senders, f.LogicalID)
		if ref, _ := f.Env["SENDER_NAME"].(map[string]any); ref["Ref"] != "SenderName" {
			t.Errorf("%s: SENDER_NAME %v, want !Ref SenderName", f.LogicalID, f.Env["SENDER_NAME"])
		}
	}
	if !sameSet(senders, mailSenders) {
		t.Errorf("functions that send mail: %v, want %v", senders, mailSenders)
	}
	if p, ok := tmpl.Parameters["SenderName"]; !ok || p.Default != "Registry API Credentials" {
		t.Errorf("SenderName parameter %v", p)
	}
}
