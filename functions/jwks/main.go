// Command jwks is the Lambda function of GET /.well-known/jwks.json and GET
// /.well-known/oauth-authorization-server.
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
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"credportal/shared/config"
	"credportal/shared/keys"
	"credportal/shared/oauth"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	env, err := config.LoadTokens(os.Getenv)
	cfg, awsErr := config.AWS(context.Background())
	if err := errors.Join(err, awsErr); err != nil {
		slog.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	// The discovery documents only read the signing key.
	signing := keys.NewSigningKeys(secretsmanager.NewFromConfig(cfg), env.SigningSecretID, time.Now, rand.Reader)
	discovery := oauth.Discovery{Keys: signing, Issuer: env.Issuer, Catalogue: env.Portal.Catalogue}
	lambda.Start(discovery.Handler())
}
