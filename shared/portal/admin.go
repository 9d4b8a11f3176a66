package portal

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"credportal/shared/audit"
	"credportal/shared/ids"
)

// AdminStore is the persistence the admin operations need. Not-found lookups
// return an error wrapping ErrNotFound.
type AdminStore interface {
	// CreateOrganisation stores o; a name in use gives
	// ErrDuplicateOrganisation.
	CreateOrganisation(ctx context.Context, o Organisation) error
	GetOrganisation(ctx context.Context, id string) (Organisation, error)
	ListOrganisations(ctx context.Context, cursor string, limit int) (Page[Organisation], error)
	// CreateApplication stores a and ev atomically, reserving a.ClientID for
	// ever. A client id used before gives ErrClientIDTaken; a name the
	// organisation uses already, ErrDuplicateApplication.
	CreateApplication(ctx context.Context, a Application, ev audit.Event) error
	// UpdateApplication sets the name and APIs of before's application and
	// records ev atomically, unless the application no longer has before's
	// name and APIs (ErrConcurrentUpdate) or no longer exists (not found).
	UpdateApplication(ctx context.Context, before Application, name string, apis []string, ev audit.Event) error
	GetApplication(ctx context.Context, id string) (Application, error)
	GetDesignation(ctx context.Context, applicationID, email string) (Designation, error)
	ListDesignations(ctx context.Context, applicationID string) ([]Designation, error)
	// PutDesignation creates or replaces d and records ev atomically; the
	// application must exist.
	PutDesignation(ctx context.Context, d Designation, ev audit.Event) error
	// DeleteDesignation removes a designation and records ev atomically.
	DeleteDesignation(ctx context.Context, applicationID, email string, ev audit.Event) error
}

// MaxEmailLen bounds a designated email address, in bytes.
const MaxEmailLen = 254

// clientIDBytes is the randomness of a client id: 120 bits, 24 base32
// characters.
const clientIDBytes = 15

// clientIDAttempts bounds how many client ids CreateApplication generates
// before giving up; with 120 random bits a second attempt is already
// vanishingly rare.
const clientIDAttempts = 5

var clientIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// ValidClientID reports whether s has the form of a client id the portal
// issues, so malformed ones are rejected without a database read.
func ValidClientID(s string) bool {
	if len(s) != clientIDEncoding.EncodedLen(clientIDBytes) {
		return false
	}
	_, err := clientIDEncoding.DecodeString(s)
	return err == nil
}

// Admin performs the operations of the operator's IT team: organisations,
// applications and their API permissions, and designations. Only admins may
// call it; everyone else gets forbidden (an admin route's existence is no
// secret).
type Admin struct {
	store  AdminStore
	cfg    Config
	now    func() time.Time
	random io.Reader
	people Directory
	log    *slog.Logger
}

// Directory gives a person designated a user to sign in with: the stack's
// own user pool creates one and sends its invitation; an external sign-in
// provider creates nobody (shared/directory has both).
type Directory interface {
	// Invite makes sure email has a user, creating and inviting one when
	// it has none; it reports whether it created one.
	Invite(ctx context.Context, email string) (bool, error)
}

// NewAdmin builds the admin service. now and random are injected so ids,
// client ids and times can be tested exactly; people is where designated
// people get their users.
func NewAdmin(store AdminStore, cfg Config, now func() time.Time, random io.Reader, people Directory) *Admin {
	return &Admin{store: store, cfg: cfg, now: now, random: random, people: people, log: slog.Default()}
}

// AdminApplication is an application as the admin API shows it, with what an
// admin should fix about it.
type AdminApplication struct {
	ApplicationDetail
	Warnings []Warning `json:"warnings"`
}

// Warning is something an admin should fix about an application: a stable
// code for programs and a sentence for people.
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// WarnFewerThanTwoManagers: the application has fewer than two credential
// managers, so no one may be left to rotate its secrets.
const WarnFewerThanTwoManagers = "fewer_than_two_credential_managers"

// WarnInvitationFailed: the designation is saved, but the person's user
// could not be created, so no invitation went out.
const WarnInvitationFailed = "invitation_failed"

// fewerThanTwoManagers is the warning for an application with n (< 2)
// credential managers.
func fewerThanTwoManagers(n int) Warning {
	return Warning{Code: WarnFewerThanTwoManagers, Message: "The application has " + plural(n, "credential manager", "credential managers") +
		"; designate at least two, so that someone can always rotate its secrets."}
}

