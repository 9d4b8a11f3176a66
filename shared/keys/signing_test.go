package keys_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"credportal/infra/emulator/emulatortest"
	"credportal/shared/keys"
)

func TestMain(m *testing.M) { os.Exit(emulatortest.RunTests(m)) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func put(t *testing.T, sm *secretsmanager.Client, id, value string) {
	t.Helper()
	if _, err := sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(value)}); err != nil {
		t.Fatal(err)
	}
}

func TestParseSigningKey(t *testing.T) {
	k := newKey(t)
	pkcs8, err := keys.EncodeSigningKey(k)
	if err != nil {
		t.Fatal(err)
	}
	sec1der, _ := x509.MarshalECPrivateKey(k)
	sec1 := "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" + string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1der}))
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384pem, _ := keys.EncodeSigningKey(p384)
	cases := []struct {
		name string
		text string
		ok   bool
	}{
		{"PKCS#8", pkcs8, true},
		{"SEC1 as openssl writes it", sec1, true},
		{"random text", "Zq0Sx8n2VwW1mT6yL4cB9aE3", false},
		{"empty", "", false},
		{"a P-384 key", p384pem, false},
		{"a broken block", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := keys.ParseSigningKey([]byte(c.text))
			if c.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
			if c.ok && !got.Equal(k) {
				t.Fatal("a different key came back")
			}
		})
	}
}

func TestSigningKeysGenerateOnceAndRotate(t *testing.T) {
	ctx := context.Background()
	emu := emulatortest.ForTest(t)
	sm := secretsmanager.NewFromConfig(emu.Config())
	id := emulatortest.NewSecret(t, emu) // random text: no key yet
	c := &clock{t: time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)}

	reader := keys.NewSigningKeys(sm, id, c.Now, rand.Reader)
	if _, err := reader.Current(ctx); !errors.Is(err, keys.ErrNoSigningKey) {
		t.Fatalf("Current without a key and without generating = %v", err)
	}
	if pub, err := reader.Published(ctx); err != nil || len(pub) != 0 {
		t.Fatalf("Published before any key = %v, %v", pub, err)
	}

	// Several cold starts generate at once: one key results.
	const starts = 6
	kids := make([]string, starts)
	var wg sync.WaitGroup
	for i := range starts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := keys.NewSigningKeys(sm, id, c.Now, rand.Reader).GenerateWith(sm).Current(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			kids[i] = k.ID
		}()
	}
	wg.Wait()
	for _, kid := range kids[1:] {
		if kid != kids[0] {
			t.Fatalf("racing cold starts disagree on the key: %v", kids)
		}
	}
	desc, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil || len(desc.VersionIdsToStages) != 2 {
		t.Fatalf("versions after generating = %v, %v; want the placeholder and one key", desc.VersionIdsToStages, err)
	}
	first := kids[0]

	// A reader that has seen no key yet looks again at once.
	if pub, err := reader.Published(ctx); err != nil || len(pub) != 1 || pub[0].ID != first {
		t.Fatalf("reader's Published once the key exists = %v, %v", pub, err)
	}

	// Rotation: a new PEM key becomes AWSCURRENT, the old one AWSPREVIOUS.
	rotated := newKey(t)
	text, _ := keys.EncodeSigningKey(rotated)
	put(t, sm, id, text)
	// Until SigningTTL passes the reader trusts what it read.
	if cur, err := reader.Current(ctx); err != nil || cur.ID != first {
		t.Fatalf("reader's Current before the TTL = %v, %v; want the cached %s", cur.ID, err, first)
	}
	c.Add(keys.SigningTTL)
	cur, err := reader.Current(ctx)
	want, _ := keys.NewSigningKey(rotated, "")
	if err != nil || cur.ID != want.ID {
		t.Fatalf("Current after rotation = %v, %v; want %s", cur.ID, err, want.ID)
	}
	set, err := reader.JWKS(ctx)
	if err != nil || len(set.Keys) != 2 || set.Keys[0].KeyID != want.ID || set.Keys[1].KeyID != first {
		t.Fatalf("JWKS after rotation = %+v, %v", set.Keys, err)
	}
	for _, k := range set.Keys {
		if !k.IsPublic() || k.Algorithm != "ES256" || k.Use != "sig" {
			t.Fatalf("published key %+v", k)
		}
	}
}

func TestSigningKeysServeStaleOnFailure(t *testing.T) {
	ctx := context.Background()
	emu := emulatortest.ForTest(t)
	sm := secretsmanager.NewFromConfig(emu.Config())
	id := emulatortest.NewSecret(t, emu)
	text, _ := keys.EncodeSigningKey(newKey(t))
	put(t, sm, id, text)
	c := &clock{t: time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)}
	k := keys.NewSigningKeys(sm, id, c.Now, rand.Reader)
	before, err := k.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(id), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	c.Add(keys.SigningTTL)
	after, err := k.Current(ctx)
	if err != nil || after.ID != before.ID {
		t.Fatalf("Current when Secrets Manager fails = %v, %v; want the key read before", after.ID, err)
	}
	if _, err := keys.NewSigningKeys(sm, id, c.Now, rand.Reader).Current(ctx); err == nil {
		t.Fatal("a cold start without Secrets Manager must fail")
	}
}

// A key staged as AWSPENDING is published before it signs, so a rotation
// that waits for the JWKS to be refetched leaves no token unverifiable.
func TestSigningKeysPublishAStagedKey(t *testing.T) {
	ctx := context.Background()
	emu := emulatortest.ForTest(t)
	sm := secretsmanager.NewFromConfig(emu.Config())
	id := emulatortest.NewSecret(t, emu)
	c := &clock{t: time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)}
	current, _ := keys.EncodeSigningKey(newKey(t))
	put(t, sm, id, current)
	staged := newKey(t)
	text, _ := keys.EncodeSigningKey(staged)
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(id), SecretString: aws.String(string(text)), VersionStages: []string{"AWSPENDING"},
	}); err != nil {
		t.Fatal(err)
	}
	k := keys.NewSigningKeys(sm, id, c.Now, rand.Reader)
	cur, err := k.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := keys.NewSigningKey(staged, "")
	if cur.ID == want.ID {
		t.Fatal("the staged key signs before it is promoted")
	}
	pub, err := k.Published(ctx)
	if err != nil || len(pub) != 2 || pub[0].ID != cur.ID || pub[1].ID != want.ID {
		t.Fatalf("Published = %v, %v; want the current key, then the staged one", pub, err)
	}
}
