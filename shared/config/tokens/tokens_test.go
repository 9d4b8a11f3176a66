package tokens

import (
	"credportal/shared/config"
	"strings"
	"testing"
)

func TestLoadOAuth(t *testing.T) {
	e, err := Load(env(map[string]string{
		"TABLE_NAME": "t", "PEPPER_SECRET_ID": "p", "ISSUER": "https://portal.example/", "SIGNING_SECRET_ID": "s",
		"SECRET_PREFIX": "xyz_", "API_CATALOGUE": "a=Alpha,b=Beta",
	}))
	if err != nil {
		t.Fatal(err)
	}
	c := e.OAuthConfig()
	if e.Issuer != "https://portal.example" || c.Issuer != "https://portal.example" || e.SigningSecretID != "s" ||
		c.Format.Prefix != "xyz_" || len(c.Catalogue) != 2 || c.Throttle.Failures != 10 || c.TokenLifetime.Hours() != 1 {
		t.Fatalf("env %+v config %+v", e, c)
	}
	_, err = Load(env(map[string]string{"TABLE_NAME": "t"}))
	for _, want := range []string{"ISSUER", "SIGNING_SECRET_ID"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

func env(m map[string]string) config.Getenv { return func(k string) string { return m[k] } }
