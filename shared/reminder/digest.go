package reminder

import (
	"fmt"
	"html"
	"sort"
	"strings"
	"time"

	"credportal/shared/mail"
	"credportal/shared/portal"
)

// digestView is what a digest shows.
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

// secretView is one reminder: the secret, when it expires in words, what
// happens then, and what to do.
type secretView struct {
	Name    string
	Hint    string
	Expires string // "expires tomorrow, 1 December 2026 at 21:46 UTC"
	Effect  string // "From then on, token requests with it fail."
	Advice  string // what to do, naming the newer secret if there is one
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

const digestReason = "You receive this because you are a credential manager of these applications."

// text is the plain-text part.
func (v digestView) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", v.lead())
	for _, a := range v.Applications {
		fmt.Fprintf(&b, "\n%s (%s)\n", a.Name, a.Organisation)
		for _, s := range a.Secrets {
			fmt.Fprintf(&b, "  - %s (%s…) %s. %s\n    %s\n", s.Name, s.Hint, s.Expires, s.Effect, s.Advice)
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
	fmt.Fprintf(&b, "<p>%s</p>\n", e(v.lead()))
	for _, a := range v.Applications {
		fmt.Fprintf(&b, "<h2 style=\"font-size:1.1em\">%s <small>(%s)</small></h2>\n<ul>\n", e(a.Name), e(a.Organisation))
		for _, s := range a.Secrets {
			fmt.Fprintf(&b, "<li><p><strong>%s</strong> (<code>%s…</code>) %s. %s</p><p>%s</p></li>\n", e(s.Name), e(s.Hint), e(s.Expires), e(s.Effect), e(s.Advice))
		}
		fmt.Fprintf(&b, "</ul>\n<p><a href=\"%s\">Open %s in the portal</a></p>\n", e(a.Link), e(a.Name))
	}
	fmt.Fprintf(&b, "<p style=\"color:#555\">%s</p>\n</body></html>\n", e(digestReason))
	return b.String()
}

// when says in a few words how far off an expiry is, as subjects say it.
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

// expiry says once, in words, when a secret expires or expired: "expires in
// 5 days, on 1 December 2026 at 09:30 UTC", "expires tomorrow, 2 December
// 2026 at 21:46 UTC", "expires today, 26 November 2026 at 20:00 UTC",
// "expired today, …", "expired yesterday, …".
func expiry(now, expiresAt time.Time, left int) string {
	at := spelled(expiresAt)
	switch {
	case !now.Before(expiresAt) && left == 0:
		return "expired today, " + at
	case !now.Before(expiresAt) && left == -1:
		return "expired yesterday, " + at
	case !now.Before(expiresAt):
		return "expired on " + at
	case left == 0:
		return "expires today, " + at
	case left == 1:
		return "expires tomorrow, " + at
	default:
		return fmt.Sprintf("expires in %d days, on %s", left, at)
	}
}

// effect says what expiry does to the systems still using the secret.
func effect(now, expiresAt time.Time) string {
	if !now.Before(expiresAt) {
		return "Token requests with it now fail."
	}
	return "From then on, token requests with it fail."
}

// advice says what to do: delete it if a newer secret is in use; switch to
// the newer one if there is one; otherwise create one.
func advice(newer *portal.Secret) string {
	switch {
	case newer == nil:
		return "Create a new secret, switch your systems to it, then delete this one."
	case newer.LastUsedAt != nil:
		return fmt.Sprintf("A newer secret, \"%s\" (%s…), was last used %s: this one looks replaced and can be deleted.",
			newer.Name, newer.Hint, spelled(*newer.LastUsedAt))
	default:
		return fmt.Sprintf("Switch your systems to the newer secret \"%s\" (%s…), valid until %s, then delete this one.",
			newer.Name, newer.Hint, spelled(newer.ExpiresAt))
	}
}

// spelled is how a digest shows an instant: "1 December 2026 at 21:46 UTC".
func spelled(t time.Time) string { return t.UTC().Format("2 January 2006 at 15:04 UTC") }

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
			Name: it.secret.Name, Hint: it.secret.Hint,
			Expires: expiry(now, it.secret.ExpiresAt, it.daysLeft), Effect: effect(now, it.secret.ExpiresAt), Advice: advice(it.newer),
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
