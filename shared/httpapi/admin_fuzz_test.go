package httpapi

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzAdminRoute checks the admin router on any method and path: it never
// panics, and a match's path parameters, decoded, rebuild the decoded path
// they came from.
func FuzzAdminRoute(f *testing.F) {
	for _, seed := range []struct{ method, path string }{
		{"GET", "/v1/admin/apis"},
		{"POST", "/v1/admin/organisations"},
		{"POST", "/v1/admin/organisations/org_01kmz3w5e8v9q0r2s4t6v8x0yz/applications"},
		{"PATCH", "/v1/admin/applications/app_01kmz3w9k2m4n6p8q0r2s4t6va"},
		{"PUT", "/v1/admin/applications/app_01kmz3w9k2m4n6p8q0r2s4t6va/designations/a@b.example"},
		{"DELETE", "/v1/admin/applications/a/designations/a%40b.example"},
		{"DELETE", "/v1/admin/applications//designations/"},
		{"PUT", "//v1/admin/applications/x/designations/y/"},
		{"GET", ""},
	} {
		f.Add(seed.method, seed.path)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		var req Request
		req.RequestContext.HTTP.Method, req.RawPath = method, path
		route, params, ok := matchAdminRoute(req)
		if !ok {
			return
		}
		if route.method != method {
			t.Fatalf("%s %q matched %s %s", method, path, route.method, route.path)
		}
		rebuilt := route.path
		for k, v := range params {
			if v == "" {
				t.Fatalf("parameter %s=%q of %q", k, v, path)
			}
			rebuilt = strings.Replace(rebuilt, "{"+k+"}", v, 1)
		}
		decoded, err := url.PathUnescape(path)
		if err != nil {
			t.Fatalf("%q matched but does not decode: %v", path, err)
		}
		if strings.Trim(rebuilt, "/") != strings.Trim(decoded, "/") {
			t.Fatalf("%q rebuilt as %q", path, rebuilt)
		}
	})
}

func TestAdminRouterBuilds(t *testing.T) {
	if _, err := adminRouter(); err != nil {
		t.Fatal(err)
	}
}
