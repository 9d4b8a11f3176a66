// Package emulator runs moto_server, the AWS emulator the local stack and the
// tests use for DynamoDB, Secrets Manager and SES v2, and reads back what it
// holds.
package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Region is the region every client of the emulator uses.
const Region = "us-east-1"

// Emulator is a running moto_server, or one the user pointed at.
type Emulator struct {
	URL string
	cmd *exec.Cmd
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

// Start runs moto_server on addr ("127.0.0.1:PORT") and waits until it
// answers. It dies with the calling process.
func Start(ctx context.Context, addr string) (*Emulator, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("emulator address %q: %w", addr, err)
	}
	if _, err := exec.LookPath("moto_server"); err != nil {
		return nil, errors.New("moto_server not found on PATH: install it with 'pip install \"moto[server]\"'")
	}
	if l, err := net.Listen("tcp", addr); err != nil {
		return nil, fmt.Errorf("emulator port %s is in use: %w", port, err)
	} else {
		l.Close()
	}
	cmd := exec.Command("moto_server", "-H", host, "-p", port)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if os.Getenv("EMULATOR_LOG") != "" {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	e := &Emulator{URL: "http://" + addr, cmd: cmd}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := e.ping(ctx); err == nil {
			return e, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			e.Stop()
			return nil, fmt.Errorf("moto_server did not answer on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Attach uses an emulator that is already running at url.
func Attach(url string) *Emulator { return &Emulator{URL: url} }

func (e *Emulator) ping(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.URL+"/moto-api/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// Stop ends an emulator this package started.
func (e *Emulator) Stop() {
	if e == nil || e.cmd == nil || e.cmd.Process == nil {
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
		// A client of the emulator fails fast rather than retrying, so a test
		// sees the failure it injected.
		RetryMaxAttempts: 1,
	}
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
