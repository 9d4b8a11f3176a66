package federation

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"

	"credportal/shared/oauth"
)

// Bounds of the discovery and JWKS fetches and of their cache.
const (
	// MaxDiscoveryBytes bounds an issuer's discovery document.
	MaxDiscoveryBytes = 64 << 10
	// MaxJWKSBytes bounds an issuer's key set.
	MaxJWKSBytes = 256 << 10
	// FetchTimeout bounds one fetch of discovery and key set together,
	// connection included.
	FetchTimeout = 3 * time.Second
	// KeysFresh is how long a fetched key set is used before it is fetched
	// again, so a key the issuer withdraws stops verifying.
	KeysFresh = time.Hour
	// KeysStale is how long a key set is still used while fetching a newer
	// one fails, so an outage of the issuer's key endpoint is ridden out.
	KeysStale = 24 * time.Hour
	// RefetchInterval is the least time between two fetches of one issuer's
	// keys prompted by a kid the cached set lacks: forged kids cannot make
	// the function hammer an issuer. A failed fetch is not tried again
	// sooner either, which is what the token endpoint's Retry-After tells
	// clients (the one value is defined there).
	RefetchInterval = oauth.FederationRetryAfter
)

// ErrKeysUnavailable is returned when an issuer's keys cannot be read and
// no usable copy is cached.
var ErrKeysUnavailable = errors.New("issuer keys unavailable")

// ErrUnknownKey is returned when a token names a key its issuer does not
// publish (after one refetch, when the rate limit allows it).
var ErrUnknownKey = errors.New("unknown signing key")

// Doer sends an HTTP request; *http.Client is one.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

var _ Doer = (*http.Client)(nil)

// NewHTTPClient is the client issuers are fetched with: a second to connect
// and to shake hands, FetchTimeout in all, and redirects followed only
// within the host that was asked.
func NewHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: time.Second}
	return &http.Client{
		Timeout: FetchTimeout,
		Transport: &http.Transport{
			Proxy:                  http.ProxyFromEnvironment,
			DialContext:            dialer.DialContext,
			TLSHandshakeTimeout:    time.Second,
			ResponseHeaderTimeout:  FetchTimeout,
			MaxResponseHeaderBytes: 16 << 10,
			MaxIdleConnsPerHost:    2,
			IdleConnTimeout:        time.Minute,
		},
		CheckRedirect: sameHostRedirects,
	}
}

// sameHostRedirects follows at most three redirects, none to another host or
// scheme.
func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 {
		return errors.New("too many redirects")
	}
	if req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme {
		return fmt.Errorf("redirect to another host: %s", req.URL.Host)
	}
	return nil
}

// issuerKeys is the cache entry of one issuer.
type issuerKeys struct {
	keys      map[string]jose.JSONWebKey // by kid; "" for a key without one
	fetchedAt time.Time                  // zero: never fetched
	triedAt   time.Time                  // last fetch attempt
	failed    error                      // how that attempt failed; nil: it did not
}

// keySource fetches and caches the signing keys of trusted issuers.
type keySource struct {
	client  Doer
	now     func() time.Time
	timeout time.Duration
	group   singleflight.Group

	mu      sync.Mutex
	issuers map[string]*issuerKeys
}

// key returns the key of issuer named kid, fetching the issuer's keys when
// none are cached or they are old, or once more (rate-limited) when they lack
// kid.
func (k *keySource) key(ctx context.Context, issuer, kid string) (jose.JSONWebKey, error) {
	now := k.now()
	e := k.entry(issuer)
	if e.keys == nil || now.Sub(e.fetchedAt) >= KeysFresh {
		if err := k.refresh(ctx, issuer, now); err != nil {
			e = k.entry(issuer)
			if e.keys == nil || now.Sub(e.fetchedAt) >= KeysStale {
				return jose.JSONWebKey{}, err
			}
			slog.WarnContext(ctx, "issuer keys not refreshed; using the cached ones", "issuer", issuer, "error", err.Error())
		}
		e = k.entry(issuer)
	}
	if key, ok := e.keys[kid]; ok {
		return key, nil
	}
	if now.Sub(e.triedAt) < RefetchInterval {
		return jose.JSONWebKey{}, ErrUnknownKey
	}
	if err := k.refresh(ctx, issuer, now); err != nil {
		// The issuer's keys are at hand and the token's is not among them:
		// refused, as it is when no refetch is due.
		slog.WarnContext(ctx, "issuer keys not refetched for an unknown kid; refused with the cached ones", "issuer", issuer, "error", err.Error())
		return jose.JSONWebKey{}, ErrUnknownKey
	}
	if key, ok := k.entry(issuer).keys[kid]; ok {
		return key, nil
	}
	return jose.JSONWebKey{}, ErrUnknownKey
}

