package config

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"credportal/shared/portal"
)

// MailEnv is the configuration of the portal's emails.
type MailEnv struct {
	Sender     string // SENDER_EMAIL: the SES identity mail is sent from
	SenderName string // SENDER_NAME: the From field's display name (DefaultSenderName if unset)
	PortalURL  string // PORTAL_URL: emails link to <PortalURL>applications/<id>
	Fallback   string // FALLBACK_EMAIL: told when an application has no credential manager
	Support    string // SUPPORT_CONTACT: whom partners ask, named at the end of every email
}

// DefaultSenderName is the display name of the portal's emails when
// SENDER_NAME is not set.
const DefaultSenderName = "Registry API Credentials"

// maxSenderName is the longest display name taken, in characters: with the
// address it keeps the From field short enough for a mail client's list.
const maxSenderName = 64

// LoadMail reads MailEnv; the sender is required.
func LoadMail(getenv Getenv) (MailEnv, error) {
	m := MailEnv{
		Sender: getenv("SENDER_EMAIL"), SenderName: getenv("SENDER_NAME"),
		PortalURL: getenv("PORTAL_URL"), Fallback: getenv("FALLBACK_EMAIL"), Support: getenv("SUPPORT_CONTACT"),
	}
	var errs []error
	if m.SenderName == "" {
		m.SenderName = DefaultSenderName
	} else if err := checkSenderName(m.SenderName); err != nil {
		errs = append(errs, fmt.Errorf("SENDER_NAME %q %w", m.SenderName, err))
	}
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

// checkSenderName takes a display name of 1 to 64 characters of UTF-8, with
// no control character (no line break can reach the header) and not blank,
// without spaces at either end. Any such name can be written in a From field:
// quoted when it is ASCII, as RFC 2047 encoded words when it is not.
func checkSenderName(name string) error {
	switch {
	case !utf8.ValidString(name):
		return errors.New("is not UTF-8")
	case utf8.RuneCountInString(name) > maxSenderName:
		return fmt.Errorf("is longer than %d characters", maxSenderName)
	case strings.TrimSpace(name) != name || name == "":
		return errors.New("is blank or starts or ends with a space")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return errors.New("holds a control character")
	}
	return nil
}
