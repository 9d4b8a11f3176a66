package portal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"credportal/shared/audit"
	"credportal/shared/ids"
	"credportal/shared/secret"
)

// Store is the persistence the service needs. Not-found lookups return an
// error wrapping ErrNotFound; list cursors are opaque strings.
type Store interface {
	GetApplication(ctx context.Context, id string) (Application, error)
	GetApplications(ctx context.Context, ids []string) ([]Application, error)
	ListApplications(ctx context.Context, cursor string, limit int) (Page[Application], error)
	GetDesignation(ctx context.Context, applicationID, email string) (Designation, error)
	ListDesignations(ctx context.Context, applicationID string) ([]Designation, error)
	ListDesignationsOf(ctx context.Context, email, cursor string, limit int) (Page[Designation], error)
	// GetDesignations reads email's designations on appIDs consistently.
	GetDesignations(ctx context.Context, email string, appIDs []string) ([]Designation, error)
	// BindDesignation binds a designation that has no binding yet to b, and
	// returns the designation as it now is: bound to b, or to whoever bound
	// it first. A designation that no longer exists is not found.
	BindDesignation(ctx context.Context, applicationID, email string, b Binding) (Designation, error)
	GetSecret(ctx context.Context, applicationID, secretID string) (Secret, error)
	ListSecrets(ctx context.Context, applicationID, cursor string, limit int) (Page[Secret], error)
	// AddSecret stores s, ev and the change's Notice atomically unless the
	// application already holds limit secrets active at now
	// (ErrSecretLimit). by is the designation the change is made under (nil
	// for an admin): the same transaction checks that it still exists with
	// its role and binding, or nothing is written (ErrGrantChanged).
	AddSecret(ctx context.Context, s Secret, limit int, now time.Time, ev audit.Event, by *Designation) error
	// RemoveSecret deletes s and records ev and the change's Notice
	// atomically, under by as AddSecret is.
	RemoveSecret(ctx context.Context, s Secret, ev audit.Event, by *Designation) error
	GetKey(ctx context.Context, applicationID, keyID string) (Key, error)
	ListKeys(ctx context.Context, applicationID, cursor string, limit int) (Page[Key], error)
	// AddKey stores k, ev and the change's Notice atomically unless the
	// application already holds limit keys active at now (ErrKeyLimit),
	// under by as AddSecret is.
	AddKey(ctx context.Context, k Key, limit int, now time.Time, ev audit.Event, by *Designation) error
	// RemoveKey deletes k and records ev and the change's Notice
	// atomically, under by as AddSecret is.
	RemoveKey(ctx context.Context, k Key, ev audit.Event, by *Designation) error
	ListEvents(ctx context.Context, applicationID, cursor string, limit int) (Page[audit.Event], error)
}

// Peppers gives the pepper that new secrets are hashed with, and any earlier
// version that stored hashes name.
type Peppers interface {
	Current(ctx context.Context) (secret.Pepper, error)
	Version(ctx context.Context, version string) (secret.Pepper, error)
}

// Config is the service's policy.
type Config struct {
	Policy    secret.Policy
	Format    secret.Format
	Catalogue Catalogue
	// KeyLimit is the most unexpired public keys an application may hold.
	KeyLimit int
}

// DefaultConfig is the configuration when nothing is set.
func DefaultConfig() Config {
	return Config{Policy: secret.DefaultPolicy(), Format: secret.Format{Prefix: secret.DefaultPrefix}, Catalogue: DefaultCatalogue(), KeyLimit: DefaultKeyLimit}
}

// Service performs the operations of signed-in callers.
type Service struct {
	store   Store
	peppers Peppers
	cfg     Config
	now     func() time.Time
	random  io.Reader
}

// Option adjusts a Service.
type Option func(*Service)

