// Package docs holds the portal's HTTP API description, openapi.json beside
// this file, so that the portal function can serve it and the tests can check
// every response against it.
package docs

import _ "embed" // for the go:embed below

// OpenAPI is docs/openapi.json: the OpenAPI 3.1 description of every route of
// template.yaml.
//
//go:embed openapi.json
var OpenAPI string
