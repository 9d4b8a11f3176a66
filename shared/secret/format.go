// Package secret holds the client-secret value format, its keyed hashing and
// the lifetime policy. It knows nothing of storage or transport.
package secret

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/big"
	"strings"
)

const (
	// DefaultPrefix starts every secret value unless configured otherwise, so a
	// leaked value can be recognised by a secret scanner.
	DefaultPrefix = "cps_"
	// bodyLen is the base62 width of 256 random bits (62^43 > 2^256).
	bodyLen = 43
	// checksumLen is the base62 width of a CRC32 (62^6 > 2^32).
	checksumLen = 6
	// HintLen is how many characters after the prefix are shown in lists.
	HintLen = 3
)

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// ErrMalformed is returned for a value that is not a well-formed secret: wrong
// prefix, length, alphabet or checksum. No database read is needed to say so.
var ErrMalformed = errors.New("malformed client secret")

// Format describes secret values with a given prefix.
type Format struct {
	Prefix string
}

// Len is the length of every value in this format.
func (f Format) Len() int { return len(f.Prefix) + bodyLen + checksumLen }

// Generate returns a new value: prefix, 256 bits from random in base62, then
// the base62 CRC32 of everything before it.
func (f Format) Generate(random io.Reader) (string, error) {
	var raw [32]byte
	if _, err := io.ReadFull(random, raw[:]); err != nil {
		return "", fmt.Errorf("read randomness: %w", err)
	}
	body := f.Prefix + base62(new(big.Int).SetBytes(raw[:]), bodyLen)
	return body + checksum(body), nil
}

// Check reports whether value is well formed, without any storage access.
func (f Format) Check(value string) error {
	if len(value) != f.Len() || !strings.HasPrefix(value, f.Prefix) {
		return ErrMalformed
	}
	for _, c := range []byte(value[len(f.Prefix):]) {
		if strings.IndexByte(alphabet, c) < 0 {
			return ErrMalformed
		}
	}
	cut := len(value) - checksumLen
	if checksum(value[:cut]) != value[cut:] {
		return ErrMalformed
	}
	return nil
}

// Hint is the short, non-secret part of a value shown in lists: the first
// HintLen characters after the prefix.
func (f Format) Hint(value string) string {
	start := len(f.Prefix)
	if len(value) < start+HintLen {
		return ""
	}
	return value[start : start+HintLen]
}

func checksum(s string) string {
	return base62(new(big.Int).SetUint64(uint64(crc32.ChecksumIEEE([]byte(s)))), checksumLen)
}

// base62 encodes n left-padded with zeros to width characters.
func base62(n *big.Int, width int) string {
	out := make([]byte, width)
	base := big.NewInt(62)
	mod := new(big.Int)
	for i := width - 1; i >= 0; i-- {
		n.DivMod(n, base, mod)
		out[i] = alphabet[mod.Int64()]
	}
	return string(out)
}
