package portal_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"credportal/infra/emulator"
	"credportal/shared/audit"
	"credportal/shared/portal"
	"credportal/shared/store"
)

var (
	t0      = time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)
	admin   = portal.Caller{Email: "admin@registry.example", Admin: true}
	request = portal.Request{SourceIP: "192.0.2.10", UserAgent: "admin-test", RequestID: "req-1"}
)

type fixture struct {
	store   *store.Store
	admin   *portal.Admin
	service *portal.Service
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	emu := emulator.ForTest(t)
	st := store.New(dynamodb.NewFromConfig(emu.Config()), emu.NewTable(t))
	now := clock()
	return fixture{
		store:   st,
		admin:   portal.NewAdmin(st, portal.DefaultConfig(), now, rand.Reader),
		service: portal.NewService(st, nil, portal.DefaultConfig(), now, rand.Reader),
	}
}

// clock ticks a second per reading, so audit events sort in the order made.
func clock() func() time.Time {
	var mu sync.Mutex
	at := t0
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		at = at.Add(time.Second)
		return at
	}
}

func (f fixture) org(t *testing.T, name string) portal.Organisation {
	t.Helper()
	o, err := f.admin.CreateOrganisation(context.Background(), admin, portal.OrganisationInput{Name: name, Country: "GB"}, request)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (f fixture) app(t *testing.T, orgID, name string, apis ...string) portal.AdminApplication {
	t.Helper()
	a, err := f.admin.CreateApplication(context.Background(), admin, orgID, portal.ApplicationInput{Name: name, APIs: apis}, request)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func code(err error) string {
	var pe *portal.Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	if err == nil {
		return ""
	}
	return "unexpected: " + err.Error()
}

func TestAdminLifecycle(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	org := f.org(t, "Acme Ltd")
	if org.Country != "GB" || org.Name != "Acme Ltd" || !org.CreatedAt.After(t0) {
		t.Fatalf("organisation = %+v", org)
	}
	app := f.app(t, org.ID, "Acme Search", "search-match", "match-connect")
	if !portal.ValidClientID(app.ClientID) || app.Organisation != (portal.OrganisationRef{ID: org.ID, Name: "Acme Ltd"}) {
		t.Fatalf("application = %+v", app)
	}
	if len(app.APIs) != 2 || app.APIs[0].ID != "match-connect" || app.APIs[1].ID != "search-match" {
		t.Fatalf("apis = %+v", app.APIs)
	}
	if len(app.Warnings) != 1 || !strings.HasPrefix(app.Warnings[0], "fewer_than_two_credential_managers: ") {
		t.Fatalf("warnings = %q", app.Warnings)
	}

	got, err := f.admin.SetDesignation(ctx, admin, app.ID, "Alice@Acme.example", portal.RoleCredentialManager, request)
	if err != nil || len(got.Designations) != 1 || got.Designations[0] != (portal.DesignationView{Email: "alice@acme.example", Role: portal.RoleCredentialManager}) {
		t.Fatalf("SetDesignation = %+v, %v", got, err)
	}
	if len(got.Warnings) != 1 {
		t.Fatalf("one manager: warnings = %q", got.Warnings)
	}
	got, err = f.admin.SetDesignation(ctx, admin, app.ID, "bob@acme.example", portal.RoleCredentialManager, request)
	if err != nil || len(got.Designations) != 2 || len(got.Warnings) != 0 {
		t.Fatalf("two managers: %+v, %v", got, err)
	}
	got, err = f.admin.SetDesignation(ctx, admin, app.ID, "bob@acme.example", portal.RoleViewer, request)
	if err != nil || len(got.Warnings) != 1 {
		t.Fatalf("manager turned viewer: %+v, %v", got, err)
	}

	name := "Acme Search v2"
	apis := []string{"search-match"}
	got, err = f.admin.UpdateApplication(ctx, admin, app.ID, portal.ApplicationPatch{Name: &name, APIs: &apis}, request)
	if err != nil || got.Name != name || len(got.APIs) != 1 || got.ClientID != app.ClientID || len(got.Designations) != 2 {
		t.Fatalf("UpdateApplication = %+v, %v", got, err)
	}

	got, err = f.admin.RemoveDesignation(ctx, admin, app.ID, "bob@acme.example", request)
	if err != nil || len(got.Designations) != 1 {
		t.Fatalf("RemoveDesignation = %+v, %v", got, err)
	}
	if _, err := f.admin.RemoveDesignation(ctx, admin, app.ID, "bob@acme.example", request); code(err) != "designation_not_found" {
		t.Fatalf("second removal: %v", err)
	}

	events, err := f.store.ListEvents(ctx, app.ID, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range events.Items {
		if ev.Actor != admin.Email || ev.SourceIP != request.SourceIP || ev.UserAgent != request.UserAgent || ev.RequestID != request.RequestID {
			t.Errorf("event %s lacks actor or request: %+v", ev.Action, ev)
		}
		actions = append(actions, ev.Action)
	}
	want := []string{audit.DesignationRemoved, audit.ApplicationUpdated, audit.DesignationSet, audit.DesignationSet, audit.DesignationSet, audit.ApplicationCreated}
	if fmt.Sprint(actions) != fmt.Sprint(want) {
		t.Fatalf("actions = %v, want %v", actions, want)
	}
	details := func(i int) string { return fmt.Sprint(events.Items[i].Details) }
	for i, want := range map[int]string{
		0: "map[email:bob@acme.example roleAfter: roleBefore:viewer]",
		1: "map[apisAfter:search-match apisBefore:match-connect,search-match nameAfter:Acme Search v2 nameBefore:Acme Search]",
		2: "map[email:bob@acme.example roleAfter:viewer roleBefore:credential_manager]",
		3: "map[email:bob@acme.example roleAfter:credential_manager roleBefore:]",
		5: "map[apis:match-connect,search-match clientId:" + app.ClientID + " name:Acme Search organisationId:" + org.ID + "]",
	} {
		if details(i) != want {
			t.Errorf("event %d (%s) details = %s, want %s", i, events.Items[i].Action, details(i), want)
		}
	}
}

// repeatOnce serves the first client-id-sized read from first, then real
// randomness: the first client id generated is the one given.
type repeatOnce struct {
	mu    sync.Mutex
	first []byte
	reads int
}

func (r *repeatOnce) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(p) == len(r.first) {
		r.reads++
		if r.reads == 1 {
			return copy(p, r.first), nil
		}
	}
	return rand.Read(p)
}

func TestClientIDCollisionRetries(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	org := f.org(t, "Collide Ltd")
	first := f.app(t, org.ID, "First", "data-manager")
	raw := decodeClientID(t, first.ClientID)

	r := &repeatOnce{first: raw}
	again := portal.NewAdmin(f.store, portal.DefaultConfig(), func() time.Time { return t0 }, r)
	second, err := again.CreateApplication(ctx, admin, org.ID, portal.ApplicationInput{Name: "Second", APIs: []string{"data-manager"}}, request)
	if err != nil {
		t.Fatal(err)
	}
	if second.ClientID == first.ClientID || !portal.ValidClientID(second.ClientID) || r.reads != 2 {
		t.Fatalf("second client id %q (first %q) after %d generations", second.ClientID, first.ClientID, r.reads)
	}
	byClient, err := f.store.ApplicationByClientID(ctx, first.ClientID)
	if err != nil || byClient.ID != first.ID {
		t.Fatalf("first client id now names %+v, %v", byClient, err)
	}
}

func decodeClientID(t *testing.T, id string) []byte {
	t.Helper()
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	var out []byte
	var acc, bits uint
	for _, c := range id {
		acc = acc<<5 | uint(strings.IndexRune(alphabet, c))
		bits += 5
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
	}
	return out
}

var _ io.Reader = (*repeatOnce)(nil)
