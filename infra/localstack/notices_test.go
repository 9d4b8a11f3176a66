package localstack

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"credportal/shared/store"
)

// securityNotices lists the emulator's security notices (they carry
// X-Portal-Event) as recipient → subjects.
func securityNotices(t *testing.T) map[string][]string {
	t.Helper()
	all, err := stack.Emulator.SentMail(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, m := range all {
		if m.Header.Get("X-Portal-Event") == "" {
			continue
		}
		// The demo data's changes were made by the seed.
		if strings.Contains(m.Text, "credportal-seed") {
			t.Errorf("a notice of the demo data went to %v: %q", m.Destination, m.Subject)
		}
		for _, to := range slices.Compact(slices.Sorted(slices.Values(m.Destination))) {
			out[to] = append(out[to], m.Subject)
		}
	}
	return out
}

// A change's security notice goes out from the outbox, as the table's
// stream makes it go in AWS: the stack invokes the notice sender under the
// runtime emulator, and the outbox is empty afterwards. Seeding the demo
// data mailed no one.
func TestNoticesLeaveTheOutbox(t *testing.T) {
	if _, ok := stack.Functions[NoticeFunction]; !ok {
		t.Fatalf("template.yaml has no %s", NoticeFunction)
	}
	alice := token(t, "alice@acme.example", false)
	appID := stack.Seeded.Applications["Acme Search"]
	r := call(t, http.MethodPost, "/v1/applications/"+appID+"/secrets", alice, "application/json", `{"name":"Notice test","lifetimeDays":30}`)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var created struct {
		ID string `json:"id"`
	}
	r.json(t, &created)
	if d := call(t, http.MethodDelete, "/v1/applications/"+appID+"/secrets/"+created.ID+"?confirm=true", alice, "", ""); d.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", d.status, d.body)
	}

	st := store.New(dynamodb.NewFromConfig(stack.Emulator.Config()), stack.TableName)
	want := []string{"Client secret created on Acme Search", "Client secret deleted on Acme Search"}
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := securityNotices(t)
		pending, err := st.PendingNotices(context.Background(), 10)
		if err != nil {
			t.Fatal(err)
		}
		done := len(pending) == 0
		for _, who := range []string{"alice@acme.example", "bob@acme.example"} {
			n := 0
			for _, s := range got[who] {
				if slices.Contains(want, s) {
					n++
				}
			}
			done = done && n >= 2
			if n > 2 {
				t.Fatalf("%s got %v, each notice once wanted", who, got[who])
			}
		}
		if done {
			if len(got["victor@acme.example"]) != 0 {
				t.Fatalf("the viewer got %v", got["victor@acme.example"])
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("notices %v, outbox %v, a minute after the changes", got, pending)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
