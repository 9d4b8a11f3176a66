package localstack

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"credportal/infra/template"
	"credportal/shared/httpapi"
)

// route is one HttpApi route of template.yaml and the function serving it.
type route struct {
	template.Route
	function string // logical id
}

// routes are the HttpApi routes of template.yaml, matched as API Gateway
// matches them.
type routes struct {
	router *httpapi.Router
	byKey  map[string]route
}

func newRoutes(fns []template.Function) (routes, error) {
	rs := routes{byKey: map[string]route{}}
	var keys []string
	for _, f := range fns {
		for _, r := range f.Routes {
			key := r.Method + " " + r.Path
			rs.byKey[key] = route{Route: r, function: f.LogicalID}
			keys = append(keys, key)
		}
	}
	var err error
	rs.router, err = httpapi.NewRouter(keys)
	return rs, err
}

// match finds the route of method and the raw (escaped) path, and the path
// parameters it binds.
func (rs routes) match(method, rawPath string) (route, map[string]string, bool) {
	key, params, ok := rs.router.Match(method, rawPath)
	if !ok {
		return route{}, nil, false
	}
	return rs.byKey[key], params, true
}

// event translates an HTTP request into the HTTP API's payload format 2.0.
func event(req *http.Request, r route, params map[string]string, body []byte, requestID string, now time.Time) events.APIGatewayV2HTTPRequest {
	routeKey := r.Method + " " + r.Path
	ev := events.APIGatewayV2HTTPRequest{
		// HTTP APIs deliver rawPath, like the path parameters, decoded.
		Version: "2.0", RouteKey: routeKey, RawPath: req.URL.Path, RawQueryString: req.URL.RawQuery,
		Headers: map[string]string{},
	}
	for name, values := range req.Header {
		name = strings.ToLower(name)
		if name == "cookie" {
			for _, v := range values {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						ev.Cookies = append(ev.Cookies, c)
					}
				}
			}
			continue
		}
		ev.Headers[name] = strings.Join(values, ",")
	}
	ev.Headers["host"] = req.Host
	if req.ContentLength > 0 && ev.Headers["content-length"] == "" {
		ev.Headers["content-length"] = strconv.FormatInt(req.ContentLength, 10)
	}
	sourceIP, _, _ := net.SplitHostPort(req.RemoteAddr)
	ev.Headers["x-forwarded-for"] = sourceIP
	ev.Headers["x-forwarded-proto"] = "http"
	if q := req.URL.Query(); len(q) > 0 {
		ev.QueryStringParameters = make(map[string]string, len(q))
		for k, v := range q {
			ev.QueryStringParameters[k] = strings.Join(v, ",")
		}
	}
	if len(params) > 0 {
		ev.PathParameters = params
	}
	host, _, _ := strings.Cut(req.Host, ":")
	ev.RequestContext = events.APIGatewayV2HTTPRequestContext{
		RouteKey: routeKey, AccountID: "123456789012", Stage: "$default", RequestID: requestID,
		APIID: "local", DomainName: host, DomainPrefix: strings.Split(host, ".")[0],
		Time: now.UTC().Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: now.UnixMilli(),
		HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
			Method: req.Method, Path: req.URL.Path, Protocol: req.Proto, SourceIP: sourceIP, UserAgent: req.UserAgent(),
		},
	}
	if len(body) > 0 {
		// A body that is not valid UTF-8 cannot travel as a JSON string
		// (encoding would turn its bytes into U+FFFD): it goes base64, as
		// API Gateway sends any body it does not pass as text.
		if textual(req.Header.Get("Content-Type")) && utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return ev
}

// textual reports whether API Gateway passes a body of this content type as
// text rather than base64.
func textual(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "json") || strings.HasSuffix(mt, "+json") ||
		strings.HasSuffix(mt, "xml") || mt == "application/javascript"
}

// writeResponse writes a function's answer as the HTTP API would: a payload
// 2.0 response object, or any other JSON value as a 200 JSON body; a function
// error or a malformed answer is a bare 500, and is returned to be logged.
func writeResponse(w http.ResponseWriter, out []byte) (failure string) {
	var probe map[string]json.RawMessage
	if json.Unmarshal(out, &probe) == nil {
		if _, failed := probe["errorMessage"]; failed {
			if _, typed := probe["errorType"]; typed {
				gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
				return "function error: " + string(out)
			}
		}
	}
	if _, ok := probe["statusCode"]; !ok {
		if !json.Valid(out) {
			gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
			return "malformed response: " + string(out)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
		return ""
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode < 100 || resp.StatusCode > 599 {
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return "malformed response: " + string(out)
	}
	h := w.Header()
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
			return "body is not base64"
		}
		body = b
	}
	if h.Get("Content-Type") == "" && len(body) > 0 {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
	return ""
}

// gatewayError is API Gateway's own error body.
func gatewayError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": message})
}

// readBody reads a request body up to API Gateway's 10 MB payload limit.
func readBody(req *http.Request) ([]byte, bool) {
	const limit = 10 << 20
	b, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	if err != nil || len(b) > limit {
		return nil, false
	}
	return b, true
}
