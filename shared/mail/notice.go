package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	htmltemplate "html/template"
	texttemplate "text/template"
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

var _ portal.Notifier = (*Notifier)(nil)

// NewNotifier builds a notifier; portalURL is the portal's public URL, and
// fallback the address told when an application has no credential manager.
func NewNotifier(m *Mailer, d Designations, portalURL, fallback string) *Notifier {
	return &Notifier{mailer: m, designations: d, portalURL: portalURL, fallback: fallback}
}

// notice is what the security notice templates show.
type notice struct {
	Verb        string // "created" or "deleted"
	Application string
	Link        string
	SecretName  string
	Hint        string
	Actor       string
	At          string
	ExpiresAt   string
	SourceIP    string
}

var (
	noticeText = texttemplate.Must(texttemplate.New("notice").Parse(`A client secret of {{.Application}} was {{.Verb}}.

Secret:     {{.SecretName}} ({{.Hint}}…)
{{if eq .Verb "created"}}Expires:    {{.ExpiresAt}}
{{end}}By:         {{.Actor}}
When:       {{.At}}
{{if .SourceIP}}From:       {{.SourceIP}}
{{end}}
If you do not recognise this change, tell your registry contact at once.

{{.Link}}
`))
	noticeHTML = htmltemplate.Must(htmltemplate.New("notice").Parse(`<!doctype html>
<html><body style="font-family:sans-serif">
<p>A client secret of <strong>{{.Application}}</strong> was {{.Verb}}.</p>
<table>
<tr><th align="left">Secret</th><td>{{.SecretName}} (<code>{{.Hint}}…</code>)</td></tr>
{{if eq .Verb "created"}}<tr><th align="left">Expires</th><td>{{.ExpiresAt}}</td></tr>
{{end}}<tr><th align="left">By</th><td>{{.Actor}}</td></tr>
<tr><th align="left">When</th><td>{{.At}}</td></tr>
{{if .SourceIP}}<tr><th align="left">From</th><td>{{.SourceIP}}</td></tr>
{{end}}</table>
<p>If you do not recognise this change, tell your registry contact at once.</p>
<p><a href="{{.Link}}">Open {{.Application}} in the portal</a></p>
</body></html>
`))
)

// DateTime is how emails show an instant.
func DateTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// SecretChanged sends the notice of ev (secret.created or secret.deleted) to
// each credential manager of app, one message each.
func (n *Notifier) SecretChanged(ctx context.Context, app portal.Application, s portal.Secret, ev audit.Event) error {
	verb := map[string]string{audit.SecretCreated: "created", audit.SecretDeleted: "deleted"}[ev.Action]
	if verb == "" {
		return fmt.Errorf("security notice: unexpected action %q", ev.Action)
	}
	ds, err := n.designations.ListDesignations(ctx, app.ID)
	if err != nil {
		return fmt.Errorf("security notice: %w", err)
	}
	to := Managers(ds)
	if len(to) == 0 && n.fallback != "" {
		to = []string{n.fallback}
	}
	data := notice{
		Verb: verb, Application: app.Name, Link: ApplicationURL(n.portalURL, app.ID),
		SecretName: s.Name, Hint: s.Hint, Actor: ev.Actor, At: DateTime(ev.At), ExpiresAt: DateTime(s.ExpiresAt),
		SourceIP: ev.SourceIP,
	}
	var text, html bytes.Buffer
	if err := noticeText.Execute(&text, data); err != nil {
		return err
	}
	if err := noticeHTML.Execute(&html, data); err != nil {
		return err
	}
	var errs []error
	for _, rcpt := range to {
		_, err := n.mailer.Send(ctx, Message{
			To:      []string{rcpt},
			Subject: fmt.Sprintf("Client secret %s on %s", verb, app.Name),
			Date:    ev.At,
			Text:    text.String(),
			HTML:    html.String(),
			Headers: map[string]string{"X-Portal-Event": ev.ID},
		})
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
