// Package lambdabuild builds the portal's functions as Lambda `bootstrap`
// binaries with one set of flags, so that what `sam build` deploys (the
// Makefile's build-<LogicalId> targets), what `make bench` measures and what
// the local stack runs are built alike.
package lambdabuild

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"credportal/infra/template"
)

// Flags are the go build flags of every bootstrap: without the RPC shim
// (provided.al2023 speaks the runtime API), stripped, with no file path or
// VCS stamp in the binary, so a build is the same wherever the module sits.
var Flags = []string{"-tags", "lambda.norpc", "-ldflags=-s -w", "-trimpath", "-buildvcs=false"}

// Env is the environment of a bootstrap build for linux/goarch: static (no
// cgo), and GOFLAGS cleared so that nothing set in the caller's environment
// changes what is built.
func Env(goarch string) []string {
	return append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0", "GOFLAGS=")
}

// Function builds the function logicalID of the template.yaml at root as
// dir/bootstrap, for the architecture the template gives it: the function's
// Go package is the folder its CodeUri names.
func Function(ctx context.Context, root, logicalID, dir string) error {
	tmpl, err := template.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		return err
	}
	for _, fn := range tmpl.Functions() {
		if fn.LogicalID == logicalID {
			return Package(ctx, root, fn.Package, fn.Architecture, filepath.Join(dir, "bootstrap"))
		}
	}
	return fmt.Errorf("template.yaml has no function %q", logicalID)
}

// Package builds the main package in folder pkg of the module at root as the
// file out, for linux/goarch.
func Package(ctx context.Context, root, pkg, goarch, out string) error {
	if pkg == "" || strings.HasPrefix(pkg, "..") || filepath.IsAbs(pkg) {
		return fmt.Errorf("build %q: not a package folder of the module", pkg)
	}
	if out == "" {
		return errors.New("build: no output file")
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	args := append([]string{"build", "-o", out}, Flags...)
	cmd := exec.CommandContext(ctx, "go", append(args, "./"+filepath.ToSlash(pkg))...)
	cmd.Dir = root
	cmd.Env = Env(goarch)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./%s for linux/%s: %w\n%s", pkg, goarch, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// ZipSize is the size of the deployment package of the bootstrap at path:
// a zip holding it alone, deflated, as `sam package` uploads it.
func ZipSize(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	hdr := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	hdr.SetMode(0o755)
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return 0, err
	}
	if _, err := io.Copy(w, f); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return buf.Len(), nil
}
