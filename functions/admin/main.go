// Command admin is the Lambda function of every /v1/admin route; it routes on
// the request's route key.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"credportal/shared/config"
)

func main() {
	clients := config.Must()
	lambda.Start(clients.AdminAPI().Handler())
}
