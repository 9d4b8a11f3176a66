package localstack

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"credportal/infra/emulator"
	"credportal/infra/provision"
)

// IssuerPath is where the stack serves its loopback OpenID Connect issuer:
// IssuerPath/.well-known/openid-configuration, IssuerPath/jwks and
// IssuerPath/token?sub=S&aud=A.
const IssuerPath = "/local/issuer"

// SweepFunction is the template's scheduled expiry sweep that POST
// /local/sweep runs.
const SweepFunction = "ExpirySweepFunction"

// ServeHTTP serves the local-only endpoints and every HttpApi route of the
// template.
func (s *Stack) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch req.URL.Path {
	case "/local/token":
		s.serveToken(w, req)
		return
	case "/local/sweep":
		s.serveSweep(w, req)
		return
	case "/local/mail":
		s.serveMail(w, req)
		return
	case provision.ScanningKeysPath:
		s.serveScanningKeys(w, req)
		return
	}
	if strings.HasPrefix(req.URL.Path, IssuerPath+"/") {
		http.StripPrefix(IssuerPath, s.FederatedIssuer.Handler()).ServeHTTP(w, req)
		return
	}
	r, params, ok := s.routes.match(req.Method, req.URL.EscapedPath())
	if !ok {
		gatewayError(w, http.StatusNotFound, "Not Found")
		return
	}
	body, ok := readBody(req)
	if !ok {
		gatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	now := time.Now()
	ev := event(req, r, params, body, requestID(), now)
	if r.Authorized {
		claims, scopes, err := s.auth.verify(req.Header.Get("Authorization"))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer`)
			gatewayError(w, http.StatusUnauthorized, "Unauthorized")
			return
		}
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims, Scopes: scopes},
		}
	}
	w.Header().Set("Apigw-Requestid", ev.RequestContext.RequestID)
	fn := s.Functions[r.function]
	payload, err := json.Marshal(ev)
	if err != nil || fn == nil {
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	// The invocation runs to its end even if the client goes away: the
	// runtime emulator cannot abandon one midway.
	out, err := fn.Invoke(context.WithoutCancel(req.Context()), payload)
	if err != nil {
		fmt.Fprintf(s.logs, "[local] %s %s: %v\n", req.Method, req.URL.Path, err)
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	if failure := writeResponse(w, out); failure != "" {
		fmt.Fprintf(s.logs, "[local] %s %s: %s\n", req.Method, req.URL.Path, failure)
	}
}

// localError is the portal's own error body, for the local endpoints.
func localError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": message}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// serveToken is GET /local/token?email=E[&admin=true][&sub=S].
func (s *Stack) serveToken(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		localError(w, http.StatusMethodNotAllowed, "method_not_allowed", "Use GET /local/token?email=E[&admin=true].")
		return
	}
	q := req.URL.Query()
	admin := false
	switch q.Get("admin") {
	case "", "false":
	case "true":
		admin = true
	default:
		localError(w, http.StatusBadRequest, "invalid_admin", "admin must be true or false.")
		return
	}
	tok, err := s.auth.token(q.Get("email"), q.Get("sub"), admin)
	if err != nil {
		localError(w, http.StatusBadRequest, "invalid_email", "Give the user's address, and optionally a subject of at most 255 bytes: /local/token?email=alice@acme.example[&sub=S].")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "id_token": tok, "token_type": "Bearer", "expires_in": int(TokenLifetime.Seconds()),
	})
}

// serveSweep is POST /local/sweep: the expiry sweep, run now with the event
// its EventBridge schedule sends. It answers with the sweep's result: the
// secrets examined, the reminders sent, skipped, deferred and failed.
func (s *Stack) serveSweep(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		localError(w, http.StatusMethodNotAllowed, "method_not_allowed", "Use POST /local/sweep.")
		return
	}
	fn := s.Functions[SweepFunction]
	if fn == nil {
		localError(w, http.StatusNotImplemented, "not_implemented", "template.yaml has no "+SweepFunction+" to run.")
		return
	}
	now := time.Now().UTC()
	ev := events.EventBridgeEvent{
		Version: "0", ID: requestID(), DetailType: "Scheduled Event", Source: "aws.events", AccountID: "123456789012",
		Time: now.Truncate(time.Second), Region: emulator.Region, Detail: json.RawMessage(`{}`),
		Resources: []string{"arn:aws:events:" + emulator.Region + ":123456789012:rule/" + StackName + "-sweep"},
	}
	payload, _ := json.Marshal(ev)
	out, err := fn.Invoke(context.WithoutCancel(req.Context()), payload)
	if err != nil {
		localError(w, http.StatusInternalServerError, "sweep_failed", "The sweep did not finish: "+err.Error())
		return
	}
	var fail struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if json.Unmarshal(out, &fail) == nil && fail.ErrorMessage != "" {
		localError(w, http.StatusInternalServerError, "sweep_failed", "The sweep failed: "+fail.ErrorMessage)
		return
	}
	var result map[string]any
	if err := json.Unmarshal(out, &result); err != nil || result == nil {
		localError(w, http.StatusBadGateway, "sweep_answer", "The sweep answered something other than its result: "+string(out))
		return
	}
	writeJSON(w, http.StatusOK, result)
}

// MailItem is one sent email as GET /local/mail lists it.
type MailItem struct {
	From    string     `json:"from"`
	To      []string   `json:"to"`
	Subject string     `json:"subject"`
	Text    string     `json:"text"`
	HTML    string     `json:"html"`
	SentAt  *time.Time `json:"sentAt"`
}

// Mail lists the emails SES has accepted, newest first.
func (s *Stack) Mail(ctx context.Context) ([]MailItem, error) {
	sent, err := s.Emulator.SentMail(ctx)
	if err != nil {
		return nil, err
	}
	items := make([]MailItem, 0, len(sent))
	for _, m := range slices.Backward(sent) {
		it := MailItem{From: m.Source, To: []string{}, Subject: m.Subject, Text: m.Text, HTML: m.HTML}
		for _, to := range m.Destination {
			if !slices.Contains(it.To, to) {
				it.To = append(it.To, to)
			}
		}
		if m.Header != nil {
			if d, err := m.Header.Date(); err == nil {
				d = d.UTC()
				it.SentAt = &d
			}
		}
		items = append(items, it)
	}
	// Newest first by the Date each message was written with: senders run
	// concurrently (the notice poller, a sweep), so SES's order of arrival
	// can differ from it by a moment.
	slices.SortStableFunc(items, func(a, b MailItem) int {
		switch {
		case a.SentAt == nil || b.SentAt == nil:
			return 0
		case a.SentAt.After(*b.SentAt):
			return -1
		case b.SentAt.After(*a.SentAt):
			return 1
		}
		return 0
	})
	return items, nil
}

// serveMail is GET /local/mail.
func (s *Stack) serveMail(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		localError(w, http.StatusMethodNotAllowed, "method_not_allowed", "Use GET /local/mail.")
		return
	}
	items, err := s.Mail(req.Context())
	if err != nil {
		slog.Error("read sent mail", "error", err)
		localError(w, http.StatusBadGateway, "emulator_unavailable", "The AWS emulator's sent mail could not be read.")
		return
	}
	if strings.Contains(req.Header.Get("Accept"), "application/json") {
		writeJSON(w, http.StatusOK, map[string]any{"items": items})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// The emails' HTML is shown in sandboxed frames: no script runs.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'")
	if err := mailPage.Execute(w, items); err != nil {
		slog.Error("render mail page", "error", err)
	}
}

var mailPage = template.Must(template.New("mail").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sent mail · local portal</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1b1b1b}
article{border:1px solid #ccc;border-radius:6px;margin:1rem 0;padding:1rem}
h2{font-size:1.1rem;margin:0 0 .3rem} dl{display:grid;grid-template-columns:5rem 1fr;margin:0 0 .6rem}
dt{color:#555} dd{margin:0} pre{white-space:pre-wrap;background:#f5f5f5;padding:.6rem;border-radius:4px}
iframe{width:100%;height:22rem;border:1px solid #ddd;border-radius:4px}
details{margin:.4rem 0}
</style></head><body>
<h1>Sent mail</h1>
<p>What the portal sent through the emulated SES, newest first. Reload to refresh;
<code>curl -H 'Accept: application/json' …/local/mail</code> gives the same as JSON.</p>
{{if not .}}<p><em>No email sent yet.</em> Create or delete a secret, or run the expiry sweep with
<code>curl -X POST …/local/sweep</code>.</p>{{end}}
{{range .}}<article>
<h2>{{.Subject}}</h2>
<dl><dt>From</dt><dd>{{.From}}</dd><dt>To</dt><dd>{{range $i, $t := .To}}{{if $i}}, {{end}}{{$t}}{{end}}</dd>
{{with .SentAt}}<dt>Sent</dt><dd>{{.Format "2006-01-02 15:04:05 UTC"}}</dd>{{end}}</dl>
{{if .HTML}}<details open><summary>HTML</summary><iframe sandbox srcdoc="{{.HTML}}" title="{{.Subject}}"></iframe></details>{{end}}
{{if .Text}}<details {{if not .HTML}}open{{end}}><summary>Plain text</summary><pre>{{.Text}}</pre></details>{{end}}
</article>{{end}}
</body></html>
`))
