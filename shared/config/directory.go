package config

import "errors"

// UserPool reads USER_POOL_ID: the stack's own Cognito user pool, or "" when
// people sign in with an external provider (template.yaml sets it only with
// the stack's own pool).
func UserPool(getenv Getenv) string { return getenv("USER_POOL_ID") }

// LoadInitialAdmin reads what the first admin's custom resource needs: the
// user pool, which must be set.
func LoadInitialAdmin(getenv Getenv) (string, error) {
	id := UserPool(getenv)
	if id == "" {
		return "", errors.New("USER_POOL_ID is not set")
	}
	return id, nil
}
