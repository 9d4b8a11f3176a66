package oauth_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"credportal/shared/oauth"
	"credportal/shared/store"
)

// recorder passes requests to the emulator and keeps every response, in
// order: status, headers and body as moto sent them.
type recorder struct {
	next      aws.HTTPClient
	mu        sync.Mutex
	responses []recorded
}

type recorded struct {
	target string // X-Amz-Target of the request
	status int
	header http.Header
	body   []byte
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := r.next.Do(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.responses = append(r.responses, recorded{target: req.Header.Get("X-Amz-Target"), status: resp.StatusCode, header: resp.Header.Clone(), body: body})
	r.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// replay answers the requests of one recorded token request, again and
// again, in process: the SDK still resolves the endpoint, signs and
// serialises each request and deserialises its answer, but nothing goes over
// a network. A request other than the one recorded at its place is an error.
type replay struct {
	responses []recorded
	requests  atomic.Int64
}

var errNotRecorded = errors.New("replay: not the request recorded at this place")

func (r *replay) Do(req *http.Request) (*http.Response, error) {
	n := r.requests.Add(1) - 1
	rec := r.responses[int(n)%len(r.responses)]
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	if req.Header.Get("X-Amz-Target") != rec.target {
		return nil, errNotRecorded
	}
	return &http.Response{
		StatusCode: rec.status, Header: rec.header, Body: io.NopCloser(bytes.NewReader(rec.body)),
		ContentLength: int64(len(rec.body)), Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}, nil
}

// cpuTime is the CPU time this process has used, user and system, every
// goroutine and the garbage collector included.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTokenSDK weighs one successful token request with everything the
// function does for it in process: parsing, the DynamoDB GetItem through the
// SDK (endpoint resolution, signing, JSON serialisation and
// deserialisation, over a replayed moto response instead of the network),
// the HMAC check, the ES256 signature, the response and the log line. It
// reports the process's CPU time per request (garbage collection included),
// allocations, and DynamoDB requests per request.
func BenchmarkTokenSDK(b *testing.B) {
	f := newBenchFixture(b)
	app := f.app("Search", "search-match", "match-connect")
	value, _ := f.secret(app, 30)
	req := basicRequest(app.ClientID, value, "scope=search-match")

	// The function's own client, as it builds it in AWS (region and the
	// execution role's credentials from the environment), first over the
	// emulator, recording, then over the replay of what it recorded.
	rec := &recorder{next: f.emuConfig.HTTPClient}
	newServer := func(c aws.HTTPClient, region string, endpoint *string) oauth.Handler {
		db := dynamodb.NewFromConfig(aws.Config{
			Region:       region,
			Credentials:  aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "session")),
			HTTPClient:   c,
			BaseEndpoint: endpoint,
		})
		return oauth.NewServer(store.New(db, f.table), f.peppers, f.signing, oauth.DefaultConfig(issuer), f.clock.Now, rand.Reader).TokenHandler()
	}
	event := f.event(req)
	// The first use writes lastUsedAt; the requests measured are the
	// common case after it.
	tokenOf(b, f.call(req))
	if resp, err := newServer(rec, f.emuConfig.Region, f.emuConfig.BaseEndpoint)(context.Background(), event); err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("recording: %d %v %s", resp.StatusCode, err, resp.Body)
	}
	rp := &replay{responses: rec.responses}
	h := newServer(rp, "eu-west-1", nil)

	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	defer slog.SetDefault(prev)
	serve := func() {
		resp, err := h(context.Background(), event)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("%d %v %s", resp.StatusCode, err, resp.Body)
		}
	}
	serve() // the first request of a function fills its caches
	rp.requests.Store(0)
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		serve()
	}
	cpu := cpuTime(b) - cpu0
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(b.N), "cpu-µs/token")
	b.ReportMetric(float64(rp.requests.Load())/float64(b.N), "ddb-requests/token")
}
