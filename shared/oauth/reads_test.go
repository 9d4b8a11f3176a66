package oauth_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"credportal/shared/ids"
	"credportal/shared/oauth"
	"credportal/shared/secret"
)

// reads records the keys and consistency of the GetItem requests a client
// sends.
type reads struct {
	mu   sync.Mutex
	keys []string
}

func (r *reads) watch(f *fixture) {
	f.calls.SetFault(func(params any) error {
		if in, ok := params.(*dynamodb.GetItemInput); ok {
			pk := in.Key["PK"].(*types.AttributeValueMemberS).Value
			r.mu.Lock()
			kind, _, _ := strings.Cut(pk, "#")
			r.keys = append(r.keys, fmt.Sprintf("%s consistent=%v", kind, aws.ToBool(in.ConsistentRead)))
			r.mu.Unlock()
		}
		return nil
	})
}

func (r *reads) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := r.keys
	r.keys = nil
	return k
}

func TestDynamoDBRequestsPerTokenRequest(t *testing.T) {
	f := newFixture(t, oauth.ThrottlePolicy{Failures: 3, Window: 5 * time.Minute, Lockout: 15 * time.Minute})
	app := f.app("Search", "search-match")
	value, _ := f.secret(app, 30)
	wrong := wellFormedWrong(t)
	var r reads
	r.watch(f)
	tokenOf(t, f.call(basicRequest(app.ClientID, value, ""))) // the first use writes lastUsedAt
	f.calls.Reset()
	r.take()

	cases := []struct {
		name   string
		req    tokenRequest
		status int
		want   map[string]int
		gets   []string
	}{
		{"success", basicRequest(app.ClientID, value, ""), 200,
			map[string]int{"GetItem": 1}, []string{"CLIENT consistent=true"}},
		{"success, client_secret_post", postRequest(app.ClientID, value, ""), 200,
			map[string]int{"GetItem": 1}, []string{"CLIENT consistent=true"}},
		{"wrong secret", basicRequest(app.ClientID, wrong, ""), 401,
			map[string]int{"GetItem": 2, "UpdateItem": 1}, []string{"CLIENT consistent=true", "THROTTLE consistent=true"}},
		{"unknown client id", basicRequest(newClientID(t), value, ""), 401,
			map[string]int{"GetItem": 2, "UpdateItem": 1}, []string{"CLIENT consistent=true", "THROTTLE consistent=true"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if resp := f.call(c.req); resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, resp.Body)
			}
			if got := f.calls.Reset(); !maps.Equal(got, c.want) {
				t.Fatalf("requests %v, want %v", got, c.want)
			}
			if got := r.take(); !slices.Equal(got, c.gets) {
				t.Fatalf("reads %v, want %v", got, c.gets)
			}
		})
	}
	t.Run("the third failure locks; a locked failure reads and writes nothing more", func(t *testing.T) {
		f.call(basicRequest(app.ClientID, wrong, ""))
		if resp := f.call(basicRequest(app.ClientID, wrong, "")); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("third failure: %d", resp.StatusCode)
		}
		f.calls.Reset()
		if resp := f.call(basicRequest(app.ClientID, wrong, "")); resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("locked failure: %d", resp.StatusCode)
		}
		if got := f.calls.Reset(); !maps.Equal(got, map[string]int{"GetItem": 2}) {
			t.Fatalf("requests %v", got)
		}
		// And a success while locked is still one read.
		tokenOf(t, f.call(basicRequest(app.ClientID, value, "")))
		if got := f.calls.Reset(); !maps.Equal(got, map[string]int{"GetItem": 1}) {
			t.Fatalf("requests of a success while locked %v", got)
		}
	})
}

// Items written as the portal wrote them before client items held the
// secrets keep working, and after the migration cost one read.
func TestTokensAcrossTheClientMigration(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, lenient())
	pepper, err := f.peppers.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	value, err := secret.Format{Prefix: secret.DefaultPrefix}.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	appID, secretID, clientID := newID(t, ids.Application), newID(t, ids.Secret), newClientID(t)
	expires := t0.Add(30 * 24 * time.Hour)
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	for _, item := range []map[string]types.AttributeValue{
		{"PK": s("APP#" + appID), "SK": s("APP"), "GSI1PK": s("APPS"), "GSI1SK": s("APP#" + appID), "Type": s("application"),
			"ID": s(appID), "Name": s("Old Search"), "ClientID": s(clientID), "OrgID": s(newID(t, ids.Organisation)), "OrgName": s("Acme"),
			"APIs": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("search-match")}}, "CreatedAt": s(t0.Format(time.RFC3339Nano)),
			"Secrets": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{secretID: s(expires.Format(time.RFC3339Nano))}},
			"Version": &types.AttributeValueMemberN{Value: "1"}},
		{"PK": s("CLIENT#" + clientID), "SK": s("CLIENT"), "Type": s("client"), "AppID": s(appID)},
		{"PK": s("APP#" + appID), "SK": s("SECRET#" + secretID), "Type": s("secret"), "ID": s(secretID), "AppID": s(appID),
			"Name": s("Old"), "Hint": s(value[4:7]), "Hash": &types.AttributeValueMemberB{Value: secret.Digest(pepper.Key, value)},
			"PepperVersion": s(pepper.Version), "CreatedAt": s(t0.Format(time.RFC3339Nano)), "CreatedBy": s("m@partner.test"),
			"ExpiresAt": s(expires.Format(time.RFC3339Nano)), "ExpiryDay": s(expires.Format(time.DateOnly)),
			"ExpiryKey": s(expires.Format(time.RFC3339) + "#" + appID + "#" + secretID)},
	} {
		if _, err := f.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(f.table), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	f.calls.Reset()
	tokenOf(t, f.call(basicRequest(clientID, value, "")))
	if got := f.calls.Reset(); got["GetItem"] != 2 || got["BatchGetItem"] != 1 {
		t.Fatalf("requests on the old layout %v", got)
	}
	if _, err := f.st.MigrateClients(ctx); err != nil {
		t.Fatal(err)
	}
	f.calls.Reset()
	f.clock.Add(time.Minute) // lastUsedAt was written a minute ago
	tokenOf(t, f.call(basicRequest(clientID, value, "")))
	if got := f.calls.Reset(); !maps.Equal(got, map[string]int{"GetItem": 1}) {
		t.Fatalf("requests after the migration %v", got)
	}
	if resp := f.call(basicRequest(clientID, wellFormedWrong(t), "")); resp.StatusCode != 401 {
		t.Fatalf("a wrong secret after the migration: %d", resp.StatusCode)
	}
}
