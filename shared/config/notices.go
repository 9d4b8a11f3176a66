package config

import "errors"

// Notices is the environment of the security notice sender.
type Notices struct {
	TableName string
	Mail      MailEnv
}

// LoadNotices reads Notices: TABLE_NAME and the mail settings, of which
// PORTAL_URL is required here: every notice links to the application.
func LoadNotices(getenv Getenv) (Notices, error) {
	m, err := LoadMail(getenv)
	e := Notices{TableName: getenv("TABLE_NAME"), Mail: m}
	errs := []error{err}
	if e.TableName == "" {
		errs = append(errs, errors.New("TABLE_NAME is not set"))
	}
	if m.PortalURL == "" {
		errs = append(errs, errors.New("PORTAL_URL is not set"))
	}
	return e, errors.Join(errs...)
}