// entry returns a copy of the issuer's cache entry.
func (k *keySource) entry(issuer string) issuerKeys {
	k.mu.Lock()
	defer k.mu.Unlock()
	if e := k.issuers[issuer]; e != nil {
		return *e
	}
	return issuerKeys{}
}

// refresh fetches the issuer's keys; concurrent refreshes of one issuer share
// one fetch, and a refresh attempted within RefetchInterval of the last one
// (by a request that waited for it) is not repeated.
func (k *keySource) refresh(ctx context.Context, issuer string, now time.Time) error {
	_, err, _ := k.group.Do(issuer, func() (any, error) {
		k.mu.Lock()
		e := k.issuers[issuer]
		if e == nil {
			e = &issuerKeys{}
			k.issuers[issuer] = e
		}
		if !e.triedAt.IsZero() && now.Sub(e.triedAt) < RefetchInterval {
			// Fetched, or failed to, a moment ago: an issuer that is down
			// is not asked again by every request.
			failed := e.failed
			k.mu.Unlock()
			return nil, failed
		}
		e.triedAt = now
		k.mu.Unlock()
		// The fetch outlives no request that waits for it, but one caller's
		// cancellation must not fail the others sharing it.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), k.timeout)
		defer cancel()
		keys, err := k.fetch(fctx, issuer)
		k.mu.Lock()
		defer k.mu.Unlock()
		if err != nil {
			e.failed = fmt.Errorf("%w: %s: %w", ErrKeysUnavailable, issuer, err)
			return nil, e.failed
		}
		e.keys, e.fetchedAt, e.failed = keys, now, nil
		return nil, nil
	})
	return err
}

// discovery is the part of an OpenID Provider's metadata read here.
type discovery struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// fetch reads the issuer's discovery document, then its key set.
func (k *keySource) fetch(ctx context.Context, issuer string) (map[string]jose.JSONWebKey, error) {
	var d discovery
	if err := k.getJSON(ctx, issuer+"/.well-known/openid-configuration", MaxDiscoveryBytes, &d); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	if d.Issuer != issuer {
		return nil, fmt.Errorf("discovery names issuer %q", d.Issuer)
	}
	if err := checkKeysURL(issuer, d.JWKSURI); err != nil {
		return nil, err
	}
	var set jose.JSONWebKeySet
	if err := k.getJSON(ctx, d.JWKSURI, MaxJWKSBytes, &set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	keys := make(map[string]jose.JSONWebKey, len(set.Keys))
	for _, key := range set.Keys {
		if !usable(key) {
			continue
		}
		keys[key.KeyID] = key
	}
	if len(keys) == 0 {
		return nil, errors.New("jwks: no usable signing key")
	}
	return keys, nil
}

// checkKeysURL accepts a jwks_uri of the issuer's scheme: https, or http on
// the loopback address for the local stack's issuer.
func checkKeysURL(issuer, keysURL string) error {
	iu, _ := url.Parse(issuer)
	u, err := url.Parse(keysURL)
	if err != nil || u.Host == "" || u.Scheme != iu.Scheme || (u.Scheme == "http" && !isLoopback(u.Hostname())) {
		return fmt.Errorf("discovery: jwks_uri %q is not an %s URL", keysURL, iu.Scheme)
	}
	return nil
}

// usable reports whether key is a public signing key of an asymmetric kind.
func usable(key jose.JSONWebKey) bool {
	if key.Use != "" && key.Use != "sig" {
		return false
	}
	switch key.Key.(type) {
	case *rsa.PublicKey:
		return key.Key.(*rsa.PublicKey).N.BitLen() >= 2048
	case *ecdsa.PublicKey, ed25519.PublicKey:
		return true
	}
	return false
}

func (k *keySource) getJSON(ctx context.Context, u string, limit int64, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	if resp.ContentLength > limit {
		return fmt.Errorf("larger than %d bytes", limit)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return err
	}
	if int64(len(raw)) > limit {
		return fmt.Errorf("larger than %d bytes", limit)
	}
	return json.NewDecoder(bytes.NewReader(raw)).Decode(into)
}
