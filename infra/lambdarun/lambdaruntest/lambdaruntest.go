// Package lambdaruntest runs functions of template.yaml under the Lambda
// runtime emulator for a test, the way the local stack runs them.
package lambdaruntest

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"

	"github.com/aws/aws-lambda-go/events"

	"credportal/infra/apispec"
	"credportal/infra/emulator"
	"credportal/infra/emulator/emulatortest"
	"credportal/infra/iam"
	"credportal/infra/lambdarun"
	"credportal/infra/provision"
	"credportal/infra/template"
)

// PortalURL is the base URL the functions' parameters name (PortalUrl is
// PortalURL + "/").
const PortalURL = "http://127.0.0.1:3000"

// Harness is a local copy of the stack in the test's AWS emulator, under a
// name of its own (so each test has a fresh table and fresh secrets), set
// up as the local stack sets up its own, with the local stack's parameters.
type Harness struct {
	Template *template.Template
	Root     string
	Build    *lambdarun.Build
	// Locals are the values the functions' environments resolve with; the
	// test's table is Locals.Refs["Table"], its parameters Locals.Params.
	Locals template.Locals
	// Guard evaluates each function's calls against its policy in
	// template.yaml, as IAM does in AWS.
	Guard      *iam.Guard
	functions  []template.Function
	accessKeys map[string]string
	emu        *emulator.Emulator
}

// New provisions a fresh copy of the stack's resources in emu and builds
// the functions with the given logical ids (all of them when none is given).
func New(t emulatortest.TB, emu *emulator.Emulator, logicalIDs ...string) *Harness {
	t.Helper()
	return NewWith(t, emu, nil, logicalIDs...)
}

// NewWith is New with template parameters changed from the local stack's:
// {"AuthIssuer": ""}, for one, gives the stack its own user pool (made in
// the emulator), as in AWS without an external sign-in provider.
func NewWith(t emulatortest.TB, emu *emulator.Emulator, params map[string]string, logicalIDs ...string) *Harness {
	t.Helper()
	tmpl, root, err := template.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	h := &Harness{Template: tmpl, Root: root, emu: emu}
	local := provision.LocalParams(PortalURL)
	for k, v := range params {
		local[k] = v
	}
	h.Locals = provision.Locals(tmpl, emulatortest.UniqueName("portal-test-"), local)
	if h.functions, err = provision.Functions(tmpl, h.Locals); err != nil {
		t.Fatal(err)
	}
	if err := provision.Resources(context.Background(), emu.Config(), tmpl, h.Locals); err != nil {
		t.Fatal(err)
	}
	// Each function calls AWS with credentials of its own, which the
	// emulator's guard evaluates against that function's policy.
	h.Guard = iam.Enforce(emu, root)
	if h.accessKeys, err = h.Guard.Register(context.Background(), tmpl, h.Locals, h.Locals.Pseudo["AWS::StackName"], h.functions); err != nil {
		t.Fatal(err)
	}
	var pkgs []string
	for _, id := range logicalIDs {
		pkgs = append(pkgs, h.Function(t, id).Package)
	}
	if len(logicalIDs) == 0 {
		for _, fn := range h.functions {
			pkgs = append(pkgs, fn.Package)
		}
	}
	if h.Build, err = lambdarun.BuildFunctions(context.Background(), root, lambdarun.DefaultDir(root), pkgs...); err != nil {
		t.Fatal(err)
	}
	return h
}

// Functions lists the functions the stack has, sorted by logical id.
func (h *Harness) Functions() []template.Function { return h.functions }

// Function returns the template's function with the given logical id.
func (h *Harness) Function(t emulatortest.TB, logicalID string) template.Function {
	t.Helper()
	for _, fn := range h.functions {
		if fn.LogicalID == logicalID {
			return fn
		}
	}
	t.Fatalf("template.yaml has no function %s", logicalID)
	return template.Function{}
}

// Env is the function's environment against the test's emulator.
func (h *Harness) Env(t emulatortest.TB, logicalID string) map[string]string {
	t.Helper()
	env, err := lambdarun.Env(h.Template, h.Function(t, logicalID), h.Locals, h.emu.URL, emulator.Region, h.accessKeys[logicalID])
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// Start runs the function until the test ends; its output goes to logs
// (nil discards).
func (h *Harness) Start(t emulatortest.TB, logicalID string, logs io.Writer) *lambdarun.Instance {
	t.Helper()
	in, err := h.Build.Start(context.Background(), h.Function(t, logicalID), h.Env(t, logicalID), logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Stop)
	return in
}

// Event reads a sample event of events/.
func (h *Harness) Event(t emulatortest.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(h.Root, "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// InvokeHTTP invokes a function behind an HttpApi route with event and
// decodes its answer, which must be an HTTP API response that
// docs/openapi.json describes for the event's route.
func InvokeHTTP(t emulatortest.TB, in *lambdarun.Instance, event []byte) events.APIGatewayV2HTTPResponse {
	t.Helper()
	out, err := in.Invoke(context.Background(), event)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode == 0 {
		t.Fatalf("not an HTTP API response: %s", out)
	}
	if err := apispec.CheckInvoke(event, out); err != nil {
		t.Fatal(err)
	}
	return resp
}
