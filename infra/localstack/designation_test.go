package localstack

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDesignationEmail: designating someone mails them, once, through the
// outbox the stack's stream stand-in drains: which application, which role,
// how to sign in, and whom to ask (SupportContact).
func TestDesignationEmail(t *testing.T) {
	admin := token(t, "admin@registry.example", true)
	appID := applicationID(t, "Acme Search")
	path := "/v1/admin/applications/" + appID + "/designations/newcomer@acme.example"
	t.Cleanup(func() { call(t, http.MethodDelete, path, admin, "", "") })
	if r := call(t, http.MethodPut, path, admin, "application/json", `{"role":"viewer"}`); r.status != http.StatusOK {
		t.Fatalf("designate: %d %s", r.status, r.body)
	}
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		items, err := stack.Mail(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []MailItem
		for _, m := range items {
			if slices.Contains(m.To, "newcomer@acme.example") {
				got = append(got, m)
			}
		}
		if len(got) == 1 {
			m := got[0]
			for _, want := range []string{"designated you a viewer of the application Acme Search", "Sign in at " + stack.URL + "/", "support@registry.example", "applications/" + appID} {
				if !strings.Contains(m.Text, want) {
					t.Errorf("the email lacks %q:\n%s", want, m.Text)
				}
			}
			if m.Subject != "You are now a viewer of Acme Search" {
				t.Errorf("subject %q", m.Subject)
			}
			// Delivered once: the outbox is empty of it, and a while later
			// there is still one.
			time.Sleep(500 * time.Millisecond)
			items, _ = stack.Mail(ctx)
			n := 0
			for _, m := range items {
				if slices.Contains(m.To, "newcomer@acme.example") {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d designation emails", n)
			}
			return
		}
		if len(got) > 1 || time.Now().After(deadline) {
			t.Fatalf("designation emails to newcomer@acme.example: %d", len(got))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