// plural writes n with the noun's singular for 1 and its plural otherwise:
// "1 credential manager", "0 credential managers".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// OrganisationInput is the body of an organisation's creation.
type OrganisationInput struct {
	Name    string `json:"name"`
	Country string `json:"country"`
}

// ApplicationInput is the body of an application's creation.
type ApplicationInput struct {
	Name string   `json:"name"`
	APIs []string `json:"apis"`
}

// ApplicationPatch changes the fields it sets.
type ApplicationPatch struct {
	Name *string   `json:"name,omitempty"`
	APIs *[]string `json:"apis,omitempty"`
}

// Authorise lets admins through and tells everyone else the operation is for
// admins, so that a front end can refuse before reading anything else.
func (a *Admin) Authorise(c Caller) error {
	if !c.Admin {
		return ErrAdminsOnly
	}
	return nil
}

// APIs returns the catalogue of APIs applications may be granted.
func (a *Admin) APIs(c Caller) ([]API, error) {
	if err := a.Authorise(c); err != nil {
		return nil, err
	}
	return slices.Clone([]API(a.cfg.Catalogue)), nil
}

// CreateOrganisation adds a partner organisation. Names are unique, ignoring
// case.
func (a *Admin) CreateOrganisation(ctx context.Context, c Caller, in OrganisationInput, r Request) (Organisation, error) {
	if err := a.Authorise(c); err != nil {
		return Organisation{}, err
	}
	if !ValidName(in.Name) {
		return Organisation{}, ErrInvalidName
	}
	country, ok := Country(in.Country)
	if !ok {
		return Organisation{}, ErrInvalidCountry
	}
	now := a.now().UTC().Truncate(time.Second)
	id, err := ids.New(ids.Organisation, now, a.random)
	if err != nil {
		return Organisation{}, fmt.Errorf("generate organisation id: %w", err)
	}
	o := Organisation{ID: id, Name: in.Name, Country: country, CreatedAt: now}
	if err := a.store.CreateOrganisation(ctx, o); err != nil {
		if errors.Is(err, ErrConflict) {
			return Organisation{}, err
		}
		return Organisation{}, fmt.Errorf("create organisation: %w", err)
	}
	// The audit trail is kept per application; an organisation's creation is
	// recorded in the function's log.
	slog.InfoContext(ctx, "organisation created", "organisationId", o.ID, "name", o.Name, "country", o.Country,
		"actor", c.Email, "sourceIp", r.SourceIP, "requestId", r.RequestID)
	return o, nil
}

// ListOrganisations lists organisations, oldest first.
func (a *Admin) ListOrganisations(ctx context.Context, c Caller, cursor string) (Page[Organisation], error) {
	if err := a.Authorise(c); err != nil {
		return Page[Organisation]{}, err
	}
	p, err := a.store.ListOrganisations(ctx, cursor, pageLimit)
	if err != nil {
		return Page[Organisation]{}, fmt.Errorf("list organisations: %w", err)
	}
	if p.Items == nil {
		p.Items = []Organisation{}
	}
	return p, nil
}

// CreateApplication adds an application to an organisation with a generated
// client id: 120 random bits, unguessable, and never reused, since the store
// keeps every client id ever issued reserved.
func (a *Admin) CreateApplication(ctx context.Context, c Caller, orgID string, in ApplicationInput, r Request) (AdminApplication, error) {
	if err := a.Authorise(c); err != nil {
		return AdminApplication{}, err
	}
	org, err := a.organisation(ctx, orgID)
	if err != nil {
		return AdminApplication{}, err
	}
	if !ValidName(in.Name) {
		return AdminApplication{}, ErrInvalidName
	}
	apis, err := a.checkAPIs(in.APIs)
	if err != nil {
		return AdminApplication{}, err
	}
	now := a.now().UTC().Truncate(time.Second)
	id, err := ids.New(ids.Application, now, a.random)
	if err != nil {
		return AdminApplication{}, fmt.Errorf("generate application id: %w", err)
	}
	app := Application{
		ID: id, Name: in.Name, Organisation: OrganisationRef{ID: org.ID, Name: org.Name},
		APIs: apis, CreatedAt: now, Secrets: map[string]time.Time{},
	}
	for attempt := 1; ; attempt++ {
		if app.ClientID, err = a.clientID(); err != nil {
			return AdminApplication{}, err
		}
		ev, err := a.event(c, audit.ApplicationCreated, app.ID, r, map[string]string{
			"name": app.Name, "apis": strings.Join(apis, ","), "clientId": app.ClientID, "organisationId": org.ID,
		})
		if err != nil {
			return AdminApplication{}, err
		}
		err = a.store.CreateApplication(ctx, app, ev)
		if err == nil {
			break
		}
		if errors.Is(err, ErrClientIDTaken) {
			if attempt < clientIDAttempts {
				continue
			}
			return AdminApplication{}, fmt.Errorf("no unused client id after %d attempts: %v", attempt, err)
		}
		if errors.Is(err, ErrConflict) {
			return AdminApplication{}, err
		}
		return AdminApplication{}, fmt.Errorf("create application: %w", err)
	}
	return a.detail(app, nil), nil
}

