package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Router picks the route of a request among API Gateway route keys
// ("GET /v1/applications/{applicationId}", "ANY /assets/{proxy+}") with
// net/http.ServeMux patterns: the most specific route wins, a literal
// segment before a {param}, a {param} before a greedy {proxy+}.
type Router struct {
	mux *http.ServeMux
}

// routeHandler marks the ServeMux's own routes (and not the redirects it
// makes up); it is never served.
type routeHandler string

func (routeHandler) ServeHTTP(http.ResponseWriter, *http.Request) {}

// NewRouter builds a router of the route keys. Two routes that match the
// same requests with neither more specific are an error.
func NewRouter(routeKeys []string) (*Router, error) {
	r := &Router{mux: http.NewServeMux()}
	for _, key := range routeKeys {
		if err := r.add(key); err != nil {
			return nil, fmt.Errorf("route %s: %w", key, err)
		}
	}
	return r, nil
}

func (r *Router) add(key string) (err error) {
	method, path, ok := strings.Cut(key, " ")
	if !ok || !strings.HasPrefix(path, "/") {
		return fmt.Errorf("not a route key")
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if name, greedy := strings.CutSuffix(s, "+}"); greedy && strings.HasPrefix(name, "{") {
			segs[i] = name + "...}"
		}
	}
	pattern := strings.Join(segs, "/")
	if strings.HasSuffix(pattern, "/") {
		pattern += "{$}" // API Gateway matches a path ending in / exactly
	}
	if method != "ANY" {
		pattern = method + " " + pattern
	}
	defer func() {
		// ServeMux panics on a pattern it refuses, or one that conflicts
		// with another.
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	r.mux.Handle(pattern, routeHandler(key))
	return nil
}

// Match returns the route key that serves method on rawPath (the path as
// sent, percent-encoded) and the path parameters it binds, percent-decoded
// as HTTP APIs deliver them ("a%40b.example" binds "a@b.example"). A path API Gateway would not route (one that ServeMux would clean
// or redirect first, or a greedy parameter with nothing to hold) matches
// nothing.
func (r *Router) Match(method, rawPath string) (routeKey string, params map[string]string, ok bool) {
	path, err := url.PathUnescape(rawPath)
	if err != nil || !strings.HasPrefix(rawPath, "/") {
		return "", nil, false
	}
	h, _ := r.mux.Handler(&http.Request{Method: method, URL: &url.URL{Path: path, RawPath: rawPath}})
	key, ok := h.(routeHandler)
	if !ok {
		return "", nil, false
	}
	routeMethod, routePath, _ := strings.Cut(string(key), " ")
	if routeMethod != method && routeMethod != "ANY" { // ServeMux lets HEAD use a GET route
		return "", nil, false
	}
	params = map[string]string{}
	got := strings.Split(rawPath, "/")
	for i, s := range strings.Split(routePath, "/") {
		name, isParam := strings.CutPrefix(s, "{")
		if !isParam {
			continue
		}
		if name, greedy := strings.CutSuffix(name, "+}"); greedy {
			v, err := url.PathUnescape(strings.Join(got[i:], "/"))
			if err != nil || v == "" {
				return "", nil, false
			}
			params[name] = v
			break
		}
		v, err := url.PathUnescape(got[i])
		if err != nil {
			return "", nil, false
		}
		params[strings.TrimSuffix(name, "}")] = v
	}
	return string(key), params, true
}
