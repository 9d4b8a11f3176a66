// Package directory is the stack's own user directory, its Cognito user
// pool, when the portal signs people in with it: the first admin, and a user
// (invited by email) for each person designated who has none yet. With an
// external sign-in provider the portal creates nobody (None).
package directory

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	cognito "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// Cognito is the part of the Cognito user pools client the directory uses.
type Cognito interface {
	AdminGetUser(context.Context, *cognito.AdminGetUserInput, ...func(*cognito.Options)) (*cognito.AdminGetUserOutput, error)
	AdminCreateUser(context.Context, *cognito.AdminCreateUserInput, ...func(*cognito.Options)) (*cognito.AdminCreateUserOutput, error)
	AdminAddUserToGroup(context.Context, *cognito.AdminAddUserToGroupInput, ...func(*cognito.Options)) (*cognito.AdminAddUserToGroupOutput, error)
}

var _ Cognito = (*cognito.Client)(nil)

// Directory gives a person a user to sign in with.
type Directory interface {
	// Invite makes sure email has a user, creating one and sending its
	// invitation when it has none; it reports whether it created one.
	Invite(ctx context.Context, email string) (bool, error)
}

// None is the directory of an external sign-in provider: people have their
// users there, and the portal creates nobody.
type None struct{}

// Invite creates nobody.
func (None) Invite(context.Context, string) (bool, error) { return false, nil }

// Pool is the stack's Cognito user pool. Its users sign in with their email
// address (the pool's username attribute).
type Pool struct {
	c  Cognito
	id string
}

var (
	_ Directory = (*Pool)(nil)
	_ Directory = None{}
)

// NewPool is the user pool id, reached through c.
func NewPool(c Cognito, userPoolID string) *Pool { return &Pool{c: c, id: userPoolID} }

// Invite implements Directory. The user is created with email_verified, as
// the address is the one an admin designated (and the portal's identity
// rule takes the pool's tokens as verified); Cognito emails the invitation,
// with a temporary password, through the portal's SES identity.
func (p *Pool) Invite(ctx context.Context, email string) (bool, error) {
	_, err := p.c.AdminGetUser(ctx, &cognito.AdminGetUserInput{UserPoolId: aws.String(p.id), Username: aws.String(email)})
	var missing *types.UserNotFoundException
	switch {
	case err == nil:
		return false, nil
	case !errors.As(err, &missing):
		return false, fmt.Errorf("look up user %s: %w", email, err)
	}
	_, err = p.c.AdminCreateUser(ctx, &cognito.AdminCreateUserInput{
		UserPoolId: aws.String(p.id), Username: aws.String(email),
		UserAttributes: []types.AttributeType{
			{Name: aws.String("email"), Value: aws.String(email)},
			{Name: aws.String("email_verified"), Value: aws.String("true")},
		},
		DesiredDeliveryMediums: []types.DeliveryMediumType{types.DeliveryMediumTypeEmail},
	})
	var exists *types.UsernameExistsException
	if errors.As(err, &exists) {
		return false, nil // created meanwhile
	}
	if err != nil {
		return false, fmt.Errorf("create user %s: %w", email, err)
	}
	return true, nil
}

// AddToGroup puts email's user in group; it is in it already is no error.
func (p *Pool) AddToGroup(ctx context.Context, email, group string) error {
	_, err := p.c.AdminAddUserToGroup(ctx, &cognito.AdminAddUserToGroupInput{
		UserPoolId: aws.String(p.id), Username: aws.String(email), GroupName: aws.String(group),
	})
	if err != nil {
		return fmt.Errorf("add %s to group %s: %w", email, group, err)
	}
	return nil
}

// InitialAdmin is the CloudFormation custom resource that makes the
// resource's Email property the first admin: on create and update, a user
// (invited, unless it exists) in the Group property's group; on delete,
// nothing, as deleting the stack must not take anyone's access away
// (the user pool goes with the stack anyway). Repeating a request changes
// nothing more.
func InitialAdmin(p *Pool) cfn.CustomResourceFunction {
	return func(ctx context.Context, ev cfn.Event) (string, map[string]any, error) {
		email, _ := ev.ResourceProperties["Email"].(string)
		group, _ := ev.ResourceProperties["Group"].(string)
		id := "initial-admin:" + email
		if ev.RequestType == cfn.RequestDelete {
			return ev.PhysicalResourceID, nil, nil
		}
		if email == "" || group == "" {
			return id, nil, errors.New("the InitialAdmin resource needs its Email and Group properties")
		}
		created, err := p.Invite(ctx, email)
		if err != nil {
			return id, nil, err
		}
		if err := p.AddToGroup(ctx, email, group); err != nil {
			return id, nil, err
		}
		return id, map[string]any{"Created": created}, nil
	}
}
