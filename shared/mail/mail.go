// Package mail composes and sends the portal's emails through SES v2: the
// security notices on secret changes, and the transport of the expiry
// reminders' digests. Every message has a plain-text and an HTML part.
package mail

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"credportal/shared/portal"
)

// SES is the part of the SES v2 client the package uses.
type SES interface {
	SendEmail(context.Context, *sesv2.SendEmailInput, ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

var _ SES = (*sesv2.Client)(nil)

// Message is one email to send.
type Message struct {
	To      []string
	Subject string
	Date    time.Time
	Text    string
	HTML    string
	// Headers are extra header fields, such as the key that identifies a
	// reminder digest's contents.
	Headers map[string]string
}

// Mailer sends messages from one address.
type Mailer struct {
	ses     SES
	from    string
	name    string
	support string
}

// NewMailer sends from the address from (an identity SES may send for),
// under the display name name ("" for none).
func NewMailer(ses SES, from, name string) *Mailer { return &Mailer{ses: ses, from: from, name: name} }

// WithSupport names contact (SupportContact: an address or a URL) at the
// end of every message m sends, as whom to ask.
func (m *Mailer) WithSupport(contact string) *Mailer {
	m.support = contact
	return m
}

// From is the sender's address.
func (m *Mailer) From() string { return m.from }

// withSupport ends msg's parts with whom to ask.
func (m *Mailer) withSupport(msg Message) Message {
	if m.support == "" {
		return msg
	}
	line := "Questions about your access to the portal: " + m.support
	msg.Text = strings.TrimRight(msg.Text, "\n") + "\n\n" + line + "\n"
	if i := strings.LastIndex(msg.HTML, "</body>"); i >= 0 {
		msg.HTML = msg.HTML[:i] + "<p>" + html.EscapeString(line) + "</p>\n" + msg.HTML[i:]
	}
	return msg
}

// FromHeader is the From field's value: the display name and the address,
// `"Registry API Credentials" <no-reply@portal.example>`. The name is an RFC
// 5322 quoted string when it is printable ASCII, RFC 2047 encoded words
// otherwise; with no name, the bare address.
func FromHeader(address, name string) string {
	if name == "" {
		return address
	}
	return (&mail.Address{Name: name, Address: address}).String()
}

// Send composes msg as multipart/alternative MIME and hands it to SES,
// returning the message id SES gave it.
func (m *Mailer) Send(ctx context.Context, msg Message) (string, error) {
	raw, err := Compose(FromHeader(m.from, m.name), m.withSupport(msg))
	if err != nil {
		return "", err
	}
	out, err := m.ses.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(m.from),
		Destination:      &types.Destination{ToAddresses: msg.To},
		Content:          &types.EmailContent{Raw: &types.RawMessage{Data: raw}},
	})
	if err != nil {
		return "", fmt.Errorf("send email to %s: %w", strings.Join(msg.To, ", "), err)
	}
	return aws.ToString(out.MessageId), nil
}

// Compose writes msg as a MIME message with a text/plain and a text/html
// alternative, both UTF-8 and quoted-printable. from is the From field's
// value (FromHeader).
func Compose(from string, msg Message) ([]byte, error) {
	if len(msg.To) == 0 {
		return nil, errors.New("compose email: no recipient")
	}
	for _, a := range append([]string{from}, msg.To...) {
		if _, err := mail.ParseAddress(a); err != nil {
			return nil, fmt.Errorf("compose email: address %q: %w", a, err)
		}
	}
	var head, body bytes.Buffer
	mw := multipart.NewWriter(&body)
	header := func(name, value string) {
		head.WriteString(fold(name + ": " + headerValue(value)))
	}
	header("From", from)
	header("To", strings.Join(msg.To, ", "))
	header("Subject", encodeWords(headerValue(msg.Subject)))
	if !msg.Date.IsZero() {
		header("Date", msg.Date.UTC().Format(time.RFC1123Z))
	}
	names := make([]string, 0, len(msg.Headers))
	for k := range msg.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		header(textproto.CanonicalMIMEHeaderKey(headerValue(k)), msg.Headers[k])
	}
	header("MIME-Version", "1.0")
	header("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	head.WriteString("\r\n")
	for _, part := range []struct{ kind, body string }{{"text/plain", msg.Text}, {"text/html", msg.HTML}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.kind + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		if err := writeQP(w, part.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return append(head.Bytes(), body.Bytes()...), nil
}

func writeQP(w io.Writer, body string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := io.WriteString(qp, strings.ReplaceAll(body, "\n", "\r\n")); err != nil {
		return err
	}
	return qp.Close()
}

// maxLine is the longest header line written: RFC 5322 recommends 78
// characters, and SES refuses a message with a line over 1,000.
const maxLine = 76

// fold writes a header field on as many lines as it needs, breaking at
// spaces (RFC 5322 folding), each line ended by CRLF.
func fold(field string) string {
	var out strings.Builder
	line := 0
	for i, word := range strings.Split(field, " ") {
		if i > 0 {
			if line+1+len(word) > maxLine {
				out.WriteString("\r\n")
				line = 0
			}
			out.WriteByte(' ')
			line++
		}
		out.WriteString(word)
		line += len(word)
	}
	out.WriteString("\r\n")
	return out.String()
}

// encodeWords returns s as it may stand in a header: unchanged when it is
// plain ASCII, otherwise as RFC 2047 encoded words of at most 45 bytes of
// text each (so each word fits on a folded line). Text that merely looks
// like an encoded word ("=?") is encoded too, so no client decodes it.
func encodeWords(s string) string {
	plain := !strings.Contains(s, "=?")
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			plain = false
		}
	}
	if plain {
		return s
	}
	var words []string
	for len(s) > 0 {
		n := 0
		for n < len(s) {
			_, size := utf8.DecodeRuneInString(s[n:])
			if n > 0 && n+size > 45 {
				break
			}
			n += size
		}
		words = append(words, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, " ")
}

// headerValue keeps a header value on one line: no field can be injected.
func headerValue(v string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
}

// Throttled reports whether SES refused a message for its sending rate, so
// sending again after a pause may succeed.
func Throttled(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "TooManyRequestsException", "Throttling", "ThrottlingException":
		return true
	}
	return false
}

