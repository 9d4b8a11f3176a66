package emulator

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// Authorizer decides whether the emulator serves a request, as IAM decides
// in AWS before a service sees it. moto evaluates no policy, so without one
// the local stack would be kinder than AWS.
type Authorizer interface {
	// Authorize returns nil to serve the request, or the answer AWS would
	// give instead. body is the request's whole body.
	Authorize(r *http.Request, body []byte) *Refusal
}

// Refusal is the HTTP answer to a request an Authorizer refused.
type Refusal struct {
	Status int
	Header http.Header
	Body   []byte
}

// SetAuthorizer puts a in front of every later request; nil serves all.
func (e *Emulator) SetAuthorizer(a Authorizer) {
	e.front.mu.Lock()
	e.front.auth = a
	e.front.mu.Unlock()
}

// Authorizer returns the authorizer SetAuthorizer set, or nil.
func (e *Emulator) Authorizer() Authorizer {
	e.front.mu.RLock()
	defer e.front.mu.RUnlock()
	return e.front.auth
}

// front is a reverse proxy in front of moto_server on a free loopback port.
type front struct {
	mu     sync.RWMutex
	auth   Authorizer
	server *http.Server
	done   chan struct{}
}

// startFront serves the front on l.
func (e *Emulator) startFront(l net.Listener) error {
	target, err := url.Parse(e.MotoURL)
	if err != nil {
		return err
	}
	f := &front{done: make(chan struct{})}
	proxy := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second},
		// moto's answer is the answer: errors of the proxy itself are a
		// 502, as a gateway's would be.
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, "emulator front: "+err.Error(), http.StatusBadGateway)
		},
	}
	f.server = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.RLock()
		auth := f.auth
		f.mu.RUnlock()
		if auth != nil {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, "read request: "+err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			if refusal := auth.Authorize(r, body); refusal != nil {
				for k, vs := range refusal.Header {
					w.Header()[k] = vs
				}
				w.WriteHeader(refusal.Status)
				_, _ = w.Write(refusal.Body)
				return
			}
		}
		proxy.ServeHTTP(w, r)
	})}
	go func() {
		defer close(f.done)
		_ = f.server.Serve(l)
	}()
	e.front = f
	e.URL = "http://" + l.Addr().String()
	return nil
}

func (f *front) stop() {
	if f == nil {
		return
	}
	// An authorizer with a process of its own ends with the emulator.
	if s, ok := f.auth.(interface{ Stop() }); ok {
		s.Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := f.server.Shutdown(ctx); err != nil {
		_ = f.server.Close()
	}
	<-f.done
}
