package secret

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"
)

var f = Format{Prefix: DefaultPrefix}

func TestGenerateIsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		v, err := f.Generate(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if len(v) != f.Len() || len(v) != 4+43+6 {
			t.Fatalf("len(%q) = %d", v, len(v))
		}
		if !strings.HasPrefix(v, "cps_") {
			t.Fatalf("%q lacks the prefix", v)
		}
		if err := f.Check(v); err != nil {
			t.Fatalf("Check(%q) = %v", v, err)
		}
		if seen[v] {
			t.Fatalf("duplicate value %q", v)
		}
		seen[v] = true
		if h := f.Hint(v); h != v[4:7] {
			t.Fatalf("Hint = %q", h)
		}
	}
}

func TestGenerateEncodesAll256Bits(t *testing.T) {
	// All-ones input is the largest body: it must still fit in 43 characters
	// and differ from all-zeros.
	ones, err := f.Generate(bytes.NewReader(bytes.Repeat([]byte{0xff}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	zeros, err := f.Generate(bytes.NewReader(make([]byte, 32)))
	if err != nil {
		t.Fatal(err)
	}
	if zeros[4:47] != strings.Repeat("0", 43) || ones[4:47] == zeros[4:47] || f.Check(ones) != nil {
		t.Fatalf("ones=%q zeros=%q", ones, zeros)
	}
}

func TestGenerateFailsWithoutRandomness(t *testing.T) {
	if _, err := f.Generate(bytes.NewReader(make([]byte, 5))); err == nil {
		t.Fatal("short randomness accepted")
	}
}

func TestCheckRejects(t *testing.T) {
	good, _ := f.Generate(rand.Reader)
	flip := func(i int) string {
		b := []byte(good)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	cases := map[string]string{
		"empty":            "",
		"wrong prefix":     "xyz_" + good[4:],
		"no prefix":        good[4:],
		"too short":        good[:len(good)-1],
		"too long":         good + "0",
		"typo in body":     flip(10),
		"typo in checksum": flip(len(good) - 1),
		"bad alphabet":     good[:20] + "-" + good[21:],
		"non-ascii":        good[:20] + "é" + good[22:],
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			if err := f.Check(v); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Check(%q) = %v, want ErrMalformed", v, err)
			}
		})
	}
}

func TestDigestAndMatches(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	v, _ := f.Generate(rand.Reader)
	d := Digest(key, v)
	if len(d) != 32 {
		t.Fatalf("digest length %d", len(d))
	}
	if !Matches(key, v, d) {
		t.Fatal("value does not match its digest")
	}
	if Matches([]byte("another pepper, another digest!!"), v, d) {
		t.Fatal("matched under another pepper")
	}
	other, _ := f.Generate(rand.Reader)
	if Matches(key, other, d) {
		t.Fatal("another value matched")
	}
}

func TestPolicy(t *testing.T) {
	p := DefaultPolicy()
	now := time.Date(2026, 11, 26, 7, 30, 15, 500, time.UTC)
	cases := []struct {
		name string
		days int
		ok   bool
	}{{"zero", 0, false}, {"one", 1, true}, {"max", 365, true}, {"past max", 366, false}, {"negative", -1, false}}
	for _, c := range cases {
		t.Run("days "+c.name, func(t *testing.T) {
			at, err := p.ExpiryForDays(now, c.days)
			if (err == nil) != c.ok {
				t.Fatalf("ExpiryForDays(%d) err = %v", c.days, err)
			}
			if c.ok && !at.Equal(now.Truncate(time.Second).Add(time.Duration(c.days)*Day)) {
				t.Fatalf("expiry %v", at)
			}
		})
	}
	explicit := []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"a day less a second", now.Add(Day - time.Second), false},
		{"exactly a day", now.Truncate(time.Second).Add(Day), true},
		{"max", now.Truncate(time.Second).Add(365 * Day), true},
		{"max plus a second", now.Truncate(time.Second).Add(365*Day + time.Second), false},
		{"in the past", now.Add(-time.Hour), false},
	}
	for _, c := range explicit {
		t.Run("expiresAt "+c.name, func(t *testing.T) {
			if _, err := p.CheckExpiry(now, c.at); (err == nil) != c.ok {
				t.Fatalf("CheckExpiry(%v) err = %v", c.at, err)
			}
		})
	}
}

// FuzzCheck: Check never panics, and whatever it accepts has the format's
// length, prefix and a valid hint.
func FuzzCheck(fz *testing.F) {
	good, _ := f.Generate(bytes.NewReader(bytes.Repeat([]byte{7}, 32)))
	for _, s := range []string{"", "cps_", good, good[:len(good)-1], strings.ToUpper(good), "cps_" + strings.Repeat("z", 49)} {
		fz.Add(s)
	}
	fz.Fuzz(func(t *testing.T, v string) {
		if f.Check(v) != nil {
			return
		}
		if len(v) != f.Len() || !strings.HasPrefix(v, f.Prefix) || len(f.Hint(v)) != HintLen {
			t.Fatalf("accepted malformed %q", v)
		}
	})
}
