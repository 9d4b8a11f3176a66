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
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"credportal/infra/lambdabuild"
)

// RIEPackage is the Lambda Runtime Interface Emulator, pinned in go.mod as a
// tool.
const RIEPackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// Build holds built bootstraps and the runtime emulator.
type Build struct {
	// Dir holds the builds.
	Dir string
	// RIE is the path of the aws-lambda-rie binary.
	RIE string
	// Bootstraps maps a package folder ("functions/me") to its bootstrap.
	Bootstraps map[string]string
	// Cached is true when nothing needed building.
	Cached bool
}

// DefaultDir is where the local stack keeps its builds: .local/build at the
// repository root (git-ignored).
func DefaultDir(root string) string { return filepath.Join(root, ".local", "build") }

// BuildFunctions builds the bootstraps of pkgs (package folders relative to
// root, as template.yaml's CodeUri gives them) and the runtime emulator into
// dir. Each binary is kept in a folder named for a hash of what it is built
// from (its Go and embedded files and those of every module package it
// imports, the versions of the others, the toolchain and flags), so only a
// binary whose code changed is built again. What is missing is built by one
// `go build`, which compiles shared code once and reuses Go's build cache.
func BuildFunctions(ctx context.Context, root, dir string, pkgs ...string) (*Build, error) {
	pkgs = slices.Clone(pkgs)
	slices.Sort(pkgs)
	pkgs = slices.Compact(pkgs)
	targets := make([]string, 0, len(pkgs)+1)
	for _, p := range pkgs {
		targets = append(targets, "./"+filepath.ToSlash(p))
	}
	targets = append(targets, RIEPackage)
	keys, err := sourceKeys(ctx, root, targets)
	if err != nil {
		return nil, err
	}
	b := &Build{Dir: dir, Bootstraps: map[string]string{}}
	type output struct{ target, built, path string }
	var outs []output
	for i, p := range pkgs {
		path := filepath.Join(dir, binName(p)+"-"+keys[targets[i]], "bootstrap")
		b.Bootstraps[p] = path
		outs = append(outs, output{targets[i], filepath.Base(p), path})
	}
	b.RIE = filepath.Join(dir, "aws-lambda-rie-"+keys[RIEPackage], "aws-lambda-rie")
	outs = append(outs, output{RIEPackage, "aws-lambda-rie", b.RIE})

	var missing []output
	for _, o := range outs {
		if fi, err := os.Stat(o.path); err != nil || !fi.Mode().IsRegular() {
			missing = append(missing, o)
		}
	}
	if len(missing) == 0 {
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
	// The deployed functions' flags, for this machine's architecture.
	args := append([]string{"build", "-o", tmp + string(filepath.Separator)}, lambdabuild.Flags...)
	for _, o := range missing {
		args = append(args, o.target)
	}
	if len(missing) == 1 {
		// With one package, -o names the file.
		args[2] = filepath.Join(tmp, missing[0].built)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = lambdabuild.Env(runtime.GOARCH)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build %s: %w\n%s", strings.Join(pkgs, " "), err, strings.TrimSpace(stderr.String()))
	}
	for _, o := range missing {
		// Stage in a folder of its own, then move the folder in place at
		// once; another process may have placed the same build meanwhile,
		// and either is good.
		stage, err := os.MkdirTemp(tmp, "stage-")
		if err != nil {
			return nil, err
		}
		if err := os.Rename(filepath.Join(tmp, o.built), filepath.Join(stage, filepath.Base(o.path))); err != nil {
			return nil, fmt.Errorf("place %s: %w", o.target, err)
		}
		if err := os.Rename(stage, filepath.Dir(o.path)); err != nil {
			if _, serr := os.Stat(o.path); serr != nil {
				return nil, fmt.Errorf("store build of %s: %w", o.target, err)
			}
		}
		prune(dir, filepath.Base(filepath.Dir(o.path)))
	}
	return b, nil
}

// binName names a package's folder in a build: its path with / turned to -.
func binName(pkg string) string {
	return strings.ReplaceAll(strings.Trim(filepath.ToSlash(pkg), "/"), "/", "-")
}

// sourceKeys hashes, for each target, what its binary is built from: the Go
// toolchain and target, the flags, go.mod and go.sum, and the Go and embedded
// files of the target and of every module package it imports (as `go list
// -deps` names them; a package outside the module is named by its versioned
// folder).
func sourceKeys(ctx context.Context, root string, targets []string) (map[string]string, error) {
	base := sha256.New()
	fmt.Fprintln(base, runtime.Version(), runtime.GOARCH, strings.Join(lambdabuild.Flags, " "))
	for _, f := range []string{"go.mod", "go.sum"} {
		if err := hashFile(base, root, f); err != nil {
			return nil, err
		}
	}
	args := []string{"list", "-tags", "lambda.norpc", "-deps", "-f",
		`{{if not .Standard}}{{.ImportPath}}|{{.Dir}}|{{if .Module}}{{.Module.Main}}{{end}}|{{join .GoFiles " "}} {{join .EmbedFiles " "}}|{{join .Deps " "}}{{end}}`}
	cmd := exec.CommandContext(ctx, "go", append(args, targets...)...)
	cmd.Dir = root
	cmd.Env = lambdabuild.Env(runtime.GOARCH)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w\n%s", strings.Join(targets, " "), err, strings.TrimSpace(stderr.String()))
	}
	// Fingerprint every non-standard package, then each target from its own
	// and its dependencies' fingerprints.
	type pkg struct {
		fingerprint string
		deps        []string
	}
	pkgs := map[string]pkg{}
	var order []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.SplitN(line, "|", 5)
		if len(f) != 5 {
			continue
		}
		h := sha256.New()
		if f[2] != "true" {
			fmt.Fprintln(h, f[1])
		} else {
			for _, name := range strings.Fields(f[3]) {
				rel, err := filepath.Rel(root, filepath.Join(f[1], name))
				if err != nil {
					return nil, err
				}
				if err := hashFile(h, root, rel); err != nil {
					return nil, fmt.Errorf("hash sources: %w", err)
				}
			}
		}
		pkgs[f[0]] = pkg{fingerprint: hex.EncodeToString(h.Sum(nil)), deps: strings.Fields(f[4])}
		order = append(order, f[0])
	}
	keys := map[string]string{}
	for _, t := range targets {
		// The target is the last package go list names for it: find it by
		// import path (a ./folder target is the module's path plus folder).
		ip := t
		if strings.HasPrefix(t, "./") {
			ip = ""
			for _, p := range order {
				if strings.HasSuffix(p, "/"+strings.TrimPrefix(t, "./")) {
					ip = p
				}
			}
		}
		p, ok := pkgs[ip]
		if !ok {
			return nil, fmt.Errorf("go list did not describe %s", t)
		}
		h := sha256.New()
		h.Write(base.Sum(nil))
		fmt.Fprintln(h, ip, p.fingerprint)
		for _, d := range p.deps {
			if dp, ok := pkgs[d]; ok {
				fmt.Fprintln(h, d, dp.fingerprint)
			}
		}
		keys[t] = hex.EncodeToString(h.Sum(nil))[:16]
	}
	return keys, nil
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

// prune removes the earlier builds of the binary kept in folder keep (same
// name, another hash) not touched in the last hour: another run may still
// be using a recent one.
func prune(dir, keep string) {
	name := keep[:strings.LastIndex(keep, "-")+1]
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		n := e.Name()
		if n == keep || !e.IsDir() || !strings.HasPrefix(n, name) || strings.Contains(n[len(name):], "-") {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Hour {
			_ = os.RemoveAll(filepath.Join(dir, n))
		}
	}
}
