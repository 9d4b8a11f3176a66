package lambdarun

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sesv2types "github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"credportal/infra/emulator"
	"credportal/infra/template"
)

// Harness runs functions of template.yaml under the runtime emulator for a
// test, the way the local stack runs them: each table and secret of the
// template is a fresh one in the test's AWS emulator, every other resource is
// named "local-<LogicalId>", and the parameters are the local stack's.
type Harness struct {
	Template *template.Template
	Root     string
	Build    *Build
	// Locals are the values the functions' environments resolve with; the
	// test's table is Locals.Refs["Table"].
	Locals template.Locals
	emu    *emulator.Emulator
}

// LocalParams are the template parameters that differ outside AWS.
var LocalParams = map[string]string{"PortalUrl": "http://127.0.0.1:3000/", "SignInMode": "local"}

// NewHarness builds the functions with the given logical ids (all of them
// when none is given) and provisions fresh resources in emu.
func NewHarness(t testing.TB, emu *emulator.Emulator, logicalIDs ...string) *Harness {
	t.Helper()
	tmpl, root, err := template.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	h := &Harness{Template: tmpl, Root: root, emu: emu, Locals: template.Locals{
		Refs: map[string]string{}, Params: LocalParams,
		Pseudo: map[string]string{"AWS::Region": emulator.Region, "AWS::StackName": "portal"},
	}}
	for id, r := range tmpl.Resources {
		switch r.Type {
		case "AWS::DynamoDB::Table":
			h.Locals.Refs[id] = emu.NewTable(t)
		case "AWS::SecretsManager::Secret":
			h.Locals.Refs[id] = emu.NewSecret(t)
		default:
			h.Locals.Refs[id] = "local-" + id
		}
	}
	var pkgs []string
	for _, id := range logicalIDs {
		pkgs = append(pkgs, h.Function(t, id).Package)
	}
	if len(logicalIDs) == 0 {
		for _, fn := range tmpl.Functions() {
			pkgs = append(pkgs, fn.Package)
		}
	}
	if h.Build, err = BuildFunctions(context.Background(), root, DefaultDir(root), pkgs...); err != nil {
		t.Fatal(err)
	}
	return h
}

// Function returns the template's function with the given logical id.
func (h *Harness) Function(t testing.TB, logicalID string) template.Function {
	t.Helper()
	for _, fn := range h.Template.Functions() {
		if fn.LogicalID == logicalID {
			return fn
		}
	}
	t.Fatalf("template.yaml has no function %s", logicalID)
	return template.Function{}
}

// Env is the function's environment against the test's emulator. Its
// SENDER_EMAIL, if any, is made a verified SES identity there.
func (h *Harness) Env(t testing.TB, logicalID string) map[string]string {
	t.Helper()
	env, err := Env(h.Template, h.Function(t, logicalID), h.Locals, h.emu.URL, emulator.Region)
	if err != nil {
		t.Fatal(err)
	}
	if sender := env["SENDER_EMAIL"]; sender != "" {
		_, err := sesv2.NewFromConfig(h.emu.Config()).CreateEmailIdentity(context.Background(), &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(sender)})
		var exists *sesv2types.AlreadyExistsException
		if err != nil && !errors.As(err, &exists) {
			t.Fatal(err)
		}
	}
	return env
}

// Start runs the function until the test ends; its output goes to logs
// (nil discards).
func (h *Harness) Start(t testing.TB, logicalID string, logs io.Writer) *Instance {
	t.Helper()
	in, err := h.Build.Start(context.Background(), h.Function(t, logicalID), h.Env(t, logicalID), logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Stop)
	return in
}

// Event reads a sample event of events/.
func (h *Harness) Event(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(h.Root, "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
