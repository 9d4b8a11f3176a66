package reminder

import (
	"fmt"
	"html"
	"sort"
	"strings"
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

// Digests are written without text/template or html/template: a template
// package in a binary makes the linker keep every exported method of every
// type it links (for reflection), megabytes in a function that links the
// SDK's clients. Every value in the HTML part is escaped.

// lead is the digest's first sentence.
func (v digestView) lead() string {
	if v.Count == 1 {
		return "A client secret you manage is close to expiry."
	}
	return fmt.Sprintf("%d client secrets you manage are close to expiry.", v.Count)
}

const (
	digestAdvice = "Create a new secret, switch your systems to it, then delete the old one."
	digestReason = "You receive this because you are a credential manager of these applications."
)

// text is the plain-text part.
func (v digestView) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s\n", v.lead(), digestAdvice)
	for _, a := range v.Applications {
		fmt.Fprintf(&b, "\n%s (%s)\n", a.Name, a.Organisation)
		for _, s := range a.Secrets {
			fmt.Fprintf(&b, "  - %s (%s…): %s, on %s; days left: %d\n", s.Name, s.Hint, s.When, s.Expires, s.DaysLeft)
			if r := s.Replaced; r != nil {
				fmt.Fprintf(&b, "    A newer secret, %s (%s…), was last used %s: this one looks replaced and can be deleted.\n", r.Name, r.Hint, r.LastUsed)
			}
		}
		fmt.Fprintf(&b, "  %s\n", a.Link)
	}
	fmt.Fprintf(&b, "\n%s\n", digestReason)
	return b.String()
}

// html is the HTML part.
func (v digestView) html() string {
	e := html.EscapeString
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html><body style=\"font-family:sans-serif\">\n")
	fmt.Fprintf(&b, "<p>%s\n%s</p>\n", e(v.lead()), e(digestAdvice))
	for _, a := range v.Applications {
		fmt.Fprintf(&b, "<h2 style=\"font-size:1.1em\">%s <small>(%s)</small></h2>\n<table cellpadding=\"4\">\n", e(a.Name), e(a.Organisation))
		b.WriteString("<tr><th align=\"left\">Secret</th><th align=\"left\">Hint</th><th align=\"left\">Expires</th><th align=\"left\">Days left</th></tr>\n")
		for _, s := range a.Secrets {
			fmt.Fprintf(&b, "<tr><td>%s</td><td><code>%s…</code></td><td>%s (%s)</td><td>%d</td></tr>\n", e(s.Name), e(s.Hint), e(s.Expires), e(s.When), s.DaysLeft)
			if r := s.Replaced; r != nil {
				fmt.Fprintf(&b, "<tr><td colspan=\"4\"><em>A newer secret, %s (<code>%s…</code>), was last used %s: this one looks replaced and can be deleted.</em></td></tr>\n", e(r.Name), e(r.Hint), e(r.LastUsed))
			}
		}
		fmt.Fprintf(&b, "</table>\n<p><a href=\"%s\">Open %s in the portal</a></p>\n", e(a.Link), e(a.Name))
	}
	fmt.Fprintf(&b, "<p style=\"color:#555\">%s</p>\n</body></html>\n", e(digestReason))
	return b.String()
}

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
	subject := fmt.Sprintf("%d client secrets close to expiry", len(sorted))
	if len(sorted) == 1 {
		it := sorted[0]
		subject = fmt.Sprintf("Client secret %q of %s %s", it.secret.Name, it.app.Name, when(now, it.secret.ExpiresAt, it.daysLeft))
	}
	return mail.Message{
		To: []string{rcpt}, Subject: subject, Date: now, Text: view.text(), HTML: view.html(),
		Headers: map[string]string{"X-Portal-Reminders": keys(sorted), "X-Portal-Digest": token},
	}, nil
}
