package localstack

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"credportal/infra/seed"
	"credportal/infra/template"
)

// Default ports of `make dev`.
const (
	DefaultPort         = 3000
	DefaultEmulatorPort = 4566
)

// RunDev is the command behind `make dev`: it starts a seeded stack from
// flags and environment (PORT, EMULATOR_PORT, AWS_ENDPOINT_URL), prints how
// to use it, and stops it when ctx ends.
func RunDev(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("port", envInt(getenv, "PORT", DefaultPort), "port of the portal (env PORT)")
	emuPort := fs.Int("emulator-port", envInt(getenv, "EMULATOR_PORT", DefaultEmulatorPort), "port of the AWS emulator it starts (env EMULATOR_PORT)")
	endpoint := fs.String("endpoint-url", getenv("AWS_ENDPOINT_URL"), "use this running AWS emulator instead of starting one (env AWS_ENDPOINT_URL)")
	logPath := fs.String("logs", "", "where function and emulator logs go: a file, or - for stderr (default .local/dev.log)")
	noSeed := fs.Bool("no-seed", false, "do not seed the demo data")
	secretsPath := fs.String("demo-secrets", "", "where the seeded secrets' values are written (default .local/demo-secrets.json)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, err := template.RepoRoot()
	if err != nil {
		return err
	}
	logs, logName, err := openLogs(root, *logPath, stderr)
	if err != nil {
		return err
	}
	defer logs.Close()
	// The services the seed runs log their writes: into the log, not over the
	// banner.
	slog.SetDefault(slog.New(slog.NewJSONHandler(logs, nil)))

	began := time.Now()
	fmt.Fprintln(stdout, "Starting the local portal (emulator, tables, functions)…")
	s, err := Start(ctx, Options{
		Addr: fmt.Sprintf("127.0.0.1:%d", *port), EmulatorURL: *endpoint,
		EmulatorAddr: fmt.Sprintf("127.0.0.1:%d", *emuPort), Seed: !*noSeed, Logs: logs,
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil // interrupted while starting: everything started is stopped
		}
		return err
	}
	defer s.Stop()
	secretsFile := *secretsPath
	if secretsFile == "" {
		secretsFile = filepath.Join(root, ".local", "demo-secrets.json")
	}
	if s.Seeded != nil {
		if err := seed.WriteSecrets(secretsFile, s.Seeded.Secrets); err != nil {
			return fmt.Errorf("write demo secrets: %w", err)
		}
	}
	scanningKey := filepath.Join(root, ".local", "secret-scanning.pem")
	if err := s.WriteScanningKey(scanningKey); err != nil {
		return fmt.Errorf("write the secret scanning signer's key: %w", err)
	}
	printBanner(stdout, s, root, secretsFile, logName, time.Since(began))
	<-ctx.Done()
	fmt.Fprintln(stdout, "\nStopping…")
	return s.Stop()
}

func envInt(getenv func(string) string, name string, def int) int {
	if n, err := strconv.Atoi(getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func openLogs(root, path string, stderr io.Writer) (io.WriteCloser, string, error) {
	if path == "-" {
		return nopCloser{stderr}, "this terminal", nil
	}
	if path == "" {
		path = filepath.Join(root, ".local", "dev.log")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, "", err
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, "", err
	}
	return f, path, nil
}

func printBanner(w io.Writer, s *Stack, root, secretsFile, logName string, took time.Duration) {
	host := strings.TrimPrefix(s.URL, "http://")
	rel := func(p string) string {
		if r, err := filepath.Rel(root, p); err == nil {
			return r
		}
		return p
	}
	fmt.Fprintf(w, "\nThe portal runs at %s/  (up in %.1fs; Ctrl-C stops it)\n", s.URL, took.Seconds())
	fmt.Fprintf(w, "AWS emulator: %s   table: %s   logs: %s\n", s.Emulator.URL, s.TableName, rel(logName))
	fmt.Fprintln(w, "\nDemo users (sign in on the portal's page, or get a token from /local/token):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, u := range seed.Users {
		fmt.Fprintf(tw, "  %s\t%s\n", u.Email, u.Note)
	}
	tw.Flush()
	switch {
	case s.Seeded == nil:
		fmt.Fprintln(w, "\nDemo data: not seeded (-no-seed).")
	case len(s.Seeded.Secrets) > 0:
		fmt.Fprintf(w, "\nDemo client secrets (values shown once) are in %s.\n", rel(secretsFile))
	default:
		fmt.Fprintf(w, "\nDemo data was there already; its secret values are in %s from the run that created them.\n", rel(secretsFile))
	}
	fmt.Fprintln(w, "\nTry:")
	fmt.Fprintf(w, "  curl -H \"Authorization: Bearer $(curl -s '%s/local/token?email=alice@acme.example' | jq -r .access_token)\" %s/v1/applications\n", host, host)
	// The emulator takes any credentials, but the CLI wants some.
	fmt.Fprintf(w, "  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing aws --endpoint-url %s --region us-east-1 dynamodb scan --table-name %s\n", s.Emulator.URL, s.TableName)
	fmt.Fprintf(w, "  open %s/local/mail   (emails sent; POST %s/local/sweep runs the expiry reminders now)\n", s.URL, s.URL)
	fmt.Fprintf(w, "  .local/secret-scanning.pem signs secret scanning reports to POST %s/secret-scanning/github (docs/local-stack.md: Leaked secrets)\n\n", s.URL)
}
