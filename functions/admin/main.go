// Command admin is the Lambda function of every /v1/admin route; it routes on
// the request's route key.
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
	cognito "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"credportal/shared/config"
	"credportal/shared/directory"
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
	// With the stack's own user pool, a person designated gets a user and
	// Cognito's invitation; with an external sign-in provider, nobody is made.
	var people portal.Directory = directory.None{}
	if pool := config.UserPool(os.Getenv); pool != "" {
		people = directory.NewPool(cognito.NewFromConfig(cfg), pool)
	}
	admin := portal.NewAdmin(st, env.Portal, time.Now, rand.Reader, people)
	api := httpapi.AdminAPI{Admin: admin, Identity: env.Identity}
	lambda.Start(api.Handler())
}
