// Package audit holds the audit trail's event type and action names. An event
// never carries a secret value.
package audit

import (
	"fmt"
	"io"
	"time"

	"credportal/shared/ids"
)

// Actions recorded in the trail.
const (
	SecretCreated      = "secret.created"
	SecretDeleted      = "secret.deleted"
	SecretLeaked       = "secret.leaked"
	KeyCreated         = "key.created" // Details: keyId, keyName, thumbprint
	KeyDeleted         = "key.deleted" // Details: keyId, keyName, thumbprint
	DesignationSet     = "designation.set"
	DesignationRemoved = "designation.removed"
	ApplicationCreated = "application.created"
	ApplicationUpdated = "application.updated"
	TokenFailures      = "token.failures"

	FederatedCredentialCreated = "federated_credential.created"
	FederatedCredentialDeleted = "federated_credential.deleted"
)

// Event is one entry of an application's audit trail.
type Event struct {
	ID            string    `json:"id"`
	At            time.Time `json:"at"`
	Actor         string    `json:"actor"`
	Action        string    `json:"action"`
	ApplicationID string    `json:"applicationId"`
	SecretID      string    `json:"secretId,omitempty"`
	// SecretName is the secret's name as it was at the event. Events
	// recorded before it was kept have none; they still have the hint.
	SecretName string            `json:"secretName,omitempty"`
	Hint       string            `json:"hint,omitempty"`
	SourceIP   string            `json:"sourceIp,omitempty"`
	UserAgent  string            `json:"userAgent,omitempty"`
	RequestID  string            `json:"requestId,omitempty"`
	Details    map[string]string `json:"details,omitempty"`
}

// New describes an action by actor on an application, at the instant at. Its
// id is made from the same instant, ordered to the millisecond, so the trail
// keeps the order of changes within one second.
func New(at time.Time, random io.Reader, actor, action, applicationID string) (Event, error) {
	id, err := ids.New(ids.Event, at, random)
	if err != nil {
		return Event{}, fmt.Errorf("generate event id: %w", err)
	}
	return Event{ID: id, At: at, Actor: actor, Action: action, ApplicationID: applicationID}, nil
}
