package reminder

import (
	"strings"
	"testing"
)

// Every value a digest shows comes from the database, most of it typed by
// users (application, organisation and secret names; hints): the HTML part
// escapes each, the text part shows them as they are.
func TestDigestRendering(t *testing.T) {
	v := digestView{Count: 2, Applications: []appView{{
		Name: `Acme <script>alert(1)</script>`, Organisation: `Acme & "Sons"`,
		Link: `https://portal.example/applications/app_1?a=1&b="2"`,
		Secrets: []secretView{
			{Name: "Key <b>bold</b>", Hint: "<x9", Expires: "2026-12-01 09:30 UTC", DaysLeft: 5, When: "expires in 5 days"},
			{
				Name: "Old 'one'", Hint: `"x9`, Expires: "2026-11-26 20:00 UTC", DaysLeft: 0, When: "expires today",
				Replaced: &replacedView{Name: `<img src=x onerror=alert(1)>`, Hint: "&x9", LastUsed: "2026-11-26 05:00 UTC"},
			},
		},
	}}}
	h := v.html()
	for _, bad := range []string{"<script>", "<b>bold</b>", "<img", `"Sons"`, `"x9`, `b="2"`, "'one'", "&x9"} {
		if strings.Contains(h, bad) {
			t.Errorf("HTML part holds unescaped %q:\n%s", bad, h)
		}
	}
	for _, want := range []string{
		"<p>2 client secrets you manage are close to expiry.",
		`<h2 style="font-size:1.1em">Acme &lt;script&gt;alert(1)&lt;/script&gt; <small>(Acme &amp; &#34;Sons&#34;)</small></h2>`,
		"<tr><td>Key &lt;b&gt;bold&lt;/b&gt;</td><td><code>&lt;x9…</code></td><td>2026-12-01 09:30 UTC (expires in 5 days)</td><td>5</td></tr>",
		"<tr><td>Old &#39;one&#39;</td><td><code>&#34;x9…</code></td><td>2026-11-26 20:00 UTC (expires today)</td><td>0</td></tr>",
		"A newer secret, &lt;img src=x onerror=alert(1)&gt; (<code>&amp;x9…</code>), was last used 2026-11-26 05:00 UTC",
		`<a href="https://portal.example/applications/app_1?a=1&amp;b=&#34;2&#34;">Open Acme &lt;script&gt;alert(1)&lt;/script&gt; in the portal</a>`,
	} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, h)
		}
	}
	txt := v.text()
	for _, want := range []string{
		"2 client secrets you manage are close to expiry.\nCreate a new secret",
		"\nAcme <script>alert(1)</script> (Acme & \"Sons\")\n",
		"  - Key <b>bold</b> (<x9…): expires in 5 days, on 2026-12-01 09:30 UTC; days left: 5\n",
		"  - Old 'one' (\"x9…): expires today, on 2026-11-26 20:00 UTC; days left: 0\n",
		"    A newer secret, <img src=x onerror=alert(1)> (&x9…), was last used 2026-11-26 05:00 UTC: this one looks replaced and can be deleted.\n",
		"  " + v.Applications[0].Link + "\n",
	} {
		if !strings.Contains(txt, want) {
			t.Errorf("text part lacks %q:\n%s", want, txt)
		}
	}
	one := digestView{Count: 1, Applications: v.Applications[:1]}
	if !strings.HasPrefix(one.text(), "A client secret you manage is close to expiry.\n") || !strings.Contains(one.html(), "<p>A client secret you manage is close to expiry.") {
		t.Errorf("a digest of one secret:\n%s\n%s", one.text(), one.html())
	}
}
