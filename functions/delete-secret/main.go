// Command delete-secret is the Lambda function of DELETE /v1/applications/{applicationId}/secrets/{secretId}.
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

	"credportal/shared/config"
	"credportal/shared/httpapi"
	"credportal/shared/portal"
	"credportal/shared/store"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	env, err := config.Load(os.Getenv)
	cfg, awsErr := config.AWS(context.Background())
	if err := errors.Join(err, awsErr); err != nil {
		slog.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	st := store.New(dynamodb.NewFromConfig(cfg), env.TableName)
	// Deleting a secret needs no pepper.
	svc := portal.NewService(st, nil, env.Portal, time.Now, rand.Reader)
	api := httpapi.API{Service: svc, Identity: env.Identity}
	lambda.Start(api.DeleteSecret())
}
