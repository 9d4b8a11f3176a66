// Package webui serves the portal's web UI: an HTML page, its CSS and its
// JavaScript modules, embedded in the binary, /config.json, which tells the
// UI how to sign users in, and /openapi.json, the API's description
// (docs/openapi.json). Every response carries a strict
// Content-Security-Policy and the other security headers; assets live under a
// content-hashed path so they can be cached for a year.
package webui

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"

	"credportal/docs"
	"credportal/shared/httpapi"
)

//go:embed assets
var embedded embed.FS

// versionMarker in index.html is replaced by the assets' version.
const versionMarker = "{{VERSION}}"

type asset struct {
	body        string
	contentType string
	etag        string
	// gz is the body gzip-compressed, made on first use so that a cold
	// start does not pay for assets no one asks for.
	gz *compressed
}

// compressed is an asset's gzip form: base64-encoded (the HTTP API carries
// binary bodies so), or "" when compression does not pay.
type compressed struct {
	once sync.Once
	body string
	etag string
}

// gzipped returns the compressed body and its ETag, or "" when compression
// does not pay.
func (a asset) gzipped() (body, etag string) {
	a.gz.once.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write([]byte(a.body))
		_ = zw.Close()
		if buf.Len() < len(a.body)*9/10 {
			a.gz.body, a.gz.etag = base64.StdEncoding.EncodeToString(buf.Bytes()), strings.TrimSuffix(a.etag, `"`)+`-gz"`
		}
	})
	return a.gz.body, a.gz.etag
}

// Handler serves the UI. Build it once, at cold start, with New.
type Handler struct {
	version string
	index   asset
	config  asset
	openapi asset            // docs/openapi.json
	assets  map[string]asset // by file name under assets/
	headers map[string]string
}

// New builds the handler for cfg.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.SignInMode == ModeLocal {
		cfg.DemoUsers = DemoUsers
	} else {
		cfg.DemoUsers = nil
	}
	h := &Handler{assets: map[string]asset{}}
	var indexBody []byte
	sum := sha256.New()
	var names []string
	err := fs.WalkDir(embedded, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		names = append(names, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read embedded assets: %w", err)
	}
	sort.Strings(names)
	for _, p := range names {
		body, err := embedded.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		name := strings.TrimPrefix(p, "assets/")
		fmt.Fprintf(sum, "%s\x00%d\x00", name, len(body))
		sum.Write(body)
		if name == "index.html" {
			indexBody = body
			continue
		}
		h.assets[name] = newAsset(body, contentType(name))
	}
	h.version = hex.EncodeToString(sum.Sum(nil))[:16]
	h.index = newAsset(bytes.ReplaceAll(indexBody, []byte(versionMarker), []byte(h.version)), "text/html; charset=utf-8")
	if cfg.TrustedIssuers == nil {
		cfg.TrustedIssuers = []string{} // a list, even when empty
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	h.config = newAsset(cfgJSON, "application/json")
	h.openapi = newAsset([]byte(docs.OpenAPI), "application/json")
	h.headers = securityHeaders(cfg)
	return h, nil
}

func newAsset(body []byte, contentType string) asset {
	sum := sha256.Sum256(body)
	tag := hex.EncodeToString(sum[:12])
	return asset{body: string(body), contentType: contentType, etag: `"` + tag + `"`, gz: &compressed{}}
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Version is the content hash that asset URLs carry: /assets/<version>/<file>.
func (h *Handler) Version() string { return h.version }

// CSP builds the Content-Security-Policy for cfg: nothing but the portal's
// own scripts, styles and API, plus the issuer's token endpoint, which the
// browser calls to exchange the authorization code.
func CSP(cfg Config) string {
	connect := "'self'"
	if cfg.SignInMode == ModeOIDC {
		if o := origin(cfg.TokenEndpoint); o != "" {
			connect += " " + o
		}
	}
	if o := origin(cfg.APIBase); o != "" && !strings.Contains(connect, o) {
		connect += " " + o
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self' data:",
		"connect-src " + connect,
		"form-action 'self'",
		"frame-ancestors 'none'",
		"base-uri 'none'",
		"object-src 'none'",
		"require-trusted-types-for 'script'",
		"trusted-types 'none'",
	}, "; ")
}

func securityHeaders(cfg Config) map[string]string {
	return map[string]string{
		"Content-Security-Policy":      CSP(cfg),
		"X-Content-Type-Options":       "nosniff",
		"Referrer-Policy":              "no-referrer",
		"X-Frame-Options":              "DENY",
		"Strict-Transport-Security":    "max-age=63072000; includeSubDomains",
		"Cross-Origin-Opener-Policy":   "same-origin",
		"Cross-Origin-Resource-Policy": "same-origin",
		"Permissions-Policy":           "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
	}
}

// Cache policies.
const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
)

