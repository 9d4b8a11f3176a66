package browsertest_test

import (
	"fmt"
	"strings"
	"testing"

	"credportal/infra/seed"
)

// federated: a credential manager sees the demo federated credential, is
// shown GitHub Actions' subject format, adds one (an empty subject is
// refused beside its field), deletes it after a confirmation; a viewer sees
// the list only.
func federated(t *testing.T, tb *tab, appID string) {
	tb.open("")
	tb.waitFor("button.user")
	tb.signInAs("alice@acme.example")
	tb.open("#/applications/" + appID)
	tb.waitFor("#federated tbody tr")
	if got := evalJS[[]string](tb, `[...document.querySelectorAll('#federated tbody tr .subject')].map(e => e.textContent)`); len(got) != 1 || got[0] != seed.DemoSubject {
		t.Fatalf("listed subjects %q, want the demo credential's", got)
	}
	issuers := evalJS[[]string](tb, `[...document.querySelectorAll('#federated-issuer option')].map(o => o.value)`)
	if len(issuers) != 2 || issuers[0] != "https://token.actions.githubusercontent.com" || !strings.HasSuffix(issuers[1], "/local/issuer") {
		t.Fatalf("issuers offered %q, want GitHub Actions' and the local stack's", issuers)
	}
	if hint := tb.text("#federated-subject-hint"); !strings.Contains(hint, "repo:OWNER/REPO:ref:refs/heads/main") {
		t.Errorf("the subject's hint %q does not show GitHub Actions' format", hint)
	}

	tb.typeInto("#federated-name", "Release workflow")
	tb.click("#create-federated")
	tb.waitJS(`document.getElementById('federated-subject-error') !== null || (document.getElementById('federated-form').requestSubmit(), false)`, "the empty subject refused")
	if got := evalJS[string](tb, `document.activeElement.id`); got != "federated-subject" {
		t.Errorf("focus on %q after an empty subject, want the subject", got)
	}

	const subject = "repo:acme/search-sync:environment:production"
	tb.typeInto("#federated-subject", subject)
	tb.click("#create-federated")
	tb.waitJS(fmt.Sprintf(`[...document.querySelectorAll('#federated .subject')].some(e => e.textContent === %q)`, subject), "the new credential listed")
	tb.check("application-federated")

	row := fmt.Sprintf(`[...document.querySelectorAll('#federated tbody tr')].find(r => r.querySelector('.subject').textContent === %q)`, subject)
	id := evalJS[string](tb, row+`.dataset.credential`)
	tb.click(fmt.Sprintf(`tr[data-credential=%q] button.delete`, id))
	tb.waitFor("#confirm-delete")
	tb.check("federated-delete-dialog")
	tb.click("#confirm-delete")
	// The page reloads: the demo credential is listed again, the deleted one not.
	tb.waitJS(fmt.Sprintf(`document.querySelectorAll('#federated tbody tr').length === 1 && !document.querySelector('tr[data-credential=%q]')`, id), "the demo credential alone after the delete")

	tb.signOut()
	tb.signInAs("victor@acme.example")
	tb.open("#/applications/" + appID)
	tb.waitFor("#federated tbody tr")
	if n := evalJS[int](tb, `document.querySelectorAll('#federated-form, #federated button.delete').length`); n != 0 {
		t.Errorf("a viewer sees %d federated create/delete controls", n)
	}
}