// Undeliverable reports whether SES refused a message for good because of
// its recipient, so sending it again can never succeed: SES v2's
// MessageRejected (the address or the message is refused) and
// BadRequestException (e.g. an address SES cannot parse, such as a
// non-ASCII local part: SES has no SMTPUTF8), unless the refusal is the
// sender side's (SenderNotReady). The portal sends each message to one
// recipient, composed by itself, so a BadRequestException is taken to be
// about the recipient.
//
// Everything else is transient and the message is tried again later:
// throttling (TooManyRequestsException, Throttling), the daily quota
// (LimitExceededException), a sender side not ready (SenderNotReady) and
// SES's own failures (HTTP 5xx).
func Undeliverable(err error) bool {
	var (
		rejected *types.MessageRejected
		bad      *types.BadRequestException
	)
	return (errors.As(err, &rejected) || errors.As(err, &bad)) && !SenderNotReady(err)
}

// SenderNotReady reports whether SES refused a message because of the
// sending side, not the recipient: the sender's identity not verified, the
// account in the sandbox refusing an unverified recipient (SES answers both
// with MessageRejected "Email address is not verified. The following
// identities failed the check in region …: …"; moto says "Email address not
// verified …", or for a raw message "Did not have authority to send from
// email …"), the custom MAIL FROM domain not verified, sending paused or
// the account suspended, or a configuration set that does not exist. Such a
// refusal marks no one undeliverable: the message stays due until SES is
// set up. https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html
func SenderNotReady(err error) bool {
	var (
		rejected   *types.MessageRejected
		mailFrom   *types.MailFromDomainNotVerifiedException
		paused     *types.SendingPausedException
		suspended  *types.AccountSuspendedException
		missingSet *types.NotFoundException
	)
	switch {
	case errors.As(err, &rejected):
		return notVerified.MatchString(aws.ToString(rejected.Message))
	case errors.As(err, &missingSet):
		return strings.Contains(strings.ToLower(aws.ToString(missingSet.Message)), "configuration set")
	}
	return errors.As(err, &mailFrom) || errors.As(err, &paused) || errors.As(err, &suspended)
}

// notVerified matches the forms of a sender refusal SES and moto give.
var notVerified = regexp.MustCompile(`(?i)\bemail address (is )?not verified\b|\bdid not have authority to send from\b`)

// Stopped reports whether SES refuses to send anything more for now (daily
// quota used, sending paused, account suspended): trying again in this run is
// pointless.
func Stopped(err error) bool {
	var (
		limit     *types.LimitExceededException
		paused    *types.SendingPausedException
		suspended *types.AccountSuspendedException
	)
	return errors.As(err, &limit) || errors.As(err, &paused) || errors.As(err, &suspended)
}

// Managers returns the emails of the credential managers among ds, sorted.
// Viewers never get email.
func Managers(ds []portal.Designation) []string {
	var out []string
	for _, d := range ds {
		if d.Role == portal.RoleCredentialManager {
			out = append(out, d.Email)
		}
	}
	sort.Strings(out)
	return out
}

// Recipients are who is told of an application's secrets: its credential
// managers, else the fallback address when one is set, so that no change or
// expiry goes unseen for want of a manager. None when neither exists.
func Recipients(ds []portal.Designation, fallback string) []string {
	if to := Managers(ds); len(to) > 0 {
		return to
	}
	if fallback != "" {
		return []string{fallback}
	}
	return nil
}

// ApplicationURL is the portal page of an application: portalURL (with or
// without its trailing slash) + "applications/<id>".
func ApplicationURL(portalURL, appID string) string {
	if !strings.HasSuffix(portalURL, "/") {
		portalURL += "/"
	}
	return portalURL + "applications/" + appID
}

// FromOf is the address sender sends from, where it says (a *Mailer does).
func FromOf(sender any) string {
	if f, ok := sender.(interface{ From() string }); ok {
		return f.From()
	}
	return "the sender address"
}

// MetricsNamespace is the CloudWatch namespace of the portal's own metrics.
const MetricsNamespace = "CredentialsPortal"

// ReportSenderNotReady says, at error level, that SES refused to send from
// sender because the sending side is not set up (SenderNotReady), what to
// do, and that waiting messages stay due; the same line carries the
// SesNotReady metric, by sender, in CloudWatch's embedded metric format,
// which template.yaml's SesNotReadyAlarm watches.
func ReportSenderNotReady(ctx context.Context, log *slog.Logger, sender string, waiting int, err error) {
	log.ErrorContext(ctx, "SES is not ready to send from "+sender+": verify that identity (or its domain) in SES, "+
		"request production access if the account is in the sandbox, and check that sending is not paused; "+
		"the messages stay due and go out once SES accepts them",
		"sender", sender, "waiting", waiting, "error", err.Error(),
		slog.Group("_aws",
			"Timestamp", time.Now().UnixMilli(),
			"CloudWatchMetrics", []map[string]any{{
				"Namespace":  MetricsNamespace,
				"Dimensions": [][]string{{"Sender"}},
				"Metrics":    []map[string]string{{"Name": "SesNotReady", "Unit": "Count"}},
			}},
		),
		"Sender", sender, "SesNotReady", waiting,
	)
}
