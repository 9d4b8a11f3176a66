package portal

import "credportal/shared/audit"

// A Notice is the security notice of a change to an application's
// credentials: the change's audit event and the credential it created or
// deleted (exactly one of Secret, Key and Federated). The store keeps it in
// an outbox, written in the change's own transaction, so a change is never
// without its notice; shared/outbox delivers it to the application's
// credential managers after the change's answer has gone.
type Notice struct {
	Event     audit.Event
	Secret    *Secret
	Key       *Key
	Federated *FederatedCredential
}
