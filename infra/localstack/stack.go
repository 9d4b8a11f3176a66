// Package localstack runs the whole portal on one machine, the way `sam local
// start-api` would: moto_server for DynamoDB, Secrets Manager and SES v2, the
// table and secrets of template.yaml provisioned in it, every function of
// template.yaml built and running under the Lambda runtime interface
// emulator, and an HTTP server that routes every HttpApi route of
// template.yaml to its function as an API Gateway HTTP API event, with the
// JWT authorizer emulated.
package localstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"credportal/infra/emulator"
	"credportal/infra/iam"
	"credportal/infra/lambdarun"
	"credportal/infra/oidcissuer"
	"credportal/infra/provision"
	"credportal/infra/seed"
	"credportal/infra/template"
	"credportal/shared/config"
)

// StackName names the local resources: the table is StackName-Table.
const StackName = "credportal-local"

// Options configure a local stack.
type Options struct {
	Addr        string            // "127.0.0.1:3000"; "127.0.0.1:0" picks a free port
	EmulatorURL string            // use this running emulator instead of starting moto_server
	Seed        bool              // seed the demo data
	Params      map[string]string // template parameter overrides, on top of the stack's own
	Logs        io.Writer         // function and emulator logs; nil discards
	// EmulatorAddr is where moto_server listens when EmulatorURL is empty;
	// "" picks a free port.
	EmulatorAddr string
}

// Stack is a running local portal.
type Stack struct {
	URL       string // http://127.0.0.1:PORT
	Emulator  *emulator.Emulator
	TableName string
	// Secrets maps each AWS::SecretsManager::Secret's logical id to its
	// local name.
	Secrets map[string]string
	// Params are the template parameters the stack overrides.
	Params map[string]string
	// Issuer and Audience are what the local authorizer's tokens carry.
	Issuer, Audience string
	// FederatedIssuer is the loopback OpenID Connect issuer the stack serves
	// at IssuerPath and trusts (LOCAL_ISSUER): federated credentials naming
	// it accept its tokens, which GET IssuerPath/token?sub=S&aud=A gives.
	FederatedIssuer *oidcissuer.Issuer
	// Seeded is what seeding created (nil unless Options.Seed).
	Seeded *seed.Result
	// Functions are the running functions by logical id.
	Functions map[string]*lambdarun.Instance
	// Template is template.yaml as read at start.
	Template *template.Template
	// Guard evaluates each function's AWS calls against its policy in
	// template.yaml, as IAM does in AWS.
	Guard *iam.Guard

	accessKeys map[string]string

	routes    routes
	auth      *authorizer
	scanning  *scanningSigner
	server    *http.Server
	serveDone chan struct{}
	logs      io.Writer
	stopOnce  sync.Once
	stopErr   error
	// stopNotices stops the outbox poller (see notices.go), when the
	// template has a sender.
	stopNotices func()
}

// Start starts a local stack from the template.yaml of the repository the
// working directory is in.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	tmpl, root, err := template.LoadRepo()
	if err != nil {
		return nil, err
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:3000"
	}
	logs := opts.Logs
	if logs == nil {
		logs = io.Discard
	}
	listener, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, portError("portal", opts.Addr, err)
	}
	s := &Stack{
		URL: "http://" + listener.Addr().String(), TableName: StackName + "-Table", Secrets: map[string]string{},
		Functions: map[string]*lambdarun.Instance{}, Template: tmpl, logs: logs, serveDone: make(chan struct{}),
	}
	defer func() {
		if err != nil {
			listener.Close()
			s.Stop()
		}
	}()
	s.Params = provision.LocalParams(s.URL)
	for k, v := range opts.Params {
		s.Params[k] = v
	}
	s.Issuer, s.Audience = s.Params["AuthIssuer"], s.Params["AuthAudience"]
	if s.FederatedIssuer, err = oidcissuer.New(s.URL+IssuerPath, time.Now); err != nil {
		return nil, err
	}
	locals := provision.Locals(tmpl, StackName, s.Params)
	fns, err := provision.Functions(tmpl, locals)
	if err != nil {
		return nil, err
	}

	// Build while the emulator starts: both take a moment.
	pkgs := make([]string, 0, len(fns))
	for _, f := range fns {
		pkgs = append(pkgs, f.Package)
	}
	type built struct {
		b   *lambdarun.Build
		err error
	}
	buildDone := make(chan built, 1)
	go func() {
		b, err := lambdarun.BuildFunctions(ctx, root, lambdarun.DefaultDir(root), pkgs...)
		buildDone <- built{b, err}
	}()
	if err := s.startEmulator(ctx, opts); err != nil {
		<-buildDone
		return nil, err
	}
	if err := provision.Resources(ctx, s.Emulator.Config(), tmpl, locals); err != nil {
		<-buildDone
		return nil, err
	}
	// Each function calls AWS with credentials of its own, which the
	// emulator's guard evaluates against that function's policy.
	s.Guard = iam.Enforce(s.Emulator, root)
	if s.accessKeys, err = s.Guard.Register(ctx, tmpl, locals, StackName, fns); err != nil {
		<-buildDone
		return nil, err
	}
	s.TableName = locals.Refs["Table"]
	for _, id := range tmpl.ResourcesOfType("AWS::SecretsManager::Secret") {
		s.Secrets[id] = locals.Refs[id]
	}

	var seedErr error
	seeding := make(chan struct{})
	go func() {
		defer close(seeding)
		if opts.Seed {
			seedErr = s.seed(ctx, tmpl, fns, locals)
		}
	}()
	res := <-buildDone
	if res.err != nil {
		<-seeding
		return nil, res.err
	}
	startErr := s.startFunctions(ctx, res.b, tmpl, fns, locals)
	<-seeding
	if startErr != nil {
		return nil, startErr
	}
	if seedErr != nil {
		return nil, fmt.Errorf("seed demo data: %w", seedErr)
	}

	adminGroup, _ := tmpl.Resolve(map[string]any{"Ref": "AdminGroup"}, locals)
	if adminGroup == "" {
		adminGroup = "portal-admins"
	}
	s.auth, err = newAuthorizer(s.Issuer, s.Audience, adminGroup, time.Now)
	if err != nil {
		return nil, err
	}
	if s.routes, err = newRoutes(fns); err != nil {
		return nil, err
	}
	if s.scanning, err = newScanningSigner(); err != nil {
		return nil, err
	}
	if fn := s.Functions[NoticeFunction]; fn != nil {
		s.startNotices(fn)
	}
	s.server = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.serveDone)
		_ = s.server.Serve(listener)
	}()
	return s, nil
}

