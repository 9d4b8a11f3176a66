// Package lambdarun builds the portal's functions as Lambda `bootstrap`
// binaries and runs them under the Lambda Runtime Interface Emulator (RIE),
// the way `sam local` runs a provided.al2023 function: one emulator process
// per function, invoked over the Lambda invoke API.
package lambdarun

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// RIEPackage is the Lambda Runtime Interface Emulator, pinned in go.mod as a
// tool.
const RIEPackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// Build holds built bootstraps and the runtime emulator.
type Build struct {
	// Dir holds the binaries.
	Dir string
	// RIE is the path of the aws-lambda-rie binary.
	RIE string
	// Bootstraps maps a package folder ("functions/me") to its bootstrap.
	Bootstraps map[string]string
	// Cached is true when nothing needed building.
	Cached bool
}

// buildFlags are those `sam build` uses for a go1.x function on
// provided.al2023, minus the architecture: locally the host's.
var buildFlags = []string{"-tags", "lambda.norpc", "-ldflags=-s -w", "-trimpath"}

// DefaultDir is where the local stack keeps its builds: .local/build at the
// repository root (git-ignored).
func DefaultDir(root string) string { return filepath.Join(root, ".local", "build") }

// BuildFunctions builds the bootstraps of pkgs (package folders relative to
// root, as template.yaml's CodeUri gives them) and the runtime emulator into
// a folder of dir named for a hash of the module's Go sources, so an
// unchanged tree is not rebuilt at all. Every package is built by one `go
// build`, which compiles the shared code once and reuses Go's build cache.
func BuildFunctions(ctx context.Context, root, dir string, pkgs ...string) (*Build, error) {
	pkgs = slices.Clone(pkgs)
	slices.Sort(pkgs)
	pkgs = slices.Compact(pkgs)
	key, err := sourceKey(ctx, root, pkgs)
	if err != nil {
		return nil, err
	}
	out := filepath.Join(dir, key)
	b := &Build{Dir: out, RIE: filepath.Join(out, "aws-lambda-rie"), Bootstraps: map[string]string{}}
	for _, p := range pkgs {
		b.Bootstraps[p] = filepath.Join(out, binName(p), "bootstrap")
	}
	if complete(b) {
		b.Cached = true
		return b, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(dir, "tmp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	args := append([]string{"build", "-o", tmp + string(filepath.Separator)}, buildFlags...)
	for _, p := range pkgs {
		args = append(args, "./"+filepath.ToSlash(p))
	}
	args = append(args, RIEPackage)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build %s: %w\n%s", strings.Join(pkgs, " "), err, strings.TrimSpace(stderr.String()))
	}
	stage := filepath.Join(tmp, "out")
	for _, p := range pkgs {
		dst := filepath.Join(stage, binName(p))
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return nil, err
		}
		if err := os.Rename(filepath.Join(tmp, filepath.Base(p)), filepath.Join(dst, "bootstrap")); err != nil {
			return nil, fmt.Errorf("place bootstrap of %s: %w", p, err)
		}
	}
	if err := os.Rename(filepath.Join(tmp, "aws-lambda-rie"), filepath.Join(stage, "aws-lambda-rie")); err != nil {
		return nil, err
	}
	// Another process may have finished the same build meanwhile: either
	// result is good.
	if err := os.Rename(stage, out); err != nil && !complete(b) {
		return nil, fmt.Errorf("store build: %w", err)
	}
	prune(dir, key)
	return b, nil
}

func complete(b *Build) bool {
	for _, p := range append(slices.Collect(maps.Values(b.Bootstraps)), b.RIE) {
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// binName names a package's folder in a build: its path with / turned to -.
func binName(pkg string) string {
	return strings.ReplaceAll(strings.Trim(filepath.ToSlash(pkg), "/"), "/", "-")
}

// sourceKey hashes what a build depends on: the Go toolchain and target, the
// flags, the packages asked for, go.mod, go.sum, and the Go and embedded
// files of every module package they import (as `go list -deps` names them;
// a dependency outside the module is named by its versioned folder). A change
// to what a function is built from rebuilds everything (Go's build cache
// keeps that quick); a change elsewhere rebuilds nothing.
func sourceKey(ctx context.Context, root string, pkgs []string) (string, error) {
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version(), runtime.GOARCH, strings.Join(buildFlags, " "), strings.Join(pkgs, " "))
	for _, f := range []string{"go.mod", "go.sum"} {
		if err := hashFile(h, root, f); err != nil {
			return "", err
		}
	}
	args := []string{"list", "-tags", "lambda.norpc", "-deps", "-f",
		`{{if not .Standard}}{{.Dir}}|{{if .Module}}{{.Module.Main}}{{end}}|{{join .GoFiles " "}} {{join .EmbedFiles " "}}{{end}}`}
	for _, p := range pkgs {
		args = append(args, "./"+filepath.ToSlash(p))
	}
	cmd := exec.CommandContext(ctx, "go", append(args, RIEPackage)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list %s: %w\n%s", strings.Join(pkgs, " "), err, strings.TrimSpace(stderr.String()))
	}
	for _, line := range strings.Split(string(out), "\n") {
		dir, rest, _ := strings.Cut(line, "|")
		main, files, _ := strings.Cut(rest, "|")
		if dir == "" {
			continue
		}
		if main != "true" {
			fmt.Fprintln(h, dir)
			continue
		}
		for _, f := range strings.Fields(files) {
			rel, err := filepath.Rel(root, filepath.Join(dir, f))
			if err != nil {
				return "", err
			}
			if err := hashFile(h, root, rel); err != nil {
				return "", fmt.Errorf("hash sources: %w", err)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func hashFile(h io.Writer, root, rel string) error {
	f, err := os.Open(filepath.Join(root, rel))
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(h, "\x00%s\x00", filepath.ToSlash(rel))
	_, err = io.Copy(h, f)
	return err
}

// prune removes earlier builds in dir, keeping keep and anything touched in
// the last hour (another run may still be using it).
func prune(dir, keep string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Name() == keep || !e.IsDir() {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Hour {
			_ = os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}
