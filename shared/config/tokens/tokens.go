// Package tokens wires the token endpoint and the discovery documents (JWKS
// and metadata) from their environment.
package tokens

import (
	"crypto/rand"
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"credportal/shared/config"
	"credportal/shared/keys"
	"credportal/shared/oauth"
	"credportal/shared/store"
)

var (
	_ oauth.Store         = (*store.Store)(nil)
	_ oauth.Keys          = (*keys.SigningKeys)(nil)
	_ oauth.PublishedKeys = (*keys.SigningKeys)(nil)
)

// Env is the environment of the token and discovery functions.
type Env struct {
	config.Env
	Issuer          string // ISSUER: the portal's URL; a trailing slash is dropped
	SigningSecretID string // SIGNING_SECRET_ID: the secret holding the signing key
}

// Load reads Env, failing with a message naming what is missing.
func Load(getenv config.Getenv) (Env, error) {
	env, err := config.Load(getenv)
	e := Env{Env: env, Issuer: strings.TrimRight(getenv("ISSUER"), "/"), SigningSecretID: getenv("SIGNING_SECRET_ID")}
	errs := []error{err}
	if e.Issuer == "" {
		errs = append(errs, errors.New("ISSUER is not set"))
	}
	if e.SigningSecretID == "" {
		errs = append(errs, errors.New("SIGNING_SECRET_ID is not set"))
	}
	return e, errors.Join(errs...)
}

// OAuthConfig is the token endpoint's configuration from the environment.
func (e Env) OAuthConfig() oauth.Config {
	c := oauth.DefaultConfig(e.Issuer)
	c.Format, c.Catalogue = e.Portal.Format, e.Portal.Catalogue
	return c
}

// NewServer builds the token endpoint over an SDK configuration. It may
// generate the signing key when the secret holds none.
func NewServer(env Env, cfg aws.Config) *oauth.Server {
	c := config.New(env.Env, cfg)
	sm := secretsmanager.NewFromConfig(cfg)
	signing := keys.NewSigningKeys(sm, env.SigningSecretID, time.Now, rand.Reader).GenerateWith(sm)
	return oauth.NewServer(c.Store, c.Peppers, signing, env.OAuthConfig(), time.Now, rand.Reader)
}

// NewDiscovery builds the JWKS and metadata documents over an SDK
// configuration; it only reads the signing key.
func NewDiscovery(env Env, cfg aws.Config) oauth.Discovery {
	signing := keys.NewSigningKeys(secretsmanager.NewFromConfig(cfg), env.SigningSecretID, time.Now, rand.Reader)
	return oauth.Discovery{Keys: signing, Issuer: env.Issuer, Catalogue: env.Portal.Catalogue}
}

// Must loads the environment and SDK configuration of the token and
// discovery functions at cold start, or exits with a clear message.
func Must() (Env, aws.Config) {
	return config.MustLoad(Load), config.MustAWS()
}
