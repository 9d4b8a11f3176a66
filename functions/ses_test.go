package functions_test

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
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"credportal/infra/emulator/emulatortest"
	"credportal/infra/lambdarun/lambdaruntest"
	"credportal/infra/storetest"
	"credportal/infra/testlog"
	"credportal/shared/keys"
	"credportal/shared/portal"
	"credportal/shared/reminder"
	"credportal/shared/store"
)

func TestMain(m *testing.M) { os.Exit(emulatortest.RunTests(m)) }

// TestSenderNotReadyLosesNothing runs the sweep and the notice sender, as
// their bootstraps under the runtime emulator, while the sender's SES
// identity does not exist (as on a first deploy before SES is set up; moto
// refuses it as SES does): nothing is sent, nothing is marked
// undeliverable, the sweep counts the reminder as sesNotReady and the
// notice stays in the outbox. Once the identity is back, the reminder and
// the notice each arrive exactly once.
func TestSenderNotReadyLosesNothing(t *testing.T) {
	ctx := context.Background()
	emu := emulatortest.ForTest(t)
	h := lambdaruntest.New(t, emu, "ExpirySweepFunction", "SendNoticesFunction")
	sender := h.Env(t, "ExpirySweepFunction")["SENDER_EMAIL"]
	st := store.New(dynamodb.NewFromConfig(emu.Config()), h.Locals.Refs["Table"])
	ses := sesv2.NewFromConfig(emu.Config())

	// A secret three days from expiry (its reminder is due) and a notice in
	// the outbox (a secret just created).
	now := time.Now().UTC()
	manager := strings.ToLower(emulatortest.UniqueName("alice")) + "@acme.example"
	app := storetest.CreateApp(t, st, storetest.App{Application: portal.Application{Name: "Acme Search"}, Designations: storetest.Designations([]string{manager}, nil)})
	expiring := storetest.AddSecret(t, st, portal.Secret{ApplicationID: app.ID, Name: "Old", CreatedAt: now.AddDate(0, 0, -30), ExpiresAt: now.AddDate(0, 0, 3)})
	peppers := keys.NewPeppers(secretsmanager.NewFromConfig(emu.Config()), h.Locals.Refs["PepperSecret"], time.Now)
	days := 90
	if _, err := portal.NewService(st, peppers, portal.DefaultConfig(), time.Now, rand.Reader).CreateSecret(ctx,
		portal.Caller{Email: "admin@operator.test", Admin: true}, app.ID, portal.CreateSecretInput{Name: "New", LifetimeDays: &days}, portal.Request{}); err != nil {
		t.Fatal(err)
	}
	// Both secrets' notices are in the outbox; one stream batch names them.
	pending, err := st.PendingNotices(ctx, 10)
	if err != nil || len(pending) != 2 {
		t.Fatalf("outbox %v, %v", pending, err)
	}
	var sample events.DynamoDBEvent
	if err := json.Unmarshal(h.Event(t, "send-notices.json"), &sample); err != nil || len(sample.Records) != 1 {
		t.Fatalf("events/send-notices.json: %v", err)
	}
	var streamEvent events.DynamoDBEvent
	for i, id := range pending {
		rec := sample.Records[0]
		rec.Change.Keys = map[string]events.DynamoDBAttributeValue{"PK": events.NewStringAttribute("OUTBOX"), "SK": events.NewStringAttribute(id)}
		rec.Change.SequenceNumber = strings.Repeat("1", 20) + string(rune('0'+i))
		streamEvent.Records = append(streamEvent.Records, rec)
	}
	notice, _ := json.Marshal(streamEvent)

	var sweepLogs, noticeLogs testlog.Buffer
	sweep := h.Start(t, "ExpirySweepFunction", &sweepLogs)
	notices := h.Start(t, "SendNoticesFunction", &noticeLogs)
	runSweep := func() reminder.Result {
		t.Helper()
		out, err := sweep.Invoke(ctx, h.Event(t, "expiry-sweep.json"))
		var res reminder.Result
		if err != nil || json.Unmarshal(out, &res) != nil {
			t.Fatalf("sweep: %s, %v\n%s", out, err, sweepLogs.String())
		}
		return res
	}
	sendNotice := func() []events.DynamoDBBatchItemFailure {
		t.Helper()
		out, err := notices.Invoke(ctx, notice)
		var res events.DynamoDBEventResponse
		if err != nil || json.Unmarshal(out, &res) != nil || res.BatchItemFailures == nil {
			t.Fatalf("send notices: %s, %v\n%s", out, err, noticeLogs.String())
		}
		return res.BatchItemFailures
	}
	// mailTo lists what the manager got: each notice by its event, the
	// digests by their subject.
	mailTo := func() []string {
		t.Helper()
		all, err := emu.SentMail(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range all {
			if slices.Contains(m.Destination, manager) {
				if ev := m.Header.Get("X-Portal-Event"); ev != "" && !strings.Contains(m.Subject, "expir") {
					got = append(got, "notice "+ev)
				} else {
					got = append(got, "digest")
				}
			}
		}
		slices.Sort(got)
		return got
	}
	claim := reminder.Claim{ApplicationID: app.ID, Kind: reminder.KindSecret, CredentialID: expiring.ID, Threshold: 3, Recipient: manager, ExpiresAt: expiring.ExpiresAt}

	// SES not set up: the sender's identity is gone.
	if _, err := ses.DeleteEmailIdentity(ctx, &sesv2.DeleteEmailIdentityInput{EmailIdentity: aws.String(sender)}); err != nil {
		t.Fatal(err)
	}
	if res := runSweep(); res != (reminder.Result{Examined: 1, Due: 1, SesNotReady: 1}) {
		t.Fatalf("sweep with SES not ready: %+v\n%s", res, sweepLogs.String())
	}
	if failures := sendNotice(); len(failures) != 2 {
		t.Fatalf("notice with SES not ready: failures %v\n%s", failures, noticeLogs.String())
	}
	for name, logs := range map[string]string{"sweep": sweepLogs.String(), "notices": noticeLogs.String()} {
		if !strings.Contains(logs, `"level":"ERROR"`) || !strings.Contains(logs, "SES is not ready to send from "+sender) || !strings.Contains(logs, `"SesNotReady":1`) {
			t.Errorf("%s logs say nothing of SES not being ready:\n%s", name, logs)
		}
	}
	if status, err := st.ReminderStatus(ctx, claim); err != nil || status == "undeliverable" || status == "sent" {
		t.Fatalf("the reminder's claim: %q, %v", status, err)
	}
	if left, err := st.PendingNotices(ctx, 10); err != nil || len(left) != 2 {
		t.Fatalf("the notice left the outbox: %v, %v", left, err)
	}
	if got := mailTo(); len(got) != 0 {
		t.Fatalf("mail while SES was not ready: %q", got)
	}

	// SES set up: everything goes out, once.
	if _, err := ses.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(sender)}); err != nil {
		t.Fatal(err)
	}
	if res := runSweep(); res.Sent != 1 || res.Reminders != 1 || res.SesNotReady != 0 || res.Undeliverable != 0 {
		t.Fatalf("sweep once SES is ready: %+v\n%s", res, sweepLogs.String())
	}
	if failures := sendNotice(); len(failures) != 0 {
		t.Fatalf("notice once SES is ready: failures %v\n%s", failures, noticeLogs.String())
	}
	if res := runSweep(); res.Sent != 0 || res.SesNotReady != 0 {
		t.Fatalf("sweep again: %+v", res)
	}
	if failures := sendNotice(); len(failures) != 0 {
		t.Fatalf("notice again: %v", failures)
	}
	want := []string{"digest", "notice " + pending[0], "notice " + pending[1]}
	slices.Sort(want)
	if got := mailTo(); !slices.Equal(got, want) {
		t.Fatalf("mail to the manager: %q, want %q", got, want)
	}
	if left, err := st.PendingNotices(ctx, 10); err != nil || len(left) != 0 {
		t.Fatalf("the outbox after delivery: %v, %v", left, err)
	}
	if status, err := st.ReminderStatus(ctx, claim); err != nil || status != "sent" {
		t.Fatalf("the reminder's claim: %q, %v", status, err)
	}
}
