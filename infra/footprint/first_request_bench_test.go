package footprint

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"testing"
	"time"

	"credportal/infra/emulator/emulatortest"
	"credportal/infra/lambdarun/lambdaruntest"
	"credportal/infra/storetest"
)

// BenchmarkTokenFirstRequest reports the median latency of the token
// function's first request after Init, under the Lambda runtime emulator:
// the Duration the emulator reports for a successful client_secret_basic
// request (events/token.json) against the AWS emulator. That request needs
// the client item from DynamoDB and, from Secrets Manager, the pepper and the
// signing key, which the function fetches at the same time. Each sample is a
// new emulator process; the signing key exists already, as in a running
// portal. It is measured twice: against moto directly, and with 10 ms added
// to every AWS call, as a network round trip in AWS would (on a busy
// machine moto's own time per call dominates the first figure).
func BenchmarkTokenFirstRequest(b *testing.B) {
	ctx := context.Background()
	emu := emulatortest.ForTest(b)
	h := lambdaruntest.New(b, emu, "TokenFunction")
	event := h.Event(b, "token.json")
	storetest.SampleClient(b, emu.Config(), h.Locals.Refs["Table"], h.Locals.Refs["PepperSecret"], event)
	fn := h.Function(b, "TokenFunction")
	direct := h.Env(b, "TokenFunction")
	// The same requests with a round trip's latency added to every AWS call,
	// as in AWS, where the calls wait on the network rather than on moto.
	delayed := maps.Clone(direct)
	delayed["AWS_ENDPOINT_URL"] = delayingProxy(b, direct["AWS_ENDPOINT_URL"], awsRoundTrip)
	var env map[string]string
	first := func() time.Duration {
		in, err := h.Build.Start(ctx, fn, env, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer in.Stop()
		out, err := in.Invoke(ctx, event)
		if err != nil {
			b.Fatal(err)
		}
		var resp struct {
			StatusCode int `json:"statusCode"`
		}
		if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != 200 {
			b.Fatalf("first request: %s %v", out, err)
		}
		d, err := in.InvokeDuration(ctx)
		if err != nil || d <= 0 {
			b.Fatalf("no Duration reported: %v", err)
		}
		return d
	}
	env = direct
	first() // the first cold start of all generates the signing key
	var plain, slow []time.Duration
	for b.Loop() {
		for range coldStarts {
			env = direct
			plain = append(plain, first())
			env = delayed
			slow = append(slow, first())
		}
	}
	slices.Sort(plain)
	slices.Sort(slow)
	b.ReportMetric(float64(plain[len(plain)/2].Microseconds())/1000, "first-request-ms-median")
	b.ReportMetric(float64(slow[len(slow)/2].Microseconds())/1000, "first-request-ms-median-with-10ms-calls")
	b.ReportMetric(0, "ns/op")
}

// awsRoundTrip is the latency added to each AWS call in the delayed runs.
const awsRoundTrip = 10 * time.Millisecond

// delayingProxy serves on a free 127.0.0.1 port until the benchmark ends,
// passing every request to target after waiting delay; it returns its URL.
func delayingProxy(b *testing.B, target string, delay time.Duration) string {
	b.Helper()
	u, err := url.Parse(target)
	if err != nil {
		b.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		proxy.ServeHTTP(w, r)
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}
