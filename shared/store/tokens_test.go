package store_test

import (
	"context"
	"testing"
	"time"

	"credportal/shared/audit"
)

func TestThrottleRecords(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	app := seedApp(t, st, "Billing")
	const (
		window = 5 * time.Minute
		here   = "198.51.100.7"
		there  = "203.0.113.50"
	)
	start := t0.Truncate(window)
	for i := 1; i <= 3; i++ {
		n, err := st.AddFailure(ctx, app.ClientID, here, start.Add(time.Duration(i)*time.Second), window)
		if err != nil || n != i {
			t.Fatalf("AddFailure #%d = %d, %v", i, n, err)
		}
	}
	for _, c := range []struct {
		name             string
		clientID, source string
		at               time.Time
	}{
		{"the next window starts again", app.ClientID, here, start.Add(window)},
		{"another address counts apart", app.ClientID, there, start},
		{"unknown ids of the address count apart", "", here, start},
	} {
		if n, err := st.AddFailure(ctx, c.clientID, c.source, c.at, window); err != nil || n != 1 {
			t.Fatalf("%s: %d, %v", c.name, n, err)
		}
	}
	if until, err := st.LockedUntil(ctx, app.ClientID, here, start); err != nil || !until.IsZero() {
		t.Fatalf("LockedUntil before any lock = %v, %v", until, err)
	}
	until := start.Add(15 * time.Minute)
	ev := event(t, app.ID, audit.TokenFailures)
	if started, err := st.Lock(ctx, app.ClientID, here, 10, start, until, &ev); err != nil || !started {
		t.Fatalf("Lock = %v, %v", started, err)
	}
	ev2 := event(t, app.ID, audit.TokenFailures)
	if started, err := st.Lock(ctx, app.ClientID, here, 11, start.Add(time.Minute), start.Add(20*time.Minute), &ev2); err != nil || started {
		t.Fatalf("a second Lock while locked = %v, %v", started, err)
	}
	if got, err := st.LockedUntil(ctx, app.ClientID, here, until.Add(-time.Second)); err != nil || !got.Equal(until) {
		t.Fatalf("LockedUntil = %v, %v; want %v", got, err, until)
	}
	for _, other := range [][2]string{{app.ClientID, there}, {"", here}} {
		if got, err := st.LockedUntil(ctx, other[0], other[1], start); err != nil || !got.IsZero() {
			t.Fatalf("LockedUntil of %q from %s = %v, %v", other[0], other[1], got, err)
		}
	}
	if got, err := st.LockedUntil(ctx, app.ClientID, here, until); err != nil || !got.IsZero() {
		t.Fatalf("LockedUntil at its end = %v, %v", got, err)
	}
	evs, err := st.ListEvents(ctx, app.ID, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs.Items {
		if e.Action == audit.TokenFailures {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("token.failures events = %d, want 1", n)
	}
	if started, err := st.Lock(ctx, "", here, 10, start, until, nil); err != nil || !started {
		t.Fatalf("Lock of an address's unknown client ids = %v, %v", started, err)
	}
	if got, err := st.LockedUntil(ctx, "", here, start); err != nil || !got.Equal(until) {
		t.Fatalf("LockedUntil of the unknown ids = %v, %v", got, err)
	}
}
