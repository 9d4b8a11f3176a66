package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	jose "github.com/go-jose/go-jose/v4"
)

// The access-token signing key lives in one Secrets Manager secret as a PEM
// P-256 private key (PKCS#8 "PRIVATE KEY", or SEC1 "EC PRIVATE KEY" as
// `openssl ecparam -name prime256v1 -genkey -noout` writes it). The version
// labelled AWSCURRENT signs; the one labelled AWSPREVIOUS is still published,
// so tokens it signed stay verifiable after a rotation.
//
// A version that holds anything else (the random text template.yaml creates
// the secret with) is no key. When AWSCURRENT holds no key, a token function
// generates one and puts it as the new AWSCURRENT. Its ClientRequestToken is
// derived from the version it replaces, so two cold starts racing to do so
// create one version between them: the loser's put fails as a duplicate and it
// reads the winner's key.

// SigningTTL is how long the versions' stages are trusted before the secret
// is described again, so a rotation reaches running functions.
const SigningTTL = 5 * time.Minute

// retryAfterFailure is how soon a failed refresh is tried again while the
// keys read before are served.
const retryAfterFailure = 10 * time.Second

// Stage labels of Secrets Manager.
const (
	stageCurrent  = "AWSCURRENT"
	stagePrevious = "AWSPREVIOUS"
	stagePending  = "AWSPENDING"
)

// SigningSecrets is the part of the Secrets Manager client that reads the
// signing key.
type SigningSecrets interface {
	DescribeSecret(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// SigningSecretWriter is the part of the Secrets Manager client that stores a
// generated signing key.
type SigningSecretWriter interface {
	PutSecretValue(context.Context, *secretsmanager.PutSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
}

var (
	_ SigningSecrets      = (*secretsmanager.Client)(nil)
	_ SigningSecretWriter = (*secretsmanager.Client)(nil)
)

// ErrNoSigningKey means the secret's AWSCURRENT version holds no key and
// these keys may not generate one.
var ErrNoSigningKey = errors.New("the signing secret holds no P-256 private key")

// SigningKey is one ES256 key pair, named by its RFC 7638 thumbprint.
type SigningKey struct {
	ID        string // kid: base64url SHA-256 JWK thumbprint of the public key
	Private   *ecdsa.PrivateKey
	VersionID string // the secret version it came from
}

// Public is the key as published in a JWKS.
func (k SigningKey) Public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: &k.Private.PublicKey, KeyID: k.ID, Algorithm: string(jose.ES256), Use: "sig"}
}

// ParseSigningKey reads a PEM P-256 private key.
func ParseSigningKey(text []byte) (*ecdsa.PrivateKey, error) {
	for rest := text; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, ErrNoSigningKey
		}
		var (
			key any
			err error
		)
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, ErrNoSigningKey
		}
		ec, ok := key.(*ecdsa.PrivateKey)
		if !ok || ec.Curve != elliptic.P256() {
			return nil, ErrNoSigningKey
		}
		return ec, nil
	}
}

// NewSigningKey names a private key by its thumbprint.
func NewSigningKey(priv *ecdsa.PrivateKey, versionID string) (SigningKey, error) {
	jwk := jose.JSONWebKey{Key: &priv.PublicKey}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return SigningKey{}, fmt.Errorf("signing key thumbprint: %w", err)
	}
	return SigningKey{ID: base64.RawURLEncoding.EncodeToString(tp), Private: priv, VersionID: versionID}, nil
}

// EncodeSigningKey writes a private key as PKCS#8 PEM, the form the secret
// holds.
func EncodeSigningKey(priv *ecdsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// SigningKeys reads the signing keys from one secret and caches them: each
// version once (versions never change), which version holds which stage for
// SigningTTL.
type SigningKeys struct {
	sm       SigningSecrets
	writer   SigningSecretWriter // nil: never generate
	secretID string
	now      func() time.Time
	random   io.Reader

	mu        sync.Mutex
	byVersion map[string]*SigningKey // nil value: the version holds no key
	current   *SigningKey
	previous  *SigningKey
	// pending is a key staged for rotation (AWSPENDING): published before
	// it signs, so verifiers know it by the time it does.
	pending *SigningKey
	checked time.Time
	loaded  bool
}

// NewSigningKeys reads the signing keys of secretID. random is used only to
// generate a key.
func NewSigningKeys(sm SigningSecrets, secretID string, now func() time.Time, random io.Reader) *SigningKeys {
	return &SigningKeys{sm: sm, secretID: secretID, now: now, random: random, byVersion: map[string]*SigningKey{}}
}

// GenerateWith lets the keys create the signing key through w when the
// secret holds none. It returns k.
func (k *SigningKeys) GenerateWith(w SigningSecretWriter) *SigningKeys {
	k.writer = w
	return k
}

// Current returns the key that signs: AWSCURRENT's, generated first if
// allowed and needed.
func (k *SigningKeys) Current(ctx context.Context) (SigningKey, error) {
	cur, _, err := k.keys(ctx)
	if err != nil {
		return SigningKey{}, err
	}
	if cur != nil {
		return *cur, nil
	}
	if k.writer == nil {
		return SigningKey{}, ErrNoSigningKey
	}
	if err := k.generate(ctx); err != nil {
		return SigningKey{}, err
	}
	if cur, _, err = k.refresh(ctx); err != nil {
		return SigningKey{}, err
	}
	if cur == nil {
		return SigningKey{}, ErrNoSigningKey
	}
	return *cur, nil
}

// Published returns the keys a verifier accepts: the current one first, then
// the previous one and one staged for rotation, skipping versions that hold
// no key.
func (k *SigningKeys) Published(ctx context.Context) ([]SigningKey, error) {
	cur, prev, err := k.keys(ctx)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	pending := k.pending
	k.mu.Unlock()
	var out []SigningKey
	for _, key := range []*SigningKey{cur, prev, pending} {
		if key != nil && !slices.ContainsFunc(out, func(o SigningKey) bool { return o.ID == key.ID }) {
			out = append(out, *key)
		}
	}
	return out, nil
}

// JWKS is the published keys as an RFC 7517 key set.
func (k *SigningKeys) JWKS(ctx context.Context) (jose.JSONWebKeySet, error) {
	keys, err := k.Published(ctx)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(keys))}
	for _, key := range keys {
		set.Keys = append(set.Keys, key.Public())
	}
	return set, nil
}

