package main

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cognito "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"credportal/infra/emulator/emulatortest"
	"credportal/infra/iam"
	"credportal/infra/lambdarun"
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
	runSamples(t, h, in)
	d, err := in.InitDuration(ctx)
	if err != nil || d <= 0 {
		t.Fatalf("no Init Duration reported: %v %v", d, err)
	}
	t.Logf("Init Duration %v", d)
}

// TestDesignationInvites runs the same samples with the stack's own user
// pool (AuthIssuer empty; moto's Cognito): designating peter@initech.example
// gives him a user with a verified email, which Cognito would invite (moto
// sends no invitation), once; the function's IAM policy allows exactly that.
// When the pool cannot be reached, the designation is still saved, and the
// answer warns that the invitation failed.
func TestDesignationInvites(t *testing.T) {
	ctx := context.Background()
	emu := emulatortest.ForTest(t)
	h := lambdaruntest.NewWith(t, emu, map[string]string{"AuthIssuer": "", "AuthAudience": ""}, "AdminFunction")
	pool := h.Env(t, "AdminFunction")["USER_POOL_ID"]
	if pool == "" || pool != h.Locals.Refs["UserPool"] {
		t.Fatalf("USER_POOL_ID %q, the emulator's pool %q", pool, h.Locals.Refs["UserPool"])
	}
	in := h.Start(t, "AdminFunction", nil)
	ids := runSamples(t, h, in)
	c := cognito.NewFromConfig(emu.Config())
	users, err := c.ListUsers(ctx, &cognito.ListUsersInput{UserPoolId: aws.String(pool)})
	if err != nil {
		t.Fatal(err)
	}
	var emails []string
	for _, u := range users.Users {
		attrs := map[string]string{}
		for _, a := range u.Attributes {
			attrs[aws.ToString(a.Name)] = aws.ToString(a.Value)
		}
		if attrs["email_verified"] != "true" {
			t.Errorf("user %v is not verified", attrs)
		}
		emails = append(emails, attrs["email"])
	}
	if !slices.Equal(emails, []string{"peter@initech.example"}) {
		t.Fatalf("users %v, want peter@initech.example once", emails)
	}
	allowed := 0
	for _, s := range h.Guard.Seen() {
		if s.Function == "AdminFunction" && strings.HasPrefix(s.Action, "cognito-idp:") {
			if s.Decision != iam.Allowed {
				t.Errorf("IAM: %+v", s)
			}
			allowed++
		}
	}
	if allowed < 2 {
		t.Errorf("the guard saw %d Cognito calls, want AdminGetUser and AdminCreateUser", allowed)
	}

	// The pool gone: the designation is saved, with a warning.
	if _, err := c.DeleteUserPool(ctx, &cognito.DeleteUserPoolInput{UserPoolId: aws.String(pool)}); err != nil {
		t.Fatal(err)
	}
	raw := string(h.Event(t, "admin.set-designation.json"))
	for placeholder, id := range ids {
		raw = strings.ReplaceAll(raw, placeholder, id)
	}
	raw = strings.ReplaceAll(raw, "peter@initech.example", "milton@initech.example")
	resp := lambdaruntest.InvokeHTTP(t, in, []byte(raw))
	var body struct {
		Designations []struct{ Email string }
		Warnings     []struct{ Code, Message string }
	}
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d %s", resp.StatusCode, resp.Body)
	}
	saved := slices.ContainsFunc(body.Designations, func(d struct{ Email string }) bool { return d.Email == "milton@initech.example" })
	warned := slices.ContainsFunc(body.Warnings, func(w struct{ Code, Message string }) bool {
		return w.Code == "invitation_failed" && strings.Contains(w.Message, "milton@initech.example")
	})
	if !saved || !warned {
		t.Fatalf("designation saved %v, warned %v: %s", saved, warned, resp.Body)
	}
}

// runSamples sends one warm instance every events/admin*.json sample in a
// working order and returns the real ids that replaced the samples'
// placeholders.
func runSamples(t *testing.T, h *lambdaruntest.Harness, in *lambdarun.Instance) map[string]string {
	t.Helper()

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
	return ids
}
