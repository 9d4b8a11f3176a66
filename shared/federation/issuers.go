// Package federation verifies tokens that external OpenID Connect issuers
// (a CI system, a cloud's workload identity) give to workloads, so that an
// application can authenticate at the token endpoint with the identity its
// platform already gives it instead of a shared secret.
//
// The operator names the issuers it trusts. An issuer's signing keys are
// discovered through <issuer>/.well-known/openid-configuration → jwks_uri,
// fetched with short timeouts and size limits, and cached: a slow or hostile
// issuer cannot stall or exhaust the function that verifies its tokens.
package federation

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// DefaultTrustedIssuers is what the template's TrustedIssuers parameter
// defaults to: GitHub Actions' OIDC issuer.
const DefaultTrustedIssuers = "https://token.actions.githubusercontent.com"

// ErrInvalidIssuer is returned for a configured issuer that cannot be
// trusted: not an absolute https URL without query, fragment or user info.
var ErrInvalidIssuer = errors.New("invalid trusted issuer")

// maxIssuerLength bounds an issuer identifier.
const maxIssuerLength = 255

// Trusted is the set of issuers whose tokens the portal accepts, in the
// order the operator listed them.
type Trusted struct {
	issuers []string
}

// ParseTrusted reads the TrustedIssuers parameter: issuer identifiers
// separated by commas or spaces. Every issuer must be an https URL.
func ParseTrusted(list string) (Trusted, error) {
	var t Trusted
	for _, iss := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		if err := checkIssuer(iss, false); err != nil {
			return Trusted{}, err
		}
		if !slices.Contains(t.issuers, iss) {
			t.issuers = append(t.issuers, iss)
		}
	}
	return t, nil
}

// WithLoopback returns t trusting also issuer, an http URL on the loopback
// address 127.0.0.1: the local stack's own issuer, which no deployment has.
func (t Trusted) WithLoopback(issuer string) (Trusted, error) {
	if err := checkIssuer(issuer, true); err != nil {
		return Trusted{}, err
	}
	out := Trusted{issuers: slices.Clone(t.issuers)}
	if !slices.Contains(out.issuers, issuer) {
		out.issuers = append(out.issuers, issuer)
	}
	return out, nil
}

// Contains reports whether issuer is trusted, compared exactly.
func (t Trusted) Contains(issuer string) bool { return slices.Contains(t.issuers, issuer) }

// List returns the trusted issuers in the order they were configured.
func (t Trusted) List() []string { return slices.Clone(t.issuers) }

// checkIssuer accepts an https issuer, or with loopback an http one on
// 127.0.0.1.
func checkIssuer(iss string, loopback bool) error {
	u, err := url.Parse(iss)
	if err != nil || len(iss) > maxIssuerLength || u.Host == "" || u.User != nil || u.RawQuery != "" || u.ForceQuery ||
		u.Fragment != "" || strings.HasSuffix(iss, "/") || u.Opaque != "" {
		return fmt.Errorf("%w: %q is not an absolute URL without a trailing slash, query or fragment", ErrInvalidIssuer, iss)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case loopback && u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	case loopback:
		return fmt.Errorf("%w: %q is not an http URL on 127.0.0.1", ErrInvalidIssuer, iss)
	default:
		return fmt.Errorf("%w: %q is not an https URL", ErrInvalidIssuer, iss)
	}
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// FromEnv reads the trusted issuers from TRUSTED_ISSUERS (default
// DefaultTrustedIssuers; https only) and LOCAL_ISSUER (the local stack's
// loopback issuer, which only the local stack sets).
func FromEnv(getenv func(string) string) (Trusted, error) {
	list := getenv("TRUSTED_ISSUERS")
	if list == "" {
		list = DefaultTrustedIssuers
	}
	trusted, err := ParseTrusted(list)
	if err != nil {
		return Trusted{}, fmt.Errorf("TRUSTED_ISSUERS: %w", err)
	}
	if local := getenv("LOCAL_ISSUER"); local != "" {
		if trusted, err = trusted.WithLoopback(local); err != nil {
			return Trusted{}, fmt.Errorf("LOCAL_ISSUER: %w", err)
		}
	}
	return trusted, nil
}
