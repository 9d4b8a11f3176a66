package lambdarun

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"credportal/infra/template"
)

// Instance is one function running under its own runtime emulator. The
// emulator serves one invocation at a time, so Invoke calls are serialised.
type Instance struct {
	Function template.Function
	// URL is the emulator's invoke endpoint.
	URL string

	cmd  *exec.Cmd
	done chan struct{}
	logs *logScanner
	mu   sync.Mutex // one invocation at a time
}

// invokePath is the Lambda Invoke API path the emulator serves.
const invokePath = "/2015-03-31/functions/function/invocations"

// Start runs fn's bootstrap under the runtime emulator with exactly env as
// its environment (plus PATH, and the Lambda variables the emulator sets),
// on two free 127.0.0.1 ports. The emulator's and the function's output go
// to logs (nil discards). The process has its own process group, is killed
// by Stop, and dies with the calling process.
func (b *Build) Start(ctx context.Context, fn template.Function, env map[string]string, logs io.Writer) (*Instance, error) {
	bootstrap, ok := b.Bootstraps[fn.Package]
	if !ok {
		return nil, fmt.Errorf("%s: package %s was not built", fn.LogicalID, fn.Package)
	}
	// A free port can be taken by another server between choosing it and the
	// emulator binding it; the emulator then exits, and a new pair of ports
	// is tried.
	for attempt := 1; ; attempt++ {
		in, err := b.start(ctx, fn, bootstrap, env, logs)
		if errors.Is(err, errPortTaken) && attempt < 5 {
			continue
		}
		return in, err
	}
}

// errPortTaken is returned when the emulator could not listen where asked.
var errPortTaken = errors.New("runtime emulator exited at start: its port was taken")

func (b *Build) start(ctx context.Context, fn template.Function, bootstrap string, env map[string]string, logs io.Writer) (*Instance, error) {
	rieAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	apiAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(b.RIE, "--runtime-interface-emulator-address", rieAddr, "--runtime-api-address", apiAddr, bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = environ(fn, env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if logs == nil {
		logs = io.Discard
	}
	in := &Instance{Function: fn, URL: "http://" + rieAddr + invokePath, cmd: cmd, done: make(chan struct{}), logs: newLogScanner(pr, logs)}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start runtime emulator for %s: %w", fn.LogicalID, err)
	}
	go func() {
		_ = cmd.Wait()
		pw.Close()
		close(in.done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", rieAddr, time.Second)
		if err == nil {
			c.Close()
			// What answered must be this emulator, not a server that took
			// the port first.
			if listensOn(cmd.Process.Pid, rieAddr) {
				return in, nil
			}
		}
		select {
		case <-in.done:
			return nil, fmt.Errorf("%s: %w", fn.LogicalID, errPortTaken)
		case <-ctx.Done():
			in.Stop()
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			in.Stop()
			return nil, fmt.Errorf("runtime emulator for %s did not listen on %s", fn.LogicalID, rieAddr)
		}
	}
}

// environ is the emulator's environment, which it hands on to the function:
// nothing of the caller's own (no stray AWS_PROFILE), only fn's variables
// and what a Lambda function finds set.
func environ(fn template.Function, env map[string]string) []string {
	vars := map[string]string{
		"PATH":                     "/usr/local/bin:/usr/bin:/bin",
		"TZ":                       ":UTC",
		"AWS_LAMBDA_FUNCTION_NAME": fn.LogicalID,
		"AWS_LAMBDA_LOG_FORMAT":    "JSON",
	}
	if fn.Timeout > 0 {
		vars["AWS_LAMBDA_FUNCTION_TIMEOUT"] = strconv.Itoa(fn.Timeout)
	}
	for k, v := range env {
		vars[k] = v
	}
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// ErrStopped is returned by Invoke once the emulator has exited.
var ErrStopped = errors.New("function is not running")

// Invoke sends payload to the function and returns what it answered. A
// function error (an unhandled error or a crash) comes back as the Lambda
// error payload {"errorMessage","errorType"}, as the Invoke API gives it.
func (in *Instance) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	select {
	case <-in.done:
		return nil, fmt.Errorf("%s: %w", in.Function.LogicalID, ErrStopped)
	default:
	}
	timeout := time.Duration(in.Function.Timeout)*time.Second + 5*time.Second
	if in.Function.Timeout == 0 {
		timeout = 305 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.URL, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", in.Function.LogicalID, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", in.Function.LogicalID, err)
	}
	in.logs.invoked()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("invoke %s: runtime emulator answered %d: %s", in.Function.LogicalID, resp.StatusCode, bytes.TrimSpace(body))
	}
	return body, nil
}

