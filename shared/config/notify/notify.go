// Package notify wires the functions that change secrets: their service
// emails the application's credential managers a security notice on every
// change.
package notify

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"credportal/shared/config"
	"credportal/shared/mail"
	"credportal/shared/portal"
	"credportal/shared/store"
)

// Notifier builds the security-notice sender over the SDK configuration.
func Notifier(m config.MailEnv, cfg aws.Config, st *store.Store) *mail.Notifier {
	return mail.NewNotifier(mail.NewMailer(sesv2.NewFromConfig(cfg), m.Sender), st, m.PortalURL, m.Fallback)
}

// Must builds the signed-in clients with security notices at cold start, or
// exits with a clear message.
func Must() *config.Clients {
	env := config.MustLoad(config.Load)
	m := config.MustLoad(config.LoadMail)
	cfg := config.MustAWS()
	st := store.New(dynamodb.NewFromConfig(cfg), env.TableName)
	return config.New(env, cfg, portal.WithNotifier(Notifier(m, cfg, st)))
}
