// Package apispec checks the portal's HTTP answers against its OpenAPI
// document, docs/openapi.json, so that the document cannot drift from what
// the functions answer. The tests use it around every call they make.
//
// Only tests import this package: the functions never validate their own
// answers (a validator's error text can carry the values it saw), and none
// of them links it (apispec's own tests check).
package apispec

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"credportal/docs"
)

// Spec is the parsed document with a router over its paths.
type Spec struct {
	doc    *openapi3.T
	mux    *http.ServeMux
	routes []string
}

var (
	loadOnce sync.Once
	loaded   *Spec
	loadErr  error
)

// Load parses and validates docs/openapi.json once per process.
func Load() (*Spec, error) {
	loadOnce.Do(func() {
		// The web UI's documents are text the validator reads as strings.
		for _, media := range []string{"text/html", "text/css", "text/javascript", "image/svg+xml"} {
			openapi3filter.RegisterBodyDecoder(media, openapi3filter.PlainBodyDecoder)
		}
		loaded, loadErr = parse([]byte(docs.OpenAPI))
	})
	return loaded, loadErr
}

func parse(raw []byte) (*Spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("parse the OpenAPI document: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is not valid: %w", err)
	}
	s := &Spec{doc: doc, mux: http.NewServeMux()}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			key := method + " " + path
			s.routes = append(s.routes, key)
			names := pathParams(path)
			s.mux.HandleFunc(method+" "+servePattern(path), func(_ http.ResponseWriter, r *http.Request) {
				m := r.Context().Value(matchKey{}).(*match)
				m.key, m.params = key, map[string]string{}
				for _, n := range names {
					m.params[n] = r.PathValue(n)
				}
			})
		}
	}
	sort.Strings(s.routes)
	return s, nil
}

// Routes lists the documented operations as route keys ("GET /v1/me"), paths
// as the document writes them.
func (s *Spec) Routes() []string { return append([]string(nil), s.routes...) }

// Operation returns the documented operation of a route key.
func (s *Spec) Operation(routeKey string) (*openapi3.Operation, bool) {
	method, path, _ := strings.Cut(RouteKey(routeKey), " ")
	item := s.doc.Paths.Value(path)
	if item == nil {
		return nil, false
	}
	op := item.GetOperation(method)
	return op, op != nil
}

// RouteKey writes a template.yaml route key as the document does: a greedy
// path parameter {proxy+} is {proxy}.
func RouteKey(key string) string { return strings.ReplaceAll(key, "+}", "}") }

type (
	matchKey struct{}
	match    struct {
		key    string
		params map[string]string
	}
)

// Match finds the documented route a request for method and path (the URL's
// path, percent-encoded as sent) reaches: its route key and path parameters,
// as API Gateway would pass them.
func (s *Spec) Match(method, path string) (string, map[string]string, bool) {
	r, err := http.NewRequest(method, "http://portal.test"+path, nil)
	if err != nil {
		return "", nil, false
	}
	m := &match{}
	s.mux.ServeHTTP(httptest.NewRecorder(), r.WithContext(context.WithValue(r.Context(), matchKey{}, m)))
	return m.key, m.params, m.key != ""
}

// Response is one HTTP answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// FromLambda reads an HTTP API (payload format 2.0) answer as the client
// receives it: the body base64-decoded where the function encoded it.
func FromLambda(resp events.APIGatewayV2HTTPResponse) (Response, error) {
	out := Response{Status: resp.StatusCode, Header: http.Header{}, Body: []byte(resp.Body)}
	for k, v := range resp.Headers {
		out.Header.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			out.Header.Add(k, v)
		}
	}
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return Response{}, fmt.Errorf("body is not base64: %w", err)
		}
		out.Body = b
	}
	return out, nil
}

// ErrNoRoute is Check's error for a route key the document does not have.
var ErrNoRoute = errors.New("no such route in docs/openapi.json")

// Check validates resp as the answer of the route key (template.yaml's form
// or the document's) with the given path parameters: its status must be one
// the operation documents, and its documented headers and body must match.
// A gzip-encoded body is checked decoded.
func (s *Spec) Check(routeKey string, params map[string]string, resp Response) error {
	routeKey = RouteKey(routeKey)
	method, path, _ := strings.Cut(routeKey, " ")
	item := s.doc.Paths.Value(path)
	var op *openapi3.Operation
	if item != nil {
		op = item.GetOperation(method)
	}
	if op == nil {
		return fmt.Errorf("%s: %w", routeKey, ErrNoRoute)
	}
	body := resp.Body
	if strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") && len(body) > 0 {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("%s %d: gzip body: %w", routeKey, resp.Status, err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			return fmt.Errorf("%s %d: gzip body: %w", routeKey, resp.Status, err)
		}
	}
	req, err := http.NewRequest(method, "http://portal.test/", nil)
	if err != nil {
		return err
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params,
			Route: &routers.Route{Spec: s.doc, Path: path, PathItem: item, Method: method, Operation: op},
		},
		Status: resp.Status, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s answered %d, which docs/openapi.json does not describe: %w", routeKey, resp.Status, err)
	}
	return nil
}

// pathParams lists the {names} of a documented path.
func pathParams(path string) []string {
	var out []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			out = append(out, seg[1:len(seg)-1])
		}
	}
	return out
}

// servePattern turns a documented path into a ServeMux pattern: the root
// matches only itself, and the web UI's {proxy} takes the rest of the path.
func servePattern(path string) string {
	switch {
	case path == "/":
		return "/{$}"
	case strings.HasSuffix(path, "/{proxy}"):
		return strings.TrimSuffix(path, "{proxy}") + "{proxy...}"
	}
	return path
}

// CheckLambda checks a function's answer to an HTTP API event: the event's
// route key names the operation ("$default" or none: its method and path
// do), its path parameters are the ones API Gateway passed.
func CheckLambda(req events.APIGatewayV2HTTPRequest, resp events.APIGatewayV2HTTPResponse) error {
	s, err := Load()
	if err != nil {
		return err
	}
	key, params := req.RouteKey, req.PathParameters
	if _, ok := s.Operation(key); !ok {
		path := req.RawPath
		if path == "" {
			path = req.RequestContext.HTTP.Path
		}
		if key, params, ok = s.Match(req.RequestContext.HTTP.Method, path); !ok {
			return fmt.Errorf("%s %s: %w", req.RequestContext.HTTP.Method, path, ErrNoRoute)
		}
	}
	r, err := FromLambda(resp)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return s.Check(key, params, r)
}

// CheckInvoke is CheckLambda for an event and an answer as the runtime
// interface emulator passes them: JSON.
func CheckInvoke(event, answer []byte) error {
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(event, &req); err != nil {
		return fmt.Errorf("event is not an HTTP API request: %w", err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(answer, &resp); err != nil {
		return fmt.Errorf("answer is not an HTTP API response: %w", err)
	}
	return CheckLambda(req, resp)
}

// CheckHTTP checks an answer received over HTTP to method and path (the
// URL's path as sent). A path no documented route matches is ErrNoRoute.
func CheckHTTP(method, path string, resp Response) error {
	s, err := Load()
	if err != nil {
		return err
	}
	key, params, ok := s.Match(method, path)
	if !ok {
		return fmt.Errorf("%s %s: %w", method, path, ErrNoRoute)
	}
	return s.Check(key, params, resp)
}