// NewService builds the service. now and random are injected so expiry maths
// and generated values can be tested exactly. peppers may be nil in a
// function that never creates secrets.
func NewService(store Store, peppers Peppers, cfg Config, now func() time.Time, random io.Reader, opts ...Option) *Service {
	s := &Service{store: store, peppers: peppers, cfg: cfg, now: now, random: random}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Config returns the service's configuration.
func (s *Service) Config() Config { return s.cfg }

// pageLimit is the page size of every list.
const pageLimit = 50

// maxDesignations bounds how many designations /v1/me lists for one user.
const maxDesignations = 1000

// Me describes the caller.
type Me struct {
	Email        string          `json:"email"`
	Admin        bool            `json:"admin"`
	Designations []MyDesignation `json:"designations"`
}

// MyDesignation is one of the caller's designations.
type MyDesignation struct {
	ApplicationID string `json:"applicationId"`
	Role          Role   `json:"role"`
}

// Me returns who the caller is and where they are designated.
func (s *Service) Me(ctx context.Context, c Caller) (Me, error) {
	me := Me{Email: c.Email, Admin: c.Admin, Designations: []MyDesignation{}}
	cursor := ""
	for len(me.Designations) < maxDesignations {
		page, err := s.store.ListDesignationsOf(ctx, c.Email, cursor, pageLimit)
		if err != nil {
			return Me{}, fmt.Errorf("list designations of caller: %w", err)
		}
		ds, err := s.confirm(ctx, c, page.Items)
		if err != nil {
			return Me{}, err
		}
		for _, d := range ds {
			me.Designations = append(me.Designations, MyDesignation{ApplicationID: d.ApplicationID, Role: d.Role})
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	return me, nil
}

// ApplicationSummary is an application as listed to a caller.
type ApplicationSummary struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	ClientID      string          `json:"clientId"`
	Organisation  OrganisationRef `json:"organisation"`
	APIs          []API           `json:"apis"`
	Role          Role            `json:"role"`
	ActiveSecrets int             `json:"activeSecrets"`
	NextExpiry    *time.Time      `json:"nextExpiry"`
	// SecretExpiries are the expiries of its secrets, expired ones included,
	// soonest first.
	SecretExpiries []time.Time `json:"secretExpiries"`
	CreatedAt      time.Time   `json:"createdAt"`
}

// ApplicationDetail is one application with who is designated on it.
type ApplicationDetail struct {
	ApplicationSummary
	Designations []DesignationView `json:"designations"`
}

// DesignationView is a designation as shown on its application.
type DesignationView struct {
	Email string `json:"email"`
	Role  Role   `json:"role"`
	// Binding is shown to admins: who first used the designation. An admin
	// resets it by removing the designation and adding it again.
	Binding *Binding `json:"binding,omitempty"`
}

// summary shows app to a caller who has role on it, as of now.
func (cfg Config) summary(app Application, role Role, now time.Time) ApplicationSummary {
	return ApplicationSummary{
		ID: app.ID, Name: app.Name, ClientID: app.ClientID, Organisation: app.Organisation,
		APIs: cfg.Catalogue.Named(app.APIs), Role: role,
		ActiveSecrets: app.ActiveSecrets(now), NextExpiry: app.NextExpiry(now), SecretExpiries: app.SecretExpiries(), CreatedAt: app.CreatedAt,
	}
}

// detail shows app, with who is designated on it, to a caller who has role
// on it, as of now.
func (cfg Config) detail(app Application, role Role, ds []Designation, now time.Time) ApplicationDetail {
	return ApplicationDetail{ApplicationSummary: cfg.summary(app, role, now), Designations: designationViews(ds, role == RoleAdmin)}
}

// ListApplications lists the applications visible to the caller: all of them
// for an admin, the designated ones for anyone else.
func (s *Service) ListApplications(ctx context.Context, c Caller, cursor string) (Page[ApplicationSummary], error) {
	out := Page[ApplicationSummary]{Items: []ApplicationSummary{}}
	if c.Admin {
		page, err := s.store.ListApplications(ctx, cursor, pageLimit)
		if err != nil {
			return out, fmt.Errorf("list applications: %w", err)
		}
		for _, a := range page.Items {
			out.Items = append(out.Items, s.cfg.summary(a, RoleAdmin, s.now()))
		}
		out.Next = page.Next
		return out, nil
	}
	page, err := s.store.ListDesignationsOf(ctx, c.Email, cursor, pageLimit)
	if err != nil {
		return out, fmt.Errorf("list designations of caller: %w", err)
	}
	current, err := s.confirm(ctx, c, page.Items)
	if err != nil {
		return out, err
	}
	roles := make(map[string]Role, len(current))
	appIDs := make([]string, 0, len(current))
	for _, d := range current {
		roles[d.ApplicationID] = d.Role
		appIDs = append(appIDs, d.ApplicationID)
	}
	apps, err := s.store.GetApplications(ctx, appIDs)
	if err != nil {
		return out, fmt.Errorf("get designated applications: %w", err)
	}
	for _, a := range apps {
		out.Items = append(out.Items, s.cfg.summary(a, roles[a.ID], s.now()))
	}
	out.Next = page.Next
	return out, nil
}

// confirm reads again, consistently, the designations the by-email index
// listed for the caller (the index may lag one just removed or changed, and
// removal takes effect at once), keeping the index's order, and checks that
// each is the caller's: bound to the caller's identity, or unbound and now
// bound to it.
func (s *Service) confirm(ctx context.Context, c Caller, listed []Designation) ([]Designation, error) {
	appIDs := make([]string, 0, len(listed))
	for _, d := range listed {
		appIDs = append(appIDs, d.ApplicationID)
	}
	current, err := s.store.GetDesignations(ctx, c.Email, appIDs)
	if err != nil {
		return nil, fmt.Errorf("confirm designations of caller: %w", err)
	}
	byApp := make(map[string]Designation, len(current))
	for _, d := range current {
		byApp[d.ApplicationID] = d
	}
	out := make([]Designation, 0, len(current))
	for _, id := range appIDs {
		d, ok := byApp[id]
		if !ok || !d.Role.Valid() {
			continue
		}
		switch d, err = s.bind(ctx, c, d); {
		case errors.Is(err, ErrNotFound):
			continue
		case err != nil:
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// bind checks that the designation d, which names the caller's email, is the
// caller's: bound to the caller's issuer and subject, or bound to them now if
// this is its first use. Designations stored before bindings existed have
// none, so their first use binds them like a new one's. A designation bound
// to someone else is ErrIdentityMismatch: the email has changed hands (or
// an issuer reissued it), and an admin must remove and re-add it.
func (s *Service) bind(ctx context.Context, c Caller, d Designation) (Designation, error) {
	if c.Issuer == "" || c.Subject == "" {
		return Designation{}, ErrNoSubject
	}
	if d.Binding == nil {
		var err error
		d, err = s.store.BindDesignation(ctx, d.ApplicationID, d.Email, Binding{Issuer: c.Issuer, Subject: c.Subject, At: s.now().UTC().Truncate(time.Second)})
		if errors.Is(err, ErrNotFound) {
			return Designation{}, err
		}
		if err != nil {
			return Designation{}, fmt.Errorf("bind designation on %s: %w", d.ApplicationID, err)
		}
	}
	if d.Binding == nil || !d.Binding.Binds(c) {
		logWarn(ctx, "designation refused to another identity", "applicationId", d.ApplicationID, "issuer", c.Issuer, "subject", c.Subject)
		return Designation{}, ErrIdentityMismatch
	}
	return d, nil
}

// grant is what the caller may do on an application: its role, and the
// designation that gives it (nil for an admin, whose right comes from the
// token).
type grant struct {
	role        Role
	designation *Designation
}

// access resolves what the caller may do on an application. Anyone not
// designated on it, and any malformed id, gets not-found: existence never
// leaks across organisations.
func (s *Service) access(ctx context.Context, c Caller, appID string) (Application, grant, error) {
	if !ids.Valid(ids.Application, appID) {
		return Application{}, grant{}, ErrApplicationNotFound
	}
	g := grant{role: RoleAdmin}
	if !c.Admin {
		d, err := s.store.GetDesignation(ctx, appID, c.Email)
		if errors.Is(err, ErrNotFound) {
			return Application{}, grant{}, ErrApplicationNotFound
		}
		if err != nil {
			return Application{}, grant{}, fmt.Errorf("get designation: %w", err)
		}
		// Only a designation an admin made grants anything: an item with no
		// valid role (such as one a binding write alone created) does not.
		if !d.Role.Valid() {
			return Application{}, grant{}, ErrApplicationNotFound
		}
		if d, err = s.bind(ctx, c, d); errors.Is(err, ErrNotFound) {
			return Application{}, grant{}, ErrApplicationNotFound
		} else if err != nil {
			return Application{}, grant{}, err
		}
		g = grant{role: d.Role, designation: &d}
	}
	app, err := getApplication(ctx, s.store, appID)
	if err != nil {
		return Application{}, grant{}, err
	}
	return app, g, nil
}

// changedUnder tells the caller why a change its designation allowed when
// checked was refused by the store's check of that designation in the
// change's own transaction: it was removed, changed or rebound meanwhile.
func (s *Service) changedUnder(ctx context.Context, c Caller, appID string) error {
	_, g, err := s.access(ctx, c, appID)
	switch {
	case err != nil:
		return err
	case !g.role.MayManage():
		return ErrManagersOnly
	}
	return ErrConcurrentUpdate
}

// manage resolves the caller's access to an application for a change of
// its credentials: only a credential manager (or an admin) may make one.
func (s *Service) manage(ctx context.Context, c Caller, appID string) (grant, error) {
	_, g, err := s.access(ctx, c, appID)
	if err != nil {
		return grant{}, err
	}
	if !g.role.MayManage() {
		return grant{}, ErrManagersOnly
	}
	return g, nil
}

// managed reads, for a change the caller makes, the credential id of an
// application it manages: a malformed id, or one the application lacks, is
// notFound. kind is the id's kind (ids.Secret, …), what names it in errors.
func managed[T any](ctx context.Context, s *Service, c Caller, appID, id, kind, what string, notFound error, get func(ctx context.Context, appID, id string) (T, error)) (T, grant, error) {
	var none T
	g, err := s.manage(ctx, c, appID)
	if err != nil {
		return none, grant{}, err
	}
	if !ids.Valid(kind, id) {
		return none, grant{}, notFound
	}
	v, err := get(ctx, appID, id)
	if errors.Is(err, ErrNotFound) {
		return none, grant{}, notFound
	}
	if err != nil {
		return none, grant{}, fmt.Errorf("get %s %s: %w", what, id, err)
	}
	return v, g, nil
}

// stored is the caller's error for err, the result of a credential change
// the store made under the caller's designation: nil stays nil, a changed
// designation is told as changedUnder tells it, the store's error from
// becomes to, and anything else is wrapped in what.
func (s *Service) stored(ctx context.Context, c Caller, appID string, err, from, to error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrGrantChanged):
		return s.changedUnder(ctx, c, appID)
	case errors.Is(err, from):
		return to
	}
	return fmt.Errorf("%s: %w", what, err)
}

// getApplication reads an application; a malformed id is not found, unread.
func getApplication(ctx context.Context, st interface {
	GetApplication(ctx context.Context, id string) (Application, error)
}, id string) (Application, error) {
	if !ids.Valid(ids.Application, id) {
		return Application{}, ErrApplicationNotFound
	}
	app, err := st.GetApplication(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Application{}, ErrApplicationNotFound
	}
	if err != nil {
		return Application{}, fmt.Errorf("get application %s: %w", id, err)
	}
	return app, nil
}

// GetApplication returns one application the caller may see.
func (s *Service) GetApplication(ctx context.Context, c Caller, appID string) (ApplicationDetail, error) {
	app, g, err := s.access(ctx, c, appID)
	if err != nil {
		return ApplicationDetail{}, err
	}
	ds, err := s.store.ListDesignations(ctx, appID)
	if err != nil {
		return ApplicationDetail{}, fmt.Errorf("list designations of %s: %w", appID, err)
	}
	return s.cfg.detail(app, g.role, ds, s.now()), nil
}

// designationViews shows designations on their application; admins see each one's
// binding too.
func designationViews(ds []Designation, admin bool) []DesignationView {
	out := make([]DesignationView, 0, len(ds))
	for _, d := range ds {
		v := DesignationView{Email: d.Email, Role: d.Role}
		if admin {
			v.Binding = d.Binding
		}
		out = append(out, v)
	}
	return out
}

// SecretView is a secret's metadata as shown to callers: never its value.
type SecretView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Hint       string     `json:"hint"`
	CreatedAt  time.Time  `json:"createdAt"`
	CreatedBy  string     `json:"createdBy"`
	ExpiresAt  time.Time  `json:"expiresAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	Status     string     `json:"status"`
}

func (s *Service) view(sec Secret) SecretView {
	return SecretView{
		ID: sec.ID, Name: sec.Name, Hint: sec.Hint, CreatedAt: sec.CreatedAt, CreatedBy: sec.CreatedBy,
		ExpiresAt: sec.ExpiresAt, LastUsedAt: sec.LastUsedAt, Status: sec.Status(s.now()),
	}
}

// ListSecrets lists an application's secrets, newest first.
func (s *Service) ListSecrets(ctx context.Context, c Caller, appID, cursor string) (Page[SecretView], error) {
	if _, _, err := s.access(ctx, c, appID); err != nil {
		return Page[SecretView]{}, err
	}
	page, err := s.store.ListSecrets(ctx, appID, cursor, pageLimit)
	if err != nil {
		return Page[SecretView]{}, fmt.Errorf("list secrets of %s: %w", appID, err)
	}
	out := Page[SecretView]{Items: make([]SecretView, 0, len(page.Items)), Next: page.Next}
	for _, sec := range page.Items {
		out.Items = append(out.Items, s.view(sec))
	}
	return out, nil
}

// CreateSecretInput is what a caller asks for: a name and either a lifetime
// in days or an explicit expiry.
type CreateSecretInput struct {
	Name         string     `json:"name"`
	ExpiresAt    *time.Time `json:"expiresAt,omitempty"`
	LifetimeDays *int       `json:"lifetimeDays,omitempty"`
}

// CreatedSecret is the one response that carries a secret's value.
type CreatedSecret struct {
	SecretView
	Value string `json:"value"`
}

// MaxNameLen bounds secret and application names, in characters.
const MaxNameLen = 100

// ValidName reports whether name is 1–MaxNameLen printable characters with
// no leading or trailing space.
func ValidName(name string) bool {
	n := utf8.RuneCountInString(name)
	if n < 1 || n > MaxNameLen || !utf8.ValidString(name) || strings.TrimSpace(name) != name {
		return false
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func (s *Service) expiry(in CreateSecretInput, now time.Time) (time.Time, error) {
	var (
		at  time.Time
		err error
	)
	switch {
	case in.ExpiresAt != nil && in.LifetimeDays != nil:
		return time.Time{}, ErrLifetimeAmbiguous
	case in.LifetimeDays != nil:
		at, err = s.cfg.Policy.ExpiryForDays(now, *in.LifetimeDays)
	case in.ExpiresAt != nil:
		at, err = s.cfg.Policy.CheckExpiry(now, *in.ExpiresAt)
	default:
		return time.Time{}, ErrLifetimeMissing
	}
	if err != nil {
		return time.Time{}, &Error{Err: ErrLifetimeOutOfRange, Value: strconv.Itoa(s.cfg.Policy.MaxLifetimeDays)}
	}
	return at, nil
}

// CreateSecret makes a new secret for the application. The value is returned
// here once and never kept.
func (s *Service) CreateSecret(ctx context.Context, c Caller, appID string, in CreateSecretInput, r Request) (CreatedSecret, error) {
	g, err := s.manage(ctx, c, appID)
	if err != nil {
		return CreatedSecret{}, err
	}
	if !ValidName(in.Name) {
		return CreatedSecret{}, ErrInvalidName
	}
	now := s.now().UTC().Truncate(time.Second)
	expiresAt, err := s.expiry(in, now)
	if err != nil {
		return CreatedSecret{}, err
	}
	if s.peppers == nil {
		return CreatedSecret{}, errors.New("create secret: the service has no pepper to hash it with")
	}
	pepper, err := s.peppers.Current(ctx)
	if err != nil {
		return CreatedSecret{}, fmt.Errorf("get pepper: %w", err)
	}
	value, err := s.cfg.Format.Generate(s.random)
	if err != nil {
		return CreatedSecret{}, fmt.Errorf("generate secret: %w", err)
	}
	id, err := ids.New(ids.Secret, s.now(), s.random)
	if err != nil {
		return CreatedSecret{}, fmt.Errorf("generate secret id: %w", err)
	}
	sec := Secret{
		ID: id, ApplicationID: appID, Name: in.Name, Hint: s.cfg.Format.Hint(value),
		Hash: secret.Digest(pepper.Key, value), PepperVersion: pepper.Version,
		CreatedAt: now, CreatedBy: c.Email, ExpiresAt: expiresAt,
	}
	ev, err := secretEvent(s.now().UTC(), s.random, c.Email, audit.SecretCreated, sec, r)
	if err != nil {
		return CreatedSecret{}, err
	}
	if err := s.stored(ctx, c, appID, s.store.AddSecret(ctx, sec, s.cfg.Policy.ActiveLimit, now, ev, g.designation), ErrSecretLimit, ErrSecretLimit, "add secret to "+appID); err != nil {
		return CreatedSecret{}, err
	}
	return CreatedSecret{SecretView: s.view(sec), Value: value}, nil
}

// RecentUse is how recently a secret must have been used for its deletion to
// need an explicit confirmation.
const RecentUse = 24 * time.Hour

// LastUsedPrecision is how coarse a secret's LastUsedAt is: the token
// endpoint writes it at most this often, so a secret may have been used up
// to this long after the time recorded.
const LastUsedPrecision = 5 * time.Minute

// DeleteSecret deletes a secret at once. A secret used within RecentUse is
// deleted only with confirm.
func (s *Service) DeleteSecret(ctx context.Context, c Caller, appID, secretID string, confirm bool, r Request) error {
	sec, g, err := managed(ctx, s, c, appID, secretID, ids.Secret, "secret", ErrSecretNotFound, s.store.GetSecret)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	if !confirm && sec.LastUsedAt != nil && now.Sub(*sec.LastUsedAt) < RecentUse+LastUsedPrecision {
		return ErrRecentlyUsed
	}
	ev, err := secretEvent(s.now().UTC(), s.random, c.Email, audit.SecretDeleted, sec, r)
	if err != nil {
		return err
	}
	if err := s.stored(ctx, c, appID, s.store.RemoveSecret(ctx, sec, ev, g.designation), ErrNotFound, ErrSecretNotFound, "remove secret "+secretID); err != nil {
		return err
	}
	return nil
}

// ListEvents lists an application's audit trail, newest first.
func (s *Service) ListEvents(ctx context.Context, c Caller, appID, cursor string) (Page[audit.Event], error) {
	if _, _, err := s.access(ctx, c, appID); err != nil {
		return Page[audit.Event]{}, err
	}
	page, err := s.store.ListEvents(ctx, appID, cursor, pageLimit)
	if err != nil {
		return Page[audit.Event]{}, fmt.Errorf("list events of %s: %w", appID, err)
	}
	if page.Items == nil {
		page.Items = []audit.Event{}
	}
	return page, nil
}

// newEvent describes an action by actor, made through the request r, on an
// application for the audit trail, at the instant at.
func newEvent(at time.Time, random io.Reader, actor string, r Request, action, appID string) (audit.Event, error) {
	ev, err := audit.New(at, random, actor, action, appID)
	ev.SourceIP, ev.UserAgent, ev.RequestID = r.SourceIP, r.UserAgent, r.RequestID
	return ev, err
}

// secretEvent describes action on sec by actor at the instant at.
func secretEvent(at time.Time, random io.Reader, actor, action string, sec Secret, r Request) (audit.Event, error) {
	ev, err := newEvent(at, random, actor, r, action, sec.ApplicationID)
	ev.SecretID, ev.SecretName, ev.Hint = sec.ID, sec.Name, sec.Hint
	return ev, err
}