// InitDuration waits until the emulator has reported the last invocation
// and returns the init duration of the function's cold start: the emulator's
// "INIT REPORT(durationMs: …)", from the bootstrap's exec until it asks for
// its first event, which is what Lambda reports as Init Duration. (The
// emulator's own REPORT "Init Duration" times only its handover to the
// runtime; the larger of the two is returned.) Zero before the first
// invocation.
func (in *Instance) InitDuration(ctx context.Context) (time.Duration, error) {
	init, _, err := in.logs.reported(ctx)
	return init, err
}

// InvokeDuration waits until the emulator has reported the last invocation
// and returns its Duration: from the event's dispatch, after any Init, until
// the function answered. Of a cold start's first invocation, it is the first
// request's latency after Init.
func (in *Instance) InvokeDuration(ctx context.Context) (time.Duration, error) {
	_, d, err := in.logs.reported(ctx)
	return d, err
}

// Stop kills the emulator and the function it runs.
func (in *Instance) Stop() {
	if in == nil || in.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-in.cmd.Process.Pid, syscall.SIGKILL)
	<-in.done
}

// listensOn reports whether process pid holds the listening socket of addr,
// from /proc (where there is no /proc, it trusts the connection).
func listensOn(pid int, addr string) bool {
	_, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return false
	}
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		raw, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(raw), "\n")[1:] {
			f := strings.Fields(line)
			// local_address is HEXIP:HEXPORT; state 0A is LISTEN.
			if len(f) < 10 || f[3] != "0A" || !strings.HasSuffix(f[1], fmt.Sprintf(":%04X", port)) {
				continue
			}
			inodes["socket:["+f[9]+"]"] = true
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return errors.Is(err, fs.ErrNotExist) && len(inodes) == 0
	}
	for _, fd := range fds {
		if link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && inodes[link] {
			return true
		}
	}
	return false
}

// handedOut holds the ports this process has given an emulator. The
// emulator binds its runtime API port only at the first invocation, so a
// port picked twice (the kernel may hand a just-closed port out again) would
// surface as a failed invocation much later; never picking one twice rules
// that out within the process.
var handedOut = struct {
	sync.Mutex
	ports map[string]bool
}{ports: map[string]bool{}}

func freeAddr() (string, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		held = append(held, l)
		addr := l.Addr().String()
		if !handedOut.ports[addr] {
			handedOut.ports[addr] = true
			return addr, nil
		}
	}
	return "", errors.New("no free port found")
}

var (
	reportLine     = regexp.MustCompile(`^REPORT RequestId: \S+\s+(?:Init Duration: ([0-9.]+) ms)?`)
	durationField  = regexp.MustCompile(`\tDuration: ([0-9.]+) ms`)
	initReportLine = regexp.MustCompile(`\(rapid\) INIT REPORT\(durationMs: ([0-9.]+)\)`)
)

// logScanner copies the emulator's output to a writer and reads its REPORT
// lines.
type logScanner struct {
	mu       sync.Mutex
	cond     *sync.Cond
	reports  int
	invokes  int
	init     time.Duration
	last     time.Duration // the Duration of the last invocation reported
	finished bool
	// runtimeInit is the emulator's "INIT REPORT(durationMs: …)": from
	// the bootstrap's start until it asks for its first event.
	runtimeInit time.Duration
}

func millis(b []byte) time.Duration {
	ms, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0
	}
	return time.Duration(ms * float64(time.Millisecond))
}

func newLogScanner(r io.Reader, w io.Writer) *logScanner {
	s := &logScanner{}
	s.cond = sync.NewCond(&s.mu)
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = w.Write(append(line, '\n'))
			if m := initReportLine.FindSubmatch(line); m != nil {
				s.mu.Lock()
				s.runtimeInit = millis(m[1])
				s.mu.Unlock()
			}
			if m := reportLine.FindSubmatch(line); m != nil {
				s.mu.Lock()
				s.reports++
				if len(m[1]) > 0 {
					s.init = max(s.runtimeInit, millis(m[1]))
				}
				if d := durationField.FindSubmatch(line); d != nil {
					s.last = millis(d[1])
				}
				s.cond.Broadcast()
				s.mu.Unlock()
			}
		}
		_, _ = io.Copy(io.Discard, r)
		s.mu.Lock()
		s.finished = true
		s.cond.Broadcast()
		s.mu.Unlock()
	}()
	return s
}

func (s *logScanner) invoked() {
	s.mu.Lock()
	s.invokes++
	s.mu.Unlock()
}

// reported waits until the emulator has reported the last invocation and
// returns its init duration and the invocation's own duration.
func (s *logScanner) reported(ctx context.Context) (time.Duration, time.Duration, error) {
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.reports < s.invokes && !s.finished {
		if ctx.Err() != nil {
			return 0, 0, ctx.Err()
		}
		s.cond.Wait()
	}
	return s.init, s.last, nil
}
