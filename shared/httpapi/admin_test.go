package httpapi_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"credportal/infra/apispec"
	"credportal/infra/emulator/emulatortest"
	"credportal/infra/template"
	"credportal/shared/audit"
	"credportal/shared/directory"
	"credportal/shared/httpapi"
	"credportal/shared/portal"
	"credportal/shared/store"
)

// People of the admin tests, on one application of one organisation.
const (
	admAdmin    = "it@registry.example"
	admManager  = "manager@initech.example"
	admViewer   = "viewer@initech.example"
	admStranger = "stranger@initech.example"
)

type adminFixture struct {
	handler httpapi.Handler
	api     httpapi.API
	admin   *portal.Admin
	store   *store.Store
	org     portal.Organisation
	app     portal.AdminApplication
}

var admUnique atomic.Int64

// admName is a fresh name for a record the test creates.
func admName(prefix string) string { return fmt.Sprintf("%s %d", prefix, admUnique.Add(1)) }

// ticking is a clock that moves a second per reading, so the audit events a
// test makes sort in the order it made them.
func ticking(start time.Time) func() time.Time {
	var n atomic.Int64
	return func() time.Time { return start.Add(time.Duration(n.Add(1)) * time.Second) }
}

func newAdminFixture(t *testing.T) *adminFixture {
	t.Helper()
	ctx := context.Background()
	emu := emulatortest.ForTest(t)
	st := store.New(dynamodb.NewFromConfig(emu.Config()), emulatortest.NewTable(t, emu))
	adm := portal.NewAdmin(st, portal.DefaultConfig(), ticking(time.Now().UTC()), rand.Reader, directory.None{})
	id := httpapi.Identity{AdminGroup: adminGroup, GroupsClaim: "cognito:groups"}
	f := &adminFixture{
		handler: httpapi.AdminAPI{Admin: adm, Identity: id}.Handler(),
		api:     httpapi.API{Service: portal.NewService(st, nil, portal.DefaultConfig(), time.Now, rand.Reader), Identity: id},
		admin:   adm, store: st,
	}
	root := portal.Caller{Email: admAdmin, Admin: true}
	var err error
	if f.org, err = adm.CreateOrganisation(ctx, root, portal.OrganisationInput{Name: "Initech", Country: "US"}, portal.Request{}); err != nil {
		t.Fatal(err)
	}
	if f.app, err = adm.CreateApplication(ctx, root, f.org.ID, portal.ApplicationInput{Name: "Initech Search", APIs: []string{"search-match"}}, portal.Request{}); err != nil {
		t.Fatal(err)
	}
	for email, role := range map[string]portal.Role{admManager: portal.RoleCredentialManager, admViewer: portal.RoleViewer} {
		if _, err := adm.SetDesignation(ctx, root, f.app.ID, email, role, portal.Request{}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// admRequest builds an admin route's event as API Gateway passes it after the
// JWT authorizer; email "" means no identity.
func admRequest(email, routeKey string, params map[string]string, body string) httpapi.Request {
	method, route, _ := strings.Cut(routeKey, " ")
	path := route
	for k, v := range params {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	r := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: routeKey, RawPath: path, PathParameters: params, Body: body}
	r.RequestContext.RouteKey = routeKey
	r.RequestContext.RequestID = "req-admin-test"
	r.RequestContext.HTTP = events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, SourceIP: "198.51.100.4", UserAgent: "admin-test/1.0"}
	if email != "" {
		claims := claimsOf(email)
		if email == admAdmin {
			claims["cognito:groups"] = "[" + adminGroup + "]"
		}
		r.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	return r
}

// admCall is call for the admin tests, which read the status and the body.
// The event's route key names the route, as API Gateway sets it.
func admCall(t *testing.T, h httpapi.Handler, r httpapi.Request) (int, map[string]any) {
	t.Helper()
	status, body, _ := call(t, route{r.RouteKey, h}, r)
	return status, body
}

const (
	routeAPIs        = "GET /v1/admin/apis"
	routeListOrgs    = "GET /v1/admin/organisations"
	routeCreateOrg   = "POST /v1/admin/organisations"
	routeCreateApp   = "POST /v1/admin/organisations/{organisationId}/applications"
	routeUpdateApp   = "PATCH /v1/admin/applications/{applicationId}"
	routeSetDesig    = "PUT /v1/admin/applications/{applicationId}/designations/{email}"
	routeRemoveDesig = "DELETE /v1/admin/applications/{applicationId}/designations/{email}"
)

func TestAdminRoutesMatchTemplate(t *testing.T) {
	tmpl, _, err := template.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	for _, fn := range tmpl.Functions() {
		if fn.LogicalID != "AdminFunction" {
			for _, r := range fn.Routes {
				if strings.HasPrefix(r.Path, "/v1/admin") {
					t.Errorf("%s serves the admin route %s %s", fn.LogicalID, r.Method, r.Path)
				}
			}
			continue
		}
		for _, r := range fn.Routes {
			if !r.Authorized {
				t.Errorf("admin route %s %s has no authorizer", r.Method, r.Path)
			}
			declared = append(declared, r.Method+" "+r.Path)
		}
	}
	served := httpapi.AdminRouteKeys()
	slices.Sort(declared)
	slices.Sort(served)
	if !slices.Equal(declared, served) {
		t.Fatalf("template.yaml routes %q, handler serves %q", declared, served)
	}
}

func TestAdminRoleMatrix(t *testing.T) {
	f := newAdminFixture(t)
	ctx := context.Background()
	root := portal.Caller{Email: admAdmin, Admin: true}
	// Each route with a request that succeeds for an admin; before runs
	// first, so the request has what it needs.
	routes := []struct {
		key    string
		params map[string]string
		body   func() string
		before func(t *testing.T)
		admin  int
	}{
		{key: routeAPIs, admin: http.StatusOK},
		{key: routeListOrgs, admin: http.StatusOK},
		{key: routeCreateOrg, body: func() string { return `{"name":"` + admName("Org") + `","country":"DE"}` }, admin: http.StatusCreated},
		{key: routeCreateApp, params: map[string]string{"organisationId": f.org.ID},
			body: func() string { return `{"name":"` + admName("App") + `","apis":["match-connect"]}` }, admin: http.StatusCreated},
		{key: routeUpdateApp, params: map[string]string{"applicationId": f.app.ID},
			body: func() string { return `{"name":"` + admName("Renamed") + `"}` }, admin: http.StatusOK},
		{key: routeSetDesig, params: map[string]string{"applicationId": f.app.ID, "email": "newcomer@initech.example"},
			body: func() string { return `{"role":"viewer"}` }, admin: http.StatusOK},
		{key: routeRemoveDesig, params: map[string]string{"applicationId": f.app.ID, "email": "leaver@initech.example"},
			before: func(t *testing.T) {
				if _, err := f.admin.SetDesignation(ctx, root, f.app.ID, "leaver@initech.example", portal.RoleViewer, portal.Request{}); err != nil {
					t.Fatal(err)
				}
			}, admin: http.StatusOK},
	}
	unchanged := func(t *testing.T) {
		t.Helper()
		got, err := f.admin.UpdateApplication(ctx, root, f.app.ID, portal.ApplicationPatch{}, portal.Request{})
		if err != nil {
			t.Fatal(err)
		}
		var ds []string
		for _, d := range got.Designations {
			ds = append(ds, d.Email+"="+string(d.Role))
		}
		slices.Sort(ds)
		want := []string{"leaver@initech.example=viewer", admManager + "=credential_manager", admViewer + "=viewer"}
		if got.Name != f.app.Name || !slices.Equal(ds, want) {
			t.Fatalf("non-admins changed the application: %q %q", got.Name, ds)
		}
		orgs, err := f.admin.ListOrganisations(ctx, root, "")
		if err != nil || len(orgs.Items) != 1 {
			t.Fatalf("non-admins changed the organisations: %+v, %v", orgs.Items, err)
		}
	}
	for _, who := range []string{admManager, admViewer, admStranger, "", admAdmin} {
		if who == admAdmin {
			unchanged(t)
		}
		for _, r := range routes {
			name := who
			if name == "" {
				name = "anonymous"
			}
			t.Run(name+" "+r.key, func(t *testing.T) {
				if r.before != nil {
					r.before(t)
				}
				body := ""
				if r.body != nil {
					body = r.body()
				}
				status, resp := admCall(t, f.handler, admRequest(who, r.key, r.params, body))
				want, code := r.admin, ""
				switch who {
				case admAdmin:
				case "":
					want, code = http.StatusUnauthorized, "unauthenticated"
				default:
					want, code = http.StatusForbidden, "forbidden"
				}
				if status != want || errCode(resp) != code {
					t.Fatalf("status %d %v, want %d %q", status, resp, want, code)
				}
			})
		}
	}
}

func TestAdminValidation(t *testing.T) {
	f := newAdminFixture(t)
	orgParams := map[string]string{"organisationId": f.org.ID}
	appParams := map[string]string{"applicationId": f.app.ID}
	desig := func(email string) map[string]string {
		return map[string]string{"applicationId": f.app.ID, "email": email}
	}
	long := strings.Repeat("x", portal.MaxNameLen+1)
	huge := `{"name":"` + strings.Repeat("x", httpapi.MaxBodyBytes) + `","country":"GB"}`
	cases := []struct {
		name   string
		route  string
		params map[string]string
		body   string
		status int
		code   string
	}{
		// Organisations.
		{"org ok", routeCreateOrg, nil, `{"name":"Hooli","country":"US"}`, 201, ""},
		{"org country lower-case", routeCreateOrg, nil, `{"name":"Pied Piper","country":"us"}`, 201, ""},
		{"org name 100 chars", routeCreateOrg, nil, `{"name":"` + long[1:] + `","country":"GB"}`, 201, ""},
		{"org duplicate name", routeCreateOrg, nil, `{"name":"HOOLI","country":"US"}`, 409, "duplicate_name"},
		{"org name empty", routeCreateOrg, nil, `{"name":"","country":"GB"}`, 400, "invalid_name"},
		{"org name missing", routeCreateOrg, nil, `{"country":"GB"}`, 400, "invalid_name"},
		{"org name 101 chars", routeCreateOrg, nil, `{"name":"` + long + `","country":"GB"}`, 400, "invalid_name"},
		{"org name leading space", routeCreateOrg, nil, `{"name":" Acme","country":"GB"}`, 400, "invalid_name"},
		{"org name control char", routeCreateOrg, nil, `{"name":"Ac\u0007me","country":"GB"}`, 400, "invalid_name"},
		{"org name newline", routeCreateOrg, nil, `{"name":"Ac\nme","country":"GB"}`, 400, "invalid_name"},
		{"org name not a string", routeCreateOrg, nil, `{"name":7,"country":"GB"}`, 400, "invalid_field"},
		{"country missing", routeCreateOrg, nil, `{"name":"Nocountry"}`, 400, "invalid_country"},
		{"country UK (reserved)", routeCreateOrg, nil, `{"name":"Brit","country":"UK"}`, 400, "invalid_country"},
		{"country unassigned", routeCreateOrg, nil, `{"name":"Nowhere","country":"XX"}`, 400, "invalid_country"},
		{"country alpha-3", routeCreateOrg, nil, `{"name":"Brit","country":"GBR"}`, 400, "invalid_country"},
		{"country name", routeCreateOrg, nil, `{"name":"Brit","country":"Germany"}`, 400, "invalid_country"},
		{"org unknown field", routeCreateOrg, nil, `{"name":"Extra","country":"GB","vat":"1"}`, 400, "unknown_field"},
		{"org body not JSON", routeCreateOrg, nil, `name=Acme`, 400, "invalid_json"},
		{"org body empty", routeCreateOrg, nil, ``, 400, "invalid_json"},
		{"org body two objects", routeCreateOrg, nil, `{"name":"A","country":"GB"}{}`, 400, "invalid_json"},
		{"org body over 16 KiB", routeCreateOrg, nil, huge, 413, "body_too_large"},
		// Applications.
		{"app ok", routeCreateApp, orgParams, `{"name":"Hooli Search","apis":["search-match","data-manager-sandbox"]}`, 201, ""},
		{"app duplicate name", routeCreateApp, orgParams, `{"name":"hooli search","apis":["search-match"]}`, 409, "duplicate_name"},
		{"app name empty", routeCreateApp, orgParams, `{"name":"","apis":["search-match"]}`, 400, "invalid_name"},
		{"app name 101 chars", routeCreateApp, orgParams, `{"name":"` + long + `","apis":["search-match"]}`, 400, "invalid_name"},
		{"app apis missing", routeCreateApp, orgParams, `{"name":"No APIs"}`, 400, "invalid_apis"},
		{"app apis empty", routeCreateApp, orgParams, `{"name":"No APIs","apis":[]}`, 400, "invalid_apis"},
		{"app api unknown", routeCreateApp, orgParams, `{"name":"Bad API","apis":["search-match","billing"]}`, 400, "unknown_api"},
		{"app api case", routeCreateApp, orgParams, `{"name":"Bad API","apis":["Search-Match"]}`, 400, "unknown_api"},
		{"app api duplicate", routeCreateApp, orgParams, `{"name":"Twice","apis":["search-match","search-match"]}`, 400, "duplicate_api"},
		{"app apis not a list", routeCreateApp, orgParams, `{"name":"Str","apis":"search-match"}`, 400, "invalid_field"},
		{"app client id given", routeCreateApp, orgParams, `{"name":"Mine","apis":["search-match"],"clientId":"chosen"}`, 400, "unknown_field"},
		{"app unknown organisation", routeCreateApp, map[string]string{"organisationId": "org_01kmz3w5e8v9q0r2s4t6v8x0yz"}, `{"name":"X","apis":["search-match"]}`, 404, "organisation_not_found"},
		{"app malformed organisation", routeCreateApp, map[string]string{"organisationId": "acme"}, `{"name":"X","apis":["search-match"]}`, 404, "organisation_not_found"},
		{"app body over 16 KiB", routeCreateApp, orgParams, huge, 413, "body_too_large"},
		// Application changes.
		{"patch apis", routeUpdateApp, appParams, `{"apis":["search-match","match-connect"]}`, 200, ""},
		{"patch nothing", routeUpdateApp, appParams, `{}`, 200, ""},
		{"patch to a taken name", routeUpdateApp, appParams, `{"name":"Hooli Search"}`, 409, "duplicate_name"},
		{"patch name empty", routeUpdateApp, appParams, `{"name":""}`, 400, "invalid_name"},
		{"patch apis empty", routeUpdateApp, appParams, `{"apis":[]}`, 400, "invalid_apis"},
		{"patch apis unknown", routeUpdateApp, appParams, `{"apis":["nope"]}`, 400, "unknown_api"},
		{"patch client id", routeUpdateApp, appParams, `{"clientId":"other"}`, 400, "unknown_field"},
		{"patch unknown application", routeUpdateApp, map[string]string{"applicationId": "app_01kmz3w9k2m4n6p8q0r2s4t6va"}, `{"name":"X"}`, 404, "application_not_found"},
		{"patch malformed application", routeUpdateApp, map[string]string{"applicationId": "../x"}, `{"name":"X"}`, 404, "application_not_found"},
		// Designations.
		{"designate manager", routeSetDesig, desig("Peter@Initech.example"), `{"role":"credential_manager"}`, 200, ""},
		// HTTP APIs decode path parameters: one still encoded is the text it
		// spells, with no "@".
		{"designate encoded email", routeSetDesig, desig("milton%40initech.example"), `{"role":"viewer"}`, 400, "invalid_email"},
		{"designate plus address", routeSetDesig, desig("bill+it@initech.example"), `{"role":"viewer"}`, 200, ""},
		{"role admin", routeSetDesig, desig("x@initech.example"), `{"role":"admin"}`, 400, "invalid_role"},
		{"role empty", routeSetDesig, desig("x@initech.example"), `{"role":""}`, 400, "invalid_role"},
		{"role missing", routeSetDesig, desig("x@initech.example"), `{}`, 400, "invalid_role"},
		{"role upper-case", routeSetDesig, desig("x@initech.example"), `{"role":"VIEWER"}`, 400, "invalid_role"},
		{"role unknown field", routeSetDesig, desig("x@initech.example"), `{"role":"viewer","notify":true}`, 400, "unknown_field"},
		{"email without at", routeSetDesig, desig("x.initech.example"), `{"role":"viewer"}`, 400, "invalid_email"},
		{"email display name", routeSetDesig, desig("X <x@initech.example>"), `{"role":"viewer"}`, 400, "invalid_email"},
		{"email list", routeSetDesig, desig("x@initech.example,y@initech.example"), `{"role":"viewer"}`, 400, "invalid_email"},
		{"email local part not ASCII", routeSetDesig, desig("zoë@initech.example"), `{"role":"viewer"}`, 400, "invalid_email"},
		{"email look-alike", routeSetDesig, desig("\u0430lice@initech.example"), `{"role":"viewer"}`, 400, "invalid_email"},
		{"email domain mixing scripts", routeSetDesig, desig("alice@in\u0456tech.example"), `{"role":"viewer"}`, 400, "invalid_email"},
		{"email too long", routeSetDesig, desig(strings.Repeat("x", 64) + "@" + strings.Repeat("i", 186) + ".com"), `{"role":"viewer"}`, 400, "invalid_email"},
		{"email bad escape", routeSetDesig, desig("x%zz"), `{"role":"viewer"}`, 400, "invalid_email"},
		{"designate on unknown application", routeSetDesig, map[string]string{"applicationId": "app_01kmz3w9k2m4n6p8q0r2s4t6va", "email": "x@initech.example"}, `{"role":"viewer"}`, 404, "application_not_found"},
		{"remove encoded email", routeRemoveDesig, desig("milton%40initech.example"), ``, 400, "invalid_email"},
		{"remove not designated", routeRemoveDesig, desig("milton@initech.example"), ``, 404, "designation_not_found"},
		{"remove invalid email", routeRemoveDesig, desig("milton"), ``, 400, "invalid_email"},
		{"remove on unknown application", routeRemoveDesig, map[string]string{"applicationId": "app_01kmz3w9k2m4n6p8q0r2s4t6va", "email": "x@initech.example"}, ``, 404, "application_not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := admCall(t, f.handler, admRequest(admAdmin, c.route, c.params, c.body))
			if status != c.status || errCode(body) != c.code {
				t.Fatalf("status %d %v, want %d %q", status, body, c.status, c.code)
			}
			if c.code != "" {
				msg, _ := body["error"].(map[string]any)["message"].(string)
				if !strings.HasSuffix(msg, ".") || strings.Contains(msg, "dynamodb") {
					t.Fatalf("message %q is not a clear sentence", msg)
				}
			}
		})
	}
	t.Run("designations as stored", func(t *testing.T) {
		status, body := admCall(t, f.handler, admRequest(admAdmin, routeUpdateApp, appParams, `{}`))
		if status != 200 {
			t.Fatal(status, body)
		}
		var got []string
		for _, d := range body["designations"].([]any) {
			m := d.(map[string]any)
			got = append(got, m["email"].(string)+"="+m["role"].(string))
		}
		slices.Sort(got)
		want := []string{"bill+it@initech.example=viewer", admManager + "=credential_manager", "peter@initech.example=credential_manager", admViewer + "=viewer"}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("designations %q, want %q", got, want)
		}
	})
	t.Run("bad cursor", func(t *testing.T) {
		r := admRequest(admAdmin, routeListOrgs, nil, "")
		r.QueryStringParameters = map[string]string{"cursor": "not-ours"}
		if status, body := admCall(t, f.handler, r); status != 400 || errCode(body) != "invalid_cursor" {
			t.Fatalf("status %d %v", status, body)
		}
	})
}

func TestAdminResponses(t *testing.T) {
	f := newAdminFixture(t)
	t.Run("apis", func(t *testing.T) {
		status, body := admCall(t, f.handler, admRequest(admAdmin, routeAPIs, nil, ""))
		items, _ := body["items"].([]any)
		if status != 200 || len(items) != len(portal.DefaultCatalogue()) || items[0].(map[string]any)["id"] != "search-match" {
			t.Fatalf("status %d %v", status, body)
		}
	})
	t.Run("create application", func(t *testing.T) {
		status, body := admCall(t, f.handler, admRequest(admAdmin, routeCreateApp, map[string]string{"organisationId": f.org.ID}, `{"name":"Initech Data","apis":["data-manager"]}`))
		warnings, _ := body["warnings"].([]any)
		clientID, _ := body["clientId"].(string)
		org, _ := body["organisation"].(map[string]any)
		want := []any{map[string]any{"code": "fewer_than_two_credential_managers",
			"message": "The application has 0 credential managers; designate at least two, so that someone can always rotate its secrets."}}
		if status != 201 || !portal.ValidClientID(clientID) || org["id"] != f.org.ID || !reflect.DeepEqual(warnings, want) || body["role"] != "admin" {
			t.Fatalf("status %d %v", status, body)
		}
		if ds, ok := body["designations"].([]any); !ok || len(ds) != 0 {
			t.Fatalf("designations %v", body["designations"])
		}
	})
	t.Run("second manager clears the warning", func(t *testing.T) {
		status, body := admCall(t, f.handler, admRequest(admAdmin, routeSetDesig, map[string]string{"applicationId": f.app.ID, "email": "second@initech.example"}, `{"role":"credential_manager"}`))
		if warnings, ok := body["warnings"].([]any); status != 200 || !ok || len(warnings) != 0 {
			t.Fatalf("status %d %v", status, body)
		}
		status, body = admCall(t, f.handler, admRequest(admAdmin, routeRemoveDesig, map[string]string{"applicationId": f.app.ID, "email": "second@initech.example"}, ""))
		want := []any{map[string]any{"code": "fewer_than_two_credential_managers",
			"message": "The application has 1 credential manager; designate at least two, so that someone can always rotate its secrets."}}
		if warnings, _ := body["warnings"].([]any); status != 200 || !reflect.DeepEqual(warnings, want) {
			t.Fatalf("status %d %v", status, body)
		}
	})
	t.Run("list organisations", func(t *testing.T) {
		status, body := admCall(t, f.handler, admRequest(admAdmin, routeListOrgs, nil, ""))
		items, _ := body["items"].([]any)
		if status != 200 || len(items) != 1 || items[0].(map[string]any)["name"] != "Initech" || items[0].(map[string]any)["country"] != "US" {
			t.Fatalf("status %d %v", status, body)
		}
	})
	t.Run("routed by path without a route key", func(t *testing.T) {
		r := admRequest(admAdmin, routeSetDesig, map[string]string{"applicationId": f.app.ID, "email": "path@initech.example"}, `{"role":"viewer"}`)
		r.RouteKey, r.RequestContext.RouteKey, r.PathParameters = "$default", "$default", nil
		if status, body := admCall(t, f.handler, r); status != 200 || !strings.Contains(fmt.Sprint(body["designations"]), "path@initech.example") {
			t.Fatalf("status %d %v", status, body)
		}
	})
	t.Run("unknown route", func(t *testing.T) {
		// An event API Gateway never sends, for a route template.yaml does
		// not declare: docs/openapi.json has no answer to check it against.
		r := admRequest(admAdmin, "GET /v1/admin/secrets", nil, "")
		resp, err := f.handler(context.Background(), r)
		if err != nil || resp.StatusCode != 404 || !strings.Contains(resp.Body, `"code":"route_not_found"`) {
			t.Fatalf("%v %d %s", err, resp.StatusCode, resp.Body)
		}
	})
}

func TestAdminDesignationControlsAccess(t *testing.T) {
	f := newAdminFixture(t)
	const user = "newhire@initech.example"
	desig := map[string]string{"applicationId": f.app.ID, "email": user}
	visible := func() []string {
		t.Helper()
		status, body := admCall(t, f.api.ListApplications(), admRequest(user, "GET /v1/applications", nil, ""))
		if status != 200 {
			t.Fatalf("list: %d %v", status, body)
		}
		var ids []string
		for _, it := range body["items"].([]any) {
			ids = append(ids, it.(map[string]any)["id"].(string))
		}
		return ids
	}
	if got := visible(); len(got) != 0 {
		t.Fatalf("before: %v", got)
	}
	if status, body := admCall(t, f.handler, admRequest(admAdmin, routeSetDesig, desig, `{"role":"credential_manager"}`)); status != 200 {
		t.Fatalf("designate: %d %v", status, body)
	}
	if got := visible(); !slices.Equal(got, []string{f.app.ID}) {
		t.Fatalf("after designation: %v", got)
	}
	if status, body := admCall(t, f.api.GetApplication(), admRequest(user, "GET /v1/applications/{applicationId}", map[string]string{"applicationId": f.app.ID}, "")); status != 200 || body["role"] != "credential_manager" {
		t.Fatalf("get after designation: %d %v", status, body)
	}
	if status, body := admCall(t, f.handler, admRequest(admAdmin, routeRemoveDesig, desig, "")); status != 200 {
		t.Fatalf("remove: %d %v", status, body)
	}
	if got := visible(); len(got) != 0 {
		t.Fatalf("after removal: %v", got)
	}
	if status, body := admCall(t, f.api.GetApplication(), admRequest(user, "GET /v1/applications/{applicationId}", map[string]string{"applicationId": f.app.ID}, "")); status != 404 || errCode(body) != "application_not_found" {
		t.Fatalf("get after removal: %d %v", status, body)
	}
}

func TestAdminAuditTrail(t *testing.T) {
	f := newAdminFixture(t)
	appParams := map[string]string{"applicationId": f.app.ID}
	steps := []struct {
		route, email, body string
	}{
		{routeUpdateApp, "", `{"name":"Initech Search 2","apis":["search-match","match-connect"]}`},
		{routeSetDesig, "auditee@initech.example", `{"role":"viewer"}`},
		{routeSetDesig, "auditee@initech.example", `{"role":"credential_manager"}`},
		{routeRemoveDesig, "auditee@initech.example", ``},
	}
	for _, s := range steps {
		params := appParams
		if s.email != "" {
			params = map[string]string{"applicationId": f.app.ID, "email": s.email}
		}
		if status, body := admCall(t, f.handler, admRequest(admAdmin, s.route, params, s.body)); status != 200 {
			t.Fatalf("%s: %d %v", s.route, status, body)
		}
	}
	page, err := f.store.ListEvents(context.Background(), f.app.ID, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range page.Items {
		if ev.Action == audit.ApplicationCreated || (ev.Action == audit.DesignationSet && ev.Details["email"] != "auditee@initech.example") {
			continue // the fixture's own
		}
		if ev.Actor != admAdmin || ev.SourceIP != "198.51.100.4" || ev.UserAgent != "admin-test/1.0" || ev.RequestID != "req-admin-test" {
			t.Errorf("event %s: %+v", ev.Action, ev)
		}
		got = append(got, ev.Action+" "+fmt.Sprint(ev.Details))
	}
	want := []string{
		"designation.removed map[email:auditee@initech.example roleAfter: roleBefore:credential_manager]",
		"designation.set map[email:auditee@initech.example roleAfter:credential_manager roleBefore:viewer]",
		"designation.set map[email:auditee@initech.example roleAfter:viewer roleBefore:]",
		"application.updated map[apisAfter:match-connect,search-match apisBefore:search-match nameAfter:Initech Search 2 nameBefore:Initech Search]",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestAdminSampleEvents runs every events/admin*.json through the Lambda
// handler's own decoding, with the placeholder ids swapped for real ones.
func TestAdminSampleEvents(t *testing.T) {
	f := newAdminFixture(t)
	paths, err := filepath.Glob(filepath.Join("..", "..", "events", "admin*.json"))
	if err != nil || len(paths) < 2 {
		t.Fatalf("sample events: %v, %v", paths, err)
	}
	want := map[string]int{
		"admin.json": 201, "admin.not-admin.json": 403, "admin.list-apis.json": 200, "admin.list-organisations.json": 200,
		"admin.create-application.json": 201, "admin.update-application.json": 200, "admin.set-designation.json": 200,
		"admin.remove-designation.json": 200,
	}
	// The designation removal's sample needs the designation its sibling sets.
	slices.SortFunc(paths, func(a, b string) int {
		return strings.Compare(strings.Replace(a, "remove", "zz", 1), strings.Replace(b, "remove", "zz", 1))
	})
	h := lambda.NewHandler(f.handler)
	for _, p := range paths {
		name := filepath.Base(p)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			if id := ev.PathParameters["organisationId"]; id != "" {
				raw = []byte(strings.ReplaceAll(string(raw), id, f.org.ID))
			}
			if id := ev.PathParameters["applicationId"]; id != "" {
				raw = []byte(strings.ReplaceAll(string(raw), id, f.app.ID))
			}
			out, err := h.Invoke(context.Background(), raw)
			if err != nil {
				t.Fatal(err)
			}
			if err := apispec.CheckInvoke(raw, out); err != nil {
				t.Fatal(err)
			}
			var resp events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatal(err)
			}
			w, ok := want[name]
			if !ok {
				t.Fatalf("no expectation for %s", name)
			}
			if resp.StatusCode != w {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, resp.Body, w)
			}
		})
	}
}
