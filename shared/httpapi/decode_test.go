package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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

// The body is decoded as written: field names match exactly, a key given
// twice is refused rather than the last one winning, and text that is not
// UTF-8 (raw bytes or an escaped half of a surrogate pair) is refused rather
// than stored as U+FFFD.
func TestDecodeJSONStrict(t *testing.T) {
	type nested struct {
		Name  string            `json:"name"`
		Tags  []string          `json:"tags"`
		Inner *struct{ A int }  `json:"inner"`
		Meta  map[string]string `json:"meta"`
		At    *time.Time        `json:"at"`
	}
	cases := []struct {
		name, body, code string
	}{
		{"exact case", `{"name":"n","lifetimeDays":30}`, ""},
		{"pair of surrogates", `{"name":"\ud83d\ude00","lifetimeDays":30}`, ""},
		{"U+FFFD written as such", "{\"name\":\"\\ufffd\uFFFD\",\"lifetimeDays\":30}", ""},
		{"escaped backslash before u", `{"name":"\\ud800","lifetimeDays":30}`, ""},
		{"upper-case field", `{"NAME":"n","lifetimeDays":30}`, "unknown_field"},
		{"mixed-case field", `{"name":"n","LifetimeDays":30}`, "unknown_field"},
		{"duplicate field", `{"name":"a","name":"b","lifetimeDays":30}`, "duplicate_field"},
		{"duplicate, other case", `{"name":"a","Name":"b","lifetimeDays":30}`, "unknown_field"},
		{"invalid UTF-8", "{\"name\":\"\xff\",\"lifetimeDays\":30}", "invalid_utf8"},
		{"invalid UTF-8 in a key", "{\"name\xc3\":\"n\"}", "invalid_utf8"},
		{"lone high surrogate", `{"name":"\ud800","lifetimeDays":30}`, "invalid_utf8"},
		{"lone low surrogate", `{"name":"x\udc00","lifetimeDays":30}`, "invalid_utf8"},
		{"high then not low", `{"name":"\ud800\u0041","lifetimeDays":30}`, "invalid_utf8"},
		{"surrogate at the end", `{"name":"\ud800"}`, "invalid_utf8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var in portal.CreateSecretInput
			err := DecodeJSON(Request{Body: c.body}, &in)
			if c.code == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if e, _, ok := describe(err); !ok || e.code != c.code || !errors.Is(err, portal.ErrInvalid) {
				t.Fatalf("err = %v, want a 400 %s", err, c.code)
			}
		})
	}
	nestedCases := []struct {
		name, body, code string
	}{
		{"nested ok", `{"name":"n","tags":["a","a"],"inner":{"A":1},"meta":{"k":"v","K":"w"},"at":"2027-01-01T00:00:00Z"}`, ""},
		{"nested wrong case", `{"name":"n","inner":{"a":1}}`, "unknown_field"},
		{"nested duplicate", `{"name":"n","inner":{"A":1,"A":2}}`, "duplicate_field"},
		{"duplicate map key", `{"meta":{"k":"v","k":"w"}}`, "duplicate_field"},
		{"object for a time", `{"at":{"wall":1}}`, "invalid_json"},
	}
	for _, c := range nestedCases {
		t.Run(c.name, func(t *testing.T) {
			var in nested
			err := DecodeJSON(Request{Body: c.body}, &in)
			if c.code == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if e, _, ok := describe(err); !ok || e.code != c.code {
				t.Fatalf("err = %v, want %s", err, c.code)
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
				"email": "a@b.example", "email_verified": "true", "iss": "https://issuer.test/", "sub": "s", "cognito:groups": c.groups,
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
// JSON object that fits the limit, is UTF-8 throughout, and names only the
// input's fields, exactly and once each.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"name":"n","lifetimeDays":30}`, `{"name":"n","expiresAt":"2027-01-01T00:00:00Z"}`, `{}`, `[]`, `{"name":"n"}x`,
		`{"lifetimeDays":1e400}`, "\x00", `{"name":"\ud800"}`, `{"NAME":"n"}`, `{"name":"a","name":"b"}`,
		"{\"name\":\"\xff\"}", `{"name":"\ud83d\ude00"}`, `{"name":"\\ud800"}`, `{"name":"\udc00\ud800"}`,
		`{"name":"\ud800\"}`, `{"name":"\ud800\u"}`, `{"lifetimeDays":1,"lifetimeDays":1}`,
	} {
		f.Add(s, false)
	}
	fields := map[string]bool{"name": true, "expiresAt": true, "lifetimeDays": true}
	f.Fuzz(func(t *testing.T, body string, b64 bool) {
		var in portal.CreateSecretInput
		err := DecodeJSON(Request{Body: body, IsBase64Encoded: b64}, &in)
		if err != nil {
			return
		}
		raw, _ := Body(Request{Body: body, IsBase64Encoded: b64})
		if len(raw) > MaxBodyBytes || !strings.HasPrefix(strings.TrimSpace(string(raw)), "{") {
			t.Fatalf("accepted %q", body)
		}
		// A U+FFFD decoded is one the body wrote, not a replaced byte.
		wroteFFFD := strings.ContainsRune(string(raw), utf8.RuneError) || strings.Contains(strings.ToLower(string(raw)), `\ufffd`)
		if !utf8.Valid(raw) || strings.ContainsRune(in.Name, utf8.RuneError) && !wroteFFFD {
			t.Fatalf("accepted text that is not UTF-8: %q", body)
		}
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		seen := map[string]bool{}
		if _, err := dec.Token(); err != nil {
			t.Fatalf("accepted %q: %v", body, err)
		}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				t.Fatalf("accepted %q: %v", body, err)
			}
			name := k.(string)
			if !fields[name] || seen[name] {
				t.Fatalf("accepted %q with the field %q", body, name)
			}
			seen[name] = true
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				t.Fatalf("accepted %q: %v", body, err)
			}
		}
	})
}
