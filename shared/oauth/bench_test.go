package oauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"credportal/shared/audit"
	"credportal/shared/keys"
	"credportal/shared/portal"
	"credportal/shared/secret"
)

// memoryStore answers the token endpoint from memory, so a benchmark weighs
// the endpoint's own CPU work and not the network.
type memoryStore struct {
	client portal.Client
}

func (m *memoryStore) Client(context.Context, string) (portal.Client, error) {
	return m.client, nil
}
func (m *memoryStore) MarkSecretUsed(context.Context, string, string, string, time.Time) (bool, error) {
	return false, nil
}
func (m *memoryStore) MarkKeyUsed(context.Context, string, string, string, time.Time) (bool, error) {
	return false, nil
}
func (m *memoryStore) UseAssertionID(context.Context, string, string, time.Time, time.Time) (bool, error) {
	return true, nil
}
func (m *memoryStore) LockedUntil(context.Context, string, string, time.Time) (time.Time, error) {
	return time.Time{}, nil
}
func (m *memoryStore) AddFailure(context.Context, string, string, time.Time, time.Duration) (int, error) {
	return 1, nil
}
func (m *memoryStore) Lock(context.Context, string, string, int, time.Time, time.Time, *audit.Event) (bool, error) {
	return false, nil
}

var _ Store = (*memoryStore)(nil)

type memoryPeppers struct{ p secret.Pepper }

func (m memoryPeppers) Current(context.Context) (secret.Pepper, error)         { return m.p, nil }
func (m memoryPeppers) Version(context.Context, string) (secret.Pepper, error) { return m.p, nil }

type memoryKeys struct{ k keys.SigningKey }

func (m memoryKeys) Current(context.Context) (keys.SigningKey, error) { return m.k, nil }

// verifier is how a stored secret is checked: the digest kept and the
// comparison.
type verifier struct {
	digest  func(pepper []byte, value string) []byte
	matches func(pepper []byte, value string, digest []byte) bool
}

var (
	hmacVerifier = verifier{secret.Digest, secret.Matches}
	// bcryptVerifier is bcrypt at cost 10, a common password-hash setting.
	bcryptVerifier = verifier{
		func(_ []byte, v string) []byte { h, _ := bcrypt.GenerateFromPassword([]byte(v), 10); return h },
		func(_ []byte, v string, d []byte) bool { return bcrypt.CompareHashAndPassword(d, []byte(v)) == nil },
	}
	// pbkdf2Verifier is PBKDF2-HMAC-SHA256 with 25,000 iterations, the pepper
	// as salt.
	pbkdf2Verifier = verifier{
		func(p []byte, v string) []byte { k, _ := pbkdf2.Key(sha256.New, v, p, 25000, 32); return k },
		func(p []byte, v string, d []byte) bool {
			k, _ := pbkdf2.Key(sha256.New, v, p, 25000, 32)
			return hmac.Equal(k, d)
		},
	}
)

// benchTokenRequest is one successful client_secret_basic request, as the
// HTTP API delivers it, and the handler that serves it from memory.
func benchTokenRequest(b *testing.B, v verifier) (Handler, Request) {
	b.Helper()
	format := secret.Format{Prefix: secret.DefaultPrefix}
	value, err := format.Generate(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)
	pepper := secret.Pepper{Version: "v1", Key: []byte("0123456789abcdef0123456789abcdef")}
	used := now.Add(-time.Minute)
	clientID := "acmesearchsampleclient2a"
	st := &memoryStore{client: portal.Client{
		ID: clientID, ApplicationID: "app_01m8am1b0c0g2py9w4qzy9dqx2", APIs: []string{"search-match", "match-connect"},
		Secrets: []portal.Secret{{
			ID: "sec_01m8baetc0c05wrfz9jmwb1p4h", ApplicationID: "app_01m8am1b0c0g2py9w4qzy9dqx2",
			Hash: v.digest(pepper.Key, value), PepperVersion: "v1", ExpiresAt: now.Add(24 * time.Hour), LastUsedAt: &used,
		}},
	}}
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sk, err := keys.NewSigningKey(priv, "v1")
	if err != nil {
		b.Fatal(err)
	}
	s := NewServer(st, memoryPeppers{pepper}, memoryKeys{sk}, DefaultConfig("https://portal.example.test"), func() time.Time { return now }, rand.Reader)
	s.matches = v.matches
	auth := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(clientID) + ":" + url.QueryEscape(value)))
	req := Request{
		RouteKey: "POST /oauth2/token", RawPath: TokenPath, IsBase64Encoded: true,
		Headers: map[string]string{"authorization": "Basic " + auth, "content-type": "application/x-www-form-urlencoded"},
		Body:    base64.StdEncoding.EncodeToString([]byte("grant_type=client_credentials&scope=search-match")),
	}
	return s.TokenHandler(), req
}

func runTokens(b *testing.B, h Handler, req Request) {
	for b.Loop() {
		serveToken(b, h, req)
	}
}

func serveToken(b *testing.B, h Handler, req Request) {
	resp, err := h(context.Background(), req)
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("%d %v %s", resp.StatusCode, err, resp.Body)
	}
}

// slowPerOp times the request with a slow verifier for about a second
// (before the benchmark's own timed loop starts).
func slowPerOp(b *testing.B, v verifier) float64 {
	h, req := benchTokenRequest(b, v)
	serveToken(b, h, req) // warm up
	start, n := time.Now(), 0
	for time.Since(start) < time.Second || n < 5 {
		serveToken(b, h, req)
		n++
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

// BenchmarkTokenCPU weighs one successful token request served from memory
// (parse, HMAC-SHA256 check, ES256 signature, response, JSON log line), and
// reports next to it how many times as costly the same request is when the
// secret is stored with bcrypt (cost 10) or PBKDF2-SHA256 (25,000
// iterations) instead.
func BenchmarkTokenCPU(b *testing.B) {
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	defer slog.SetDefault(prev)
	bcryptNs := slowPerOp(b, bcryptVerifier)
	pbkdf2Ns := slowPerOp(b, pbkdf2Verifier)
	h, req := benchTokenRequest(b, hmacVerifier)
	b.ReportAllocs()
	runTokens(b, h, req)
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp/1e3, "µs/token")
	b.ReportMetric(bcryptNs/1e3, "µs/token-bcrypt10")
	b.ReportMetric(pbkdf2Ns/1e3, "µs/token-pbkdf2-25k")
	b.ReportMetric(bcryptNs/perOp, "x-bcrypt10")
	b.ReportMetric(pbkdf2Ns/perOp, "x-pbkdf2-25k")
}
