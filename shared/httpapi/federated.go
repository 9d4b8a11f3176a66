package httpapi

import (
	"context"
	"net/http"

	"credportal/shared/portal"
)

// FederatedAPI is the HTTP API of an application's federated credentials.
type FederatedAPI struct {
	Service  *portal.FederatedService
	Identity Identity
}

func (a FederatedAPI) handle(fn func(context.Context, Request, portal.Caller) (Response, error)) Handler {
	return API{Identity: a.Identity}.handle(fn)
}

// List serves GET /v1/applications/{applicationId}/federated-credentials.
func (a FederatedAPI) List() Handler {
	return a.handle(func(ctx context.Context, req Request, c portal.Caller) (Response, error) {
		list, err := a.Service.ListFederatedCredentials(ctx, c, req.PathParameters["applicationId"])
		if err != nil {
			return Response{}, err
		}
		return Page(portal.Page[portal.FederatedCredentialView]{Items: list}), nil
	})
}

// Create serves POST /v1/applications/{applicationId}/federated-credentials.
func (a FederatedAPI) Create() Handler {
	return a.handle(func(ctx context.Context, req Request, c portal.Caller) (Response, error) {
		var in portal.CreateFederatedInput
		if err := DecodeJSON(req, &in); err != nil {
			return Response{}, err
		}
		created, err := a.Service.CreateFederatedCredential(ctx, c, req.PathParameters["applicationId"], in, RequestOf(req))
		if err != nil {
			return Response{}, err
		}
		return JSON(http.StatusCreated, created), nil
	})
}

// Delete serves DELETE /v1/applications/{applicationId}/federated-credentials/{credentialId}.
func (a FederatedAPI) Delete() Handler {
	return a.handle(func(ctx context.Context, req Request, c portal.Caller) (Response, error) {
		err := a.Service.DeleteFederatedCredential(ctx, c, req.PathParameters["applicationId"], req.PathParameters["credentialId"], RequestOf(req))
		if err != nil {
			return Response{}, err
		}
		return NoContent(), nil
	})
}
