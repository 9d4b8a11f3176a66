package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"credportal/shared/audit"
	"credportal/shared/portal"
	"credportal/shared/store"
)

func TestMarkSecretUsed(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	app := seedApp(t, st, "Billing")
	sec := newSecret(t, app.ID, t0.Add(48*time.Hour))
	if err := st.AddSecret(ctx, sec, 3, t0, event(t, app.ID, audit.SecretCreated)); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name  string
		at    time.Time
		wrote bool
		want  time.Time
	}{
		{"first use writes", t0.Add(1500 * time.Millisecond), true, t0.Add(time.Second)},
		{"a minute later does not", t0.Add(time.Minute), false, t0.Add(time.Second)},
		{"exactly the precision later does not", t0.Add(time.Second + store.UsedPrecision), false, t0.Add(time.Second)},
		{"a second past it writes", t0.Add(2*time.Second + store.UsedPrecision), true, t0.Add(2*time.Second + store.UsedPrecision)},
		{"an earlier time never goes back", t0, false, t0.Add(2*time.Second + store.UsedPrecision)},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			wrote, err := st.MarkSecretUsed(ctx, app.ID, sec.ID, s.at)
			if err != nil || wrote != s.wrote {
				t.Fatalf("MarkSecretUsed = %v, %v; want %v", wrote, err, s.wrote)
			}
			got, err := st.GetSecret(ctx, app.ID, sec.ID)
			if err != nil || got.LastUsedAt == nil || !got.LastUsedAt.Equal(s.want) {
				t.Fatalf("LastUsedAt = %v, %v; want %v", got.LastUsedAt, err, s.want)
			}
		})
	}
	t.Run("a deleted secret is not brought back", func(t *testing.T) {
		if err := st.RemoveSecret(ctx, app.ID, sec.ID, event(t, app.ID, audit.SecretDeleted)); err != nil {
			t.Fatal(err)
		}
		if wrote, err := st.MarkSecretUsed(ctx, app.ID, sec.ID, t0.Add(time.Hour)); err != nil || wrote {
			t.Fatalf("MarkSecretUsed after delete = %v, %v", wrote, err)
		}
		if _, err := st.GetSecret(ctx, app.ID, sec.ID); !errors.Is(err, portal.ErrNotFound) {
			t.Fatalf("GetSecret after delete = %v", err)
		}
	})
}

func TestClientSecretsAndApplication(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	app := seedApp(t, st, "Billing")
	live := newSecret(t, app.ID, t0.Add(48*time.Hour))
	soon := newSecret(t, app.ID, t0.Add(time.Hour))
	for _, s := range []portal.Secret{live, soon} {
		if err := st.AddSecret(ctx, s, 3, t0, event(t, app.ID, audit.SecretCreated)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.ClientApplication(ctx, app.ClientID)
	if err != nil || got.ID != app.ID || len(got.Secrets) != 2 {
		t.Fatalf("ClientApplication = %+v, %v", got, err)
	}
	if _, err := st.ClientApplication(ctx, "no-such-client"); !errors.Is(err, portal.ErrNotFound) {
		t.Fatalf("unknown client: %v", err)
	}
	for _, c := range []struct {
		at   time.Time
		want int
	}{{t0, 2}, {t0.Add(time.Hour - time.Second), 2}, {t0.Add(time.Hour), 1}, {t0.Add(48 * time.Hour), 0}} {
		secs, err := st.ClientSecrets(ctx, got, c.at)
		if err != nil || len(secs) != c.want {
			t.Fatalf("ClientSecrets at %v = %d, %v; want %d", c.at, len(secs), err, c.want)
		}
	}
}

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
