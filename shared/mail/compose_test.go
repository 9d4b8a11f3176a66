package mail

import (
	"mime"
	"net/mail"
	"strings"
	"testing"
)

func TestComposeKeepsHeaderLinesShort(t *testing.T) {
	var keys []string
	for i := 0; i < 60; i++ {
		keys = append(keys, "sec_01m8aqec15r6wa6xc1ve4dtvr2@30")
	}
	subject := strings.Repeat("客户端密钥即将过期 ", 12) + "=?utf-8?q?spoof?="
	raw, err := Compose("no-reply@portal.example", Message{
		To: []string{"alice@acme.example"}, Subject: subject, Text: "t", HTML: "<p>h</p>",
		Headers: map[string]string{"X-Portal-Reminders": strings.Join(keys, " ")},
	})
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n") {
		if len(line) > 998 || (len(line) > maxLine && strings.Contains(line, " ")) {
			t.Fatalf("header line of %d characters: %q", len(line), line)
		}
	}
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil || got != subject {
		t.Fatalf("subject decodes to %q, %v", got, err)
	}
	if m.Header.Get("X-Portal-Reminders") != strings.Join(keys, " ") {
		t.Fatalf("folded header reads back as %q", m.Header.Get("X-Portal-Reminders"))
	}
	if strings.Contains(m.Header.Get("Subject"), "=?utf-8?q?spoof?=") {
		t.Fatal("text that looks like an encoded word was left for the client to decode")
	}
}
