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
	notices := outbox.New(st, mail.NewMailer(ses, env.Mail.Sender, env.Mail.SenderName),
		outbox.Config{PortalURL: env.Mail.PortalURL, Fallback: env.Mail.Fallback}, time.Now, rand.Reader)
	lambda.Start(notices.Handle)
}
