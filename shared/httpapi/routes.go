package httpapi

import (
	"context"
	"net/http"

	"credportal/shared/portal"
)

// API holds the handlers of the signed-in routes.
type API struct {
	Service  *portal.Service
	Identity Identity
}

// handle resolves the caller, then runs fn; errors become responses.
func (a API) handle(fn func(context.Context, Request, portal.Caller) (Response, error)) Handler {
	return func(ctx context.Context, req Request) (Response, error) {
		c, err := a.Identity.Caller(req)
		if err != nil {
			return Error(ctx, err), nil
		}
		resp, err := fn(ctx, req, c)
		if err != nil {
			return Error(ctx, err), nil
		}
		return resp, nil
	}
}

// Me serves GET /v1/me.
func (a API) Me() Handler {
	return a.handle(func(ctx context.Context, _ Request, c portal.Caller) (Response, error) {
		me, err := a.Service.Me(ctx, c)
		if err != nil {
			return Response{}, err
		}
		return JSON(http.StatusOK, me), nil
	})
}

// ListApplications serves GET /v1/applications.
func (a API) ListApplications() Handler {
	return a.handle(func(ctx context.Context, req Request, c portal.Caller) (Response, error) {
		p, err := a.Service.ListApplications(ctx, c, req.QueryStringParameters["cursor"])
		if err != nil {
			return Response{}, err
		}
		return Page(p), nil
	})
}

// GetApplication serves GET /v1/applications/{applicationId}.
func (a API) GetApplication() Handler {
	return a.handle(func(ctx context.Context, req Request, c portal.Caller) (Response, error) {
		d, err := a.Service.GetApplication(ctx, c, req.PathParameters["applicationId"])
		if err != nil {
			return Response{}, err
		}
		return JSON(http.StatusOK, d), nil
	})
}

// ListSecrets serves GET /v1/applications/{applicationId}/secrets.
func (a API) ListSecrets() Handler {
	return a.handle(func(ctx context.Context, req Request, c portal.Caller) (Response, error) {
		p, err := a.Service.ListSecrets(ctx, c, req.PathParameters["applicationId"], req.QueryStringParameters["cursor"])
		if err != nil {
			return Response{}, err
		}
		return Page(p), nil
	})
}

// CreateSecret serves POST /v1/applications/{applicationId}/secrets.
func (a API) CreateSecret() Handler {
	return a.handle(func(ctx context.Context, req Request, c portal.Caller) (Response, error) {
		var in portal.CreateSecretInput
		if err := DecodeJSON(req, &in); err != nil {
			return Response{}, err
		}
		created, err := a.Service.CreateSecret(ctx, c, req.PathParameters["applicationId"], in, RequestOf(req))
		if err != nil {
			return Response{}, err
		}
		return JSON(http.StatusCreated, created), nil
	})
}

// DeleteSecret serves DELETE /v1/applications/{applicationId}/secrets/{secretId}.
func (a API) DeleteSecret() Handler {
	return a.handle(func(ctx context.Context, req Request, c portal.Caller) (Response, error) {
		confirm, err := confirmed(req)
		if err != nil {
			return Response{}, err
		}
		err = a.Service.DeleteSecret(ctx, c, req.PathParameters["applicationId"], req.PathParameters["secretId"], confirm, RequestOf(req))
		if err != nil {
			return Response{}, err
		}
		return NoContent(), nil
	})
}

// ListKeys serves GET /v1/applications/{applicationId}/keys.
func (a API) ListKeys() Handler {
	return a.handle(func(ctx context.Context, req Request, c portal.Caller) (Response, error) {
		p, err := a.Service.ListKeys(ctx, c, req.PathParameters["applicationId"], req.QueryStringParameters["cursor"])
		if err != nil {
			return Response{}, err
		}
		return Page(p), nil
	})
}

// CreateKey serves POST /v1/applications/{applicationId}/keys.
func (a API) CreateKey() Handler {
	return a.handle(func(ctx context.Context, req Request, c portal.Caller) (Response, error) {
		var in portal.CreateKeyInput
		if err := DecodeJSON(req, &in); err != nil {
			return Response{}, err
		}
		created, err := a.Service.CreateKey(ctx, c, req.PathParameters["applicationId"], in, RequestOf(req))
		if err != nil {
			return Response{}, err
		}
		return JSON(http.StatusCreated, created), nil
	})
}

// DeleteKey serves DELETE /v1/applications/{applicationId}/keys/{keyId}.
func (a API) DeleteKey() Handler {
	return a.handle(func(ctx context.Context, req Request, c portal.Caller) (Response, error) {
		confirm, err := confirmed(req)
		if err != nil {
			return Response{}, err
		}
		if err := a.Service.DeleteKey(ctx, c, req.PathParameters["applicationId"], req.PathParameters["keyId"], confirm, RequestOf(req)); err != nil {
			return Response{}, err
		}
		return NoContent(), nil
	})
}

// confirmed reads the confirm query parameter of a delete.
func confirmed(req Request) (bool, error) {
	switch req.QueryStringParameters["confirm"] {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, errBadConfirm
}

// ListEvents serves GET /v1/applications/{applicationId}/audit.
func (a API) ListEvents() Handler {
	return a.handle(func(ctx context.Context, req Request, c portal.Caller) (Response, error) {
		p, err := a.Service.ListEvents(ctx, c, req.PathParameters["applicationId"], req.QueryStringParameters["cursor"])
		if err != nil {
			return Response{}, err
		}
		return Page(p), nil
	})
}
