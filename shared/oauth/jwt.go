package oauth

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
)

// The access token is a JWS compact serialisation (RFC 7515) of a JWT
// (RFC 9068 profile), signed ES256 (RFC 7518 §3.4: the signature is R and S,
// 32 bytes each). It is written here rather than by a JOSE library: the token
// endpoint makes one per request, and the library's reflection-based JSON
// was most of a request's allocations.

// jwtHeader is the protected header.
type jwtHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// accessClaims are the access token's claims. aud is a string when one API
// is granted, an array otherwise (RFC 7519 §4.1.3 allows both).
type accessClaims struct {
	Iss      string `json:"iss"`
	Sub      string `json:"sub"`
	Aud      any    `json:"aud"`
	Exp      int64  `json:"exp"`
	Iat      int64  `json:"iat"`
	Jti      string `json:"jti"`
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

var b64 = base64.RawURLEncoding

// signES256 returns the compact serialisation of claims under a header
// naming kid, signed with priv.
func signES256(priv *ecdsa.PrivateKey, kid string, claims *accessClaims, random io.Reader) (string, error) {
	header, err := json.Marshal(jwtHeader{Alg: "ES256", Kid: kid, Typ: "at+jwt"})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	const sigLen = 64
	out := make([]byte, 0, b64.EncodedLen(len(header))+1+b64.EncodedLen(len(payload))+1+b64.EncodedLen(sigLen))
	out = b64.AppendEncode(out, header)
	out = append(out, '.')
	out = b64.AppendEncode(out, payload)
	digest := sha256.Sum256(out)
	r, s, err := ecdsa.Sign(random, priv, digest[:])
	if err != nil {
		return "", fmt.Errorf("ES256 signature: %w", err)
	}
	var sig [sigLen]byte
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	out = append(out, '.')
	out = b64.AppendEncode(out, sig[:])
	return string(out), nil
}
