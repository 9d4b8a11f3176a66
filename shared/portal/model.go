// Package portal is the domain of the credentials portal: organisations,
// applications, designations and client secrets, and the operations callers
// perform on them, with their authorisation rules. It knows nothing of
// Lambda, HTTP or DynamoDB.
package portal

import (
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Role is what a designation allows on one application.
type Role string

// Roles of a designation, and the role an admin acts with.
const (
	RoleCredentialManager Role = "credential_manager"
	RoleViewer            Role = "viewer"
	RoleAdmin             Role = "admin"
)

// Valid reports whether r may be given in a designation.
func (r Role) Valid() bool { return r == RoleCredentialManager || r == RoleViewer }

// MayManage reports whether r may create and delete secrets.
func (r Role) MayManage() bool { return r == RoleCredentialManager || r == RoleAdmin }

// Caller is the signed-in user, taken only from a verified token.
type Caller struct {
	Email string // lower-cased
	Admin bool
	// Issuer and Subject (the token's iss and sub) name the person at their
	// identity provider. An email may change hands; they do not. A
	// designation is bound to the first Issuer and Subject that use it.
	Issuer  string
	Subject string
}

// Binding is the identity a designation was first used by: from then on only
// a caller with this issuer and subject acts on it.
type Binding struct {
	Issuer  string    `json:"issuer"`
	Subject string    `json:"subject"`
	At      time.Time `json:"boundAt"`
}

// Binds reports whether the binding is c's.
func (b Binding) Binds(c Caller) bool { return b.Issuer == c.Issuer && b.Subject == c.Subject }

// NewCaller builds a caller from token claims: the email is lower-cased and
// trimmed; admin is whether groups holds adminGroup.
func NewCaller(email string, groups []string, adminGroup string) Caller {
	c := Caller{Email: strings.ToLower(strings.TrimSpace(email))}
	for _, g := range groups {
		if g == adminGroup {
			c.Admin = true
		}
	}
	return c
}

// Request describes where an operation came from, for the audit trail.
type Request struct {
	SourceIP  string
	UserAgent string
	RequestID string
}

// MaxUserAgent is the most characters of a User-Agent the portal keeps or
// mails: the header is the caller's to choose, and would otherwise fill
// audit events and notices with whatever an attacker sends.
const MaxUserAgent = 200

// NewRequest describes a request, its User-Agent cut to MaxUserAgent
// characters (never inside a character).
func NewRequest(sourceIP, userAgent, requestID string) Request {
	if utf8.RuneCountInString(userAgent) > MaxUserAgent {
		userAgent = string([]rune(userAgent)[:MaxUserAgent])
	}
	return Request{SourceIP: sourceIP, UserAgent: userAgent, RequestID: requestID}
}

// OrganisationRef names an organisation inside the records that belong to it.
type OrganisationRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Organisation is a partner organisation of the operator.
type Organisation struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Country   string    `json:"country"`
	CreatedAt time.Time `json:"createdAt"`
}

// Application is a set of API permissions granted to an organisation, with a
// permanent client id and expiring client secrets.
type Application struct {
	ID           string
	Name         string
	ClientID     string
	Organisation OrganisationRef
	APIs         []string
	CreatedAt    time.Time
	// Secrets maps the id of each secret not yet deleted to its expiry. The
	// store keeps it on the application's own record, which is what makes the
	// active-secret limit atomic.
	Secrets map[string]time.Time
	// Keys maps the id of each registered public key not yet deleted to its
	// expiry, as Secrets does for secrets.
	Keys map[string]time.Time
	// Version increases with every change to Secrets or Keys; writes are
	// conditional on it.
	Version int64
}

// ActiveSecrets counts the secrets that have not expired at now.
func (a Application) ActiveSecrets(now time.Time) int { return active(a.Secrets, now) }

// ActiveKeys counts the keys that have not expired at now.
func (a Application) ActiveKeys(now time.Time) int { return active(a.Keys, now) }

func active(expiries map[string]time.Time, now time.Time) int {
	n := 0
	for _, exp := range expiries {
		if exp.After(now) {
			n++
		}
	}
	return n
}

// NextExpiry is the soonest expiry among the active secrets, or nil.
func (a Application) NextExpiry(now time.Time) *time.Time {
	var next *time.Time
	for _, exp := range a.Secrets {
		if exp.After(now) && (next == nil || exp.Before(*next)) {
			e := exp
			next = &e
		}
	}
	return next
}

