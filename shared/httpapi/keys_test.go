package httpapi_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"credportal/infra/testlog"
	"credportal/shared/audit"
	"credportal/shared/portal"
	"credportal/shared/store"
)

func (a routedAPI) ListKeys() route {
	return route{"GET /v1/applications/{applicationId}/keys", a.API.ListKeys()}
}
func (a routedAPI) CreateKey() route {
	return route{"POST /v1/applications/{applicationId}/keys", a.API.CreateKey()}
}
func (a routedAPI) DeleteKey() route {
	return route{"DELETE /v1/applications/{applicationId}/keys/{keyId}", a.API.DeleteKey()}
}

func keyPath(appID, keyID string) map[string]string {
	return map[string]string{"applicationId": appID, "keyId": keyID}
}

func pemOf(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func keyBody(name string, publicKey any, extra string) string {
	pk, _ := json.Marshal(publicKey)
	return `{"name":` + string(must(json.Marshal(name))) + `,"publicKey":` + string(pk) + extra + `}`
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// certificate is a self-signed certificate for priv valid until notAfter.
func certificate(priv *ecdsa.PrivateKey, notAfter time.Time) string {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "client"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter}
	return pemOf("CERTIFICATE", must(x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)))
}

func TestKeyRoutes(t *testing.T) {
	f := newFixture(t)
	logs := testlog.Capture(t)
	ec := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	ec384 := must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader))
	rsaKey := must(rsa.GenerateKey(rand.Reader, 2048))
	smallRSA := must(rsa.GenerateKey(rand.Reader, 1024))
	edPub, edPriv := must2(ed25519.GenerateKey(rand.Reader))
	p224 := must(ecdsa.GenerateKey(elliptic.P224(), rand.Reader))
	ecPKCS8 := pemOf("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(ec)))
	ecSEC1 := pemOf("EC PRIVATE KEY", must(x509.MarshalECPrivateKey(ec)))
	rsaPKCS1 := pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey))
	edPrivate := map[string]string{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(edPub), "d": base64.RawURLEncoding.EncodeToString(edPriv.Seed())}
	secretJWK := map[string]string{"kty": "oct", "k": "c2VjcmV0LWtleS1tYXRlcmlhbA"}
	ecPub := pemOf("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&ec.PublicKey)))
	// Keys of their own for the certificate and the one past the limit: a
	// key registered already would be a duplicate (TestDuplicateKey).
	certKey := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	sixth := pemOf("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)).PublicKey)))
	later := f.now.Add(100 * 24 * time.Hour).Truncate(time.Second)

	cases := []struct {
		name, body string
		status     int
		code       string
		typ        string
		algs       string
		expires    time.Time
	}{
		{"P-256 PEM", keyBody("p256", ecPub, `,"lifetimeDays":30`), 201, "", "public_key", "ES256", time.Time{}},
		{"P-384 JWK", keyBody("p384", json.RawMessage(must((&jwkOf{ec384.Public()}).json())), `,"expiresAt":"`+later.Format(time.RFC3339)+`"`), 201, "", "public_key", "ES384", later},
		{"RSA 2048 PEM", keyBody("rsa", pemOf("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&rsaKey.PublicKey))), `,"lifetimeDays":30`), 201, "", "public_key", "RS256", time.Time{}},
		{"Ed25519 JWK", keyBody("ed", map[string]string{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(edPub)}, `,"lifetimeDays":30`), 201, "", "public_key", "EdDSA", time.Time{}},
		{"certificate: its notAfter", keyBody("cert", certificate(certKey, later), ""), 201, "", "certificate", "ES256", later},
		{"full: the limit", keyBody("sixth", sixth, `,"lifetimeDays":30`), 409, "key_limit_reached", "", "", time.Time{}},
	}
	refusals := []struct {
		name, body string
		status     int
		code       string
	}{
		{"PKCS#8 private key", keyBody("x", ecPKCS8, `,"lifetimeDays":30`), 400, "private_key_refused"},
		{"SEC 1 private key", keyBody("x", ecSEC1, `,"lifetimeDays":30`), 400, "private_key_refused"},
		{"PKCS#1 private key", keyBody("x", rsaPKCS1, `,"lifetimeDays":30`), 400, "private_key_refused"},
		{"public key followed by its private key", keyBody("x", ecPub+ecPKCS8, `,"lifetimeDays":30`), 400, "private_key_refused"},
		{"private JWK", keyBody("x", edPrivate, `,"lifetimeDays":30`), 400, "private_key_refused"},
		{"symmetric JWK", keyBody("x", secretJWK, `,"lifetimeDays":30`), 400, "private_key_refused"},
		{"private JWK member in upper case", keyBody("x", map[string]string{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(edPub), "D": "c2VjcmV0"}, `,"lifetimeDays":30`), 400, "private_key_refused"},
		{"JWK with an unknown member", keyBody("x", map[string]string{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(edPub), "note": "hi"}, `,"lifetimeDays":30`), 400, "invalid_public_key"},
		{"JWK for encryption", keyBody("x", map[string]string{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(edPub), "use": "enc"}, `,"lifetimeDays":30`), 400, "key_not_for_signing"},
		{"RSA 1024", keyBody("x", pemOf("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&smallRSA.PublicKey))), `,"lifetimeDays":30`), 400, "unsupported_key"},
		{"P-224", keyBody("x", pemOf("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&p224.PublicKey))), `,"lifetimeDays":30`), 400, "unsupported_key"},
		{"garbage", keyBody("x", "hello", `,"lifetimeDays":30`), 400, "invalid_public_key"},
		{"a number", keyBody("x", 42, `,"lifetimeDays":30`), 400, "invalid_public_key"},
		{"bare key without expiry", keyBody("x", ecPub, ""), 400, "invalid_lifetime"},
		{"certificate outlived", keyBody("x", certificate(ec, later), `,"lifetimeDays":200`), 400, "invalid_lifetime"},
		{"no name", keyBody("", ecPub, `,"lifetimeDays":30`), 400, "invalid_name"},
	}
	for _, c := range refusals {
		t.Run(c.name, func(t *testing.T) {
			status, body, _ := call(t, f.api.CreateKey(), req(managerA, app(f.a1), nil, c.body))
			if status != c.status || errCode(body) != c.code {
				t.Fatalf("%d %v, want %d %s", status, body, c.status, c.code)
			}
		})
	}
	t.Run("a viewer may list but not create", func(t *testing.T) {
		if status, body, _ := call(t, f.api.CreateKey(), req(viewerA, app(f.a1), nil, keyBody("v", ecPub, `,"lifetimeDays":30`))); status != 403 {
			t.Fatalf("viewer create: %d %v", status, body)
		}
		if status, _, _ := call(t, f.api.ListKeys(), req(viewerA, app(f.a1), nil, "")); status != 200 {
			t.Fatalf("viewer list: %d", status)
		}
		if status, _, _ := call(t, f.api.ListKeys(), req(managerB, app(f.a1), nil, "")); status != 404 {
			t.Fatalf("another organisation's list: %d", status)
		}
	})
	var ids []string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body, _ := call(t, f.api.CreateKey(), req(managerA, app(f.a1), nil, c.body))
			if status != c.status || errCode(body) != c.code {
				t.Fatalf("%d %v, want %d %s", status, body, c.status, c.code)
			}
			if status != 201 {
				return
			}
			ids = append(ids, body["id"].(string))
			algs, _ := body["algorithms"].([]any)
			if c.expires.IsZero() { // 30 days from its creation
				c.expires = must(time.Parse(time.RFC3339, body["createdAt"].(string))).Add(30 * 24 * time.Hour)
			}
			if body["type"] != c.typ || len(algs) == 0 || algs[0] != c.algs || body["expiresAt"] != c.expires.UTC().Format(time.RFC3339) ||
				len(body["thumbprint"].(string)) != 43 || body["status"] != "active" || body["createdBy"] != managerA {
				t.Fatalf("created %v", body)
			}
		})
	}
	t.Run("the list shows every key; the audit trail records them", func(t *testing.T) {
		_, body, _ := call(t, f.api.ListKeys(), req(viewerA, app(f.a1), nil, ""))
		if len(items(body)) != 5 {
			t.Fatalf("list %v", body)
		}
		_, evs, _ := call(t, f.api.ListEvents(), req(managerA, app(f.a1), nil, ""))
		n := 0
		for _, e := range items(evs) {
			if e.(map[string]any)["action"] == audit.KeyCreated {
				n++
			}
		}
		if n != 5 {
			t.Fatalf("%d key.created events", n)
		}
	})
	t.Run("delete: recently used needs confirm", func(t *testing.T) {
		st := store.New(f.db, f.table)
		clientID := clientIDOf(t, f, f.a1)
		if _, err := st.MarkKeyUsed(context.Background(), clientID, f.a1, ids[0], time.Now()); err != nil {
			t.Fatal(err)
		}
		if status, body, _ := call(t, f.api.DeleteKey(), req(managerA, keyPath(f.a1, ids[0]), nil, "")); status != 409 || errCode(body) != "recently_used" {
			t.Fatalf("%d %v", status, body)
		}
		if status, body, _ := call(t, f.api.DeleteKey(), req(managerA, keyPath(f.a1, ids[0]), map[string]string{"confirm": "true"}, "")); status != 204 {
			t.Fatalf("%d %v", status, body)
		}
		if status, body, _ := call(t, f.api.DeleteKey(), req(managerA, keyPath(f.a1, ids[1]), nil, "")); status != 204 {
			t.Fatalf("unused: %d %v", status, body)
		}
		if status, body, _ := call(t, f.api.DeleteKey(), req(managerA, keyPath(f.a1, ids[1]), nil, "")); status != 404 || errCode(body) != "key_not_found" {
			t.Fatalf("again: %d %v", status, body)
		}
		if status, _, _ := call(t, f.api.DeleteKey(), req(viewerA, keyPath(f.a1, ids[2]), nil, "")); status != 403 {
			t.Fatalf("viewer delete: %d", status)
		}
		client, err := st.Client(context.Background(), clientID)
		if err != nil || len(client.Keys) != 3 {
			t.Fatalf("client item keys %d %v", len(client.Keys), err)
		}
	})
	t.Run("no private key material in the logs", func(t *testing.T) {
		out := logs.String()
		// The first line of each PEM's base64, and the JWKs' private members.
		for _, s := range []string{strings.Split(ecPKCS8, "\n")[1], strings.Split(ecSEC1, "\n")[1], strings.Split(rsaPKCS1, "\n")[1], edPrivate["d"], secretJWK["k"]} {
			if strings.Contains(out, s) {
				t.Fatalf("the logs hold private key material: %s", s)
			}
		}
	})
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}

type jwkOf struct{ key any }

func (j *jwkOf) json() ([]byte, error) {
	pub := j.key.(*ecdsa.PublicKey)
	size := (pub.Curve.Params().BitSize + 7) / 8
	return json.Marshal(map[string]string{
		"kty": "EC", "crv": pub.Curve.Params().Name,
		"x": base64.RawURLEncoding.EncodeToString(pub.X.FillBytes(make([]byte, size))),
		"y": base64.RawURLEncoding.EncodeToString(pub.Y.FillBytes(make([]byte, size))),
	})
}

func clientIDOf(t *testing.T, f *fixture, appID string) string {
	t.Helper()
	a, err := store.New(f.db, f.table).GetApplication(context.Background(), appID)
	if err != nil {
		t.Fatal(err)
	}
	return a.ClientID
}

// TestKeyLimitUnderConcurrency: with the application at its limit, 50
// concurrent creates all get 409.
func TestKeyLimitUnderConcurrency(t *testing.T) {
	f := newFixture(t)
	newPub := func() string {
		return pemOf("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)).PublicKey)))
	}
	for i := 0; i < portal.DefaultKeyLimit; i++ {
		if status, out, _ := call(t, f.api.CreateKey(), req(admin, app(f.a2), nil, keyBody("k", newPub(), `,"lifetimeDays":30`))); status != 201 {
			t.Fatalf("%d %v", status, out)
		}
	}
	body := keyBody("k", newPub(), `,"lifetimeDays":30`)
	var conflicts, other atomic.Int64
	var wg sync.WaitGroup
	h := f.api.CreateKey().h
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := h(context.Background(), req(admin, app(f.a2), nil, body))
			if err == nil && resp.StatusCode == http.StatusConflict {
				conflicts.Add(1)
			} else {
				other.Add(1)
			}
		}()
	}
	wg.Wait()
	if conflicts.Load() != 50 {
		t.Fatalf("%d conflicts, %d other answers", conflicts.Load(), other.Load())
	}
	a, err := store.New(f.db, f.table).GetApplication(context.Background(), f.a2)
	if err != nil || a.ActiveKeys(time.Now()) != portal.DefaultKeyLimit {
		t.Fatalf("active keys %d %v", a.ActiveKeys(time.Now()), err)
	}
}

// TestDuplicateKey: a public key registered on an application cannot be
// registered again while active, in another form (PEM, then JWK) or by
// concurrent creates (exactly one wins); once deleted, it can be again.
func TestDuplicateKey(t *testing.T) {
	f := newFixture(t)
	ec := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	pemBody := keyBody("pem", pemOf("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&ec.PublicKey))), `,"lifetimeDays":30`)
	jwkBody := keyBody("jwk", json.RawMessage(must((&jwkOf{ec.Public()}).json())), `,"lifetimeDays":30`)
	status, out, _ := call(t, f.api.CreateKey(), req(admin, app(f.a2), nil, pemBody))
	if status != 201 {
		t.Fatalf("first: %d %v", status, out)
	}
	first, _ := out["id"].(string)
	if status, out, _ := call(t, f.api.CreateKey(), req(admin, app(f.a2), nil, jwkBody)); status != 409 || errCode(out) != "duplicate_key" {
		t.Fatalf("the same key as a JWK: %d %v", status, out)
	}
	// Another application may hold the same key.
	if status, out, _ := call(t, f.api.CreateKey(), req(admin, app(f.a1), nil, jwkBody)); status != 201 {
		t.Fatalf("on another application: %d %v", status, out)
	}

	other := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	body := keyBody("race", pemOf("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&other.PublicKey))), `,"lifetimeDays":30`)
	var created, duplicates, rest atomic.Int64
	var wg sync.WaitGroup
	h := f.api.CreateKey().h
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := h(context.Background(), req(admin, app(f.a2), nil, body))
			switch {
			case err == nil && resp.StatusCode == http.StatusCreated:
				created.Add(1)
			case err == nil && resp.StatusCode == http.StatusConflict && strings.Contains(resp.Body, `"duplicate_key"`):
				duplicates.Add(1)
			default:
				rest.Add(1)
			}
		}()
	}
	wg.Wait()
	if created.Load() != 1 || duplicates.Load() != 19 {
		t.Fatalf("20 concurrent creates of one key: %d created, %d duplicates, %d other", created.Load(), duplicates.Load(), rest.Load())
	}

	if status, out, _ := call(t, f.api.DeleteKey(), req(admin, keyPath(f.a2, first), map[string]string{"confirm": "true"}, "")); status != 204 {
		t.Fatalf("delete: %d %v", status, out)
	}
	if status, out, _ := call(t, f.api.CreateKey(), req(admin, app(f.a2), nil, jwkBody)); status != 201 {
		t.Fatalf("after the first was deleted: %d %v", status, out)
	}
}
