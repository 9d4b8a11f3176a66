package mail_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"credportal/infra/emulator"
	"credportal/infra/emulator/emulatortest"
	"credportal/infra/storetest"
	"credportal/shared/keys"
	mailer "credportal/shared/mail"
	"credportal/shared/outbox"
	"credportal/shared/portal"
	"credportal/shared/store"
)

func TestMain(m *testing.M) { os.Exit(emulatortest.RunTests(m)) }

var t0 = time.Date(2026, 11, 26, 9, 15, 0, 0, time.UTC)

type noticeFixture struct {
	t        *testing.T
	emu      *emulator.Emulator
	st       *store.Store
	svc      *portal.Service
	outbox   *outbox.Outbox
	sender   string
	fallback string
}

func newNoticeFixture(t *testing.T) *noticeFixture {
	t.Helper()
	emu := emulatortest.ForTest(t)
	cfg := emu.Config()
	ctx := context.Background()
	domain := strings.ToLower(emulatortest.UniqueName("n")) + ".example"
	f := &noticeFixture{t: t, emu: emu, sender: "no-reply@" + domain, fallback: "credentials@" + domain}
	ses := sesv2.NewFromConfig(cfg)
	if _, err := ses.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(f.sender)}); err != nil {
		t.Fatal(err)
	}
	f.st = store.New(dynamodb.NewFromConfig(cfg), emulatortest.NewTable(t, emu))
	peppers := keys.NewPeppers(secretsmanager.NewFromConfig(cfg), emulatortest.NewSecret(t, emu), time.Now)
	f.svc = portal.NewService(f.st, peppers, portal.DefaultConfig(), func() time.Time { return t0 }, rand.Reader)
	f.outbox = outbox.New(f.st, mailer.NewMailer(ses, f.sender, "Registry API Credentials"), outbox.Config{PortalURL: "https://portal.test/", Fallback: f.fallback}, time.Now, rand.Reader)
	return f
}

