package reminder

import (
	"fmt"
	"html"
	"sort"
	"strings"
	"time"

	"credportal/shared/mail"
	"credportal/shared/publickey"
)

// digestView is what a digest shows.
type digestView struct {
	Applications []appView
}

type appView struct {
	// Fallback: the application has no credential manager, and the digest
	// goes to the fallback address for it.
	Fallback     bool
	Name         string
	Organisation string
	Link         string
	Credentials  []credentialView
}

// credentialView is one reminder: the secret or key, when it expires in
// words, what happens then, and what to do.
type credentialView struct {
	Name string
	// Noun is what the credential is: "client secret", "key" or "certificate".
	Noun string
	// Hint is a secret's first characters; Thumbprint a key's, shortened.
	Hint       string
	Thumbprint string
	Expires    string // "expires tomorrow, 1 December 2026 at 21:46 UTC"
	Effect     string // "From then on, token requests with it fail."
	Advice     string // what to do, naming the newer credential if there is one
}

// Nouns of the credentials a digest names.
const (
	nounSecret      = "client secret"
	nounKey         = "key"
	nounCertificate = "certificate"
)

// noun says what a credential is.
func noun(c Credential) string {
	switch {
	case c.Kind != KindKey:
		return nounSecret
	case c.KeyType == publickey.TypeCertificate:
		return nounCertificate
	}
	return nounKey
}

// count says how many credentials of each kind: "2 client secrets and 1
// key", in the order secrets, keys, certificates.
func count(nouns []string) string {
	var parts []string
	for _, n := range []string{nounSecret, nounKey, nounCertificate} {
		k := 0
		for _, m := range nouns {
			if m == n {
				k++
			}
		}
		switch {
		case k == 1:
			parts = append(parts, "1 "+n)
		case k > 1:
			parts = append(parts, fmt.Sprintf("%d %ss", k, n))
		}
	}
	if len(parts) < 2 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// shortThumbprint is the start of a key's thumbprint, as a digest shows it
// (lists in the portal show it whole).
func shortThumbprint(t string) string {
	if len(t) > 8 {
		t = t[:8]
	}
	return t
}

// Digests are written without text/template or html/template: a template
// package in a binary makes the linker keep every exported method of every
// type it links (for reflection), megabytes in a function that links the
// SDK's clients. Every value in the HTML part is escaped.

// nouns lists what each of the digest's credentials is.
func (v digestView) nouns() []string {
	var out []string
	for _, a := range v.Applications {
		for _, c := range a.Credentials {
			out = append(out, c.Noun)
		}
	}
	return out
}

// lead is the digest's first sentence.
func (v digestView) lead() string {
	nouns := v.nouns()
	whose := "" // some the recipient manages, some as the fallback address
	switch v.fallbacks() {
	case 0:
		whose = " you manage"
	case len(v.Applications):
		if len(nouns) == 1 {
			return fmt.Sprintf("A %s of an application without a credential manager is close to expiry.", nouns[0])
		}
		return count(nouns) + " of applications without a credential manager are close to expiry."
	}
	if len(nouns) == 1 {
		return fmt.Sprintf("A %s%s is close to expiry.", nouns[0], whose)
	}
	return count(nouns) + whose + " are close to expiry."
}

// fallbacks counts the applications the digest goes to the fallback
// address for.
func (v digestView) fallbacks() int {
	n := 0
	for _, a := range v.Applications {
		if a.Fallback {
			n++
		}
	}
	return n
}

// reason says why the recipient gets the digest: as a credential manager,
// as the fallback address of applications without one, or both.
func (v digestView) reason() string {
	switch v.fallbacks() {
	case 0:
		return "You receive this because you are a credential manager of these applications."
	case len(v.Applications):
		return "You receive this because these applications have no credential manager and this is the portal's fallback address. Designate credential managers, so that reminders reach the people who can act on them."
	}
	return "You receive this as a credential manager, and as the portal's fallback address for the applications that have no credential manager."
}

// text is the plain-text part.
func (v digestView) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", v.lead())
	for _, a := range v.Applications {
		fmt.Fprintf(&b, "\n%s (%s)\n", a.Name, a.Organisation)
		for _, c := range a.Credentials {
			if c.Noun == nounSecret {
				fmt.Fprintf(&b, "  - %s (%s…) %s. %s\n    %s\n", c.Name, c.Hint, c.Expires, c.Effect, c.Advice)
			} else {
				fmt.Fprintf(&b, "  - %s (%s, thumbprint %s…) %s. %s\n    %s\n", c.Name, c.Noun, c.Thumbprint, c.Expires, c.Effect, c.Advice)
			}
		}
		fmt.Fprintf(&b, "  %s\n", a.Link)
	}
	fmt.Fprintf(&b, "\n%s\n", v.reason())
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
		for _, c := range a.Credentials {
			if c.Noun == nounSecret {
				fmt.Fprintf(&b, "<li><p><strong>%s</strong> (<code>%s…</code>) %s. %s</p><p>%s</p></li>\n", e(c.Name), e(c.Hint), e(c.Expires), e(c.Effect), e(c.Advice))
			} else {
				fmt.Fprintf(&b, "<li><p><strong>%s</strong> (%s, thumbprint <code>%s…</code>) %s. %s</p><p>%s</p></li>\n", e(c.Name), e(c.Noun), e(c.Thumbprint), e(c.Expires), e(c.Effect), e(c.Advice))
			}
		}
		fmt.Fprintf(&b, "</ul>\n<p><a href=\"%s\">Open %s in the portal</a></p>\n", e(a.Link), e(a.Name))
	}
	fmt.Fprintf(&b, "<p style=\"color:#555\">%s</p>\n</body></html>\n", e(v.reason()))
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

