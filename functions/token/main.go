// Command token is the Lambda function of POST /oauth2/token.
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

	"credportal/shared/config"
	"credportal/shared/federation"
	"credportal/shared/keys"
	"credportal/shared/oauth"
	"credportal/shared/store"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	env, err := config.LoadTokens(os.Getenv)
	fed, fedErr := config.LoadFederation(os.Getenv)
	cfg, awsErr := config.AWS(context.Background())
	if err := errors.Join(err, fedErr, awsErr); err != nil {
		slog.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	st := store.New(dynamodb.NewFromConfig(cfg), env.TableName)
	sm := secretsmanager.NewFromConfig(cfg)
	peppers := keys.NewPeppers(sm, env.PepperSecretID, time.Now)
	// The token endpoint creates the signing key when the secret holds none.
	signing := keys.NewSigningKeys(sm, env.SigningSecretID, time.Now, rand.Reader).GenerateWith(sm)
	// Tokens of trusted issuers authenticate through federated credentials;
	// the issuers' keys are fetched and cached by the function.
	federated := federation.NewAuthenticator(federation.NewVerifier(fed.Trusted, federation.NewHTTPClient(), time.Now), st)
	server := oauth.NewServer(st, peppers, signing, env.OAuth(), time.Now, rand.Reader, oauth.WithFederation(federated))
	lambda.Start(server.TokenHandler())
}
