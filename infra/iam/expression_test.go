package iam

import (
	"slices"
	"testing"
)

func TestTopLevelNames(t *testing.T) {
	names := map[string]string{"#0": "Status", "#1": "Details", "#2": "Used#abc", "#k": "PK"}
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{"SET #0 = :0, #1.#0 = :1", []string{"Details", "Status"}},
		{"attribute_exists(#k) AND (#0 = :s OR size(#1) > :n)", []string{"Details", "PK", "Status"}},
		{"SET #2 = if_not_exists(#2, :now) REMOVE LockedUntil ADD Failures :one", []string{"Failures", "LockedUntil", "Used#abc"}},
		{"Items[0].Name, Title", []string{"Items", "Title"}},
		{"#0 BETWEEN :a AND :b", []string{"Status"}},
		{"NOT contains(Tags, :t)", []string{"Tags"}},
		{"", nil},
	} {
		set := map[string]bool{}
		topLevelNames(set, tc.expr, names)
		if got := sorted(set); !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("%q: %v, want %v", tc.expr, got, tc.want)
		}
	}
}

func TestEqualityValue(t *testing.T) {
	names := map[string]string{"#0": "PK", "#1": "SK", "#g": "GSI1PK"}
	for _, tc := range []struct{ expr, attr, want string }{
		{"#0 = :0 AND begins_with(#1, :1)", "PK", ":0"},
		{":v = #g", "GSI1PK", ":v"},
		{"PK = :pk AND SK > :sk", "PK", ":pk"},
		{"#1 = :0", "PK", ""},
		{"Nested.PK = :x", "PK", ""},
	} {
		if got := equalityValue(tc.expr, tc.attr, names); got != tc.want {
			t.Errorf("%q on %s: %q, want %q", tc.expr, tc.attr, got, tc.want)
		}
	}
}
