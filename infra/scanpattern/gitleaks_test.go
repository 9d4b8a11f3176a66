package scanpattern

import (
	"crypto/rand"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/viper"
	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/detect"

	"credportal/shared/secret"
)

// published is the rule file as the portal publishes it.
func published(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../../docs/gitleaks.toml")
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// detector loads a gitleaks configuration the way the gitleaks command does.
func detector(t *testing.T, toml string) *detect.Detector {
	t.Helper()
	v := viper.New()
	v.SetConfigType("toml")
	if err := v.ReadConfig(strings.NewReader(toml)); err != nil {
		t.Fatalf("read config: %v", err)
	}
	var vc config.ViperConfig
	if err := v.Unmarshal(&vc); err != nil {
		t.Fatalf("unmarshal config: %v", err)
	}
	cfg, err := vc.Translate()
	if err != nil {
		t.Fatalf("translate config: %v", err)
	}
	if len(cfg.Rules) != 1 {
		t.Fatalf("%d rules, want the one", len(cfg.Rules))
	}
	return detect.NewDetector(cfg)
}

func generate(t *testing.T, f secret.Format, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		v, err := f.Generate(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = v
	}
	return out
}

// nearMisses derives, from a real value, strings a careless pattern would
// take for one: another prefix, one character fewer or more, a character
// outside the alphabet, the prefix glued to a word before it.
func nearMisses(prefix, real string) []string {
	body := real[len(prefix):]
	return []string{
		"cpz_" + body,
		"xyz_" + body,
		strings.ToUpper(prefix) + body,
		strings.TrimSuffix(prefix, "_") + "-" + body,
		prefix + body[:len(body)-1],
		prefix + body + "Z",
		prefix + body[:10] + "-" + body[11:],
		prefix + body[:10] + "_" + body[11:],
		prefix + body[:20] + "+" + body[21:],
		prefix + body[:30] + "é" + body[31:],
		"token" + prefix + body,
		prefix + body + "_x",
	}
}

// contexts wrap a value the way it ends up in committed files.
var contexts = []string{
	"CLIENT_SECRET=%s\n",
	`{"client_id": "4f1c2", "client_secret": "%s"}` + "\n",
	"secret: '%s'\n",
	"curl -u \"id:%s\" https://api.example/oauth2/token\n",
	"https://api.example/token?client_secret=%s&grant_type=client_credentials\n",
	"export SECRET=\"%s\" # rotate before June\n",
	"%s",
}

// corpus lays out values one per line, each in a context.
func corpus(values []string) string {
	var b strings.Builder
	for i, v := range values {
		fmt.Fprintf(&b, contexts[i%len(contexts)], v)
		if !strings.HasSuffix(contexts[i%len(contexts)], "\n") {
			b.WriteString("\n")
		}
	}
	return b.String()
}

func found(d *detect.Detector, text string) []string {
	var out []string
	for _, f := range d.DetectString(text) {
		out = append(out, f.Secret)
	}
	slices.Sort(out)
	return out
}

func TestPublishedPatternFindsExactlyTheSecrets(t *testing.T) {
	cases := []struct {
		name   string
		prefix string
		toml   func(t *testing.T) string
	}{
		{"the published file", secret.DefaultPrefix, published},
		{"with another prefix, as the file's comment says to change it", "acme_", func(t *testing.T) string {
			return strings.ReplaceAll(published(t), "cps_", "acme_")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := detector(t, tc.toml(t))
			f := secret.Format{Prefix: tc.prefix}
			real := generate(t, f, 30)
			var misses []string
			for _, v := range real[:10] {
				misses = append(misses, nearMisses(tc.prefix, v)...)
			}
			if tc.prefix != secret.DefaultPrefix {
				// Values of the default prefix are someone else's now.
				misses = append(misses, generate(t, secret.Format{Prefix: secret.DefaultPrefix}, 5)...)
			}
			// Interleave, so that every real value has near misses about it.
			var values []string
			for i, v := range real {
				values = append(values, v)
				if i < len(misses) {
					values = append(values, misses[i*len(misses)/len(real):(i+1)*len(misses)/len(real)]...)
				}
			}
			for _, m := range misses {
				if f.Check(m) == nil {
					t.Fatalf("near miss %q is a well-formed value", m)
				}
			}
			got := found(d, corpus(values))
			want := slices.Clone(real)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("gitleaks found %d values, want the %d real ones\n got %q\nwant %q", len(got), len(want), got, want)
			}
		})
	}
}

// A regular expression cannot check the CRC32: a value with a wrong checksum
// matches the pattern, and the format check the endpoint runs before any
// database read refuses it.
func TestChecksumIsLeftToTheFormatCheck(t *testing.T) {
	d := detector(t, published(t))
	f := secret.Format{Prefix: secret.DefaultPrefix}
	real := generate(t, f, 1)[0]
	last := real[len(real)-1]
	wrong := real[:len(real)-1] + map[bool]string{true: "1", false: "0"}[last == '0']
	got := found(d, corpus([]string{wrong}))
	if !slices.Equal(got, []string{wrong}) {
		t.Fatalf("gitleaks found %q, want the mistyped value", got)
	}
	if f.Check(wrong) == nil {
		t.Fatal("the format check accepts a wrong checksum")
	}
}
