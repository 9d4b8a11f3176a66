// Package publickey reads the public keys that clients register to sign
// their token requests (private_key_jwt): PEM certificates, PEM public keys
// and JWKs, of the kinds the portal accepts, and verifies JWS signatures
// made with them. Nothing that holds private key material is ever accepted.
package publickey

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"hash"
	"math/big"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Kinds of registered key.
const (
	TypeCertificate = "certificate"
	TypePublicKey   = "public_key"
)

// MinRSABits is the smallest RSA modulus accepted.
const MinRSABits = 2048

// Failures of Parse. None of them carries any part of the input.
var (
	ErrPrivateKey  = errors.New("private key material")
	ErrMalformed   = errors.New("not a PEM certificate, PEM public key or JWK")
	ErrUnsupported = errors.New("unsupported key type or size")
	// ErrNotForSigning is a JWK marked for another use than signing: "use"
	// other than "sig", or "key_ops" without "verify".
	ErrNotForSigning = errors.New("the key is not for signing")
)

// Key is a registered public key as the portal keeps it.
type Key struct {
	Type       string // TypeCertificate or TypePublicKey
	Public     crypto.PublicKey
	DER        []byte     // PKIX SubjectPublicKeyInfo
	Thumbprint string     // RFC 7638 SHA-256 JWK thumbprint, base64url
	Algorithms []string   // JWS algorithms the key may sign with
	NotAfter   *time.Time // a certificate's end of validity
}

// privateMembers are the JWK members that carry private or symmetric key
// material (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// Parse reads text: a PEM certificate or PUBLIC KEY block, or a JWK JSON
// object. Text holding private key material anywhere is ErrPrivateKey.
func Parse(text []byte) (Key, error) {
	trimmed := bytes.TrimSpace(text)
	if holdsPrivatePEM(trimmed) {
		return Key{}, ErrPrivateKey
	}
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return parseJWK(trimmed)
	}
	return parsePEM(trimmed)
}

// holdsPrivatePEM reports whether text has a PEM block of a private key,
// wherever it is and whatever else is around it.
func holdsPrivatePEM(text []byte) bool {
	for rest := text; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if strings.Contains(block.Type, "PRIVATE") {
			return true
		}
	}
	return bytes.Contains(text, []byte("PRIVATE KEY-----"))
}

func parsePEM(text []byte) (Key, error) {
	block, rest := pem.Decode(text)
	if block == nil || len(bytes.TrimSpace(rest)) > 0 || len(block.Headers) > 0 {
		return Key{}, ErrMalformed
	}
	switch block.Type {
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return Key{}, ErrMalformed
		}
		k, err := fromPublic(cert.PublicKey)
		if err != nil {
			return Key{}, err
		}
		notAfter := cert.NotAfter.UTC()
		k.Type, k.NotAfter = TypeCertificate, &notAfter
		return k, nil
	case "PUBLIC KEY":
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			if strings.Contains(err.Error(), "unknown public key algorithm") {
				return Key{}, ErrUnsupported
			}
			return Key{}, ErrMalformed
		}
		return fromPublic(pub)
	case "RSA PUBLIC KEY":
		pub, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return Key{}, ErrMalformed
		}
		return fromPublic(pub)
	}
	return Key{}, ErrMalformed
}

// commonMembers are the members RFC 7517 §4 defines for every key type;
// publicMembers, a key type's public parameters (RFC 7518 §6.2.1, §6.3.1;
// RFC 8037 §2). A JWK holding any other member is refused: an unknown
// member is data the portal would keep without knowing what it is.
var (
	commonMembers = []string{"kty", "kid", "alg", "use", "key_ops", "x5c", "x5t", "x5t#S256", "x5u", "ext"}
	publicMembers = map[string][]string{"EC": {"crv", "x", "y"}, "RSA": {"n", "e"}, "OKP": {"crv", "x"}}
)

// mayBePrivate reports whether a JWK member's name could carry private key
// material: a private member in any letter case ("D"), or a name that says
// so.
func mayBePrivate(member string) bool {
	lower := strings.ToLower(member)
	if slices.Contains(privateMembers, lower) {
		return true
	}
	for _, word := range []string{"priv", "secret", "seed"} {
		if strings.Contains(lower, word) {
			return true
		}
	}
	return false
}

