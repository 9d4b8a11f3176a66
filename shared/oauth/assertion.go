package oauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"credportal/shared/portal"
	"credportal/shared/publickey"
)

// Client assertions (RFC 7523 §2.2, OpenID Connect Core §9): a JWT in
// client_assertion authenticates the client. When the JWT's issuer is the
// client id, the client signed it with one of its registered keys
// (private_key_jwt); otherwise an identity provider issued it, and the
// server's Federation decides (workload identity federation).

// Limits of a private_key_jwt assertion.
const (
	// MaxAssertionLifetime is how far after now an assertion's exp may be:
	// an hour, as Okta allows, since widely used client libraries sign with
	// exp one hour after iat by default. The jti is kept until then.
	MaxAssertionLifetime = 60 * time.Minute
	// ClockSkew is the leeway given to exp, nbf and iat.
	ClockSkew = 60 * time.Second
	// maxJTILength bounds the jti recorded for replay detection.
	maxJTILength = 256
)

// Assertion is a client assertion as sent: its header and claims decoded,
// its signature not yet checked.
type Assertion struct {
	Alg, Kid     string
	Claims       AssertionClaims
	SigningInput []byte // header.payload, as signed
	Signature    []byte
}

// AssertionClaims are the claims the token endpoint reads. Times are
// NumericDates; nil when absent.
type AssertionClaims struct {
	Iss string   `json:"iss"`
	Sub string   `json:"sub"`
	Aud audience `json:"aud"`
	Exp *float64 `json:"exp"`
	Nbf *float64 `json:"nbf"`
	Iat *float64 `json:"iat"`
	Jti string   `json:"jti"`
}

// audience is aud, a string or an array of strings (RFC 7519 §4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(b, []byte(`"`)) {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// errAssertion is any assertion that does not authenticate its client; the
// client is told invalid_client, the log says why.
var errAssertion = errors.New("assertion refused")

func refused(reason string) error { return fmt.Errorf("%w: %s", errAssertion, reason) }

// ParseAssertion splits a compact JWS and decodes its header and claims.
func ParseAssertion(raw string) (*Assertion, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, refused("not a compact JWS")
	}
	header, err1 := b64.DecodeString(parts[0])
	payload, err2 := b64.DecodeString(parts[1])
	sig, err3 := b64.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, refused("not base64url")
	}
	var h struct {
		Alg  string          `json:"alg"`
		Kid  string          `json:"kid"`
		Crit json.RawMessage `json:"crit"`
	}
	if json.Unmarshal(header, &h) != nil {
		return nil, refused("header not JSON")
	}
	if h.Crit != nil {
		return nil, refused("critical header parameters")
	}
	a := &Assertion{Alg: h.Alg, Kid: h.Kid, SigningInput: []byte(raw[:len(parts[0])+1+len(parts[1])]), Signature: sig}
	if json.Unmarshal(payload, &a.Claims) != nil {
		return nil, refused("claims not JSON")
	}
	return a, nil
}

// Federation authenticates a client with an assertion (token, the JWT as
// sent) that an identity provider issued (its iss is not the client id),
// against the client's federated credentials, and records the use. It
// returns the id of the credential that matched; any error means the client
// is not authenticated (invalid_client), unless it wraps
// ErrFederationUnavailable (503 temporarily_unavailable, not counted by the
// throttling rule). shared/federation's Authenticator is one.
type Federation interface {
	Authenticate(ctx context.Context, client portal.Client, token string, now time.Time) (credentialID string, err error)
}

// ErrFederationUnavailable is a Federation's own failure (an issuer it could
// not reach, say), as opposed to an assertion it refused.
var ErrFederationUnavailable = errors.New("federation unavailable")

// noFederation trusts no identity provider.
type noFederation struct{}

func (noFederation) Authenticate(context.Context, portal.Client, string, time.Time) (string, error) {
	return "", refused("no federated credentials")
}

// used is the credential that authenticated a request.
type used struct {
	method string // AuthBasic, AuthPost, AuthPrivateKeyJWT or AuthFederated
	id     string // the secret's, key's or federated credential's id
	appID  string
	last   *time.Time // its LastUsedAt as read, for secrets and keys
}

