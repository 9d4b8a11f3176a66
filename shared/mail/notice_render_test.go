package mail

import (
	"strings"
	"testing"
)

func TestNoticeRendering(t *testing.T) {
	n := notice{
		Kind: "client secret", Verb: "created", Application: `Acme <script>alert(1)</script>`, Link: `https://portal.example/applications/app_1?a=1&b="2"`,
		SecretName: "Key & <b>bold</b>", Hint: "aB3", Actor: "alice@acme.example", At: "2026-11-26 07:00 UTC",
		ExpiresAt: "2027-02-24 07:00 UTC", SourceIP: "203.0.113.7", UserAgent: `curl/8.5.0 <img src=x onerror=alert(1)>`,
	}
	h := n.html()
	for _, bad := range []string{"<script>", "<b>bold</b>", `b="2"`, "<img"} {
		if strings.Contains(h, bad) {
			t.Errorf("HTML part holds unescaped %q:\n%s", bad, h)
		}
	}
	for _, want := range []string{"&lt;script&gt;", "Key &amp; &lt;b&gt;bold&lt;/b&gt; (aB3…)", "<th align=\"left\">Expires</th><td>2027-02-24 07:00 UTC</td>", "203.0.113.7", `href="https://portal.example/applications/app_1?a=1&amp;b=&#34;2&#34;"`} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, h)
		}
	}
	txt := n.text()
	for _, want := range []string{"A client secret of Acme <script>alert(1)</script> was created.", "Secret:     Key & <b>bold</b> (aB3…)", "Expires:    2027-02-24", "By:         alice@acme.example", "From:       203.0.113.7", n.Link} {
		if !strings.Contains(txt, want) {
			t.Errorf("text part lacks %q:\n%s", want, txt)
		}
	}
	if want := `<tr><th align="left">User agent</th><td>curl/8.5.0 &lt;img src=x onerror=alert(1)&gt;</td></tr>`; !strings.Contains(h, want) {
		t.Errorf("HTML part lacks %q:\n%s", want, h)
	}
	if want := "User agent: curl/8.5.0 <img src=x onerror=alert(1)>\n"; !strings.Contains(txt, want) {
		t.Errorf("text part lacks %q:\n%s", want, txt)
	}
	n.Verb, n.SourceIP, n.UserAgent = "deleted", "", ""
	if strings.Contains(n.text(), "Expires") || strings.Contains(n.html(), "Expires") || strings.Contains(n.text(), "From:") || strings.Contains(n.text(), "User agent") {
		t.Errorf("a deletion notice without a source shows an expiry or a source:\n%s", n.text())
	}
}
