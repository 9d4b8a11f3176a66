package mail

import (
	"fmt"
	"html"
	"strings"

	"credportal/shared/audit"
	"credportal/shared/portal"
)

// SignIn says how a person designated signs in: with a user of the stack's
// own user pool (invited by email the first time), or with the sign-in of
// an external provider.
type SignIn int

const (
	// SignInOwnAccounts: the stack's user pool; a new user gets Cognito's
	// invitation, with a temporary password, in a separate email.
	SignInOwnAccounts SignIn = iota
	// SignInExternal: the operator's sign-in provider.
	SignInExternal
)

// designationView is what the email telling someone of their designation
// shows.
type designationView struct {
	Email, Application, Organisation, Link, PortalURL, Actor string
	Role, Before                                             portal.Role
	SignIn                                                   SignIn
}

func roleName(r portal.Role) string {
	if r == portal.RoleCredentialManager {
		return "credential manager"
	}
	return "viewer"
}

func (v designationView) subject() string {
	if v.Before != "" {
		return "Your role on " + v.Application + " is now " + roleName(v.Role)
	}
	return "You are now " + article(roleName(v.Role)) + " of " + v.Application
}

func article(noun string) string {
	if strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an " + noun
	}
	return "a " + noun
}

// paragraphs are the message's text, one paragraph each.
func (v designationView) paragraphs() []string {
	var out []string
	of := v.Application
	if v.Organisation != "" {
		of += " (" + v.Organisation + ")"
	}
	if v.Before != "" {
		out = append(out, fmt.Sprintf("%s changed your role on the application %s on the API Credentials Portal from %s to %s.",
			v.Actor, of, roleName(v.Before), roleName(v.Role)))
	} else {
		out = append(out, fmt.Sprintf("%s designated you %s of the application %s on the API Credentials Portal.",
			v.Actor, article(roleName(v.Role)), of))
	}
	if v.Role == portal.RoleCredentialManager {
		out = append(out, "As a credential manager you can create and delete the application's client secrets, keys and federated credentials and read its audit log; you receive its expiry reminders and security notices.")
	} else {
		out = append(out, "As a viewer you can see the application, its credentials (never a secret's value) and its audit log; you receive no reminders or notices.")
	}
	signIn := fmt.Sprintf("Sign in at %s with this email address, %s.", v.PortalURL, v.Email)
	if v.SignIn == SignInOwnAccounts {
		signIn += " If you have no account on the portal yet, a separate email brings your invitation with a temporary password."
	} else {
		signIn += " Use the sign-in your registry operator gave you."
	}
	out = append(out, signIn, "The application: "+v.Link)
	return out
}

func (v designationView) text() string {
	return strings.Join(v.paragraphs(), "\n\n") + "\n"
}

func (v designationView) html() string {
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html><body style=\"font-family:sans-serif\">\n")
	for _, p := range v.paragraphs() {
		fmt.Fprintf(&b, "<p>%s</p>\n", html.EscapeString(p))
	}
	b.WriteString("</body></html>\n")
	return b.String()
}

// DesignationNotice is the message telling the person n's designation names
// that they were designated on app, or that their role changed: what they
// may do, how to sign in, and a link; the Mailer adds whom to ask. The
// caller addresses it to n.Designation.Email.
func DesignationNotice(portalURL string, signIn SignIn, app portal.Application, n portal.Notice) (Message, error) {
	d := n.Designation
	if d == nil || n.Event.Action != audit.DesignationSet {
		return Message{}, fmt.Errorf("designation notice of event %s: no designation set", n.Event.ID)
	}
	if !strings.HasSuffix(portalURL, "/") {
		portalURL += "/"
	}
	v := designationView{
		Email: d.Email, Application: app.Name, Organisation: app.Organisation.Name, Link: ApplicationURL(portalURL, app.ID),
		PortalURL: portalURL, Actor: n.Event.Actor, Role: d.Role, Before: portal.Role(n.Event.Details["roleBefore"]), SignIn: signIn,
	}
	return Message{
		To:      []string{d.Email},
		Subject: v.subject(),
		Date:    n.Event.At,
		Text:    v.text(),
		HTML:    v.html(),
		Headers: map[string]string{"X-Portal-Event": n.Event.ID},
	}, nil
}
