package reminder

import (
	"strings"
	"testing"
)

// Every value a digest shows comes from the database, most of it typed by
// users (application, organisation and secret names; hints): the HTML part
// escapes each, the text part shows them as they are.
func TestDigestRendering(t *testing.T) {
	v := digestView{Applications: []appView{{
		Name: `Acme <script>alert(1)</script>`, Organisation: `Acme & "Sons"`,
		Link: `https://portal.example/applications/app_1?a=1&b="2"`,
		Credentials: []credentialView{
			{
				Name: "Key <b>bold</b>", Noun: nounSecret, Hint: "<x9", Expires: "expires in 5 days, on 1 December 2026 at 09:30 UTC",
				Effect: "From then on, token requests with it fail.", Advice: "Create a new secret, switch your systems to it, then delete this one.",
			},
			{
				Name: "Old 'one'", Noun: nounSecret, Hint: `"x9`, Expires: "expires today, 26 November 2026 at 20:00 UTC",
				Effect: "From then on, token requests with it fail.", Advice: `A newer secret, "<img src=x onerror=alert(1)>" (&x9…), was last used 26 November 2026 at 05:00 UTC: this one looks replaced and can be deleted.`,
			},
		},
	}}}
	h := v.html()
	for _, bad := range []string{"<script>", "<b>bold</b>", "<img", `"Sons"`, `"x9`, `b="2"`, "'one'", "&x9"} {
		if strings.Contains(h, bad) {
			t.Errorf("HTML part holds unescaped %q:\n%s", bad, h)
		}
	}
	wantHTML := `<!doctype html>
<html><body style="font-family:sans-serif">
<p>2 client secrets you manage are close to expiry.</p>
<h2 style="font-size:1.1em">Acme &lt;script&gt;alert(1)&lt;/script&gt; <small>(Acme &amp; &#34;Sons&#34;)</small></h2>
<ul>
<li><p><strong>Key &lt;b&gt;bold&lt;/b&gt;</strong> (<code>&lt;x9…</code>) expires in 5 days, on 1 December 2026 at 09:30 UTC. From then on, token requests with it fail.</p><p>Create a new secret, switch your systems to it, then delete this one.</p></li>
<li><p><strong>Old &#39;one&#39;</strong> (<code>&#34;x9…</code>) expires today, 26 November 2026 at 20:00 UTC. From then on, token requests with it fail.</p><p>A newer secret, &#34;&lt;img src=x onerror=alert(1)&gt;&#34; (&amp;x9…), was last used 26 November 2026 at 05:00 UTC: this one looks replaced and can be deleted.</p></li>
</ul>
<p><a href="https://portal.example/applications/app_1?a=1&amp;b=&#34;2&#34;">Open Acme &lt;script&gt;alert(1)&lt;/script&gt; in the portal</a></p>
<p style="color:#555">You receive this because you are a credential manager of these applications.</p>
</body></html>
`
	if h != wantHTML {
		t.Errorf("HTML part\n got %s\nwant %s", h, wantHTML)
	}
	wantText := `2 client secrets you manage are close to expiry.

Acme <script>alert(1)</script> (Acme & "Sons")
  - Key <b>bold</b> (<x9…) expires in 5 days, on 1 December 2026 at 09:30 UTC. From then on, token requests with it fail.
    Create a new secret, switch your systems to it, then delete this one.
  - Old 'one' ("x9…) expires today, 26 November 2026 at 20:00 UTC. From then on, token requests with it fail.
    A newer secret, "<img src=x onerror=alert(1)>" (&x9…), was last used 26 November 2026 at 05:00 UTC: this one looks replaced and can be deleted.
  https://portal.example/applications/app_1?a=1&b="2"

You receive this because you are a credential manager of these applications.
`
	if txt := v.text(); txt != wantText {
		t.Errorf("text part\n got %s\nwant %s", txt, wantText)
	}
	first := v.Applications[0]
	first.Credentials = first.Credentials[:1]
	one := digestView{Applications: []appView{first}}
	if !strings.HasPrefix(one.text(), "A client secret you manage is close to expiry.\n") || !strings.Contains(one.html(), "<p>A client secret you manage is close to expiry.</p>") {
		t.Errorf("a digest of one secret:\n%s\n%s", one.text(), one.html())
	}
}

// A digest says why it came: to a credential manager, to the fallback
// address of applications without one, or both at once.
func TestDigestReason(t *testing.T) {
	manager, fallback := appView{Name: "Managed"}, appView{Name: "Orphan", Fallback: true}
	secret := []credentialView{{Noun: nounSecret}}
	manager.Credentials, fallback.Credentials = secret, secret
	cases := []struct {
		apps       []appView
		lead, want string
	}{
		{[]appView{manager}, "A client secret you manage is close to expiry.",
			"You receive this because you are a credential manager of these applications."},
		{[]appView{fallback, fallback}, "2 client secrets of applications without a credential manager are close to expiry.",
			"You receive this because these applications have no credential manager and this is the portal's fallback address. Designate credential managers, so that reminders reach the people who can act on them."},
		{[]appView{manager, fallback}, "2 client secrets are close to expiry.",
			"You receive this as a credential manager, and as the portal's fallback address for the applications that have no credential manager."},
	}
	for _, c := range cases {
		v := digestView{Applications: c.apps}
		if got := v.lead(); got != c.lead {
			t.Errorf("%v: lead %q, want %q", c.apps, got, c.lead)
		}
		if got := v.reason(); got != c.want {
			t.Errorf("%v: %q, want %q", c.apps, got, c.want)
		}
		if !strings.HasSuffix(v.text(), "\n"+c.want+"\n") {
			t.Errorf("text part does not end with the reason:\n%s", v.text())
		}
	}
}
