// Command build-function builds one function of template.yaml as its Lambda
// `bootstrap`: `build-function <LogicalId> <dir>` writes <dir>/bootstrap.
// The Makefile's build-<LogicalId> targets, which `sam build` runs, call it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"credportal/infra/lambdabuild"
	"credportal/infra/template"
)

func main() {
	if len(os.Args) != 3 || os.Args[2] == "" {
		fmt.Fprintln(os.Stderr, "usage: build-function <LogicalId> <dir>   (writes <dir>/bootstrap)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	root, err := template.RepoRoot()
	if err == nil {
		err = lambdabuild.Function(ctx, root, os.Args[1], os.Args[2])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "build-function:", err)
		os.Exit(1)
	}
}
