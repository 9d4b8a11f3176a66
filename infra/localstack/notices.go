package localstack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"credportal/infra/emulator"
	"credportal/infra/lambdarun"
	"credportal/shared/outbox"
	"credportal/shared/store"
)

// NoticeFunction is the template's security notice sender. In AWS the
// table's stream invokes it for each notice a change leaves in the outbox;
// here the stack polls the outbox and invokes it with the event the stream
// would send (the emulator's own streams are not read: they misbehave after
// a cancelled transaction).
const NoticeFunction = "SendNoticesFunction"

// noticePoll is how often the stack looks in the outbox.
const noticePoll = 250 * time.Millisecond

// noticeBatch is the most notices one invocation gets, as the template's
// BatchSize.
const noticeBatch = 10

// notices delivers the outbox's notices until the stack stops.
type notices struct {
	store *store.Store
	fn    *lambdarun.Instance
	logs  io.Writer
	arn   string
	seq   int64
	// retryAt holds back a notice whose delivery failed, doubling its wait
	// from a second to a minute, as the stream's retries would.
	retryAt map[string]time.Time
	wait    map[string]time.Duration
}

func (s *Stack) startNotices(fn *lambdarun.Instance) {
	n := &notices{
		store: store.New(dynamodb.NewFromConfig(s.Emulator.Config()), s.TableName), fn: fn, logs: prefixed(s.logs, "notices"),
		arn:     "arn:aws:dynamodb:" + emulator.Region + ":123456789012:table/" + s.TableName + "/stream/local",
		retryAt: map[string]time.Time{}, wait: map[string]time.Duration{},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	// Stopping cancels an invocation in flight rather than wait for it.
	s.stopNotices = func() { cancel(); <-done }
	go func() {
		defer close(done)
		t := time.NewTicker(noticePoll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				n.poll(ctx)
			}
		}
	}()
}

// poll invokes the sender once for the pending notices that are not held
// back.
func (n *notices) poll(ctx context.Context) {
	ids, err := n.store.PendingNotices(ctx, 100)
	if err != nil {
		if ctx.Err() == nil {
			fmt.Fprintf(n.logs, "could not read the outbox: %v\n", err)
		}
		return
	}
	now := time.Now()
	var batch []events.DynamoDBEventRecord
	bySeq := map[string]string{}
	for _, id := range ids {
		if now.Before(n.retryAt[id]) {
			continue
		}
		n.seq++
		seq := strconv.FormatInt(n.seq, 10)
		bySeq[seq] = id
		batch = append(batch, events.DynamoDBEventRecord{
			EventID: seq, EventName: string(events.DynamoDBOperationTypeInsert), EventVersion: "1.1", EventSource: "aws:dynamodb",
			AWSRegion: emulator.Region, EventSourceArn: n.arn,
			Change: events.DynamoDBStreamRecord{
				ApproximateCreationDateTime: events.SecondsEpochTime{Time: now},
				Keys: map[string]events.DynamoDBAttributeValue{
					"PK": events.NewStringAttribute(outbox.OutboxPartition), "SK": events.NewStringAttribute(id),
				},
				SequenceNumber: seq, StreamViewType: string(events.DynamoDBStreamViewTypeKeysOnly),
			},
		})
		if len(batch) == noticeBatch {
			break
		}
	}
	if len(batch) == 0 {
		return
	}
	payload, _ := json.Marshal(events.DynamoDBEvent{Records: batch})
	out, err := n.fn.Invoke(ctx, payload)
	var res events.DynamoDBEventResponse
	if err == nil {
		if err = json.Unmarshal(out, &res); err == nil && res.BatchItemFailures == nil {
			err = fmt.Errorf("answered %s", out)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return // stopping
		}
		fmt.Fprintf(n.logs, "the notice sender failed: %v\n", err)
		for _, r := range batch {
			n.holdBack(r.Change.SequenceNumber, bySeq, now)
		}
		return
	}
	for _, f := range res.BatchItemFailures {
		n.holdBack(f.ItemIdentifier, bySeq, now)
	}
	for _, id := range bySeq {
		if !n.retryAt[id].After(now) { // delivered: forget its past failures
			delete(n.retryAt, id)
			delete(n.wait, id)
		}
	}
}

func (n *notices) holdBack(seq string, bySeq map[string]string, now time.Time) {
	id, ok := bySeq[seq]
	if !ok {
		return
	}
	w := min(max(2*n.wait[id], time.Second), time.Minute)
	n.wait[id], n.retryAt[id] = w, now.Add(w)
}
