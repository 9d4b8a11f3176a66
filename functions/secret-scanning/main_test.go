package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"credportal/infra/emulator/emulatortest"
	"credportal/infra/lambdarun/lambdaruntest"
	"credportal/infra/testlog"
	"credportal/shared/directory"
	"credportal/shared/keys"
	"credportal/shared/portal"
	"credportal/shared/store"
)

func TestMain(m *testing.M) { os.Exit(emulatortest.RunTests(m)) }

// signer is the key that signed events/secret-scanning.json: a key for
// tests, published by the test's own key list server.
func signer(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	raw, err := os.ReadFile("testdata/signer.pem")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		t.Fatal("testdata/signer.pem holds no PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*ecdsa.PrivateKey)
}

// keyList serves the key list naming key as GitHub names its keys: the
// identifier is computed here, independently, from the key's DER.
func keyList(t *testing.T, key *ecdsa.PrivateKey) (string, *httptest.Server) {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	id := hex.EncodeToString(sum[:])
	body, err := json.Marshal(map[string]any{"public_keys": []map[string]any{{
		"key_identifier": id, "key": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "is_current": true,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return id, srv
}

type feedback struct {
	TokenHash string `json:"token_hash"`
	TokenType string `json:"token_type"`
	Label     string `json:"label"`
}

func sha(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// TestReportsUnderRuntimeEmulator builds the function's bootstrap, runs it
// under the Lambda runtime emulator with the environment template.yaml gives
// it, and sends it the sample report, then a report of a real secret: it is
// revoked and its manager told once, however often it is reported.
func TestReportsUnderRuntimeEmulator(t *testing.T) {
	ctx := context.Background()
	emu := emulatortest.ForTest(t)
	h := lambdaruntest.New(t, emu, "SecretScanningFunction")
	key := signer(t)
	keyID, srv := keyList(t, key)
	h.Locals.Params["SecretScanningKeysUrl"] = srv.URL
	env := h.Env(t, "SecretScanningFunction")
	if env["LEAK_ACTION"] != "revoke" || env["SECRET_SCANNING_KEYS_URL"] != srv.URL || env["SENDER_EMAIL"] == "" || env["PEPPER_SECRET_ID"] == "" {
		t.Fatalf("environment %v", env)
	}

	// An application with a manager and a secret, made through the domain.
	cfg := emu.Config()
	st := store.New(dynamodb.NewFromConfig(cfg), h.Locals.Refs["Table"])
	admin := portal.Caller{Email: "admin@operator.test", Admin: true}
	adm := portal.NewAdmin(st, portal.DefaultConfig(), time.Now, rand.Reader, directory.None{})
	svc := portal.NewService(st, keys.NewPeppers(secretsmanager.NewFromConfig(cfg), h.Locals.Refs["PepperSecret"], time.Now), portal.DefaultConfig(), time.Now, rand.Reader)
	org, err := adm.CreateOrganisation(ctx, admin, portal.OrganisationInput{Name: "Acme Ltd", Country: "GB"}, portal.Request{})
	if err != nil {
		t.Fatal(err)
	}
	app, err := adm.CreateApplication(ctx, admin, org.ID, portal.ApplicationInput{Name: "Acme Search", APIs: []string{"search-match"}}, portal.Request{})
	if err != nil {
		t.Fatal(err)
	}
	manager := strings.ToLower(emulatortest.UniqueName("alice")) + "@acme.example"
	if _, err := adm.SetDesignation(ctx, admin, app.ID, manager, portal.RoleCredentialManager, portal.Request{}); err != nil {
		t.Fatal(err)
	}
	days := 30
	sec, err := svc.CreateSecret(ctx, admin, app.ID, portal.CreateSecretInput{Name: "Deploy key", LifetimeDays: &days}, portal.Request{})
	if err != nil {
		t.Fatal(err)
	}

	var logs testlog.Buffer
	in := h.Start(t, "SecretScanningFunction", &logs)
	sample := h.Event(t, "secret-scanning.json")
	var ev map[string]any
	if err := json.Unmarshal(sample, &ev); err != nil {
		t.Fatal(err)
	}
	headers := ev["headers"].(map[string]any)
	if headers["github-public-key-identifier"] != keyID {
		t.Fatalf("the sample is not signed by testdata/signer.pem: %v", headers["github-public-key-identifier"])
	}
	invoke := func(body string, sign bool) (int, []feedback) {
		t.Helper()
		ev["body"] = body
		headers["content-length"] = strconv.Itoa(len(body))
		if sign {
			d := sha256.Sum256([]byte(body))
			sig, err := ecdsa.SignASN1(rand.Reader, key, d[:])
			if err != nil {
				t.Fatal(err)
			}
			headers["github-public-key-signature"] = base64.StdEncoding.EncodeToString(sig)
		}
		raw, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		resp := lambdaruntest.InvokeHTTP(t, in, raw)
		var fb []feedback
		if resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal([]byte(resp.Body), &fb); err != nil {
				t.Fatalf("feedback %s: %v", resp.Body, err)
			}
		}
		return resp.StatusCode, fb
	}

	// The sample as it is: signed, two values that are not ours.
	var matches []struct{ Token, Type string }
	if err := json.Unmarshal([]byte(ev["body"].(string)), &matches); err != nil || len(matches) != 2 {
		t.Fatalf("sample body: %v", err)
	}
	status, fb := invoke(ev["body"].(string), false)
	want := []feedback{
		{sha(matches[0].Token), "credportal_client_secret", "false_positive"},
		{sha(matches[1].Token), "credportal_client_secret", "false_positive"},
	}
	if status != http.StatusOK || !slices.Equal(fb, want) {
		t.Fatalf("the sample: %d %+v, want %+v\n%s", status, fb, want, logs.String())
	}

	// A report of the real secret, three times.
	report := `[{"token":"` + sec.Value + `","type":"credportal_client_secret","url":"https://github.com/acme/deploy/blob/1/.env","source":"content"}]`
	for i := range 3 {
		status, fb := invoke(report, true)
		if status != http.StatusOK || !slices.Equal(fb, []feedback{{sha(sec.Value), "credportal_client_secret", "true_positive"}}) {
			t.Fatalf("report %d: %d %+v\n%s", i, status, fb, logs.String())
		}
	}
	if _, err := st.GetSecret(ctx, app.ID, sec.ID); err == nil {
		t.Fatal("the reported secret was not revoked")
	}
	all, err := emu.SentMail(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got int
	for _, m := range all {
		if slices.Contains(m.Destination, manager) {
			got++
			if !strings.Contains(m.Text, "Deploy key") || !strings.Contains(m.Text, "https://github.com/acme/deploy/blob/1/.env") {
				t.Errorf("notice:\n%s", m.Text)
			}
		}
	}
	if got != 1 {
		t.Fatalf("%d notices to the manager over three reports, want 1", got)
	}

	// Signed, then changed: refused, nothing read.
	status, _ = invoke(strings.Replace(report, "content", "commit", 1), false)
	if status != http.StatusUnauthorized {
		t.Fatalf("a tampered report: %d", status)
	}
	if strings.Contains(logs.String(), sec.Value) {
		t.Fatal("the secret's value reached the function's log")
	}
}
