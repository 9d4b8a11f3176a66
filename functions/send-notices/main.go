// Command send-notices is the Lambda function that delivers the security
// notices changes leave in the outbox: the table's stream, filtered to
// outbox items, invokes it.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"credportal/shared/config"
	"credportal/shared/mail"
	"credportal/shared/outbox"
	"credportal/shared/store"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	env, err := config.LoadNotices(os.Getenv)
	cfg, awsErr := config.AWS(context.Background())
	if err := errors.Join(err, awsErr); err != nil {
		slog.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	st := store.New(dynamodb.NewFromConfig(cfg), env.TableName)
	// One attempt per send: SES has no idempotency key, so a retried send
	// whose first answer was lost would mail twice. A failed send fails the
	// delivery, which the stream retries.
	ses := sesv2.NewFromConfig(cfg, func(o *sesv2.Options) { o.RetryMaxAttempts = 1 })
	// A person designated signs in with a user of the stack's own pool
	// (USER_POOL_ID), or with the operator's own sign-in provider.
	signIn := mail.SignInExternal
	if config.UserPool(os.Getenv) != "" {
		signIn = mail.SignInOwnAccounts
	}
	mailer := mail.NewMailer(ses, env.Mail.Sender, env.Mail.SenderName).WithSupport(env.Mail.Support)
	notices := outbox.New(st, mailer, outbox.Config{PortalURL: env.Mail.PortalURL, Fallback: env.Mail.Fallback, SignIn: signIn}, time.Now, rand.Reader)
	lambda.Start(notices.Handle)
}
