package mail

import (
	"context"
	"errors"
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
// its secrets is created or deleted: who did it, which secret, and when. With
// no credential manager designated, the notice goes to the fallback address
// (if one is set), so a change is never silent.
type Notifier struct {
	mailer       *Mailer
	designations Designations
	portalURL    string
	fallback     string
}

var (
	_ portal.Notifier          = (*Notifier)(nil)
	_ portal.FederatedNotifier = (*Notifier)(nil)
	_ portal.KeyNotifier       = (*Notifier)(nil)
)

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

// SecretChanged sends the notice of ev (secret.created or secret.deleted) to
// each credential manager of app, one message each.
func (n *Notifier) SecretChanged(ctx context.Context, app portal.Application, s portal.Secret, ev audit.Event) error {
	verb := map[string]string{audit.SecretCreated: "created", audit.SecretDeleted: "deleted"}[ev.Action]
	if verb == "" {
		return fmt.Errorf("security notice: unexpected action %q", ev.Action)
	}
	return n.send(ctx, app, ev, "Client secret", notice{
		Kind: "client secret", Verb: verb, SecretName: s.Name, Hint: s.Hint, ExpiresAt: DateTime(s.ExpiresAt),
	})
}

// FederatedCredentialChanged sends the notice of ev
// (federated_credential.created or .deleted) to each credential manager of
// app, one message each.
func (n *Notifier) FederatedCredentialChanged(ctx context.Context, app portal.Application, fc portal.FederatedCredential, ev audit.Event) error {
	verb := map[string]string{audit.FederatedCredentialCreated: "created", audit.FederatedCredentialDeleted: "deleted"}[ev.Action]
	if verb == "" {
		return fmt.Errorf("security notice: unexpected action %q", ev.Action)
	}
	return n.send(ctx, app, ev, "Federated credential", notice{
		Kind: "federated credential", Verb: verb,
		Credential: [][2]string{{"Credential", fc.Name}, {"Issuer", fc.Issuer}, {"Subject", fc.Subject}, {"Audience", fc.Audience}},
	})
}

// KeyChanged sends the notice of ev (key.created or key.deleted) to each
// credential manager of app, one message each.
func (n *Notifier) KeyChanged(ctx context.Context, app portal.Application, k portal.Key, ev audit.Event) error {
	verb := map[string]string{audit.KeyCreated: "created", audit.KeyDeleted: "deleted"}[ev.Action]
	if verb == "" {
		return fmt.Errorf("security notice: unexpected action %q", ev.Action)
	}
	rows := [][2]string{{"Key", k.Name}, {"Thumbprint", k.Thumbprint}}
	if verb == "created" {
		rows = append(rows, [2]string{"Expires", DateTime(k.ExpiresAt)})
	}
	return n.send(ctx, app, ev, "Key", notice{Kind: "key", Verb: verb, Credential: rows})
}

// send completes data with the application and the event, and mails it to
// each credential manager of app (or the fallback address).
func (n *Notifier) send(ctx context.Context, app portal.Application, ev audit.Event, subject string, data notice) error {
	ds, err := n.designations.ListDesignations(ctx, app.ID)
	if err != nil {
		return fmt.Errorf("security notice: %w", err)
	}
	to := Recipients(ds, n.fallback)
	data.Application, data.Link = app.Name, ApplicationURL(n.portalURL, app.ID)
	data.Actor, data.At, data.SourceIP, data.UserAgent = ev.Actor, DateTime(ev.At), ev.SourceIP, ev.UserAgent
	textPart, htmlPart := data.text(), data.html()
	var errs []error
	for _, rcpt := range to {
		_, err := n.mailer.Send(ctx, Message{
			To:      []string{rcpt},
			Subject: fmt.Sprintf("%s %s on %s", subject, data.Verb, app.Name),
			Date:    ev.At,
			Text:    textPart,
			HTML:    htmlPart,
			Headers: map[string]string{"X-Portal-Event": ev.ID},
		})
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
