package store

import (
	"time"

	"credportal/shared/audit"
	"credportal/shared/portal"
	"credportal/shared/reminder"
)

type organisationItem struct {
	PK        string    `dynamodbav:"PK"`
	SK        string    `dynamodbav:"SK"`
	GSI1PK    string    `dynamodbav:"GSI1PK"`
	GSI1SK    string    `dynamodbav:"GSI1SK"`
	Type      string    `dynamodbav:"Type"`
	ID        string    `dynamodbav:"ID"`
	Name      string    `dynamodbav:"Name"`
	Country   string    `dynamodbav:"Country"`
	CreatedAt time.Time `dynamodbav:"CreatedAt"`
}

func newOrganisationItem(o portal.Organisation) organisationItem {
	return organisationItem{
		PK: "ORG#" + o.ID, SK: "ORG", GSI1PK: "ORGS", GSI1SK: "ORG#" + o.ID, Type: typeOrganisation,
		ID: o.ID, Name: o.Name, Country: o.Country, CreatedAt: o.CreatedAt,
	}
}

func (i organisationItem) domain() portal.Organisation {
	return portal.Organisation{ID: i.ID, Name: i.Name, Country: i.Country, CreatedAt: i.CreatedAt}
}

type applicationItem struct {
	PK        string               `dynamodbav:"PK"`
	SK        string               `dynamodbav:"SK"`
	GSI1PK    string               `dynamodbav:"GSI1PK"`
	GSI1SK    string               `dynamodbav:"GSI1SK"`
	Type      string               `dynamodbav:"Type"`
	ID        string               `dynamodbav:"ID"`
	Name      string               `dynamodbav:"Name"`
	ClientID  string               `dynamodbav:"ClientID"`
	OrgID     string               `dynamodbav:"OrgID"`
	OrgName   string               `dynamodbav:"OrgName"`
	APIs      []string             `dynamodbav:"APIs"`
	CreatedAt time.Time            `dynamodbav:"CreatedAt"`
	Secrets   map[string]time.Time `dynamodbav:"Secrets"`
	// Keys is absent from applications that never had a key.
	Keys    map[string]time.Time `dynamodbav:"Keys,omitempty"`
	Version int64                `dynamodbav:"Version"`
}

func newApplicationItem(a portal.Application) applicationItem {
	secrets := a.Secrets
	if secrets == nil {
		secrets = map[string]time.Time{}
	}
	apis := a.APIs
	if apis == nil {
		apis = []string{}
	}
	return applicationItem{
		PK: "APP#" + a.ID, SK: "APP", GSI1PK: "APPS", GSI1SK: "APP#" + a.ID, Type: typeApplication,
		ID: a.ID, Name: a.Name, ClientID: a.ClientID, OrgID: a.Organisation.ID, OrgName: a.Organisation.Name,
		APIs: apis, CreatedAt: a.CreatedAt, Secrets: secrets, Keys: a.Keys, Version: a.Version,
	}
}

func (i applicationItem) domain() portal.Application {
	secrets := i.Secrets
	if secrets == nil {
		secrets = map[string]time.Time{}
	}
	return portal.Application{
		ID: i.ID, Name: i.Name, ClientID: i.ClientID,
		Organisation: portal.OrganisationRef{ID: i.OrgID, Name: i.OrgName},
		APIs:         i.APIs, CreatedAt: i.CreatedAt, Secrets: secrets, Keys: i.Keys, Version: i.Version,
	}
}

type designationItem struct {
	PK        string    `dynamodbav:"PK"`
	SK        string    `dynamodbav:"SK"`
	GSI1PK    string    `dynamodbav:"GSI1PK"`
	GSI1SK    string    `dynamodbav:"GSI1SK"`
	Type      string    `dynamodbav:"Type"`
	AppID     string    `dynamodbav:"AppID"`
	Email     string    `dynamodbav:"Email"`
	Role      string    `dynamodbav:"Role"`
	CreatedAt time.Time `dynamodbav:"CreatedAt"`
	CreatedBy string    `dynamodbav:"CreatedBy"`
	// The identity the designation is bound to, set by its first use
	// (BindDesignation) and by nothing else. Items written before bindings
	// existed lack all three: that is an unbound designation, and its first
	// use binds it, so no migration is needed.
	BoundIssuer  string     `dynamodbav:"BoundIssuer,omitempty"`
	BoundSubject string     `dynamodbav:"BoundSubject,omitempty"`
	BoundAt      *time.Time `dynamodbav:"BoundAt,omitempty"`
}

func newDesignationItem(d portal.Designation) designationItem {
	it := designationItem{
		PK: "APP#" + d.ApplicationID, SK: "DESIG#" + d.Email, GSI1PK: "USER#" + d.Email, GSI1SK: "APP#" + d.ApplicationID,
		Type: typeDesignation, AppID: d.ApplicationID, Email: d.Email, Role: string(d.Role),
		CreatedAt: d.CreatedAt, CreatedBy: d.CreatedBy,
	}
	if b := d.Binding; b != nil {
		at := b.At
		it.BoundIssuer, it.BoundSubject, it.BoundAt = b.Issuer, b.Subject, &at
	}
	return it
}