func portError(what, addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		_, port, _ := net.SplitHostPort(addr)
		return fmt.Errorf("the %s port %s is in use: stop what runs there or choose another port", what, port)
	}
	return fmt.Errorf("listen on %s: %w", addr, err)
}

func (s *Stack) startEmulator(ctx context.Context, opts Options) error {
	if opts.EmulatorURL != "" {
		emu, err := emulator.Attach(strings.TrimRight(opts.EmulatorURL, "/"))
		if err != nil {
			return err
		}
		s.Emulator = emu
		return nil
	}
	addr := opts.EmulatorAddr
	if addr == "" {
		// No port asked for: the emulator takes one the system chooses, so no
		// other server can take it in between.
		emu, err := emulator.StartFree(ctx, "127.0.0.1")
		if err != nil {
			return err
		}
		s.Emulator = emu
		return nil
	}
	if l, err := net.Listen("tcp", addr); err != nil {
		return portError("emulator", addr, err)
	} else {
		l.Close()
	}
	emu, err := emulator.Start(ctx, addr)
	if err != nil {
		return err
	}
	s.Emulator = emu
	return nil
}

// functionEnv is fn's environment pointing at the local resources.
func (s *Stack) functionEnv(t *template.Template, fn template.Function, l template.Locals) (map[string]string, error) {
	env, err := lambdarun.Env(t, fn, l, s.Emulator.URL, emulator.Region, s.accessKeys[fn.LogicalID])
	if err != nil {
		return nil, err
	}
	// The functions that read trusted issuers trust the stack's own too.
	if _, ok := env["TRUSTED_ISSUERS"]; ok {
		env["LOCAL_ISSUER"] = s.FederatedIssuer.URL()
	}
	return env, nil
}

func (s *Stack) seed(ctx context.Context, t *template.Template, fns []template.Function, l template.Locals) error {
	// The demo data is written with the configuration the secret functions
	// run with (prefix, lifetime, limit, catalogue).
	var fn template.Function
	for _, f := range fns {
		if f.LogicalID == "CreateSecretFunction" || fn.LogicalID == "" && f.Env["PEPPER_SECRET_ID"] != nil {
			fn = f
		}
	}
	env, err := s.functionEnv(t, fn, l)
	if err != nil {
		return err
	}
	fenv, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		return err
	}
	res, err := seed.Run(ctx, seed.Config{
		AWS: s.Emulator.Config(), Env: fenv, Now: time.Now,
		FederatedIssuer: s.FederatedIssuer.URL(), FederatedAudience: s.URL,
	})
	if err != nil {
		return err
	}
	s.Seeded = &res
	return nil
}

func (s *Stack) startFunctions(ctx context.Context, b *lambdarun.Build, t *template.Template, fns []template.Function, l template.Locals) error {
	type started struct {
		id  string
		in  *lambdarun.Instance
		err error
	}
	ch := make(chan started, len(fns))
	for _, fn := range fns {
		go func() {
			env, err := s.functionEnv(t, fn, l)
			if err != nil {
				ch <- started{fn.LogicalID, nil, err}
				return
			}
			in, err := b.Start(ctx, fn, env, prefixed(s.logs, fn.LogicalID))
			ch <- started{fn.LogicalID, in, err}
		}()
	}
	var errs []error
	for range fns {
		r := <-ch
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		s.Functions[r.id] = r.in
	}
	return errors.Join(errs...)
}

// Token returns what GET /local/token gives: a token of the local
// authorizer for email, in the admin group when admin.
func (s *Stack) Token(email string, admin bool) (string, error) {
	return s.auth.token(email, "", admin)
}

// Stop stops the HTTP server, the functions and the emulator if the stack
// started it.
func (s *Stack) Stop() error {
	s.stopOnce.Do(func() {
		if s.server != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if err := s.server.Shutdown(ctx); err != nil {
				_ = s.server.Close()
			}
			cancel()
			<-s.serveDone
		}
		if s.stopNotices != nil {
			s.stopNotices()
		}
		var wg sync.WaitGroup
		for _, in := range s.Functions {
			wg.Add(1)
			go func() { defer wg.Done(); in.Stop() }()
		}
		wg.Wait()
		// Ends moto_server if the stack started it, and the front always.
		s.Emulator.Stop()
	})
	return s.stopErr
}

func requestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// prefixed writes each line to w behind a "[name] " prefix.
func prefixed(w io.Writer, name string) io.Writer {
	if w == io.Discard {
		return w
	}
	return &prefixWriter{w: w, prefix: []byte("[" + name + "] ")}
}

type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := p.w.Write(append(append([]byte{}, p.prefix...), b...))
	return len(b), err
}
