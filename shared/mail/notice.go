package mail

import (
	"context"
	"fmt"
	"html"
	"strings"
	"time"

	"credportal/shared/audit"
	"credportal/shared/portal"
)

// Designations lists who is designated on an application.
type Designations interface {
	ListDesignations(ctx context.Context, applicationID string) ([]portal.Designation, error)
}

// Notifier emails an application's credential managers at once when one of
// its secrets is found in public (see leak.go). With no credential manager
// designated, the notice goes to the fallback address (if one is set), so a
// leak is never silent.
type Notifier struct {
	mailer       *Mailer
	designations Designations
	portalURL    string
	fallback     string
}

// NewNotifier builds a notifier; portalURL is the portal's public URL, and
// fallback the address told when an application has no credential manager.
func NewNotifier(m *Mailer, d Designations, portalURL, fallback string) *Notifier {
	return &Notifier{mailer: m, designations: d, portalURL: portalURL, fallback: fallback}
}

// notice is what a security notice shows.
type notice struct {
	Kind        string // "client secret", "key" or "federated credential"
	Verb        string // "created" or "deleted"
	Application string
	Link        string
	SecretName  string
	Hint        string
	Actor       string
	At          string
	ExpiresAt   string
	SourceIP    string
	UserAgent   string // the User-Agent the change was requested with
	// Credential describes a federated credential: its name, issuer and
	// subject, in place of the secret's rows.
	Credential [][2]string
}

// rows are the notice's facts, in order, as label and value.
func (n notice) rows() [][2]string {
	var rows [][2]string
	if n.Credential != nil {
		rows = append(rows, n.Credential...)
	} else {
		rows = append(rows, [2]string{"Secret", n.SecretName + " (" + n.Hint + "…)"})
		if n.Verb == "created" {
			rows = append(rows, [2]string{"Expires", n.ExpiresAt})
		}
	}
	rows = append(rows, [2]string{"By", n.Actor}, [2]string{"When", n.At})
	if n.SourceIP != "" {
		rows = append(rows, [2]string{"From", n.SourceIP})
	}
	if n.UserAgent != "" {
		rows = append(rows, [2]string{"User agent", n.UserAgent})
	}
	return rows
}

const noticeAdvice = "If you do not recognise this change, tell your registry contact at once."

// Notices are written without text/template: a template package in a binary
// makes the linker keep every exported method of every type it links (for
// reflection), which would add megabytes to the functions that send them.

// text is the plain-text part.
func (n notice) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "A %s of %s was %s.\n\n", n.Kind, n.Application, n.Verb)
	for _, r := range n.rows() {
		fmt.Fprintf(&b, "%-11s %s\n", r[0]+":", r[1])
	}
	fmt.Fprintf(&b, "\n%s\n\n%s\n", noticeAdvice, n.Link)
	return b.String()
}

// html is the HTML part; every value is escaped.
func (n notice) html() string {
	e := html.EscapeString
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html><body style=\"font-family:sans-serif\">\n")
	fmt.Fprintf(&b, "<p>A %s of <strong>%s</strong> was %s.</p>\n<table>\n", e(n.Kind), e(n.Application), e(n.Verb))
	for _, r := range n.rows() {
		fmt.Fprintf(&b, "<tr><th align=\"left\">%s</th><td>%s</td></tr>\n", e(r[0]), e(r[1]))
	}
	fmt.Fprintf(&b, "</table>\n<p>%s</p>\n<p><a href=\"%s\">Open %s in the portal</a></p>\n</body></html>\n", e(noticeAdvice), e(n.Link), e(n.Application))
	return b.String()
}

// DateTime is how emails show an instant.
func DateTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// SecurityNotice is the message telling a credential manager of app about
// n, a change to one of its credentials: who made it, to which credential,
// and when. The caller addresses it. Its X-Portal-Event header names the
// change's event, so a notice sent twice can be recognised.
func SecurityNotice(portalURL string, app portal.Application, n portal.Notice) (Message, error) {
	ev := n.Event
	var (
		data    notice
		subject string
		verbs   map[string]string
	)
	switch {
	case n.Secret != nil:
		verbs = map[string]string{audit.SecretCreated: "created", audit.SecretDeleted: "deleted"}
		subject = "Client secret"
		data = notice{Kind: "client secret", SecretName: n.Secret.Name, Hint: n.Secret.Hint, ExpiresAt: DateTime(n.Secret.ExpiresAt)}
	case n.Key != nil:
		verbs = map[string]string{audit.KeyCreated: "created", audit.KeyDeleted: "deleted"}
		subject = "Key"
		rows := [][2]string{{"Key", n.Key.Name}, {"Thumbprint", n.Key.Thumbprint}}
		if ev.Action == audit.KeyCreated {
			rows = append(rows, [2]string{"Expires", DateTime(n.Key.ExpiresAt)})
		}
		data = notice{Kind: "key", Credential: rows}
	case n.Federated != nil:
		verbs = map[string]string{audit.FederatedCredentialCreated: "created", audit.FederatedCredentialDeleted: "deleted"}
		subject = "Federated credential"
		fc := n.Federated
		data = notice{Kind: "federated credential", Credential: [][2]string{{"Credential", fc.Name}, {"Issuer", fc.Issuer}, {"Subject", fc.Subject}, {"Audience", fc.Audience}}}
	default:
		return Message{}, fmt.Errorf("security notice of event %s: no credential", ev.ID)
	}
	if data.Verb = verbs[ev.Action]; data.Verb == "" {
		return Message{}, fmt.Errorf("security notice of event %s: unexpected action %q", ev.ID, ev.Action)
	}
	data.Application, data.Link = app.Name, ApplicationURL(portalURL, app.ID)
	data.Actor, data.At, data.SourceIP, data.UserAgent = ev.Actor, DateTime(ev.At), ev.SourceIP, ev.UserAgent
	return Message{
		Subject: fmt.Sprintf("%s %s on %s", subject, data.Verb, app.Name),
		Date:    ev.At,
		Text:    data.text(),
		HTML:    data.html(),
		Headers: map[string]string{"X-Portal-Event": ev.ID},
	}, nil
}
