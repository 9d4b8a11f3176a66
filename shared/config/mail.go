package config

import (
	"errors"
	"fmt"
	"net/mail"
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
	if m.Sender == "" {
		errs = append(errs, errors.New("SENDER_EMAIL is not set"))
	} else if _, err := mail.ParseAddress(m.Sender); err != nil {
		errs = append(errs, fmt.Errorf("SENDER_EMAIL %q is not an email address", m.Sender))
	}
	if m.Fallback != "" {
		if _, err := mail.ParseAddress(m.Fallback); err != nil {
			errs = append(errs, fmt.Errorf("FALLBACK_EMAIL %q is not an email address", m.Fallback))
		}
	}
	return m, errors.Join(errs...)
}
