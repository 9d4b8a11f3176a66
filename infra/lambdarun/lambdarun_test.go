package lambdarun_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"credportal/infra/emulator/emulatortest"
	"credportal/infra/lambdarun"
	"credportal/infra/lambdarun/lambdaruntest"
)

func TestMain(m *testing.M) { os.Exit(emulatortest.RunTests(m)) }

// TestSampleEventUnderRuntimeEmulator builds GET /v1/me's function, runs its
// bootstrap under the runtime emulator with the environment template.yaml
// gives it, and invokes it with its sample event.
func TestSampleEventUnderRuntimeEmulator(t *testing.T) {
	ctx := context.Background()
	emu := emulatortest.ForTest(t)
	h := lambdaruntest.New(t, emu, "MeFunction")
	fn := h.Function(t, "MeFunction")
	again, err := lambdarun.BuildFunctions(ctx, h.Root, lambdarun.DefaultDir(h.Root), fn.Package)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cached || again.Bootstraps[fn.Package] != h.Build.Bootstraps[fn.Package] {
		t.Errorf("second build of unchanged code was not the cached one: %+v", again)
	}

	env := h.Env(t, "MeFunction")
	if env["TABLE_NAME"] != h.Locals.Refs["Table"] || env["AWS_ENDPOINT_URL"] != emu.URL {
		t.Fatalf("environment not resolved to the local resources: %v", env)
	}
	in, err := h.Build.Start(ctx, fn, env, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Stop()

	event := h.Event(t, "me.json")
	for i := range 2 {
		resp := lambdaruntest.InvokeHTTP(t, in, event)
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
