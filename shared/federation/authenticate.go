package federation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"credportal/shared/oauth"
	"credportal/shared/portal"
)

var _ oauth.Federation = (*Authenticator)(nil)

// UsedMarker records a federated credential's use; *store.Store is one.
type UsedMarker interface {
	MarkFederatedUsed(ctx context.Context, clientID, appID, credentialID string, at time.Time) (bool, error)
}

// Authenticator authenticates clients at the token endpoint with the tokens
// of trusted issuers, against the federated credentials of their client
// item.
type Authenticator struct {
	verifier *Verifier
	marker   UsedMarker
}

// NewAuthenticator checks tokens with v and records uses with m.
func NewAuthenticator(v *Verifier, m UsedMarker) *Authenticator {
	return &Authenticator{verifier: v, marker: m}
}

// Authenticate returns the id of the client's federated credential that
// token matches, and records its use (at most once per
// portal.LastUsedPrecision; a failure to record is logged, never fails the
// request). An error wrapping oauth.ErrFederationUnavailable (and
// ErrKeysUnavailable, which names the issuer) means the issuer's keys could
// not be read, so the token could not be checked; any other error means the
// token does not authenticate the client.
func (a *Authenticator) Authenticate(ctx context.Context, client portal.Client, token string, now time.Time) (string, error) {
	creds := make([]Credential, 0, len(client.Federated))
	for _, fc := range client.Federated {
		creds = append(creds, Credential{ID: fc.ID, Issuer: fc.Issuer, Subject: fc.Subject, Audience: fc.Audience})
	}
	if len(creds) == 0 {
		return "", ErrNoCredential
	}
	cred, err := a.verifier.Verify(ctx, token, creds)
	if errors.Is(err, ErrKeysUnavailable) {
		return "", fmt.Errorf("%w: %w", oauth.ErrFederationUnavailable, err)
	}
	if err != nil {
		return "", err
	}
	for _, fc := range client.Federated {
		if fc.ID != cred.ID || (fc.LastUsedAt != nil && now.Sub(*fc.LastUsedAt) <= portal.LastUsedPrecision) {
			continue
		}
		if _, err := a.marker.MarkFederatedUsed(ctx, client.ID, client.ApplicationID, fc.ID, now); err != nil {
			slog.ErrorContext(ctx, "lastUsedAt not written", "applicationId", client.ApplicationID, "credentialId", fc.ID, "error", err.Error())
		}
	}
	return cred.ID, nil
}
