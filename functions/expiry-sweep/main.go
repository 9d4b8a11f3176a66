// Command expiry-sweep is the scheduled Lambda function that emails expiry
// reminders for client secrets.
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
	"credportal/shared/reminder"
	"credportal/shared/store"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	env, err := config.LoadSweep(os.Getenv)
	cfg, awsErr := config.AWS(context.Background())
	if err := errors.Join(err, awsErr); err != nil {
		slog.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	st := store.New(dynamodb.NewFromConfig(cfg), env.TableName)
	// One attempt per send: SES has no idempotency key, so a retried send
	// whose first answer was lost would mail twice. The sweep backs off from
	// throttling itself and leaves other failures to its next run.
	ses := sesv2.NewFromConfig(cfg, func(o *sesv2.Options) { o.RetryMaxAttempts = 1 })
	sweep := reminder.New(st, mail.NewMailer(ses, env.Mail.Sender, env.Mail.SenderName).WithSupport(env.Mail.Support), env.Reminder, time.Now, rand.Reader)
	lambda.Start(sweep.Handle)
}
