package federation

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"credportal/shared/oauth"
	"credportal/shared/portal"
)

// marks records MarkFederatedUsed calls, failing when told to.
type marks struct {
	mu    sync.Mutex
	calls []string
	fail  error
}

func (m *marks) MarkFederatedUsed(_ context.Context, clientID, appID, credentialID string, _ time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, clientID+"/"+appID+"/"+credentialID)
	return m.fail == nil, m.fail
}

func TestAuthenticate(t *testing.T) {
	c := &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	iss := newTestIssuer(t, c)
	m := &marks{}
	a := NewAuthenticator(newTestVerifier(trustedLoopback(t, iss.URL()), c), m)
	recent := c.now().Add(-time.Minute)
	client := portal.Client{ID: "cid", ApplicationID: "app", Federated: []portal.FederatedCredential{
		{ID: "fed_main", Issuer: iss.URL(), Subject: "repo:acme/app:ref:refs/heads/main", Audience: "https://portal.example"},
		{ID: "fed_recent", Issuer: iss.URL(), Subject: "repo:acme/app:environment:prod", Audience: "https://portal.example", LastUsedAt: &recent},
	}}
	tok := func(sub, aud string) string {
		s, err := iss.Token(sub, aud)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	id, err := a.Authenticate(context.Background(), client, tok("repo:acme/app:ref:refs/heads/main", "https://portal.example"), c.now())
	if err != nil || id != "fed_main" {
		t.Fatalf("got %q %v", id, err)
	}
	if len(m.calls) != 1 || m.calls[0] != "cid/app/fed_main" {
		t.Fatalf("marks %v", m.calls)
	}
	// Used within the precision: no write.
	if id, err := a.Authenticate(context.Background(), client, tok("repo:acme/app:environment:prod", "https://portal.example"), c.now()); err != nil || id != "fed_recent" {
		t.Fatalf("got %q %v", id, err)
	}
	if len(m.calls) != 1 {
		t.Fatalf("a use within the precision was written: %v", m.calls)
	}
	// A failure to record does not fail the request.
	m.fail = errors.New("injected")
	if _, err := a.Authenticate(context.Background(), client, tok("repo:acme/app:ref:refs/heads/main", "https://portal.example"), c.now()); err != nil {
		t.Fatalf("a failed write failed the request: %v", err)
	}
	// Another client's credentials do not authenticate it.
	other := portal.Client{ID: "other", ApplicationID: "app2", Federated: []portal.FederatedCredential{
		{ID: "fed_other", Issuer: iss.URL(), Subject: "repo:acme/other:ref:refs/heads/main", Audience: "https://portal.example"},
	}}
	if _, err := a.Authenticate(context.Background(), other, tok("repo:acme/app:ref:refs/heads/main", "https://portal.example"), c.now()); !errors.Is(err, ErrNoCredential) {
		t.Fatalf("another application's subject: %v", err)
	}
	if _, err := a.Authenticate(context.Background(), portal.Client{ID: "none"}, tok("s", "a"), c.now()); !errors.Is(err, ErrNoCredential) {
		t.Fatalf("no credentials: %v", err)
	}
	// An issuer that cannot be read is unavailable, not a refusal.
	iss.srv.Config.Handler = http.NotFoundHandler()
	down := NewAuthenticator(newTestVerifier(trustedLoopback(t, iss.URL()), c), m)
	if _, err := down.Authenticate(context.Background(), client, tok("repo:acme/app:ref:refs/heads/main", "https://portal.example"), c.now()); !errors.Is(err, oauth.ErrFederationUnavailable) || !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("issuer down: %v", err)
	}
}
