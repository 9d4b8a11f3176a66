package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"credportal/shared/portal"
)

// TestCatalogue holds every entry to the rules a client relies on: the status
// is the one of the failure's kind, the code is snake_case, a message reads
// as a sentence whether or not the failure carries a value, and no failure
// is listed twice.
func TestCatalogue(t *testing.T) {
	kinds := []struct {
		kind   error
		status int
	}{
		{portal.ErrUnauthenticated, http.StatusUnauthorized},
		{portal.ErrInvalid, http.StatusBadRequest},
		{portal.ErrForbidden, http.StatusForbidden},
		{portal.ErrNotFound, http.StatusNotFound},
		{portal.ErrConflict, http.StatusConflict},
		{portal.ErrTooLarge, http.StatusRequestEntityTooLarge},
	}
	snake := regexp.MustCompile(`^[a-z]+(_[a-z0-9]+)*$`)
	seen := map[error]bool{}
	for _, e := range catalogue {
		if seen[e.err] {
			t.Errorf("%v is listed twice", e.err)
		}
		seen[e.err] = true
		status := 0
		for _, k := range kinds {
			if errors.Is(e.err, k.kind) {
				status = k.status
			}
		}
		if e.status != status {
			t.Errorf("%s: status %d, but its kind's is %d", e.code, e.status, status)
		}
		if !snake.MatchString(e.code) {
			t.Errorf("code %q is not snake_case", e.code)
		}
		valued := strings.Contains(e.message, "%")
		_, msg, ok := describe(&portal.Error{Err: e.err, Value: "value"})
		if !ok || strings.Contains(msg, "%!") || valued != strings.Contains(msg, "value") || !strings.HasSuffix(msg, ".") {
			t.Errorf("%s: message %q", e.code, msg)
		}
		if !valued {
			if _, bare, _ := describe(fmt.Errorf("context: %w", e.err)); bare != e.message {
				t.Errorf("%s: a wrapped failure reads %q", e.code, bare)
			}
		}
	}
}

// TestErrorResponses: a failure in the catalogue is told as it says, with its
// value; anything else is a bare 500 that shows nothing of the cause.
func TestErrorResponses(t *testing.T) {
	cases := []struct {
		name          string
		err           error
		status        int
		code, message string
	}{
		{"plain", portal.ErrSecretNotFound, 404, "secret_not_found", "No such client secret on this application."},
		{"wrapped", fmt.Errorf("delete: %w", portal.ErrRecentlyUsed), 409, "recently_used", "This client secret was used in the last 24 hours; repeat with confirm=true to delete it anyway."},
		{"with a value", &portal.Error{Err: portal.ErrUnknownAPI, Value: `x"y`}, 400, "unknown_api", `"x\"y" is not an API of the catalogue (GET /v1/admin/apis lists them).`},
		{"lifetime", &portal.Error{Err: portal.ErrLifetimeOutOfRange, Value: "90"}, 400, "invalid_lifetime", "The lifetime must be at least 1 day and at most 90 days."},
		{"a bare kind", fmt.Errorf("get application: %w", portal.ErrNotFound), 500, "internal_error", "Something went wrong on our side; try again later."},
		{"an AWS failure", errors.New("operation error DynamoDB: GetItem, secret-table-name"), 500, "internal_error", "Something went wrong on our side; try again later."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := Error(context.Background(), c.err)
			var body errorBody
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.status || body.Error.Code != c.code || body.Error.Message != c.message {
				t.Errorf("got %d %s %q", resp.StatusCode, body.Error.Code, body.Error.Message)
			}
		})
	}
}
