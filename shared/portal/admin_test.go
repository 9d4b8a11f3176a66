package portal_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"credportal/infra/emulator/emulatortest"
	"credportal/shared/audit"
	"credportal/shared/directory"
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
	emu := emulatortest.ForTest(t)
	st := store.New(dynamodb.NewFromConfig(emu.Config()), emulatortest.NewTable(t, emu))
	now := clock()
	return fixture{
		store:   st,
		admin:   portal.NewAdmin(st, portal.DefaultConfig(), now, rand.Reader, directory.None{}),
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
	none := []portal.Warning{{Code: "fewer_than_two_credential_managers",
		Message: "The application has 0 credential managers; designate at least two, so that someone can always rotate its secrets."}}
	one := []portal.Warning{{Code: "fewer_than_two_credential_managers",
		Message: "The application has 1 credential manager; designate at least two, so that someone can always rotate its secrets."}}
	if !reflect.DeepEqual(app.Warnings, none) {
		t.Fatalf("warnings = %q", app.Warnings)
	}

	got, err := f.admin.SetDesignation(ctx, admin, app.ID, "Alice@Acme.example", portal.RoleCredentialManager, request)
	if err != nil || len(got.Designations) != 1 || got.Designations[0] != (portal.DesignationView{Email: "alice@acme.example", Role: portal.RoleCredentialManager}) {
		t.Fatalf("SetDesignation = %+v, %v", got, err)
	}
	if !reflect.DeepEqual(got.Warnings, one) {
		t.Fatalf("one manager: warnings = %q", got.Warnings)
	}
	got, err = f.admin.SetDesignation(ctx, admin, app.ID, "bob@acme.example", portal.RoleCredentialManager, request)
	if err != nil || len(got.Designations) != 2 || len(got.Warnings) != 0 {
		t.Fatalf("two managers: %+v, %v", got, err)
	}
	got, err = f.admin.SetDesignation(ctx, admin, app.ID, "bob@acme.example", portal.RoleViewer, request)
	if err != nil || !reflect.DeepEqual(got.Warnings, one) {
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
	if _, err := f.admin.RemoveDesignation(ctx, admin, app.ID, "bob@acme.example", request); !errors.Is(err, portal.ErrDesignationNotFound) {
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
	again := portal.NewAdmin(f.store, portal.DefaultConfig(), func() time.Time { return t0 }, r, directory.None{})
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

func TestDesignationGrantsAndRevokesAccess(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	org := f.org(t, "Visible Ltd")
	app := f.app(t, org.ID, "Visible App", "match-connect")
	user := portal.Caller{Email: "newcomer@visible.example", Issuer: "https://issuer.test/", Subject: "newcomer"}

	listed := func() []string {
		t.Helper()
		p, err := f.service.ListApplications(ctx, user, "")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range p.Items {
			out = append(out, a.ID+"/"+string(a.Role))
		}
		return out
	}
	if got := listed(); len(got) != 0 {
		t.Fatalf("before designation: %v", got)
	}
	if _, err := f.service.GetApplication(ctx, user, app.ID); !errors.Is(err, portal.ErrNotFound) {
		t.Fatalf("GetApplication before designation: %v", err)
	}

	if _, err := f.admin.SetDesignation(ctx, admin, app.ID, "Newcomer@Visible.example", portal.RoleViewer, request); err != nil {
		t.Fatal(err)
	}
	if got := listed(); fmt.Sprint(got) != "["+app.ID+"/viewer]" {
		t.Fatalf("after designation: %v", got)
	}
	detail, err := f.service.GetApplication(ctx, user, app.ID)
	if err != nil || detail.Role != portal.RoleViewer || detail.ClientID != app.ClientID {
		t.Fatalf("GetApplication after designation = %+v, %v", detail, err)
	}

	if _, err := f.admin.RemoveDesignation(ctx, admin, app.ID, "newcomer@visible.example", request); err != nil {
		t.Fatal(err)
	}
	if got := listed(); len(got) != 0 {
		t.Fatalf("after removal: %v", got)
	}
	if _, err := f.service.GetApplication(ctx, user, app.ID); !errors.Is(err, portal.ErrApplicationNotFound) {
		t.Fatalf("GetApplication right after removal: %v", err)
	}
}

func TestConcurrentCreates(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	org := f.org(t, "Busy Ltd")

	t.Run("distinct names get distinct client ids", func(t *testing.T) {
		const n = 30
		var wg sync.WaitGroup
		apps := make([]portal.AdminApplication, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				apps[i], errs[i] = f.admin.CreateApplication(ctx, admin, org.ID,
					portal.ApplicationInput{Name: fmt.Sprintf("App %02d", i), APIs: []string{"search-match"}}, request)
			})
		}
		wg.Wait()
		seen := map[string]bool{}
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("create %d: %v", i, errs[i])
			}
			if !portal.ValidClientID(apps[i].ClientID) || seen[apps[i].ClientID] {
				t.Fatalf("client id %q of app %d is malformed or repeated", apps[i].ClientID, i)
			}
			seen[apps[i].ClientID] = true
		}
		for id := range seen {
			a, err := f.store.ApplicationByClientID(ctx, id)
			if err != nil || a.ClientID != id {
				t.Fatalf("ApplicationByClientID(%s) = %+v, %v", id, a, err)
			}
		}
	})

	t.Run("one name, one winner", func(t *testing.T) {
		const n = 12
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				// Names differing only in case are the same name.
				name := "Contested"
				if i%2 == 1 {
					name = "CONTESTED"
				}
				_, errs[i] = f.admin.CreateApplication(ctx, admin, org.ID, portal.ApplicationInput{Name: name, APIs: []string{"data-manager"}}, request)
			})
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, portal.ErrDuplicateApplication):
				if !errors.Is(err, portal.ErrConflict) {
					t.Errorf("create %d: %v is not a conflict", i, err)
				}
			default:
				t.Errorf("create %d: %v", i, err)
			}
		}
		if won != 1 {
			t.Fatalf("%d creates won, want exactly 1", won)
		}
	})
}

