package httpapi_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"credportal/infra/emulator"
	"credportal/infra/lambdarun"
	"credportal/infra/template"
	"credportal/shared/audit"
	"credportal/shared/ids"
	"credportal/shared/portal"
	"credportal/shared/store"
)

// sampleEvent is the part of an events/ sample this test reads.
type sampleEvent struct {
	PathParameters map[string]string `json:"pathParameters"`
	RequestContext struct {
		Authorizer struct {
			JWT struct {
				Claims map[string]string `json:"claims"`
			} `json:"jwt"`
		} `json:"authorizer"`
	} `json:"requestContext"`
}

// TestFunctionsUnderRuntimeEmulator builds each signed-in function as a
// Lambda bootstrap, runs it under the runtime interface emulator with the
// environment template.yaml gives it, and invokes it with its events/
// sample, unchanged, against data seeded to match the sample's ids: the wire
// format `sam local invoke -e` exercises.
func TestFunctionsUnderRuntimeEmulator(t *testing.T) {
	ctx := context.Background()
	emu := emulator.ForTest(t)
	tmpl, root, err := template.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{ // function folder → status its sample gets
		"me": 200, "list-applications": 200, "get-application": 200, "list-secrets": 200,
		"list-audit": 200, "create-secret": 201, "delete-secret": 204,
	}
	fns := map[string]template.Function{}
	var pkgs []string
	for _, f := range tmpl.Functions() {
		if _, ok := want[filepath.Base(f.Package)]; ok {
			fns[filepath.Base(f.Package)] = f
			pkgs = append(pkgs, f.Package)
		}
	}
	if len(fns) != len(want) {
		t.Fatalf("template.yaml has %d of the %d functions", len(fns), len(want))
	}
	build, err := lambdarun.BuildFunctions(ctx, root, lambdarun.DefaultDir(root), pkgs...)
	if err != nil {
		t.Fatal(err)
	}

	refs := map[string]string{}
	for id := range tmpl.Resources {
		refs[id] = "local-" + id
	}
	refs["Table"], refs["PepperSecret"] = emu.NewTable(t), emu.NewSecret(t)
	locals := template.Locals{Refs: refs, Params: map[string]string{"PortalUrl": "http://127.0.0.1:3000/"}, Pseudo: map[string]string{"AWS::Region": emulator.Region}}

	events := map[string][]byte{}
	var sample sampleEvent
	for name := range want {
		raw, err := os.ReadFile(filepath.Join(root, "events", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		events[name] = raw
		if name == "delete-secret" {
			if err := json.Unmarshal(raw, &sample); err != nil {
				t.Fatal(err)
			}
		}
	}
	email := sample.RequestContext.Authorizer.JWT.Claims["email"]
	appID, secretID := sample.PathParameters["applicationId"], sample.PathParameters["secretId"]
	seedSample(t, store.New(dynamodb.NewFromConfig(emu.Config()), refs["Table"]), appID, secretID, email)

	for name, status := range want {
		t.Run(name, func(t *testing.T) {
			fn := fns[name]
			env, err := lambdarun.Env(tmpl, fn, locals, emu.URL, emulator.Region)
			if err != nil {
				t.Fatal(err)
			}
			if sender := env["SENDER_EMAIL"]; sender != "" {
				_, _ = sesv2.NewFromConfig(emu.Config()).CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(sender)})
			}
			in, err := build.Start(ctx, fn, env, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Stop()
			out, err := in.Invoke(ctx, events[name])
			if err != nil {
				t.Fatal(err)
			}
			var resp struct {
				StatusCode int               `json:"statusCode"`
				Headers    map[string]string `json:"headers"`
				Body       string            `json:"body"`
			}
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatalf("not an HTTP API response: %s", out)
			}
			if resp.StatusCode != status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, resp.Body)
			}
			if resp.Body != "" && !json.Valid([]byte(resp.Body)) {
				t.Fatalf("body is not JSON: %s", resp.Body)
			}
			if name == "list-applications" && !strings.Contains(resp.Body, appID) {
				t.Fatalf("the designated application is not listed: %s", resp.Body)
			}
			if name == "create-secret" && !strings.Contains(resp.Body, `"value":"cps_`) {
				t.Fatalf("no value in the create response: %s", resp.Body)
			}
			if d, err := in.InitDuration(ctx); err != nil || d <= 0 {
				t.Fatalf("no Init Duration reported: %v %v", d, err)
			}
		})
	}
}

// seedSample stores the application, designation and secret the samples name.
func seedSample(t *testing.T, st *store.Store, appID, secretID, email string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	ev := func(action string) audit.Event {
		id, err := ids.New(ids.Event, time.Now(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return audit.Event{ID: id, At: now, Actor: "admin@registry.example", Action: action, ApplicationID: appID}
	}
	org := portal.Organisation{ID: "org_01jx0000000000000000000000", Name: "Acme Ltd", Country: "GB", CreatedAt: now}
	if err := st.CreateOrganisation(ctx, org); err != nil {
		t.Fatal(err)
	}
	a := portal.Application{ID: appID, Name: "Acme Search", ClientID: "sampleclient", Organisation: portal.OrganisationRef{ID: org.ID, Name: org.Name}, APIs: []string{"search-match"}, CreatedAt: now}
	if err := st.CreateApplication(ctx, a, ev(audit.ApplicationCreated)); err != nil {
		t.Fatal(err)
	}
	if err := st.PutDesignation(ctx, portal.Designation{ApplicationID: appID, Email: email, Role: portal.RoleCredentialManager, CreatedAt: now, CreatedBy: "admin@registry.example"}, ev(audit.DesignationSet)); err != nil {
		t.Fatal(err)
	}
	s := portal.Secret{ID: secretID, ApplicationID: appID, Name: "Old", Hint: "abc", Hash: []byte{1}, PepperVersion: "v", CreatedAt: now, CreatedBy: email, ExpiresAt: now.Add(72 * time.Hour)}
	if err := st.AddSecret(ctx, s, 3, now, ev(audit.SecretCreated)); err != nil {
		t.Fatal(err)
	}
}