// deliver sends the notices the changes so far left in the outbox, as the
// notice sender does.
func (f *noticeFixture) deliver() {
	f.t.Helper()
	ctx := context.Background()
	ids, err := f.st.PendingNotices(ctx, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, id := range ids {
		if err := f.outbox.Deliver(ctx, id); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *noticeFixture) app(name string, managers, viewers []string) portal.Application {
	f.t.Helper()
	o := storetest.CreateOrganisation(f.t, f.st, portal.Organisation{Name: emulatortest.UniqueName(name), CreatedAt: t0})
	return storetest.CreateApp(f.t, f.st, storetest.App{
		Application:  portal.Application{Name: name, Organisation: portal.OrganisationRef{ID: o.ID, Name: o.Name}, CreatedAt: t0},
		Designations: storetest.Designations(managers, viewers),
	})
}

// mail delivers the pending notices and returns this fixture's messages by
// recipient.
func (f *noticeFixture) mail() map[string][]emulator.Mail {
	f.t.Helper()
	f.deliver()
	all, err := f.emu.SentMail(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string][]emulator.Mail{}
	for _, m := range all {
		if m.Source != f.sender {
			continue
		}
		seen := map[string]bool{}
		for _, d := range m.Destination {
			if !seen[d] {
				seen[d] = true
				out[d] = append(out[d], m)
			}
		}
	}
	return out
}

func TestSecurityNotices(t *testing.T) {
	f := newNoticeFixture(t)
	ctx := context.Background()
	acme := f.app("Acme Search", []string{"alice@acme.test", "bob@acme.test"}, []string{"victor@acme.test"})
	f.app("Globex Matching", []string{"carol@globex.test"}, nil)
	days := 90
	alice := portal.Caller{Email: "alice@acme.test", Issuer: "https://issuer.test/", Subject: "alice"}
	created, err := f.svc.CreateSecret(ctx, alice, acme.ID, portal.CreateSecretInput{Name: "Secret by Alice", LifetimeDays: &days},
		portal.Request{SourceIP: "203.0.113.9", UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"})
	if err != nil {
		t.Fatal(err)
	}
	got := f.mail()
	if len(got) != 2 || len(got["alice@acme.test"]) != 1 || len(got["bob@acme.test"]) != 1 {
		t.Fatalf("created: notices to %v", keysOf(got))
	}
	m := got["bob@acme.test"][0]
	if m.Subject != "Client secret created on Acme Search" {
		t.Errorf("subject %q", m.Subject)
	}
	if from := m.Header.Get("From"); from != `"Registry API Credentials" <`+f.sender+`>` {
		t.Errorf("From %q", from)
	}
	wantText := `A client secret of Acme Search was created.

Secret:     Secret by Alice (` + created.Hint + `…)
Expires:    2027-02-24 09:15 UTC
By:         alice@acme.test
When:       2026-11-26 09:15 UTC
From:       203.0.113.9
User agent: Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0

If you do not recognise this change, tell your registry contact at once.

https://portal.test/applications/` + acme.ID + `
`
	if got := strings.ReplaceAll(m.Text, "\r\n", "\n"); got != wantText {
		t.Errorf("text part\n got %s\nwant %s", got, wantText)
	}
	if want := `<tr><th align="left">User agent</th><td>Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0</td></tr>`; !strings.Contains(m.HTML, want) {
		t.Errorf("HTML part lacks %q:\n%s", want, m.HTML)
	}
	for _, part := range []string{m.Text, m.HTML} {
		for _, want := range []string{"created", "Secret by Alice", created.Hint + "…", "alice@acme.test", "2026-11-26 09:15 UTC", "2027-02-24 09:15 UTC", "203.0.113.9", "https://portal.test/applications/" + acme.ID} {
			if !strings.Contains(part, want) {
				t.Errorf("created notice lacks %q:\n%s", want, part)
			}
		}
	}
	if strings.Contains(m.Raw, created.Value) || bytes.Contains([]byte(m.Raw), []byte(created.Value[len(created.Value)-10:])) {
		t.Fatal("the notice carries the secret's value")
	}

	admin := portal.Caller{Email: "admin@operator.test", Admin: true}
	if err := f.svc.DeleteSecret(ctx, admin, acme.ID, created.ID, false, portal.Request{}); err != nil {
		t.Fatal(err)
	}
	got = f.mail()
	if len(got) != 2 || len(got["alice@acme.test"]) != 2 || len(got["bob@acme.test"]) != 2 {
		t.Fatalf("deleted: notices to %v", keysOf(got))
	}
	m = got["alice@acme.test"][1]
	if m.Subject != "Client secret deleted on Acme Search" || !strings.Contains(m.Text, "By:         admin@operator.test") || !strings.Contains(m.Text, "Secret by Alice ("+created.Hint+"…)") {
		t.Errorf("deleted notice %q:\n%s", m.Subject, m.Text)
	}
	if strings.Contains(m.Text, "Expires:") {
		t.Errorf("a deletion notice shows no expiry:\n%s", m.Text)
	}
}

// Without a credential manager, the notice goes to the fallback address.
func TestSecurityNoticeFallback(t *testing.T) {
	f := newNoticeFixture(t)
	orphan := f.app("Initech Billing", nil, []string{"vera@initech.test"})
	days := 30
	if _, err := f.svc.CreateSecret(context.Background(), portal.Caller{Email: "admin@operator.test", Admin: true}, orphan.ID, portal.CreateSecretInput{Name: "Ops", LifetimeDays: &days}, portal.Request{}); err != nil {
		t.Fatal(err)
	}
	got := f.mail()
	if len(got) != 1 || len(got[f.fallback]) != 1 {
		t.Fatalf("notices to %v", keysOf(got))
	}
}

func keysOf(m map[string][]emulator.Mail) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"×"+string(rune('0'+len(v))))
	}
	return out
}

// Federated credentials are announced as secrets are: created and deleted,
// to the managers, naming the credential's issuer and subject.
func TestFederatedCredentialNotices(t *testing.T) {
	f := newNoticeFixture(t)
	ctx := context.Background()
	acme := f.app("Acme Deploy", []string{"alice@acme.test"}, []string{"victor@acme.test"})
	fed := portal.NewFederatedService(f.svc, f.st, portal.Federation{
		TrustedIssuers: []string{"https://token.actions.githubusercontent.com"}, DefaultAudience: "https://portal.test", Limit: 20,
	})
	alice := portal.Caller{Email: "alice@acme.test", Issuer: "https://issuer.test/", Subject: "alice"}
	created, err := fed.CreateFederatedCredential(ctx, alice, acme.ID, portal.CreateFederatedInput{
		Name: "Deploy <main>", Issuer: "https://token.actions.githubusercontent.com", Subject: "repo:acme/deploy:ref:refs/heads/main",
	}, portal.Request{SourceIP: "203.0.113.9"})
	if err != nil {
		t.Fatal(err)
	}
	got := f.mail()
	if len(got) != 1 || len(got["alice@acme.test"]) != 1 {
		t.Fatalf("created: notices to %v", keysOf(got))
	}
	m := got["alice@acme.test"][0]
	if m.Subject != "Federated credential created on Acme Deploy" {
		t.Errorf("subject %q", m.Subject)
	}
	for _, want := range []string{"A federated credential of Acme Deploy was created.", "Deploy <main>", "https://token.actions.githubusercontent.com",
		"repo:acme/deploy:ref:refs/heads/main", "https://portal.test", "alice@acme.test", "203.0.113.9"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("created notice lacks %q:\n%s", want, m.Text)
		}
	}
	if !strings.Contains(m.HTML, "Deploy &lt;main&gt;") {
		t.Errorf("HTML part does not escape the name:\n%s", m.HTML)
	}
	if err := fed.DeleteFederatedCredential(ctx, alice, acme.ID, created.ID, portal.Request{}); err != nil {
		t.Fatal(err)
	}
	got = f.mail()
	if len(got["alice@acme.test"]) != 2 || got["alice@acme.test"][1].Subject != "Federated credential deleted on Acme Deploy" {
		t.Fatalf("deleted: notices %v", keysOf(got))
	}
}

