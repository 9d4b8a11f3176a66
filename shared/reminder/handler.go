package reminder

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
)

// Handle is the sweep's Lambda handler for the EventBridge schedule. The
// event's content does not matter: the sweep works from the clock. It answers
// with what the run did. A failed reminder makes the invocation fail, so
// Lambda retries it and the alarm on Errors fires; reminders left for lack of
// time are picked up next run.
func (s *Sweep) Handle(ctx context.Context, ev events.EventBridgeEvent) (Result, error) {
	s.log.InfoContext(ctx, "expiry sweep starting", "eventId", ev.ID, "scheduledAt", ev.Time)
	return s.Run(ctx)
}
