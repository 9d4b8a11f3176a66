// Package emulator runs moto_server, the AWS emulator the local stack and the
// tests use for DynamoDB, Secrets Manager and SES v2, and reads back what it
// holds.
package emulator

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Region is the region every client of the emulator uses.
const Region = "us-east-1"

// Emulator is a running moto_server, or one the user pointed at, behind a
// front that lets an Authorizer refuse what AWS would refuse (moto evaluates
// no IAM policy).
type Emulator struct {
	// URL is the front's address: every client of the emulator uses it.
	URL string
	// MotoURL is moto_server's own address.
	MotoURL string
	cmd     *exec.Cmd
	front   *front
	// isolation serialises what moto cannot run concurrently; see
	// isolatingTransport.
	isolation sync.RWMutex
}

// FreeAddr returns a free 127.0.0.1 address.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Start runs the emulator at addr ("127.0.0.1:PORT"): its front listens
// there, moto_server itself on a port the system chooses. It waits until
// moto answers, and dies with the calling process.
func Start(ctx context.Context, addr string) (*Emulator, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("emulator address %q: %w", addr, err)
	}
	if l, err := net.Listen("tcp", addr); err != nil {
		return nil, fmt.Errorf("emulator port %s is in use: %w", port, err)
	} else {
		l.Close()
	}
	return start(ctx, host, port)
}

// StartFree runs the emulator on a port of host that the system chooses, so
// that nothing else can take the port between choosing and binding it, and
// waits until it answers.
func StartFree(ctx context.Context, host string) (*Emulator, error) {
	return start(ctx, host, "0")
}

// listening is how moto_server (werkzeug) announces its address.
var listening = regexp.MustCompile(`Running on (http://[0-9.]+:[0-9]+)`)

