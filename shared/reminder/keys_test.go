package reminder_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"credportal/infra/emulator/emulatortest"
	"credportal/infra/storetest"
	"credportal/shared/portal"
	"credportal/shared/publickey"
	"credportal/shared/store"
)

// Thumbprints shown as given: RFC 7638 §3.1's example, RFC 8037 §A.3's, and
// two more of the same shape.
const (
	tpRFC7638 = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
	tpRFC8037 = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
	tpBatch   = "b4tCh2026ZZrq0PzW7sXyT1mJkLdVQe8aHnOgF5uCiM"
	tpSync    = "5ynCcErTq9o3Zk_2LwPdXa7bM1nVhYfUeGiRjK0sTuw"
)

// A key's whole schedule, run daily with two sweeps at once and a third
// after them: 30, 14, 7, 3, 1 days before and on the expiry day, each once
// per credential manager, on the right day; nothing before or after, and
// nothing for the viewer.
func TestKeyDailyScheduleExactlyOnce(t *testing.T) {
	f := newFixture(t)
	app := f.app("a", "App", []string{"m1@a.test", "m2@a.test"}, []string{"v@a.test"})
	k := f.publicKey(app, "CI signer", publickey.TypePublicKey, tpRFC7638, at(31, 12, 0))
	got := map[int][]string{}
	seen := map[string]bool{}
	for d := -2; d <= 34; d++ {
		f.setNow(at(d, 7, 0))
		f.runAtOnce(2)
		if res := f.mustRun(); res.Sent != 0 {
			t.Errorf("day %d: a third run sent %+v", d, res)
		}
		for r := range f.sent() {
			if !seen[r] {
				seen[r] = true
				got[d] = append(got[d], r)
			}
		}
		sort.Strings(got[d])
	}
	want := map[int][]string{}
	for d, threshold := range map[int]int{1: 30, 17: 14, 24: 7, 28: 3, 30: 1, 31: 0} {
		want[d] = []string{keyReminder("m1@a.test", k, threshold), keyReminder("m2@a.test", k, threshold)}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("schedule\n got %v\nwant %v", got, want)
	}
	var all []string
	for _, rs := range want {
		all = append(all, rs...)
	}
	f.exactlyOnce(all...)
}

