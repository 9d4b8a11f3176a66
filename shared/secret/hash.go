package secret

import (
	"crypto/hmac"
	"crypto/sha256"
)

// Pepper is the server-side key that secret values are hashed with. Version
// identifies it, so a stored hash can be checked after the pepper rotates.
type Pepper struct {
	Version string
	Key     []byte
}

// Digest is HMAC-SHA256(pepper, value): the only form in which a value is kept.
func Digest(key []byte, value string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(value))
	return m.Sum(nil)
}

// Matches reports in constant time whether value hashes to digest under key.
func Matches(key []byte, value string, digest []byte) bool {
	return hmac.Equal(Digest(key, value), digest)
}
