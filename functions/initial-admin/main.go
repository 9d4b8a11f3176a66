// Command initial-admin is the CloudFormation custom resource that makes
// InitialAdminEmail the first admin of the stack's user pool.
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	cognito "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"credportal/shared/config"
	"credportal/shared/directory"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	poolID, err := config.LoadInitialAdmin(os.Getenv)
	cfg, awsErr := config.AWS(context.Background())
	if err := errors.Join(err, awsErr); err != nil {
		slog.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	pool := directory.NewPool(cognito.NewFromConfig(cfg), poolID)
	lambda.Start(cfn.LambdaWrap(directory.InitialAdmin(pool)))
}
