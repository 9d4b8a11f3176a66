package footprint

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"credportal/infra/emulator/emulatortest"
	"credportal/infra/lambdarun/lambdaruntest"
)

func TestMain(m *testing.M) { os.Exit(emulatortest.RunTests(m)) }

// coldStarts is how many cold starts each function's median is taken over.
const coldStarts = 7

// BenchmarkColdStart reports, per function, the median Init Duration of
// several cold starts under the Lambda runtime interface emulator (target:
// ≤ 15 ms). Each cold start is a new emulator process running the function's
// bootstrap (built for this machine's architecture), invoked once with its
// events/ sample against the AWS emulator.
func BenchmarkColdStart(b *testing.B) {
	ctx := context.Background()
	h := lambdaruntest.New(b, emulatortest.ForTest(b))
	for _, fn := range h.Functions() {
		name := filepath.Base(fn.Package)
		event := h.Event(b, name+".json")
		env := h.Env(b, fn.LogicalID)
		b.Run(name, func(b *testing.B) {
			var inits []time.Duration
			for b.Loop() {
				for range coldStarts {
					in, err := h.Build.Start(ctx, fn, env, nil)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := in.Invoke(ctx, event); err != nil {
						in.Stop()
						b.Fatal(err)
					}
					d, err := in.InitDuration(ctx)
					in.Stop()
					if err != nil {
						b.Fatal(err)
					}
					inits = append(inits, d)
				}
			}
			slices.Sort(inits)
			b.ReportMetric(float64(inits[len(inits)/2].Microseconds())/1000, "init-ms-median")
			b.ReportMetric(float64(inits[len(inits)-1].Microseconds())/1000, "init-ms-max")
			b.ReportMetric(0, "ns/op")
		})
	}
}
