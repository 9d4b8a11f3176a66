// Command list-applications is the Lambda function of GET /v1/applications.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"credportal/shared/config"
)

func main() {
	clients := config.Must()
	lambda.Start(clients.API().ListApplications())
}
