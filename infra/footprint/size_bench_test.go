package footprint

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"credportal/infra/lambdabuild"
	"credportal/infra/template"
)

// BenchmarkBootstrapSize reports, per function, the deployed bootstrap's
// size and its zip's size in MB (targets: ≤ 12 MB and ≤ 4 MB): the
// bootstrap as `sam build` makes it (linux, the template's architecture,
// lambdabuild's flags).
func BenchmarkBootstrapSize(b *testing.B) {
	tmpl, root, err := template.LoadRepo()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	for _, fn := range tmpl.Functions() {
		b.Run(filepath.Base(fn.Package), func(b *testing.B) {
			// What the Makefile's build-<LogicalId> target, and so `sam
			// build`, makes.
			out := filepath.Join(dir, fn.LogicalID, "bootstrap")
			if err := lambdabuild.Function(context.Background(), root, fn.LogicalID, filepath.Dir(out)); err != nil {
				b.Fatal(err)
			}
			st, err := os.Stat(out)
			if err != nil {
				b.Fatal(err)
			}
			z, err := lambdabuild.ZipSize(out)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
			}
			b.ReportMetric(float64(st.Size())/1e6, "bootstrap-MB")
			b.ReportMetric(float64(z)/1e6, "zip-MB")
			b.ReportMetric(0, "ns/op")
		})
	}
}