func TestKeyNotices(t *testing.T) {
	f := newNoticeFixture(t)
	ctx := context.Background()
	acme := f.app("Acme Keys", []string{"alice@acme.test"}, []string{"victor@acme.test"})
	alice := portal.Caller{Email: "alice@acme.test", Issuer: "https://issuer.test/", Subject: "alice"}
	days := 30
	pk, _ := json.Marshal(map[string]string{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})
	created, err := f.svc.CreateKey(ctx, alice, acme.ID, portal.CreateKeyInput{Name: "CI <key>", PublicKey: pk, LifetimeDays: &days}, portal.Request{SourceIP: "203.0.113.9"})
	if err != nil {
		t.Fatal(err)
	}
	got := f.mail()
	if len(got) != 1 || len(got["alice@acme.test"]) != 1 {
		t.Fatalf("created: notices to %v", keysOf(got))
	}
	m := got["alice@acme.test"][0]
	if m.Subject != "Key created on Acme Keys" {
		t.Errorf("subject %q", m.Subject)
	}
	// RFC 8037 appendix A.3's thumbprint of this key.
	for _, want := range []string{"A key of Acme Keys was created.", "CI <key>", "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k", "2026-12-26 09:15 UTC", "alice@acme.test", "203.0.113.9"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("created notice lacks %q:\n%s", want, m.Text)
		}
	}
	if !strings.Contains(m.HTML, "CI &lt;key&gt;") {
		t.Errorf("HTML part does not escape the name:\n%s", m.HTML)
	}
	if err := f.svc.DeleteKey(ctx, alice, acme.ID, created.ID, false, portal.Request{}); err != nil {
		t.Fatal(err)
	}
	got = f.mail()
	if len(got["alice@acme.test"]) != 2 || got["alice@acme.test"][1].Subject != "Key deleted on Acme Keys" {
		t.Fatalf("deleted: notices %v", keysOf(got))
	}
}
