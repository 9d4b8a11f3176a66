package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"credportal/shared/httpapi"
	"credportal/shared/portal"
)

// Request and Response are the HTTP API's payload format 2.0.
type (
	Request  = events.APIGatewayV2HTTPRequest
	Response = events.APIGatewayV2HTTPResponse
)

// Handler is a Lambda handler of HTTP API routes.
type Handler func(context.Context, Request) (Response, error)

// TokenHandler serves POST /oauth2/token.
func (s *Server) TokenHandler() Handler {
	return func(ctx context.Context, req Request) (Response, error) {
		tok, err := s.token(ctx, req)
		if err != nil {
			return s.errorResponse(ctx, err), nil
		}
		body, err := json.Marshal(tok)
		if err != nil {
			return s.errorResponse(ctx, err), nil
		}
		return Response{StatusCode: http.StatusOK, Headers: tokenHeaders(), Body: string(body)}, nil
	}
}

func (s *Server) token(ctx context.Context, req Request) (Token, error) {
	body := []byte(req.Body)
	if len(req.Body) > 2*MaxBodyBytes {
		return Token{}, invalidRequest("The request body is larger than %d bytes.", MaxBodyBytes)
	}
	if req.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return Token{}, invalidRequest("The request body could not be read.")
		}
		body = b
	}
	tr, err := ParseTokenRequest(httpapi.Header(req, "authorization"), httpapi.Header(req, "content-type"), body)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			slog.InfoContext(ctx, "token refused", "reason", e.Code)
		}
		return Token{}, err
	}
	return s.Issue(ctx, tr, portal.NewRequest(s.sourceIP(ctx, req), req.RequestContext.HTTP.UserAgent, req.RequestContext.RequestID))
}

// sourceIP is the client's address: the one API Gateway saw, or, when the
// configuration says the API accepts traffic from CloudFront alone, the
// viewer's address CloudFront passes on ("198.51.100.10:46532",
// "2001:db8::1:46532"). A missing or unreadable header falls back to API
// Gateway's address (then CloudFront's edge).
func (s *Server) sourceIP(ctx context.Context, req Request) string {
	if s.cfg.ViewerAddress {
		v := httpapi.Header(req, "cloudfront-viewer-address")
		if ap, err := netip.ParseAddrPort(v); err == nil {
			return ap.Addr().Unmap().String()
		}
		if i := strings.LastIndexByte(v, ':'); i > 0 {
			if addr, err := netip.ParseAddr(v[:i]); err == nil {
				return addr.Unmap().String()
			}
		}
		slog.WarnContext(ctx, "CloudFront-Viewer-Address missing or unreadable", "value", v)
	}
	return req.RequestContext.HTTP.SourceIP
}

// tokenHeaders are on every token endpoint response (RFC 6749 §5.1).
func tokenHeaders() map[string]string {
	return map[string]string{
		"Content-Type":           "application/json;charset=UTF-8",
		"Cache-Control":          "no-store",
		"Pragma":                 "no-cache",
		"X-Content-Type-Options": "nosniff",
	}
}

type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// errorResponse is the RFC 6749 §5.2 response for err. invalid_client carries
// WWW-Authenticate when it is a 401; a throttled failure carries Retry-After. Anything that is not an
// *Error is the portal's own failure: logged here, once, and shown as
// server_error.
func (s *Server) errorResponse(ctx context.Context, err error) Response {
	var e *Error
	if !errors.As(err, &e) {
		slog.ErrorContext(ctx, "token request failed", "error", err.Error())
		e = errServer
	}
	h := tokenHeaders()
	if e.Code == CodeInvalidClient && e.Status == http.StatusUnauthorized {
		h["WWW-Authenticate"] = `Basic realm="` + s.cfg.Realm + `", charset="UTF-8"`
	}
	if e.RetryAfter > 0 {
		h["Retry-After"] = strconv.Itoa(int((e.RetryAfter + time.Second - 1) / time.Second))
	}
	body, _ := json.Marshal(errorBody{Error: e.Code, Description: e.Description})
	return Response{StatusCode: e.Status, Headers: h, Body: string(body)}
}
