// Package smoke checks a deployed portal from outside, as a client and a
// token verifier see it (`make smoke URL=…`): the authorization server
// metadata, the signing keys, the UI, the API's description and, given a
// client's credentials, a token.
package smoke

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Config says which portal to check.
type Config struct {
	URL string // the portal's URL: https://portal.example/
	// ClientID and ClientSecret, both or neither, are one application's
	// credentials: with them a token is asked for and verified.
	ClientID, ClientSecret string
	HTTP                   *http.Client // nil: a client that follows no redirect
	Out                    io.Writer    // one line per check; nil discards
}

const (
	requestTimeout = 10 * time.Second
	// maxBody bounds every answer read; docs/openapi.json, the largest, is
	// about 160 KB.
	maxBody = 4 << 20
)

// What each check is called, in its line and in the error.
const (
	checkMetadata = "metadata (.well-known/oauth-authorization-server)"
	checkKeys     = "signing keys (jwks_uri)"
	checkUI       = "web UI (/)"
	checkAPI      = "API description (openapi.json)"
	checkToken    = "token (client_credentials)"
)

// Check runs the checks in order, writes one line per check to cfg.Out and
// returns an error naming every check that failed. When nothing answers at
// the URL it stops after the first check.
func Check(ctx context.Context, cfg Config) error {
	base, err := portalURL(cfg.URL)
	if err != nil {
		return err
	}
	c := &checker{ctx: ctx, base: base, http: cfg.HTTP, clientID: cfg.ClientID, secret: cfg.ClientSecret}
	if c.http == nil {
		// The portal answers each of these requests itself: a redirect is
		// reported, not followed.
		c.http = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	out := cfg.Out
	if out == nil {
		out = io.Discard
	}
	var failed failures
	report := func(what string, err error) {
		if err == nil {
			fmt.Fprintf(out, "ok    %s\n", what)
			return
		}
		fmt.Fprintf(out, "FAIL  %s: %v\n", what, err)
		failed = append(failed, fmt.Errorf("%s: %w", what, err))
	}

	meta, err := c.metadata()
	report(checkMetadata, err)
	var down *unreachableError
	if errors.As(err, &down) {
		return failed
	}
	var keys jose.JSONWebKeySet
	if meta == nil {
		report(checkKeys, errNoMetadata)
	} else {
		keys, err = c.signingKeys(meta)
		report(checkKeys, err)
	}
	report(checkUI, c.page())
	report(checkAPI, c.apiDescription())
	if c.clientID != "" || c.secret != "" {
		report(checkToken, c.token(meta, keys))
	}
	if len(failed) == 0 {
		return nil
	}
	return failed
}

// failures is the error Check returns: each failed check, by name.
type failures []error

func (f failures) Error() string {
	msgs := make([]string, len(f))
	for i, err := range f {
		msgs[i] = err.Error()
	}
	noun := "checks"
	if len(f) == 1 {
		noun = "check"
	}
	return fmt.Sprintf("%d %s failed: %s", len(f), noun, strings.Join(msgs, "; "))
}

func (f failures) Unwrap() []error { return f }

var errNoMetadata = errors.New("not checked: it needs the metadata, which failed")

// portalURL checks that raw is an absolute http(s) URL and ends it with "/",
// so that the documents resolve below it.
func portalURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("no portal URL: give one such as https://portal.example/")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("portal URL %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("portal URL %q: want an absolute http(s) URL such as https://portal.example/", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("portal URL %q: want no user, query or fragment", raw)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		u.RawPath = ""
	}
	return u, nil
}

// checker holds what every check needs.
type checker struct {
	ctx              context.Context
	base             *url.URL
	http             *http.Client
	clientID, secret string
}

// metadata is the part of the RFC 8414 document the checks use.
type metadata struct {
	Issuer        string `json:"issuer"`
	TokenEndpoint string `json:"token_endpoint"`
	JWKSURI       string `json:"jwks_uri"`
}

// metadata reads the authorization server metadata: its issuer must be the
// portal's URL, and the endpoints it names absolute https URLs.
func (c *checker) metadata() (*metadata, error) {
	var m metadata
	if err := c.getJSON(c.resolve(".well-known/oauth-authorization-server"), &m); err != nil {
		return nil, err
	}
	if strings.TrimSuffix(m.Issuer, "/") != strings.TrimSuffix(c.base.String(), "/") {
		return nil, fmt.Errorf("issuer is %q, want the portal's URL %s", m.Issuer, c.base)
	}
	if err := c.endpoint("token_endpoint", m.TokenEndpoint); err != nil {
		return nil, err
	}
	if err := c.endpoint("jwks_uri", m.JWKSURI); err != nil {
		return nil, err
	}
	return &m, nil
}