// SecretExpiries lists the expiry of every secret not deleted, expired ones
// included, soonest first: what a list of applications needs to say how
// many secrets expire soon.
func (a Application) SecretExpiries() []time.Time {
	out := make([]time.Time, 0, len(a.Secrets))
	for _, exp := range a.Secrets {
		out = append(out, exp.UTC())
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// Designation gives one email a role on one application.
type Designation struct {
	ApplicationID string    `json:"applicationId"`
	Email         string    `json:"email"`
	Role          Role      `json:"role"`
	CreatedAt     time.Time `json:"createdAt"`
	CreatedBy     string    `json:"createdBy"`
	// Binding is nil until the designation's first use (and in every
	// designation made before bindings existed: their first use binds them).
	Binding *Binding `json:"binding,omitempty"`
}

// Secret is a client secret's metadata. Its value is never kept: only Hash,
// the HMAC of the value under the pepper of PepperVersion.
type Secret struct {
	ID            string
	ApplicationID string
	Name          string
	Hint          string
	Hash          []byte
	PepperVersion string
	CreatedAt     time.Time
	CreatedBy     string
	ExpiresAt     time.Time
	LastUsedAt    *time.Time
	// LeakedAt is when the secret was reported found in public and kept
	// (LeakNotify); nil otherwise.
	LeakedAt *time.Time
}

// Client is what authenticating a client id needs, read in one piece: the
// application it was issued to, with its organisation and APIs, and that
// application's secrets. The secrets carry what checking a value needs (ID,
// ApplicationID, Hint, Hash, PepperVersion, ExpiresAt, LastUsedAt); they may
// include expired ones.
type Client struct {
	ID             string // the client id
	ApplicationID  string
	OrganisationID string
	APIs           []string
	Secrets        []Secret
	// Federated are the application's federated credentials: ID, Issuer,
	// Subject, Audience and LastUsedAt.
	Federated []FederatedCredential
	// Keys are the application's registered public keys, with what checking
	// a signature needs (ID, ApplicationID, Thumbprint, Algorithms, DER,
	// ExpiresAt, LastUsedAt); they may include expired ones.
	Keys []Key
}

// Key is a public key an application registered to sign its token requests
// with (private_key_jwt). Only the public key is ever held.
type Key struct {
	ID            string
	ApplicationID string
	Name          string
	Type          string   // publickey.TypeCertificate or publickey.TypePublicKey
	Thumbprint    string   // RFC 7638 SHA-256, base64url
	Algorithms    []string // the JWS algorithms it may sign with
	DER           []byte   // PKIX SubjectPublicKeyInfo
	CreatedAt     time.Time
	CreatedBy     string
	ExpiresAt     time.Time
	LastUsedAt    *time.Time
}

// Status is active until the second the key expires.
func (k Key) Status(now time.Time) string {
	if now.Before(k.ExpiresAt) {
		return StatusActive
	}
	return StatusExpired
}

// Secret statuses.
const (
	StatusActive  = "active"
	StatusLeaked  = "leaked"
	StatusExpired = "expired"
)

// Status is active until the second the secret expires, or leaked if it was
// reported found in public meanwhile; then expired.
func (s Secret) Status(now time.Time) string {
	switch {
	case !now.Before(s.ExpiresAt):
		return StatusExpired
	case s.LeakedAt != nil:
		return StatusLeaked
	}
	return StatusActive
}

// Page is one page of a list, with the opaque cursor of the next page.
type Page[T any] struct {
	Items []T
	Next  string
}

// API is one of the operator's APIs that an application may be granted.
type API struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Catalogue is the set of APIs applications may be granted, in display order.
type Catalogue []API

// DefaultCatalogue is the operator's API catalogue when none is configured.
func DefaultCatalogue() Catalogue {
	var c Catalogue
	for _, base := range []struct{ id, name string }{
		{"search-match", "Search & Match"},
		{"match-connect", "Match Connect"},
		{"data-manager", "Data Manager"},
	} {
		c = append(c, API{base.id, base.name}, API{base.id + "-sandbox", base.name + " (sandbox)"})
	}
	return c
}

// Lookup returns the API with the given id.
func (c Catalogue) Lookup(id string) (API, bool) {
	for _, a := range c {
		if a.ID == id {
			return a, true
		}
	}
	return API{}, false
}

// Named returns the catalogue entries for ids, sorted by id; an id no longer
// in the catalogue is shown by its id.
func (c Catalogue) Named(ids []string) []API {
	out := make([]API, 0, len(ids))
	for _, id := range ids {
		a, ok := c.Lookup(id)
		if !ok {
			a = API{ID: id, Name: id}
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
