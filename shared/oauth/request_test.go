package oauth

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
)

const form = "application/x-www-form-urlencoded"

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

func TestParseTokenRequest(t *testing.T) {
	cases := []struct {
		name          string
		authorization string
		contentType   string
		body          string
		want          TokenRequest
		code          string
	}{
		{"basic", basic("client", "s3cret"), form, "grant_type=client_credentials", TokenRequest{GrantType: GrantClientCredentials, ClientID: "client", Secret: "s3cret", Method: AuthBasic}, ""},
		{"basic is percent-decoded", basic("a b:c", "x+y%z"), form, "grant_type=client_credentials", TokenRequest{GrantType: GrantClientCredentials, ClientID: "a b:c", Secret: "x+y%z", Method: AuthBasic}, ""},
		{"basic scheme is case-insensitive", "basic " + base64.StdEncoding.EncodeToString([]byte("c:s")), form, "grant_type=client_credentials", TokenRequest{GrantType: GrantClientCredentials, ClientID: "c", Secret: "s", Method: AuthBasic}, ""},
		{"basic with the same client_id in the body", basic("c", "s"), form, "grant_type=client_credentials&client_id=c", TokenRequest{GrantType: GrantClientCredentials, ClientID: "c", Secret: "s", Method: AuthBasic}, ""},
		{"post", "", form, "grant_type=client_credentials&client_id=c&client_secret=s&scope=a+b", TokenRequest{GrantType: GrantClientCredentials, ClientID: "c", Secret: "s", Method: AuthPost, Scope: "a b"}, ""},
		{"content type with charset", "", form + "; charset=UTF-8", "grant_type=client_credentials&client_id=c&client_secret=s", TokenRequest{GrantType: GrantClientCredentials, ClientID: "c", Secret: "s", Method: AuthPost}, ""},
		{"an empty parameter counts as absent", "", form, "grant_type=client_credentials&client_id=c&client_secret=s&scope=", TokenRequest{GrantType: GrantClientCredentials, ClientID: "c", Secret: "s", Method: AuthPost}, ""},
		{"json body", "", "application/json", `{"grant_type":"client_credentials"}`, TokenRequest{}, CodeInvalidRequest},
		{"no content type", basic("c", "s"), "", "grant_type=client_credentials", TokenRequest{}, CodeInvalidRequest},
		{"duplicate grant_type", basic("c", "s"), form, "grant_type=client_credentials&grant_type=client_credentials", TokenRequest{}, CodeInvalidRequest},
		{"duplicate client_secret", "", form, "grant_type=client_credentials&client_id=c&client_secret=s&client_secret=t", TokenRequest{}, CodeInvalidRequest},
		{"duplicate scope, one empty", basic("c", "s"), form, "grant_type=client_credentials&scope=&scope=a", TokenRequest{}, CodeInvalidRequest},
		{"broken percent-encoding", basic("c", "s"), form, "grant_type=client%ZZ", TokenRequest{}, CodeInvalidRequest},
		{"semicolon separator", basic("c", "s"), form, "grant_type=client_credentials;scope=a", TokenRequest{}, CodeInvalidRequest},
		{"body too large", basic("c", "s"), form, "grant_type=client_credentials&pad=" + strings.Repeat("x", MaxBodyBytes), TokenRequest{}, CodeInvalidRequest},
		{"both methods", basic("c", "s"), form, "grant_type=client_credentials&client_id=c&client_secret=s", TokenRequest{}, CodeInvalidRequest},
		{"basic and another client_id", basic("c", "s"), form, "grant_type=client_credentials&client_id=d", TokenRequest{}, CodeInvalidRequest},
		{"neither method", "", form, "grant_type=client_credentials", TokenRequest{}, CodeInvalidClient},
		{"client_id alone", "", form, "grant_type=client_credentials&client_id=c", TokenRequest{}, CodeInvalidClient},
		{"client_secret alone", "", form, "grant_type=client_credentials&client_secret=s", TokenRequest{}, CodeInvalidRequest},
		{"bearer scheme", "Bearer abc", form, "grant_type=client_credentials", TokenRequest{}, CodeInvalidClient},
		{"malformed base64", "Basic !!!", form, "grant_type=client_credentials", TokenRequest{}, CodeInvalidRequest},
		{"base64 without padding", "Basic " + base64.RawStdEncoding.EncodeToString([]byte("cc:s")), form, "grant_type=client_credentials", TokenRequest{}, CodeInvalidRequest},
		{"no colon", "Basic " + base64.StdEncoding.EncodeToString([]byte("cs")), form, "grant_type=client_credentials", TokenRequest{}, CodeInvalidRequest},
		{"bad percent-encoding in basic", "Basic " + base64.StdEncoding.EncodeToString([]byte("c%G1:s")), form, "grant_type=client_credentials", TokenRequest{}, CodeInvalidRequest},
		{"empty basic secret", "Basic " + base64.StdEncoding.EncodeToString([]byte("c:")), form, "grant_type=client_credentials", TokenRequest{}, CodeInvalidClient},
		{"missing grant_type", basic("c", "s"), form, "scope=a", TokenRequest{}, CodeInvalidRequest},
		{"password grant", basic("c", "s"), form, "grant_type=password&username=u&password=p", TokenRequest{}, CodeUnsupportedGrantType},
		{"authorization_code grant", basic("c", "s"), form, "grant_type=authorization_code&code=x", TokenRequest{}, CodeUnsupportedGrantType},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseTokenRequest(c.authorization, c.contentType, []byte(c.body))
			if c.code == "" {
				if err != nil || got != c.want {
					t.Fatalf("= %+v, %v; want %+v", got, err, c.want)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != c.code {
				t.Fatalf("error = %v, want %s", err, c.code)
			}
		})
	}
}

