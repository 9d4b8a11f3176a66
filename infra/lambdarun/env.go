package lambdarun

import (
	"fmt"
	"sort"

	"credportal/infra/template"
)

// Env resolves fn's environment from the template (globals merged) with the
// local values of resources and parameters, and adds what points the AWS SDK
// at the emulator: AWS_ENDPOINT_URL, the region and the function's own
// credentials (accessKey, which the emulator's IAM guard knows it by, as
// Lambda gives each function its execution role's).
func Env(t *template.Template, fn template.Function, l template.Locals, endpoint, region, accessKey string) (map[string]string, error) {
	out := map[string]string{
		"AWS_ENDPOINT_URL":      endpoint,
		"AWS_REGION":            region,
		"AWS_DEFAULT_REGION":    region,
		"AWS_ACCESS_KEY_ID":     accessKey,
		"AWS_SECRET_ACCESS_KEY": "local-" + fn.LogicalID,
	}
	names := make([]string, 0, len(fn.Env))
	for k := range fn.Env {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v, err := t.Resolve(fn.Env[k], l)
		if err != nil {
			return nil, fmt.Errorf("%s: environment %s: %w", fn.LogicalID, k, err)
		}
		out[k] = v
	}
	return out, nil
}
