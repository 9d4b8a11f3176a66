package ids

import (
	"crypto/rand"
	"sort"
	"testing"
	"time"
)

func TestNewIsValidAndSortsByTime(t *testing.T) {
	base := time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)
	var got []string
	for i := 0; i < 50; i++ {
		id, err := New(Secret, base.Add(time.Duration(i)*time.Millisecond), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if !Valid(Secret, id) {
			t.Fatalf("Valid(%q) = false", id)
		}
		if Valid(Application, id) {
			t.Fatalf("Valid(app, %q) = true", id)
		}
		got = append(got, id)
	}
	if !sort.StringsAreSorted(got) {
		t.Fatalf("ids not in creation order: %v", got)
	}
}

func TestValidRejects(t *testing.T) {
	for _, id := range []string{"", "sec_", "sec_0123456789abcdefghjkmnpqr", "sec_0123456789abcdefghjkmnpqrI", "SEC_0123456789abcdefghjkmnpqrs", "sec_0123456789abcdefghjkmnpqrst", "../sec_0123456789abcdefghjkmnpq"} {
		if Valid(Secret, id) {
			t.Errorf("Valid(%q) = true", id)
		}
	}
	if !Valid(Secret, "sec_0123456789abcdefghjkmnpqrs") {
		t.Error("well-formed id rejected")
	}
}
