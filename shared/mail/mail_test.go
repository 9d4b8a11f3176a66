package mail_test

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	mailer "credportal/shared/mail"
	"credportal/shared/portal"
)

func TestCompose(t *testing.T) {
	raw, err := mailer.Compose("no-reply@portal.test", mailer.Message{
		To:      []string{"alice@acme.test"},
		Subject: "Client secret créé\r\nBcc: eve@evil.test",
		Date:    time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC),
		Text:    "Plain €\nsecond line",
		HTML:    "<p>Rich €</p>",
		Headers: map[string]string{"X-Portal-Reminders": "sec_1@7\r\nX-Evil: 1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("Bcc") != "" || msg.Header.Get("X-Evil") != "" {
		t.Fatalf("a header was injected:\n%s", raw)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != "Client secret créé  Bcc: eve@evil.test" {
		t.Errorf("subject %q, %v", subject, err)
	}
	if msg.Header.Get("To") != "alice@acme.test" || msg.Header.Get("Date") != "Thu, 26 Nov 2026 07:00:00 +0000" {
		t.Errorf("header %v", msg.Header)
	}
	kind, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || kind != "multipart/alternative" {
		t.Fatalf("content type %q", msg.Header.Get("Content-Type"))
	}
	parts := map[string]string{}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p)
		parts[strings.Split(p.Header.Get("Content-Type"), ";")[0]] = string(body)
	}
	if parts["text/plain"] != "Plain €\r\nsecond line" || parts["text/html"] != "<p>Rich €</p>" {
		t.Errorf("parts %q", parts)
	}
}

func TestComposeRejectsBadAddresses(t *testing.T) {
	for _, c := range []struct {
		from string
		to   []string
	}{
		{"no-reply@portal.test", nil},
		{"not an address", []string{"a@b.test"}},
		{"no-reply@portal.test", []string{"a@b.test, c@d.test"}},
	} {
		if _, err := mailer.Compose(c.from, mailer.Message{To: c.to, Subject: "s"}); err == nil {
			t.Errorf("Compose(%q, %q) accepted", c.from, c.to)
		}
	}
}

func TestErrorKinds(t *testing.T) {
	cases := []struct {
		err                error
		throttled, stopped bool
	}{
		{&smithy.GenericAPIError{Code: "TooManyRequestsException"}, true, false},
		{&types.TooManyRequestsException{}, true, false},
		{&types.LimitExceededException{}, false, true},
		{&types.SendingPausedException{}, false, true},
		{&types.MessageRejected{}, false, false},
		{errors.New("network"), false, false},
	}
	for _, c := range cases {
		if got := mailer.Throttled(c.err); got != c.throttled {
			t.Errorf("Throttled(%T) = %v", c.err, got)
		}
		if got := mailer.Stopped(c.err); got != c.stopped {
			t.Errorf("Stopped(%T) = %v", c.err, got)
		}
	}
}

func TestManagersAndLinks(t *testing.T) {
	ds := []portal.Designation{
		{Email: "zed@a.test", Role: portal.RoleCredentialManager},
		{Email: "vic@a.test", Role: portal.RoleViewer},
		{Email: "amy@a.test", Role: portal.RoleCredentialManager},
	}
	if got := mailer.Managers(ds); strings.Join(got, ",") != "amy@a.test,zed@a.test" {
		t.Errorf("Managers = %v", got)
	}
	for _, base := range []string{"https://portal.test/", "https://portal.test"} {
		if got := mailer.ApplicationURL(base, "app_1"); got != "https://portal.test/applications/app_1" {
			t.Errorf("ApplicationURL(%q) = %q", base, got)
		}
	}
}

// The From field carries the sender's display name: quoted when it is ASCII
// (quotes and backslashes escaped), RFC 2047 encoded words when it is not,
// so any name a deployment configures reads back as it was set.
func TestFromHeader(t *testing.T) {
	cases := []struct{ name, want string }{
		{"", "no-reply@portal.example"},
		{"Registry API Credentials", `"Registry API Credentials" <no-reply@portal.example>`},
		{`Acme "Prod" <Keys>, Inc.`, `"Acme \"Prod\" <Keys>, Inc." <no-reply@portal.example>`},
		{`Back\slash`, `"Back\\slash" <no-reply@portal.example>`},
		{"Zugangsdaten für APIs", "=?utf-8?q?Zugangsdaten_f=C3=BCr_APIs?= <no-reply@portal.example>"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := mailer.FromHeader("no-reply@portal.example", c.name)
			if got != c.want {
				t.Fatalf("FromHeader = %s, want %s", got, c.want)
			}
			raw, err := mailer.Compose(got, mailer.Message{To: []string{"alice@acme.test"}, Subject: "s", Text: "t", HTML: "h"})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(raw), "From: "+c.want+"\r\n") {
				t.Fatalf("header:\n%s", raw)
			}
			m, err := mail.ReadMessage(strings.NewReader(string(raw)))
			if err != nil {
				t.Fatal(err)
			}
			a, err := m.Header.AddressList("From")
			if err != nil || len(a) != 1 || a[0].Name != c.name || a[0].Address != "no-reply@portal.example" {
				t.Fatalf("From reads back as %v, %v", a, err)
			}
		})
	}
}
