package federation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Errors of verification. Each means the token does not authenticate the
// client; at the token endpoint all are invalid_client.
var (
	ErrMalformed       = errors.New("not a signed JWT")
	ErrUntrustedIssuer = errors.New("issuer not trusted")
	ErrNoCredential    = errors.New("no federated credential matches")
	ErrBadSignature    = errors.New("signature does not verify")
	ErrExpired         = errors.New("token expired or not yet valid")
)

// ClockSkew is the leeway given to exp, nbf and iat.
const ClockSkew = 60 * time.Second

// maxTokenBytes bounds the token read at all.
const maxTokenBytes = 16 << 10

// algorithms are the signature algorithms accepted: asymmetric ones only.
var algorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// Credential is what an application trusts an external identity by: the
// token's issuer, its subject, and an audience it must name.
type Credential struct {
	ID       string
	Issuer   string
	Subject  string
	Audience string
}

// Verifier checks external issuers' tokens against federated credentials.
type Verifier struct {
	trusted Trusted
	keys    *keySource
	now     func() time.Time
}

// NewVerifier verifies tokens of the trusted issuers, whose keys are fetched
// with client (NewHTTPClient's in production).
func NewVerifier(trusted Trusted, client Doer, now func() time.Time) *Verifier {
	return &Verifier{
		trusted: trusted, now: now,
		keys: &keySource{client: client, now: now, timeout: FetchTimeout, issuers: map[string]*issuerKeys{}},
	}
}

// Trusted returns the issuers the verifier trusts.
func (v *Verifier) Trusted() Trusted { return v.trusted }

// Verify returns the credential among creds that token authenticates: the
// token is a JWT signed by a key of its trusted issuer, its iss, sub and aud
// are one credential's issuer, subject and audience, exp is in the future
// and nbf and iat are not (each with ClockSkew). No issuer is contacted for a
// token no credential could match.
func (v *Verifier) Verify(ctx context.Context, token string, creds []Credential) (Credential, error) {
	if len(token) > maxTokenBytes {
		return Credential{}, ErrMalformed
	}
	tok, err := jwt.ParseSigned(token, algorithms)
	if err != nil || len(tok.Headers) != 1 {
		return Credential{}, ErrMalformed
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return Credential{}, ErrMalformed
	}
	if !v.trusted.Contains(unverified.Issuer) {
		return Credential{}, ErrUntrustedIssuer
	}
	candidates := matching(creds, unverified)
	if len(candidates) == 0 {
		return Credential{}, ErrNoCredential
	}
	key, err := v.keys.key(ctx, unverified.Issuer, tok.Headers[0].KeyID)
	if err != nil {
		return Credential{}, err
	}
	if key.Algorithm != "" && key.Algorithm != tok.Headers[0].Algorithm {
		return Credential{}, ErrBadSignature
	}
	var claims jwt.Claims
	if err := tok.Claims(key.Key, &claims); err != nil {
		return Credential{}, ErrBadSignature
	}
	if err := checkTimes(claims, v.now()); err != nil {
		return Credential{}, err
	}
	// The verified claims are the unverified ones; matched again all the same.
	candidates = matching(creds, claims)
	if len(candidates) == 0 {
		return Credential{}, ErrNoCredential
	}
	return candidates[0], nil
}

// matching returns the credentials whose issuer, subject and audience the
// claims hold, compared exactly.
func matching(creds []Credential, c jwt.Claims) []Credential {
	var out []Credential
	for _, cr := range creds {
		if cr.Issuer == c.Issuer && cr.Subject == c.Subject && c.Subject != "" && slices.Contains(c.Audience, cr.Audience) {
			out = append(out, cr)
		}
	}
	return out
}

// checkTimes requires exp and checks it, nbf and iat with ClockSkew.
func checkTimes(c jwt.Claims, now time.Time) error {
	if c.Expiry == nil {
		return fmt.Errorf("%w: no exp", ErrExpired)
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Time: now}, ClockSkew); err != nil {
		return fmt.Errorf("%w: %w", ErrExpired, err)
	}
	return nil
}
