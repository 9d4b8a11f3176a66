package secret

import (
	"bytes"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// BenchmarkVerify compares checking a presented secret against its stored
// form: HMAC-SHA256 under the pepper, as the portal stores it, beside bcrypt
// at cost 10, which a password store would use. High-entropy secrets need no
// slow hash; the ratio is what the token endpoint saves per request.
func BenchmarkVerify(b *testing.B) {
	value, err := Format{Prefix: DefaultPrefix}.Generate(bytes.NewReader(bytes.Repeat([]byte{42}, 32)))
	if err != nil {
		b.Fatal(err)
	}
	key := bytes.Repeat([]byte("p"), 64)
	b.Run("hmac-sha256", func(b *testing.B) {
		digest := Digest(key, value)
		b.ReportAllocs()
		for b.Loop() {
			if !Matches(key, value, digest) {
				b.Fatal("no match")
			}
		}
	})
	b.Run("bcrypt-cost10", func(b *testing.B) {
		// bcrypt reads at most 72 bytes; the value is 53.
		hash, err := bcrypt.GenerateFromPassword([]byte(value), 10)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if bcrypt.CompareHashAndPassword(hash, []byte(value)) != nil {
				b.Fatal("no match")
			}
		}
	})
}
