package oauth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"credportal/shared/audit"
	"credportal/shared/keys"
	"credportal/shared/portal"
	"credportal/shared/secret"
)

// Store is what the token endpoint reads and writes. Not-found lookups return
// an error wrapping portal.ErrNotFound.
type Store interface {
	// Client reads, consistently, what authenticating a client id needs: a
	// successful request reads nothing else.
	Client(ctx context.Context, clientID string) (portal.Client, error)
	// MarkSecretUsed sets LastUsedAt unless it was set recently.
	MarkSecretUsed(ctx context.Context, clientID, appID, secretID string, at time.Time) (bool, error)
	// MarkKeyUsed sets a key's LastUsedAt unless it was set recently.
	MarkKeyUsed(ctx context.Context, clientID, appID, keyID string, at time.Time) (bool, error)
	// UseAssertionID records a client assertion's jti until exp; false when
	// it was recorded before (a replay).
	UseAssertionID(ctx context.Context, clientID, jti string, exp, now time.Time) (bool, error)
	Throttle
}

// Throttle keeps the failed-attempt counts and lockouts of (source address,
// client id) pairs. An empty clientID stands for every unknown client id: the
// address alone is counted, and nothing is recorded per client id.
type Throttle interface {
	// LockedUntil is when the pair's lockout ends; zero when not locked.
	LockedUntil(ctx context.Context, clientID, source string, now time.Time) (time.Time, error)
	// AddFailure counts a failure of the pair in the fixed window holding now
	// and returns the window's count.
	AddFailure(ctx context.Context, clientID, source string, now time.Time, window time.Duration) (int, error)
	// Lock starts the pair's lockout unless one is running, recording ev with
	// it when given; it reports whether it started one.
	Lock(ctx context.Context, clientID, source string, failures int, now, until time.Time, ev *audit.Event) (bool, error)
}

// Peppers gives the pepper version a stored hash names.
type Peppers interface {
	Current(ctx context.Context) (secret.Pepper, error)
	Version(ctx context.Context, version string) (secret.Pepper, error)
}

// Keys gives the key that signs access tokens.
type Keys interface {
	Current(ctx context.Context) (keys.SigningKey, error)
}

// ThrottlePolicy says when a (source address, client id) pair is locked out:
// from the Failures-th failed attempt within one fixed Window, for Lockout.
// A lockout refuses failed attempts only: a valid credential always gets its
// token.
type ThrottlePolicy struct {
	Failures int
	Window   time.Duration
	Lockout  time.Duration
}

// Defaults of the token endpoint.
const (
	DefaultTokenLifetime = time.Hour
	DefaultRealm         = "oauth2"
)

// DefaultThrottle locks a pair out for 15 minutes after 10 failures within a
// 5-minute window.
func DefaultThrottle() ThrottlePolicy {
	return ThrottlePolicy{Failures: 10, Window: 5 * time.Minute, Lockout: 15 * time.Minute}
}

// Config is the token endpoint's configuration.
type Config struct {
	Issuer        string // the iss of tokens and the metadata; no trailing slash
	TokenLifetime time.Duration
	Realm         string // of WWW-Authenticate
	Format        secret.Format
	Catalogue     portal.Catalogue
	Throttle      ThrottlePolicy
	// ViewerAddress takes the client's address from CloudFront's
	// CloudFront-Viewer-Address header rather than from the connection API
	// Gateway saw. Set it only where the API accepts traffic from CloudFront
	// alone: anyone reaching the API directly could write the header.
	ViewerAddress bool
}

// DefaultConfig is the configuration for an issuer when nothing else is set.
func DefaultConfig(issuer string) Config {
	return Config{
		Issuer: strings.TrimRight(issuer, "/"), TokenLifetime: DefaultTokenLifetime, Realm: DefaultRealm,
		Format: secret.Format{Prefix: secret.DefaultPrefix}, Catalogue: portal.DefaultCatalogue(), Throttle: DefaultThrottle(),
	}
}

