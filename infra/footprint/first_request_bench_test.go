package footprint

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"credportal/infra/emulator/emulatortest"
	"credportal/infra/lambdarun/lambdaruntest"
	"credportal/infra/seed"
)

// BenchmarkTokenFirstRequest reports the median latency of the token
// function's first request after Init, under the Lambda runtime emulator:
// the Duration the emulator reports for a successful client_secret_basic
// request (events/token.json) against the AWS emulator. That request needs
// the client item from DynamoDB and, from Secrets Manager, the pepper and the
// signing key, which the function fetches at the same time. Each sample is a
// new emulator process; the signing key exists already, as in a running
// portal.
func BenchmarkTokenFirstRequest(b *testing.B) {
	ctx := context.Background()
	emu := emulatortest.ForTest(b)
	h := lambdaruntest.New(b, emu, "TokenFunction")
	event := h.Event(b, "token.json")
	clientID, value, err := seed.SampleCredentials(event)
	if err != nil {
		b.Fatal(err)
	}
	if err := seed.SampleClient(ctx, emu.Config(), h.Locals.Refs["Table"], h.Locals.Refs["PepperSecret"], clientID, value, time.Now()); err != nil {
		b.Fatal(err)
	}
	fn, env := h.Function(b, "TokenFunction"), h.Env(b, "TokenFunction")
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
	first() // the first cold start of all generates the signing key
	var durations []time.Duration
	for b.Loop() {
		for range coldStarts {
			durations = append(durations, first())
		}
	}
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "first-request-ms-median")
	b.ReportMetric(float64(durations[len(durations)-1].Microseconds())/1000, "first-request-ms-max")
	b.ReportMetric(0, "ns/op")
}