func parseJWK(text []byte) (Key, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(text, &members); err != nil {
		return Key{}, ErrMalformed
	}
	var kty string
	_ = json.Unmarshal(members["kty"], &kty)
	for m := range members {
		if mayBePrivate(m) {
			return Key{}, ErrPrivateKey
		}
	}
	for m := range members {
		if !slices.Contains(commonMembers, m) && !slices.Contains(publicMembers[kty], m) {
			return Key{}, ErrMalformed
		}
	}
	if err := forSigning(members); err != nil {
		return Key{}, err
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(text); err != nil {
		return Key{}, ErrMalformed
	}
	if !jwk.IsPublic() {
		return Key{}, ErrPrivateKey
	}
	return fromPublic(jwk.Key)
}

// forSigning refuses a JWK whose "use" is not "sig" or whose "key_ops" lacks
// "verify" (RFC 7517 §4.2, §4.3).
func forSigning(members map[string]json.RawMessage) error {
	if raw, ok := members["use"]; ok {
		var use string
		if json.Unmarshal(raw, &use) != nil || use != "sig" {
			return ErrNotForSigning
		}
	}
	if raw, ok := members["key_ops"]; ok {
		var ops []string
		if json.Unmarshal(raw, &ops) != nil || !slices.Contains(ops, "verify") {
			return ErrNotForSigning
		}
	}
	return nil
}

// fromPublic checks the key is of an accepted kind and describes it.
func fromPublic(pub crypto.PublicKey) (Key, error) {
	var algs []string
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			algs = []string{"ES256"}
		case elliptic.P384():
			algs = []string{"ES384"}
		default:
			return Key{}, ErrUnsupported
		}
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return Key{}, ErrUnsupported
		}
		algs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	case ed25519.PublicKey:
		algs = []string{"EdDSA"}
	default:
		return Key{}, ErrUnsupported
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return Key{}, ErrUnsupported
	}
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return Key{}, ErrUnsupported
	}
	return Key{
		Type: TypePublicKey, Public: pub, DER: der,
		Thumbprint: base64.RawURLEncoding.EncodeToString(tp), Algorithms: algs,
	}, nil
}

// FromDER reads a key back from its stored PKIX form.
func FromDER(der []byte) (crypto.PublicKey, error) {
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, err
	}
	return pub, nil
}

// SigningAlgorithms are every algorithm a registered key may allow, as the
// authorization server metadata lists them.
func SigningAlgorithms() []string {
	return []string{"ES256", "ES384", "EdDSA", "Ed25519", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
}

// Allows reports whether a key allowing algs may sign with alg. RFC 9864's
// fully specified "Ed25519" is the one "EdDSA" (RFC 8037) an Ed25519 key
// signs with, so a key that allows EdDSA allows it too: current client
// libraries (oauth4webapi, openid-client) sign Ed25519 assertions with it.
func Allows(algs []string, alg string) bool {
	return slices.Contains(algs, alg) || alg == "Ed25519" && slices.Contains(algs, "EdDSA")
}

// ErrSignature is a signature that does not verify, or an algorithm the key
// cannot sign with.
var ErrSignature = errors.New("signature does not verify")

// Verify checks sig over signed (a JWS signing input) with alg and pub. Only
// the asymmetric algorithms of SigningAlgorithms verify; none and HMAC never
// do.
func Verify(pub crypto.PublicKey, alg string, signed, sig []byte) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		var h hash.Hash
		size := 0
		switch {
		case alg == "ES256" && k.Curve == elliptic.P256():
			h, size = sha256.New(), 32
		case alg == "ES384" && k.Curve == elliptic.P384():
			h, size = sha512.New384(), 48
		default:
			return ErrSignature
		}
		if len(sig) != 2*size {
			return ErrSignature
		}
		h.Write(signed)
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		if !ecdsa.Verify(k, h.Sum(nil), r, s) {
			return ErrSignature
		}
		return nil
	case *rsa.PublicKey:
		var h crypto.Hash
		switch alg[min(len(alg), 2):] {
		case "256":
			h = crypto.SHA256
		case "384":
			h = crypto.SHA384
		case "512":
			h = crypto.SHA512
		default:
			return ErrSignature
		}
		hh := h.New()
		hh.Write(signed)
		digest := hh.Sum(nil)
		switch alg[:2] {
		case "RS":
			if rsa.VerifyPKCS1v15(k, h, digest, sig) != nil {
				return ErrSignature
			}
		case "PS":
			if rsa.VerifyPSS(k, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) != nil {
				return ErrSignature
			}
		default:
			return ErrSignature
		}
		return nil
	case ed25519.PublicKey:
		if alg != "EdDSA" && alg != "Ed25519" || !ed25519.Verify(k, signed, sig) {
			return ErrSignature
		}
		return nil
	}
	return ErrSignature
}
