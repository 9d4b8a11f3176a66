// Command smoke checks a deployed portal from outside (`make smoke
// URL=https://portal.example/`): its metadata, signing keys, UI and API
// description, and a token when CLIENT_ID and CLIENT_SECRET are set.
package main

import (
	"context"
	"fmt"
	"os"

	"credportal/infra/smoke"
)

func main() {
	portal := os.Getenv("URL")
	if len(os.Args) > 1 {
		portal = os.Args[1]
	}
	if portal == "" || len(os.Args) > 2 {
		fmt.Fprintln(os.Stderr, "usage: smoke <the portal's URL>  (or URL=…; CLIENT_ID and CLIENT_SECRET to check a token)")
		os.Exit(2)
	}
	cfg := smoke.Config{URL: portal, ClientID: os.Getenv("CLIENT_ID"), ClientSecret: os.Getenv("CLIENT_SECRET"), Out: os.Stdout}
	if err := smoke.Check(context.Background(), cfg); err != nil {
		fmt.Fprintln(os.Stderr, "smoke:", err)
		os.Exit(1)
	}
}
