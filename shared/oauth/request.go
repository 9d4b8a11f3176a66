package oauth

import (
	"encoding/base64"
	"mime"
	"net/url"
	"sort"
	"strings"
)

// Client authentication methods (RFC 8414 names).
const (
	AuthBasic         = "client_secret_basic"
	AuthPost          = "client_secret_post"
	AuthPrivateKeyJWT = "private_key_jwt"
	// AuthFederated is a client assertion issued by a trusted identity
	// provider rather than by the client itself.
	AuthFederated = "federated"
)

// AssertionTypeJWTBearer is the client_assertion_type of a JWT client
// assertion (RFC 7523 §2.2).
const AssertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// MaxAssertionBytes bounds a client assertion.
const MaxAssertionBytes = 8 << 10

// GrantClientCredentials is the one grant type the endpoint serves.
const GrantClientCredentials = "client_credentials"

// MaxBodyBytes bounds a token request body.
const MaxBodyBytes = 16 << 10

// TokenRequest is a token request as the client sent it, syntactically
// valid; nothing in it is verified yet.
type TokenRequest struct {
	GrantType string
	Scope     string // as sent; "" when absent
	ClientID  string
	Secret    string
	// Assertion is a client_assertion (RFC 7523); ClientID is then the
	// body's client_id, possibly empty.
	Assertion string
	Method    string // AuthBasic, AuthPost, or AuthPrivateKeyJWT for any assertion until it is read
}

// ParseTokenRequest reads a token request from its Authorization and
// Content-Type headers and its body. Syntax errors are invalid_request; a
// grant type other than client_credentials is unsupported_grant_type; missing
// or unusable client authentication is invalid_client.
func ParseTokenRequest(authorization, contentType string, body []byte) (TokenRequest, error) {
	if len(body) > MaxBodyBytes {
		return TokenRequest{}, invalidRequest("The request body is larger than %d bytes.", MaxBodyBytes)
	}
	if media, _, err := mime.ParseMediaType(contentType); err != nil || media != "application/x-www-form-urlencoded" {
		return TokenRequest{}, invalidRequest("The body must be application/x-www-form-urlencoded.")
	}
	form, err := ParseForm(string(body))
	if err != nil {
		return TokenRequest{}, err
	}
	req := TokenRequest{GrantType: form["grant_type"], Scope: form["scope"]}
	postID, postSecret := form["client_id"], form["client_secret"]
	assertion, assertionType := form["client_assertion"], form["client_assertion_type"]
	switch {
	case assertion != "" || assertionType != "":
		if authorization != "" || postSecret != "" {
			return TokenRequest{}, invalidRequest("Use one client authentication method: a client assertion, the Authorization header or client_secret, not several.")
		}
		if assertionType != AssertionTypeJWTBearer {
			return TokenRequest{}, invalidRequest("client_assertion_type must be %s.", AssertionTypeJWTBearer)
		}
		if assertion == "" {
			return TokenRequest{}, invalidRequest("client_assertion is missing.")
		}
		if len(assertion) > MaxAssertionBytes {
			return TokenRequest{}, invalidRequest("client_assertion is longer than %d bytes.", MaxAssertionBytes)
		}
		req.ClientID, req.Assertion, req.Method = postID, assertion, AuthPrivateKeyJWT
	case authorization != "":
		id, secret, err := ParseBasic(authorization)
		if err != nil {
			return TokenRequest{}, err
		}
		if postSecret != "" {
			return TokenRequest{}, invalidRequest("Use one client authentication method: the Authorization header or client_secret in the body, not both.")
		}
		if postID != "" && postID != id {
			return TokenRequest{}, invalidRequest("client_id in the body differs from the one in the Authorization header.")
		}
		req.ClientID, req.Secret, req.Method = id, secret, AuthBasic
	case postSecret != "" && postID == "":
		return TokenRequest{}, invalidRequest("client_secret is given without client_id.")
	default:
		req.ClientID, req.Secret, req.Method = postID, postSecret, AuthPost
	}
	switch req.GrantType {
	case GrantClientCredentials:
	case "":
		return TokenRequest{}, invalidRequest("grant_type is missing.")
	default:
		return TokenRequest{}, unsupportedGrantType()
	}
	if req.Assertion == "" && (req.ClientID == "" || req.Secret == "") {
		return TokenRequest{}, errNoClientAuth
	}
	return req, nil
}

// ParseForm reads an application/x-www-form-urlencoded body into one value
// per parameter. A repeated parameter is invalid_request (RFC 6749 §3.2); a
// parameter without a value counts as absent.
func ParseForm(body string) (map[string]string, error) {
	values, err := url.ParseQuery(body)
	if err != nil {
		return nil, invalidRequest("The body is not valid application/x-www-form-urlencoded.")
	}
	out := make(map[string]string, len(values))
	var repeated []string
	for k, vs := range values {
		if len(vs) > 1 {
			repeated = append(repeated, k)
			continue
		}
		if vs[0] != "" {
			out[k] = vs[0]
		}
	}
	if len(repeated) > 0 {
		sort.Strings(repeated)
		return nil, invalidRequest("Parameters must not be repeated: %s.", strings.Join(repeated, ", "))
	}
	return out, nil
}

// ParseBasic reads client_secret_basic credentials (RFC 6749 §2.3.1): the
// client id and secret are form-urlencoded, joined by a colon and base64
// encoded. A malformed header is invalid_request; another scheme, or an empty
// id or secret, is invalid_client.
func ParseBasic(authorization string) (clientID, secret string, err error) {
	scheme, encoded, _ := strings.Cut(strings.TrimSpace(authorization), " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", "", errAuthScheme
	}
	raw, decodeErr := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(encoded))
	if decodeErr != nil {
		return "", "", invalidRequest("The Authorization header is not valid base64.")
	}
	rawID, rawSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", invalidRequest("The Authorization header does not hold client_id:client_secret.")
	}
	id, err1 := url.QueryUnescape(rawID)
	secret, err2 := url.QueryUnescape(rawSecret)
	if err1 != nil || err2 != nil {
		return "", "", invalidRequest("The client id or secret in the Authorization header is not validly form-urlencoded.")
	}
	if id == "" || secret == "" {
		return "", "", errNoClientAuth
	}
	return id, secret, nil
}

// parseScope splits a scope parameter into its distinct tokens, in the order
// given. A token with characters RFC 6749 §3.3 does not allow is an error.
func parseScope(scope string) ([]string, bool) {
	var out []string
	seen := map[string]bool{}
	for _, tok := range strings.Split(scope, " ") {
		if tok == "" {
			continue
		}
		for i := 0; i < len(tok); i++ {
			c := tok[i]
			if c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
				return nil, false
			}
		}
		if !seen[tok] {
			seen[tok] = true
			out = append(out, tok)
		}
	}
	return out, true
}
