package iam

import (
	"strings"
	"unicode"
)

// token is one token of a DynamoDB expression.
type token struct {
	kind byte // 'n' name or alias, 'v' :value, 'p' punctuation, 'k' keyword, 'f' function
	text string
}

// keywords of the expression grammars; an attribute with one of these names
// must be aliased (#name), so a bare one is the keyword.
var keywords = map[string]bool{"AND": true, "OR": true, "NOT": true, "BETWEEN": true, "IN": true, "SET": true, "REMOVE": true, "ADD": true, "DELETE": true}

func tokenize(expr string) []token {
	var out []token
	r := []rune(expr)
	for i := 0; i < len(r); {
		c := r[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '#' || c == ':' || c == '_' || unicode.IsLetter(c):
			j := i + 1
			for j < len(r) && (r[j] == '_' || unicode.IsLetter(r[j]) || unicode.IsDigit(r[j])) {
				j++
			}
			text := string(r[i:j])
			kind := byte('n')
			switch {
			case c == ':':
				kind = 'v'
			case c != '#' && keywords[strings.ToUpper(text)]:
				kind = 'k'
			case c != '#':
				// A function is a name followed by "(".
				k := j
				for k < len(r) && unicode.IsSpace(r[k]) {
					k++
				}
				if k < len(r) && r[k] == '(' {
					kind = 'f'
				}
			}
			out = append(out, token{kind, text})
			i = j
		case unicode.IsDigit(c):
			j := i + 1
			for j < len(r) && unicode.IsDigit(r[j]) {
				j++
			}
			out = append(out, token{'p', string(r[i:j])})
			i = j
		default:
			// Two-character comparators stay one token.
			if i+1 < len(r) && (string(r[i:i+2]) == "<>" || string(r[i:i+2]) == "<=" || string(r[i:i+2]) == ">=") {
				out = append(out, token{'p', string(r[i : i+2])})
				i += 2
				continue
			}
			out = append(out, token{'p', string(c)})
			i++
		}
	}
	return out
}

// topLevelNames adds to set the top-level attribute names expr refers to:
// the first element of each document path, with #aliases resolved by names.
// "a.b[0].c" names a; "#0.#1" names what #0 stands for.
func topLevelNames(set map[string]bool, expr string, names map[string]string) {
	toks := tokenize(expr)
	for i, t := range toks {
		if t.kind != 'n' {
			continue
		}
		if i > 0 && toks[i-1].kind == 'p' && toks[i-1].text == "." {
			continue
		}
		set[resolveName(t.text, names)] = true
	}
}

func resolveName(text string, names map[string]string) string {
	if strings.HasPrefix(text, "#") {
		if n, ok := names[text]; ok {
			return n
		}
	}
	return text
}

// equalityValue returns the :value expr compares attribute attr with by
// "=", as a key condition names a partition key, or "".
func equalityValue(expr, attr string, names map[string]string) string {
	toks := tokenize(expr)
	for i := 0; i+2 < len(toks); i++ {
		a, op, b := toks[i], toks[i+1], toks[i+2]
		if op.kind != 'p' || op.text != "=" {
			continue
		}
		if a.kind == 'n' && resolveName(a.text, names) == attr && b.kind == 'v' && !(i > 0 && toks[i-1].text == ".") {
			return b.text
		}
		if b.kind == 'n' && resolveName(b.text, names) == attr && a.kind == 'v' && !(i+3 < len(toks) && toks[i+3].text == ".") {
			return a.text
		}
	}
	return ""
}
