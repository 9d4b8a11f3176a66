package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"

	"credportal/shared/portal"
	"credportal/shared/scanning"
)

// Scanning is the environment of the secret scanning endpoint.
type Scanning struct {
	Env
	Mail MailEnv
	// KeysURL (SECRET_SCANNING_KEYS_URL) is where the keys that sign the
	// reports are published: HTTPS, or HTTP on a loopback address (the local
	// stack's stand-in signer).
	KeysURL string
	// LeakAction (LEAK_ACTION) is what a report of one of the portal's
	// secrets does: revoke (the default) or notify.
	LeakAction portal.LeakAction
}

// LoadScanning reads Scanning, failing with a message naming what is wrong.
func LoadScanning(getenv Getenv) (Scanning, error) {
	env, err := Load(getenv)
	m, mailErr := LoadMail(getenv)
	e := Scanning{Env: env, Mail: m, KeysURL: or(getenv("SECRET_SCANNING_KEYS_URL"), scanning.DefaultKeysURL)}
	errs := []error{err, mailErr}
	if e.PepperSecretID == "" {
		errs = append(errs, errors.New("PEPPER_SECRET_ID is not set"))
	}
	if err := checkKeysURL(e.KeysURL); err != nil {
		errs = append(errs, err)
	}
	action, err := portal.ParseLeakAction(getenv("LEAK_ACTION"))
	if err != nil {
		errs = append(errs, fmt.Errorf("LEAK_ACTION: %w", err))
	}
	e.LeakAction = action
	return e, errors.Join(errs...)
}

func checkKeysURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("SECRET_SCANNING_KEYS_URL %q is not a URL", raw)
	}
	if u.Scheme == "https" {
		return nil
	}
	if ip := net.ParseIP(u.Hostname()); u.Scheme == "http" && (u.Hostname() == "localhost" || ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("SECRET_SCANNING_KEYS_URL %q must be https (http only on a loopback address)", raw)
}