// A key created with 20 days left gets no 30-day reminder: its first is the
// 14-day one.
func TestKeyCreatedWithFewerDaysLeft(t *testing.T) {
	f := newFixture(t)
	app := f.app("a", "App", []string{"m@a.test"}, nil)
	k := f.publicKeyCreated(app, "Short", publickey.TypePublicKey, tpRFC7638, day0, at(20, 12, 0))
	got := f.sentOn(daysFrom(0, 22, 1), nil)
	want := map[int][]string{
		6: {keyReminder("m@a.test", k, 14)}, 13: {keyReminder("m@a.test", k, 7)}, 17: {keyReminder("m@a.test", k, 3)},
		19: {keyReminder("m@a.test", k, 1)}, 20: {keyReminder("m@a.test", k, 0)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("schedule\n got %v\nwant %v", got, want)
	}
}

// A deleted key leaves the index with its item: a key deleted before its
// reminder gets none, one deleted after its 7-day reminder gets no 3-day
// one, and the key kept gets both.
func TestDeletedKeyGetsNoReminder(t *testing.T) {
	f := newFixture(t)
	app := f.app("a", "App", []string{"m@a.test"}, nil)
	gone := f.publicKey(app, "Gone", publickey.TypePublicKey, tpRFC7638, at(5, 12, 0))
	later := f.publicKey(app, "Later", publickey.TypePublicKey, tpBatch, at(5, 12, 0))
	kept := f.publicKey(app, "Kept", publickey.TypePublicKey, tpSync, at(5, 12, 0))
	f.removeKey(gone)
	if res := f.mustRun(); res.Examined != 2 || res.Due != 2 || res.Sent != 1 {
		t.Errorf("first run %+v", res)
	}
	f.removeKey(later)
	f.setNow(at(2, 7, 0))
	if res := f.mustRun(); res.Examined != 1 || res.Due != 1 || res.Sent != 1 {
		t.Errorf("second run %+v", res)
	}
	f.exactlyOnce(keyReminder("m@a.test", later, 7), keyReminder("m@a.test", kept, 7), keyReminder("m@a.test", kept, 3))
}

// certificatePEM is a self-signed Ed25519 certificate for RFC 8037 §A.1's
// key, valid until notAfter.
func certificatePEM(t *testing.T, notAfter time.Time) string {
	t.Helper()
	seed, err := base64.RawURLEncoding.DecodeString("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
	if err != nil {
		t.Fatal(err)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "partner client"},
		NotBefore: day0.AddDate(0, 0, -1), NotAfter: notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// A certificate registered without an expiry expires at its notAfter, and
// its reminders follow that: registered 10 days before it, it gets the 7,
// 3, 1 and 0-day reminders and no 30- or 14-day one. The digest calls it a
// certificate, with its thumbprint.
func TestCertificateRemindersFollowNotAfter(t *testing.T) {
	f := newFixture(t)
	app := f.app("Acme", "Acme Partner", []string{"alice@acme.test"}, nil)
	svc := portal.NewService(f.st, nil, portal.DefaultConfig(), f.clock, rand.Reader)
	body, err := json.Marshal(certificatePEM(t, time.Date(2026, 12, 6, 15, 30, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	view, err := svc.CreateKey(context.Background(), portal.Caller{Email: "admin@operator.test", Admin: true}, app.ID,
		portal.CreateKeyInput{Name: "Partner mTLS", PublicKey: body}, portal.Request{})
	if err != nil {
		t.Fatal(err)
	}
	if view.Type != "certificate" || view.Thumbprint != tpRFC8037 || !view.ExpiresAt.Equal(time.Date(2026, 12, 6, 15, 30, 0, 0, time.UTC)) {
		t.Fatalf("registered %+v", view)
	}
	k := portal.Key{ID: view.ID}
	got := f.sentOn(daysFrom(0, 12, 1), nil)
	want := map[int][]string{
		3: {keyReminder("alice@acme.test", k, 7)}, 7: {keyReminder("alice@acme.test", k, 3)},
		9: {keyReminder("alice@acme.test", k, 1)}, 10: {keyReminder("alice@acme.test", k, 0)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("schedule\n got %v\nwant %v", got, want)
	}
	m := f.mail()
	if m[0].Subject != `Certificate "Partner mTLS" of Acme Partner expires in 7 days` {
		t.Errorf("subject %q", m[0].Subject)
	}
	wantText := `A certificate you manage is close to expiry.

Acme Partner (` + app.Organisation.Name + `)
  - Partner mTLS (certificate, thumbprint kPrK_qmx…) expires in 7 days, on 6 December 2026 at 15:30 UTC. From then on, token requests signed with it fail.
    Add a new certificate, switch your client to it, then delete this one.
  https://portal.test/applications/` + app.ID + `

You receive this because you are a credential manager of these applications.
`
	if got := strings.ReplaceAll(m[0].Text, "\r\n", "\n"); got != wantText {
		t.Errorf("text part\n got %s\nwant %s", got, wantText)
	}
	wantHTML := "<li><p><strong>Partner mTLS</strong> (certificate, thumbprint <code>kPrK_qmx…</code>) expires in 7 days, on 6 December 2026 at 15:30 UTC. " +
		"From then on, token requests signed with it fail.</p><p>Add a new certificate, switch your client to it, then delete this one.</p></li>"
	if !strings.Contains(m[0].HTML, "<p>A certificate you manage is close to expiry.</p>") || !strings.Contains(m[0].HTML, wantHTML) {
		t.Errorf("HTML part lacks %q:\n%s", wantHTML, m[0].HTML)
	}
	if last := m[len(m)-1]; last.Subject != `Certificate "Partner mTLS" of Acme Partner expires today` {
		t.Errorf("last reminder %q", last.Subject)
	}
}

// A digest of keys: each named with its thumbprint's start; the advice names
// the application's newer key (or certificate) — used: this one looks
// replaced; unused: switch the client to it — else says to add one. Run on
// 2026-11-26 at 07:00 UTC; the expected text is written out in full.
func TestKeyDigestText(t *testing.T) {
	f := newFixture(t)
	org := storetest.CreateOrganisation(t, f.st, portal.Organisation{Name: "Acme " + emulatortest.UniqueName(""), CreatedAt: day0})
	signing, batch, sync := f.orgApp(org, "Acme Signing", "alice@acme.test"), f.orgApp(org, "Acme Batch", "alice@acme.test"), f.orgApp(org, "Acme Sync", "alice@acme.test")
	f.publicKey(signing, "CI signer", publickey.TypePublicKey, tpRFC7638, time.Date(2026, 11, 27, 21, 46, 0, 0, time.UTC))
	f.publicKey(batch, "Batch 2025", publickey.TypePublicKey, tpRFC8037, time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC))
	f.publicKey(batch, "Batch 2026", publickey.TypePublicKey, tpBatch, time.Date(2027, 3, 26, 9, 30, 0, 0, time.UTC)) // never used
	f.publicKey(sync, "Sync old", publickey.TypePublicKey, tpRFC8037, time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC))
	cert := f.publicKey(sync, "Sync cert", publickey.TypeCertificate, tpSync, time.Date(2027, 6, 14, 12, 0, 0, 0, time.UTC))
	if _, err := f.st.MarkKeyUsed(context.Background(), sync.ClientID, sync.ID, cert.ID, time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	f.mustRun()
	m := f.mail()
	if len(m) != 1 {
		t.Fatalf("%d messages, want one digest", len(m))
	}
	link := func(a portal.Application) string { return "https://portal.test/applications/" + a.ID }
	wantText := `3 keys you manage are close to expiry.

Acme Batch (` + org.Name + `)
  - Batch 2025 (key, thumbprint kPrK_qmx…) expires in 5 days, on 1 December 2026 at 09:30 UTC. From then on, token requests signed with it fail.
    Switch your client to the newer key "Batch 2026" (thumbprint b4tCh202…), valid until 26 March 2027 at 09:30 UTC, then delete this one.
  ` + link(batch) + `

Acme Signing (` + org.Name + `)
  - CI signer (key, thumbprint NzbLsXh8…) expires tomorrow, 27 November 2026 at 21:46 UTC. From then on, token requests signed with it fail.
    Add a new key, switch your client to it, then delete this one.
  ` + link(signing) + `

Acme Sync (` + org.Name + `)
  - Sync old (key, thumbprint kPrK_qmx…) expires today, 26 November 2026 at 20:00 UTC. From then on, token requests signed with it fail.
    A newer certificate, "Sync cert" (thumbprint 5ynCcErT…), was last used 26 November 2026 at 05:00 UTC: this one looks replaced and can be deleted.
  ` + link(sync) + `

You receive this because you are a credential manager of these applications.
`
	if got := strings.ReplaceAll(m[0].Text, "\r\n", "\n"); got != wantText {
		t.Errorf("text part\n got %s\nwant %s", got, wantText)
	}
	if m[0].Subject != "3 keys close to expiry" {
		t.Errorf("subject %q", m[0].Subject)
	}
	for _, want := range []string{
		"<p>3 keys you manage are close to expiry.</p>",
		"<li><p><strong>CI signer</strong> (key, thumbprint <code>NzbLsXh8…</code>) expires tomorrow, 27 November 2026 at 21:46 UTC. From then on, token requests signed with it fail.</p>" +
			"<p>Add a new key, switch your client to it, then delete this one.</p></li>",
		"<p>A newer certificate, &#34;Sync cert&#34; (thumbprint 5ynCcErT…), was last used 26 November 2026 at 05:00 UTC: this one looks replaced and can be deleted.</p></li>",
	} {
		if !strings.Contains(m[0].HTML, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, m[0].HTML)
		}
	}
	if got := m[0].Header.Get("X-Portal-Reminders"); len(strings.Fields(got)) != 3 || strings.Count(got, "key:key_") != 3 {
		t.Errorf("X-Portal-Reminders %q", got)
	}
}

// One digest covers a recipient's secrets and keys across applications. A
// key's advice names only a newer key, a secret's only a newer secret.
func TestMixedDigestText(t *testing.T) {
	f := newFixture(t)
	org := storetest.CreateOrganisation(t, f.st, portal.Organisation{Name: "Acme " + emulatortest.UniqueName(""), CreatedAt: day0})
	search, partner := f.orgApp(org, "Acme Search", "alice@acme.test", "bob@acme.test"), f.orgApp(org, "Acme Partner", "alice@acme.test")
	sec := f.secret(search, "Nightly", time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC))
	k := f.publicKey(search, "CI signer", publickey.TypePublicKey, tpRFC7638, time.Date(2026, 12, 3, 8, 15, 0, 0, time.UTC))
	// A newer secret, used, which only the secret's advice names; a key
	// created before CI signer, so not its successor.
	newer := f.secretCreated(search, "Rotation", day0.Add(-3*time.Hour), time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC))
	if _, err := f.st.MarkSecretUsed(context.Background(), search.ClientID, search.ID, newer.ID, day0.Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	f.publicKeyCreated(search, "Old signer", publickey.TypePublicKey, tpBatch, day0.AddDate(0, 0, -100), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	cert := f.publicKey(partner, "Partner mTLS", publickey.TypeCertificate, tpRFC8037, time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC))
	res := f.mustRun()
	if res.Examined != 3 || res.Due != 5 || res.Sent != 2 || res.Reminders != 5 {
		t.Errorf("result %+v", res)
	}
	f.exactlyOnce(
		key("alice@acme.test", sec, 3), keyReminder("alice@acme.test", k, 7), keyReminder("alice@acme.test", cert, 0),
		key("bob@acme.test", sec, 3), keyReminder("bob@acme.test", k, 7),
	)
	byRcpt := map[string]string{}
	subjects := map[string]string{}
	for _, m := range f.mail() {
		byRcpt[to(t, m)] = strings.ReplaceAll(m.Text, "\r\n", "\n")
		subjects[to(t, m)] = m.Subject
	}
	link := func(a portal.Application) string { return "https://portal.test/applications/" + a.ID }
	wantAlice := `1 client secret, 1 key and 1 certificate you manage are close to expiry.

Acme Partner (` + org.Name + `)
  - Partner mTLS (certificate, thumbprint kPrK_qmx…) expired today, 26 November 2026 at 06:00 UTC. Token requests signed with it now fail.
    Add a new certificate, switch your client to it, then delete this one.
  ` + link(partner) + `

Acme Search (` + org.Name + `)
  - Nightly (nx9…) expires in 3 days, on 29 November 2026 at 10:00 UTC. From then on, token requests with it fail.
    A newer secret, "Rotation" (rx9…), was last used 26 November 2026 at 05:00 UTC: this one looks replaced and can be deleted.
  - CI signer (key, thumbprint NzbLsXh8…) expires in 7 days, on 3 December 2026 at 08:15 UTC. From then on, token requests signed with it fail.
    Add a new key, switch your client to it, then delete this one.
  ` + link(search) + `

You receive this because you are a credential manager of these applications.
`
	if byRcpt["alice@acme.test"] != wantAlice {
		t.Errorf("alice's text part\n got %s\nwant %s", byRcpt["alice@acme.test"], wantAlice)
	}
	if s := subjects["alice@acme.test"]; s != "1 client secret, 1 key and 1 certificate close to expiry" {
		t.Errorf("alice's subject %q", s)
	}
	if s := subjects["bob@acme.test"]; s != "1 client secret and 1 key close to expiry" {
		t.Errorf("bob's subject %q", s)
	}
	if !strings.HasPrefix(byRcpt["bob@acme.test"], "1 client secret and 1 key you manage are close to expiry.\n") || strings.Contains(byRcpt["bob@acme.test"], "Partner") {
		t.Errorf("bob's text part:\n%s", byRcpt["bob@acme.test"])
	}
	if res := f.mustRun(); res.Sent != 0 || res.Due != 0 {
		t.Errorf("second run %+v", res)
	}
}

// Keys stored before keys had reminders lack ExpiryDay and ExpiryKey, so
// they are not on the index and the sweep cannot see them. The migration
// sets them, once: a second run writes nothing; a key deleted while it runs
// is not brought back. Then the sweep reminds about the migrated key.
func TestKeyExpiryMigration(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	app := f.app("a", "App", []string{"m@a.test"}, nil)
	old := f.publicKey(app, "Old", publickey.TypePublicKey, tpRFC7638, at(7, 12, 0))
	deleted := f.publicKey(app, "Deleted meanwhile", publickey.TypePublicKey, tpRFC8037, at(7, 12, 0))
	f.app("b", "No keys", []string{"m@b.test"}, nil)
	raw := dynamodb.NewFromConfig(f.emu.Config())
	for _, k := range []portal.Key{old, deleted} {
		// The layout before: a key item without the index's attributes.
		if _, err := raw.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(f.table),
			Key: map[string]types.AttributeValue{
				"PK": &types.AttributeValueMemberS{Value: "APP#" + app.ID}, "SK": &types.AttributeValueMemberS{Value: "KEY#" + k.ID},
			},
			UpdateExpression: aws.String("REMOVE ExpiryDay, ExpiryKey"),
		}); err != nil {
			t.Fatal(err)
		}
	}
	if res := f.mustRun(); res.Examined != 0 || res.Sent != 0 {
		t.Fatalf("before the migration the sweep found %+v", res)
	}

	calls := emulatortest.NewCalls()
	migrating := store.New(dynamodb.NewFromConfig(f.emu.Config(), calls.Option), f.table)
	var once sync.Once
	calls.SetFault(func(params any) error {
		if _, ok := params.(*dynamodb.UpdateItemInput); ok {
			// The first write of the migration finds one key deleted since
			// it was read.
			once.Do(func() { f.removeKey(deleted) })
		}
		return nil
	})
	report, err := migrating.MigrateKeyExpiry(ctx)
	if err != nil || report != (store.KeyExpiryReport{Applications: 2, Keys: 2, Indexed: 1}) {
		t.Fatalf("migration: %+v, %v", report, err)
	}
	if _, err := f.st.GetKey(ctx, app.ID, deleted.ID); err == nil {
		t.Fatal("the key deleted during the migration is back")
	}
	calls.SetFault(nil)
	calls.Reset()
	report, err = migrating.MigrateKeyExpiry(ctx)
	if err != nil || report != (store.KeyExpiryReport{Applications: 2, Keys: 1, Indexed: 0}) {
		t.Fatalf("second migration: %+v, %v", report, err)
	}
	if n := calls.Reset(); n["UpdateItem"] != 0 || n["PutItem"] != 0 || n["TransactWriteItems"] != 0 {
		t.Fatalf("the second migration wrote: %v", n)
	}
	res := f.mustRun()
	if res.Examined != 1 || res.Sent != 1 {
		t.Fatalf("after the migration %+v", res)
	}
	f.exactlyOnce(keyReminder("m@a.test", old, 7))
	// The migrated key is the same as a key created now: deleting it takes
	// it off the index.
	f.removeKey(old)
	f.setNow(at(4, 7, 0))
	if res := f.mustRun(); res.Examined != 0 {
		t.Fatalf("after the delete %+v", res)
	}
}
