package config

import (
	"errors"
	"fmt"
	"strings"

	"credportal/shared/oauth"
)

// Tokens is the environment of the token endpoint and of the discovery
// documents (JWKS and metadata).
type Tokens struct {
	Env
	Issuer          string // ISSUER: the portal's URL; a trailing slash is dropped
	SigningSecretID string // SIGNING_SECRET_ID: the secret holding the signing key
	// ViewerAddress (VIEWER_ADDRESS_FROM_CLOUDFRONT "true"; default
	// "false"): the API accepts traffic from CloudFront alone, so the token
	// endpoint counts failures by CloudFront-Viewer-Address.
	ViewerAddress bool
}

// LoadTokens reads Tokens, failing with a message naming what is missing.
func LoadTokens(getenv Getenv) (Tokens, error) {
	env, err := Load(getenv)
	e := Tokens{Env: env, Issuer: strings.TrimRight(getenv("ISSUER"), "/"), SigningSecretID: getenv("SIGNING_SECRET_ID")}
	errs := []error{err}
	if e.Issuer == "" {
		errs = append(errs, errors.New("ISSUER is not set"))
	}
	if e.SigningSecretID == "" {
		errs = append(errs, errors.New("SIGNING_SECRET_ID is not set"))
	}
	switch v := getenv("VIEWER_ADDRESS_FROM_CLOUDFRONT"); v {
	case "", "false":
	case "true":
		e.ViewerAddress = true
	default:
		errs = append(errs, fmt.Errorf("VIEWER_ADDRESS_FROM_CLOUDFRONT is %q, not true or false", v))
	}
	return e, errors.Join(errs...)
}

// OAuth is the token endpoint's configuration.
func (e Tokens) OAuth() oauth.Config {
	c := oauth.DefaultConfig(e.Issuer)
	c.Format, c.Catalogue, c.ViewerAddress = e.Portal.Format, e.Portal.Catalogue, e.ViewerAddress
	return c
}
