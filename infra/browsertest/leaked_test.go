package browsertest_test

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"credportal/infra/localstack"
)

// TestLeakedSecret reports a demo secret to a stack deployed with
// LeakAction=notify, signed as GitHub's secret scanning signs it, and
// follows its credential manager to the application page: the secret's row
// is badged leaked, and the audit log tells who found it where.
func TestLeakedSecret(t *testing.T) {
	stack := startStack(t, map[string]string{"LeakAction": "notify"})
	leaked := secretNamed(t, stack, "Production key")
	const where = "https://github.com/acme/search/blob/main/.env"
	reportLeak(t, stack, leaked.Value, where)

	tb := newTab(t, newBrowser(t), stack.URL)
	tb.open("")
	tb.signInAs("alice@acme.example")
	id := appID(tb, "Acme Search")
	tb.click(fmt.Sprintf(`#applications li.card[data-id=%q] h2 a`, id))
	row := fmt.Sprintf(`#secrets tbody tr[data-secret=%q]`, leaked.SecretID)
	tb.waitFor(row)
	tb.waitFor(`#audit li[data-action="secret.leaked"]`)

	// The row's status cell holds the badge, read by its text, and its title
	// says what to do.
	badge := evalJS[[]string](tb, fmt.Sprintf(`(() => {
		const b = document.querySelector(%q + ' td[data-label="Status"] .badge');
		if (!b) return [];
		return [b.className, b.textContent, b.title, String(b.closest('[aria-hidden="true"]') === null), String(b.getClientRects().length > 0)];
	})()`, row))
	want := []string{"badge alert", "leaked", "Found in public and still working: replace it, then delete it.", "true", "true"}
	if strings.Join(badge, " | ") != strings.Join(want, " | ") {
		t.Errorf("leaked secret's status badge %q, want %q", badge, want)
	}
	// The other secrets of the application are not badged leaked.
	if others := evalJS[[]string](tb, fmt.Sprintf(`[...document.querySelectorAll('#secrets tbody tr:not([data-secret=%q]) td[data-label="Status"]')].map(td => td.textContent).filter(s => s === 'leaked')`, leaked.SecretID)); len(others) != 0 {
		t.Errorf("%d other secrets badged leaked", len(others))
	}

	sentence := tb.text(`#audit li[data-action="secret.leaked"] .sentence`)
	if w := `secret-scanning:github reported secret "Production key" (hint ` + evalJS[string](tb, fmt.Sprintf(`document.querySelector(%q).dataset.hint`, row)) +
		`…) as leaked at ` + where + `; it stays usable until someone deletes it.`; sentence != w {
		t.Errorf("audit log reads %q, want %q", sentence, w)
	}
	tb.check("application-leaked")
}

// reportLeak posts a secret scanning report of value, found at url, signed
// with the stand-in signer's key as `make dev` writes it.
func reportLeak(t *testing.T, stack *localstack.Stack, value, url string) {
	t.Helper()
	pemPath := filepath.Join(t.TempDir(), "secret-scanning.pem")
	if err := stack.WriteScanningKey(pemPath); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(pemPath)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		t.Fatalf("no PEM in %s", pemPath)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("the scanning key is a %T, want ECDSA", parsed)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	keyID := sha256.Sum256(der)

	report := `[{"token":"` + value + `","type":"credportal_client_secret","url":"` + url + `","source":"content"}]`
	digest := sha256.Sum256([]byte(report))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, stack.URL+"/secret-scanning/github", strings.NewReader(report))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Github-Public-Key-Identifier", hex.EncodeToString(keyID[:]))
	req.Header.Set("Github-Public-Key-Signature", base64.StdEncoding.EncodeToString(sig))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("secret scanning report: status %d: %s", resp.StatusCode, body)
	}
}
