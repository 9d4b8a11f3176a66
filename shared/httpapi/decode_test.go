package httpapi

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

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
		`["a","b"]`:             {"a", "b"},
		"[portal-admins,other]": {"portal-admins", "other"},
	}
	for raw, want := range cases {
		got := ParseGroups(raw)
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("ParseGroups(%q) = %q, want %q", raw, got, want)
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
