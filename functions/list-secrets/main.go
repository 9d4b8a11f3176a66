// Command list-secrets is the Lambda function of GET /v1/applications/{applicationId}/secrets.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"credportal/shared/config"
)

func main() {
	clients := config.Must()
	lambda.Start(clients.API().ListSecrets())
}
