// Package config reads the functions' configuration from their environment,
// as template.yaml sets it, and builds the AWS SDK configuration. Each Load…
// reports every problem it finds at once; the function's main prints them
// and exits. The mains build their own clients: a reader sees in
// functions/<name>/main.go what each function uses.
package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"credportal/shared/httpapi"
	"credportal/shared/portal"
	"credportal/shared/secret"
)

// Env is the environment of the functions that serve the portal's API.
type Env struct {
	TableName      string
	PepperSecretID string
	// Identity reads callers from the JWT authorizer's claims: ADMIN_GROUP
	// (default portal-admins), GROUPS_CLAIM (default cognito:groups) and
	// ISSUER_VERIFIES_EMAIL ("true" takes tokens without email_verified).
	Identity httpapi.Identity
	Portal   portal.Config
}

// Getenv looks a variable up; os.Getenv in functions, a map in tests.
type Getenv func(string) string

// Load reads Env, failing with a message naming what is missing or wrong.
func Load(getenv Getenv) (Env, error) {
	e := Env{
		TableName:      getenv("TABLE_NAME"),
		PepperSecretID: getenv("PEPPER_SECRET_ID"),
		Identity: httpapi.Identity{
			AdminGroup:  or(getenv("ADMIN_GROUP"), "portal-admins"),
			GroupsClaim: or(getenv("GROUPS_CLAIM"), "cognito:groups"),
		},
		Portal: portal.DefaultConfig(),
	}
	var errs []error
	if e.TableName == "" {
		errs = append(errs, errors.New("TABLE_NAME is not set"))
	}
	if err := httpapi.CheckAdminGroup(e.Identity.AdminGroup); err != nil {
		errs = append(errs, fmt.Errorf("ADMIN_GROUP: %w", err))
	}
	switch v := getenv("ISSUER_VERIFIES_EMAIL"); v {
	case "", "false":
	case "true":
		e.Identity.IssuerVerifiesEmail = true
	default:
		errs = append(errs, fmt.Errorf("ISSUER_VERIFIES_EMAIL must be true or false, not %q", v))
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
	if e.Portal.KeyLimit, err = intVar(getenv, "ACTIVE_KEY_LIMIT", portal.DefaultKeyLimit); err != nil {
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
// function never uses out of every binary (about 2 MB each). The credentials
// are retrieved once here, under ctx, so the first request finds them cached.
func AWS(ctx context.Context) (aws.Config, error) {
	return awsFromEnv(ctx, os.Getenv)
}

func awsFromEnv(ctx context.Context, getenv Getenv) (aws.Config, error) {
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
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}
