// Command delete-federated-credential is the Lambda function of DELETE /v1/applications/{applicationId}/federated-credentials/{credentialId}.
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
	fed, fedErr := config.LoadFederation(os.Getenv)
	cfg, awsErr := config.AWS(context.Background())
	if err := errors.Join(err, fedErr, awsErr); err != nil {
		slog.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	st := store.New(dynamodb.NewFromConfig(cfg), env.TableName)
	// Federated credentials hold no secret: no pepper.
	svc := portal.NewFederatedService(portal.NewService(st, nil, env.Portal, time.Now, rand.Reader), st, fed.Policy)
	api := httpapi.FederatedAPI{Service: svc, Identity: env.Identity}
	lambda.Start(api.Delete())
}
