package footprint

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"credportal/infra/template"
)

// buildDeployed builds a function's package as `sam build` ships it for
// provided.al2023 on arm64, with the flags the portal deploys with.
func buildDeployed(b *testing.B, root, pkg, out string) {
	b.Helper()
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w", "-o", out, "./"+pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build %s: %v\n%s", pkg, err, msg)
	}
}

// zipped is the size of the deployment package: bootstrap alone, deflated.
func zipped(b *testing.B, path string) int {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	hdr := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	hdr.SetMode(0o755)
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(w, f); err != nil {
		b.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Len()
}

// BenchmarkBootstrapSize reports, per function, the deployed bootstrap's
// size and its zip's size in MB (targets: ≤ 12 MB and ≤ 4 MB).
func BenchmarkBootstrapSize(b *testing.B) {
	tmpl, root, err := template.LoadRepo()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	for _, fn := range tmpl.Functions() {
		b.Run(filepath.Base(fn.Package), func(b *testing.B) {
			out := filepath.Join(dir, filepath.Base(fn.Package), "bootstrap")
			buildDeployed(b, root, fn.Package, out)
			st, err := os.Stat(out)
			if err != nil {
				b.Fatal(err)
			}
			z := zipped(b, out)
			for b.Loop() {
			}
			b.ReportMetric(float64(st.Size())/1e6, "bootstrap-MB")
			b.ReportMetric(float64(z)/1e6, "zip-MB")
			b.ReportMetric(0, "ns/op")
		})
	}
}
