package lambdabuild_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"credportal/infra/lambdabuild"
	"credportal/infra/template"
)

// The size caps every deployed function keeps to, in MB of 10^6 bytes as
// `make bench` prints them.
const (
	maxBootstrapMB = 12
	maxZipMB       = 4
)

// TestSAMBuildTargets runs each function's build target as `sam build`
// (BuildMethod: makefile) does: `make --makefile <repo>/Makefile
// build-<LogicalId>` in a copy of the repository (SAM's scratch folder, a copy
// of ProjectRootDirectory), with ARTIFACTS_DIR in the environment. Each
// artifact must be the function's package built as a static, stripped
// linux/arm64 ELF named bootstrap, byte for byte what `make bench` measures
// (lambdabuild.Function in the repository itself), within the size caps.
func TestSAMBuildTargets(t *testing.T) {
	tmpl, root, err := template.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Fatal("make is not installed")
	}
	scratch := copyRepo(t, root)
	artifacts, reference := t.TempDir(), t.TempDir()
	fns := tmpl.Functions()
	if len(fns) < 7 {
		t.Fatalf("functions %v", fns)
	}
	for _, fn := range fns {
		t.Run(fn.LogicalID, func(t *testing.T) {
			if fn.Architecture != "arm64" {
				t.Errorf("architecture %s, want arm64", fn.Architecture)
			}
			meta := tmpl.Resources[fn.LogicalID].Metadata
			if meta["BuildMethod"] != "makefile" || meta["ContextPath"] != "." || meta["ProjectRootDirectory"] != "." {
				t.Errorf("Metadata %v: want BuildMethod makefile with the repository as ContextPath and ProjectRootDirectory", meta)
			}
			dir := filepath.Join(artifacts, fn.LogicalID)
			cmd := exec.Command(makeBin, "--makefile", filepath.Join(root, "Makefile"), "build-"+fn.LogicalID)
			cmd.Dir = scratch
			cmd.Env = append(os.Environ(), "ARTIFACTS_DIR="+dir)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("make build-%s: %v\n%s", fn.LogicalID, err, out)
			}
			entries, err := os.ReadDir(dir)
			if err != nil || len(entries) != 1 || entries[0].Name() != "bootstrap" {
				t.Fatalf("ARTIFACTS_DIR holds %v (%v), want bootstrap alone", entries, err)
			}
			built := filepath.Join(dir, "bootstrap")
			checkBootstrap(t, built, "credportal/"+fn.Package, scratch)

			// What `make bench` builds and measures.
			ref := filepath.Join(reference, fn.LogicalID)
			if err := lambdabuild.Function(context.Background(), root, fn.LogicalID, ref); err != nil {
				t.Fatal(err)
			}
			got, want := digest(t, built), digest(t, filepath.Join(ref, "bootstrap"))
			if got != want {
				t.Errorf("the sam build artifact differs from the benchmarked bootstrap")
			}
			st, err := os.Stat(built)
			if err != nil {
				t.Fatal(err)
			}
			zipped, err := lambdabuild.ZipSize(built)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() > maxBootstrapMB*1e6 || zipped > maxZipMB*1e6 {
				t.Errorf("bootstrap %.2f MB, zip %.2f MB: over %d MB / %d MB", float64(st.Size())/1e6, float64(zipped)/1e6, maxBootstrapMB, maxZipMB)
			}
		})
	}
}

// checkBootstrap checks the binary at path is an executable, stripped,
// static linux/arm64 build of package pkg with the functions' flags, and
// holds no path of the folder it was built in.
func checkBootstrap(t *testing.T, path, pkg, builtIn string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		t.Errorf("bootstrap is not executable: %v", fi.Mode())
	}
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("bootstrap is not an ELF binary: %v", err)
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_AARCH64 || f.Type != elf.ET_EXEC {
		t.Errorf("ELF %v %v %v, want a 64-bit arm64 executable", f.Class, f.Machine, f.Type)
	}
	for _, s := range []string{".symtab", ".debug_info", ".zdebug_info", ".interp"} {
		if f.Section(s) != nil {
			t.Errorf("bootstrap has a %s section: not stripped (-s -w) or not static", s)
		}
	}
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Path != pkg {
		t.Errorf("bootstrap is %s, want %s", info.Path, pkg)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
		if strings.HasPrefix(s.Key, "vcs") {
			t.Errorf("bootstrap carries VCS stamp %s=%s", s.Key, s.Value)
		}
	}
	for k, v := range map[string]string{"-tags": "lambda.norpc", "-trimpath": "true", "CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": "arm64"} {
		if settings[k] != v {
			t.Errorf("built with %s=%q, want %q", k, settings[k], v)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(builtIn)) {
		t.Errorf("bootstrap holds the path it was built in (%s)", builtIn)
	}
}

func digest(t *testing.T, path string) [32]byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(raw)
}

// copyRepo copies the repository as SAM copies ProjectRootDirectory to its
// scratch folder (without .git and .aws-sam), leaving out too the git-ignored
// outputs of the local stack and the tests, which hold no source.
func copyRepo(t *testing.T, root string) string {
	t.Helper()
	dst := t.TempDir()
	skip := map[string]bool{".git": true, ".aws-sam": true, ".local": true, "test-output": true, "bin": true}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if d.IsDir() && filepath.Dir(rel) == "." && skip[rel] {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return copyFile(path, target, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copy the repository: %v", err)
	}
	return dst
}

func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func TestFunctionUnknown(t *testing.T) {
	_, root, err := template.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	err = lambdabuild.Function(context.Background(), root, "NoSuchFunction", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "NoSuchFunction") {
		t.Errorf("building an unknown function: %v", err)
	}
}