// UpdateApplication changes an application's name or APIs. A change of APIs
// governs the access tokens issued from then on; tokens issued before keep
// their scope until they expire (at most the token lifetime, 1 h).
func (a *Admin) UpdateApplication(ctx context.Context, c Caller, appID string, in ApplicationPatch, r Request) (AdminApplication, error) {
	if err := a.Authorise(c); err != nil {
		return AdminApplication{}, err
	}
	app, err := getApplication(ctx, a.store, appID)
	if err != nil {
		return AdminApplication{}, err
	}
	name, apis := app.Name, sortedCopy(app.APIs)
	details := map[string]string{}
	if in.Name != nil {
		if !ValidName(*in.Name) {
			return AdminApplication{}, ErrInvalidName
		}
		if *in.Name != app.Name {
			name = *in.Name
			details["nameBefore"], details["nameAfter"] = app.Name, name
		}
	}
	if in.APIs != nil {
		checked, err := a.checkAPIs(*in.APIs)
		if err != nil {
			return AdminApplication{}, err
		}
		if !slices.Equal(checked, apis) {
			details["apisBefore"], details["apisAfter"] = strings.Join(apis, ","), strings.Join(checked, ",")
			apis = checked
		}
	}
	ds, err := a.store.ListDesignations(ctx, appID)
	if err != nil {
		return AdminApplication{}, fmt.Errorf("list designations of %s: %w", appID, err)
	}
	if len(details) == 0 {
		return a.detail(app, ds), nil
	}
	ev, err := a.event(c, audit.ApplicationUpdated, appID, r, details)
	if err != nil {
		return AdminApplication{}, err
	}
	if err := a.store.UpdateApplication(ctx, app, name, apis, ev); err != nil {
		switch {
		case errors.Is(err, ErrNotFound):
			return AdminApplication{}, ErrApplicationNotFound
		case errors.Is(err, ErrConflict):
			return AdminApplication{}, err
		}
		return AdminApplication{}, fmt.Errorf("update application %s: %w", appID, err)
	}
	app.Name, app.APIs = name, apis
	return a.detail(app, ds), nil
}

// SetDesignation gives email the role on the application, creating or
// changing the designation. Setting the role it already has changes nothing
// and records nothing.
func (a *Admin) SetDesignation(ctx context.Context, c Caller, appID, email string, role Role, r Request) (AdminApplication, error) {
	if err := a.Authorise(c); err != nil {
		return AdminApplication{}, err
	}
	email, err := CheckEmail(email)
	if err != nil {
		return AdminApplication{}, err
	}
	if !role.Valid() {
		return AdminApplication{}, ErrInvalidRole
	}
	app, err := getApplication(ctx, a.store, appID)
	if err != nil {
		return AdminApplication{}, err
	}
	var before Role
	switch d, err := a.store.GetDesignation(ctx, appID, email); {
	case err == nil:
		before = d.Role
	case !errors.Is(err, ErrNotFound):
		return AdminApplication{}, fmt.Errorf("get designation: %w", err)
	}
	if before != role {
		now := a.now().UTC().Truncate(time.Second)
		ev, err := a.event(c, audit.DesignationSet, appID, r, map[string]string{
			"email": email, "roleBefore": string(before), "roleAfter": string(role),
		})
		if err != nil {
			return AdminApplication{}, err
		}
		d := Designation{ApplicationID: appID, Email: email, Role: role, CreatedAt: now, CreatedBy: c.Email}
		if err := a.store.PutDesignation(ctx, d, ev); err != nil {
			if errors.Is(err, ErrNotFound) {
				return AdminApplication{}, ErrApplicationNotFound
			}
			return AdminApplication{}, fmt.Errorf("put designation: %w", err)
		}
	}
	// Every time, so that setting the designation again retries an
	// invitation that failed; a person who has a user gets nothing.
	_, inviteErr := a.people.Invite(ctx, email)
	out, err := a.current(ctx, app)
	if err != nil {
		return out, err
	}
	if inviteErr != nil {
		a.log.ErrorContext(ctx, "designated person not invited", "applicationId", appID, "email", email, "error", inviteErr.Error())
		out.Warnings = append(out.Warnings, Warning{Code: WarnInvitationFailed,
			Message: "The designation is saved, but " + email + " could not be given a user to sign in with; set the designation again to retry the invitation."})
	}
	return out, nil
}

