// Command delete-secret is the Lambda function of DELETE /v1/applications/{applicationId}/secrets/{secretId}.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"credportal/shared/config/notify"
)

func main() {
	clients := notify.Must()
	lambda.Start(clients.API().DeleteSecret())
}
