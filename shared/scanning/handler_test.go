package scanning

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"credportal/infra/testlog"
	"credportal/shared/httpapi"
	"credportal/shared/portal"
	"credportal/shared/secret"
)

// knownSecrets is the domain side: the values it knows, and every leak
// reported to it.
type knownSecrets struct {
	mu       sync.Mutex
	known    map[string]bool
	reported []portal.Leak
	err      error
}

func (k *knownSecrets) ReportLeak(_ context.Context, leak portal.Leak) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.reported = append(k.reported, leak)
	if k.err != nil {
		return false, k.err
	}
	return k.known[leak.Value], nil
}

type fixture struct {
	t       *testing.T
	key     *ecdsa.PrivateKey
	secrets *knownSecrets
	handler Handler
	format  secret.Format
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	key := newKey(t)
	ks := newKeyServer(t, key)
	f := &fixture{t: t, key: key, secrets: &knownSecrets{known: map[string]bool{}}, format: secret.Format{Prefix: "cps_"}}
	f.handler = Handler{Keys: NewKeys(NewHTTPClient(), ks.URL, newClock().now), Format: f.format, Secrets: f.secrets}
	return f
}

// signed is the headers of body signed by the published key.
func (f *fixture) signed(body []byte) map[string]string {
	return map[string]string{HeaderKeyIdentifier: keyID(f.t, f.key), HeaderSignature: sign(f.t, f.key, body)}
}

func (f *fixture) serve(body []byte, headers map[string]string) httpapi.Response {
	f.t.Helper()
	resp, err := f.handler.Serve(context.Background(), httpapi.Request{Headers: headers, Body: string(body)})
	if err != nil {
		f.t.Fatal(err)
	}
	return resp
}

