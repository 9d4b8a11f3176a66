package portal

import "errors"

// Kinds of failure. Every error the service returns to a caller wraps one of
// them; shared/httpapi maps each kind to one HTTP status.
var (
	ErrUnauthenticated = errors.New("unauthenticated")
	ErrNotFound        = errors.New("not found")
	ErrForbidden       = errors.New("forbidden")
	ErrInvalid         = errors.New("invalid input")
	ErrConflict        = errors.New("conflict")
	ErrTooLarge        = errors.New("request too large")
	ErrThrottled       = errors.New("throttled")
)

// Error is a failure meant for the caller: a kind, a stable snake_case code
// and a human sentence.
type Error struct {
	Kind    error
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }
func (e *Error) Unwrap() error { return e.Kind }

func newError(kind error, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// Invalid is a 400-class failure on the named input.
func Invalid(code, message string) *Error { return newError(ErrInvalid, code, message) }

// Conflict is a 409-class failure.
func Conflict(code, message string) *Error { return newError(ErrConflict, code, message) }

// Errors the service and its store return in several places.
var (
	errAppNotFound    = newError(ErrNotFound, "application_not_found", "No such application, or you are not designated on it.")
	errSecretNotFound = newError(ErrNotFound, "secret_not_found", "No such client secret on this application.")
	errManagerOnly    = newError(ErrForbidden, "forbidden", "Only the application's credential managers and admins may do this.")
	errAdminOnly      = newError(ErrForbidden, "forbidden", "Only admins may do this.")
	ErrSecretLimit    = Conflict("secret_limit_reached", "The application already has the most active client secrets allowed; delete one first.")
	errRecentlyUsed   = Conflict("recently_used", "This client secret was used in the last 24 hours; repeat with confirm=true to delete it anyway.")
	ErrBadCursor      = Invalid("invalid_cursor", "The cursor is not one this API issued.")
)
