package config

import (
	"errors"
	"fmt"
	"strconv"

	"credportal/shared/reminder"
)

// Sweep is the environment of the scheduled expiry sweep.
type Sweep struct {
	TableName string
	Mail      MailEnv
	Reminder  reminder.Config
}

// LoadSweep reads Sweep: TABLE_NAME, the mail settings, REMINDER_THRESHOLDS
// (default "30,14,7,3,1,0") and SES_MAX_SEND_RATE (messages per second,
// default 10).
func LoadSweep(getenv Getenv) (Sweep, error) {
	m, err := LoadMail(getenv)
	e := Sweep{TableName: getenv("TABLE_NAME"), Mail: m, Reminder: reminder.DefaultConfig()}
	errs := []error{err}
	if e.TableName == "" {
		errs = append(errs, errors.New("TABLE_NAME is not set"))
	}
	if ts := getenv("REMINDER_THRESHOLDS"); ts != "" {
		if e.Reminder.Thresholds, err = reminder.ParseThresholds(ts); err != nil {
			errs = append(errs, fmt.Errorf("REMINDER_THRESHOLDS: %w", err))
		}
	}
	if r := getenv("SES_MAX_SEND_RATE"); r != "" {
		rate, err := strconv.ParseFloat(r, 64)
		if err != nil || rate <= 0 || rate > 10000 {
			errs = append(errs, fmt.Errorf("SES_MAX_SEND_RATE must be a positive number of messages per second, not %q", r))
		}
		e.Reminder.MaxSendRate = rate
	}
	e.Reminder.Fallback = m.Fallback
	e.Reminder.PortalURL = m.PortalURL
	return e, errors.Join(errs...)
}
