package browsertest_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// keys: a credential manager adds an EC P-256 public key and sees it listed
// with the RFC 7638 thumbprint the test computes; a pasted private key is
// refused beside the field; a viewer sees the list without the form or
// deletes; the manager deletes the key after a confirmation.
func keys(t *testing.T, tb *tab, appID string) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	publicPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}))
	privatePEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	tp, err := (&jose.JSONWebKey{Key: &priv.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	thumbprint := base64.RawURLEncoding.EncodeToString(tp)

	tb.open("")
	tb.waitFor("button.user")
	tb.signInAs("alice@acme.example")
	tb.open("#/applications/" + appID)
	tb.waitFor("#key-form")
	// The page is ready once the route has focused its title.
	tb.waitJS(`document.activeElement === document.querySelector('main h1')`, "the application page loaded")
	if order := evalJS[[]string](tb, `[...document.querySelectorAll('main section h2')].map(e => e.id)`); !inOrder(order, "secrets-title", "keys-title", "federated-title") {
		t.Errorf("section order %q, want keys between client secrets and federated credentials", order)
	}
	if got := tb.text("#key-lifetime-hint"); got == "" {
		t.Errorf("the lifetime has no hint")
	}

	// A private key is refused, beside the field, and nothing is added.
	tb.expect("400 (Bad Request)")
	tb.typeInto("#key-name", "CI signing key")
	tb.typeInto("#key-public", privatePEM)
	tb.click("#create-key")
	tb.waitFor("#key-public-error")
	if got := evalJS[string](tb, `document.getElementById('key-public').getAttribute('aria-invalid')`); got != "true" {
		t.Errorf("the key field's aria-invalid is %q after a private key, want true", got)
	}
	if got := evalJS[bool](tb, `document.getElementById('key-public').getAttribute('aria-describedby').split(' ').includes('key-public-error')`); !got {
		t.Errorf("the key field is not described by its error")
	}
	if got := evalJS[string](tb, `document.activeElement.id`); got != "key-public" {
		t.Errorf("focus on %q after a private key, want the key field", got)
	}
	tb.check("application-keys-error")
	if n := evalJS[int](tb, `document.querySelectorAll('#keys tbody tr').length`); n != 0 {
		t.Fatalf("%d keys listed after a refused private key", n)
	}

	tb.typeInto("#key-public", publicPEM)
	tb.click("#create-key")
	tb.waitFor("#keys tbody tr")
	row := evalJS[map[string]string](tb, `(() => { const r = document.querySelector('#keys tbody tr'); return {
		id: r.dataset.key, name: r.querySelector('.name span').textContent, type: r.querySelector('.type').dataset.type,
		thumbprint: r.querySelector('.thumbprint').textContent, algorithms: r.querySelector('.algorithms').textContent,
		urgency: r.querySelector('.expires [data-urgency]').dataset.urgency, lastUsed: r.querySelector('.last-used').textContent }; })()`)
	want := map[string]string{"name": "CI signing key", "type": "public_key", "thumbprint": thumbprint, "algorithms": "ES256", "urgency": "neutral", "lastUsed": "never"}
	for k, v := range want {
		if row[k] != v {
			t.Errorf("listed key's %s is %q, want %q", k, row[k], v)
		}
	}
	tb.check("application-keys")

	tb.signOut()
	tb.signInAs("victor@acme.example")
	tb.open("#/applications/" + appID)
	tb.waitFor(fmt.Sprintf("tr[data-key=%q]", row["id"]))
	if got := tb.text(fmt.Sprintf("tr[data-key=%q] .thumbprint", row["id"])); got != thumbprint {
		t.Errorf("a viewer sees thumbprint %q, want %q", got, thumbprint)
	}
	if n := evalJS[int](tb, `document.querySelectorAll('#key-form, #keys button.delete').length`); n != 0 {
		t.Errorf("a viewer sees %d key create/delete controls", n)
	}

	tb.signOut()
	tb.signInAs("alice@acme.example")
	tb.open("#/applications/" + appID)
	tb.waitFor(fmt.Sprintf("tr[data-key=%q] button.delete", row["id"]))
	tb.click(fmt.Sprintf("tr[data-key=%q] button.delete", row["id"]))
	tb.waitFor("#confirm-delete")
	if got := tb.text("dialog .thumbprint"); got != thumbprint {
		t.Errorf("the delete dialog names thumbprint %q, want %q", got, thumbprint)
	}
	tb.check("key-delete-dialog")
	tb.click("#confirm-delete")
	tb.waitJS(`document.getElementById('keys-empty') !== null && !document.querySelector('#keys tbody tr')`, "no key listed after the delete")
}

// inOrder reports whether want appear in got in that order.
func inOrder(got []string, want ...string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}
