package localstack

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"credportal/infra/emulator"
	"credportal/infra/provision"
	"credportal/infra/template"
	"credportal/infra/testlog"
)

// TestDevCommand builds `make dev`'s command and runs it on free ports, in a
// process group of its own as a terminal runs it: it prints the URL, the demo
// users and the examples, writes the demo secrets, answers the banner's curl,
// and on Ctrl-C (SIGINT to the whole group) exits 0 and leaves no AWS
// emulator or runtime emulator running.
func TestDevCommand(t *testing.T) {
	tmpl, root, err := template.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "dev")
	build := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-o", bin, "./infra/cmd/dev")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the dev command: %v\n%s", err, out)
	}
	secrets := filepath.Join(dir, "demo-secrets.json")
	var (
		port, emuPort  int
		cmd            *exec.Cmd
		stdout, stderr *testlog.Buffer
		done           chan error
	)
	// The ports are chosen free, but another test's server may take one
	// before the stack binds it: then start again on others.
	for attempt := 1; ; attempt++ {
		port, emuPort = freePort(t), freePort(t)
		stdout, stderr, done = &testlog.Buffer{}, &testlog.Buffer{}, make(chan error, 1)
		cmd = exec.Command(bin, "-logs", filepath.Join(dir, "dev.log"), "-demo-secrets", secrets)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "EMULATOR_PORT="+strconv.Itoa(emuPort), "AWS_ENDPOINT_URL=")
		cmd.Stdout, cmd.Stderr = stdout, stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
		err := waitForBanner(stdout, done)
		if err == nil {
			break
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if !strings.Contains(stderr.String(), "in use") || attempt == 4 {
			t.Fatalf("dev stopped: %v\n%s\n%s", err, stdout.String(), stderr.String())
		}
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}()
	base := "127.0.0.1:" + strconv.Itoa(port)
	out := stdout.String()
	for _, want := range []string{
		"http://" + base + "/", "alice@acme.example", "admin@registry.example", "carol@globex.example",
		"curl -H \"Authorization: Bearer $(curl -s '" + base + "/local/token?email=alice@acme.example' | jq -r .access_token)\" " + base + "/v1/applications",
		"aws --endpoint-url http://127.0.0.1:" + strconv.Itoa(emuPort), "dynamodb scan --table-name " + StackName + "-Table",
		"http://" + base + "/local/mail",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}
	raw, err := os.ReadFile(secrets)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Secrets []struct{ ClientID, Value string } `json:"secrets"`
	}
	if err := json.Unmarshal(raw, &file); err != nil || len(file.Secrets) != 6 || !strings.HasPrefix(file.Secrets[0].Value, "cps_") {
		t.Errorf("demo secrets file: %v %s", err, raw)
	}

	resp, err := http.Get("http://" + base + "/local/token?email=alice@acme.example")
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodGet, "http://"+base+"/v1/applications", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the banner's curl: %d", resp.StatusCode)
	}

	// The examples of docs/local-stack.md work, as written, on these ports:
	// the delete of a secret just used is refused with 409 before
	// ?confirm=true deletes it, and the sweep says what it did.
	script := localStackExamples(t, root)
	wants := []string{`"Bearer"`, `"code": "recently_used"`, "\n204\n", `"examined":`, `"sent":`}
	if _, err := exec.LookPath("aws"); err == nil {
		wants = append(wants, "credportal-local-PepperSecret")
	} else {
		t.Log("the aws CLI is not installed: the aws examples of docs/local-stack.md are not run")
		var lines []string
		for _, l := range strings.Split(script, "\n") {
			if !strings.HasPrefix(l, "aws ") {
				lines = append(lines, l)
			}
		}
		script = strings.Join(lines, "\n")
	}
	sh := exec.Command("bash", "-euo", "pipefail", "-c", script)
	sh.Dir = root
	sh.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "EMULATOR_PORT="+strconv.Itoa(emuPort))
	shOut, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("docs/local-stack.md examples: %v\n%s", err, shOut)
	}
	for _, want := range wants {
		if !strings.Contains(string(shOut), want) {
			t.Errorf("docs/local-stack.md examples' output lacks %s:\n%s", want, shOut)
		}
	}

	// What the command started: the AWS emulator and a runtime emulator
	// (with its function) per function.
	started := descendants(t, cmd.Process.Pid)
	var moto, rie int
	for _, p := range started {
		switch {
		case strings.Contains(p.cmdline, "moto_server"):
			moto++
		case strings.Contains(p.cmdline, "aws-lambda-rie"):
			rie++
		}
	}
	// The functions that exist with the local parameters (InitialAdminFunction
	// exists only with the stack's own user pool).
	local, err := provision.Functions(tmpl, provision.Locals(tmpl, StackName, provision.LocalParams(stack.URL)))
	if err != nil {
		t.Fatal(err)
	}
	if fns := len(local); moto != 1 || rie != fns {
		t.Fatalf("the dev command runs %d moto_server and %d aws-lambda-rie processes, want 1 and %d (one per function)", moto, rie, fns)
	}

	// Ctrl-C: the terminal sends SIGINT to every process of the foreground
	// group.
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		stopped = true
		if err != nil {
			t.Errorf("dev on Ctrl-C: %v (want exit status 0)\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("dev did not stop on Ctrl-C")
	}
	if !strings.Contains(stdout.String(), "Stopping") {
		t.Errorf("dev did not say it was stopping:\n%s", stdout.String())
	}
	for _, p := range started {
		if p.running() {
			t.Errorf("still running after Ctrl-C: %d %s", p.pid, p.cmdline)
		}
	}
	for _, addr := range []string{base, "127.0.0.1:" + strconv.Itoa(emuPort)} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still answers after Ctrl-C", addr)
		}
	}
}

