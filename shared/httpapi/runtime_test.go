package httpapi_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"credportal/infra/emulator/emulatortest"
	"credportal/infra/lambdarun/lambdaruntest"
	"credportal/infra/storetest"
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
	emu := emulatortest.ForTest(t)
	want := map[string]int{ // function → the status its sample gets
		"MeFunction": 200, "ListApplicationsFunction": 200, "GetApplicationFunction": 200, "ListSecretsFunction": 200,
		"ListAuditFunction": 200, "CreateSecretFunction": 201, "DeleteSecretFunction": 204,
		"ListFederatedCredentialsFunction": 200, "CreateFederatedCredentialFunction": 201, "DeleteFederatedCredentialFunction": 204,
		"ListKeysFunction": 200, "CreateKeyFunction": 201, "DeleteKeyFunction": 204,
	}
	var fns []string
	for id := range want {
		fns = append(fns, id)
	}
	h := lambdaruntest.New(t, emu, fns...)
	event := func(logicalID string) []byte {
		return h.Event(t, filepath.Base(h.Function(t, logicalID).Package)+".json")
	}
	var sample sampleEvent
	if err := json.Unmarshal(event("DeleteSecretFunction"), &sample); err != nil {
		t.Fatal(err)
	}
	email := sample.RequestContext.Authorizer.JWT.Claims["email"]
	appID, secretID := sample.PathParameters["applicationId"], sample.PathParameters["secretId"]
	// The application, designation and secret the samples name.
	st := store.New(dynamodb.NewFromConfig(emu.Config()), h.Locals.Refs["Table"])
	storetest.CreateApp(t, st, storetest.App{
		Application:  portal.Application{ID: appID, Name: "Acme Search", ClientID: "sampleclient"},
		Designations: storetest.Designations([]string{email}, nil),
	})
	storetest.AddSecret(t, st, portal.Secret{ID: secretID, ApplicationID: appID, Name: "Old", CreatedBy: email, ExpiresAt: time.Now().Add(72 * time.Hour)})
	var fedSample sampleEvent
	if err := json.Unmarshal(event("DeleteFederatedCredentialFunction"), &fedSample); err != nil {
		t.Fatal(err)
	}
	if err := st.AddFederatedCredential(ctx, portal.FederatedCredential{
		ID: fedSample.PathParameters["credentialId"], ApplicationID: appID, Name: "Old CI", Issuer: "https://token.actions.githubusercontent.com",
		Subject: "repo:acme/old:ref:refs/heads/main", Audience: "https://portal.example", CreatedAt: time.Now().UTC(), CreatedBy: email,
	}, 20, audit.Event{ID: storetest.ID(t, ids.Event, time.Now()), At: time.Now(), Actor: email, Action: audit.FederatedCredentialCreated, ApplicationID: appID}, nil); err != nil {
		t.Fatal(err)
	}
	var keySample sampleEvent
	if err := json.Unmarshal(event("DeleteKeyFunction"), &keySample); err != nil {
		t.Fatal(err)
	}
	storetest.AddKey(t, st, portal.Key{ID: keySample.PathParameters["keyId"], ApplicationID: appID, Name: "Old key", CreatedBy: email, ExpiresAt: time.Now().Add(72 * time.Hour)})

	for logicalID, status := range want {
		t.Run(logicalID, func(t *testing.T) {
			in := h.Start(t, logicalID, nil)
			resp := lambdaruntest.InvokeHTTP(t, in, event(logicalID))
			if resp.StatusCode != status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, resp.Body)
			}
			if resp.Body != "" && !json.Valid([]byte(resp.Body)) {
				t.Fatalf("body is not JSON: %s", resp.Body)
			}
			if logicalID == "ListApplicationsFunction" && !strings.Contains(resp.Body, appID) {
				t.Fatalf("the designated application is not listed: %s", resp.Body)
			}
			if logicalID == "CreateSecretFunction" && !strings.Contains(resp.Body, `"value":"cps_`) {
				t.Fatalf("no value in the create response: %s", resp.Body)
			}
			if logicalID == "CreateFederatedCredentialFunction" && !strings.Contains(resp.Body, `"subject":"repo:acme/search-sync:ref:refs/heads/main"`) {
				t.Fatalf("the created credential is not in the response: %s", resp.Body)
			}
			if logicalID == "CreateKeyFunction" && !strings.Contains(resp.Body, `"thumbprint":"`) {
				t.Fatalf("no thumbprint in the create response: %s", resp.Body)
			}
			if d, err := in.InitDuration(ctx); err != nil || d <= 0 {
				t.Fatalf("no Init Duration reported: %v %v", d, err)
			}
		})
	}
}
