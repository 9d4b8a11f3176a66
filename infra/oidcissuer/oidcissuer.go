// Package oidcissuer is a minimal OpenID Connect issuer for one machine: it
// publishes a discovery document and a key set and signs tokens for any
// subject and audience. The local stack serves it as its loopback issuer, so
// federated credentials work without any external identity provider; tests
// use it as a well-behaved issuer.
package oidcissuer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	_ "crypto/sha256" // the thumbprint's hash
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// TokenLifetime is how long an issued token is valid.
const TokenLifetime = 10 * time.Minute

// maxClaim bounds the subject and audience a token may be given.
const maxClaim = 255

// Issuer signs tokens with an ES256 key of its own.
type Issuer struct {
	url string
	key *ecdsa.PrivateKey
	kid string
	now func() time.Time
}

// New makes an issuer identified by url (no trailing slash), with a fresh
// key.
func New(url string, now func() time.Time) (*Issuer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate the issuer's key: %w", err)
	}
	jwk := jose.JSONWebKey{Key: &key.PublicKey}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("thumbprint: %w", err)
	}
	return &Issuer{url: url, key: key, kid: base64.RawURLEncoding.EncodeToString(thumb), now: now}, nil
}

// URL is the issuer identifier.
func (i *Issuer) URL() string { return i.url }

// KeyID is the kid of the issuer's key.
func (i *Issuer) KeyID() string { return i.kid }

// Token signs a token for sub and aud, valid for TokenLifetime.
func (i *Issuer) Token(sub, aud string) (string, error) {
	if sub == "" || len(sub) > maxClaim || aud == "" || len(aud) > maxClaim {
		return "", fmt.Errorf("sub and aud must each be 1 to %d bytes", maxClaim)
	}
	now := i.now()
	return i.SignClaims(jwt.Claims{
		Issuer: i.url, Subject: sub, Audience: jwt.Audience{aud},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(TokenLifetime)),
	})
}

// SignClaims signs any claims with the issuer's key.
func (i *Issuer) SignClaims(claims jwt.Claims) (string, error) { return Sign(i.key, i.kid, claims) }

// Sign signs claims ES256 with key, naming kid.
func Sign(key *ecdsa.PrivateKey, kid string, claims jwt.Claims) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), kid))
	if err != nil {
		return "", fmt.Errorf("signer: %w", err)
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// Discovery is the issuer's discovery document.
func (i *Issuer) Discovery() map[string]any {
	return map[string]any{
		"issuer": i.url, "jwks_uri": i.url + "/jwks",
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
	}
}

// JWKS is the issuer's key set.
func (i *Issuer) JWKS() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &i.key.PublicKey, KeyID: i.kid, Algorithm: "ES256", Use: "sig"}}}
}

// Handler serves, relative to the issuer's path: the discovery document at
// /.well-known/openid-configuration, the key set at /jwks, and
// GET /token?sub=S&aud=A → {"token":"<JWT>"}. Mount it with
// http.StripPrefix of the issuer's path.
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, i.Discovery())
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, i.JWKS())
	})
	mux.HandleFunc("GET /token", func(w http.ResponseWriter, r *http.Request) {
		tok, err := i.Token(r.URL.Query().Get("sub"), r.URL.Query().Get("aud"))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{"code": "invalid_request", "message": err.Error()}})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"token": tok})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
