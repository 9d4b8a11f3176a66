package portal

import (
	"net/mail"
	"strings"
	"unicode"

	"golang.org/x/net/idna"
)

// CheckEmail returns the address to designate, in the one form SES can
// deliver to: a plain address (no display name, no angle brackets),
// lower-cased, whose local part is ASCII (SES has no SMTPUTF8) and whose
// domain is ASCII, an internationalised domain converted to punycode
// ("bücher.example" → "xn--bcher-kva.example"). A domain label that mixes
// scripts (a Cyrillic "а" among Latin letters, say) is refused as a
// look-alike. At most MaxEmailLen bytes once converted.
func CheckEmail(s string) (string, error) {
	email := strings.ToLower(s)
	if len(email) == 0 || len(email) > MaxEmailLen {
		return "", ErrInvalidEmail
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Name != "" || addr.Address != email {
		return "", ErrInvalidEmail
	}
	at := strings.LastIndexByte(email, '@')
	local, domain := email[:at], email[at+1:]
	if !ascii(local) {
		return "", ErrInvalidEmail
	}
	if !ascii(domain) {
		for _, label := range strings.Split(domain, ".") {
			if mixedScripts(label) {
				return "", ErrInvalidEmail
			}
		}
	}
	// Lookup applies UTS #46 as a resolver would (mapping, then the IDNA
	// 2008 rules, bidi and joiner checks), so what it gives is the domain
	// the mail system resolves; an ASCII domain comes back as it is.
	puny, err := idna.Lookup.ToASCII(domain)
	if err != nil || !hostname(puny) {
		return "", ErrInvalidEmail
	}
	email = local + "@" + strings.ToLower(puny)
	if len(email) > MaxEmailLen {
		return "", ErrInvalidEmail
	}
	return email, nil
}

// hostname reports whether d is a domain mail can go to: two or more
// labels of 1 to 63 letters, digits and hyphens.
func hostname(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || strings.Trim(l, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
			return false
		}
	}
	return true
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// scriptSets are the combinations of scripts one label may mix, as UTS #39's
// "highly restrictive" level allows them: one script, or Latin with the
// scripts written together in Chinese, Japanese and Korean.
var scriptSets = [][]string{
	{"Latin", "Han", "Hiragana", "Katakana"},
	{"Latin", "Han", "Bopomofo"},
	{"Latin", "Han", "Hangul"},
}

// mixedScripts reports whether a domain label mixes scripts that are not
// written together, the mark of a look-alike ("pаypal" with a Cyrillic а).
// Characters common to all scripts (digits, hyphens) and combining marks do
// not count.
func mixedScripts(label string) bool {
	seen := map[string]bool{}
	for _, r := range label {
		if !unicode.IsLetter(r) {
			continue
		}
		for name, table := range unicode.Scripts {
			if name != "Common" && name != "Inherited" && unicode.Is(table, r) {
				seen[name] = true
				break
			}
		}
	}
	if len(seen) <= 1 {
		return false
	}
	for _, set := range scriptSets {
		all := true
		for name := range seen {
			if !contains(set, name) {
				all = false
				break
			}
		}
		if all {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