func TestParseScope(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		ok   bool
	}{
		{"", nil, true},
		{"a", []string{"a"}, true},
		{" a  b a ", []string{"a", "b"}, true},
		{`a"b`, nil, false},
		{`a\b`, nil, false},
		{"a\tb", nil, false},
		{"é", nil, false},
	}
	for _, c := range cases {
		got, ok := parseScope(c.in)
		if ok != c.ok || strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("parseScope(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// FuzzParseTokenRequest: no input panics; what parses is a client
// credentials request with both parts of the client authentication; every
// failure is an RFC 6749 error.
func FuzzParseTokenRequest(f *testing.F) {
	f.Add(basic("c", "s"), form, "grant_type=client_credentials&scope=a+b")
	f.Add("", form, "grant_type=client_credentials&client_id=c&client_secret=s")
	f.Add("Basic !!!", "text/plain", "grant_type=client_credentials&grant_type=x")
	f.Fuzz(func(t *testing.T, authorization, contentType, body string) {
		got, err := ParseTokenRequest(authorization, contentType, []byte(body))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code == "" || e.Status < 400 || e.Status > 499 {
				t.Fatalf("error %v is not an RFC 6749 error", err)
			}
			return
		}
		if got.GrantType != GrantClientCredentials || got.ClientID == "" || got.Secret == "" || (got.Method != AuthBasic && got.Method != AuthPost) {
			t.Fatalf("parsed %+v", got)
		}
		if got.Method == AuthBasic && authorization == "" {
			t.Fatal("basic without an Authorization header")
		}
	})
}

// FuzzParseBasic: what a client encodes per RFC 6749 §2.3.1 parses back to
// the same id and secret; no header panics.
func FuzzParseBasic(f *testing.F) {
	f.Add("client", "cps_secret")
	f.Add("a b:c", "x+y%z/=")
	f.Add("", ":")
	f.Add("é", "\x00")
	f.Fuzz(func(t *testing.T, id, secret string) {
		gotID, gotSecret, err := ParseBasic(basic(id, secret))
		if id == "" || secret == "" {
			if err == nil {
				t.Fatalf("empty id or secret accepted: %q %q", gotID, gotSecret)
			}
			return
		}
		if err != nil || gotID != id || gotSecret != secret {
			t.Fatalf("round trip of %q %q = %q %q, %v", id, secret, gotID, gotSecret, err)
		}
		// Arbitrary headers never panic.
		_, _, _ = ParseBasic("Basic " + id + secret)
	})
}
