// Package scanning receives the reports of a secret scanning partner program
// (GitHub's): it verifies the sender's signature over the raw body, parses the
// reported matches strictly, recognises the portal's secret format without any
// storage access, and answers each match as a true or false positive.
package scanning

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// DefaultKeysURL is where GitHub publishes the keys that sign its secret
// scanning reports.
const DefaultKeysURL = "https://api.github.com/meta/public_keys/secret_scanning"

// Bounds of the key list fetch and of its cache.
const (
	// MaxKeyListBytes bounds the key list document; GitHub's is a few KiB.
	MaxKeyListBytes = 64 << 10
	// FetchTimeout bounds one fetch of the key list, connection included.
	FetchTimeout = 5 * time.Second
	// KeysFresh is how long a fetched list is used before it is fetched
	// again, so a key GitHub withdraws stops verifying.
	KeysFresh = time.Hour
	// KeysStale is how long a list is still used while fetching a newer one
	// fails, so an outage of the key list does not stop revocations.
	KeysStale = 24 * time.Hour
	// RefetchInterval is the least time between two fetches prompted by an
	// identifier the list lacks: forged identifiers cannot make the function
	// hammer the key list.
	RefetchInterval = time.Minute
)

// Errors of signature verification. Each means: 401, nothing processed.
var (
	ErrNoSignature  = errors.New("no signature or key identifier")
	ErrUnknownKey   = errors.New("unknown signing key")
	ErrBadSignature = errors.New("signature does not verify")
)

// ErrKeysUnavailable is returned when the key list cannot be read and no
// usable copy is cached: the sender should retry later.
var ErrKeysUnavailable = errors.New("signing keys unavailable")

// KeyList is the key list document: {"public_keys":[...]}.
type KeyList struct {
	PublicKeys []PublicKey `json:"public_keys"`
}

// PublicKey is one entry of the key list: the key as PEM text, named by its
// identifier.
type PublicKey struct {
	KeyIdentifier string `json:"key_identifier"`
	Key           string `json:"key"`
	IsCurrent     bool   `json:"is_current"`
}

// KeyIdentifier names a key as the local stand-in signer does: the SHA-256
// hex of its DER (SubjectPublicKeyInfo) encoding.
func KeyIdentifier(pub *ecdsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("encode public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// NewKeyList returns the key list document publishing pub as the current key.
func NewKeyList(pub *ecdsa.PublicKey) (KeyList, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return KeyList{}, fmt.Errorf("encode public key: %w", err)
	}
	id, err := KeyIdentifier(pub)
	if err != nil {
		return KeyList{}, err
	}
	pemText := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	return KeyList{PublicKeys: []PublicKey{{KeyIdentifier: id, Key: string(pemText), IsCurrent: true}}}, nil
}

// Doer sends an HTTP request; *http.Client is one.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

var _ Doer = (*http.Client)(nil)

// NewHTTPClient is the client the key list is fetched with: a short timeout,
// no redirects followed off the configured URL's answer.
func NewHTTPClient() *http.Client {
	return &http.Client{
		Timeout: FetchTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("the key list URL redirects")
		},
	}
}

// Keys verifies report signatures against the key list published at a URL,
// fetched on first use and cached: refetched when it is older than
// KeysFresh, and at most once per RefetchInterval when a report names a key
// the cached list lacks.
type Keys struct {
	client  Doer
	url     string
	now     func() time.Time
	timeout time.Duration

	mu        sync.Mutex
	keys      map[string]*ecdsa.PublicKey
	fetchedAt time.Time // when keys was fetched; zero: never
	triedAt   time.Time // when a fetch was last attempted
}

// NewKeys verifies against the key list at url, fetched with client.
func NewKeys(client Doer, url string, now func() time.Time) *Keys {
	return &Keys{client: client, url: url, now: now, timeout: FetchTimeout}
}

// Verify checks that signature (base64 of an ASN.1 ECDSA signature over the
// SHA-256 of body) verifies with the key named identifier.
func (k *Keys) Verify(ctx context.Context, identifier, signature string, body []byte) error {
	if identifier == "" || signature == "" {
		return ErrNoSignature
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil || len(sig) > 256 {
		return ErrBadSignature
	}
	pub, err := k.key(ctx, identifier)
	if err != nil {
		return err
	}
	digest := sha256.Sum256(body)
	if !ecdsa.VerifyASN1(pub, digest[:], sig) {
		return ErrBadSignature
	}
	return nil
}

// key returns the public key named identifier, fetching the list when it is
// missing or old, or once more when it lacks identifier.
func (k *Keys) key(ctx context.Context, identifier string) (*ecdsa.PublicKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	age := now.Sub(k.fetchedAt)
	if k.keys == nil || age >= KeysFresh {
		if err := k.fetch(ctx, now); err != nil {
			if k.keys == nil || age >= KeysStale {
				return nil, err
			}
			slog.WarnContext(ctx, "secret scanning key list not refreshed; using the cached one", "error", err.Error(), "age", age.String())
		}
	}
	if pub, ok := k.keys[identifier]; ok {
		return pub, nil
	}
	if now.Sub(k.triedAt) < RefetchInterval {
		return nil, ErrUnknownKey
	}
	if err := k.fetch(ctx, now); err != nil {
		return nil, err
	}
	if pub, ok := k.keys[identifier]; ok {
		return pub, nil
	}
	return nil, ErrUnknownKey
}

// fetch reads the key list; the caller holds k.mu. Entries that are not a
// P-256 public key are skipped, so one odd entry does not disable the rest.
func (k *Keys) fetch(ctx context.Context, now time.Time) error {
	k.triedAt = now
	list, err := k.download(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
	}
	keys := make(map[string]*ecdsa.PublicKey, len(list.PublicKeys))
	for _, e := range list.PublicKeys {
		pub, err := parsePublicKey(e.Key)
		if err == nil && e.KeyIdentifier == "" {
			err = errors.New("no key identifier")
		}
		if err != nil {
			slog.WarnContext(ctx, "secret scanning key skipped", "keyIdentifier", e.KeyIdentifier, "reason", err.Error())
			continue
		}
		keys[e.KeyIdentifier] = pub
	}
	k.keys, k.fetchedAt = keys, now
	return nil
}

func (k *Keys) download(ctx context.Context) (KeyList, error) {
	ctx, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return KeyList{}, fmt.Errorf("key list request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return KeyList{}, fmt.Errorf("get key list: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return KeyList{}, fmt.Errorf("get key list: status %d", resp.StatusCode)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxKeyListBytes+1))
	if err != nil {
		return KeyList{}, fmt.Errorf("read key list: %w", err)
	}
	if len(raw) > MaxKeyListBytes {
		return KeyList{}, fmt.Errorf("key list larger than %d bytes", MaxKeyListBytes)
	}
	var list KeyList
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&list); err != nil {
		return KeyList{}, fmt.Errorf("decode key list: %w", err)
	}
	return list, nil
}

func parsePublicKey(text string) (*ecdsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(text))
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM public key")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("not an ECDSA P-256 key")
	}
	return ec, nil
}
