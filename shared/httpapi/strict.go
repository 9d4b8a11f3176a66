package httpapi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"credportal/shared/portal"
)

// encoding/json matches field names ignoring case, lets a repeated key
// overwrite the first, and turns bytes that are not UTF-8 (and escaped
// halves of surrogate pairs) into U+FFFD. checkStrict refuses all three
// before the body is decoded, so what is stored is what the client wrote.
// It walks the body's tokens with the decoder's own tokenizer rather than
// linking a second JSON library into every function.

// CheckStrict checks body, a JSON text meant to be decoded into v, for what
// encoding/json would let through: field names in another case, repeated
// keys, text that is not UTF-8. For bodies DecodeJSON does not read.
func CheckStrict(body []byte, v any) error { return checkStrict(body, reflect.TypeOf(v)) }

// checkStrict checks body, a JSON text meant for a value of type t.
func checkStrict(body []byte, t reflect.Type) error {
	if !utf8.Valid(body) || loneSurrogate(body) {
		return errBadUTF8
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return walk(dec, t)
}

var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

// walk reads one value from dec. t is the Go type it decodes into, or nil
// when that does not constrain the field names (any, or a type that decodes
// itself).
func walk(dec *json.Decoder, t reflect.Type) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (t.Implements(unmarshaler) || reflect.PointerTo(t).Implements(unmarshaler)) {
		t = nil
	}
	tok, err := dec.Token()
	if err != nil {
		return errBadJSON
	}
	switch tok {
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := walk(dec, elem); err != nil {
				return err
			}
		}
	case json.Delim('{'):
		var (
			fields map[string]reflect.Type
			elem   reflect.Type
		)
		switch {
		case t != nil && t.Kind() == reflect.Struct:
			fields = jsonFields(t)
		case t != nil && t.Kind() == reflect.Map:
			elem = t.Elem()
		}
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return errBadJSON
			}
			name, _ := tok.(string)
			if seen[name] {
				return &portal.Error{Err: errDuplicateName, Value: truncateRunes(name, 64)}
			}
			seen[name] = true
			ft := elem
			if fields != nil {
				var ok bool
				if ft, ok = fields[name]; !ok {
					return &portal.Error{Err: errUnknownName, Value: truncateRunes(name, 64)}
				}
			}
			if err := walk(dec, ft); err != nil {
				return err
			}
		}
	default:
		return nil
	}
	if _, err := dec.Token(); err != nil { // the closing ] or }
		return errBadJSON
	}
	return nil
}

// jsonFields maps the JSON names of a struct's fields, as encoding/json
// names them, to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for n, typ := range jsonFields(ft) {
					if _, ok := out[n]; !ok {
						out[n] = typ
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// loneSurrogate reports whether a string in body escapes half of a UTF-16
// surrogate pair without the other half ("\ud800"), which is no character.
// body is valid UTF-8; it need not be valid JSON.
func loneSurrogate(body []byte) bool {
	inString := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !inString {
			inString = c == '"'
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 >= len(body) || body[i+1] != 'u' {
				i++ // a one-character escape
				continue
			}
			r, ok := hex4(body[i+2:])
			if !ok || !utf16.IsSurrogate(r) {
				i += 5
				continue
			}
			if r >= 0xdc00 { // a low half first
				return true
			}
			if i+7 >= len(body) || body[i+6] != '\\' || body[i+7] != 'u' {
				return true
			}
			low, ok := hex4(body[i+8:])
			if !ok || low < 0xdc00 || low > 0xdfff {
				return true
			}
			i += 11
		}
	}
	return false
}

// hex4 reads four hex digits.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[:4]), 16, 16)
	return rune(n), err == nil
}

func truncateRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
