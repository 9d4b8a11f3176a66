// Command portal is the Lambda function of the portal's web UI: GET /,
// GET /config.json and GET /assets/{proxy+}.
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"credportal/shared/webui"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	cfg, err := webui.Load(os.Getenv)
	var ui *webui.Handler
	if err == nil {
		ui, err = webui.New(cfg)
	}
	if err != nil {
		// A portal that cannot sign anyone in must not serve.
		slog.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(ui.Handle)
}
