// Command expiry-sweep is the scheduled Lambda function that emails expiry
// reminders for client secrets.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"credportal/shared/config/sweep"
)

func main() {
	lambda.Start(sweep.Must().Handle)
}
