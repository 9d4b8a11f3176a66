package oauth

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	jose "github.com/go-jose/go-jose/v4"

	"credportal/shared/portal"
	"credportal/shared/publickey"
)

// Routes of the discovery function.
const (
	JWKSPath     = "/.well-known/jwks.json"
	MetadataPath = "/.well-known/oauth-authorization-server"
	TokenPath    = "/oauth2/token"
)

// PublishedKeys gives the key set verifiers accept.
type PublishedKeys interface {
	JWKS(ctx context.Context) (jose.JSONWebKeySet, error)
}

// Discovery serves what verifiers and clients read: the signing keys and the
// authorization server metadata.
type Discovery struct {
	Keys      PublishedKeys
	Issuer    string // no trailing slash
	Catalogue portal.Catalogue
}

// Metadata is the RFC 8414 authorization server metadata.
type Metadata struct {
	Issuer                            string   `json:"issuer"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgs      []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
}

// Metadata describes the server.
func (d Discovery) Metadata() Metadata {
	scopes := make([]string, 0, len(d.Catalogue))
	for _, api := range d.Catalogue {
		scopes = append(scopes, api.ID)
	}
	return Metadata{
		Issuer: d.Issuer, TokenEndpoint: d.Issuer + TokenPath, JWKSURI: d.Issuer + JWKSPath,
		GrantTypesSupported:               []string{GrantClientCredentials},
		TokenEndpointAuthMethodsSupported: []string{AuthBasic, AuthPost, AuthPrivateKeyJWT},
		TokenEndpointAuthSigningAlgs:      publickey.SigningAlgorithms(),
		ScopesSupported:                   scopes, ResponseTypesSupported: []string{},
	}
}

// Handler serves GET /.well-known/jwks.json and GET
// /.well-known/oauth-authorization-server, told apart by the route key or,
// failing that, the path.
func (d Discovery) Handler() Handler {
	return func(ctx context.Context, req Request) (Response, error) {
		path := req.RawPath
		if _, p, ok := strings.Cut(req.RouteKey, " "); ok {
			path = p
		}
		switch {
		case strings.HasSuffix(path, JWKSPath):
			set, err := d.Keys.JWKS(ctx)
			if err != nil {
				slog.ErrorContext(ctx, "signing keys not read", "error", err.Error())
				return publicJSON(http.StatusInternalServerError, errorBody{Error: CodeServerError, Description: "The signing keys could not be read; try again later."}, "no-store"), nil
			}
			// Until the first key exists, no verifier may keep the empty set.
			cache := "public, max-age=300"
			if len(set.Keys) == 0 {
				cache = "no-store"
			}
			return publicJSON(http.StatusOK, set, cache), nil
		case strings.HasSuffix(path, MetadataPath):
			return publicJSON(http.StatusOK, d.Metadata(), "public, max-age=300"), nil
		}
		return publicJSON(http.StatusNotFound, errorBody{Error: "not_found", Description: "No such document."}, "no-store"), nil
	}
}

func publicJSON(status int, v any, cache string) Response {
	body, _ := json.Marshal(v)
	return Response{StatusCode: status, Body: string(body), Headers: map[string]string{
		"Content-Type": "application/json", "Cache-Control": cache, "X-Content-Type-Options": "nosniff",
	}}
}
