// Package oauth is the portal's OAuth 2.0 authorization server for machine
// clients: the client_credentials grant of RFC 6749 §4.4 at the token
// endpoint, the JWKS its access tokens verify against and the RFC 8414
// metadata. Client secrets are checked against the portal's records; repeated
// failures from one address are throttled.
package oauth

import (
	"fmt"
	"net/http"
	"time"
)

// Error codes of RFC 6749 §5.2, server_error when the portal itself failed,
// and temporarily_unavailable (RFC 6749 §4.1.2.1's word) when a federated
// credential's issuer could not be reached. A throttled failure is
// invalid_client with status 429.
const (
	CodeInvalidRequest         = "invalid_request"
	CodeInvalidClient          = "invalid_client"
	CodeInvalidGrant           = "invalid_grant"
	CodeUnauthorizedClient     = "unauthorized_client"
	CodeUnsupportedGrantType   = "unsupported_grant_type"
	CodeInvalidScope           = "invalid_scope"
	CodeServerError            = "server_error"
	CodeTemporarilyUnavailable = "temporarily_unavailable"
)

// Error is a token endpoint failure as the client sees it: an RFC 6749 §5.2
// code, a description and the HTTP status. RetryAfter is set on a throttled
// failure and when an issuer is unavailable.
type Error struct {
	Code        string
	Description string
	Status      int
	RetryAfter  time.Duration
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

func invalidRequest(format string, args ...any) *Error {
	return &Error{Code: CodeInvalidRequest, Description: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

// errInvalidClient is the one answer to every failed client authentication:
// unknown client id, wrong, expired, deleted or malformed secret. It never
// says which.
var errInvalidClient = &Error{Code: CodeInvalidClient, Description: "Client authentication failed.", Status: http.StatusUnauthorized}

var (
	errNoClientAuth = &Error{Code: CodeInvalidClient, Description: "The request carries no client authentication: use HTTP Basic (client_secret_basic) or client_id and client_secret in the body (client_secret_post).", Status: http.StatusUnauthorized}
	errAuthScheme   = &Error{Code: CodeInvalidClient, Description: "Only the Basic authentication scheme is supported.", Status: http.StatusUnauthorized}
	errServer       = &Error{Code: CodeServerError, Description: "The token could not be issued; try again later.", Status: http.StatusInternalServerError}
)

// FederationRetryAfter is how long a client is told to wait when its
// identity provider's keys could not be read: shared/federation asks a
// failing issuer again no sooner (its RefetchInterval).
const FederationRetryAfter = time.Minute

// errFederationUnavailable answers an assertion of a trusted issuer whose
// keys could not be read, so it could be neither accepted nor refused. It is
// no failed authentication: the throttling rule does not count it.
var errFederationUnavailable = &Error{
	Code: CodeTemporarilyUnavailable, Status: http.StatusServiceUnavailable, RetryAfter: FederationRetryAfter,
	Description: "The identity provider that issued the client assertion could not be reached to check it; try again after the time Retry-After gives.",
}

func unsupportedGrantType() *Error {
	return &Error{Code: CodeUnsupportedGrantType, Description: "Only the client_credentials grant type is supported.", Status: http.StatusBadRequest}
}

func invalidScope(description string) *Error {
	return &Error{Code: CodeInvalidScope, Description: description, Status: http.StatusBadRequest}
}

func unauthorizedClient() *Error {
	return &Error{Code: CodeUnauthorizedClient, Description: "This client is granted no APIs, so it may not obtain tokens.", Status: http.StatusBadRequest}
}

// throttled is a failed authentication of a locked-out (address, client id)
// pair. It says no more than errInvalidClient about why the credential
// failed, nor whether the client id exists.
func throttled(retry time.Duration) *Error {
	return &Error{
		Code: CodeInvalidClient, Status: http.StatusTooManyRequests, RetryAfter: retry,
		Description: "Client authentication failed, and too many attempts from this address have; try again after the time Retry-After gives.",
	}
}
