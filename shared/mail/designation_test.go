package mail_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"credportal/shared/audit"
	"credportal/shared/mail"
	"credportal/shared/portal"
)

// The email telling someone of their designation names the application and
// its organisation, the role and what it may do, who designated them, how
// to sign in (an invitation comes with the stack's own accounts) and links
// to the application.
func TestDesignationNotice(t *testing.T) {
	app := portal.Application{ID: "app_1", Name: "Acme Search", Organisation: portal.OrganisationRef{Name: "Acme Ltd"}}
	at := time.Date(2026, 12, 8, 9, 30, 0, 0, time.UTC)
	notice := func(role portal.Role, before string) portal.Notice {
		return portal.Notice{
			Event:       audit.Event{ID: "evt_1", At: at, Actor: "it@registry.example", Action: audit.DesignationSet, ApplicationID: app.ID, Details: map[string]string{"roleBefore": before}},
			Designation: &portal.Designation{ApplicationID: app.ID, Email: "peter@acme.example", Role: role},
		}
	}
	for _, tc := range []struct {
		name    string
		n       portal.Notice
		signIn  mail.SignIn
		subject string
		text    string
	}{
		{"new credential manager, own accounts", notice(portal.RoleCredentialManager, ""), mail.SignInOwnAccounts,
			"You are now a credential manager of Acme Search",
			"it@registry.example designated you a credential manager of the application Acme Search (Acme Ltd) on the API Credentials Portal.\n\n" +
				"As a credential manager you can create and delete the application's client secrets, keys and federated credentials and read its audit log; you receive its expiry reminders and security notices.\n\n" +
				"Sign in at https://portal.registry.eu/ with this email address, peter@acme.example. If you have no account on the portal yet, a separate email brings your invitation with a temporary password.\n\n" +
				"The application: https://portal.registry.eu/applications/app_1\n"},
		{"role changed, external sign-in", notice(portal.RoleViewer, "credential_manager"), mail.SignInExternal,
			"Your role on Acme Search is now viewer",
			"it@registry.example changed your role on the application Acme Search (Acme Ltd) on the API Credentials Portal from credential manager to viewer.\n\n" +
				"As a viewer you can see the application, its credentials (never a secret's value) and its audit log; you receive no reminders or notices.\n\n" +
				"Sign in at https://portal.registry.eu/ with this email address, peter@acme.example. Use the sign-in your registry operator gave you.\n\n" +
				"The application: https://portal.registry.eu/applications/app_1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, err := mail.DesignationNotice("https://portal.registry.eu", tc.signIn, app, tc.n)
			if err != nil {
				t.Fatal(err)
			}
			if msg.Subject != tc.subject || msg.Text != tc.text || len(msg.To) != 1 || msg.To[0] != "peter@acme.example" || msg.Headers["X-Portal-Event"] != "evt_1" {
				t.Fatalf("subject %q to %v\n%s", msg.Subject, msg.To, msg.Text)
			}
			if !strings.Contains(msg.HTML, "<p>As a ") || strings.Contains(msg.HTML, "<a ") {
				t.Errorf("html:\n%s", msg.HTML)
			}
		})
	}
	if _, err := mail.DesignationNotice("https://portal.registry.eu/", mail.SignInExternal, app, portal.Notice{Event: audit.Event{ID: "e", Action: audit.SecretCreated}}); err == nil {
		t.Error("a notice without a designation was composed")
	}
}

// sesRecorder keeps what the Mailer hands SES.
type sesRecorder struct{ raw []byte }

func (s *sesRecorder) SendEmail(_ context.Context, in *sesv2.SendEmailInput, _ ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	s.raw = in.Content.Raw.Data
	id := "m"
	return &sesv2.SendEmailOutput{MessageId: &id}, nil
}

// WithSupport names the support contact at the end of both parts of every
// message; without it nothing is added.
func TestSupportContactInEveryEmail(t *testing.T) {
	msg := mail.Message{To: []string{"a@acme.example"}, Subject: "S", Text: "Body.\n", HTML: "<!doctype html>\n<html><body><p>Body.</p>\n</body></html>\n"}
	for _, tc := range []struct{ support, want string }{
		{"support@registry.eu", "Questions about your access to the portal: support@registry.eu"},
		{"", ""},
	} {
		rec := &sesRecorder{}
		if _, err := mail.NewMailer(rec, "no-reply@registry.eu", "").WithSupport(tc.support).Send(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
		raw := strings.ReplaceAll(string(rec.raw), "=\r\n", "")
		got := strings.Count(raw, "Questions about your access")
		switch {
		case tc.want != "" && (got != 2 || !strings.Contains(raw, tc.want)):
			t.Errorf("with %q: %d mentions\n%s", tc.support, got, raw)
		case tc.want == "" && got != 0:
			t.Errorf("without a contact: %s", raw)
		}
	}
}
