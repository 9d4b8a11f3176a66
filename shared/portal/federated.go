package portal

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"credportal/shared/audit"
	"credportal/shared/ids"
)

// FederatedCredential lets an application authenticate with a token an
// external OpenID Connect issuer gives its workload (a CI job, a cloud
// function): a token of Issuer, for Subject, naming Audience. It holds no
// secret and does not expire.
type FederatedCredential struct {
	ID            string
	ApplicationID string
	Name          string
	Issuer        string
	Subject       string
	Audience      string
	CreatedAt     time.Time
	CreatedBy     string
	LastUsedAt    *time.Time
}

// DefaultFederatedLimit is how many federated credentials an application
// may hold.
const DefaultFederatedLimit = 20

// MaxClaimLen bounds a federated credential's subject and audience, in
// bytes.
const MaxClaimLen = 255

// Federation is the policy of federated credentials.
type Federation struct {
	// TrustedIssuers are the issuers a credential may name, compared
	// exactly.
	TrustedIssuers []string
	// DefaultAudience is a credential's audience when none is given: the
	// portal's token issuer identifier.
	DefaultAudience string
	// Limit is how many credentials an application may hold.
	Limit int
}

// FederatedStore is what federated credentials are kept in.
type FederatedStore interface {
	ListFederatedCredentials(ctx context.Context, applicationID string) ([]FederatedCredential, error)
	GetFederatedCredential(ctx context.Context, applicationID, credentialID string) (FederatedCredential, error)
	// AddFederatedCredential stores fc, ev and the change's Notice
	// atomically unless the
	// application already holds limit credentials (ErrFederatedLimit), under
	// the designation by as Store.AddSecret.
	AddFederatedCredential(ctx context.Context, fc FederatedCredential, limit int, ev audit.Event, by *Designation) error
	// RemoveFederatedCredential deletes fc and records ev and the change's
	// Notice atomically, under by as Store.RemoveSecret.
	RemoveFederatedCredential(ctx context.Context, fc FederatedCredential, ev audit.Event, by *Designation) error
}

