package config

import (
	"errors"
	"strings"

	"credportal/shared/federation"
	"credportal/shared/portal"
)

// Federation is the configuration of federated credentials: the issuers the
// portal trusts, from TRUSTED_ISSUERS (template parameter TrustedIssuers;
// https only) plus LOCAL_ISSUER (the local stack's loopback issuer, which
// only the local stack sets), and the default audience, the portal's token
// issuer identifier ISSUER.
type Federation struct {
	Trusted federation.Trusted
	Policy  portal.Federation
}

// LoadFederation reads Federation.
func LoadFederation(getenv Getenv) (Federation, error) {
	var errs []error
	trusted, err := federation.FromEnv(getenv)
	if err != nil {
		errs = append(errs, err)
	}
	audience := strings.TrimRight(getenv("ISSUER"), "/")
	if audience == "" {
		errs = append(errs, errors.New("ISSUER is not set"))
	}
	f := Federation{Trusted: trusted, Policy: portal.Federation{
		TrustedIssuers: trusted.List(), DefaultAudience: audience, Limit: portal.DefaultFederatedLimit,
	}}
	return f, errors.Join(errs...)
}
