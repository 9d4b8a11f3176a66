package publickey_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"slices"
	"testing"

	"credportal/shared/publickey"
)

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// RFC 7638 §3.1's example key and its thumbprint.
const (
	rfc7638Key        = `{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`
	rfc7638Thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
)

func TestParse(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecPub := pemOf("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&ec.PublicKey)))
	ecPriv := pemOf("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(ec)))
	cases := []struct {
		name  string
		text  []byte
		err   error
		thumb string
	}{
		{"RFC 7638's JWK", []byte(rfc7638Key), nil, rfc7638Thumbprint},
		{"P-256 PEM", ecPub, nil, ""},
		{"PKCS#8 private key", ecPriv, publickey.ErrPrivateKey, ""},
		{"private key after a public one", append(append([]byte{}, ecPub...), ecPriv...), publickey.ErrPrivateKey, ""},
		{"private key armour without valid base64", []byte("-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----"), publickey.ErrPrivateKey, ""},
		{"JWK with d", []byte(`{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}`), publickey.ErrPrivateKey, ""},
		{"symmetric JWK", []byte(`{"kty":"oct","k":"AAAA"}`), publickey.ErrPrivateKey, ""},
		{"empty", nil, publickey.ErrMalformed, ""},
		{"two public keys", append(append([]byte{}, ecPub...), ecPub...), publickey.ErrMalformed, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, err := publickey.Parse(c.text)
			if !errors.Is(err, c.err) || (c.err == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, c.err)
			}
			if c.thumb != "" && k.Thumbprint != c.thumb {
				t.Fatalf("thumbprint %s, want %s", k.Thumbprint, c.thumb)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	msg := []byte("header.payload")
	digest := sha256.Sum256(msg)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	r, s, _ := ecdsa.Sign(rand.Reader, ec, digest[:])
	ecSig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsSig, _ := rsa.SignPKCS1v15(rand.Reader, rk, crypto.SHA256, digest[:])
	psSig, _ := rsa.SignPSS(rand.Reader, rk, crypto.SHA256, digest[:], nil)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	edSig := ed25519.Sign(edPriv, msg)
	cases := []struct {
		name string
		pub  crypto.PublicKey
		alg  string
		sig  []byte
		ok   bool
	}{
		{"ES256", &ec.PublicKey, "ES256", ecSig, true},
		{"ES384 on P-256", &ec.PublicKey, "ES384", ecSig, false},
		{"RS256", &rk.PublicKey, "RS256", rsSig, true},
		{"PS256", &rk.PublicKey, "PS256", psSig, true},
		{"RS256 as PS256", &rk.PublicKey, "PS256", rsSig, false},
		{"HS256", &rk.PublicKey, "HS256", rsSig, false},
		{"EdDSA", edPub, "EdDSA", edSig, true},
		{"none", edPub, "none", nil, false},
		{"short alg", &rk.PublicKey, "R", rsSig, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := publickey.Verify(c.pub, c.alg, msg, c.sig); (err == nil) != c.ok {
				t.Fatalf("Verify = %v, want ok=%v", err, c.ok)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(rfc7638Key))
	f.Add([]byte(`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`))
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		k, err := publickey.Parse(text)
		if err == nil && (len(k.DER) == 0 || len(k.Algorithms) == 0 || len(k.Thumbprint) != 43) {
			t.Fatalf("accepted without a description: %+v", k)
		}
	})
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// A JWK holds only its key type's public members and RFC 7517's common
// ones: a private member in any letter case, or a name that says it is
// private, is private key material; any other member is refused; a key
// marked for encryption is not a signing key.
func TestJWKMembers(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk := func(extra string) []byte {
		x := base64.RawURLEncoding.EncodeToString(ec.PublicKey.X.FillBytes(make([]byte, 32)))
		y := base64.RawURLEncoding.EncodeToString(ec.PublicKey.Y.FillBytes(make([]byte, 32)))
		return []byte(`{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + y + `"` + extra + `}`)
	}
	for _, c := range []struct {
		name  string
		extra string
		err   error
	}{
		{"bare", ``, nil},
		{"common members", `,"kid":"k1","alg":"ES256","use":"sig","key_ops":["verify"],"x5t#S256":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","ext":true`, nil},
		{"private member in upper case", `,"D":"c2VjcmV0"`, publickey.ErrPrivateKey},
		{"private member of another type", `,"dp":"c2VjcmV0"`, publickey.ErrPrivateKey},
		{"a name that says private", `,"privateKey":"c2VjcmV0"`, publickey.ErrPrivateKey},
		{"an unknown member", `,"comment":"hello"`, publickey.ErrMalformed},
		{"another type's public member", `,"n":"AQAB"`, publickey.ErrMalformed},
		{"use enc", `,"use":"enc"`, publickey.ErrNotForSigning},
		{"key_ops without verify", `,"key_ops":["encrypt","wrapKey"]`, publickey.ErrNotForSigning},
		{"key_ops not a list", `,"key_ops":"verify"`, publickey.ErrNotForSigning},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := publickey.Parse(jwk(c.extra))
			if c.err == nil && err != nil || c.err != nil && !errors.Is(err, c.err) {
				t.Fatalf("err %v, want %v", err, c.err)
			}
		})
	}
}

// RFC 9864's "Ed25519" is EdDSA with an Ed25519 key, and nothing else.
func TestAllows(t *testing.T) {
	for _, c := range []struct {
		algs []string
		alg  string
		want bool
	}{
		{[]string{"EdDSA"}, "EdDSA", true},
		{[]string{"EdDSA"}, "Ed25519", true},
		{[]string{"ES256"}, "Ed25519", false},
		{[]string{"ES256"}, "ES256", true},
		{[]string{"ES256"}, "ES384", false},
	} {
		if got := publickey.Allows(c.algs, c.alg); got != c.want {
			t.Errorf("Allows(%v, %s) = %v", c.algs, c.alg, got)
		}
	}
	if !slices.Contains(publickey.SigningAlgorithms(), "Ed25519") || !slices.Contains(publickey.SigningAlgorithms(), "EdDSA") {
		t.Errorf("metadata algorithms %v", publickey.SigningAlgorithms())
	}
}
