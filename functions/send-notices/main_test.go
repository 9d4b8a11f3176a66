package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"credportal/infra/emulator/emulatortest"
	"credportal/infra/lambdarun/lambdaruntest"
	"credportal/infra/storetest"
	"credportal/infra/testlog"
	"credportal/shared/keys"
	"credportal/shared/portal"
	"credportal/shared/store"
)

func TestMain(m *testing.M) { os.Exit(emulatortest.RunTests(m)) }

// TestStreamEventUnderRuntimeEmulator builds the sender's bootstrap, runs it
// under the Lambda runtime emulator with the environment template.yaml gives
// it, and invokes it twice with the sample stream event naming the notice a
// new secret left in the outbox: the first invocation mails the manager, the
// second nothing; the outbox is empty after.
func TestStreamEventUnderRuntimeEmulator(t *testing.T) {
	ctx := context.Background()
	emu := emulatortest.ForTest(t)
	h := lambdaruntest.New(t, emu, "SendNoticesFunction")
	if fn := h.Function(t, "SendNoticesFunction"); fn.Package != "functions/send-notices" {
		t.Fatalf("template.yaml's SendNoticesFunction: %+v", fn)
	}
	env := h.Env(t, "SendNoticesFunction")
	st := store.New(dynamodb.NewFromConfig(emu.Config()), h.Locals.Refs["Table"])
	manager := strings.ToLower(emulatortest.UniqueName("alice")) + "@acme.example"
	app := storetest.CreateApp(t, st, storetest.App{Application: portal.Application{Name: "Acme Search"}, Designations: storetest.Designations([]string{manager}, nil)})
	peppers := keys.NewPeppers(secretsmanager.NewFromConfig(emu.Config()), h.Locals.Refs["PepperSecret"], time.Now)
	svc := portal.NewService(st, peppers, portal.DefaultConfig(), time.Now, rand.Reader)
	days := 30
	created, err := svc.CreateSecret(ctx, portal.Caller{Email: "admin@operator.test", Admin: true}, app.ID, portal.CreateSecretInput{Name: "Production", LifetimeDays: &days}, portal.Request{})
	if err != nil {
		t.Fatal(err)
	}
	pending, err := st.PendingNotices(ctx, 10)
	if err != nil || len(pending) != 1 {
		t.Fatalf("outbox %v, %v", pending, err)
	}

	var ev events.DynamoDBEvent
	if err := json.Unmarshal(h.Event(t, "send-notices.json"), &ev); err != nil || len(ev.Records) != 1 {
		t.Fatalf("events/send-notices.json: %v", err)
	}
	ev.Records[0].Change.Keys["SK"] = events.NewStringAttribute(pending[0])
	payload, _ := json.Marshal(ev)

	var logs testlog.Buffer
	in := h.Start(t, "SendNoticesFunction", &logs)
	for i := range 2 {
		out, err := in.Invoke(ctx, payload)
		var res events.DynamoDBEventResponse
		if err != nil || json.Unmarshal(out, &res) != nil || res.BatchItemFailures == nil || len(res.BatchItemFailures) != 0 {
			t.Fatalf("invoke %d: %s, %v\n%s", i, out, err, logs.String())
		}
	}
	all, err := emu.SentMail(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range all {
		if slices.Contains(m.Destination, manager) {
			got = append(got, m.Subject)
			if !strings.Contains(m.Text, created.Hint) || !strings.Contains(m.Text, env["PORTAL_URL"]+"applications/"+app.ID) || m.Header.Get("X-Portal-Event") != pending[0] {
				t.Errorf("notice:\n%s", m.Text)
			}
		}
	}
	if !slices.Equal(got, []string{"Client secret created on Acme Search"}) {
		t.Fatalf("notices to the manager over two invocations: %q\n%s", got, logs.String())
	}
	if left, err := st.PendingNotices(ctx, 10); err != nil || len(left) != 0 {
		t.Fatalf("outbox after delivery: %v, %v", left, err)
	}
}
