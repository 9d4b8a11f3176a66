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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"credportal/infra/emulator"
	"credportal/infra/lambdarun"
	"credportal/infra/provision"
	"credportal/infra/seed"
	"credportal/infra/template"
	"credportal/shared/config"
)

// StackName names the local resources: the table is StackName-Table.
const StackName = "credportal-local"

// Audience is the audience of the local authorizer's tokens (the user-pool
// client id in AWS).
const Audience = "credportal-local"

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
	// Seeded is what seeding created (nil unless Options.Seed).
	Seeded *seed.Result
	// Functions are the running functions by logical id.
	Functions map[string]*lambdarun.Instance
	// Template is template.yaml as read at start.
	Template *template.Template

	ownEmulator bool
	routes      []route
	auth        *authorizer
	server      *http.Server
	serveDone   chan struct{}
	logs        io.Writer
	stopOnce    sync.Once
	stopErr     error
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
	s.Issuer, s.Audience = s.URL+"/local", Audience
	s.Params = map[string]string{
		"PortalUrl": s.URL + "/", "SignInMode": "local", "AuthIssuer": s.Issuer, "AuthAudience": s.Audience,
	}
	for k, v := range opts.Params {
		s.Params[k] = v
	}
	s.Issuer, s.Audience = s.Params["AuthIssuer"], s.Params["AuthAudience"]

	// Build while the emulator starts: both take a moment.
	fns := functions(tmpl)
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
	locals := s.locals(tmpl)
	if err := s.provision(ctx, tmpl, fns, locals); err != nil {
		<-buildDone
		return nil, err
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
	s.routes = newRoutes(fns)
	s.server = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.serveDone)
		_ = s.server.Serve(listener)
	}()
	return s, nil
}

// functions lists the template's functions that exist locally: those with
// no condition (locally every condition is false, as an issuer is given).
func functions(t *template.Template) []template.Function {
	var out []template.Function
	for _, f := range t.Functions() {
		if t.Resources[f.LogicalID].Condition == "" {
			out = append(out, f)
		}
	}
	return out
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
		s.Emulator = emulator.Attach(strings.TrimRight(opts.EmulatorURL, "/"))
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
		s.Emulator, s.ownEmulator = emu, true
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
	s.Emulator, s.ownEmulator = emu, true
	return nil
}

// locals gives the local values of the template's references: every
// resource is named StackName-LogicalId.
func (s *Stack) locals(t *template.Template) template.Locals {
	l := template.Locals{
		Refs: map[string]string{}, Attrs: map[string]string{}, Params: s.Params,
		Pseudo: map[string]string{
			"AWS::Region": emulator.Region, "AWS::AccountId": "123456789012", "AWS::Partition": "aws",
			"AWS::StackName": StackName, "AWS::URLSuffix": "amazonaws.com", "AWS::StackId": StackName,
		},
	}
	for id, r := range t.Resources {
		name := StackName + "-" + id
		l.Refs[id] = name
		l.Attrs[id+".Arn"] = arn(r.Type, name)
		l.Attrs[id+".Name"] = name
		l.Attrs[id+".QueueName"] = name
	}
	return l
}

func arn(typ, name string) string {
	switch typ {
	case "AWS::DynamoDB::Table":
		return "arn:aws:dynamodb:" + emulator.Region + ":123456789012:table/" + name
	case "AWS::SecretsManager::Secret":
		return "arn:aws:secretsmanager:" + emulator.Region + ":123456789012:secret:" + name
	case "AWS::SQS::Queue":
		return "arn:aws:sqs:" + emulator.Region + ":123456789012:" + name
	}
	return "arn:aws:local:" + emulator.Region + ":123456789012:" + name
}

// provision creates the table(s) and secrets of the template, and verifies in
// SES every sender address a function is configured with (SENDER_EMAIL).
func (s *Stack) provision(ctx context.Context, t *template.Template, fns []template.Function, l template.Locals) error {
	cfg := s.Emulator.Config()
	db := dynamodb.NewFromConfig(cfg)
	for _, id := range t.ResourcesOfType("AWS::DynamoDB::Table") {
		if err := provision.Table(ctx, db, t, id, l.Refs[id]); err != nil {
			return err
		}
	}
	s.TableName = l.Refs["Table"]
	sm := secretsmanager.NewFromConfig(cfg)
	for _, id := range t.ResourcesOfType("AWS::SecretsManager::Secret") {
		if err := provision.GeneratedSecret(ctx, sm, l.Refs[id]); err != nil {
			return err
		}
		s.Secrets[id] = l.Refs[id]
	}
	ses := sesv2.NewFromConfig(cfg)
	seen := map[string]bool{}
	for _, f := range fns {
		v, ok := f.Env["SENDER_EMAIL"]
		if !ok {
			continue
		}
		sender, err := t.Resolve(v, l)
		if err != nil || sender == "" || seen[sender] {
			continue
		}
		seen[sender] = true
		_, err = ses.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(sender)})
		var exists *sestypes.AlreadyExistsException
		if err != nil && !errors.As(err, &exists) {
			return fmt.Errorf("verify the sender %s in SES: %w", sender, err)
		}
	}
	return nil
}

// functionEnv is fn's environment pointing at the local resources.
func (s *Stack) functionEnv(t *template.Template, fn template.Function, l template.Locals) (map[string]string, error) {
	return lambdarun.Env(t, fn, l, s.Emulator.URL, emulator.Region)
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
	res, err := seed.Run(ctx, seed.Config{AWS: s.Emulator.Config(), Env: fenv, Now: time.Now})
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
	return s.auth.token(email, admin)
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
		var wg sync.WaitGroup
		for _, in := range s.Functions {
			wg.Add(1)
			go func() { defer wg.Done(); in.Stop() }()
		}
		wg.Wait()
		if s.ownEmulator {
			s.Emulator.Stop()
		}
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
