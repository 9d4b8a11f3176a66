package portal_test

import (
	"slices"
	"testing"
	"time"

	"credportal/shared/portal"
)

func TestSecretExpiries(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name    string
		secrets map[string]time.Time
		want    []time.Time
	}{
		{"none", nil, []time.Time{}},
		{"soonest first, expired included, in UTC", map[string]time.Time{
			"sec_b": t0.Add(30 * day),
			"sec_a": t0.Add(-2 * day).In(time.FixedZone("CET", 3600)),
			"sec_c": t0.Add(3 * day),
		}, []time.Time{t0.Add(-2 * day), t0.Add(3 * day), t0.Add(30 * day)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := portal.Application{Secrets: tc.secrets}.SecretExpiries()
			if !slices.EqualFunc(got, tc.want, func(a, b time.Time) bool { return a.Equal(b) && a.Location() == time.UTC }) {
				t.Fatalf("SecretExpiries = %v, want %v", got, tc.want)
			}
		})
	}
}