// authenticateAssertion reads and checks a client assertion; req.ClientID
// is set to the client it authenticates (or claims to). The client's
// ApplicationID is set when the client id is an application's.
func (s *Server) authenticateAssertion(ctx context.Context, req *TokenRequest, now time.Time) (portal.Client, used, error) {
	a, err := ParseAssertion(req.Assertion)
	if err != nil {
		return portal.Client{}, used{}, err
	}
	method := AuthPrivateKeyJWT
	if req.ClientID == "" {
		req.ClientID = a.Claims.Iss
	}
	if a.Claims.Iss != req.ClientID {
		method = AuthFederated
	}
	req.Method = method
	if !portal.ValidClientID(req.ClientID) {
		return portal.Client{}, used{}, refused("malformed client id")
	}
	client, err := s.store.Client(ctx, req.ClientID)
	if errors.Is(err, portal.ErrNotFound) {
		return portal.Client{}, used{}, refused("unknown client id")
	}
	if err != nil {
		return portal.Client{}, used{}, fmt.Errorf("find client: %w", err)
	}
	if method == AuthFederated {
		id, err := s.federation.Authenticate(ctx, client, req.Assertion, now)
		if errors.Is(err, ErrFederationUnavailable) {
			// Neither accepted nor refused: not counted as a failure.
			slog.ErrorContext(ctx, "token not issued: the issuer's keys could not be read", "issuer", a.Claims.Iss,
				"clientId", req.ClientID, "applicationId", client.ApplicationID, "error", err.Error())
			return client, used{}, errFederationUnavailable
		}
		if err != nil {
			if errors.Is(err, errAssertion) {
				return client, used{}, err
			}
			return client, used{}, fmt.Errorf("%w: %w", errAssertion, err)
		}
		// A federated token with a jti is accepted once (until its exp),
		// as a client assertion is: a token copied from a workload's run
		// cannot be replayed here.
		if c := a.Claims; c.Jti != "" && c.Exp != nil {
			if len(c.Jti) > maxJTILength {
				return client, used{}, refused("no usable jti")
			}
			first, err := s.store.UseAssertionID(ctx, client.ID, "fed:"+c.Jti, numericDate(*c.Exp).Add(ClockSkew), now)
			if err != nil {
				return client, used{}, err
			}
			if !first {
				return client, used{}, refused("federated token replayed (jti)")
			}
		}
		return client, used{method: method, id: id, appID: client.ApplicationID}, nil
	}
	k, err := s.checkPrivateKeyJWT(ctx, client, a, now)
	if err != nil {
		return client, used{}, err
	}
	return client, used{method: method, id: k.ID, appID: client.ApplicationID, last: k.LastUsedAt}, nil
}

// checkPrivateKeyJWT verifies an assertion the client signed: with one of
// its active keys and an algorithm that key allows, for this server, within
// its time window, and never seen before.
func (s *Server) checkPrivateKeyJWT(ctx context.Context, client portal.Client, a *Assertion, now time.Time) (portal.Key, error) {
	key, err := s.signer(client, a, now)
	if err != nil {
		return portal.Key{}, err
	}
	c := a.Claims
	switch {
	case c.Sub != client.ID:
		return portal.Key{}, refused("sub is not the client id")
	case !slices.Contains(c.Aud, s.cfg.Issuer+TokenPath) && !slices.Contains(c.Aud, s.cfg.Issuer):
		return portal.Key{}, refused("aud names neither the token endpoint nor the issuer")
	case c.Exp == nil:
		return portal.Key{}, refused("no exp")
	case numericDate(*c.Exp).Add(ClockSkew).Before(now):
		return portal.Key{}, refused("expired")
	case numericDate(*c.Exp).After(now.Add(MaxAssertionLifetime + ClockSkew)):
		return portal.Key{}, refused("exp too far ahead")
	case c.Nbf != nil && numericDate(*c.Nbf).After(now.Add(ClockSkew)):
		return portal.Key{}, refused("not yet valid")
	case c.Iat != nil && numericDate(*c.Iat).After(now.Add(ClockSkew)):
		return portal.Key{}, refused("issued in the future")
	case c.Jti == "" || len(c.Jti) > maxJTILength:
		return portal.Key{}, refused("no usable jti")
	}
	// The jti is held until the assertion could no longer be accepted.
	first, err := s.store.UseAssertionID(ctx, client.ID, c.Jti, numericDate(*c.Exp).Add(ClockSkew), now)
	if err != nil {
		return portal.Key{}, err
	}
	if !first {
		return portal.Key{}, refused("jti replayed")
	}
	return key, nil
}

// signer finds the active key of the client whose signature the assertion
// carries, trying each key that allows its algorithm (only the one whose
// thumbprint is the header's kid, when there is one).
func (s *Server) signer(client portal.Client, a *Assertion, now time.Time) (portal.Key, error) {
	tried := false
	for _, k := range client.Keys {
		if !now.Before(k.ExpiresAt) || !publickey.Allows(k.Algorithms, a.Alg) || (a.Kid != "" && a.Kid != k.Thumbprint) {
			continue
		}
		pub, err := publickey.FromDER(k.DER)
		if err != nil {
			slog.Error("stored key unreadable", "keyId", k.ID, "error", err.Error())
			continue
		}
		tried = true
		if publickey.Verify(pub, a.Alg, a.SigningInput, a.Signature) == nil {
			return k, nil
		}
	}
	if !tried {
		return portal.Key{}, refused("no active key allows the algorithm or has the kid")
	}
	return portal.Key{}, refused("signature does not verify")
}

// numericDate reads a NumericDate; absurd values land far in the past or
// future, where the checks refuse them.
func numericDate(v float64) time.Time {
	const limit = 1e11 // year 5138
	v = max(-limit, min(v, limit))
	sec := int64(v)
	return time.Unix(sec, int64((v-float64(sec))*1e9)).UTC()
}
