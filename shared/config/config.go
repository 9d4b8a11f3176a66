// Package config reads the functions' configuration from their environment
// (set by template.yaml) and builds the clients and services they share. It
// is the one place that wires the portal together.
package config

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"credportal/shared/httpapi"
	"credportal/shared/keys"
	"credportal/shared/portal"
	"credportal/shared/secret"
	"credportal/shared/store"
)

// Env is the environment the functions read.
type Env struct {
	TableName      string
	PepperSecretID string
	AdminGroup     string
	GroupsClaim    string
	Portal         portal.Config
}

// Getenv looks a variable up; os.Getenv in functions, a map in tests.
type Getenv func(string) string

// Load reads Env, failing with a message naming what is missing or wrong.
func Load(getenv Getenv) (Env, error) {
	e := Env{
		TableName:      getenv("TABLE_NAME"),
		PepperSecretID: getenv("PEPPER_SECRET_ID"),
		AdminGroup:     or(getenv("ADMIN_GROUP"), "portal-admins"),
		GroupsClaim:    or(getenv("GROUPS_CLAIM"), "cognito:groups"),
		Portal:         portal.DefaultConfig(),
	}
	var errs []error
	if e.TableName == "" {
		errs = append(errs, errors.New("TABLE_NAME is not set"))
	}
	if err := httpapi.CheckAdminGroup(e.AdminGroup); err != nil {
		errs = append(errs, fmt.Errorf("ADMIN_GROUP: %w", err))
	}
	if p := getenv("SECRET_PREFIX"); p != "" {
		e.Portal.Format.Prefix = p
	}
	var err error
	if e.Portal.Policy.MaxLifetimeDays, err = intVar(getenv, "MAX_LIFETIME_DAYS", secret.DefaultMaxLifetimeDays); err != nil {
		errs = append(errs, err)
	}
	if e.Portal.Policy.ActiveLimit, err = intVar(getenv, "ACTIVE_SECRET_LIMIT", secret.DefaultActiveLimit); err != nil {
		errs = append(errs, err)
	}
	if c := getenv("API_CATALOGUE"); c != "" {
		if e.Portal.Catalogue, err = ParseCatalogue(c); err != nil {
			errs = append(errs, err)
		}
	}
	return e, errors.Join(errs...)
}

// ParseCatalogue reads "id=Name,id=Name".
func ParseCatalogue(s string) (portal.Catalogue, error) {
	var c portal.Catalogue
	for _, pair := range strings.Split(s, ",") {
		id, name, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || id == "" || name == "" {
			return nil, fmt.Errorf("API_CATALOGUE: %q is not id=Name", pair)
		}
		c = append(c, portal.API{ID: id, Name: name})
	}
	return c, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func intVar(getenv Getenv, name string, def int) (int, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s must be a positive whole number, not %q", name, v)
	}
	return n, nil
}

// AWS builds the SDK configuration once, at cold start, from what Lambda
// puts in the function's environment: AWS_REGION and the execution role's
// credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN),
// and AWS_ENDPOINT_URL where the local stack points the functions at its
// emulator. Reading them directly, rather than through the SDK's shared-config
// loader, keeps the SSO, STS and instance-metadata providers that a Lambda
// function never uses out of every binary (about 2 MB each).
func AWS(ctx context.Context) (aws.Config, error) {
	return awsFromEnv(os.Getenv)
}

func awsFromEnv(getenv Getenv) (aws.Config, error) {
	region := or(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"))
	key, secretKey := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	var errs []error
	if region == "" {
		errs = append(errs, errors.New("AWS_REGION is not set"))
	}
	if key == "" || secretKey == "" {
		errs = append(errs, errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"))
	}
	if err := errors.Join(errs...); err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(key, secretKey, getenv("AWS_SESSION_TOKEN"))),
	}
	if endpoint := getenv("AWS_ENDPOINT_URL"); endpoint != "" {
		cfg.BaseEndpoint = aws.String(endpoint)
	}
	return cfg, nil
}

// Clients are the AWS clients and services the portal's functions share.
type Clients struct {
	Env     Env
	Store   *store.Store
	Peppers *keys.Peppers
	Service *portal.Service
}

// New builds the clients from an SDK configuration.
func New(env Env, cfg aws.Config, opts ...portal.Option) *Clients {
	st := store.New(dynamodb.NewFromConfig(cfg), env.TableName)
	peppers := keys.NewPeppers(secretsmanager.NewFromConfig(cfg), env.PepperSecretID, time.Now)
	return &Clients{
		Env: env, Store: st, Peppers: peppers,
		Service: portal.NewService(st, peppers, env.Portal, time.Now, rand.Reader, opts...),
	}
}

// API returns the HTTP handlers over the clients.
func (c *Clients) API() httpapi.API {
	return httpapi.API{Service: c.Service, Identity: httpapi.Identity{AdminGroup: c.Env.AdminGroup, GroupsClaim: c.Env.GroupsClaim}}
}

// Must builds everything a signed-in function needs at cold start, or exits
// with a clear message: a function without its configuration must not serve.
func Must() *Clients {
	return New(MustLoad(Load), MustAWS())
}

// MustLoad sets up the Lambda JSON logger and reads an environment with
// load, or exits with a clear message.
func MustLoad[E any](load func(Getenv) (E, error)) E {
	slog.SetDefault(lambdacontext.NewLogger())
	env, err := load(os.Getenv)
	if err != nil {
		Fail(err)
	}
	return env
}

// MustAWS builds the SDK configuration, or exits with a clear message.
func MustAWS() aws.Config {
	cfg, err := AWS(context.Background())
	if err != nil {
		Fail(err)
	}
	return cfg
}

// Fail reports a configuration error and exits: for mains at cold start only.
func Fail(err error) {
	slog.Error("configuration", "error", err.Error())
	fmt.Fprintln(os.Stderr, "configuration:", err)
	os.Exit(1)
}
