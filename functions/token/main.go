// Command token is the Lambda function of POST /oauth2/token.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"credportal/shared/config/tokens"
)

func main() {
	env, cfg := tokens.Must()
	lambda.Start(tokens.NewServer(env, cfg).TokenHandler())
}