// Handle serves GET (and HEAD) of /, /applications/<id> (the page too),
// /config.json, /openapi.json and /assets/<version>/<file>.
func (h *Handler) Handle(_ context.Context, req httpapi.Request) (httpapi.Response, error) {
	method := req.RequestContext.HTTP.Method
	if method != http.MethodGet && method != http.MethodHead {
		return h.plain(http.StatusMethodNotAllowed, "Method not allowed.\n", map[string]string{"Allow": "GET, HEAD"}), nil
	}
	p := req.RawPath
	if p == "" {
		p = req.RequestContext.HTTP.Path
	}
	var (
		a     asset
		cache string
	)
	switch {
	case p == "/" || p == "/index.html" || isApplicationPath(p):
		a, cache = h.index, cacheRevalidate
	case p == "/config.json":
		a, cache = h.config, cacheRevalidate
	case p == "/openapi.json":
		a, cache = h.openapi, cacheRevalidate
	case strings.HasPrefix(p, "/assets/"):
		rest := req.PathParameters["proxy"]
		if rest == "" {
			rest = strings.TrimPrefix(p, "/assets/")
		}
		version, name, ok := strings.Cut(rest, "/")
		found := false
		if ok && version == h.version {
			a, found = h.assets[name]
		}
		if !found {
			return h.plain(http.StatusNotFound, "Not found.\n", nil), nil
		}
		cache = cacheImmutable
	default:
		return h.plain(http.StatusNotFound, "Not found.\n", nil), nil
	}
	headers := h.with(map[string]string{"Content-Type": a.contentType, "Cache-Control": cache, "ETag": a.etag, "Vary": "Accept-Encoding"})
	resp := httpapi.Response{StatusCode: http.StatusOK, Headers: headers, Body: a.body}
	if acceptsGzip(httpapi.Header(req, "accept-encoding")) {
		if body, etag := a.gzipped(); body != "" {
			headers["Content-Encoding"], headers["ETag"] = "gzip", etag
			resp.Body, resp.IsBase64Encoded = body, true
		}
	}
	if etagMatches(httpapi.Header(req, "if-none-match"), headers["ETag"]) {
		return httpapi.Response{StatusCode: http.StatusNotModified, Headers: headers}, nil
	}
	if method == http.MethodHead {
		resp.Body, resp.IsBase64Encoded = "", false
	}
	return resp, nil
}

// isApplicationPath matches /applications/<id>, the form of the links in
// emails: the page serves it, and the UI turns it into #/applications/<id>.
func isApplicationPath(p string) bool {
	id, ok := strings.CutPrefix(p, "/applications/")
	return ok && id != "" && !strings.ContainsAny(id, "/\\")
}

func (h *Handler) plain(status int, body string, extra map[string]string) httpapi.Response {
	headers := h.with(map[string]string{"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"})
	for k, v := range extra {
		headers[k] = v
	}
	return httpapi.Response{StatusCode: status, Headers: headers, Body: body}
}

func (h *Handler) with(extra map[string]string) map[string]string {
	out := make(map[string]string, len(h.headers)+len(extra))
	for k, v := range h.headers {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// acceptsGzip reads Accept-Encoding: gzip unless given q=0.
func acceptsGzip(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

func etagMatches(ifNoneMatch, etag string) bool {
	for _, t := range strings.Split(ifNoneMatch, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
