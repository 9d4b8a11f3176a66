package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"credportal/infra/emulator"
	"credportal/infra/emulator/emulatortest"
	"credportal/infra/lambdarun/lambdaruntest"
	"credportal/infra/storetest"
	"credportal/infra/testlog"
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

	// An application with a manager and a secret (made a month ago) three
	// days from expiry, by the wall clock the function runs on.
	st := store.New(dynamodb.NewFromConfig(emu.Config()), h.Locals.Refs["Table"])
	now := time.Now().UTC()
	manager := strings.ToLower(emulatortest.UniqueName("alice")) + "@acme.example"
	app := storetest.CreateApp(t, st, storetest.App{Application: portal.Application{Name: "Acme Search"}, Designations: storetest.Designations([]string{manager}, nil)})
	storetest.AddSecret(t, st, portal.Secret{ApplicationID: app.ID, Name: "Production key", CreatedAt: now.AddDate(0, 0, -30), ExpiresAt: now.AddDate(0, 0, 3)})

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
