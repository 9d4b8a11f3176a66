package lambdarun_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"credportal/infra/emulator"
	"credportal/infra/lambdarun"
	"credportal/infra/template"
)

func TestMain(m *testing.M) { os.Exit(emulator.RunTests(m)) }

// TestSampleEventUnderRuntimeEmulator builds GET /v1/me's function, runs its
// bootstrap under the runtime emulator with the environment template.yaml
// gives it, and invokes it with its sample event.
func TestSampleEventUnderRuntimeEmulator(t *testing.T) {
	ctx := context.Background()
	emu := emulator.ForTest(t)
	tmpl, root, err := template.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	var fn template.Function
	for _, f := range tmpl.Functions() {
		if f.LogicalID == "MeFunction" {
			fn = f
		}
	}
	if fn.Package == "" {
		t.Fatal("template.yaml has no MeFunction")
	}
	build, err := lambdarun.BuildFunctions(ctx, root, lambdarun.DefaultDir(root), fn.Package)
	if err != nil {
		t.Fatal(err)
	}
	again, err := lambdarun.BuildFunctions(ctx, root, lambdarun.DefaultDir(root), fn.Package)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cached || again.Bootstraps[fn.Package] != build.Bootstraps[fn.Package] {
		t.Errorf("second build of unchanged code was not the cached one: %+v", again)
	}

	refs := map[string]string{}
	for id := range tmpl.Resources {
		refs[id] = "local-" + id
	}
	refs["Table"], refs["PepperSecret"] = emu.NewTable(t), emu.NewSecret(t)
	env, err := lambdarun.Env(tmpl, fn, template.Locals{Refs: refs, Pseudo: map[string]string{"AWS::Region": emulator.Region}}, emu.URL, emulator.Region)
	if err != nil {
		t.Fatal(err)
	}
	if env["TABLE_NAME"] != refs["Table"] || env["AWS_ENDPOINT_URL"] != emu.URL {
		t.Fatalf("environment not resolved to the local resources: %v", env)
	}
	in, err := build.Start(ctx, fn, env, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Stop()

	event, err := os.ReadFile(filepath.Join(root, "events", "me.json"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		out, err := in.Invoke(ctx, event)
		if err != nil {
			t.Fatal(err)
		}
		var resp struct {
			StatusCode int    `json:"statusCode"`
			Body       string `json:"body"`
		}
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("invoke %d: %v: %s", i, err, out)
		}
		var me struct {
			Email        string `json:"email"`
			Designations []any  `json:"designations"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &me); err != nil || resp.StatusCode != 200 {
			t.Fatalf("invoke %d: status %d, body %s", i, resp.StatusCode, resp.Body)
		}
		if me.Email != "alice@acme.example" || me.Designations == nil {
			t.Errorf("invoke %d: got %+v", i, me)
		}
	}
	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	d, err := in.InitDuration(wait)
	if err != nil {
		t.Fatal(err)
	}
	if d <= 0 {
		t.Errorf("no init duration read from the emulator's REPORT line")
	}
	t.Logf("cold start: init duration %v", d)

	in.Stop()
	if _, err := in.Invoke(ctx, event); err == nil {
		t.Error("a stopped function still answered")
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Logf("%s", p)
	return len(p), nil
}
