package localstack

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSecretScanningReport follows docs/local-stack.md: the stand-in signer's key,
// written as `make dev` writes it, signs a report of a secret; the portal
// revokes it, tells its managers, and records it in the audit log.
func TestSecretScanningReport(t *testing.T) {
	pemPath := filepath.Join(t.TempDir(), "secret-scanning.pem")
	if err := stack.WriteScanningKey(pemPath); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(pemPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	raw, err := os.ReadFile(pemPath)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("not a PKCS#8 PEM: %s", raw)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key := parsed.(*ecdsa.PrivateKey)
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	keyID := hex.EncodeToString(sum[:])

	// The key list names the key by the SHA-256 of its DER.
	r := call(t, http.MethodGet, "/local/secret-scanning/keys", "", "", "")
	var list struct {
		PublicKeys []struct {
			KeyIdentifier string `json:"key_identifier"`
			Key           string `json:"key"`
			IsCurrent     bool   `json:"is_current"`
		} `json:"public_keys"`
	}
	r.json(t, &list)
	if r.status != http.StatusOK || len(list.PublicKeys) != 1 || list.PublicKeys[0].KeyIdentifier != keyID || !list.PublicKeys[0].IsCurrent ||
		!strings.Contains(list.PublicKeys[0].Key, strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))) {
		t.Fatalf("key list: %d %s", r.status, r.body)
	}

	// A secret of Acme Search, managed by alice and bob.
	alice := token(t, "alice@acme.example", false)
	appID := applicationID(t, "Acme Search")
	r = call(t, http.MethodPost, "/v1/applications/"+appID+"/secrets", alice, "application/json", `{"name":"Pushed by mistake","lifetimeDays":30}`)
	var created struct{ ID, Value, Hint string }
	r.json(t, &created)
	if r.status != http.StatusCreated {
		t.Fatalf("create secret: %d %s", r.status, r.body)
	}

	report := `[{"token":"` + created.Value + `","type":"credportal_client_secret","url":"https://github.com/acme/search/blob/main/.env","source":"content"}]`
	digest := sha256.Sum256([]byte(report))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	post := func(signature string) response {
		req, _ := http.NewRequest(http.MethodPost, stack.URL+"/secret-scanning/github", strings.NewReader(report))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Github-Public-Key-Identifier", keyID)
		req.Header.Set("Github-Public-Key-Signature", signature)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out response
		out.status, out.header = resp.StatusCode, resp.Header
		if err := json.NewDecoder(resp.Body).Decode(&json.RawMessage{}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if r := post(base64.StdEncoding.EncodeToString(append([]byte{}, sig[:len(sig)-1]...))); r.status != http.StatusUnauthorized {
		t.Fatalf("a damaged signature: %d", r.status)
	}
	if r := post(base64.StdEncoding.EncodeToString(sig)); r.status != http.StatusOK {
		t.Fatalf("the signed report: %d", r.status)
	}

	var secrets struct{ Items []struct{ ID string } }
	call(t, http.MethodGet, "/v1/applications/"+appID+"/secrets", alice, "", "").json(t, &secrets)
	if slices.ContainsFunc(secrets.Items, func(s struct{ ID string }) bool { return s.ID == created.ID }) {
		t.Fatal("the reported secret is still listed")
	}
	var audit struct {
		Items []struct{ Action, Actor, SecretID string }
	}
	call(t, http.MethodGet, "/v1/applications/"+appID+"/audit", alice, "", "").json(t, &audit)
	var actions []string
	for _, ev := range audit.Items {
		if ev.SecretID == created.ID {
			actions = append(actions, ev.Action+" by "+ev.Actor)
		}
	}
	if want := []string{"secret.deleted by secret-scanning:github", "secret.leaked by secret-scanning:github", "secret.created by alice@acme.example"}; !slices.Equal(actions, want) {
		t.Fatalf("audit %q, want %q", actions, want)
	}

	req, _ := http.NewRequest(http.MethodGet, stack.URL+"/local/mail", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var mail struct {
		Items []struct {
			To            []string
			Subject, Text string
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&mail); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range mail.Items {
		if strings.Contains(m.Text, "Pushed by mistake") && strings.HasPrefix(m.Subject, "URGENT") {
			found = true
			if !slices.Contains(m.To, "alice@acme.example") || !slices.Contains(m.To, "bob@acme.example") || !strings.Contains(m.Text, "https://github.com/acme/search/blob/main/.env") {
				t.Errorf("notice to %v:\n%s", m.To, m.Text)
			}
		}
	}
	if !found {
		t.Fatal("no urgent notice in /local/mail")
	}
}
