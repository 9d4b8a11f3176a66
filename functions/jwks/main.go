// Command jwks is the Lambda function of GET /.well-known/jwks.json and GET
// /.well-known/oauth-authorization-server.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"credportal/shared/config"
)

func main() {
	env, cfg := config.MustOAuth()
	lambda.Start(config.NewDiscovery(env, cfg).Handler())
}
