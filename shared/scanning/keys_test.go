package scanning

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// keyServer serves a key list that a test may change, counting fetches.
type keyServer struct {
	*httptest.Server
	mu      sync.Mutex
	list    KeyList
	status  int
	body    string // served instead of list when set
	fetches int
}

func newKeyServer(t *testing.T, keys ...*ecdsa.PrivateKey) *keyServer {
	t.Helper()
	ks := &keyServer{status: http.StatusOK}
	ks.publish(t, keys...)
	ks.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks.mu.Lock()
		defer ks.mu.Unlock()
		ks.fetches++
		w.WriteHeader(ks.status)
		if ks.body != "" {
			_, _ = w.Write([]byte(ks.body))
			return
		}
		_ = json.NewEncoder(w).Encode(ks.list)
	}))
	t.Cleanup(ks.Close)
	return ks
}

// publish replaces the served list with the public halves of keys.
func (ks *keyServer) publish(t *testing.T, keys ...*ecdsa.PrivateKey) {
	t.Helper()
	var list KeyList
	for _, k := range keys {
		l, err := NewKeyList(&k.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		list.PublicKeys = append(list.PublicKeys, l.PublicKeys...)
	}
	ks.mu.Lock()
	ks.list = list
	ks.mu.Unlock()
}

func (ks *keyServer) count() int {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return ks.fetches
}

func (ks *keyServer) set(status int, body string) {
	ks.mu.Lock()
	ks.status, ks.body = status, body
	ks.mu.Unlock()
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func keyID(t *testing.T, k *ecdsa.PrivateKey) string {
	t.Helper()
	id, err := KeyIdentifier(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func sign(t *testing.T, k *ecdsa.PrivateKey, body []byte) string {
	t.Helper()
	digest := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, k, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// clock is a settable now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)} }

func TestVerify(t *testing.T) {
	body := []byte(`[{"token":"cps_x","type":"portal_client_secret","url":"https://github.com/o/r/blob/1/a.txt","source":"content"}]`)
	published, other := newKey(t), newKey(t)
	cases := []struct {
		name       string
		identifier func() string
		signature  func() string
		body       []byte
		want       error
		fetches    int
	}{
		{"valid", func() string { return keyID(t, published) }, func() string { return sign(t, published, body) }, body, nil, 1},
		{"signed by another key under the published identifier", func() string { return keyID(t, published) }, func() string { return sign(t, other, body) }, body, ErrBadSignature, 1},
		{"tampered body", func() string { return keyID(t, published) }, func() string { return sign(t, published, body) },
			[]byte(strings.Replace(string(body), "content", "commit", 1)), ErrBadSignature, 1},
		{"body with a byte added", func() string { return keyID(t, published) }, func() string { return sign(t, published, body) },
			append(append([]byte{}, body...), '\n'), ErrBadSignature, 1},
		{"unknown identifier", func() string { return keyID(t, other) }, func() string { return sign(t, other, body) }, body, ErrUnknownKey, 1},
		{"no identifier", func() string { return "" }, func() string { return sign(t, published, body) }, body, ErrNoSignature, 0},
		{"no signature", func() string { return keyID(t, published) }, func() string { return "" }, body, ErrNoSignature, 0},
		{"no headers", func() string { return "" }, func() string { return "" }, body, ErrNoSignature, 0},
		{"signature not base64", func() string { return keyID(t, published) }, func() string { return "not base64!" }, body, ErrBadSignature, 0},
		{"signature of garbage", func() string { return keyID(t, published) }, func() string { return base64.StdEncoding.EncodeToString([]byte("garbage")) }, body, ErrBadSignature, 1},
		{"signature too long", func() string { return keyID(t, published) }, func() string { return base64.StdEncoding.EncodeToString(make([]byte, 300)) }, body, ErrBadSignature, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ks := newKeyServer(t, published)
			k := NewKeys(NewHTTPClient(), ks.URL, newClock().now)
			err := k.Verify(context.Background(), tc.identifier(), tc.signature(), tc.body)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
			if got := ks.count(); got != tc.fetches {
				t.Fatalf("key list fetched %d times, want %d", got, tc.fetches)
			}
		})
	}
}

func TestVerifyRefetchesOnceForAnUnknownIdentifier(t *testing.T) {
	body := []byte(`[{"token":"a","type":"b","url":"","source":""}]`)
	old, rotated := newKey(t), newKey(t)
	ks := newKeyServer(t, old)
	clk := newClock()
	k := NewKeys(NewHTTPClient(), ks.URL, clk.now)
	ctx := context.Background()

	if err := k.Verify(ctx, keyID(t, old), sign(t, old, body), body); err != nil {
		t.Fatal(err)
	}
	// GitHub rotates: the new key is published before it signs.
	ks.publish(t, old, rotated)
	clk.advance(RefetchInterval)
	if err := k.Verify(ctx, keyID(t, rotated), sign(t, rotated, body), body); err != nil {
		t.Fatalf("a key published since the list was cached: %v", err)
	}
	if got := ks.count(); got != 2 {
		t.Fatalf("fetches = %d, want 2 (the first use, then once for the new identifier)", got)
	}
	// Both are cached now: no further fetch.
	for _, key := range []*ecdsa.PrivateKey{old, rotated} {
		if err := k.Verify(ctx, keyID(t, key), sign(t, key, body), body); err != nil {
			t.Fatal(err)
		}
	}
	if got := ks.count(); got != 2 {
		t.Fatalf("fetches = %d after cached verifications, want 2", got)
	}
}

func TestVerifyRateLimitsRefetches(t *testing.T) {
	body := []byte(`[]`)
	published, forged := newKey(t), newKey(t)
	ks := newKeyServer(t, published)
	clk := newClock()
	k := NewKeys(NewHTTPClient(), ks.URL, clk.now)
	ctx := context.Background()
	if err := k.Verify(ctx, keyID(t, published), sign(t, published, body), body); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if err := k.Verify(ctx, keyID(t, forged)+string(rune('a'+i)), sign(t, forged, body), body); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("forged identifier %d: %v", i, err)
		}
	}
	if got := ks.count(); got != 1 {
		t.Fatalf("fetches = %d within the refetch interval, want 1", got)
	}
	clk.advance(RefetchInterval)
	if err := k.Verify(ctx, keyID(t, forged), sign(t, forged, body), body); !errors.Is(err, ErrUnknownKey) {
		t.Fatal(err)
	}
	if got := ks.count(); got != 2 {
		t.Fatalf("fetches = %d after the interval, want 2", got)
	}
}

func TestVerifyKeyListAge(t *testing.T) {
	body := []byte(`[]`)
	key, successor := newKey(t), newKey(t)
	ctx := context.Background()

	t.Run("a withdrawn key stops verifying once the list is refreshed", func(t *testing.T) {
		ks := newKeyServer(t, key)
		clk := newClock()
		k := NewKeys(NewHTTPClient(), ks.URL, clk.now)
		if err := k.Verify(ctx, keyID(t, key), sign(t, key, body), body); err != nil {
			t.Fatal(err)
		}
		ks.publish(t, successor)
		clk.advance(KeysFresh - time.Second)
		if err := k.Verify(ctx, keyID(t, key), sign(t, key, body), body); err != nil {
			t.Fatalf("within the fresh period: %v", err)
		}
		clk.advance(time.Second)
		if err := k.Verify(ctx, keyID(t, key), sign(t, key, body), body); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("after the fresh period: %v, want ErrUnknownKey", err)
		}
	})
	t.Run("a cached list outlives a key list outage, up to the stale limit", func(t *testing.T) {
		ks := newKeyServer(t, key)
		clk := newClock()
		k := NewKeys(NewHTTPClient(), ks.URL, clk.now)
		if err := k.Verify(ctx, keyID(t, key), sign(t, key, body), body); err != nil {
			t.Fatal(err)
		}
		ks.set(http.StatusServiceUnavailable, "down")
		clk.advance(KeysStale - time.Second)
		if err := k.Verify(ctx, keyID(t, key), sign(t, key, body), body); err != nil {
			t.Fatalf("stale list during an outage: %v", err)
		}
		clk.advance(time.Second)
		if err := k.Verify(ctx, keyID(t, key), sign(t, key, body), body); !errors.Is(err, ErrKeysUnavailable) {
			t.Fatalf("past the stale limit: %v, want ErrKeysUnavailable", err)
		}
	})
}

func TestKeyListFetchFailures(t *testing.T) {
	body := []byte(`[]`)
	key := newKey(t)
	huge := `{"public_keys":[` + strings.Repeat(`{"key_identifier":"x","key":"y","is_current":false},`, MaxKeyListBytes/40) + `{}]}`
	cases := []struct {
		name   string
		status int
		body   string
	}{
		{"server error", http.StatusInternalServerError, `{}`},
		{"not found", http.StatusNotFound, ``},
		{"not JSON", http.StatusOK, `<html>`},
		{"larger than the limit", http.StatusOK, huge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ks := newKeyServer(t, key)
			ks.set(tc.status, tc.body)
			k := NewKeys(NewHTTPClient(), ks.URL, newClock().now)
			if err := k.Verify(context.Background(), keyID(t, key), sign(t, key, body), body); !errors.Is(err, ErrKeysUnavailable) {
				t.Fatalf("Verify = %v, want ErrKeysUnavailable", err)
			}
		})
	}
	t.Run("a server that does not answer in time", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(release)
		k := NewKeys(NewHTTPClient(), srv.URL, newClock().now)
		k.timeout = 50 * time.Millisecond
		if err := k.Verify(context.Background(), keyID(t, key), sign(t, key, body), body); !errors.Is(err, ErrKeysUnavailable) {
			t.Fatalf("Verify = %v, want ErrKeysUnavailable", err)
		}
	})
	t.Run("a redirect is not followed", func(t *testing.T) {
		ks := newKeyServer(t, key)
		redirect := httptest.NewServer(http.RedirectHandler(ks.URL, http.StatusFound))
		defer redirect.Close()
		k := NewKeys(NewHTTPClient(), redirect.URL, newClock().now)
		if err := k.Verify(context.Background(), keyID(t, key), sign(t, key, body), body); !errors.Is(err, ErrKeysUnavailable) {
			t.Fatalf("Verify = %v, want ErrKeysUnavailable", err)
		}
		if ks.count() != 0 {
			t.Fatal("the redirect was followed")
		}
	})
}

func TestKeyListSkipsEntriesThatAreNotP256Keys(t *testing.T) {
	body := []byte(`[]`)
	key := newKey(t)
	good, err := NewKeyList(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := NewKeyList(&p384.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	list := KeyList{PublicKeys: append([]PublicKey{
		{KeyIdentifier: "garbage", Key: "not pem"},
		{KeyIdentifier: "", Key: good.PublicKeys[0].Key},
	}, append(bad.PublicKeys, good.PublicKeys...)...)}
	raw, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	ks := newKeyServer(t)
	ks.set(http.StatusOK, string(raw))
	k := NewKeys(NewHTTPClient(), ks.URL, newClock().now)
	if err := k.Verify(context.Background(), keyID(t, key), sign(t, key, body), body); err != nil {
		t.Fatalf("the good key among bad entries: %v", err)
	}
	p384Sig := func() string {
		d := sha256.Sum256(body)
		s, err := ecdsa.SignASN1(rand.Reader, p384, d[:])
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(s)
	}()
	if err := k.Verify(context.Background(), bad.PublicKeys[0].KeyIdentifier, p384Sig, body); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("a P-384 key: %v, want ErrUnknownKey", err)
	}
}
