package main

import (
	"context"
	"encoding/json"
	"crypto/rand"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"credportal/infra/emulator"
	"credportal/infra/emulator/emulatortest"
	"credportal/infra/lambdarun/lambdaruntest"
	"credportal/infra/testlog"
	"credportal/shared/audit"
	"credportal/shared/ids"
	"credportal/shared/portal"
	"credportal/shared/reminder"
	"credportal/shared/store"
)

func TestMain(m *testing.M) { os.Exit(emulatortest.RunTests(m)) }

// TestScheduledEventUnderRuntimeEmulator builds the sweep's bootstrap, runs
// it under the Lambda runtime emulator with the environment template.yaml
// gives it, and invokes it twice with the sample scheduled event: the first
// invocation sends the due reminder, the second nothing.
func TestScheduledEventUnderRuntimeEmulator(t *testing.T) {
	ctx := context.Background()
	emu := emulatortest.ForTest(t)
	h := lambdaruntest.New(t, emu, "ExpirySweepFunction")
	if fn := h.Function(t, "ExpirySweepFunction"); fn.Package != "functions/expiry-sweep" {
		t.Fatalf("template.yaml's ExpirySweepFunction: %+v", fn)
	}
	env := h.Env(t, "ExpirySweepFunction")
	if env["SENDER_EMAIL"] == "" || env["REMINDER_THRESHOLDS"] != "30,14,7,3,1,0" || env["SES_MAX_SEND_RATE"] != "10" {
		t.Fatalf("environment %v", env)
	}
	cfg := emu.Config()

	// An application with a manager and a secret three days from expiry,
	// by the wall clock the function runs on.
	st := store.New(dynamodb.NewFromConfig(cfg), h.Locals.Refs["Table"])
	now := time.Now().UTC()
	id := func(kind string) string {
		v, err := ids.New(kind, now, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	ev := func(appID, action string) audit.Event {
		return audit.Event{ID: id(ids.Event), At: now, Actor: "admin@operator.test", Action: action, ApplicationID: appID}
	}
	org := portal.Organisation{ID: id(ids.Organisation), Name: "Acme Ltd", Country: "GB", CreatedAt: now}
	app := portal.Application{ID: id(ids.Application), Name: "Acme Search", ClientID: emulatortest.UniqueName("client"), Organisation: portal.OrganisationRef{ID: org.ID, Name: org.Name}, APIs: []string{"search-match"}, CreatedAt: now}
	manager := strings.ToLower(emulatortest.UniqueName("alice")) + "@acme.example"
	sec := portal.Secret{ID: id(ids.Secret), ApplicationID: app.ID, Name: "Production key", Hint: "k3y", Hash: []byte{1}, PepperVersion: "v1", CreatedAt: now, CreatedBy: manager, ExpiresAt: now.AddDate(0, 0, 3)}
	if err := st.CreateOrganisation(ctx, org); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateApplication(ctx, app, ev(app.ID, audit.ApplicationCreated)); err != nil {
		t.Fatal(err)
	}
	if err := st.PutDesignation(ctx, portal.Designation{ApplicationID: app.ID, Email: manager, Role: portal.RoleCredentialManager, CreatedAt: now, CreatedBy: "admin@operator.test"}, ev(app.ID, audit.DesignationSet)); err != nil {
		t.Fatal(err)
	}
	if err := st.AddSecret(ctx, sec, 3, now, ev(app.ID, audit.SecretCreated)); err != nil {
		t.Fatal(err)
	}

	var logs testlog.Buffer
	in := h.Start(t, "ExpirySweepFunction", &logs)
	event := h.Event(t, "expiry-sweep.json")
	// The function answers with what the run did.
	for i, want := range []reminder.Result{{Examined: 1, Due: 1, Sent: 1, Reminders: 1}, {Examined: 1, Skipped: 1}} {
		out, err := in.Invoke(ctx, event)
		var got reminder.Result
		if err != nil || json.Unmarshal(out, &got) != nil || got != want {
			t.Fatalf("invoke %d: %s, %v, want %+v\n%s", i, out, err, want, logs.String())
		}
	}
	all, err := emu.SentMail(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []emulator.Mail
	for _, m := range all {
		for _, d := range m.Destination {
			if d == manager {
				got = append(got, m)
				break
			}
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d reminders to the manager over two invocations, want 1\n%s", len(got), logs.String())
	}
	if m := got[0]; m.Subject != `Client secret "Production key" of Acme Search expires in 3 days` || !strings.Contains(m.Text, "applications/"+app.ID) {
		t.Errorf("reminder %q:\n%s", m.Subject, m.Text)
	}
	for _, want := range []string{`"message":"expiry sweep"`, `"examined":1`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, logs.String())
		}
	}
}
