package footprint

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"credportal/infra/emulator"
	"credportal/infra/lambdarun"
	"credportal/infra/template"
)

func TestMain(m *testing.M) { os.Exit(emulator.RunTests(m)) }

// coldStarts is how many cold starts each function's median is taken over.
const coldStarts = 7

// BenchmarkColdStart reports, per function, the median Init Duration of
// several cold starts under the Lambda runtime interface emulator (target:
// ≤ 15 ms). Each cold start is a new emulator process running the function's
// bootstrap (built for this machine's architecture), invoked once with its
// events/ sample against the AWS emulator.
func BenchmarkColdStart(b *testing.B) {
	ctx := context.Background()
	tmpl, root, err := template.LoadRepo()
	if err != nil {
		b.Fatal(err)
	}
	fns := tmpl.Functions()
	var pkgs []string
	for _, fn := range fns {
		pkgs = append(pkgs, fn.Package)
	}
	build, err := lambdarun.BuildFunctions(ctx, root, lambdarun.DefaultDir(root), pkgs...)
	if err != nil {
		b.Fatal(err)
	}
	emu := emulator.ForTest(b)
	refs := map[string]string{}
	for id := range tmpl.Resources {
		refs[id] = "local-" + id
	}
	refs["Table"], refs["PepperSecret"], refs["SigningKeySecret"] = emu.NewTable(b), emu.NewSecret(b), emu.NewSecret(b)
	locals := template.Locals{Refs: refs, Params: map[string]string{"PortalUrl": "http://127.0.0.1:3000/", "SignInMode": "local"}, Pseudo: map[string]string{"AWS::Region": emulator.Region, "AWS::StackName": "portal"}}

	for _, fn := range fns {
		name := filepath.Base(fn.Package)
		event, err := os.ReadFile(filepath.Join(root, "events", name+".json"))
		if err != nil {
			b.Fatal(err)
		}
		env, err := lambdarun.Env(tmpl, fn, locals, emu.URL, emulator.Region)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			var inits []time.Duration
			for b.Loop() {
				for range coldStarts {
					in, err := build.Start(ctx, fn, env, nil)
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
