package portal

import "credportal/shared/audit"

// A Notice is the email a change sends: the change's audit event and what
// it changed, exactly one of Secret, Key and Federated (a security notice to
// the application's credential managers) or Designation (telling the person
// designated). The store keeps it in an outbox, written in the change's own
// transaction, so a change is never without its notice; shared/outbox
// delivers it after the change's answer has gone.
type Notice struct {
	Event       audit.Event
	Secret      *Secret
	Key         *Key
	Federated   *FederatedCredential
	Designation *Designation
}
