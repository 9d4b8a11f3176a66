package store_test

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"credportal/infra/emulator/emulatortest"
	"credportal/shared/audit"
	"credportal/shared/ids"
	"credportal/shared/portal"
	"credportal/shared/store"
)

// putOldSecret writes a secret item as the portal stored it before the hash
// index: the item alone, holding its hash.
func putOldSecret(t *testing.T, db *dynamodb.Client, table, appID string) (secretID string, hash []byte) {
	t.Helper()
	hash = make([]byte, 32)
	if _, err := rand.Read(hash); err != nil {
		t.Fatal(err)
	}
	secretID = newID(t, ids.Secret)
	at := func(tm time.Time) types.AttributeValue {
		return &types.AttributeValueMemberS{Value: tm.Format(time.RFC3339)}
	}
	str := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	_, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
		"PK": str("APP#" + appID), "SK": str("SECRET#" + secretID), "Type": str("secret"),
		"ID": str(secretID), "AppID": str(appID), "Name": str("Old"), "Hint": str("abc"),
		"Hash": &types.AttributeValueMemberB{Value: hash}, "PepperVersion": str("v1"),
		"CreatedAt": at(t0), "CreatedBy": str("m@partner.test"), "ExpiresAt": at(t0.Add(72 * time.Hour)),
		"ExpiryDay": str(t0.Add(72 * time.Hour).Format(time.DateOnly)),
	}})
	if err != nil {
		t.Fatal(err)
	}
	return secretID, hash
}

func TestSecretHashMigrationFromTheOldLayout(t *testing.T) {
	ctx := context.Background()
	emu := emulatortest.ForTest(t)
	db := dynamodb.NewFromConfig(emu.Config())
	table := emulatortest.NewTable(t, emu)
	st := store.New(db, table)
	a, b := seedApp(t, st, "Billing"), seedApp(t, st, "Search")
	type old struct {
		app, id string
		hash    []byte
	}
	var olds []old
	for _, app := range []string{a.ID, a.ID, b.ID} {
		id, hash := putOldSecret(t, db, table, app)
		olds = append(olds, old{app, id, hash})
	}
	seedApp(t, st, "No secrets")

	for _, o := range olds {
		if _, err := st.FindSecretHash(ctx, [][]byte{o.hash}); !errors.Is(err, portal.ErrNotFound) {
			t.Fatalf("before the migration: %v, want not found", err)
		}
	}
	r, err := st.MigrateSecretHashes(ctx)
	if err != nil || r != (store.HashIndexReport{Applications: 3, Secrets: 3, Indexed: 3}) {
		t.Fatalf("migration: %+v, %v", r, err)
	}
	for _, o := range olds {
		h, err := st.FindSecretHash(ctx, [][]byte{{9, 9}, o.hash})
		if err != nil || h.ApplicationID != o.app || h.SecretID != o.id || string(h.Digest) != string(o.hash) || h.Leak != nil {
			t.Fatalf("after the migration: %+v, %v", h, err)
		}
	}

	// A report recorded on a migrated entry; a secret created since.
	sec, err := st.GetSecret(ctx, olds[0].app, olds[0].id)
	if err != nil {
		t.Fatal(err)
	}
	app, err := st.GetApplication(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	rec := portal.LeakRecord{
		Hash: portal.SecretHash{Digest: olds[0].hash, ApplicationID: a.ID, SecretID: sec.ID}, Application: app, Secret: sec,
		Report: portal.LeakReport{At: t0, Reporter: "secret-scanning:github", URL: "https://github.com/o/r", Source: "content",
			Action: portal.LeakNotify, SecretName: sec.Name, Hint: sec.Hint, Notice: portal.NoticePending},
		Events: []audit.Event{event(t, a.ID, audit.SecretLeaked)}, NoticeToken: "tok", NoticeLease: t0.Add(time.Minute),
	}
	if err := st.RecordLeak(ctx, rec); err != nil {
		t.Fatal(err)
	}
	fresh := newSecret(t, b.ID, t0.Add(48*time.Hour))
	if err := st.AddSecret(ctx, fresh, 3, t0, event(t, b.ID, audit.SecretCreated), nil); err != nil {
		t.Fatal(err)
	}

	// Again: nothing to do, and the report stays.
	r, err = st.MigrateSecretHashes(ctx)
	if err != nil || r != (store.HashIndexReport{Applications: 3, Secrets: 4, Indexed: 0}) {
		t.Fatalf("second migration: %+v, %v", r, err)
	}
	h, err := st.FindSecretHash(ctx, [][]byte{olds[0].hash})
	if err != nil || h.Leak == nil || h.Leak.URL != "https://github.com/o/r" || h.Leak.Notice != portal.NoticePending {
		t.Fatalf("the recorded report after a second migration: %+v, %v", h.Leak, err)
	}
	if s, err := st.GetSecret(ctx, a.ID, olds[0].id); err != nil || s.LeakedAt == nil || !s.LeakedAt.Equal(t0) {
		t.Fatalf("the secret marked leaked: %+v, %v", s, err)
	}
	if err := st.RecordLeak(ctx, rec); !errors.Is(err, portal.ErrLeakRecorded) {
		t.Fatalf("recording the report again: %v, want ErrLeakRecorded", err)
	}
}
