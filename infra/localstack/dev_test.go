package localstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"credportal/infra/emulator"
	"credportal/infra/testlog"
)

// TestRunDev runs `make dev`'s command on free ports: it prints the URL,
// the demo users and the examples, writes the demo secrets, answers the
// README's curl, and stops everything on interrupt.
func TestRunDev(t *testing.T) {
	dir := t.TempDir()
	secrets := filepath.Join(dir, "demo-secrets.json")
	var (
		port, emuPort  int
		stdout, stderr *testlog.Buffer
		done           chan error
		interrupt      context.CancelFunc
	)
	// The ports are chosen free, but another test's server may take one
	// before the stack binds it: then start again on others.
	for attempt := 1; ; attempt++ {
		port, emuPort = freePort(t), freePort(t)
		var ctx context.Context
		ctx, interrupt = context.WithCancel(context.Background())
		stdout, stderr, done = &testlog.Buffer{}, &testlog.Buffer{}, make(chan error, 1)
		env := map[string]string{"PORT": strconv.Itoa(port), "EMULATOR_PORT": strconv.Itoa(emuPort)}
		go func(stdout, stderr *testlog.Buffer, done chan error) {
			done <- RunDev(ctx, []string{"-logs", filepath.Join(dir, "dev.log"), "-demo-secrets", secrets},
				func(k string) string { return env[k] }, stdout, stderr)
		}(stdout, stderr, done)
		err := waitForBanner(stdout, done)
		if err == nil {
			break
		}
		interrupt()
		if !strings.Contains(err.Error(), "in use") || attempt == 4 {
			t.Fatalf("dev stopped: %v\n%s\n%s", err, stdout.String(), stderr.String())
		}
	}
	defer interrupt()
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
		t.Errorf("README's curl: %d", resp.StatusCode)
	}

	interrupt()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("dev on interrupt: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("dev did not stop on interrupt")
	}
	for _, addr := range []string{base, "127.0.0.1:" + strconv.Itoa(emuPort)} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still answers after the interrupt", addr)
		}
	}
}

// waitForBanner waits until RunDev has printed its examples, or stopped.
func waitForBanner(stdout *testlog.Buffer, done chan error) error {
	deadline := time.After(2 * time.Minute)
	for !strings.Contains(stdout.String(), "Try:") {
		select {
		case err := <-done:
			return fmt.Errorf("stopped before the banner: %w", err)
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