func (f *fixture) generate() string {
	f.t.Helper()
	v, err := f.format.Generate(rand.Reader)
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

func tokenHash(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

func report(t *testing.T, matches ...Match) []byte {
	t.Helper()
	raw, err := json.Marshal(matches)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func errorCode(t *testing.T, resp httpapi.Response) string {
	t.Helper()
	var body struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || body.Error.Code == "" || body.Error.Message == "" {
		t.Fatalf("error body %q: %v", resp.Body, err)
	}
	return body.Error.Code
}

// otherChecksum changes the last checksum character of a value.
func otherChecksum(v string) string {
	last := v[len(v)-1]
	if last == '0' {
		return v[:len(v)-1] + "1"
	}
	return v[:len(v)-1] + "0"
}

func TestServeLabelsEachMatch(t *testing.T) {
	f := newFixture(t)
	ours, deleted, unknown := f.generate(), f.generate(), f.generate()
	f.secrets.known[ours], f.secrets.known[deleted] = true, true
	badChecksum := otherChecksum(ours)
	matches := []Match{
		{Token: ours, Type: "portal_client_secret", URL: "https://github.com/o/r/blob/1/config.yaml", Source: "content"},
		{Token: unknown, Type: "portal_client_secret", URL: "https://github.com/o/r/blob/1/b.txt", Source: "commit"},
		{Token: badChecksum, Type: "portal_client_secret", URL: "https://github.com/o/r/blob/1/c.txt", Source: "content"},
		{Token: "xyz_" + ours[4:], Type: "portal_client_secret", URL: "https://github.com/o/r/blob/1/d.txt", Source: "content"},
		{Token: ours + "0", Type: "portal_client_secret", URL: "https://github.com/o/r/blob/1/e.txt", Source: "content"},
		{Token: ours[:20] + "-" + ours[21:], Type: "portal_client_secret", URL: "https://github.com/o/r/blob/1/f.txt", Source: "content"},
		{Token: deleted, Type: "portal_client_secret", URL: "https://gist.github.com/x", Source: "gist_content"},
	}
	body := report(t, matches...)
	resp := f.serve(body, f.signed(body))
	if resp.StatusCode != http.StatusOK || resp.Headers["Content-Type"] != "application/json" || resp.Headers["Cache-Control"] != "no-store" {
		t.Fatalf("response %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	var got []Feedback
	if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
		t.Fatal(err)
	}
	want := []Feedback{
		{TokenHash: tokenHash(ours), TokenType: "portal_client_secret", Label: "true_positive"},
		{TokenHash: tokenHash(unknown), TokenType: "portal_client_secret", Label: "false_positive"},
		{TokenHash: tokenHash(badChecksum), TokenType: "portal_client_secret", Label: "false_positive"},
		{TokenHash: tokenHash("xyz_" + ours[4:]), TokenType: "portal_client_secret", Label: "false_positive"},
		{TokenHash: tokenHash(ours + "0"), TokenType: "portal_client_secret", Label: "false_positive"},
		{TokenHash: tokenHash(ours[:20] + "-" + ours[21:]), TokenType: "portal_client_secret", Label: "false_positive"},
		{TokenHash: tokenHash(deleted), TokenType: "portal_client_secret", Label: "true_positive"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("feedback\n got %v\nwant %v", got, want)
	}
	// Only the well-formed values reach the domain; the malformed ones are
	// answered without any lookup.
	wantReported := []portal.Leak{
		{Value: ours, Reporter: "secret-scanning:github", URL: "https://github.com/o/r/blob/1/config.yaml", Source: "content"},
		{Value: unknown, Reporter: "secret-scanning:github", URL: "https://github.com/o/r/blob/1/b.txt", Source: "commit"},
		{Value: deleted, Reporter: "secret-scanning:github", URL: "https://gist.github.com/x", Source: "gist_content"},
	}
	if fmt.Sprint(f.secrets.reported) != fmt.Sprint(wantReported) {
		t.Fatalf("reported\n got %v\nwant %v", f.secrets.reported, wantReported)
	}
}

func TestServeRefusesBeforeProcessing(t *testing.T) {
	f := newFixture(t)
	value := f.generate()
	f.secrets.known[value] = true
	good := report(t, Match{Token: value, Type: "portal_client_secret", URL: "https://github.com/o/r", Source: "content"})
	tampered := []byte(strings.Replace(string(good), "content", "commit", 1))
	other := newKey(t)
	many := make([]Match, MaxMatches+1)
	for i := range many {
		many[i] = Match{Token: value, Type: "portal_client_secret"}
	}
	huge := []byte(`[` + strings.Repeat(" ", MaxBodyBytes) + `]`)
	cases := []struct {
		name    string
		body    []byte
		headers map[string]string
		status  int
		code    string
	}{
		{"no headers", good, map[string]string{}, 401, "signature_required"},
		{"no signature", good, map[string]string{HeaderKeyIdentifier: keyID(t, f.key)}, 401, "signature_required"},
		{"no identifier", good, map[string]string{HeaderSignature: sign(t, f.key, good)}, 401, "signature_required"},
		{"signed by another key", good, map[string]string{HeaderKeyIdentifier: keyID(t, f.key), HeaderSignature: sign(t, other, good)}, 401, "invalid_signature"},
		{"an unknown identifier", good, map[string]string{HeaderKeyIdentifier: keyID(t, other), HeaderSignature: sign(t, other, good)}, 401, "invalid_signature"},
		{"tampered after signing", tampered, f.signed(good), 401, "invalid_signature"},
		{"signed, not an array", []byte(`{"token":"x"}`), nil, 400, "invalid_report"},
		{"signed, an unknown field", []byte(`[{"token":"cps_x","type":"t","url":"","source":"","extra":1}]`), nil, 400, "invalid_report"},
		{"signed, too many matches", report(t, many...), nil, 413, "too_many_matches"},
		{"larger than the limit", huge, nil, 413, "body_too_large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.secrets.reported = nil
			headers := tc.headers
			if headers == nil {
				headers = f.signed(tc.body)
			}
			resp := f.serve(tc.body, headers)
			if resp.StatusCode != tc.status || errorCode(t, resp) != tc.code {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, resp.Body, tc.status, tc.code)
			}
			if len(f.secrets.reported) != 0 {
				t.Fatalf("processed %d matches of a refused report", len(f.secrets.reported))
			}
		})
	}
}

func TestServeBase64Body(t *testing.T) {
	f := newFixture(t)
	value := f.generate()
	f.secrets.known[value] = true
	body := report(t, Match{Token: value, Type: "portal_client_secret", URL: "u", Source: "content"})
	resp, err := f.handler.Serve(context.Background(), httpapi.Request{
		Headers: f.signed(body), Body: base64.StdEncoding.EncodeToString(body), IsBase64Encoded: true,
	})
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"true_positive"`) {
		t.Fatalf("%v %d %s", err, resp.StatusCode, resp.Body)
	}
}

func TestServeFailureIsRetryableAndLogsNoValue(t *testing.T) {
	logs := testlog.Capture(t)
	f := newFixture(t)
	value := f.generate()
	f.secrets.err = errors.New("dynamodb: throttled")
	body := report(t, Match{Token: value, Type: "portal_client_secret", URL: "u", Source: "content"})
	resp := f.serve(body, f.signed(body))
	if resp.StatusCode != http.StatusInternalServerError || errorCode(t, resp) != "internal_error" {
		t.Fatalf("got %d %s", resp.StatusCode, resp.Body)
	}
	if strings.Contains(resp.Body, "dynamodb") {
		t.Fatalf("the cause reached the sender: %s", resp.Body)
	}
	if !strings.Contains(logs.String(), "dynamodb: throttled") {
		t.Fatalf("the failure is not logged: %s", logs.String())
	}
	if strings.Contains(logs.String(), value) || strings.Contains(logs.String(), value[4:20]) {
		t.Fatal("a reported value reached the log")
	}
}
