// Package functions_test checks what every function's main does before it
// serves.
package functions_test

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"credportal/infra/lambdarun"
	"credportal/infra/template"
)

// TestEveryFunctionRefusesToStartWithoutItsConfiguration runs each function's
// bootstrap with an environment that holds no configuration: it must exit with status 1 at once,
// logging one JSON line that names what is missing, rather than serve.
func TestEveryFunctionRefusesToStartWithoutItsConfiguration(t *testing.T) {
	named := map[string][]string{
		"admin":                       {"TABLE_NAME", "AWS_REGION", "AWS_ACCESS_KEY_ID"},
		"create-secret":               {"TABLE_NAME", "AWS_REGION"},
		"delete-secret":               {"TABLE_NAME", "AWS_REGION"},
		"list-federated-credentials":  {"TABLE_NAME", "ISSUER", "AWS_REGION"},
		"create-federated-credential": {"TABLE_NAME", "ISSUER", "AWS_REGION"},
		"delete-federated-credential": {"TABLE_NAME", "ISSUER", "AWS_REGION"},
		"expiry-sweep":                {"TABLE_NAME", "SENDER_EMAIL", "AWS_REGION"},
		"get-application":             {"TABLE_NAME", "AWS_REGION"},
		"jwks":                        {"ISSUER", "SIGNING_SECRET_ID", "AWS_REGION"},
		"list-applications":           {"TABLE_NAME", "AWS_REGION"},
		"list-audit":                  {"TABLE_NAME", "AWS_REGION"},
		"list-secrets":                {"TABLE_NAME", "AWS_REGION"},
		"me":                          {"TABLE_NAME", "AWS_REGION"},
		"portal":                      {"OIDC_CLIENT_ID", "PORTAL_URL"},
		"send-notices":                {"TABLE_NAME", "SENDER_EMAIL", "PORTAL_URL", "AWS_REGION"},
		"initial-admin":               {"USER_POOL_ID", "AWS_REGION"},
		"secret-scanning":             {"TABLE_NAME", "PEPPER_SECRET_ID", "SENDER_EMAIL", "AWS_REGION"},
		"token":                       {"TABLE_NAME", "ISSUER", "SIGNING_SECRET_ID", "AWS_REGION"},
		"create-key":                  {"TABLE_NAME", "AWS_REGION"},
		"delete-key":                  {"TABLE_NAME", "AWS_REGION"},
		"list-keys":                   {"TABLE_NAME", "AWS_REGION"},
	}
	tmpl, root, err := template.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	var pkgs []string
	for _, fn := range tmpl.Functions() {
		pkgs = append(pkgs, fn.Package)
	}
	ctx := context.Background()
	build, err := lambdarun.BuildFunctions(ctx, root, lambdarun.DefaultDir(root), pkgs...)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != len(named) {
		t.Errorf("template.yaml has %d functions, this test expects %d", len(pkgs), len(named))
	}
	for _, pkg := range pkgs {
		name := filepath.Base(pkg)
		t.Run(name, func(t *testing.T) {
			want, ok := named[name]
			if !ok {
				t.Fatalf("no expectation for %s", name)
			}
			run, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(run, build.Bootstraps[pkg])
			// Lambda sets the log format, as the template's LoggingConfig
			// asks; nothing else.
			cmd.Env = []string{"AWS_LAMBDA_LOG_FORMAT=JSON"}
			out, err := cmd.Output()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit: %v, want status 1; output %s", err, out)
			}
			var line struct {
				Level string `json:"level"`
				Msg   string `json:"message"`
				Error string `json:"error"`
			}
			if err := json.Unmarshal(out, &line); err != nil || line.Level != "ERROR" || line.Msg != "configuration" {
				t.Fatalf("output is not one JSON configuration error: %s", out)
			}
			for _, v := range want {
				if !strings.Contains(line.Error, v) {
					t.Errorf("the error does not name %s: %s", v, line.Error)
				}
			}
		})
	}
}