func start(ctx context.Context, host, port string) (*Emulator, error) {
	if _, err := exec.LookPath("moto_server"); err != nil {
		return nil, errors.New("moto_server not found on PATH: install it with 'pip install \"moto[server]\"'")
	}
	// The front takes the address asked for, now, so that nothing takes it
	// while moto starts.
	frontListener, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("emulator address %s:%s: %w", host, port, err)
	}
	cmd := exec.Command("moto_server", "-H", "127.0.0.1", "-p", "0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if os.Getenv("EMULATOR_LOG") != "" {
		cmd.Stdout = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		frontListener.Close()
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	e := &Emulator{cmd: cmd}
	started := false
	defer func() {
		if !started {
			frontListener.Close()
		}
	}()
	announced := make(chan string, 1)
	go func() {
		// Read the announcement, then keep draining so the server never
		// blocks on a full pipe.
		var out io.Writer = io.Discard
		if os.Getenv("EMULATOR_LOG") != "" {
			out = os.Stderr
		}
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(out, sc.Text())
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case announced <- m[1]:
				default:
				}
			}
		}
		close(announced)
	}()
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	select {
	case url, ok := <-announced:
		if !ok {
			e.Stop()
			return nil, errors.New("moto_server exited before listening")
		}
		e.URL = url
	case <-timeout.C:
		e.Stop()
		return nil, errors.New("moto_server did not start listening")
	case <-ctx.Done():
		e.Stop()
		return nil, ctx.Err()
	}
	e.MotoURL = e.URL
	for {
		if err := e.ping(ctx); err == nil {
			if err := e.startFront(frontListener); err != nil {
				e.Stop()
				return nil, err
			}
			started = true
			return e, nil
		}
		select {
		case <-timeout.C:
			e.Stop()
			return nil, fmt.Errorf("moto_server did not answer on %s", e.URL)
		case <-ctx.Done():
			e.Stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Attach uses an emulator that is already running at url, behind a front
// of its own.
func Attach(url string) (*Emulator, error) {
	e := &Emulator{URL: url, MotoURL: url}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if err := e.startFront(l); err != nil {
		l.Close()
		return nil, err
	}
	return e, nil
}

func (e *Emulator) ping(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.URL+"/moto-api/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// Stop ends an emulator this package started, and the front of any.
func (e *Emulator) Stop() {
	if e == nil {
		return
	}
	e.front.stop()
	if e.cmd == nil || e.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = e.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// Config is an SDK configuration for the emulator: fixed test credentials and
// region, every service's endpoint at the emulator.
func (e *Emulator) Config() aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(e.URL),
		// The SDK's own retries, as in AWS, ride over the emulator's
		// occasional dropped connection under parallel tests. Faults a test
		// injects come before them (in the Initialize step) and are final.
		RetryMaxAttempts: 3,
		HTTPClient:       &http.Client{Transport: &isolatingTransport{next: http.DefaultTransport, lock: &e.isolation}},
	}
}

// isolatingTransport gives moto's DynamoDB the isolation that DynamoDB
// itself guarantees. moto runs a transaction by copying the table, applying
// the writes and restoring the copy on a failed condition: a write that runs
// meanwhile crashes the copy (HTTP 500) or is lost by the restore. So a
// TransactWriteItems request runs alone among writes, and writes run
// concurrently with each other and with reads, as they do in AWS.
type isolatingTransport struct {
	next http.RoundTripper
	lock *sync.RWMutex
}

func (t *isolatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	target := req.Header.Get("X-Amz-Target")
	switch {
	case target == "DynamoDB_20120810.TransactWriteItems":
		t.lock.Lock()
		defer t.lock.Unlock()
	case strings.HasPrefix(target, "DynamoDB_20120810.") && dynamoWrite(strings.TrimPrefix(target, "DynamoDB_20120810.")):
		t.lock.RLock()
		defer t.lock.RUnlock()
	default:
		return t.next.RoundTrip(req)
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	// Hold the lock until the response is read: moto has applied the write
	// by then.
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, err
}

func dynamoWrite(op string) bool {
	switch op {
	case "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem":
		return true
	}
	return false
}

// Mail is one email the emulator's SES accepted.
type Mail struct {
	Source      string   `json:"source"`
	Destination []string `json:"destinations"`
	Subject     string   `json:"subject"`
	Raw         string   `json:"raw_data"`
	Body        string   `json:"body"`
	// Text and HTML are the message's plain-text and HTML parts, and Header
	// its header fields (raw messages only), parsed from Raw or Body.
	Text   string      `json:"text"`
	HTML   string      `json:"html"`
	Header mail.Header `json:"-"`
}

// SentMail returns the emails SES has accepted, oldest first.
func (e *Emulator) SentMail(ctx context.Context) ([]Mail, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.URL+"/moto-api/data.json", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read emulator state: %w", err)
	}
	defer resp.Body.Close()
	var state struct {
		SES struct {
			RawMessage json.RawMessage `json:"RawMessage"`
			Message    json.RawMessage `json:"Message"`
		} `json:"ses"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&state); err != nil {
		return nil, fmt.Errorf("decode emulator state: %w", err)
	}
	var out []Mail
	for _, kind := range []json.RawMessage{state.SES.RawMessage, state.SES.Message} {
		msgs, err := messages(kind)
		if err != nil {
			return nil, fmt.Errorf("decode emulator state: %w", err)
		}
		for _, m := range msgs {
			out = append(out, m.mail())
		}
	}
	return out, nil
}

// messages reads one kind of sent message: moto 5 lists them flat; earlier
// versions nest them by account and region.
func messages(raw json.RawMessage) ([]rawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var flat []rawMessage
	if err := json.Unmarshal(raw, &flat); err == nil {
		return flat, nil
	}
	var nested map[string]map[string][]rawMessage
	if err := json.Unmarshal(raw, &nested); err != nil {
		return nil, err
	}
	var out []rawMessage
	for _, byAccount := range nested {
		for _, msgs := range byAccount {
			out = append(out, msgs...)
		}
	}
	return out, nil
}

type rawMessage struct {
	ID           string          `json:"id"`
	Source       string          `json:"source"`
	Destinations json.RawMessage `json:"destinations"`
	RawData      string          `json:"raw_data"`
	Subject      string          `json:"subject"`
	Body         string          `json:"body"`
}

func (m rawMessage) mail() Mail {
	out := Mail{Source: m.Source, Raw: m.RawData, Subject: m.Subject, Body: m.Body}
	out.parse()
	var list []string
	if json.Unmarshal(m.Destinations, &list) == nil {
		out.Destination = list
		return out
	}
	var byKind map[string][]string
	if json.Unmarshal(m.Destinations, &byKind) == nil {
		for _, k := range []string{"ToAddresses", "CcAddresses", "BccAddresses"} {
			out.Destination = append(out.Destination, byKind[k]...)
		}
	}
	return out
}

// Reset clears everything the emulator holds.
func (e *Emulator) Reset(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.URL+"/moto-api/reset", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New("emulator reset: " + strconv.Itoa(resp.StatusCode))
	}
	return nil
}
