// Package sweep wires the scheduled expiry sweep from its environment.
package sweep

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"credportal/shared/config"
	"credportal/shared/mail"
	"credportal/shared/reminder"
	"credportal/shared/store"
)

// Env is the expiry sweep's configuration.
type Env struct {
	TableName string
	Mail      config.MailEnv
	Reminder  reminder.Config
}

// Load reads Env: TABLE_NAME, the mail settings,
// REMINDER_THRESHOLDS (default "30,14,7,3,1,0") and SES_MAX_SEND_RATE
// (messages per second, default 10).
func Load(getenv config.Getenv) (Env, error) {
	m, err := config.LoadMail(getenv)
	e := Env{TableName: getenv("TABLE_NAME"), Mail: m, Reminder: reminder.DefaultConfig()}
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

// Sweep builds the expiry sweep over the SDK configuration.
func (e Env) Sweep(cfg aws.Config) *reminder.Sweep {
	st := store.New(dynamodb.NewFromConfig(cfg), e.TableName)
	// One attempt per send: SES has no idempotency key, so a retried send
	// whose first answer was lost would mail twice. The sweep backs off from
	// throttling itself and leaves other failures to its next run.
	ses := sesv2.NewFromConfig(cfg, func(o *sesv2.Options) { o.RetryMaxAttempts = 1 })
	return reminder.New(st, mail.NewMailer(ses, e.Mail.Sender), e.Reminder, time.Now, rand.Reader)
}

// Must builds the expiry sweep at cold start, or exits with a clear message.
func Must() *reminder.Sweep {
	return config.MustLoad(Load).Sweep(config.MustAWS())
}