// Server issues access tokens to clients that authenticate with a client
// secret.
type Server struct {
	store   Store
	peppers Peppers
	keys    Keys
	cfg     Config
	now     func() time.Time
	random  io.Reader
	// matches compares a presented value with a stored digest; secret.Matches
	// except in benchmarks that weigh other verifiers.
	matches func(key []byte, value string, digest []byte) bool
	// warmed is set once the first request has started fetching the pepper
	// and the signing key.
	warmed atomic.Bool
	// federation authenticates assertions that identity providers issued.
	federation Federation
}

// Option adjusts a Server.
type Option func(*Server)

// WithFederation authenticates assertions that an identity provider issued
// (their iss is not the client id) through f. Without it, none is accepted.
func WithFederation(f Federation) Option { return func(s *Server) { s.federation = f } }

// NewServer builds the token endpoint's logic. now and random are injected
// so expiry and lockouts can be tested to the second.
func NewServer(store Store, peppers Peppers, k Keys, cfg Config, now func() time.Time, random io.Reader, opts ...Option) *Server {
	s := &Server{store: store, peppers: peppers, keys: k, cfg: cfg, now: now, random: random, matches: secret.Matches, federation: noFederation{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Config returns the server's configuration.
func (s *Server) Config() Config { return s.cfg }

// Token is a successful token response (RFC 6749 §5.1).
type Token struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

// dummyDigest is compared against when there is no stored secret to compare
// with, so an unknown client id costs the same hashing as a known one.
var dummyDigest = make([]byte, 32)

// Issue authenticates the client and, if it may, issues an access token. Its
// errors are *Error, except for failures of the portal itself (server_error).
// The credential is checked before anything else: a valid one always gets a
// token, whatever failures came before it.
func (s *Server) Issue(ctx context.Context, req TokenRequest, meta portal.Request) (Token, error) {
	now := s.now().UTC()
	// A function's first request needs the pepper and the signing key as
	// well as the client: they are fetched while DynamoDB is read.
	var warming sync.WaitGroup
	defer warming.Wait()
	if !s.warmed.Load() && s.warmed.CompareAndSwap(false, true) {
		// Failures are left to the calls that follow, which try again.
		warming.Go(func() { _, _ = s.peppers.Current(ctx) })
		warming.Go(func() { _, _ = s.keys.Current(ctx) })
	}
	var (
		client portal.Client
		use    used
		err    error
	)
	if req.Assertion != "" {
		client, use, err = s.authenticateAssertion(ctx, &req, now)
		if errors.Is(err, errAssertion) {
			// A client id that is not of the portal's format is neither
			// logged nor counted: a secret pasted into client_id (or an
			// assertion's iss) must not reach the logs.
			if !portal.ValidClientID(req.ClientID) {
				req.ClientID = ""
			}
			slog.InfoContext(ctx, "token refused", "reason", err.Error(), "method", req.Method, "clientId", req.ClientID, "applicationId", client.ApplicationID)
			return Token{}, s.fail(ctx, req.ClientID, client.ApplicationID, now, meta)
		}
	} else {
		// A malformed value or client id is rejected before any storage access.
		if !portal.ValidClientID(req.ClientID) || s.cfg.Format.Check(req.Secret) != nil {
			slog.InfoContext(ctx, "token refused", "reason", "malformed credentials", "method", req.Method)
			return Token{}, errInvalidClient
		}
		var sec portal.Secret
		client, sec, err = s.authenticate(ctx, req, now, warming.Wait)
		if errors.Is(err, errInvalidClient) {
			return Token{}, s.fail(ctx, req.ClientID, client.ApplicationID, now, meta)
		}
		use = used{method: req.Method, id: sec.ID, appID: sec.ApplicationID, last: sec.LastUsedAt}
	}
	if err != nil {
		return Token{}, err
	}
	scopes, err := s.grant(client.APIs, req.Scope)
	if err != nil {
		slog.InfoContext(ctx, "token refused", "reason", "scope", "clientId", req.ClientID, "applicationId", client.ApplicationID)
		return Token{}, err
	}
	tok, kid, jti, err := s.sign(ctx, req.ClientID, scopes, now)
	if err != nil {
		return Token{}, err
	}
	s.markUsed(ctx, client.ID, use, now)
	slog.InfoContext(ctx, "token issued", "clientId", req.ClientID, "applicationId", client.ApplicationID, "credentialId", use.id,
		"method", req.Method, "scope", tok.Scope, "kid", kid, "jti", jti)
	return tok, nil
}

// authenticate finds the secret the client presented. Every way of failing
// is errInvalidClient; the client's ApplicationID is set when the client id
// is an application's. warm waits for the fetches of a first request.
func (s *Server) authenticate(ctx context.Context, req TokenRequest, now time.Time, warm func()) (portal.Client, portal.Secret, error) {
	client, err := s.store.Client(ctx, req.ClientID)
	warm()
	if errors.Is(err, portal.ErrNotFound) {
		if err := s.burnHash(ctx, req.Secret); err != nil {
			return portal.Client{}, portal.Secret{}, err
		}
		slog.InfoContext(ctx, "token refused", "reason", "unknown client id", "clientId", req.ClientID)
		return portal.Client{}, portal.Secret{}, errInvalidClient
	}
	if err != nil {
		return portal.Client{}, portal.Secret{}, fmt.Errorf("find client: %w", err)
	}
	var (
		found            portal.Secret
		matched          bool
		checked, active  int
		firstPepperError error
	)
	for _, sec := range client.Secrets {
		if !now.Before(sec.ExpiresAt) {
			continue
		}
		active++
		// A secret whose pepper cannot be read cannot match; it must not
		// stop the application's other secrets from working.
		pepper, err := s.peppers.Version(ctx, sec.PepperVersion)
		if err != nil {
			slog.ErrorContext(ctx, "pepper of a secret unreadable", "secretId", sec.ID, "error", err.Error())
			if firstPepperError == nil {
				firstPepperError = fmt.Errorf("get pepper of secret %s: %w", sec.ID, err)
			}
			continue
		}
		checked++
		if s.matches(pepper.Key, req.Secret, sec.Hash) && !matched {
			found, matched = sec, true
		}
	}
	if !matched && checked == 0 && firstPepperError != nil {
		return client, portal.Secret{}, firstPepperError
	}
	if active == 0 {
		if err := s.burnHash(ctx, req.Secret); err != nil {
			return client, portal.Secret{}, err
		}
	}
	if !matched {
		slog.InfoContext(ctx, "token refused", "reason", "no active secret matches", "clientId", req.ClientID, "applicationId", client.ApplicationID)
		return client, portal.Secret{}, errInvalidClient
	}
	return client, found, nil
}

// burnHash does the hashing a comparison would, against nothing.
func (s *Server) burnHash(ctx context.Context, value string) error {
	pepper, err := s.peppers.Current(ctx)
	if err != nil {
		return fmt.Errorf("get pepper: %w", err)
	}
	s.matches(pepper.Key, value, dummyDigest)
	return nil
}

// fail answers a failed authentication. It is counted for the pair of the
// request's source address and client id (the address alone when the client
// id is no application's); from the policy's limit on, the pair is locked
// out and its failed attempts get 429 until the lockout ends. Throttling
// records are read only here, after a failure. A failure to read or count is
// logged, never shown: the client gets invalid_client.
func (s *Server) fail(ctx context.Context, clientID, appID string, now time.Time, meta portal.Request) error {
	p := s.cfg.Throttle
	counted := clientID
	if appID == "" {
		counted = ""
	}
	source := throttleSource(meta.SourceIP)
	until, err := s.store.LockedUntil(ctx, counted, source, now)
	if err != nil {
		slog.ErrorContext(ctx, "lockout not read", "clientId", clientID, "error", err.Error())
		return errInvalidClient
	}
	if !until.IsZero() {
		slog.InfoContext(ctx, "token refused", "reason", "locked out", "clientId", clientID, "source", source, "lockedUntil", until)
		return throttled(until.Sub(now))
	}
	n, err := s.store.AddFailure(ctx, counted, source, now, p.Window)
	if err != nil {
		slog.ErrorContext(ctx, "token failure not counted", "clientId", clientID, "error", err.Error())
		return errInvalidClient
	}
	if n < p.Failures {
		return errInvalidClient
	}
	until = now.Add(p.Lockout).Truncate(time.Second)
	var ev *audit.Event
	if appID != "" {
		e, err := audit.New(now, s.random, clientID, audit.TokenFailures, appID)
		if err != nil {
			slog.ErrorContext(ctx, "lockout not started", "clientId", clientID, "error", err.Error())
			return errInvalidClient
		}
		e.SourceIP, e.UserAgent, e.RequestID = meta.SourceIP, meta.UserAgent, meta.RequestID
		e.Details = map[string]string{"failures": strconv.Itoa(n), "window": p.Window.String(), "lockedUntil": until.Format(time.RFC3339)}
		ev = &e
	}
	started, err := s.store.Lock(ctx, counted, source, n, now, until, ev)
	if err != nil {
		slog.ErrorContext(ctx, "lockout not started", "clientId", clientID, "error", err.Error())
		return errInvalidClient
	}
	if started {
		slog.WarnContext(ctx, "failed attempts locked out after repeated failures", "clientId", clientID,
			"applicationId", appID, "source", source, "failures", n, "lockedUntil", until)
	}
	return errInvalidClient
}

// throttleSource is the address failures are counted under: an IPv4 address
// as it is, an IPv6 address's /64 (one subscriber's network, which an
// attacker could otherwise walk through address by address), and "unknown"
// for anything else.
func throttleSource(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return "unknown"
	}
	addr = addr.Unmap()
	if addr.Is4() {
		return addr.String()
	}
	p, err := addr.WithZone("").Prefix(64)
	if err != nil {
		return "unknown"
	}
	return p.String()
}

// grant resolves the requested scope against the application's APIs: all of
// them when none is asked for.
func (s *Server) grant(apis []string, scope string) ([]string, error) {
	if len(apis) == 0 {
		return nil, unauthorizedClient()
	}
	asked, ok := parseScope(scope)
	if !ok {
		return nil, invalidScope("The scope is not a space-separated list of API ids.")
	}
	if len(asked) == 0 {
		return apis, nil
	}
	for _, id := range asked {
		if !slices.Contains(apis, id) {
			return nil, invalidScope("The scope names an API this client is not granted: " + id + ".")
		}
	}
	return asked, nil
}

// sign makes the access token: a JWT (RFC 9068 profile) signed ES256 by the
// current key.
func (s *Server) sign(ctx context.Context, clientID string, scopes []string, now time.Time) (Token, string, string, error) {
	key, err := s.keys.Current(ctx)
	if err != nil {
		return Token{}, "", "", fmt.Errorf("get signing key: %w", err)
	}
	var raw [16]byte
	if _, err := io.ReadFull(s.random, raw[:]); err != nil {
		return Token{}, "", "", fmt.Errorf("token id: %w", err)
	}
	jti := base64.RawURLEncoding.EncodeToString(raw[:])
	iat := now.Truncate(time.Second)
	scope := strings.Join(scopes, " ")
	claims := accessClaims{
		Iss: s.cfg.Issuer, Sub: clientID, Aud: scopes, Jti: jti, ClientID: clientID, Scope: scope,
		Iat: iat.Unix(), Exp: iat.Add(s.cfg.TokenLifetime).Unix(),
	}
	if len(scopes) == 1 {
		claims.Aud = scopes[0]
	}
	access, err := signES256(key.Private, key.ID, &claims, s.random)
	if err != nil {
		return Token{}, "", "", fmt.Errorf("sign token: %w", err)
	}
	return Token{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(s.cfg.TokenLifetime / time.Second), Scope: scope}, key.ID, jti, nil
}

// markUsed records the use of a secret or key, at most once per the store's
// precision. The credential as read tells whether a write is due at all; the
// store's conditional write settles races. A failure is logged and never
// fails the request. (A Federation records its own credentials' use.)
func (s *Server) markUsed(ctx context.Context, clientID string, u used, now time.Time) {
	if u.last != nil && now.Sub(*u.last) <= portal.LastUsedPrecision {
		return
	}
	var err error
	switch u.method {
	case AuthBasic, AuthPost:
		_, err = s.store.MarkSecretUsed(ctx, clientID, u.appID, u.id, now)
	case AuthPrivateKeyJWT:
		_, err = s.store.MarkKeyUsed(ctx, clientID, u.appID, u.id, now)
	default:
		return
	}
	if err != nil {
		slog.ErrorContext(ctx, "lastUsedAt not written", "applicationId", u.appID, "credentialId", u.id, "method", u.method, "error", err.Error())
	}
}
