package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"credportal/shared/portal"
)

// Failures of the HTTP layer itself, before the domain is called.
var (
	errNoIdentity    = fmt.Errorf("%w: no verified identity", portal.ErrUnauthenticated)
	errUnverified    = fmt.Errorf("%w: email not verified", portal.ErrUnauthenticated)
	errTooLarge      = fmt.Errorf("%w: body", portal.ErrTooLarge)
	errBadBody       = fmt.Errorf("%w: body not readable", portal.ErrInvalid)
	errBadJSON       = fmt.Errorf("%w: body not one JSON object", portal.ErrInvalid)
	errBadUTF8       = fmt.Errorf("%w: body not UTF-8", portal.ErrInvalid)
	errDuplicateName = fmt.Errorf("%w: field given twice", portal.ErrInvalid)  // with the field's name
	errUnknownName   = fmt.Errorf("%w: unknown field name", portal.ErrInvalid) // with the field's name
	errUnknownField  = fmt.Errorf("%w: unknown field", portal.ErrInvalid)      // with the field's name as JSON quotes it
	errFieldType     = fmt.Errorf("%w: field type", portal.ErrInvalid)         // with the field's path
	errTimeField     = fmt.Errorf("%w: time field", portal.ErrInvalid)
	errBadConfirm    = fmt.Errorf("%w: confirm", portal.ErrInvalid)
	errNoRoute       = fmt.Errorf("%w: admin route", portal.ErrNotFound)
)

// Failures of the secret scanning endpoint (shared/scanning), which reads
// its body itself: the signature covers it exactly as sent.
var (
	ErrBadBody         = errBadBody
	ErrReportUnsigned  = fmt.Errorf("%w: report not signed", portal.ErrUnauthenticated)
	ErrReportSignature = fmt.Errorf("%w: report signature", portal.ErrUnauthenticated)
	ErrReportTooLarge  = fmt.Errorf("%w: report", portal.ErrTooLarge)
	ErrReportTooMany   = fmt.Errorf("%w: report matches", portal.ErrTooLarge)
	ErrBadReport       = fmt.Errorf("%w: report", portal.ErrInvalid)
)

// apiError is how the API tells a caller of one failure: the HTTP status, a
// stable snake_case code and a sentence for people. A message with a verb
// (%s, %q) shows the value the failure carries (a *portal.Error).
type apiError struct {
	err     error
	status  int
	code    string
	message string
}

