package secret

import (
	"errors"
	"fmt"
	"time"
)

// Day is the unit of secret lifetimes.
const Day = 24 * time.Hour

// Defaults of the configurable policy.
const (
	DefaultMaxLifetimeDays = 365
	DefaultActiveLimit     = 3
)

// ErrLifetime is returned for a lifetime outside the policy.
var ErrLifetime = errors.New("lifetime outside policy")

// Policy bounds the secrets of one application.
type Policy struct {
	MaxLifetimeDays int // longest lifetime a secret may be created with
	ActiveLimit     int // most unexpired secrets an application may hold
}

// DefaultPolicy is the policy when nothing is configured.
func DefaultPolicy() Policy {
	return Policy{MaxLifetimeDays: DefaultMaxLifetimeDays, ActiveLimit: DefaultActiveLimit}
}

// ExpiryForDays returns the expiry of a secret created at now with a lifetime
// of days whole days.
func (p Policy) ExpiryForDays(now time.Time, days int) (time.Time, error) {
	if days < 1 || days > p.MaxLifetimeDays {
		return time.Time{}, fmt.Errorf("%w: lifetimeDays must be between 1 and %d", ErrLifetime, p.MaxLifetimeDays)
	}
	return now.UTC().Truncate(time.Second).Add(time.Duration(days) * Day), nil
}

// CheckExpiry validates an explicit expiry chosen at now: at least one day
// ahead and no further than the maximum lifetime. It returns the expiry in UTC
// to the second.
func (p Policy) CheckExpiry(now, expiresAt time.Time) (time.Time, error) {
	at := expiresAt.UTC().Truncate(time.Second)
	now = now.UTC().Truncate(time.Second)
	if at.Before(now.Add(Day)) || at.After(now.Add(time.Duration(p.MaxLifetimeDays)*Day)) {
		return time.Time{}, fmt.Errorf("%w: expiresAt must be between 1 and %d days from now", ErrLifetime, p.MaxLifetimeDays)
	}
	return at, nil
}
