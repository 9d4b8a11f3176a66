package reminder_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"credportal/shared/ids"
	"credportal/shared/mail"
	"credportal/shared/reminder"
	"credportal/shared/store"
)

// reads counts the items a DynamoDB client reads: those read from the
// ByExpiry index, and all of them (index, applications, designations,
// secrets).
type reads struct {
	index, all atomic.Int64
	mu         sync.Mutex
	spent      map[string]time.Duration // emulator time by operation
}

func (r *reads) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("count-reads",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			start := time.Now()
			out, md, err := next.HandleInitialize(ctx, in)
			r.mu.Lock()
			if r.spent == nil {
				r.spent = map[string]time.Duration{}
			}
			r.spent[awsmiddleware.GetOperationName(ctx)] += time.Since(start)
			r.mu.Unlock()
			if err != nil {
				return out, md, err
			}
			switch res := out.Result.(type) {
			case *dynamodb.QueryOutput:
				r.all.Add(int64(res.Count))
				if q, ok := in.Parameters.(*dynamodb.QueryInput); ok && aws.ToString(q.IndexName) == "ByExpiry" {
					r.index.Add(int64(res.Count))
				}
			case *dynamodb.GetItemOutput:
				if res.Item != nil {
					r.all.Add(1)
				}
			case *dynamodb.BatchGetItemOutput:
				for _, items := range res.Responses {
					r.all.Add(int64(len(items)))
				}
			}
			return out, md, err
		}), middleware.Before)
}

// fill writes n secrets expiring outside the sweep's window (32 to 400 days
// from day0) straight into the table, 25 to a BatchWriteItem, from parallel
// writers, in the store's item layout.
func fill(b *testing.B, db *dynamodb.Client, table string, n int) {
	b.Helper()
	ctx := context.Background()
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		fails atomic.Int64
	)
	batches := (n + 24) / 25
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				batch := int(next.Add(1)) - 1
				if batch >= batches {
					return
				}
				var reqs []types.WriteRequest
				for i := batch * 25; i < min(n, batch*25+25); i++ {
					appID, _ := ids.New(ids.Application, day0, rand.Reader)
					secID, _ := ids.New(ids.Secret, day0, rand.Reader)
					exp := day0.AddDate(0, 0, 32+i%369)
					reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
						"PK": &types.AttributeValueMemberS{Value: "APP#" + appID}, "SK": &types.AttributeValueMemberS{Value: "SECRET#" + secID},
						"ExpiryDay": &types.AttributeValueMemberS{Value: exp.Format(time.DateOnly)},
						"ExpiryKey": &types.AttributeValueMemberS{Value: exp.Format(time.RFC3339) + "#" + appID + "#" + secID},
						"Type":      &types.AttributeValueMemberS{Value: "secret"}, "ID": &types.AttributeValueMemberS{Value: secID},
						"AppID": &types.AttributeValueMemberS{Value: appID}, "Name": &types.AttributeValueMemberS{Value: "Filler " + strconv.Itoa(i)},
						"Hint": &types.AttributeValueMemberS{Value: "abc"}, "Hash": &types.AttributeValueMemberB{Value: []byte{1, 2, 3}},
						"PepperVersion": &types.AttributeValueMemberS{Value: "v1"},
						"CreatedAt":     &types.AttributeValueMemberS{Value: day0.Format(time.RFC3339)},
						"CreatedBy":     &types.AttributeValueMemberS{Value: "m@partner.test"},
						"ExpiresAt":     &types.AttributeValueMemberS{Value: exp.Format(time.RFC3339)},
					}}})
				}
				for len(reqs) > 0 {
					out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: reqs}})
					if err != nil {
						fails.Add(1)
						return
					}
					reqs = out.UnprocessedItems[table]
				}
			}
		}()
	}
	wg.Wait()
	if fails.Load() > 0 {
		b.Fatalf("%d batch writes failed", fails.Load())
	}
}

// scanned counts the items a full table Scan reads (the cost a sweep
// without the date-keyed index would pay). Scan is for this comparison only.
func scanned(b *testing.B, db *dynamodb.Client, table string) int64 {
	b.Helper()
	var total int64
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table), Select: types.SelectCount})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		total += int64(out.ScannedCount)
	}
	return total
}

// BenchmarkSweep measures one sweep over a table of 20,000 secrets, about
// 1% of them in the window: the items it reads beside those a Scan would,
// and the emails it sends beside the secrets due and their recipients. Run
// it once: go test ./shared/reminder -run '^$' -bench Sweep -benchtime 1x
func BenchmarkSweep(b *testing.B) {
	const (
		total    = 20000
		apps     = 100 // each with two secrets in the window
		managers = 60  // shared between applications, so digests group
	)
	f := newFixture(b)
	ctx := context.Background()

	// The window: 200 secrets through the store, expiring over the next 30
	// days (one at a time: the emulator's transactions are not thread-safe).
	recipients := map[string]bool{}
	for i := 0; i < apps; i++ {
		m1, m2 := fmt.Sprintf("m%d@bench.test", i%managers), fmt.Sprintf("m%d@bench.test", (i*7+1)%managers)
		recipients[m1], recipients[m2] = true, true
		app := f.app("Org", "App "+strconv.Itoa(i), []string{m1, m2}, []string{fmt.Sprintf("v%d@bench.test", i)})
		f.secret(app, "Key A", at(i%31, 12, 0))
		f.secret(app, "Key B", at((i+15)%31, 13, 0))
	}
	window := 2 * apps

	raw := dynamodb.NewFromConfig(f.emu.Config(), func(o *dynamodb.Options) { o.RetryMaxAttempts = 3 })
	fill(b, raw, f.table, total-window)

	var counted reads
	db := dynamodb.NewFromConfig(f.emu.Config(), func(o *dynamodb.Options) {
		o.RetryMaxAttempts = 3
		o.APIOptions = append(o.APIOptions, counted.middleware)
	})
	cfg := f.config()
	cfg.MaxSendRate = 1000
	var first reminder.Result
	var firstIndex, firstAll int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		counted.index.Store(0)
		counted.all.Store(0)
		sweep := reminder.New(store.New(db, f.table), mail.NewMailer(f.ses, f.sender, ""), cfg, f.clock, rand.Reader)
		res, err := sweep.Run(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			first, firstIndex, firstAll = res, counted.index.Load(), counted.all.Load()
		}
	}
	b.StopTimer()

	b.Logf("emulator time by DynamoDB operation (all runs): %v", counted.spent)
	scan := scanned(b, raw, f.table)
	secretsDue := first.Due / 2 // two managers each
	b.ReportMetric(float64(window), "window-secrets")
	b.ReportMetric(float64(firstIndex), "index-items-read")
	b.ReportMetric(float64(firstAll), "all-items-read")
	b.ReportMetric(float64(scan), "scan-items-read")
	b.ReportMetric(float64(firstIndex)/float64(window), "read/window")
	b.ReportMetric(float64(scan)/float64(firstIndex), "scan/read")
	b.ReportMetric(float64(first.Sent), "emails")
	b.ReportMetric(float64(secretsDue), "secrets-due")
	b.ReportMetric(float64(len(recipients)), "recipients")
	if float64(firstIndex) > 1.1*float64(window) || float64(scan) < 50*float64(firstIndex) || first.Sent > len(recipients) {
		b.Errorf("targets missed: read %d for %d in the window, scan %d, %d emails for %d recipients", firstIndex, window, scan, first.Sent, len(recipients))
	}
}