// keys returns the cached stages, refreshing them after SigningTTL. When a
// refresh fails and keys were read before, those are served (and the failure
// logged) rather than failing every request.
func (k *SigningKeys) keys(ctx context.Context) (*SigningKey, *SigningKey, error) {
	k.mu.Lock()
	// Until a key exists it is looked for on every call, so the first key
	// is published as soon as a token function has made it.
	fresh := k.loaded && k.current != nil && k.now().Sub(k.checked) < SigningTTL
	cur, prev, loaded := k.current, k.previous, k.loaded
	k.mu.Unlock()
	if fresh {
		return cur, prev, nil
	}
	cur, prev, err := k.refresh(ctx)
	if err != nil {
		if !loaded {
			return nil, nil, err
		}
		slog.ErrorContext(ctx, "signing keys not refreshed; serving the keys read before", "error", err.Error())
		k.mu.Lock()
		k.checked = k.now().Add(retryAfterFailure - SigningTTL)
		cur, prev = k.current, k.previous
		k.mu.Unlock()
		return cur, prev, nil
	}
	return cur, prev, nil
}

// refresh describes the secret and reads the versions not read before.
func (k *SigningKeys) refresh(ctx context.Context) (*SigningKey, *SigningKey, error) {
	desc, err := k.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(k.secretID)})
	if err != nil {
		return nil, nil, fmt.Errorf("describe signing secret: %w", err)
	}
	var curVersion, prevVersion, pendingVersion string
	for version, stages := range desc.VersionIdsToStages {
		for _, s := range stages {
			switch s {
			case stageCurrent:
				curVersion = version
			case stagePrevious:
				prevVersion = version
			case stagePending:
				pendingVersion = version
			}
		}
	}
	// The versions not read before are read at once: at a cold start that
	// is the current and the previous key.
	versions := [3]string{curVersion, prevVersion, pendingVersion}
	var (
		got  [3]*SigningKey
		errs [3]error
		wg   sync.WaitGroup
	)
	for i, v := range versions {
		wg.Go(func() { got[i], errs[i] = k.version(ctx, v) })
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, nil, err
	}
	cur, prev, pending := got[0], got[1], got[2]
	k.mu.Lock()
	k.current, k.previous, k.pending, k.checked, k.loaded = cur, prev, pending, k.now(), true
	k.mu.Unlock()
	return cur, prev, nil
}

// version reads one version's key; nil when there is no such version or it
// holds no key.
func (k *SigningKeys) version(ctx context.Context, version string) (*SigningKey, error) {
	if version == "" {
		return nil, nil
	}
	k.mu.Lock()
	key, ok := k.byVersion[version]
	k.mu.Unlock()
	if ok {
		return key, nil
	}
	out, err := k.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(k.secretID), VersionId: aws.String(version)})
	if err != nil {
		return nil, fmt.Errorf("get signing key version: %w", err)
	}
	text := []byte(aws.ToString(out.SecretString))
	if len(text) == 0 {
		text = out.SecretBinary
	}
	if priv, err := ParseSigningKey(text); err == nil {
		sk, err := NewSigningKey(priv, version)
		if err != nil {
			return nil, err
		}
		key = &sk
	}
	k.mu.Lock()
	k.byVersion[version] = key
	k.mu.Unlock()
	return key, nil
}

// generate puts a new P-256 key as AWSCURRENT. The request token is derived
// from the version it replaces, so of several functions generating at once
// one succeeds and the rest find its version there already.
func (k *SigningKeys) generate(ctx context.Context) error {
	desc, err := k.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(k.secretID)})
	if err != nil {
		return fmt.Errorf("describe signing secret: %w", err)
	}
	replaced := ""
	for version, stages := range desc.VersionIdsToStages {
		for _, s := range stages {
			if s == stageCurrent {
				replaced = version
			}
		}
	}
	// Another function may have generated the key since this one looked.
	if key, err := k.version(ctx, replaced); err != nil || key != nil {
		return err
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), k.random)
	if err != nil {
		return fmt.Errorf("generate signing key: %w", err)
	}
	text, err := EncodeSigningKey(priv)
	if err != nil {
		return fmt.Errorf("encode signing key: %w", err)
	}
	sum := sha256.Sum256([]byte("signing-key-after:" + replaced))
	_, err = k.writer.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(k.secretID), SecretString: aws.String(text),
		ClientRequestToken: aws.String(hex.EncodeToString(sum[:24])),
	})
	var exists *smtypes.ResourceExistsException
	if errors.As(err, &exists) {
		slog.InfoContext(ctx, "signing key generated elsewhere at the same time; using it")
		return nil
	}
	if err != nil {
		return fmt.Errorf("put generated signing key: %w", err)
	}
	slog.InfoContext(ctx, "signing key generated", "replacedVersion", replaced)
	return nil
}
