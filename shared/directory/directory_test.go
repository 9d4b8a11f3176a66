package directory_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	cognito "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"credportal/infra/emulator/emulatortest"
	"credportal/shared/directory"
)

func TestMain(m *testing.M) { os.Exit(emulatortest.RunTests(m)) }

// newPool creates a user pool in the emulator as template.yaml's UserPool
// is (users sign in with their email), with the admin group.
func newPool(t *testing.T) (*cognito.Client, string) {
	t.Helper()
	c := cognito.NewFromConfig(emulatortest.ForTest(t).Config())
	out, err := c.CreateUserPool(context.Background(), &cognito.CreateUserPoolInput{
		PoolName:               aws.String(emulatortest.UniqueName("users-")),
		UsernameAttributes:     []types.UsernameAttributeType{types.UsernameAttributeTypeEmail},
		AutoVerifiedAttributes: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.UserPool.Id)
	if _, err := c.CreateGroup(context.Background(), &cognito.CreateGroupInput{UserPoolId: aws.String(id), GroupName: aws.String("portal-admins")}); err != nil {
		t.Fatal(err)
	}
	return c, id
}

// user reads a user's attributes and groups; nil when there is none.
func user(t *testing.T, c *cognito.Client, pool, email string) (map[string]string, []string) {
	t.Helper()
	ctx := context.Background()
	out, err := c.AdminGetUser(ctx, &cognito.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String(email)})
	var missing *types.UserNotFoundException
	if errors.As(err, &missing) {
		return nil, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string]string{}
	for _, a := range out.UserAttributes {
		attrs[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	groups, err := c.AdminListGroupsForUser(ctx, &cognito.AdminListGroupsForUserInput{UserPoolId: aws.String(pool), Username: aws.String(email)})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range groups.Groups {
		names = append(names, aws.ToString(g.GroupName))
	}
	return attrs, names
}

// Inviting creates a user with a verified email once; inviting again, or
// someone who has a user, creates nothing.
func TestInvite(t *testing.T) {
	ctx := context.Background()
	c, pool := newPool(t)
	p := directory.NewPool(c, pool)
	for i, want := range []bool{true, false} {
		created, err := p.Invite(ctx, "peter@initech.example")
		if err != nil || created != want {
			t.Fatalf("invite %d: created %v, %v", i, created, err)
		}
	}
	attrs, groups := user(t, c, pool, "peter@initech.example")
	if attrs["email"] != "peter@initech.example" || attrs["email_verified"] != "true" || len(groups) != 0 {
		t.Fatalf("user %v in %v", attrs, groups)
	}
	if created, err := (directory.None{}).Invite(ctx, "x@initech.example"); created || err != nil {
		t.Fatalf("an external provider's directory created a user: %v %v", created, err)
	}
}

// The first admin's custom resource: create makes the user and puts it in
// the admin group, update repeats nothing, a changed email adds the new
// admin and keeps the old, delete removes nobody.
func TestInitialAdmin(t *testing.T) {
	ctx := context.Background()
	c, pool := newPool(t)
	handler := directory.InitialAdmin(directory.NewPool(c, pool))
	props := map[string]any{"Email": "it-lead@registry.example", "Group": "portal-admins"}
	id, data, err := handler(ctx, cfn.Event{RequestType: cfn.RequestCreate, ResourceProperties: props})
	if err != nil || id != "initial-admin:it-lead@registry.example" || data["Created"] != true {
		t.Fatalf("create: %q %v %v", id, data, err)
	}
	if attrs, groups := user(t, c, pool, "it-lead@registry.example"); attrs["email_verified"] != "true" || !slices.Equal(groups, []string{"portal-admins"}) {
		t.Fatalf("the first admin: %v in %v", attrs, groups)
	}
	if again, data, err := handler(ctx, cfn.Event{RequestType: cfn.RequestUpdate, PhysicalResourceID: id, ResourceProperties: props}); err != nil || again != id || data["Created"] != false {
		t.Fatalf("update: %q %v %v", again, data, err)
	}
	next := map[string]any{"Email": "it-deputy@registry.example", "Group": "portal-admins"}
	if nextID, _, err := handler(ctx, cfn.Event{RequestType: cfn.RequestUpdate, PhysicalResourceID: id, ResourceProperties: next}); err != nil || nextID != "initial-admin:it-deputy@registry.example" {
		t.Fatalf("update to another email: %q %v", nextID, err)
	}
	if got, _, err := handler(ctx, cfn.Event{RequestType: cfn.RequestDelete, PhysicalResourceID: id, ResourceProperties: props}); err != nil || got != id {
		t.Fatalf("delete: %q %v", got, err)
	}
	for _, email := range []string{"it-lead@registry.example", "it-deputy@registry.example"} {
		if attrs, groups := user(t, c, pool, email); attrs == nil || !slices.Equal(groups, []string{"portal-admins"}) {
			t.Errorf("%s after the changes: %v in %v", email, attrs, groups)
		}
	}
	if _, _, err := handler(ctx, cfn.Event{RequestType: cfn.RequestCreate, ResourceProperties: map[string]any{"Group": "portal-admins"}}); err == nil {
		t.Error("a resource without Email succeeded")
	}
}

// Through the wrapper Lambda runs, CloudFormation hears SUCCESS with the
// physical id, or FAILED with the reason.
func TestInitialAdminAnswersCloudFormation(t *testing.T) {
	c, pool := newPool(t)
	var got []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		got = append(got, m)
	}))
	defer srv.Close()
	wrapped := cfn.LambdaWrap(directory.InitialAdmin(directory.NewPool(c, pool)))
	for _, props := range []map[string]any{{"Email": "ops@registry.example", "Group": "portal-admins"}, {"Email": "ops@registry.example", "Group": "no-such-group"}} {
		if _, err := wrapped(context.Background(), cfn.Event{RequestType: cfn.RequestCreate, RequestID: "r", ResponseURL: srv.URL, ResourceProperties: props}); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 2 || got[0]["Status"] != "SUCCESS" || got[0]["PhysicalResourceId"] != "initial-admin:ops@registry.example" || got[1]["Status"] != "FAILED" || got[1]["Reason"] == "" {
		t.Fatalf("responses %v", got)
	}
}
