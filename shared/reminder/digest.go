package reminder

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"sort"
	texttemplate "text/template"
	"time"

	"credportal/shared/mail"
)

// digestView is what a digest's templates show.
type digestView struct {
	Count        int
	Applications []appView
}

type appView struct {
	Name         string
	Organisation string
	Link         string
	Secrets      []secretView
}

type secretView struct {
	Name     string
	Hint     string
	Expires  string
	DaysLeft int
	When     string // "expires in 5 days", "expires today", "has expired"
	Replaced *replacedView
}

type replacedView struct {
	Name     string
	Hint     string
	LastUsed string
}

var (
	digestText = texttemplate.Must(texttemplate.New("digest").Parse(`{{if eq .Count 1}}A client secret you manage is close to expiry.{{else}}{{.Count}} client secrets you manage are close to expiry.{{end}}
Create a new secret, switch your systems to it, then delete the old one.
{{range .Applications}}
{{.Name}} ({{.Organisation}})
{{range .Secrets}}  - {{.Name}} ({{.Hint}}…): {{.When}}, on {{.Expires}}; days left: {{.DaysLeft}}
{{with .Replaced}}    A newer secret, {{.Name}} ({{.Hint}}…), was last used {{.LastUsed}}: this one looks replaced and can be deleted.
{{end}}{{end}}  {{.Link}}
{{end}}
You receive this because you are a credential manager of these applications.
`))
	digestHTML = htmltemplate.Must(htmltemplate.New("digest").Parse(`<!doctype html>
<html><body style="font-family:sans-serif">
<p>{{if eq .Count 1}}A client secret you manage is close to expiry.{{else}}{{.Count}} client secrets you manage are close to expiry.{{end}}
Create a new secret, switch your systems to it, then delete the old one.</p>
{{range .Applications}}<h2 style="font-size:1.1em">{{.Name}} <small>({{.Organisation}})</small></h2>
<table cellpadding="4">
<tr><th align="left">Secret</th><th align="left">Hint</th><th align="left">Expires</th><th align="left">Days left</th></tr>
{{range .Secrets}}<tr><td>{{.Name}}</td><td><code>{{.Hint}}…</code></td><td>{{.Expires}} ({{.When}})</td><td>{{.DaysLeft}}</td></tr>
{{with .Replaced}}<tr><td colspan="4"><em>A newer secret, {{.Name}} (<code>{{.Hint}}…</code>), was last used {{.LastUsed}}: this one looks replaced and can be deleted.</em></td></tr>
{{end}}{{end}}</table>
<p><a href="{{.Link}}">Open {{.Name}} in the portal</a></p>
{{end}}<p style="color:#555">You receive this because you are a credential manager of these applications.</p>
</body></html>
`))
)

// when says in words how far off an expiry is.
func when(now, expiresAt time.Time, left int) string {
	switch {
	case !now.Before(expiresAt):
		return "has expired"
	case left == 0:
		return "expires today"
	case left == 1:
		return "expires tomorrow"
	default:
		return fmt.Sprintf("expires in %d days", left)
	}
}

// digest renders one recipient's reminders, grouped by application.
func (s *Sweep) digest(rcpt string, now time.Time, token string, items []item) (mail.Message, error) {
	sorted := append([]item(nil), items...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if a.app.Organisation.Name != b.app.Organisation.Name {
			return a.app.Organisation.Name < b.app.Organisation.Name
		}
		if a.app.Name != b.app.Name {
			return a.app.Name < b.app.Name
		}
		if a.app.ID != b.app.ID {
			return a.app.ID < b.app.ID
		}
		return a.secret.ExpiresAt.Before(b.secret.ExpiresAt)
	})
	view := digestView{Count: len(sorted)}
	for _, it := range sorted {
		if n := len(view.Applications); n == 0 || view.Applications[n-1].Link != mail.ApplicationURL(s.cfg.PortalURL, it.app.ID) {
			view.Applications = append(view.Applications, appView{
				Name: it.app.Name, Organisation: it.app.Organisation.Name, Link: mail.ApplicationURL(s.cfg.PortalURL, it.app.ID),
			})
		}
		sv := secretView{
			Name: it.secret.Name, Hint: it.secret.Hint, Expires: mail.DateTime(it.secret.ExpiresAt),
			DaysLeft: max(it.daysLeft, 0), When: when(now, it.secret.ExpiresAt, it.daysLeft),
		}
		if r := it.replaced; r != nil {
			sv.Replaced = &replacedView{Name: r.Name, Hint: r.Hint, LastUsed: mail.DateTime(*r.LastUsedAt)}
		}
		a := &view.Applications[len(view.Applications)-1]
		a.Secrets = append(a.Secrets, sv)
	}
	var text, html bytes.Buffer
	if err := digestText.Execute(&text, view); err != nil {
		return mail.Message{}, err
	}
	if err := digestHTML.Execute(&html, view); err != nil {
		return mail.Message{}, err
	}
	subject := fmt.Sprintf("%d client secrets close to expiry", len(sorted))
	if len(sorted) == 1 {
		it := sorted[0]
		subject = fmt.Sprintf("Client secret %q of %s %s", it.secret.Name, it.app.Name, when(now, it.secret.ExpiresAt, it.daysLeft))
	}
	return mail.Message{
		To: []string{rcpt}, Subject: subject, Date: now, Text: text.String(), HTML: html.String(),
		Headers: map[string]string{"X-Portal-Reminders": keys(sorted), "X-Portal-Digest": token},
	}, nil
}