// expiry says once, in words, when a credential expires or expired: "expires in
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

// effect says what expiry does to the systems still using the credential.
func effect(now time.Time, c Credential) string {
	with := "with it"
	if c.Kind == KindKey {
		with = "signed with it"
	}
	if !now.Before(c.ExpiresAt) {
		return "Token requests " + with + " now fail."
	}
	return "From then on, token requests " + with + " fail."
}

// advice says what to do: delete it if a newer credential of its kind is in
// use; switch to the newer one if there is one; otherwise create one.
func advice(c Credential, newer *Credential) string {
	if c.Kind == KindKey {
		return keyAdvice(c, newer)
	}
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

// keyAdvice is advice for a key: the client signs its assertions with the
// private key, so it is the client that switches.
func keyAdvice(c Credential, newer *Credential) string {
	switch {
	case newer == nil:
		return fmt.Sprintf("Add a new %s, switch your client to it, then delete this one.", noun(c))
	case newer.LastUsedAt != nil:
		return fmt.Sprintf("A newer %s, \"%s\" (thumbprint %s…), was last used %s: this one looks replaced and can be deleted.",
			noun(*newer), newer.Name, shortThumbprint(newer.Thumbprint), spelled(*newer.LastUsedAt))
	default:
		return fmt.Sprintf("Switch your client to the newer %s \"%s\" (thumbprint %s…), valid until %s, then delete this one.",
			noun(*newer), newer.Name, shortThumbprint(newer.Thumbprint), spelled(newer.ExpiresAt))
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
		return a.cred.ExpiresAt.Before(b.cred.ExpiresAt)
	})
	var view digestView
	for _, it := range sorted {
		if n := len(view.Applications); n == 0 || view.Applications[n-1].Link != mail.ApplicationURL(s.cfg.PortalURL, it.app.ID) {
			view.Applications = append(view.Applications, appView{
				Fallback: it.fallback, Name: it.app.Name, Organisation: it.app.Organisation.Name, Link: mail.ApplicationURL(s.cfg.PortalURL, it.app.ID),
			})
		}
		c := it.cred
		cv := credentialView{
			Name: c.Name, Noun: noun(c), Hint: c.Hint, Thumbprint: shortThumbprint(c.Thumbprint),
			Expires: expiry(now, c.ExpiresAt, it.daysLeft), Effect: effect(now, c), Advice: advice(c, it.newer),
		}
		a := &view.Applications[len(view.Applications)-1]
		a.Credentials = append(a.Credentials, cv)
	}
	subject := count(view.nouns()) + " close to expiry"
	if len(sorted) == 1 {
		it := sorted[0]
		n := noun(it.cred)
		subject = fmt.Sprintf("%s%s %q of %s %s", strings.ToUpper(n[:1]), n[1:], it.cred.Name, it.app.Name, when(now, it.cred.ExpiresAt, it.daysLeft))
	}
	return mail.Message{
		To: []string{rcpt}, Subject: subject, Date: now, Text: view.text(), HTML: view.html(),
		Headers: map[string]string{"X-Portal-Reminders": keys(sorted), "X-Portal-Digest": token},
	}, nil
}
