package config

import (
	"errors"
	"fmt"

	"credportal/shared/portal"
)

// MailEnv is the configuration of the portal's emails.
type MailEnv struct {
	Sender    string // SENDER_EMAIL: the SES identity mail is sent from
	PortalURL string // PORTAL_URL: emails link to <PortalURL>applications/<id>
	Fallback  string // FALLBACK_EMAIL: told when an application has no credential manager
}

// LoadMail reads MailEnv; the sender is required.
func LoadMail(getenv Getenv) (MailEnv, error) {
	m := MailEnv{Sender: getenv("SENDER_EMAIL"), PortalURL: getenv("PORTAL_URL"), Fallback: getenv("FALLBACK_EMAIL")}
	var errs []error
	// Both must be addresses SES can write: an ASCII local part, the domain
	// in punycode (converted here), no look-alike (portal.CheckEmail).
	var err error
	if m.Sender == "" {
		errs = append(errs, errors.New("SENDER_EMAIL is not set"))
	} else if m.Sender, err = portal.CheckEmail(m.Sender); err != nil {
		errs = append(errs, fmt.Errorf("SENDER_EMAIL %q is not an address SES can send from", getenv("SENDER_EMAIL")))
	}
	if m.Fallback != "" {
		if m.Fallback, err = portal.CheckEmail(m.Fallback); err != nil {
			errs = append(errs, fmt.Errorf("FALLBACK_EMAIL %q is not an address SES can deliver to", getenv("FALLBACK_EMAIL")))
		}
	}
	return m, errors.Join(errs...)
}
