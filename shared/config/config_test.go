package config

import (
	"context"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) Getenv { return func(k string) string { return m[k] } }

func TestLoad(t *testing.T) {
	e, err := Load(env(map[string]string{
		"TABLE_NAME": "t", "PEPPER_SECRET_ID": "p", "SECRET_PREFIX": "xyz_", "MAX_LIFETIME_DAYS": "90",
		"ACTIVE_SECRET_LIMIT": "2", "API_CATALOGUE": "a=Alpha, b=Beta",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if e.Portal.Format.Prefix != "xyz_" || e.Portal.Policy.MaxLifetimeDays != 90 || e.Portal.Policy.ActiveLimit != 2 ||
		len(e.Portal.Catalogue) != 2 || e.Portal.Catalogue[1].Name != "Beta" || e.Identity.AdminGroup != "portal-admins" || e.Identity.GroupsClaim != "cognito:groups" || e.Identity.IssuerVerifiesEmail {
		t.Fatalf("env = %+v", e)
	}
	_, err = Load(env(map[string]string{"MAX_LIFETIME_DAYS": "a year", "ACTIVE_SECRET_LIMIT": "0", "API_CATALOGUE": "nameless", "ADMIN_GROUP": "x,portal-admins", "ISSUER_VERIFIES_EMAIL": "yes"}))
	for _, want := range []string{"TABLE_NAME", "MAX_LIFETIME_DAYS", "ACTIVE_SECRET_LIMIT", "API_CATALOGUE", "ADMIN_GROUP", "ISSUER_VERIFIES_EMAIL"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

func TestAWSFromEnv(t *testing.T) {
	cfg, err := awsFromEnv(context.Background(), env(map[string]string{
		"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "SECRET",
		"AWS_SESSION_TOKEN": "TOKEN", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
	}))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKID" || creds.SessionToken != "TOKEN" || cfg.Region != "eu-west-1" || *cfg.BaseEndpoint != "http://127.0.0.1:4566" {
		t.Fatalf("cfg = %+v, creds = %+v, %v", cfg, creds, err)
	}
	if _, err := awsFromEnv(context.Background(), env(map[string]string{})); err == nil || !strings.Contains(err.Error(), "AWS_REGION") || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Fatalf("missing environment: %v", err)
	}
}

// An admin group name the flattened groups claim could confuse is refused
// before the function serves.
func TestLoadRefusesAmbiguousAdminGroup(t *testing.T) {
	for _, group := range []string{"x portal-admins", "x,portal-admins", "[portal-admins]"} {
		_, err := Load(env(map[string]string{"TABLE_NAME": "t", "ADMIN_GROUP": group}))
		if err == nil || !strings.Contains(err.Error(), "ADMIN_GROUP") {
			t.Errorf("ADMIN_GROUP=%q: %v", group, err)
		}
	}
}

func TestLoadSweep(t *testing.T) {
	e, err := LoadSweep(env(map[string]string{
		"TABLE_NAME": "t", "SENDER_EMAIL": "no-reply@portal.example", "PORTAL_URL": "https://portal.example/",
		"FALLBACK_EMAIL": "ops@portal.example", "REMINDER_THRESHOLDS": "7, 30,0", "SES_MAX_SEND_RATE": "14",
	}))
	if err != nil {
		t.Fatal(err)
	}
	r := e.Reminder
	if e.TableName != "t" || e.Mail.Sender != "no-reply@portal.example" || r.Fallback != "ops@portal.example" ||
		r.PortalURL != "https://portal.example/" || r.MaxSendRate != 14 || len(r.Thresholds) != 3 || r.Thresholds[0] != 30 ||
		r.Lease != 45*time.Second {
		t.Fatalf("env = %+v", e)
	}
	d, err := LoadSweep(env(map[string]string{"TABLE_NAME": "t", "SENDER_EMAIL": "a@b.example"}))
	if err != nil || len(d.Reminder.Thresholds) != 6 || d.Reminder.MaxSendRate != 10 || d.Reminder.Fallback != "" {
		t.Fatalf("defaults = %+v, %v", d, err)
	}
	_, err = LoadSweep(env(map[string]string{
		"SENDER_EMAIL": "nobody", "FALLBACK_EMAIL": "x", "REMINDER_THRESHOLDS": "7,seven", "SES_MAX_SEND_RATE": "-1",
	}))
	for _, want := range []string{"TABLE_NAME", "SENDER_EMAIL", "FALLBACK_EMAIL", "REMINDER_THRESHOLDS", "SES_MAX_SEND_RATE"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
	if _, err := LoadMail(env(map[string]string{})); err == nil || !strings.Contains(err.Error(), "SENDER_EMAIL") {
		t.Errorf("LoadMail without a sender: %v", err)
	}
}

// SENDER_NAME is the From field's display name: "Registry API Credentials"
// when unset, any printable name up to 64 characters, nothing that could
// break the header.
func TestSenderName(t *testing.T) {
	cases := []struct {
		name, value, want string
		ok                bool
	}{
		{"unset", "", "Registry API Credentials", true},
		{"ASCII", "Acme API Registry", "Acme API Registry", true},
		{"quotes and specials", `Acme "Prod" <Keys>, Inc.`, `Acme "Prod" <Keys>, Inc.`, true},
		{"non-ASCII", "Zugangsdaten für Größe-APIs", "Zugangsdaten für Größe-APIs", true},
		{"64 characters", strings.Repeat("é", 64), strings.Repeat("é", 64), true},
		{"65 characters", strings.Repeat("é", 65), "", false},
		{"line break", "Registry\r\nBcc: mallory@evil.test", "", false},
		{"tab", "Registry\tAPI", "", false},
		{"blank", "   ", "", false},
		{"leading space", " Registry", "", false},
		{"not UTF-8", "Registry \xff", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := LoadMail(env(map[string]string{"SENDER_EMAIL": "no-reply@portal.example", "SENDER_NAME": c.value}))
			if c.ok != (err == nil) {
				t.Fatalf("LoadMail: %v", err)
			}
			if c.ok && m.SenderName != c.want {
				t.Errorf("SenderName = %q, want %q", m.SenderName, c.want)
			}
			if !c.ok && !strings.Contains(err.Error(), "SENDER_NAME") {
				t.Errorf("error %v does not name SENDER_NAME", err)
			}
		})
	}
}

func TestLoadTokens(t *testing.T) {
	e, err := LoadTokens(env(map[string]string{
		"TABLE_NAME": "t", "PEPPER_SECRET_ID": "p", "ISSUER": "https://portal.example/", "SIGNING_SECRET_ID": "s",
		"SECRET_PREFIX": "xyz_", "API_CATALOGUE": "a=Alpha,b=Beta",
	}))
	if err != nil {
		t.Fatal(err)
	}
	c := e.OAuth()
	if e.Issuer != "https://portal.example" || c.Issuer != "https://portal.example" || e.SigningSecretID != "s" ||
		c.Format.Prefix != "xyz_" || len(c.Catalogue) != 2 || c.Throttle.Failures != 10 || c.TokenLifetime.Hours() != 1 {
		t.Fatalf("env %+v config %+v", e, c)
	}
	if c.ViewerAddress {
		t.Fatal("CloudFront-Viewer-Address is trusted by default")
	}
	for v, want := range map[string]bool{"true": true, "false": false} {
		e, err := LoadTokens(env(map[string]string{
			"TABLE_NAME": "t", "PEPPER_SECRET_ID": "p", "ISSUER": "https://portal.example/", "SIGNING_SECRET_ID": "s",
			"VIEWER_ADDRESS_FROM_CLOUDFRONT": v,
		}))
		if err != nil || e.OAuth().ViewerAddress != want {
			t.Fatalf("VIEWER_ADDRESS_FROM_CLOUDFRONT=%s: %v, %v", v, e.OAuth().ViewerAddress, err)
		}
	}
	_, err = LoadTokens(env(map[string]string{"TABLE_NAME": "t", "VIEWER_ADDRESS_FROM_CLOUDFRONT": "yes"}))
	for _, want := range []string{"ISSUER", "SIGNING_SECRET_ID", "VIEWER_ADDRESS_FROM_CLOUDFRONT"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

// The sender and the fallback are addresses SES can write: an ASCII local
// part, an internationalised domain in punycode, no look-alike.
func TestLoadMailAddressesSESCanWrite(t *testing.T) {
	m, err := LoadMail(env(map[string]string{"SENDER_EMAIL": "No-Reply@Bücher.example", "FALLBACK_EMAIL": "ops@bücher.example"}))
	if err != nil || m.Sender != "no-reply@xn--bcher-kva.example" || m.Fallback != "ops@xn--bcher-kva.example" {
		t.Fatalf("LoadMail = %+v, %v", m, err)
	}
	for name, bad := range map[string]map[string]string{
		"SENDER_EMAIL":   {"SENDER_EMAIL": "zoë@portal.example"},
		"FALLBACK_EMAIL": {"SENDER_EMAIL": "no-reply@portal.example", "FALLBACK_EMAIL": "ops@p\u0430ypal.example"},
	} {
		if _, err := LoadMail(env(bad)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("LoadMail(%v): %v, want an error naming %s", bad, err, name)
		}
	}
}
