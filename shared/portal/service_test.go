package portal_test

import (
	"context"
	"crypto/rand"
	"testing"

	"credportal/shared/portal"
	"credportal/shared/store"
)

// laggingIndex answers the by-email designation query as an index that has
// not yet caught up with a removal would.
type laggingIndex struct {
	*store.Store
	ghost portal.Designation
}

func (l laggingIndex) ListDesignationsOf(ctx context.Context, email, cursor string, limit int) (portal.Page[portal.Designation], error) {
	p, err := l.Store.ListDesignationsOf(ctx, email, cursor, limit)
	if err == nil && email == l.ghost.Email {
		p.Items = append(p.Items, l.ghost)
	}
	return p, err
}

func TestRemovedDesignationLeavesTheListAtOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	org := f.org(t, "Acme Ltd")
	kept, gone := f.app(t, org.ID, "Kept", "search-match"), f.app(t, org.ID, "Gone", "search-match")
	const who = "bob@acme.example"
	for _, a := range []portal.AdminApplication{kept, gone} {
		if _, err := f.admin.SetDesignation(ctx, admin, a.ID, who, portal.RoleViewer, request); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.admin.RemoveDesignation(ctx, admin, gone.ID, who, request); err != nil {
		t.Fatal(err)
	}
	lagging := laggingIndex{Store: f.store, ghost: portal.Designation{ApplicationID: gone.ID, Email: who, Role: portal.RoleViewer}}
	svc := portal.NewService(lagging, nil, portal.DefaultConfig(), clock(), rand.Reader)
	page, err := svc.ListApplications(ctx, portal.Caller{Email: who, Issuer: "https://issuer.test/", Subject: "bob"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].ID != kept.ID {
		t.Fatalf("listed %+v, want only %s", page.Items, kept.Name)
	}
}
