// Command migrate brings the items of the portal's table to the layout this
// version reads: the client items that hold what the token endpoint needs,
// the secret hash index that finds a secret from its value alone, and the
// keys' entries in the ByExpiry index that the expiry sweep reads. Run it
// once after `sam deploy` has finished; it is idempotent and safe while the
// portal serves requests, so running it again, or after every deploy, does
// no harm. The local stack runs it at start-up.
//
//	eval "$(aws configure export-credentials --format env)"
//	AWS_REGION=eu-west-1 go run ./infra/cmd/migrate -table <TableName>
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"credportal/shared/config"
	"credportal/shared/store"
)

func main() {
	table := flag.String("table", os.Getenv("TABLE_NAME"), "the portal's DynamoDB table (the stack's TableName output)")
	flag.Parse()
	if *table == "" {
		fmt.Fprintln(os.Stderr, "migrate: name the table with -table or TABLE_NAME")
		os.Exit(2)
	}
	ctx := context.Background()
	cfg, err := config.AWS(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "migrate:", err)
		os.Exit(1)
	}
	st := store.New(dynamodb.NewFromConfig(cfg), *table)
	report, err := st.MigrateClients(ctx)
	fmt.Printf("client items: %d applications looked at, %d brought to the current layout\n", report.Applications, report.Migrated)
	if err != nil {
		fmt.Fprintln(os.Stderr, "migrate:", err)
		os.Exit(1)
	}
	hashes, err := st.MigrateSecretHashes(ctx)
	fmt.Printf("secret hash index: %d applications, %d secrets looked at, %d indexed\n", hashes.Applications, hashes.Secrets, hashes.Indexed)
	if err != nil {
		fmt.Fprintln(os.Stderr, "migrate:", err)
		os.Exit(1)
	}
	expiry, err := st.MigrateKeyExpiry(ctx)
	fmt.Printf("key expiry index: %d applications, %d keys looked at, %d indexed\n", expiry.Applications, expiry.Keys, expiry.Indexed)
	if err != nil {
		fmt.Fprintln(os.Stderr, "migrate:", err)
		os.Exit(1)
	}
}
