package mail

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"time"
)

// Sending once. The expiry sweep and the notice sender each claim a
// message's recipients just before sending it and record it sent after SES
// accepts it; these are the parts they share.

// ClaimToken returns a random token that names one sender's claims.
func ClaimToken(random io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", fmt.Errorf("claim token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// RecordSent calls record, the write that marks a sent message's claim sent,
// up to four times with short pauses, even when ctx has ended: its failure
// is the one way a message could go out twice.
func RecordSent(ctx context.Context, record func(context.Context) error) error {
	ctx = context.WithoutCancel(ctx)
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		if attempt > 0 {
			_ = Sleep(ctx, time.Duration(attempt)*50*time.Millisecond)
		}
		if err = record(ctx); err == nil {
			return nil
		}
	}
	return err
}

// Sleep waits d, or until ctx ends (returning its error).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
