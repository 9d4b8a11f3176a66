package emulator

import (
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

// parse fills the fields a raw message carries in its MIME: the subject,
// the text and HTML parts, and the header. A simple (non-raw) message has
// its body as HTML when it looks like HTML, as text otherwise.
func (m *Mail) parse() {
	if m.Raw == "" {
		if strings.HasPrefix(strings.TrimSpace(m.Body), "<") {
			m.HTML = m.Body
		} else {
			m.Text = m.Body
		}
		return
	}
	msg, err := mail.ReadMessage(strings.NewReader(m.Raw))
	if err != nil {
		return
	}
	m.Header = msg.Header
	if m.Subject == "" {
		dec := new(mime.WordDecoder)
		if s, err := dec.DecodeHeader(msg.Header.Get("Subject")); err == nil {
			m.Subject = s
		}
	}
	m.readPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
}

func (m *Mail) readPart(contentType, encoding string, body io.Reader) {
	kind, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		kind = "text/plain"
	}
	if strings.HasPrefix(kind, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart()
			if err != nil {
				return
			}
			m.readPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p)
		}
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	raw, _ := io.ReadAll(body)
	text := strings.ReplaceAll(string(raw), "\r\n", "\n")
	switch kind {
	case "text/plain":
		m.Text = text
	case "text/html":
		m.HTML = text
	}
}
