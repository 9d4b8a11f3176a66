// Command create-secret is the Lambda function of POST /v1/applications/{applicationId}/secrets.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"credportal/shared/config"
)

func main() {
	clients := config.MustWithNotices()
	lambda.Start(clients.API().CreateSecret())
}
