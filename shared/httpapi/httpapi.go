// Package httpapi translates API Gateway HTTP API events to calls of the
// portal service and its results to JSON responses, mapping every domain
// error to one status and a {"error":{"code","message"}} body.
package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"unicode"

	"github.com/aws/aws-lambda-go/events"

	"credportal/shared/portal"
)

// MaxBodyBytes bounds a request body; a larger one gets 413.
const MaxBodyBytes = 16 << 10

// Request and Response are the HTTP API's payload format 2.0.
type (
	Request  = events.APIGatewayV2HTTPRequest
	Response = events.APIGatewayV2HTTPResponse
)

// Handler is a Lambda handler of one route.
type Handler func(context.Context, Request) (Response, error)

// Identity reads the caller from the JWT authorizer's verified claims, and
// from nowhere else.
type Identity struct {
	AdminGroup  string // group claim value that makes an admin
	GroupsClaim string // claim holding the groups, e.g. "cognito:groups"
	// IssuerVerifiesEmail is the operator's word that the issuer only ever
	// issues verified addresses, so a token without email_verified is taken.
	// Otherwise email_verified must be true.
	IssuerVerifiesEmail bool
}

// Caller returns the signed-in caller, or an unauthenticated error.
func (id Identity) Caller(req Request) (portal.Caller, error) {
	auth := req.RequestContext.Authorizer
	if auth == nil || auth.JWT == nil {
		return portal.Caller{}, errNoIdentity
	}
	claims := auth.JWT.Claims
	// An address the issuer has not verified is no identity: a user who
	// could set their own email would take over another's designations.
	// (Cognito always sends email_verified.) A token that says false is
	// refused even from an issuer declared to verify every address.
	v, said := claims["email_verified"]
	if said && v != "true" || !said && !id.IssuerVerifiesEmail {
		return portal.Caller{}, errUnverified
	}
	c := portal.NewCaller(claims["email"], ParseGroups(claims[id.GroupsClaim]), id.AdminGroup)
	if c.Email == "" || !strings.Contains(c.Email, "@") || len(c.Email) > portal.MaxEmailLen {
		return portal.Caller{}, errNoIdentity
	}
	// A token's internationalised domain is matched in the punycode form
	// designations are stored in.
	if email, err := portal.CheckEmail(c.Email); err == nil {
		c.Email = email
	}
	c.Issuer, c.Subject = claims["iss"], claims["sub"]
	if c.Issuer == "" || c.Subject == "" {
		return portal.Caller{}, errNoIdentity
	}
	return c, nil
}

// ParseGroups reads a list claim as the HTTP API passes it. A JSON array is
// flattened to "[a b]": its elements joined by single spaces in brackets,
// with no quoting, so the flattened form is split on spaces and on nothing
// else. A string claim arrives bare and is one group, whatever it holds.
//
// The flattened form cannot tell the array ["x portal-admins"] from
// ["x","portal-admins"]; CheckAdminGroup keeps the admin group's own name
// free of the characters that make such confusions, and an issuer's group
// names are the operator's to govern.
func ParseGroups(raw string) []string {
	if strings.HasPrefix(raw, "[") && strings.HasSuffix(raw, "]") {
		return strings.Fields(raw[1 : len(raw)-1])
	}
	if raw == "" {
		return nil
	}
	return []string{raw}
}

// CheckAdminGroup refuses an admin group name that the HTTP API's flattened
// claims could not carry unambiguously: empty, or holding white space, a
// comma or a bracket.
func CheckAdminGroup(name string) error {
	if name == "" || strings.ContainsAny(name, ",[]") || strings.IndexFunc(name, unicode.IsSpace) >= 0 {
		return fmt.Errorf("the admin group %q must be a name without spaces, commas or brackets", name)
	}
	return nil
}

// RequestOf describes the request for the audit trail.
func RequestOf(req Request) portal.Request {
	return portal.NewRequest(req.RequestContext.HTTP.SourceIP, req.RequestContext.HTTP.UserAgent, req.RequestContext.RequestID)
}

// Body returns the request body, decoded, or 413 past MaxBodyBytes.
func Body(req Request) ([]byte, error) {
	raw := req.Body
	if len(raw) > 2*MaxBodyBytes {
		return nil, errTooLarge
	}
	var body []byte
	if req.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			return nil, errBadBody
		}
		body = b
	} else {
		body = []byte(raw)
	}
	if len(body) > MaxBodyBytes {
		return nil, errTooLarge
	}
	return body, nil
}

// DecodeJSON decodes the body into v strictly: one JSON object, no unknown
// fields, nothing after it.
func DecodeJSON(req Request, v any) error {
	body, err := Body(req)
	if err != nil {
		return err
	}
	return decodeStrict(body, v)
}

func decodeStrict(body []byte, v any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return errBadJSON
	}
	if err := checkStrict(trimmed, reflect.TypeOf(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr) && typeErr.Field != "":
			return &portal.Error{Err: errFieldType, Value: typeErr.Field}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return &portal.Error{Err: errUnknownField, Value: strings.TrimPrefix(err.Error(), "json: unknown field ")}
		case strings.Contains(err.Error(), "parsing time"):
			return errTimeField
		}
		return errBadJSON
	}
	if _, err := dec.Token(); err != io.EOF {
		return errBadJSON
	}
	return nil
}

// headers every JSON response carries.
func jsonHeaders() map[string]string {
	return map[string]string{
		"Content-Type":           "application/json",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	}
}

// JSON is a response with v as its body.
func JSON(status int, v any) Response {
	body, err := json.Marshal(v)
	if err != nil {
		return Error(context.Background(), err)
	}
	return Response{StatusCode: status, Headers: jsonHeaders(), Body: string(body)}
}

// NoContent is an empty 204.
func NoContent() Response {
	return Response{StatusCode: http.StatusNoContent, Headers: map[string]string{"Cache-Control": "no-store"}}
}

// List is the body of every list: {"items":[...], "nextCursor":"..."}.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// Page turns a domain page into a 200 list response.
func Page[T any](p portal.Page[T]) Response {
	if p.Items == nil {
		p.Items = []T{}
	}
	return JSON(http.StatusOK, List[T]{Items: p.Items, NextCursor: p.Next})
}
