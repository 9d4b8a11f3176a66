package mail

import (
	"context"
	"fmt"
	"html"
	"strings"

	"credportal/shared/portal"
)

var _ portal.LeakNotifier = (*Notifier)(nil)

// leakNotice is what the urgent notice of a leaked secret shows.
type leakNotice struct {
	Application string
	Link        string
	Report      portal.LeakReport
}

func (n leakNotice) revoked() bool { return n.Report.Action == portal.LeakRevoke }

func (n leakNotice) subject() string {
	if n.revoked() {
		return fmt.Sprintf("URGENT: client secret of %s found in public and revoked", n.Application)
	}
	return fmt.Sprintf("URGENT: client secret of %s found in public: replace it now", n.Application)
}

func (n leakNotice) opening() string {
	if n.revoked() {
		return "A client secret of " + n.Application + " was found in public and has been revoked: it no longer works, and API clients still using it now fail to get tokens."
	}
	return "A client secret of " + n.Application + " was found in public. It still works: anyone who found it can get access tokens for " + n.Application + "'s APIs until you delete it."
}

func (n leakNotice) rows() [][2]string {
	r := n.Report
	rows := [][2]string{{"Secret", r.SecretName + " (" + r.Hint + "…)"}}
	if r.URL != "" {
		rows = append(rows, [2]string{"Found at", r.URL})
	}
	if r.Source != "" {
		rows = append(rows, [2]string{"Found in", r.Source})
	}
	reporter := r.Reporter
	if strings.HasPrefix(reporter, "secret-scanning:github") {
		reporter = "GitHub secret scanning"
	}
	rows = append(rows, [2]string{"Reported by", reporter}, [2]string{"When", DateTime(r.At)})
	if n.revoked() {
		rows = append(rows, [2]string{"Status", "revoked (deleted)"})
	} else {
		rows = append(rows, [2]string{"Status", "still active, marked leaked"})
	}
	return rows
}

func (n leakNotice) steps() []string {
	if n.revoked() {
		return []string{
			"Create a new client secret in the portal and put it where the revoked one was used.",
			"Remove the secret from where it was found, including the repository's history; it no longer works, but it should not stay public.",
			"Find out how it got there, so the next secret stays private.",
		}
	}
	return []string{
		"Create a new client secret in the portal and put it where the leaked one is used.",
		"Delete the leaked secret in the portal at once afterwards: until then it works for anyone.",
		"Remove the secret from where it was found, including the repository's history.",
		"Find out how it got there, so the next secret stays private.",
	}
}

func (n leakNotice) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", n.opening())
	for _, r := range n.rows() {
		fmt.Fprintf(&b, "%-12s %s\n", r[0]+":", r[1])
	}
	b.WriteString("\nWhat to do now:\n")
	for i, s := range n.steps() {
		fmt.Fprintf(&b, "%d. %s\n", i+1, s)
	}
	fmt.Fprintf(&b, "\n%s\n", n.Link)
	return b.String()
}

func (n leakNotice) html() string {
	e := html.EscapeString
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html><body style=\"font-family:sans-serif\">\n")
	fmt.Fprintf(&b, "<p><strong>%s</strong></p>\n<table>\n", e(n.opening()))
	for _, r := range n.rows() {
		fmt.Fprintf(&b, "<tr><th align=\"left\">%s</th><td>%s</td></tr>\n", e(r[0]), e(r[1]))
	}
	b.WriteString("</table>\n<p>What to do now:</p>\n<ol>\n")
	for _, s := range n.steps() {
		fmt.Fprintf(&b, "<li>%s</li>\n", e(s))
	}
	fmt.Fprintf(&b, "</ol>\n<p><a href=\"%s\">Open %s in the portal</a></p>\n</body></html>\n", e(n.Link), e(n.Application))
	return b.String()
}

// SecretLeaked sends the urgent notice of a leaked secret to app's
// credential managers (or the fallback address), as one message: one SES
// call that is accepted or not, so a retry never doubles it for some.
func (n *Notifier) SecretLeaked(ctx context.Context, app portal.Application, r portal.LeakReport) error {
	ds, err := n.designations.ListDesignations(ctx, app.ID)
	if err != nil {
		return fmt.Errorf("leak notice: %w", err)
	}
	to := Recipients(ds, n.fallback)
	if len(to) == 0 {
		return nil
	}
	data := leakNotice{Application: app.Name, Link: ApplicationURL(n.portalURL, app.ID), Report: r}
	_, err = n.mailer.Send(ctx, Message{
		To: to, Subject: data.subject(), Date: r.At, Text: data.text(), HTML: data.html(),
		Headers: map[string]string{"Importance": "high", "X-Priority": "1"},
	})
	return err
}
