// Command portal is the Lambda function of the portal's web UI: GET /,
// GET /config.json and GET /assets/{proxy+}.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"credportal/shared/webui"
)

func main() {
	lambda.Start(webui.Must().Handle)
}
