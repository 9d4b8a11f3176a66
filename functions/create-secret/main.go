// Command create-secret is the Lambda function of POST /v1/applications/{applicationId}/secrets.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"credportal/shared/config/notify"
)

func main() {
	clients := notify.Must()
	lambda.Start(clients.API().CreateSecret())
}
