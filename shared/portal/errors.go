package portal

import (
	"errors"
	"fmt"
)

// Kinds of failure. Every failure the service and its store report wraps one
// of them, so a caller can tell a missing record from a refused change
// without knowing every failure.
var (
	ErrUnauthenticated = errors.New("unauthenticated")
	ErrNotFound        = errors.New("not found")
	ErrForbidden       = errors.New("forbidden")
	ErrInvalid         = errors.New("invalid input")
	ErrConflict        = errors.New("conflict")
	ErrTooLarge        = errors.New("request too large")
)

// The failures a caller is told apart, each of one kind above. They carry no
// words for an end user: shared/httpapi's catalogue gives each its code,
// message and status.
var (
	ErrApplicationNotFound  = fmt.Errorf("application %w", ErrNotFound)
	ErrOrganisationNotFound = fmt.Errorf("organisation %w", ErrNotFound)
	ErrDesignationNotFound  = fmt.Errorf("designation %w", ErrNotFound)
	ErrSecretNotFound       = fmt.Errorf("secret %w", ErrNotFound)
	ErrFederatedNotFound    = fmt.Errorf("federated credential %w", ErrNotFound)
	ErrKeyNotFound          = fmt.Errorf("key %w", ErrNotFound)

	// ErrIdentityMismatch: the caller's email is designated, but the
	// designation was bound to another (issuer, subject) by its first use.
	ErrIdentityMismatch = fmt.Errorf("%w: designation bound to another identity", ErrUnauthenticated)
	// ErrNoSubject: a caller that is not an admin came without the issuer
	// and subject a designation is bound to.
	ErrNoSubject = fmt.Errorf("%w: no issuer and subject", ErrUnauthenticated)

	ErrManagersOnly = fmt.Errorf("%w: credential managers and admins only", ErrForbidden)
	ErrAdminsOnly   = fmt.Errorf("%w: admins only", ErrForbidden)

	ErrBadCursor          = fmt.Errorf("%w: cursor", ErrInvalid)
	ErrInvalidName        = fmt.Errorf("%w: name", ErrInvalid)
	ErrInvalidCountry     = fmt.Errorf("%w: country", ErrInvalid)
	ErrInvalidEmail       = fmt.Errorf("%w: email", ErrInvalid)
	ErrInvalidRole        = fmt.Errorf("%w: role", ErrInvalid)
	ErrNoAPIs             = fmt.Errorf("%w: no APIs granted", ErrInvalid)
	ErrUnknownAPI         = fmt.Errorf("%w: API not in the catalogue", ErrInvalid) // with the API id
	ErrDuplicateAPI       = fmt.Errorf("%w: API listed twice", ErrInvalid)         // with the API id
	ErrLifetimeAmbiguous  = fmt.Errorf("%w: both expiresAt and lifetimeDays", ErrInvalid)
	ErrLifetimeMissing    = fmt.Errorf("%w: neither expiresAt nor lifetimeDays", ErrInvalid)
	ErrLifetimeOutOfRange = fmt.Errorf("%w: lifetime out of range", ErrInvalid) // with the longest lifetime in days
	ErrUntrustedIssuer    = fmt.Errorf("%w: issuer not trusted", ErrInvalid)    // with the issuer
	ErrInvalidSubject     = fmt.Errorf("%w: subject", ErrInvalid)
	ErrInvalidAudience    = fmt.Errorf("%w: audience", ErrInvalid)
	ErrForeignAudience    = fmt.Errorf("%w: audience of another service", ErrInvalid)
	ErrPrivateKeyRefused  = fmt.Errorf("%w: private key material", ErrInvalid)
	ErrInvalidPublicKey   = fmt.Errorf("%w: public key", ErrInvalid)
	ErrUnsupportedKey     = fmt.Errorf("%w: key type or size", ErrInvalid)
	ErrKeyNotForSigning   = fmt.Errorf("%w: key not for signing", ErrInvalid)
	ErrCertificateExpiry  = fmt.Errorf("%w: expiry after the certificate's", ErrInvalid) // with the certificate's notAfter

	ErrDuplicateOrganisation = fmt.Errorf("%w: organisation name in use", ErrConflict)
	ErrDuplicateApplication  = fmt.Errorf("%w: application name in use in its organisation", ErrConflict)
	ErrConcurrentUpdate      = fmt.Errorf("%w: application changed meanwhile", ErrConflict)
	ErrSecretLimit           = fmt.Errorf("%w: active secret limit reached", ErrConflict)
	ErrRecentlyUsed          = fmt.Errorf("%w: secret used recently", ErrConflict)
	ErrKeyLimit              = fmt.Errorf("%w: active key limit reached", ErrConflict)
	ErrDuplicateKey          = fmt.Errorf("%w: key registered already", ErrConflict)
	ErrKeyRecentlyUsed       = fmt.Errorf("%w: key used recently", ErrConflict)
	ErrBusy                  = fmt.Errorf("%w: application busy", ErrConflict)
	ErrFederatedLimit        = fmt.Errorf("%w: federated credential limit reached", ErrConflict)
	// ErrGrantChanged: the designation a change was made under was removed
	// or changed before the change's transaction; the service tells the
	// caller why (not found, managers only, or a concurrent update).
	ErrGrantChanged = fmt.Errorf("%w: designation changed meanwhile", ErrConflict)
	// ErrClientIDTaken is what AdminStore.CreateApplication returns when a
	// generated client id was issued before; the admin service then
	// generates another, so no caller ever sees it.
	ErrClientIDTaken = fmt.Errorf("%w: client id taken", ErrConflict)
)

// Error is a failure about one value of the input, such as the API id that
// the catalogue lacks: Err is one of the failures above, Value what it is
// about, as the caller may be shown it.
type Error struct {
	Err   error
	Value string
}

func (e *Error) Error() string { return e.Err.Error() + ": " + e.Value }
func (e *Error) Unwrap() error { return e.Err }
