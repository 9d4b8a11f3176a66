package httpapi

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"credportal/shared/portal"
)

func TestDecodeJSON(t *testing.T) {
	cases := []struct {
		name string
		body string
		b64  bool
		kind error
	}{
		{"ok", `{"name":"n","lifetimeDays":30}`, false, nil},
		{"ok base64", base64.StdEncoding.EncodeToString([]byte(`{"name":"n"}`)), true, nil},
		{"bad base64", "%%%", true, portal.ErrInvalid},
		{"empty", ``, false, portal.ErrInvalid},
		{"array", `[1]`, false, portal.ErrInvalid},
		{"unknown field", `{"name":"n","value":"x"}`, false, portal.ErrInvalid},
		{"wrong type", `{"name":5}`, false, portal.ErrInvalid},
		{"bad time", `{"name":"n","expiresAt":"tomorrow"}`, false, portal.ErrInvalid},
		{"trailing data", `{"name":"n"} {}`, false, portal.ErrInvalid},
		{"truncated", `{"name":"n"`, false, portal.ErrInvalid},
		{"too large", `{"name":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, false, portal.ErrTooLarge},
		{"far too large", strings.Repeat(" ", 3*MaxBodyBytes), false, portal.ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var in portal.CreateSecretInput
			err := DecodeJSON(Request{Body: c.body, IsBase64Encoded: c.b64}, &in)
			if c.kind == nil && err != nil {
				t.Fatalf("err = %v", err)
			}
			if c.kind != nil && !errors.Is(err, c.kind) {
				t.Fatalf("err = %v, want %v", err, c.kind)
			}
		})
	}
}

func TestParseGroups(t *testing.T) {
	cases := map[string][]string{
		"":                      nil,
		"portal-admins":         {"portal-admins"},
		"[portal-admins]":       {"portal-admins"},
		"[a b]":                 {"a", "b"},
		"[a  b]":                {"a", "b"},
		"[]":                    nil,
		"[portal-admins,other]": {"portal-admins,other"},
		"x,portal-admins":       {"x,portal-admins"},
		"x portal-admins":       {"x portal-admins"},
		`["a","b"]`:             {`"a","b"`},
		`["x portal-admins"]`:   {`"x`, `portal-admins"`},
	}
	for raw, want := range cases {
		got := ParseGroups(raw)
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("ParseGroups(%q) = %q, want %q", raw, got, want)
		}
	}
}

// A group whose name holds the admin group's name after a comma, or an array
// claim in JSON text, makes nobody an admin: only the flattened array form
// "[a b]" lists several groups.
func TestCallerAdminGroup(t *testing.T) {
	id := Identity{AdminGroup: "portal-admins", GroupsClaim: "cognito:groups"}
	cases := []struct {
		groups string
		admin  bool
	}{
		{"[portal-admins]", true},
		{"portal-admins", true},
		{"[x portal-admins]", true}, // two groups, as the HTTP API flattens ["x","portal-admins"]
		{"[x,portal-admins]", false},
		{"x,portal-admins", false},
		{"[portal-admins,x]", false},
		{"x portal-admins", false},
		{`["x","portal-admins"]`, false},
		{"[portal-admins-not]", false},
	}
	for _, c := range cases {
		req := Request{}
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{
				"email": "a@b.example", "email_verified": "true", "cognito:groups": c.groups,
			}},
		}
		caller, err := id.Caller(req)
		if err != nil {
			t.Fatalf("%q: %v", c.groups, err)
		}
		if caller.Admin != c.admin {
			t.Errorf("groups %q: admin = %v, want %v", c.groups, caller.Admin, c.admin)
		}
	}
}

func TestCheckAdminGroup(t *testing.T) {
	for _, ok := range []string{"portal-admins", "Admins", "ops_team.1"} {
		if err := CheckAdminGroup(ok); err != nil {
			t.Errorf("CheckAdminGroup(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "x portal-admins", "x,portal-admins", "[admins]", "admins]", "a\tb"} {
		if err := CheckAdminGroup(bad); err == nil {
			t.Errorf("CheckAdminGroup(%q) accepted", bad)
		}
	}
}

// FuzzDecodeJSON: the decoder never panics, and any body it accepts is a
// JSON object that fits the limit.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"name":"n","lifetimeDays":30}`, `{"name":"n","expiresAt":"2027-01-01T00:00:00Z"}`, `{}`, `[]`, `{"name":"n"}x`, `{"lifetimeDays":1e400}`, "\x00", `{"name":"\ud800"}`} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, body string, b64 bool) {
		var in portal.CreateSecretInput
		err := DecodeJSON(Request{Body: body, IsBase64Encoded: b64}, &in)
		if err == nil {
			raw, _ := Body(Request{Body: body, IsBase64Encoded: b64})
			if len(raw) > MaxBodyBytes || !strings.HasPrefix(strings.TrimSpace(string(raw)), "{") {
				t.Fatalf("accepted %q", body)
			}
		}
	})
}
