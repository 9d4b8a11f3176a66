package scanning

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"credportal/shared/httpapi"
)

// Bounds of one report.
const (
	// MaxBodyBytes bounds a report body; a larger one is refused unread.
	MaxBodyBytes = 512 << 10
	// MaxMatches bounds the matches of one report.
	MaxMatches = 500
	// MaxFieldBytes bounds each string of a match (a URL is the longest).
	MaxFieldBytes = 4096
)

// ErrMalformedReport is returned for a body that is not a report.
var ErrMalformedReport = errors.New("malformed report")

// ErrTooManyMatches is returned for a report holding more than MaxMatches.
var ErrTooManyMatches = errors.New("too many matches")

// Match is one reported value: the token found, the type (the pattern's name
// at the partner program), where it was found and in what kind of content.
type Match struct {
	Token  string `json:"token"`
	Type   string `json:"type"`
	URL    string `json:"url"`
	Source string `json:"source"`
}

// ParseReport reads a report body strictly: UTF-8 text holding a JSON array of
// 1 to MaxMatches objects with no field but token, type, url and source (in
// that case, each at most once), each a string no longer than MaxFieldBytes,
// token and type not empty; nothing after it.
func ParseReport(body []byte) ([]Match, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '[' {
		return nil, fmt.Errorf("%w: not a JSON array", ErrMalformedReport)
	}
	var matches []*Match
	if err := httpapi.CheckStrict(trimmed, &matches); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedReport, err)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&matches); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedReport, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the array", ErrMalformedReport)
	}
	if len(matches) == 0 {
		return nil, fmt.Errorf("%w: no matches", ErrMalformedReport)
	}
	if len(matches) > MaxMatches {
		return nil, fmt.Errorf("%w: %d, at most %d", ErrTooManyMatches, len(matches), MaxMatches)
	}
	out := make([]Match, len(matches))
	for i, m := range matches {
		if m == nil || m.Token == "" || m.Type == "" {
			return nil, fmt.Errorf("%w: match %d lacks a token or a type", ErrMalformedReport, i)
		}
		for _, f := range []string{m.Token, m.Type, m.URL, m.Source} {
			if len(f) > MaxFieldBytes {
				return nil, fmt.Errorf("%w: match %d has a field longer than %d bytes", ErrMalformedReport, i, MaxFieldBytes)
			}
		}
		out[i] = *m
	}
	return out, nil
}

// Label is the verdict on one match.
type Label string

// Labels of the feedback.
const (
	TruePositive  Label = "true_positive"
	FalsePositive Label = "false_positive"
)

// Feedback is the answer on one match, in the partner program's format: the
// token only as its SHA-256.
type Feedback struct {
	TokenHash string `json:"token_hash"`
	TokenType string `json:"token_type"`
	Label     Label  `json:"label"`
}

// FeedbackFor is the answer labelling m.
func FeedbackFor(m Match, label Label) Feedback {
	sum := sha256.Sum256([]byte(m.Token))
	return Feedback{TokenHash: hex.EncodeToString(sum[:]), TokenType: m.Type, Label: label}
}