// catalogue is every failure the API tells its callers of, and how. Anything
// else is a 500 internal_error, logged once at the edge.
var catalogue = []apiError{
	{errNoIdentity, http.StatusUnauthorized, "unauthenticated", "Sign in: the request carries no verified identity."},
	{errUnverified, http.StatusUnauthorized, "email_not_verified", "Verify your email address with the sign-in provider, then sign in again."},
	{portal.ErrNoSubject, http.StatusUnauthorized, "unauthenticated", "Sign in: the request carries no verified identity."},
	{portal.ErrIdentityMismatch, http.StatusUnauthorized, "identity_mismatch", "Your email's designation belongs to another sign-in identity; ask an admin to remove and re-add it."},
	{ErrReportUnsigned, http.StatusUnauthorized, "signature_required", "The report carries no Github-Public-Key-Identifier and Github-Public-Key-Signature."},
	{ErrReportSignature, http.StatusUnauthorized, "invalid_signature", "The report's signature does not verify with a published key."},

	{errBadBody, http.StatusBadRequest, "invalid_body", "The request body could not be read."},
	{errBadJSON, http.StatusBadRequest, "invalid_json", "The request body is not a single JSON object."},
	{errBadUTF8, http.StatusBadRequest, "invalid_utf8", "The request body is not valid UTF-8 text."},
	{errDuplicateName, http.StatusBadRequest, "duplicate_field", "The body gives the field %q more than once."},
	{errUnknownName, http.StatusBadRequest, "unknown_field", "The body has the unknown field %q; field names are case-sensitive."},
	{errUnknownField, http.StatusBadRequest, "unknown_field", "The body has the unknown field %s."},
	{errFieldType, http.StatusBadRequest, "invalid_field", "The field %s has the wrong type."},
	{errTimeField, http.StatusBadRequest, "invalid_field", "A time field is not an RFC 3339 time."},
	{errBadConfirm, http.StatusBadRequest, "invalid_confirm", "confirm must be true or false."},
	{ErrBadReport, http.StatusBadRequest, "invalid_report", "The body is not a JSON array of {token, type, url, source} objects."},
	{portal.ErrBadCursor, http.StatusBadRequest, "invalid_cursor", "The cursor is not one this API issued."},
	{portal.ErrInvalidName, http.StatusBadRequest, "invalid_name", fmt.Sprintf("The name must be 1 to %d printable characters, without leading or trailing spaces.", portal.MaxNameLen)},
	{portal.ErrInvalidCountry, http.StatusBadRequest, "invalid_country", "The country must be an assigned ISO 3166-1 alpha-2 code, such as GB or DE."},
	{portal.ErrInvalidEmail, http.StatusBadRequest, "invalid_email", fmt.Sprintf("The email must be a plain address such as name@example.com, at most %d characters.", portal.MaxEmailLen)},
	{portal.ErrInvalidRole, http.StatusBadRequest, "invalid_role", "The role must be credential_manager or viewer."},
	{portal.ErrNoAPIs, http.StatusBadRequest, "invalid_apis", "Grant the application at least one API."},
	{portal.ErrUnknownAPI, http.StatusBadRequest, "unknown_api", "%q is not an API of the catalogue (GET /v1/admin/apis lists them)."},
	{portal.ErrDuplicateAPI, http.StatusBadRequest, "duplicate_api", "The API %q is listed twice."},
	{portal.ErrUntrustedIssuer, http.StatusBadRequest, "untrusted_issuer", "The issuer is not one the portal trusts; trusted issuers: %s."},
	{portal.ErrInvalidSubject, http.StatusBadRequest, "invalid_subject", fmt.Sprintf("The subject must be 1 to %d bytes of printable characters without spaces.", portal.MaxClaimLen)},
	{portal.ErrForeignAudience, http.StatusBadRequest, "audience_of_another_service", "That audience is %s's: a token meant for it must never sign in here. Leave audience out (the portal's own is the default) or give one of your own."},
	{portal.ErrInvalidAudience, http.StatusBadRequest, "invalid_audience", fmt.Sprintf("The audience must be 1 to %d bytes of printable characters without spaces.", portal.MaxClaimLen)},
	{portal.ErrLifetimeAmbiguous, http.StatusBadRequest, "invalid_lifetime", "Give either expiresAt or lifetimeDays, not both."},
	{portal.ErrLifetimeMissing, http.StatusBadRequest, "invalid_lifetime", "Give expiresAt or lifetimeDays."},
	{portal.ErrLifetimeOutOfRange, http.StatusBadRequest, "invalid_lifetime", "The lifetime must be at least 1 day and at most %s days."},
	{portal.ErrPrivateKeyRefused, http.StatusBadRequest, "private_key_refused", "This holds private key material: register the public key or certificate only, and treat the private key as exposed."},
	{portal.ErrInvalidPublicKey, http.StatusBadRequest, "invalid_public_key", "publicKey must be PEM text (a CERTIFICATE or PUBLIC KEY block) or a JWK as a JSON object."},
	{portal.ErrUnsupportedKey, http.StatusBadRequest, "unsupported_key", "The key must be EC P-256 or P-384, RSA of at least 2048 bits, or Ed25519."},
	{portal.ErrKeyNotForSigning, http.StatusBadRequest, "key_not_for_signing", "The JWK is marked for another use than signing: its use must be sig, and its key_ops, if any, must include verify."},
	{portal.ErrCertificateExpiry, http.StatusBadRequest, "invalid_lifetime", "The key must expire within the certificate's validity, which ends %s."},

	{portal.ErrManagersOnly, http.StatusForbidden, "forbidden", "Only the application's credential managers and admins may do this."},
	{portal.ErrAdminsOnly, http.StatusForbidden, "forbidden", "Only admins may do this."},

	{portal.ErrApplicationNotFound, http.StatusNotFound, "application_not_found", "No such application, or you are not designated on it."},
	{portal.ErrOrganisationNotFound, http.StatusNotFound, "organisation_not_found", "No such organisation."},
	{portal.ErrDesignationNotFound, http.StatusNotFound, "designation_not_found", "This email is not designated on the application."},
	{portal.ErrSecretNotFound, http.StatusNotFound, "secret_not_found", "No such client secret on this application."},
	{portal.ErrFederatedNotFound, http.StatusNotFound, "federated_credential_not_found", "No such federated credential on this application."},
	{portal.ErrKeyNotFound, http.StatusNotFound, "key_not_found", "No such key on this application."},
	{errNoRoute, http.StatusNotFound, "route_not_found", "No such admin route."},

	{portal.ErrDuplicateOrganisation, http.StatusConflict, "duplicate_name", "An organisation with this name exists already."},
	{portal.ErrDuplicateApplication, http.StatusConflict, "duplicate_name", "This organisation has an application with this name already."},
	{portal.ErrConcurrentUpdate, http.StatusConflict, "concurrent_update", "The application was changed by someone else meanwhile; reload it and try again."},
	{portal.ErrSecretLimit, http.StatusConflict, "secret_limit_reached", "The application already has the most active client secrets allowed; delete one first."},
	{portal.ErrRecentlyUsed, http.StatusConflict, "recently_used", "This client secret was used in the last 24 hours; repeat with confirm=true to delete it anyway."},
	{portal.ErrFederatedLimit, http.StatusConflict, "federated_credential_limit_reached", "The application already has the most federated credentials allowed; delete one first."},
	{portal.ErrKeyLimit, http.StatusConflict, "key_limit_reached", "The application already has the most active keys allowed; delete one first."},
	{portal.ErrDuplicateKey, http.StatusConflict, "duplicate_key", "This public key is registered on the application already (the same thumbprint); a second registration would keep it working after the first is deleted."},
	{portal.ErrKeyRecentlyUsed, http.StatusConflict, "recently_used", "This key was used in the last 24 hours; repeat with confirm=true to delete it anyway."},
	{portal.ErrBusy, http.StatusConflict, "busy", "The application is being changed by someone else; try again."},

	{errTooLarge, http.StatusRequestEntityTooLarge, "body_too_large", "The request body is larger than 16 KiB."},
	{ErrReportTooLarge, http.StatusRequestEntityTooLarge, "body_too_large", "The report is larger than 512 KiB."},
	{ErrReportTooMany, http.StatusRequestEntityTooLarge, "too_many_matches", "The report holds more than 500 matches; send them in smaller batches."},
}

// internalError is the answer to any failure the catalogue lacks.
var internalError = apiError{status: http.StatusInternalServerError, code: "internal_error", message: "Something went wrong on our side; try again later."}

// describe finds err in the catalogue and writes its message; ok is false
// when the catalogue lacks it.
func describe(err error) (e apiError, message string, ok bool) {
	for _, e := range catalogue {
		if !errors.Is(err, e.err) {
			continue
		}
		var v *portal.Error
		if strings.Contains(e.message, "%") && errors.As(err, &v) {
			return e, fmt.Sprintf(e.message, v.Value), true
		}
		return e, e.message, true
	}
	return internalError, internalError.message, false
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Error is the response for err. A failure in the catalogue is told as the
// catalogue says; anything else is logged here, once, and shown as a bare
// 500.
func Error(ctx context.Context, err error) Response {
	e, message, ok := describe(err)
	if !ok {
		slog.ErrorContext(ctx, "request failed", "error", err.Error())
	}
	var body errorBody
	body.Error.Code, body.Error.Message = e.code, message
	raw, _ := json.Marshal(body)
	return Response{StatusCode: e.status, Headers: jsonHeaders(), Body: string(raw)}
}
