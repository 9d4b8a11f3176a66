// Command jwks is the Lambda function of GET /.well-known/jwks.json and GET
// /.well-known/oauth-authorization-server.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"credportal/shared/config/tokens"
)

func main() {
	env, cfg := tokens.Must()
	lambda.Start(tokens.NewDiscovery(env, cfg).Handler())
}