func TestAdminOnly(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	org := f.org(t, "Guarded Ltd")
	app := f.app(t, org.ID, "Guarded App", "search-match")
	if _, err := f.admin.SetDesignation(ctx, admin, app.ID, "manager@guarded.example", portal.RoleCredentialManager, request); err != nil {
		t.Fatal(err)
	}
	name := "Renamed"
	for _, c := range []portal.Caller{{Email: "manager@guarded.example"}, {Email: "nobody@guarded.example"}} {
		for op, call := range map[string]func() error{
			"APIs": func() error { _, err := f.admin.APIs(c); return err },
			"CreateOrganisation": func() error {
				_, err := f.admin.CreateOrganisation(ctx, c, portal.OrganisationInput{Name: "X", Country: "GB"}, request)
				return err
			},
			"ListOrganisations": func() error { _, err := f.admin.ListOrganisations(ctx, c, ""); return err },
			"CreateApplication": func() error {
				_, err := f.admin.CreateApplication(ctx, c, org.ID, portal.ApplicationInput{Name: "X", APIs: []string{"search-match"}}, request)
				return err
			},
			"UpdateApplication": func() error {
				_, err := f.admin.UpdateApplication(ctx, c, app.ID, portal.ApplicationPatch{Name: &name}, request)
				return err
			},
			"SetDesignation": func() error {
				_, err := f.admin.SetDesignation(ctx, c, app.ID, c.Email, portal.RoleCredentialManager, request)
				return err
			},
			"RemoveDesignation": func() error {
				_, err := f.admin.RemoveDesignation(ctx, c, app.ID, "manager@guarded.example", request)
				return err
			},
		} {
			if err := call(); !errors.Is(err, portal.ErrForbidden) || !errors.Is(err, portal.ErrAdminsOnly) {
				t.Errorf("%s as %s: %v, want forbidden", op, c.Email, err)
			}
		}
	}
	got, err := f.admin.UpdateApplication(ctx, admin, app.ID, portal.ApplicationPatch{}, request)
	if err != nil || got.Name != "Guarded App" || len(got.Designations) != 1 {
		t.Fatalf("nothing changed by non-admins: %+v, %v", got, err)
	}
}

func TestUnchangedWritesRecordNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	org := f.org(t, "Quiet Ltd")
	app := f.app(t, org.ID, "Quiet App", "search-match", "data-manager")
	if _, err := f.admin.SetDesignation(ctx, admin, app.ID, "m@quiet.example", portal.RoleCredentialManager, request); err != nil {
		t.Fatal(err)
	}
	same := app.Name
	reordered := []string{"search-match", "data-manager"}
	if _, err := f.admin.UpdateApplication(ctx, admin, app.ID, portal.ApplicationPatch{Name: &same, APIs: &reordered}, request); err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin.SetDesignation(ctx, admin, app.ID, "M@quiet.example", portal.RoleCredentialManager, request); err != nil {
		t.Fatal(err)
	}
	events, err := f.store.ListEvents(ctx, app.ID, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(events.Items) != 2 {
		t.Fatalf("%d events, want 2 (created, one designation)", len(events.Items))
	}
}

func TestCheckEmail(t *testing.T) {
	// 254 bytes: a 64-byte local part and a 189-byte domain of labels of at
	// most 63.
	longest := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 60) + "." + strings.Repeat("b", 60) + "." + strings.Repeat("b", 62) + ".test"
	for in, want := range map[string]string{
		"alice@acme.example":         "alice@acme.example",
		"Alice.Smith@ACME.example":   "alice.smith@acme.example",
		"a+tag@acme.example":         "a+tag@acme.example",
		"o'brien@acme.example":       "o'brien@acme.example",
		"":                           "",
		"alice":                      "",
		"alice@":                     "",
		"@acme.example":              "",
		"Alice <alice@acme.example>": "",
		"<alice@acme.example>":       "",
		" alice@acme.example":        "",
		"alice@acme.example ":        "",
		"alice@acme.example, b@c.d":  "",
		"alice@@acme.example":        "",
		"al ice@acme.example":        "",
		"alice@acme.example (work)":  "",
		`"alice smith"@acme.example`: "",
		"alice@acme..example":        "",
		// SES cannot deliver what it cannot write in ASCII: a non-ASCII
		// local part is refused, an internationalised domain converted.
		"zoë@acme.example":            "",
		"ZOË@acme.example":            "",
		"alice@bücher.example":        "alice@xn--bcher-kva.example",
		"alice@BÜCHER.example":        "alice@xn--bcher-kva.example",
		"alice@xn--bcher-kva.example": "alice@xn--bcher-kva.example",
		"alice@日本語.jp":                "alice@xn--wgv71a119e.jp",
		"alice@bücher":                "",
		"alice@xn--.example":          "",
		// Look-alikes: a Cyrillic а (U+0430) among Latin letters.
		"\u0430lice@acme.example":          "",
		"alice@\u0430cme.example":          "",
		"alice@p\u0430ypal.com":            "",
		"alice@\u0430\u0441\u0435.example": "alice@xn--80ak9a.example",
		longest:                            longest,
		longest + "x":                      "",
		strings.Repeat("a", 10) + "@" + strings.Repeat("b", 64) + ".test": "", // a label over 63
	} {
		got, err := portal.CheckEmail(in)
		if got != want || (want == "") != errors.Is(err, portal.ErrInvalidEmail) {
			t.Errorf("CheckEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestCountry(t *testing.T) {
	for in, want := range map[string]string{
		"GB": "GB", "gb": "GB", "De": "DE", "AX": "AX", "SS": "SS", "ZW": "ZW",
		"UK": "", "EU": "", "XK": "", "XX": "", "AN": "", "G": "", "GBR": "", "": "", "G B": "",
	} {
		got, ok := portal.Country(in)
		if ok != (want != "") || (ok && got != want) {
			t.Errorf("Country(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	n := 0
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			if _, ok := portal.Country(string([]rune{a, b})); ok {
				n++
			}
		}
	}
	if n != 249 {
		t.Fatalf("%d assigned codes, want 249", n)
	}
}

func TestValidClientID(t *testing.T) {
	for in, want := range map[string]bool{
		"abcdefghijklmnopqrstuvwx":  true,
		"234567abcdefghijklmnopqr":  true,
		"abcdefghijklmnopqrstuvw":   false,
		"abcdefghijklmnopqrstuvwxy": false,
		"ABCDEFGHIJKLMNOPQRSTUVWX":  false,
		"abcdefghijklmnopqrstuvw1":  false,
		"":                          false,
	} {
		if got := portal.ValidClientID(in); got != want {
			t.Errorf("ValidClientID(%q) = %v", in, got)
		}
	}
}

// FuzzCheckEmail checks that every address CheckEmail accepts is lower-case,
// bounded, a single plain address, and accepted again unchanged.
func FuzzCheckEmail(f *testing.F) {
	for _, seed := range []string{
		"alice@acme.example", "Alice <alice@acme.example>", "a+b@c.d", `"a b"@c.d`, "a@b", "a@[127.0.0.1]",
		"a@b.c (comment)", "a,b@c.d", "=?utf-8?q?a?=@b.c", "ü@example.com", "a@b.c\n", "",
		"a@bücher.example", "a@\u0430cme.example", "a@日本語.jp", "a@xn--bcher-kva.example", "a@ＡＣＭＥ.example",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := portal.CheckEmail(in)
		if err != nil {
			if out != "" || !errors.Is(err, portal.ErrInvalidEmail) {
				t.Fatalf("CheckEmail(%q) = %q, %v", in, out, err)
			}
			return
		}
		ascii := true
		for _, r := range in {
			ascii = ascii && r < 0x80
		}
		if ascii && out != strings.ToLower(in) || len(out) > portal.MaxEmailLen || strings.Count(out, "@") < 1 {
			t.Fatalf("CheckEmail(%q) = %q", in, out)
		}
		for _, r := range out {
			if r >= 0x80 {
				t.Fatalf("CheckEmail(%q) = %q is not ASCII", in, out)
			}
		}
		if strings.ContainsAny(out, " \t\r\n<>,;()") {
			t.Fatalf("CheckEmail(%q) = %q holds a separator", in, out)
		}
		for _, r := range out {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("CheckEmail(%q) = %q holds a control character", in, out)
			}
		}
		if again, err := portal.CheckEmail(out); err != nil || again != out {
			t.Fatalf("CheckEmail(%q) = %q, %v on the second pass", out, again, err)
		}
	})
}

func TestConcurrentUpdates(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	org := f.org(t, "Edited Ltd")
	app := f.app(t, org.ID, "Original", "search-match")

	t.Run("a stale write is refused", func(t *testing.T) {
		stale, err := f.store.GetApplication(ctx, app.ID)
		if err != nil {
			t.Fatal(err)
		}
		apis := []string{"data-manager"}
		if _, err := f.admin.UpdateApplication(ctx, admin, app.ID, portal.ApplicationPatch{APIs: &apis}, request); err != nil {
			t.Fatal(err)
		}
		ev := audit.Event{ID: "evt_01kmz3w9k2m4n6p8q0r2s4t6va", At: t0, Actor: admin.Email, Action: audit.ApplicationUpdated, ApplicationID: app.ID}
		err = f.store.UpdateApplication(ctx, stale, "Stale rename", stale.APIs, ev)
		if !errors.Is(err, portal.ErrConflict) || !errors.Is(err, portal.ErrConcurrentUpdate) {
			t.Fatalf("stale update: %v", err)
		}
		now, err := f.store.GetApplication(ctx, app.ID)
		if err != nil || now.Name != "Original" || fmt.Sprint(now.APIs) != "[data-manager]" {
			t.Fatalf("after the stale update: %+v, %v", now, err)
		}
	})

	t.Run("concurrent renames leave one name taken", func(t *testing.T) {
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				name := fmt.Sprintf("Rename %d", i)
				_, errs[i] = f.admin.UpdateApplication(ctx, admin, app.ID, portal.ApplicationPatch{Name: &name}, request)
			})
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, portal.ErrConcurrentUpdate):
			default:
				t.Errorf("rename %d: %v", i, err)
			}
		}
		final, err := f.store.GetApplication(ctx, app.ID)
		if err != nil || won == 0 {
			t.Fatalf("%d renames won; application %+v, %v", won, final, err)
		}
		// Every name but the final one is free again in the organisation.
		for i := range n {
			name := fmt.Sprintf("Rename %d", i)
			_, err := f.admin.CreateApplication(ctx, admin, org.ID, portal.ApplicationInput{Name: name, APIs: []string{"search-match"}}, request)
			if name == final.Name {
				if !errors.Is(err, portal.ErrDuplicateApplication) {
					t.Errorf("the final name %q is free: %v", name, err)
				}
			} else if err != nil {
				t.Errorf("name %q stayed taken: %v", name, err)
			}
		}
		if _, err := f.admin.CreateApplication(ctx, admin, org.ID, portal.ApplicationInput{Name: "Original", APIs: []string{"search-match"}}, request); err != nil {
			t.Errorf("the first name stayed taken: %v", err)
		}
	})
}
