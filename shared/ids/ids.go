// Package ids makes the identifiers of the portal's records: a kind prefix and
// a lower-case Crockford base32 ULID, so ids sort by creation time and carry
// 80 random bits.
package ids

import (
	"fmt"
	"io"
	"regexp"
	"time"
)

// Kinds of identifier.
const (
	Organisation = "org"
	Application  = "app"
	Secret       = "sec"
	Key          = "key"
	Event        = "evt"
	// FederatedCredential identifies a federated credential.
	FederatedCredential = "fed"
)

const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

var pattern = regexp.MustCompile(`^[a-z]{3}_[0-9a-hjkmnp-tv-z]{26}$`)

// New returns a fresh id of the given kind, created at now.
func New(kind string, now time.Time, random io.Reader) (string, error) {
	var b [16]byte
	ms := uint64(now.UnixMilli())
	for i := 0; i < 6; i++ {
		b[i] = byte(ms >> (40 - 8*i))
	}
	if _, err := io.ReadFull(random, b[6:]); err != nil {
		return "", fmt.Errorf("read randomness: %w", err)
	}
	return kind + "_" + encode(b), nil
}

// Valid reports whether id is a well-formed id of the given kind.
func Valid(kind, id string) bool {
	return len(id) == len(kind)+27 && id[:len(kind)] == kind && pattern.MatchString(id)
}

// encode writes 128 bits as 26 base32 characters (the top two bits are zero
// padding, as in ULID).
func encode(b [16]byte) string {
	out := make([]byte, 26)
	var acc uint32
	bits := 2 // 130 bits of output for 128 of input: two leading zero bits
	i := 0
	for _, c := range b {
		acc = acc<<8 | uint32(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out[i] = crockford[(acc>>bits)&31]
			i++
		}
	}
	return string(out)
}
