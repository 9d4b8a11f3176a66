package store_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"credportal/infra/emulator/emulatortest"
	"credportal/shared/audit"
	"credportal/shared/ids"
	"credportal/shared/store"
)

// TestEventsKeepTheSecretName: a secret's events keep its name, so the log
// can name a secret deleted since; an event written before the name was
// recorded (no SecretName attribute) reads with its hint and no name.
func TestEventsKeepTheSecretName(t *testing.T) {
	ctx := context.Background()
	emu := emulatortest.ForTest(t)
	db := dynamodb.NewFromConfig(emu.Config())
	table := emulatortest.NewTable(t, emu)
	st := store.New(db, table)
	app := seedApp(t, st, "Billing")
	sec := newSecret(t, app.ID, t0.Add(48*time.Hour))
	sec.Name = "CI deploy"
	created := event(t, app.ID, audit.SecretCreated)
	created.SecretID, created.SecretName, created.Hint = sec.ID, sec.Name, sec.Hint
	if err := st.AddSecret(ctx, sec, 3, t0, created, nil); err != nil {
		t.Fatal(err)
	}
	deleted := event(t, app.ID, audit.SecretDeleted)
	deleted.SecretID, deleted.SecretName, deleted.Hint = sec.ID, sec.Name, sec.Hint
	if err := st.RemoveSecret(ctx, sec, deleted, nil); err != nil {
		t.Fatal(err)
	}
	// An event as the earlier layout wrote it: no SecretName.
	old := newID(t, ids.Event)
	at := t0.Add(-time.Hour)
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "AUDIT#" + app.ID}, "SK": &types.AttributeValueMemberS{Value: "EVENT#" + old},
		"Type": &types.AttributeValueMemberS{Value: "event"}, "TTL": &types.AttributeValueMemberN{Value: strconv.FormatInt(at.Add(400*24*time.Hour).Unix(), 10)},
		"ID": &types.AttributeValueMemberS{Value: old}, "At": &types.AttributeValueMemberS{Value: at.Format(time.RFC3339Nano)},
		"Actor": &types.AttributeValueMemberS{Value: "m@partner.test"}, "Action": &types.AttributeValueMemberS{Value: audit.SecretCreated},
		"AppID": &types.AttributeValueMemberS{Value: app.ID}, "SecretID": &types.AttributeValueMemberS{Value: "sec_gone"},
		"Hint": &types.AttributeValueMemberS{Value: "XyZ"},
	}}); err != nil {
		t.Fatal(err)
	}
	page, err := st.ListEvents(ctx, app.ID, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]string{}
	for _, e := range page.Items {
		got[e.ID] = [2]string{e.SecretName, e.Hint}
	}
	for id, want := range map[string][2]string{created.ID: {"CI deploy", "abc"}, deleted.ID: {"CI deploy", "abc"}, old: {"", "XyZ"}} {
		if got[id] != want {
			t.Errorf("event %s: name and hint %q, want %q (all: %+v)", id, got[id], want, page.Items)
		}
	}
}
