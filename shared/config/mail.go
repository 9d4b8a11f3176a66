package config

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	mailer "credportal/shared/mail"
	"credportal/shared/portal"
	"credportal/shared/reminder"
	"credportal/shared/store"
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

// Notifier builds the security-notice sender over the SDK configuration.
func (m MailEnv) Notifier(cfg aws.Config, st *store.Store) *mailer.Notifier {
	return mailer.NewNotifier(mailer.NewMailer(sesv2.NewFromConfig(cfg), m.Sender), st, m.PortalURL, m.Fallback)
}

// MustWithNotices is Must for the functions that change secrets: their
// service emails the credential managers a security notice on every change.
func MustWithNotices() *Clients {
	slog.SetDefault(lambdacontext.NewLogger())
	env, err := Load(os.Getenv)
	m, merr := LoadMail(os.Getenv)
	if err = errors.Join(err, merr); err != nil {
		fail(err)
	}
	cfg, err := AWS(context.Background())
	if err != nil {
		fail(err)
	}
	st := store.New(dynamodb.NewFromConfig(cfg), env.TableName)
	return New(env, cfg, portal.WithNotifier(m.Notifier(cfg, st)))
}

// SweepEnv is the expiry sweep's configuration.
type SweepEnv struct {
	TableName string
	Mail      MailEnv
	Reminder  reminder.Config
}

// LoadSweep reads SweepEnv: TABLE_NAME, the mail settings,
// REMINDER_THRESHOLDS (default "30,14,7,3,1,0") and SES_MAX_SEND_RATE
// (messages per second, default 10).
func LoadSweep(getenv Getenv) (SweepEnv, error) {
	m, err := LoadMail(getenv)
	e := SweepEnv{TableName: getenv("TABLE_NAME"), Mail: m, Reminder: reminder.DefaultConfig()}
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
func (e SweepEnv) Sweep(cfg aws.Config) *reminder.Sweep {
	st := store.New(dynamodb.NewFromConfig(cfg), e.TableName)
	return reminder.New(st, mailer.NewMailer(sesv2.NewFromConfig(cfg), e.Mail.Sender), e.Reminder, time.Now, rand.Reader)
}

// MustSweep builds the expiry sweep at cold start, or exits with a clear
// message.
func MustSweep() *reminder.Sweep {
	slog.SetDefault(lambdacontext.NewLogger())
	env, err := LoadSweep(os.Getenv)
	if err != nil {
		fail(err)
	}
	cfg, err := AWS(context.Background())
	if err != nil {
		fail(err)
	}
	return env.Sweep(cfg)
}
