// Command secret-scanning is the Lambda function of POST /secret-scanning/github.
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
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"credportal/shared/config"
	"credportal/shared/keys"
	"credportal/shared/mail"
	"credportal/shared/portal"
	"credportal/shared/scanning"
	"credportal/shared/store"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	env, err := config.LoadScanning(os.Getenv)
	cfg, awsErr := config.AWS(context.Background())
	if err := errors.Join(err, awsErr); err != nil {
		slog.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	st := store.New(dynamodb.NewFromConfig(cfg), env.TableName)
	sm := secretsmanager.NewFromConfig(cfg)
	// A value is looked up under every version of the pepper a stored hash may name.
	peppers := keys.NewPeppers(sm, env.PepperSecretID, time.Now).WithVersionLister(sm)
	notices := mail.NewNotifier(mail.NewMailer(sesv2.NewFromConfig(cfg), env.Mail.Sender, env.Mail.SenderName).WithSupport(env.Mail.Support), st, env.Mail.PortalURL, env.Mail.Fallback)
	leaks := portal.NewLeaks(st, peppers, notices, env.LeakAction, time.Now, rand.Reader)
	h := scanning.Handler{
		Keys:    scanning.NewKeys(scanning.NewHTTPClient(), env.KeysURL, time.Now),
		Format:  env.Portal.Format,
		Secrets: leaks,
	}
	lambda.Start(h.Serve)
}
