package webui

import (
	"credportal/shared/federation"

	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"credportal/shared/secret"
)

// Sign-in modes of the UI.
const (
	// ModeOIDC signs users in at an OpenID Connect issuer with the
	// authorization code flow and PKCE (the Cognito hosted UI in AWS).
	ModeOIDC = "oidc"
	// ModeLocal lets anyone pick a demo user and fetches a token from the
	// local stack's GET /local/token. Only the local stack sets it.
	ModeLocal = "local"
)

// Config is what the UI needs to know, served to it as /config.json.
type Config struct {
	SignInMode string `json:"signInMode"`
	// Issuer is the OIDC issuer whose ID tokens the API accepts.
	Issuer string `json:"issuer,omitempty"`
	// AuthorizeEndpoint, TokenEndpoint and LogoutEndpoint are the issuer's
	// endpoints; LogoutEndpoint is optional.
	AuthorizeEndpoint string `json:"authorizeEndpoint,omitempty"`
	TokenEndpoint     string `json:"tokenEndpoint,omitempty"`
	LogoutEndpoint    string `json:"logoutEndpoint,omitempty"`
	ClientID          string `json:"clientId,omitempty"`
	// RedirectURI is where the issuer sends the user back: the portal's URL.
	RedirectURI string `json:"redirectUri"`
	// Scope is what the UI asks the issuer for.
	Scope string `json:"scope,omitempty"`
	// APIBase prefixes the API's paths; empty means the portal's own origin.
	APIBase string `json:"apiBase"`
	// MaxLifetimeDays is the longest lifetime a client secret may get.
	MaxLifetimeDays int `json:"maxLifetimeDays"`
	// ActiveSecretLimit is the most unexpired secrets an application may
	// hold (ACTIVE_SECRET_LIMIT, as the secret functions enforce it).
	ActiveSecretLimit int `json:"activeSecretLimit"`
	// ReminderThresholds are the days before expiry at which the sweep sends
	// reminders (REMINDER_THRESHOLDS), largest first: the UI colours expiry
	// with them, so that the page and the emails agree.
	ReminderThresholds []int `json:"reminderThresholds"`
	// TrustedIssuers are the issuers a federated credential may name
	// (TRUSTED_ISSUERS, and the local stack's LOCAL_ISSUER).
	TrustedIssuers []string `json:"trustedIssuers"`
	// SupportContact is whom partners ask (SUPPORT_CONTACT: an address or
	// an https URL), named where someone sees nothing yet.
	SupportContact string `json:"supportContact,omitempty"`
	// DemoUsers are offered on the local sign-in page.
	DemoUsers []DemoUser `json:"demoUsers,omitempty"`
}

// DemoUser is a user of the local stack's demo data.
type DemoUser struct {
	Email string `json:"email"`
	Admin bool   `json:"admin"`
	Note  string `json:"note"`
}

// DemoUsers are the users the local stack seeds.
var DemoUsers = []DemoUser{
	{Email: "admin@registry.example", Admin: true, Note: "Operator IT team (admin)"},
	{Email: "alice@acme.example", Note: "Acme Ltd: credential manager of Acme Search and Acme Data Sync"},
	{Email: "bob@acme.example", Note: "Acme Ltd: credential manager of Acme Search"},
	{Email: "victor@acme.example", Note: "Acme Ltd: viewer of Acme Search"},
	{Email: "carol@globex.example", Note: "Globex GmbH: credential manager of Globex Matching"},
	{Email: "dave@globex.example", Note: "Globex GmbH: credential manager of Globex Matching"},
}

