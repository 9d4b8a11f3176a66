package oauth_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"credportal/shared/audit"
	"credportal/shared/oauth"
	"credportal/shared/portal"
)

// wellFormedWrong is a secret that passes the format check and matches
// nothing.
func wellFormedWrong(t *testing.T) string {
	t.Helper()
	v, err := oauth.DefaultConfig("").Format.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// throttledOf checks a throttled answer: 429, error invalid_client,
// Retry-After of want seconds, and no WWW-Authenticate (that belongs to 401).
func throttledOf(t *testing.T, resp oauth.Response, want int) {
	t.Helper()
	if resp.StatusCode != http.StatusTooManyRequests || errorOf(t, resp) != oauth.CodeInvalidClient {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	if got, err := strconv.Atoi(resp.Headers["Retry-After"]); err != nil || got != want {
		t.Fatalf("Retry-After %q, want %d", resp.Headers["Retry-After"], want)
	}
	if resp.Headers["Cache-Control"] != "no-store" {
		t.Fatalf("headers %v", resp.Headers)
	}
}

func TestThrottling(t *testing.T) {
	f := newFixture(t, oauth.DefaultThrottle())
	app := f.app("Search", "search-match")
	value, _ := f.secret(app, 30)
	wrong := wellFormedWrong(t)
	const other = "203.0.113.50"
	start := t0.Add(time.Minute) // inside one failure window
	f.clock.Set(start)

	// Ten failures from one address: each is a plain 401; the tenth starts
	// the lockout of that address for this client id.
	for i := 1; i <= 10; i++ {
		if resp := f.call(basicRequest(app.ClientID, wrong, "")); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d %s", i, resp.StatusCode, resp.Body)
		}
		f.clock.Add(time.Second)
	}
	until := start.Add(9 * time.Second).Add(15 * time.Minute)

	t.Run("further failures from that address get 429 with Retry-After", func(t *testing.T) {
		for i := 11; i <= 20; i++ {
			throttledOf(t, f.call(basicRequest(app.ClientID, wrong, "")), int(until.Sub(f.clock.Now())/time.Second))
			f.clock.Add(time.Second)
		}
	})
	t.Run("the correct secret still gets its token after 20 bad attempts", func(t *testing.T) {
		tokenOf(t, f.call(basicRequest(app.ClientID, value, "")))
		tokenOf(t, f.call(postRequest(app.ClientID, value, "")))
	})
	t.Run("another address is not locked", func(t *testing.T) {
		if resp := f.callFrom(other, nil, basicRequest(app.ClientID, wrong, "")); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d %s", resp.StatusCode, resp.Body)
		}
		tokenOf(t, f.callFrom(other, nil, basicRequest(app.ClientID, value, "")))
	})
	t.Run("one audit event for the lockout, without the secret", func(t *testing.T) {
		evs := f.events(app.ID, audit.TokenFailures)
		if len(evs) != 1 {
			t.Fatalf("token.failures events: %d", len(evs))
		}
		raw, _ := json.Marshal(evs[0])
		if strings.Contains(string(raw), wrong) || strings.Contains(string(raw), value) || evs[0].SourceIP != sourceIP || evs[0].Details["failures"] != "10" {
			t.Fatalf("event %s", raw)
		}
	})
	t.Run("the lockout ends on time", func(t *testing.T) {
		f.clock.Set(until.Add(-time.Second))
		throttledOf(t, f.call(basicRequest(app.ClientID, wrong, "")), 1)
		f.clock.Set(until)
		if resp := f.call(basicRequest(app.ClientID, wrong, "")); resp.StatusCode != http.StatusUnauthorized || resp.Headers["Retry-After"] != "" {
			t.Fatalf("after the lockout: %d %v", resp.StatusCode, resp.Headers)
		}
	})
}

