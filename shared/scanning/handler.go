package scanning

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"

	"credportal/shared/httpapi"
	"credportal/shared/portal"
	"credportal/shared/secret"
)

// Reporter is the actor name of GitHub's reports in the audit trail.
const Reporter = "secret-scanning:github"

// Header names of the signature, lower-cased as the HTTP API passes them.
const (
	HeaderKeyIdentifier = "github-public-key-identifier"
	HeaderSignature     = "github-public-key-signature"
)

// Verifier checks a report's signature; *Keys is one.
type Verifier interface {
	Verify(ctx context.Context, identifier, signature string, body []byte) error
}

var _ Verifier = (*Keys)(nil)

// Secrets finds a reported value among the portal's secrets, present or
// deleted, and acts on the leak. found is whether the value is or was one.
type Secrets interface {
	ReportLeak(ctx context.Context, leak portal.Leak) (found bool, err error)
}

// Handler serves POST /secret-scanning/github.
type Handler struct {
	Keys    Verifier
	Format  secret.Format // values not in this format are false positives, unread
	Secrets Secrets
}

// Serve verifies the report's signature over the raw body, then answers each
// match as a true or false positive, in order.
func (h Handler) Serve(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	feedback, err := h.serve(ctx, req)
	if err != nil {
		return httpapi.Error(ctx, err), nil
	}
	return httpapi.JSON(http.StatusOK, feedback), nil
}

func (h Handler) serve(ctx context.Context, req httpapi.Request) ([]Feedback, error) {
	body, err := rawBody(req)
	if err != nil {
		return nil, err
	}
	if err := h.Keys.Verify(ctx, httpapi.Header(req, HeaderKeyIdentifier), httpapi.Header(req, HeaderSignature), body); err != nil {
		switch {
		case errors.Is(err, ErrNoSignature):
			slog.WarnContext(ctx, "secret scanning report refused", "reason", "unsigned")
			return nil, httpapi.ErrReportUnsigned
		case errors.Is(err, ErrUnknownKey), errors.Is(err, ErrBadSignature):
			slog.WarnContext(ctx, "secret scanning report refused", "reason", err.Error(), "keyIdentifier", httpapi.Header(req, HeaderKeyIdentifier))
			return nil, httpapi.ErrReportSignature
		}
		return nil, err
	}
	matches, err := ParseReport(body)
	if err != nil {
		slog.WarnContext(ctx, "secret scanning report refused", "reason", err.Error())
		if errors.Is(err, ErrTooManyMatches) {
			return nil, httpapi.ErrReportTooMany
		}
		return nil, httpapi.ErrBadReport
	}
	out := make([]Feedback, len(matches))
	positives := 0
	for i, m := range matches {
		label, err := h.classify(ctx, m)
		if err != nil {
			return nil, err
		}
		if label == TruePositive {
			positives++
		}
		out[i] = FeedbackFor(m, label)
	}
	slog.InfoContext(ctx, "secret scanning report", "matches", len(matches), "truePositives", positives)
	return out, nil
}

// classify labels one match: a value not in the portal's format is a false
// positive without any storage access.
func (h Handler) classify(ctx context.Context, m Match) (Label, error) {
	if h.Format.Check(m.Token) != nil {
		return FalsePositive, nil
	}
	found, err := h.Secrets.ReportLeak(ctx, portal.Leak{Value: m.Token, Reporter: Reporter, URL: m.URL, Source: m.Source})
	if err != nil {
		return "", err
	}
	if found {
		return TruePositive, nil
	}
	return FalsePositive, nil
}

// rawBody is the body exactly as sent, which is what the signature covers.
func rawBody(req httpapi.Request) ([]byte, error) {
	if len(req.Body) > 2*MaxBodyBytes {
		return nil, httpapi.ErrReportTooLarge
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return nil, httpapi.ErrBadBody
		}
		body = b
	}
	if len(body) > MaxBodyBytes {
		return nil, httpapi.ErrReportTooLarge
	}
	return body, nil
}
