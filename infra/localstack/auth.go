package localstack

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"sort"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// TokenLifetime is how long a token of GET /local/token is valid.
const TokenLifetime = time.Hour

// authorizer emulates the HTTP API's JWT authorizer with a key of its own: it
// issues ID-token-like JWTs for the demo users and verifies them as API
// Gateway verifies the issuer's tokens.
type authorizer struct {
	key        *ecdsa.PrivateKey
	issuer     string
	audience   string
	adminGroup string
	now        func() time.Time
}

func newAuthorizer(issuer, audience, adminGroup string, now func() time.Time) (*authorizer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate the local signing key: %w", err)
	}
	return &authorizer{key: key, issuer: issuer, audience: audience, adminGroup: adminGroup, now: now}, nil
}

// maxSubject bounds the subject a local token may be given.
const maxSubject = 255

// token issues a token for email, in the admin group when admin: the claims
// a Cognito ID token carries. sub is the token's subject; "" gives a stable
// one derived from the email, so the same demo user is the same person on
// every sign-in (designations are bound to the first subject that uses
// them; another sub plays someone else who has the same address).
func (a *authorizer) token(email, sub string, admin bool) (string, error) {
	addr, err := mail.ParseAddress(strings.TrimSpace(email))
	if err != nil || addr.Name != "" || !strings.Contains(addr.Address, "@") {
		return "", fmt.Errorf("%q is not an email address", email)
	}
	if len(sub) > maxSubject {
		return "", fmt.Errorf("the subject is longer than %d bytes", maxSubject)
	}
	email = strings.ToLower(addr.Address)
	now := a.now()
	if sub == "" {
		sum := sha256.Sum256([]byte(email))
		sub = hex.EncodeToString(sum[:16])
	}
	claims := map[string]any{
		"iss":            a.issuer,
		"aud":            a.audience,
		"sub":            sub,
		"email":          email,
		"email_verified": true,
		"token_use":      "id",
		"iat":            now.Unix(),
		"auth_time":      now.Unix(),
		"exp":            now.Add(TokenLifetime).Unix(),
	}
	if admin {
		claims["cognito:groups"] = []string{a.adminGroup}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: a.key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("signer: %w", err)
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

var errUnauthorized = errors.New("unauthorized")

// verify checks an Authorization header as the JWT authorizer does and
// returns the claims and scopes as the HTTP API passes them to a function:
// every claim a string, arrays rendered "[a b]".
func (a *authorizer) verify(header string) (map[string]string, []string, error) {
	raw := strings.TrimSpace(header)
	if len(raw) > 7 && strings.EqualFold(raw[:7], "bearer ") {
		raw = strings.TrimSpace(raw[7:])
	}
	if raw == "" {
		return nil, nil, errUnauthorized
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return nil, nil, errUnauthorized
	}
	var std jwt.Claims
	claims := map[string]any{}
	if err := tok.Claims(&a.key.PublicKey, &std, &claims); err != nil {
		return nil, nil, errUnauthorized
	}
	// As API Gateway: the issuer and an audience must match, exp is required
	// and past it (to the second) the token is refused, iat not in the future.
	if std.Expiry == nil || !a.now().Before(std.Expiry.Time()) ||
		std.ValidateWithLeeway(jwt.Expected{Issuer: a.issuer, AnyAudience: jwt.Audience{a.audience}, Time: a.now()}, 0) != nil {
		return nil, nil, errUnauthorized
	}
	out := make(map[string]string, len(claims))
	for k, v := range claims {
		out[k] = claimString(v)
	}
	var scopes []string
	if s, ok := claims["scope"].(string); ok {
		scopes = strings.Fields(s)
	}
	return out, scopes, nil
}

// claimString renders a claim as the HTTP API does.
func claimString(v any) string {
	switch c := v.(type) {
	case string:
		return c
	case float64:
		if c == float64(int64(c)) {
			return fmt.Sprint(int64(c))
		}
		return fmt.Sprint(c)
	case []any:
		parts := make([]string, len(c))
		for i, p := range c {
			parts[i] = claimString(p)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(c))
		for k := range c {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ":" + claimString(c[k])
		}
		return "map[" + strings.Join(parts, " ") + "]"
	default:
		return fmt.Sprint(c)
	}
}