// endpoint checks a URL of the metadata: https, or http on a loopback host
// when the portal is on one (the local stack).
func (c *checker) endpoint(name, raw string) error {
	if raw == "" {
		return fmt.Errorf("%s is missing", name)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s %q is not an absolute URL", name, raw)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && loopback(c.base.Hostname()) && loopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%s %q is not https", name, raw)
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// signingKeys reads the key set and returns its keys usable for ES256; there
// must be one. A new deployment publishes no key until its first token
// request makes one: with a client's credentials, a token is asked for and
// the set read again.
func (c *checker) signingKeys(m *metadata) (jose.JSONWebKeySet, error) {
	usable, total, err := c.keySet(m.JWKSURI)
	if err == nil && total == 0 && c.clientID != "" && c.secret != "" {
		if _, err := c.requestToken(m); err != nil {
			return usable, fmt.Errorf("the key set is empty, and the token request that would make the first key failed: %w", err)
		}
		usable, total, err = c.keySet(m.JWKSURI)
	}
	switch {
	case err != nil:
		return usable, err
	case total == 0:
		return usable, errors.New("the key set is empty: a new deployment makes its signing key at its first token request (give CLIENT_ID and CLIENT_SECRET to make one)")
	case len(usable.Keys) == 0:
		return usable, fmt.Errorf("none of the %d keys is usable for ES256 (EC P-256, with a kid)", total)
	}
	return usable, nil
}

// privateMembers are the JWK members (RFC 7518 §6) that hold a private or
// symmetric key: a published key set must have none.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "k"}

// keySet reads the key set at uri and returns its keys usable for ES256 and
// how many keys it holds. Keys of a type go-jose does not read are skipped, as
// RFC 7517 §5 says a reader should; a key with a private member fails it.
func (c *checker) keySet(uri string) (usable jose.JSONWebKeySet, total int, err error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := c.getJSON(uri, &set); err != nil {
		return usable, 0, err
	}
	for i, raw := range set.Keys {
		var members map[string]json.RawMessage
		if err := json.Unmarshal(raw, &members); err != nil {
			return usable, 0, fmt.Errorf("key %d is not a JSON object", i)
		}
		for _, name := range privateMembers {
			if _, ok := members[name]; ok {
				var kid string
				_ = json.Unmarshal(members["kid"], &kid)
				return usable, 0, fmt.Errorf("key %d (kid %q) publishes the private member %q", i, kid, name)
			}
		}
		var key jose.JSONWebKey
		if err := key.UnmarshalJSON(raw); err == nil && usableES256(key) {
			usable.Keys = append(usable.Keys, key)
		}
	}
	return usable, len(set.Keys), nil
}

func usableES256(k jose.JSONWebKey) bool {
	pub, ok := k.Key.(*ecdsa.PublicKey)
	return ok && pub.Curve == elliptic.P256() && k.KeyID != "" &&
		(k.Algorithm == "" || k.Algorithm == string(jose.ES256)) && (k.Use == "" || k.Use == "sig")
}

// page checks that the portal's URL serves the UI's HTML page.
func (c *checker) page() error {
	resp, _, err := c.get(c.resolve(""))
	if err != nil {
		return err
	}
	if err := wantStatus(resp, http.StatusOK); err != nil {
		return err
	}
	if mediaType(resp) != "text/html" {
		return fmt.Errorf("the Content-Type is %q, want text/html", resp.Header.Get("Content-Type"))
	}
	return nil
}

// apiDescription checks that openapi.json is an OpenAPI 3 document.
func (c *checker) apiDescription() error {
	var doc struct {
		OpenAPI string `json:"openapi"`
	}
	if err := c.getJSON(c.resolve("openapi.json"), &doc); err != nil {
		return err
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		return fmt.Errorf("openapi is %q, want 3.x", doc.OpenAPI)
	}
	return nil
}

// token asks for a token with the client's credentials and verifies it as a
// resource server would: its ES256 signature by a key of the key set, its
// issuer and its client.
func (c *checker) token(m *metadata, keys jose.JSONWebKeySet) error {
	switch {
	case c.clientID == "":
		return errors.New("a client secret without its client id: give both CLIENT_ID and CLIENT_SECRET, or neither")
	case c.secret == "":
		return errors.New("a client id without its client secret: give both CLIENT_ID and CLIENT_SECRET, or neither")
	case m == nil:
		return errNoMetadata
	}
	access, err := c.requestToken(m)
	if err != nil {
		return err
	}
	tok, err := jwt.ParseSigned(access, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return fmt.Errorf("the access token is not a JWT signed ES256: %w", err)
	}
	kid := tok.Headers[0].KeyID
	found := keys.Key(kid)
	if len(found) == 0 {
		// The key may be newer than the set read before (a rotation since),
		// or that read failed: read the set again, as a verifier would.
		if keys, _, err = c.keySet(m.JWKSURI); err != nil {
			return fmt.Errorf("read the key set to verify the token: %w", err)
		}
		found = keys.Key(kid)
	}
	if len(found) == 0 {
		return fmt.Errorf("the token is signed with key %q, which the key set does not publish for ES256", kid)
	}
	var claims struct {
		Iss      string `json:"iss"`
		Sub      string `json:"sub"`
		ClientID string `json:"client_id"`
	}
	if err := tok.Claims(found[0].Key, &claims); err != nil {
		return fmt.Errorf("the token's signature does not verify with key %q: %w", kid, err)
	}
	var wrong []string
	if claims.Iss != m.Issuer {
		wrong = append(wrong, fmt.Sprintf("iss is %q, want %q", claims.Iss, m.Issuer))
	}
	if claims.Sub != c.clientID {
		wrong = append(wrong, fmt.Sprintf("sub is %q, want %q", claims.Sub, c.clientID))
	}
	if claims.ClientID != c.clientID {
		wrong = append(wrong, fmt.Sprintf("client_id is %q, want %q", claims.ClientID, c.clientID))
	}
	if len(wrong) > 0 {
		return fmt.Errorf("the token's claims: %s", strings.Join(wrong, ", "))
	}
	return nil
}

// requestToken asks the token endpoint for a client_credentials token with
// client_secret_basic (RFC 6749 §2.3.1: id and secret form-urlencoded) and
// returns the access token. Neither the secret nor the token goes into an
// error.
func (c *checker) requestToken(m *metadata) (string, error) {
	body := url.Values{"grant_type": {"client_credentials"}}.Encode()
	req, err := http.NewRequest(http.MethodPost, m.TokenEndpoint, strings.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.clientID), url.QueryEscape(c.secret))
	resp, b, err := c.do(req)
	if err != nil {
		return "", err
	}
	var out struct {
		AccessToken      string `json:"access_token"`
		TokenType        string `json:"token_type"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	if resp.StatusCode != http.StatusOK {
		if json.Unmarshal(b, &out) == nil && out.Error != "" {
			return "", fmt.Errorf("status %d, want 200: %s (%s)", resp.StatusCode, out.Error, out.ErrorDescription)
		}
		return "", wantStatus(resp, http.StatusOK)
	}
	if err := decodeJSON(resp, b, &out); err != nil {
		return "", err
	}
	if out.AccessToken == "" {
		return "", errors.New("the answer has no access_token")
	}
	// RFC 6749 §7.1: the type is case-insensitive.
	if !strings.EqualFold(out.TokenType, "Bearer") {
		return "", fmt.Errorf("token_type is %q, want Bearer", out.TokenType)
	}
	return out.AccessToken, nil
}

// resolve gives the URL of a document below the portal's URL.
func (c *checker) resolve(path string) string {
	return c.base.ResolveReference(&url.URL{Path: path}).String()
}

// getJSON reads the JSON document at uri into v: it must answer 200 with a
// JSON media type.
func (c *checker) getJSON(uri string, v any) error {
	resp, b, err := c.get(uri)
	if err != nil {
		return err
	}
	if err := wantStatus(resp, http.StatusOK); err != nil {
		return err
	}
	return decodeJSON(resp, b, v)
}

func (c *checker) get(uri string) (*http.Response, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, uri, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", uri, err)
	}
	return c.do(req)
}

// do sends req, bounded by requestTimeout, and reads at most maxBody bytes of
// the answer.
func (c *checker) do(req *http.Request) (*http.Response, []byte, error) {
	ctx, cancel := context.WithTimeout(c.ctx, requestTimeout)
	defer cancel()
	resp, err := c.http.Do(req.WithContext(ctx))
	if err != nil {
		if down := unreachable(req.URL, err); down != nil && c.ctx.Err() == nil {
			return nil, nil, down
		}
		// Not the *url.Error itself: its text repeats the method and URL.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read the answer of %s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	if len(b) > maxBody {
		return nil, nil, fmt.Errorf("the answer of %s %s is larger than %d bytes", req.Method, req.URL.Redacted(), maxBody)
	}
	return resp, b, nil
}

// unreachableError says that no server answered at an address.
type unreachableError struct {
	origin, reason string
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("nothing answers at %s: %s", e.origin, e.reason)
}

// unreachable returns an unreachableError when err says that no connection
// could be made to u's host (no such host, refused, timed out), and nil for
// any other failure, such as TLS.
func unreachable(u *url.URL, err error) error {
	origin := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/"}).String()
	var (
		dns   *net.DNSError
		op    *net.OpError
		netEr net.Error
	)
	switch {
	case errors.As(err, &dns):
		return &unreachableError{origin, dns.Err}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &unreachableError{origin, "connection refused"}
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netEr) && netEr.Timeout()):
		return &unreachableError{origin, fmt.Sprintf("no answer within %s", requestTimeout)}
	case errors.As(err, &op) && op.Op == "dial":
		return &unreachableError{origin, op.Err.Error()}
	}
	return nil
}

func wantStatus(resp *http.Response, want int) error {
	if resp.StatusCode == want {
		return nil
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		return fmt.Errorf("status %d (Location: %s), want %d", resp.StatusCode, loc, want)
	}
	return fmt.Errorf("status %d, want %d", resp.StatusCode, want)
}

// decodeJSON reads a JSON answer: application/json or a +json type.
func decodeJSON(resp *http.Response, b []byte, v any) error {
	if mt := mediaType(resp); mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return fmt.Errorf("the Content-Type is %q, want application/json", resp.Header.Get("Content-Type"))
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("the answer is not the JSON expected: %w", err)
	}
	return nil
}

func mediaType(resp *http.Response) string {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return mt
}