// Load reads the configuration from the function's environment, failing
// with a message naming whatever is missing or malformed.
func Load(getenv func(string) string) (Config, error) {
	c := Config{
		SignInMode:        strings.TrimSpace(getenv("SIGN_IN_MODE")),
		Issuer:            strings.TrimSpace(getenv("OIDC_ISSUER")),
		AuthorizeEndpoint: strings.TrimSpace(getenv("OIDC_AUTHORIZE_URL")),
		TokenEndpoint:     strings.TrimSpace(getenv("OIDC_TOKEN_URL")),
		LogoutEndpoint:    strings.TrimSpace(getenv("OIDC_LOGOUT_URL")),
		ClientID:          strings.TrimSpace(getenv("OIDC_CLIENT_ID")),
		RedirectURI:       strings.TrimSpace(getenv("PORTAL_URL")),
		APIBase:           strings.TrimSuffix(strings.TrimSpace(getenv("API_BASE")), "/"),
		Scope:             "openid email profile",
		SupportContact:    strings.TrimSpace(getenv("SUPPORT_CONTACT")),
		MaxLifetimeDays:   365,
		ActiveSecretLimit: secret.DefaultActiveLimit,
	}
	if c.SignInMode == "" {
		c.SignInMode = ModeOIDC
	}
	var errs []error
	if v := getenv("MAX_LIFETIME_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("MAX_LIFETIME_DAYS must be a positive whole number, not %q", v))
		}
		c.MaxLifetimeDays = n
	}
	if v := getenv("ACTIVE_SECRET_LIMIT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("ACTIVE_SECRET_LIMIT must be a positive whole number, not %q", v))
		}
		c.ActiveSecretLimit = n
	}
	thresholds := getenv("REMINDER_THRESHOLDS")
	if thresholds == "" {
		thresholds = DefaultThresholds
	}
	ts, err := ParseThresholds(thresholds)
	if err != nil {
		errs = append(errs, fmt.Errorf("REMINDER_THRESHOLDS: %w", err))
	}
	c.ReminderThresholds = ts
	trusted, err := federation.FromEnv(getenv)
	if err != nil {
		errs = append(errs, err)
	}
	c.TrustedIssuers = trusted.List()
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// DefaultThresholds are the reminder thresholds when REMINDER_THRESHOLDS is
// not set: the sweep's own default.
const DefaultThresholds = "30,14,7,3,1,0"

// ParseThresholds reads REMINDER_THRESHOLDS as the sweep reads it (whole
// days from 0 to 3650, comma-separated, none twice) and returns them largest
// first. The portal function keeps its own copy of this small rule so that
// it does not link the sweep and its mail client; a test holds the two to
// the same answers.
func ParseThresholds(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 || n > 3650 {
			return nil, fmt.Errorf("%q is not a whole number of days from 0 to 3650", f)
		}
		if slices.Contains(out, n) {
			return nil, fmt.Errorf("%d appears twice", n)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out, nil
}

// Validate checks that the configuration can sign anyone in.
func (c Config) Validate() error {
	var errs []error
	switch c.SignInMode {
	case ModeLocal:
	case ModeOIDC:
		if c.ClientID == "" {
			errs = append(errs, errors.New("OIDC_CLIENT_ID is not set"))
		}
		for _, v := range []struct{ name, value string }{
			{"OIDC_ISSUER", c.Issuer}, {"OIDC_AUTHORIZE_URL", c.AuthorizeEndpoint}, {"OIDC_TOKEN_URL", c.TokenEndpoint},
		} {
			if err := checkURL(v.name, v.value, true); err != nil {
				errs = append(errs, err)
			}
		}
		if err := checkURL("OIDC_LOGOUT_URL", c.LogoutEndpoint, false); err != nil {
			errs = append(errs, err)
		}
	default:
		errs = append(errs, fmt.Errorf("SIGN_IN_MODE must be %s or %s, not %q", ModeOIDC, ModeLocal, c.SignInMode))
	}
	if c.RedirectURI == "" {
		errs = append(errs, errors.New("PORTAL_URL is not set"))
	} else if u, err := url.Parse(c.RedirectURI); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("PORTAL_URL %q is not an http(s) URL", c.RedirectURI))
	}
	return errors.Join(errs...)
}

// checkURL requires an https URL (http is accepted for loopback hosts, for
// local issuers).
func checkURL(name, v string, required bool) error {
	if v == "" {
		if required {
			return fmt.Errorf("%s is not set", name)
		}
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s %q is not a URL", name, v)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
		return fmt.Errorf("%s %q must use https", name, v)
	}
	return nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// origin is scheme://host[:port] of an absolute URL, or "".
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