func (i designationItem) domain() portal.Designation {
	d := portal.Designation{ApplicationID: i.AppID, Email: i.Email, Role: portal.Role(i.Role), CreatedAt: i.CreatedAt, CreatedBy: i.CreatedBy}
	if i.BoundSubject != "" {
		d.Binding = &portal.Binding{Issuer: i.BoundIssuer, Subject: i.BoundSubject}
		if i.BoundAt != nil {
			d.Binding.At = *i.BoundAt
		}
	}
	return d
}

type secretItem struct {
	PK            string     `dynamodbav:"PK"`
	SK            string     `dynamodbav:"SK"`
	ExpiryDay     string     `dynamodbav:"ExpiryDay,omitempty"`
	ExpiryKey     string     `dynamodbav:"ExpiryKey,omitempty"`
	Type          string     `dynamodbav:"Type"`
	ID            string     `dynamodbav:"ID"`
	AppID         string     `dynamodbav:"AppID"`
	Name          string     `dynamodbav:"Name"`
	Hint          string     `dynamodbav:"Hint"`
	Hash          []byte     `dynamodbav:"Hash"`
	PepperVersion string     `dynamodbav:"PepperVersion"`
	CreatedAt     time.Time  `dynamodbav:"CreatedAt"`
	CreatedBy     string     `dynamodbav:"CreatedBy"`
	ExpiresAt     time.Time  `dynamodbav:"ExpiresAt"`
	LastUsedAt    *time.Time `dynamodbav:"LastUsedAt,omitempty"`
	LeakedAt      *time.Time `dynamodbav:"LeakedAt,omitempty"`
}

// expiryDay is the ByExpiry partition of a secret or key expiring at t.
func expiryDay(t time.Time) string { return t.UTC().Format(time.DateOnly) }

func newSecretItem(sec portal.Secret) secretItem {
	return secretItem{
		PK: "APP#" + sec.ApplicationID, SK: "SECRET#" + sec.ID,
		ExpiryDay: expiryDay(sec.ExpiresAt), ExpiryKey: expiryKey(reminder.KindSecret, sec.ApplicationID, sec.ID, sec.ExpiresAt),
		Type: typeSecret, ID: sec.ID, AppID: sec.ApplicationID, Name: sec.Name, Hint: sec.Hint,
		Hash: sec.Hash, PepperVersion: sec.PepperVersion, CreatedAt: sec.CreatedAt, CreatedBy: sec.CreatedBy,
		ExpiresAt: sec.ExpiresAt, LastUsedAt: sec.LastUsedAt, LeakedAt: sec.LeakedAt,
	}
}

func (i secretItem) domain() portal.Secret {
	return portal.Secret{
		ID: i.ID, ApplicationID: i.AppID, Name: i.Name, Hint: i.Hint, Hash: i.Hash, PepperVersion: i.PepperVersion,
		CreatedAt: i.CreatedAt, CreatedBy: i.CreatedBy, ExpiresAt: i.ExpiresAt, LastUsedAt: i.LastUsedAt, LeakedAt: i.LeakedAt,
	}
}

type eventItem struct {
	PK       string    `dynamodbav:"PK"`
	SK       string    `dynamodbav:"SK"`
	Type     string    `dynamodbav:"Type"`
	TTL      int64     `dynamodbav:"TTL"`
	ID       string    `dynamodbav:"ID"`
	At       time.Time `dynamodbav:"At"`
	Actor    string    `dynamodbav:"Actor"`
	Action   string    `dynamodbav:"Action"`
	AppID    string    `dynamodbav:"AppID"`
	SecretID string    `dynamodbav:"SecretID,omitempty"`
	// SecretName is absent from events written before it was recorded.
	SecretName string            `dynamodbav:"SecretName,omitempty"`
	Hint       string            `dynamodbav:"Hint,omitempty"`
	SourceIP   string            `dynamodbav:"SourceIP,omitempty"`
	UserAgent  string            `dynamodbav:"UserAgent,omitempty"`
	RequestID  string            `dynamodbav:"RequestID,omitempty"`
	Details    map[string]string `dynamodbav:"Details,omitempty"`
}

func newEventItem(e audit.Event) eventItem {
	return eventItem{
		PK: "AUDIT#" + e.ApplicationID, SK: "EVENT#" + e.ID, Type: typeEvent, TTL: e.At.Add(auditRetention).Unix(),
		ID: e.ID, At: e.At, Actor: e.Actor, Action: e.Action, AppID: e.ApplicationID, SecretID: e.SecretID,
		SecretName: e.SecretName, Hint: e.Hint, SourceIP: e.SourceIP, UserAgent: e.UserAgent, RequestID: e.RequestID, Details: e.Details,
	}
}

func (i eventItem) domain() audit.Event {
	return audit.Event{
		ID: i.ID, At: i.At, Actor: i.Actor, Action: i.Action, ApplicationID: i.AppID, SecretID: i.SecretID,
		SecretName: i.SecretName, Hint: i.Hint, SourceIP: i.SourceIP, UserAgent: i.UserAgent, RequestID: i.RequestID, Details: i.Details,
	}
}
