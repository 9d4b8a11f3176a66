// Command get-application is the Lambda function of GET /v1/applications/{applicationId}.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"credportal/shared/config"
)

func main() {
	clients := config.Must()
	lambda.Start(clients.API().GetApplication())
}
