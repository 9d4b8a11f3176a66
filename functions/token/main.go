// Command token is the Lambda function of POST /oauth2/token.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"credportal/shared/config"
)

func main() {
	env, cfg := config.MustOAuth()
	lambda.Start(config.NewTokenServer(env, cfg).TokenHandler())
}
