// Command delete-key is the Lambda function of DELETE /v1/applications/{applicationId}/keys/{keyId}.
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
	"credportal/shared/httpapi"
	"credportal/shared/mail"
	"credportal/shared/portal"
	"credportal/shared/store"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	env, err := config.Load(os.Getenv)
	m, mailErr := config.LoadMail(os.Getenv)
	cfg, awsErr := config.AWS(context.Background())
	if err := errors.Join(err, mailErr, awsErr); err != nil {
		slog.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	st := store.New(dynamodb.NewFromConfig(cfg), env.TableName)
	notices := mail.NewNotifier(mail.NewMailer(sesv2.NewFromConfig(cfg), m.Sender, m.SenderName), st, m.PortalURL, m.Fallback)
	// Keys are public: no pepper is involved.
	svc := portal.NewService(st, nil, env.Portal, time.Now, rand.Reader, portal.WithNotifier(notices))
	api := httpapi.API{Service: svc, Identity: env.Identity}
	lambda.Start(api.DeleteKey())
}
