package httpapi

import "strings"

// Header reads a request header. The HTTP API lower-cases header names; a
// test or another front end may not, so any case is found.
func Header(req Request, name string) string {
	if v, ok := req.Headers[name]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
