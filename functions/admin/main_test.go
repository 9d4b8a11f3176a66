package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"credportal/infra/emulator/emulatortest"
	"credportal/infra/lambdarun/lambdaruntest"
)

func TestMain(m *testing.M) { os.Exit(emulatortest.RunTests(m)) }

// TestSampleEventsUnderRuntimeEmulator builds the admin function's bootstrap,
// runs it under the Lambda runtime emulator with the environment
// template.yaml gives it, and sends one warm instance every events/admin*.json
// sample in a working order: the organisation events/admin.json creates
// receives the application, which receives the designation. The samples'
// placeholder ids are swapped for the ids the function returned.
func TestSampleEventsUnderRuntimeEmulator(t *testing.T) {
	ctx := context.Background()
	h := lambdaruntest.New(t, emulatortest.ForTest(t), "AdminFunction")
	if fn := h.Function(t, "AdminFunction"); fn.Package != "functions/admin" {
		t.Fatalf("template.yaml's AdminFunction has the package %q", fn.Package)
	}
	in := h.Start(t, "AdminFunction", nil)

	ids := map[string]string{} // placeholder id in the samples → real id
	steps := []struct {
		sample string
		status int
		keep   string // the response field whose value replaces the sample's path parameter
		param  string
	}{
		{"admin.json", 201, "id", "organisationId"},
		{"admin.not-admin.json", 403, "", ""},
		{"admin.list-apis.json", 200, "", ""},
		{"admin.list-organisations.json", 200, "", ""},
		{"admin.create-application.json", 201, "id", "applicationId"},
		{"admin.set-designation.json", 200, "", ""},
		{"admin.update-application.json", 200, "", ""},
		{"admin.remove-designation.json", 200, "", ""},
	}
	placeholders := map[string]string{}
	for _, s := range steps {
		raw := h.Event(t, s.sample)
		var ev struct {
			PathParameters map[string]string `json:"pathParameters"`
		}
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		for k, v := range ev.PathParameters {
			if k == "organisationId" || k == "applicationId" {
				placeholders[k] = v
			}
		}
	}
	for _, s := range steps {
		raw := h.Event(t, s.sample)
		for placeholder, id := range ids {
			raw = []byte(strings.ReplaceAll(string(raw), placeholder, id))
		}
		resp := lambdaruntest.InvokeHTTP(t, in, raw)
		if resp.StatusCode != s.status || !json.Valid([]byte(resp.Body)) || resp.Headers["Content-Type"] != "application/json" {
			t.Fatalf("%s: status %d %s, want %d", s.sample, resp.StatusCode, resp.Body, s.status)
		}
		if s.keep != "" {
			var body map[string]any
			_ = json.Unmarshal([]byte(resp.Body), &body)
			id, _ := body[s.keep].(string)
			if id == "" || placeholders[s.param] == "" {
				t.Fatalf("%s: no %s in %s", s.sample, s.keep, resp.Body)
			}
			ids[placeholders[s.param]] = id
		}
		if s.sample == "admin.list-organisations.json" && !strings.Contains(resp.Body, `"name":"Initech Ltd"`) {
			t.Fatalf("the created organisation is not listed: %s", resp.Body)
		}
	}
	d, err := in.InitDuration(ctx)
	if err != nil || d <= 0 {
		t.Fatalf("no Init Duration reported: %v %v", d, err)
	}
	t.Logf("Init Duration %v; %d invocations on one instance", d, len(steps))
}
