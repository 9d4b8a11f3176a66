package httpapi

import (
	"context"
	"net/http"
	"sync"

	"credportal/shared/portal"
)

// AdminAPI serves every admin route from one Lambda function. The routes are
// few, share their dependencies and permissions, and are called rarely, by
// a handful of people: one function keeps cold starts and IAM policies to
// one, and API Gateway still authorises each route by itself.
type AdminAPI struct {
	Admin    *portal.Admin
	Identity Identity
}

// adminRoute is one admin route: its API Gateway route key and what serves
// it. The function runs only behind these route keys (template.yaml).
type adminRoute struct {
	method, path string
	serve        func(AdminAPI, context.Context, Request, portal.Caller) (Response, error)
}

var adminRoutes = []adminRoute{
	{http.MethodGet, "/v1/admin/apis", AdminAPI.apis},
	{http.MethodGet, "/v1/admin/organisations", AdminAPI.listOrganisations},
	{http.MethodPost, "/v1/admin/organisations", AdminAPI.createOrganisation},
	{http.MethodPost, "/v1/admin/organisations/{organisationId}/applications", AdminAPI.createApplication},
	{http.MethodPatch, "/v1/admin/applications/{applicationId}", AdminAPI.updateApplication},
	{http.MethodPut, "/v1/admin/applications/{applicationId}/designations/{email}", AdminAPI.setDesignation},
	{http.MethodDelete, "/v1/admin/applications/{applicationId}/designations/{email}", AdminAPI.removeDesignation},
}

// AdminRouteKeys lists the route keys the admin handler serves, as
// template.yaml declares them.
func AdminRouteKeys() []string {
	keys := make([]string, 0, len(adminRoutes))
	for _, r := range adminRoutes {
		keys = append(keys, r.method+" "+r.path)
	}
	return keys
}

// Handler routes a request on its route key. An event without a known route
// key (a "$default" route, a hand-made test event) is matched on its method
// and path instead, and its path parameters are taken from the path.
func (a AdminAPI) Handler() Handler {
	return func(ctx context.Context, req Request) (Response, error) {
		c, err := a.Identity.Caller(req)
		if err != nil {
			return Error(ctx, err), nil
		}
		if err := a.Admin.Authorise(c); err != nil {
			return Error(ctx, err), nil
		}
		route, params, ok := matchAdminRoute(req)
		if !ok {
			return Error(ctx, errNoRoute), nil
		}
		if params != nil {
			req.PathParameters = params
		}
		resp, err := route.serve(a, ctx, req, c)
		if err != nil {
			return Error(ctx, err), nil
		}
		return resp, nil
	}
}

// adminRouteByKey finds an admin route by its route key.
func adminRouteByKey(key string) (adminRoute, bool) {
	for _, r := range adminRoutes {
		if key == r.method+" "+r.path {
			return r, true
		}
	}
	return adminRoute{}, false
}

// adminMux routes the admin requests that come without a route key. It is
// built on first use (nothing at start-up, so that the functions that serve
// no admin route do not link it); with the fixed routes above it cannot
// fail, as a test checks.
var adminMux struct {
	once   sync.Once
	router *Router
	err    error
}

func adminRouter() (*Router, error) {
	adminMux.once.Do(func() { adminMux.router, adminMux.err = NewRouter(AdminRouteKeys()) })
	return adminMux.router, adminMux.err
}

// matchAdminRoute finds the route of req; params is non-nil when they had to
// be read from the path.
func matchAdminRoute(req Request) (adminRoute, map[string]string, bool) {
	if r, ok := adminRouteByKey(req.RouteKey); ok {
		return r, nil, true
	}
	path := req.RawPath
	if path == "" {
		path = req.RequestContext.HTTP.Path
	}
	router, err := adminRouter()
	if err != nil {
		return adminRoute{}, nil, false
	}
	key, params, ok := router.Match(req.RequestContext.HTTP.Method, path)
	if !ok {
		return adminRoute{}, nil, false
	}
	r, _ := adminRouteByKey(key)
	return r, params, true
}

func (a AdminAPI) apis(_ context.Context, _ Request, c portal.Caller) (Response, error) {
	apis, err := a.Admin.APIs(c)
	if err != nil {
		return Response{}, err
	}
	return Page(portal.Page[portal.API]{Items: apis}), nil
}

func (a AdminAPI) listOrganisations(ctx context.Context, req Request, c portal.Caller) (Response, error) {
	p, err := a.Admin.ListOrganisations(ctx, c, req.QueryStringParameters["cursor"])
	if err != nil {
		return Response{}, err
	}
	return Page(p), nil
}

func (a AdminAPI) createOrganisation(ctx context.Context, req Request, c portal.Caller) (Response, error) {
	var in portal.OrganisationInput
	if err := DecodeJSON(req, &in); err != nil {
		return Response{}, err
	}
	o, err := a.Admin.CreateOrganisation(ctx, c, in, RequestOf(req))
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusCreated, o), nil
}

func (a AdminAPI) createApplication(ctx context.Context, req Request, c portal.Caller) (Response, error) {
	var in portal.ApplicationInput
	if err := DecodeJSON(req, &in); err != nil {
		return Response{}, err
	}
	app, err := a.Admin.CreateApplication(ctx, c, req.PathParameters["organisationId"], in, RequestOf(req))
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusCreated, app), nil
}

func (a AdminAPI) updateApplication(ctx context.Context, req Request, c portal.Caller) (Response, error) {
	var in portal.ApplicationPatch
	if err := DecodeJSON(req, &in); err != nil {
		return Response{}, err
	}
	app, err := a.Admin.UpdateApplication(ctx, c, req.PathParameters["applicationId"], in, RequestOf(req))
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, app), nil
}

// DesignationInput is the body of PUT .../designations/{email}.
type DesignationInput struct {
	Role portal.Role `json:"role"`
}

func (a AdminAPI) setDesignation(ctx context.Context, req Request, c portal.Caller) (Response, error) {
	var in DesignationInput
	if err := DecodeJSON(req, &in); err != nil {
		return Response{}, err
	}
	app, err := a.Admin.SetDesignation(ctx, c, req.PathParameters["applicationId"], req.PathParameters["email"], in.Role, RequestOf(req))
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, app), nil
}

// removeDesignation answers 200 with the application as it now is, so the
// caller sees at once whether it is left with too few credential managers.
func (a AdminAPI) removeDesignation(ctx context.Context, req Request, c portal.Caller) (Response, error) {
	app, err := a.Admin.RemoveDesignation(ctx, c, req.PathParameters["applicationId"], req.PathParameters["email"], RequestOf(req))
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, app), nil
}