// localStackExamples is the shell block of docs/local-stack.md that shows
// the local stack's endpoints.
func localStackExamples(t *testing.T, root string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "docs", "local-stack.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(raw), "Local-only endpoints")
	if ok {
		_, after, ok = strings.Cut(after, "```sh\n")
	}
	block, _, closed := strings.Cut(after, "```\n")
	if !ok || !closed {
		t.Fatal("docs/local-stack.md has no shell block after \"Local-only endpoints\"")
	}
	return block
}

// process is a process seen in /proc: its start time tells it from a later
// process that reuses its id.
type process struct {
	pid       int
	ppid      int
	startTime string
	cmdline   string
}

// readProcess reads /proc/<pid>; ok is false when there is no such process
// or it has ended (a zombie waiting to be reaped).
func readProcess(pid int) (process, bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return process{}, false
	}
	// pid (comm) state ppid … with starttime the 22nd field; comm may hold
	// spaces and parentheses, so fields are counted after its last ")".
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return process{}, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return process{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return process{pid: pid, ppid: ppid, startTime: f[19], cmdline: strings.ReplaceAll(string(cmdline), "\x00", " ")}, true
}

func (p process) running() bool {
	now, ok := readProcess(p.pid)
	return ok && now.startTime == p.startTime
}

// descendants lists the running processes below pid.
func descendants(t *testing.T, pid int) []process {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("this test reads /proc: %v", err)
	}
	children := map[int][]process{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProcess(n); ok {
			children[p.ppid] = append(children[p.ppid], p)
		}
	}
	var out []process
	queue := []int{pid}
	for len(queue) > 0 {
		for _, c := range children[queue[0]] {
			out = append(out, c)
			queue = append(queue, c.pid)
		}
		queue = queue[1:]
	}
	return out
}

// waitForBanner waits until the dev command has printed its examples, or
// stopped.
func waitForBanner(stdout *testlog.Buffer, done chan error) error {
	deadline := time.After(2 * time.Minute)
	for !strings.Contains(stdout.String(), "Try:") {
		select {
		case err := <-done:
			return fmt.Errorf("stopped before the banner: %v", err)
		case <-deadline:
			return errors.New("no banner within 2 minutes")
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

func freePort(t *testing.T) int {
	t.Helper()
	addr, err := emulator.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}