// RemoveDesignation takes email's designation away. It takes effect at once:
// every read of a designation that decides access is strongly consistent.
func (a *Admin) RemoveDesignation(ctx context.Context, c Caller, appID, email string, r Request) (AdminApplication, error) {
	if err := a.Authorise(c); err != nil {
		return AdminApplication{}, err
	}
	email, err := CheckEmail(email)
	if err != nil {
		return AdminApplication{}, err
	}
	app, err := getApplication(ctx, a.store, appID)
	if err != nil {
		return AdminApplication{}, err
	}
	d, err := a.store.GetDesignation(ctx, appID, email)
	if errors.Is(err, ErrNotFound) {
		return AdminApplication{}, ErrDesignationNotFound
	}
	if err != nil {
		return AdminApplication{}, fmt.Errorf("get designation: %w", err)
	}
	ev, err := a.event(c, audit.DesignationRemoved, appID, r, map[string]string{
		"email": email, "roleBefore": string(d.Role), "roleAfter": "",
	})
	if err != nil {
		return AdminApplication{}, err
	}
	if err := a.store.DeleteDesignation(ctx, appID, email, ev); err != nil {
		if errors.Is(err, ErrNotFound) {
			return AdminApplication{}, ErrDesignationNotFound
		}
		return AdminApplication{}, fmt.Errorf("delete designation: %w", err)
	}
	return a.current(ctx, app)
}

// checkAPIs validates a grant against the catalogue and returns it sorted.
func (a *Admin) checkAPIs(apis []string) ([]string, error) {
	if len(apis) == 0 {
		return nil, ErrNoAPIs
	}
	seen := make(map[string]bool, len(apis))
	for _, id := range apis {
		if _, ok := a.cfg.Catalogue.Lookup(id); !ok {
			return nil, &Error{Err: ErrUnknownAPI, Value: truncate(id, 64)}
		}
		if seen[id] {
			return nil, &Error{Err: ErrDuplicateAPI, Value: id}
		}
		seen[id] = true
	}
	return sortedCopy(apis), nil
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// clientID generates a client id from the injected randomness.
func (a *Admin) clientID() (string, error) {
	var b [clientIDBytes]byte
	if _, err := io.ReadFull(a.random, b[:]); err != nil {
		return "", fmt.Errorf("generate client id: %w", err)
	}
	return clientIDEncoding.EncodeToString(b[:]), nil
}

func (a *Admin) organisation(ctx context.Context, id string) (Organisation, error) {
	if !ids.Valid(ids.Organisation, id) {
		return Organisation{}, ErrOrganisationNotFound
	}
	o, err := a.store.GetOrganisation(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Organisation{}, ErrOrganisationNotFound
	}
	if err != nil {
		return Organisation{}, fmt.Errorf("get organisation %s: %w", id, err)
	}
	return o, nil
}

// current shows app with its designations as they are now.
func (a *Admin) current(ctx context.Context, app Application) (AdminApplication, error) {
	ds, err := a.store.ListDesignations(ctx, app.ID)
	if err != nil {
		return AdminApplication{}, fmt.Errorf("list designations of %s: %w", app.ID, err)
	}
	return a.detail(app, ds), nil
}

func (a *Admin) detail(app Application, ds []Designation) AdminApplication {
	out := AdminApplication{ApplicationDetail: a.cfg.detail(app, RoleAdmin, ds, a.now()), Warnings: []Warning{}}
	managers := 0
	for _, d := range ds {
		if d.Role == RoleCredentialManager {
			managers++
		}
	}
	if managers < 2 {
		out.Warnings = append(out.Warnings, fewerThanTwoManagers(managers))
	}
	return out
}

// event describes a change for the audit trail, with its details.
func (a *Admin) event(c Caller, action, appID string, r Request, details map[string]string) (audit.Event, error) {
	ev, err := newEvent(a.now().UTC(), a.random, c.Email, r, action, appID)
	ev.Details = details
	return ev, err
}