func TestAnotherAddressCannotLockThisOne(t *testing.T) {
	f := newFixture(t, oauth.DefaultThrottle())
	app := f.app("Search", "search-match")
	value, _ := f.secret(app, 30)
	wrong := wellFormedWrong(t)
	f.clock.Set(t0.Add(time.Minute))
	for i := range 20 {
		resp := f.callFrom("203.0.113.50", nil, basicRequest(app.ClientID, wrong, ""))
		if want := map[bool]int{true: 401, false: 429}[i < 10]; resp.StatusCode != want {
			t.Fatalf("attacker's attempt %d: %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	// The owner, from its own address, mistypes once and then succeeds.
	if resp := f.call(basicRequest(app.ClientID, wrong, "")); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the owner's failure: %d %s", resp.StatusCode, resp.Body)
	}
	tokenOf(t, f.call(basicRequest(app.ClientID, value, "")))
}

// A success does not clear the window's count, and counts decay by window.
func TestThrottleWindows(t *testing.T) {
	f := newFixture(t, oauth.ThrottlePolicy{Failures: 3, Window: 5 * time.Minute, Lockout: 10 * time.Minute})
	a := f.app("Search", "search-match")
	v, _ := f.secret(a, 30)
	wrong := wellFormedWrong(t)
	f.clock.Set(t0.Add(time.Minute))
	steps := []struct {
		secret string
		status int
	}{{wrong, 401}, {wrong, 401}, {v, 200}, {wrong, 401}, {v, 200}, {wrong, 429}}
	for i, s := range steps {
		if resp := f.call(basicRequest(a.ClientID, s.secret, "")); resp.StatusCode != s.status {
			t.Fatalf("step %d: status %d, want %d", i, resp.StatusCode, s.status)
		}
	}
	f.clock.Add(15 * time.Minute)
	for i, s := range []int{401, 401, 200} {
		secret := wrong
		if s == 200 {
			secret = v
		}
		if resp := f.call(basicRequest(a.ClientID, secret, "")); resp.StatusCode != s {
			t.Fatalf("after the lockout, step %d: %d", i, resp.StatusCode)
		}
	}
}

func TestUnknownClientIDsAreThrottledPerAddressOnly(t *testing.T) {
	f := newFixture(t, oauth.ThrottlePolicy{Failures: 3, Window: 5 * time.Minute, Lockout: 10 * time.Minute})
	app := f.app("Search", "search-match")
	value, _ := f.secret(app, 30)
	unknown := newClientID(t)
	for i, want := range []int{401, 401, 401, 429, 429} {
		if resp := f.call(basicRequest(unknown, value, "")); resp.StatusCode != want {
			t.Fatalf("attempt %d: %d, want %d", i, resp.StatusCode, want)
		}
	}
	// Other unknown ids from the same address share its count.
	throttledOf(t, f.call(basicRequest(newClientID(t), value, "")), int((10 * time.Minute).Seconds()))
	// Another address is not affected, and neither is a known client.
	if resp := f.callFrom("203.0.113.50", nil, basicRequest(unknown, value, "")); resp.StatusCode != 401 {
		t.Fatalf("another address: %d", resp.StatusCode)
	}
	tokenOf(t, f.call(basicRequest(app.ClientID, value, "")))

	f.calls.Reset()
	f.call(basicRequest(unknown, value, ""))
	if n := f.calls.Reset(); n["TransactWriteItems"] != 0 || n["PutItem"] != 0 {
		t.Fatalf("writes for an unknown client id: %v", n)
	}
	out, err := f.db.Query(context.Background(), &dynamodb.QueryInput{
		TableName: aws.String(f.table), KeyConditionExpression: aws.String("PK = :pk"), ConsistentRead: aws.Bool(true),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "THROTTLE#" + unknown}},
	})
	if err != nil || len(out.Items) != 0 {
		t.Fatalf("records of the unknown client id: %d, %v", len(out.Items), err)
	}
}

func TestViewerAddressBehindCloudFront(t *testing.T) {
	const edge = "130.176.0.1" // one CloudFront edge, for every viewer
	viewer := func(addr string) map[string]string { return map[string]string{"cloudfront-viewer-address": addr} }
	policy := oauth.ThrottlePolicy{Failures: 3, Window: 5 * time.Minute, Lockout: 10 * time.Minute}

	t.Run("trusted when the API accepts CloudFront alone", func(t *testing.T) {
		f := newFixtureWith(t, func(c *oauth.Config) { c.Throttle, c.ViewerAddress = policy, true })
		app := f.app("Search", "search-match")
		wrong := wellFormedWrong(t)
		for range 3 {
			f.callFrom(edge, viewer("198.51.100.20:40001"), basicRequest(app.ClientID, wrong, ""))
		}
		throttledOf(t, f.callFrom(edge, viewer("198.51.100.20:40002"), basicRequest(app.ClientID, wrong, "")), 600)
		// Another viewer behind the same edge is not locked.
		if resp := f.callFrom(edge, viewer("[2001:db8::7]:443"), basicRequest(app.ClientID, wrong, "")); resp.StatusCode != 401 {
			t.Fatalf("another viewer: %d", resp.StatusCode)
		}
		if resp := f.callFrom(edge, viewer("2001:db8::8:443"), basicRequest(app.ClientID, wrong, "")); resp.StatusCode != 401 {
			t.Fatalf("another viewer: %d", resp.StatusCode)
		}
		evs := f.events(app.ID, audit.TokenFailures)
		if len(evs) != 1 || evs[0].SourceIP != "198.51.100.20" {
			t.Fatalf("events %+v", evs)
		}
	})
	t.Run("ignored otherwise, so a client cannot choose its address", func(t *testing.T) {
		f := newFixture(t, policy)
		app := f.app("Search", "search-match")
		wrong := wellFormedWrong(t)
		for i := range 3 {
			f.callFrom(sourceIP, viewer("198.51.100."+strconv.Itoa(i+1)+":40001"), basicRequest(app.ClientID, wrong, ""))
		}
		throttledOf(t, f.callFrom(sourceIP, viewer("198.51.100.99:40001"), basicRequest(app.ClientID, wrong, "")), 600)
	})
}

// A User-Agent is kept at most portal.MaxUserAgent characters long, however
// long the attacker's: the lockout's audit event holds 200 of 8,000.
func TestUserAgentBounded(t *testing.T) {
	f := newFixture(t, oauth.DefaultThrottle())
	app := f.app("Search", "search-match")
	wrong := wellFormedWrong(t)
	f.clock.Set(t0.Add(time.Minute))
	long := strings.Repeat("é", 8000)
	for i := 1; i <= 10; i++ {
		f.callFrom(sourceIP, map[string]string{"user-agent": long}, basicRequest(app.ClientID, wrong, ""))
		f.clock.Add(time.Second)
	}
	evs := f.events(app.ID, audit.TokenFailures)
	if len(evs) != 1 {
		t.Fatalf("token.failures events: %d", len(evs))
	}
	if evs[0].UserAgent != strings.Repeat("é", portal.MaxUserAgent) {
		t.Fatalf("user agent of %d characters", len([]rune(evs[0].UserAgent)))
	}
}