// FederatedCredentialView is a federated credential as shown to callers.
type FederatedCredentialView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Issuer     string     `json:"issuer"`
	Subject    string     `json:"subject"`
	Audience   string     `json:"audience"`
	CreatedAt  time.Time  `json:"createdAt"`
	CreatedBy  string     `json:"createdBy"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
}

func federatedView(fc FederatedCredential) FederatedCredentialView {
	return FederatedCredentialView{
		ID: fc.ID, Name: fc.Name, Issuer: fc.Issuer, Subject: fc.Subject, Audience: fc.Audience,
		CreatedAt: fc.CreatedAt, CreatedBy: fc.CreatedBy, LastUsedAt: fc.LastUsedAt,
	}
}

// CreateFederatedInput is what a caller asks for.
type CreateFederatedInput struct {
	Name     string  `json:"name"`
	Issuer   string  `json:"issuer"`
	Subject  string  `json:"subject"`
	Audience *string `json:"audience,omitempty"`
}

// FederatedService manages federated credentials; it shares the access rules
// of the Service it extends.
type FederatedService struct {
	*Service
	store  FederatedStore
	policy Federation
}

// NewFederatedService extends s with federated credentials kept in store.
func NewFederatedService(s *Service, store FederatedStore, policy Federation) *FederatedService {
	return &FederatedService{Service: s, store: store, policy: policy}
}

// Policy returns the federation policy.
func (s *FederatedService) Policy() Federation { return s.policy }

// ListFederatedCredentials lists an application's federated credentials,
// oldest first; every designated caller may.
func (s *FederatedService) ListFederatedCredentials(ctx context.Context, c Caller, appID string) ([]FederatedCredentialView, error) {
	if _, _, err := s.access(ctx, c, appID); err != nil {
		return nil, err
	}
	fcs, err := s.store.ListFederatedCredentials(ctx, appID)
	if err != nil {
		return nil, fmt.Errorf("list federated credentials of %s: %w", appID, err)
	}
	out := make([]FederatedCredentialView, 0, len(fcs))
	for _, fc := range fcs {
		out = append(out, federatedView(fc))
	}
	return out, nil
}

// foreignAudiences are audiences well-known relying parties ask their
// workloads' tokens for: a federated credential naming one would accept a
// token minted for that party (AWS STS, Entra workload identity federation,
// Google's workload identity pools), so a token stolen from one could sign
// in here too.
var foreignAudiences = []struct{ prefix, party string }{
	{"sts.amazonaws.com", "AWS STS"},
	{"api://AzureADTokenExchange", "Microsoft Entra ID"},
	{"//iam.googleapis.com/", "Google Cloud IAM"},
	{"https://iam.googleapis.com/", "Google Cloud IAM"},
}

// foreignAudience names the relying party aud is another's audience of, or
// "". The match ignores letter case; sts.amazonaws.com is matched whole (and
// with a region: sts.<region>.amazonaws.com).
func foreignAudience(aud string) string {
	lower := strings.ToLower(aud)
	if strings.HasPrefix(lower, "sts.") && strings.HasSuffix(lower, ".amazonaws.com") {
		return "AWS STS"
	}
	for _, f := range foreignAudiences {
		p := strings.ToLower(f.prefix)
		if lower == strings.TrimSuffix(p, "/") || strings.HasPrefix(lower, p) {
			return f.party
		}
	}
	return ""
}

// validClaim reports whether v is 1–MaxClaimLen bytes of printable
// characters without spaces.
func validClaim(v string) bool {
	if v == "" || len(v) > MaxClaimLen || !utf8.ValidString(v) {
		return false
	}
	for _, r := range v {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// CreateFederatedCredential adds a federated credential to the application.
func (s *FederatedService) CreateFederatedCredential(ctx context.Context, c Caller, appID string, in CreateFederatedInput, r Request) (FederatedCredentialView, error) {
	g, err := s.manage(ctx, c, appID)
	if err != nil {
		return FederatedCredentialView{}, err
	}
	if !ValidName(in.Name) {
		return FederatedCredentialView{}, ErrInvalidName
	}
	if !slices.Contains(s.policy.TrustedIssuers, in.Issuer) {
		return FederatedCredentialView{}, &Error{Err: ErrUntrustedIssuer, Value: strings.Join(s.policy.TrustedIssuers, ", ")}
	}
	if !validClaim(in.Subject) {
		return FederatedCredentialView{}, ErrInvalidSubject
	}
	audience := s.policy.DefaultAudience
	if in.Audience != nil {
		if !validClaim(*in.Audience) {
			return FederatedCredentialView{}, ErrInvalidAudience
		}
		if party := foreignAudience(*in.Audience); party != "" {
			return FederatedCredentialView{}, &Error{Err: ErrForeignAudience, Value: party}
		}
		audience = *in.Audience
	}
	now := s.now().UTC().Truncate(time.Second)
	id, err := ids.New(ids.FederatedCredential, s.now(), s.random)
	if err != nil {
		return FederatedCredentialView{}, fmt.Errorf("generate federated credential id: %w", err)
	}
	fc := FederatedCredential{
		ID: id, ApplicationID: appID, Name: in.Name, Issuer: in.Issuer, Subject: in.Subject, Audience: audience,
		CreatedAt: now, CreatedBy: c.Email,
	}
	ev, err := s.federatedEvent(c, audit.FederatedCredentialCreated, fc, r)
	if err != nil {
		return FederatedCredentialView{}, err
	}
	if err := s.stored(ctx, c, appID, s.store.AddFederatedCredential(ctx, fc, s.policy.Limit, ev, g.designation), ErrFederatedLimit, ErrFederatedLimit, "add federated credential to "+appID); err != nil {
		return FederatedCredentialView{}, err
	}
	return federatedView(fc), nil
}

// DeleteFederatedCredential deletes a federated credential at once.
func (s *FederatedService) DeleteFederatedCredential(ctx context.Context, c Caller, appID, credentialID string, r Request) error {
	fc, g, err := managed(ctx, s.Service, c, appID, credentialID, ids.FederatedCredential, "federated credential", ErrFederatedNotFound, s.store.GetFederatedCredential)
	if err != nil {
		return err
	}
	ev, err := s.federatedEvent(c, audit.FederatedCredentialDeleted, fc, r)
	if err != nil {
		return err
	}
	if err := s.stored(ctx, c, appID, s.store.RemoveFederatedCredential(ctx, fc, ev, g.designation), ErrNotFound, ErrFederatedNotFound, "remove federated credential "+credentialID); err != nil {
		return err
	}
	return nil
}

// federatedEvent describes an action on a federated credential; the
// credential's name, issuer and subject are kept with it, so the trail names
// a credential deleted since.
func (s *FederatedService) federatedEvent(c Caller, action string, fc FederatedCredential, r Request) (audit.Event, error) {
	now := s.now().UTC()
	id, err := ids.New(ids.Event, now, s.random)
	if err != nil {
		return audit.Event{}, fmt.Errorf("generate event id: %w", err)
	}
	return audit.Event{
		ID: id, At: now, Actor: c.Email, Action: action, ApplicationID: fc.ApplicationID,
		SourceIP: r.SourceIP, UserAgent: r.UserAgent, RequestID: r.RequestID,
		Details: map[string]string{
			"credentialId": fc.ID, "name": fc.Name, "issuer": fc.Issuer, "subject": fc.Subject, "audience": fc.Audience,
		},
	}, nil
}
