package scanning

import (
	"errors"
	"strings"
	"testing"
)

func TestParseReport(t *testing.T) {
	long := strings.Repeat("a", MaxFieldBytes+1)
	ok := []struct {
		name string
		body string
		want []Match
	}{
		{"one match", `[{"token":"cps_a","type":"portal_client_secret","url":"https://github.com/o/r/blob/1/a","source":"content"}]`,
			[]Match{{Token: "cps_a", Type: "portal_client_secret", URL: "https://github.com/o/r/blob/1/a", Source: "content"}}},
		{"without url and source", `[{"token":"cps_a","type":"t"}]`, []Match{{Token: "cps_a", Type: "t"}}},
		{"two, surrounded by white space", " \n[{\"token\":\"a\",\"type\":\"t\",\"url\":\"u\",\"source\":\"s\"},{\"token\":\"b\",\"type\":\"t\",\"url\":\"\",\"source\":\"\"}]\n",
			[]Match{{Token: "a", Type: "t", URL: "u", Source: "s"}, {Token: "b", Type: "t"}}},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseReport([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("match %d: got %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
	bad := map[string]string{
		"empty":                  ``,
		"an object":              `{"token":"a","type":"t"}`,
		"an empty array":         `[]`,
		"null":                   `null`,
		"a null entry":           `[null]`,
		"an unknown field":       `[{"token":"a","type":"t","url":"","source":"","secret":"x"}]`,
		"no token":               `[{"type":"t","url":"","source":""}]`,
		"an empty token":         `[{"token":"","type":"t"}]`,
		"no type":                `[{"token":"a","url":"","source":""}]`,
		"a number token":         `[{"token":1,"type":"t"}]`,
		"an array of arrays":     `[["a"]]`,
		"two arrays":             `[{"token":"a","type":"t"}][{"token":"a","type":"t"}]`,
		"trailing garbage":       `[{"token":"a","type":"t"}]x`,
		"unterminated":           `[{"token":"a","type":"t"}`,
		"a long url":             `[{"token":"a","type":"t","url":"` + long + `"}]`,
		"a long token":           `[{"token":"` + long + `","type":"t"}]`,
		"a name in another case": `[{"Token":"a","type":"t"}]`,
		"a repeated name":        `[{"token":"a","type":"t","token":"b"}]`,
		"not UTF-8":              "[{\"token\":\"a\xff\",\"type\":\"t\"}]",
		"a lone surrogate":       `[{"token":"a\ud800","type":"t"}]`,
	}
	for name, body := range bad {
		t.Run(name, func(t *testing.T) {
			if got, err := ParseReport([]byte(body)); !errors.Is(err, ErrMalformedReport) {
				t.Fatalf("ParseReport = %v, %v; want ErrMalformedReport", got, err)
			}
		})
	}
	t.Run("more than the most matches", func(t *testing.T) {
		body := "[" + strings.Repeat(`{"token":"a","type":"t"},`, MaxMatches) + `{"token":"a","type":"t"}]`
		if _, err := ParseReport([]byte(body)); !errors.Is(err, ErrTooManyMatches) {
			t.Fatalf("ParseReport = %v, want ErrTooManyMatches", err)
		}
	})
	t.Run("exactly the most matches", func(t *testing.T) {
		body := "[" + strings.Repeat(`{"token":"a","type":"t"},`, MaxMatches-1) + `{"token":"a","type":"t"}]`
		if got, err := ParseReport([]byte(body)); err != nil || len(got) != MaxMatches {
			t.Fatalf("ParseReport = %d matches, %v", len(got), err)
		}
	})
}

func TestFeedbackFor(t *testing.T) {
	// sha256("cps_example") computed independently: printf cps_example | sha256sum
	got := FeedbackFor(Match{Token: "cps_example", Type: "portal_client_secret"}, TruePositive)
	want := Feedback{TokenHash: "1f8d83a9176ee8d82293046e054b755ee21cff6b0eff4fa930bac2c623e5e0f5", TokenType: "portal_client_secret", Label: "true_positive"}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func FuzzParseReport(f *testing.F) {
	f.Add([]byte(`[{"token":"cps_a","type":"t","url":"u","source":"content"}]`))
	f.Add([]byte(`[{"token":"a","type":"t"},{"token":"b","type":"t"}]`))
	f.Add([]byte(`[null]`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		matches, err := ParseReport(body)
		if err != nil {
			if matches != nil {
				t.Fatal("matches with an error")
			}
			return
		}
		if len(matches) == 0 || len(matches) > MaxMatches {
			t.Fatalf("%d matches accepted", len(matches))
		}
		for _, m := range matches {
			if m.Token == "" || m.Type == "" || len(m.URL) > MaxFieldBytes || len(m.Token) > MaxFieldBytes {
				t.Fatalf("accepted %+v", m)
			}
		}
	})
}
