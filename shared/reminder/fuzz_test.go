package reminder_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"credportal/shared/reminder"
)

// FuzzParseThresholds: whatever REMINDER_THRESHOLDS holds, an accepted list
// is unique whole days from 0 to 3650, largest first, and reads back the same.
func FuzzParseThresholds(f *testing.F) {
	for _, seed := range []string{reminder.DefaultThresholds, "7", " 1, 30 ,7", "3,3", "-1", "1,,2", "9999", "0x10", "+5", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := reminder.ParseThresholds(s)
		if err != nil {
			return
		}
		if len(ts) == 0 || !slices.IsSortedFunc(ts, func(a, b int) int { return b - a }) {
			t.Fatalf("%q → %v: not largest first", s, ts)
		}
		for i, v := range ts {
			if v < 0 || v > 3650 || (i > 0 && ts[i-1] == v) {
				t.Fatalf("%q → %v", s, ts)
			}
		}
		parts := make([]string, len(ts))
		for i, v := range ts {
			parts[i] = strconv.Itoa(v)
		}
		again, err := reminder.ParseThresholds(strings.Join(parts, ","))
		if err != nil || !slices.Equal(again, ts) {
			t.Fatalf("%q → %v does not read back: %v, %v", s, ts, again, err)
		}
	})
}
