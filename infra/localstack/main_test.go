package localstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"credportal/infra/apispec"
)

// stack is the one local stack the package's tests share: seeded, on free
// ports, started as `make dev` starts it.
var stack *Stack

func TestMain(m *testing.M) {
	var logs io.Writer
	if os.Getenv("LOCALSTACK_LOG") != "" {
		logs = os.Stderr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	s, err := Start(ctx, Options{Addr: "127.0.0.1:0", Seed: true, Logs: logs})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start the local stack:", err)
		os.Exit(1)
	}
	stack = s
	code := m.Run()
	if err := s.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop the local stack:", err)
	}
	os.Exit(code)
}

// response is an HTTP answer of the stack.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("status %d, body not JSON: %v: %s", r.status, err, r.body)
	}
}

// call sends a request to the stack with token as the bearer token (none
// when empty).
func call(t *testing.T, method, path, token, contentType, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, stack.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	checkAnswer(t, req, response{status: resp.StatusCode, header: resp.Header, body: b})
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// checkAnswer holds every answer of a template route to docs/openapi.json.
// The local-only endpoints (/local/…) are not the API; a path no route
// matches must get API Gateway's own 404.
func checkAnswer(t *testing.T, req *http.Request, r response) {
	t.Helper()
	path := req.URL.EscapedPath()
	if strings.HasPrefix(path, "/local/") {
		return
	}
	err := apispec.CheckHTTP(req.Method, path, apispec.Response{Status: r.status, Header: r.header, Body: r.body})
	if errors.Is(err, apispec.ErrNoRoute) && r.status == http.StatusNotFound && strings.TrimSpace(string(r.body)) == `{"message":"Not Found"}` {
		return
	}
	if err != nil {
		t.Error(err)
	}
}

// token gets a token from GET /local/token, as the UI and docs/local-stack.md do.
func token(t *testing.T, email string, admin bool) string {
	t.Helper()
	path := "/local/token?email=" + email
	if admin {
		path += "&admin=true"
	}
	r := call(t, http.MethodGet, path, "", "", "")
	var out struct {
		AccessToken string `json:"access_token"`
	}
	r.json(t, &out)
	if r.status != http.StatusOK || out.AccessToken == "" {
		t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	return out.AccessToken
}

// applicationID finds a seeded application's id.
func applicationID(t *testing.T, name string) string {
	t.Helper()
	id := stack.Seeded.Applications[name]
	if id == "" {
		t.Fatalf("the demo data has no application %q", name)
	}
	return id
}
