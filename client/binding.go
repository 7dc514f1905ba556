package client

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
)

// binding is one A2A protocol binding in one dialect: how an operation
// becomes an HTTP request, and how an answer (a whole body, or one SSE
// event's data) reads. The transport does the HTTP and the rest of the
// client only ever names operations (wire.Method), so Send, Get, List,
// Cancel, Stream and Subscribe work the same over every binding.
type binding interface {
	// name is a2a.BindingJSONRPC or a2a.BindingHTTPJSON.
	name() string
	// version is "1.0" or "0.3".
	version() string
	// request builds the HTTP request for m against the interface URL.
	request(ctx context.Context, endpoint string, id int64, m wire.Method, params any) (*http.Request, error)
	// decode reads a body or an SSE event: the method's result, a typed
	// *a2a.Error, or a decode error.
	decode(m wire.Method, body []byte) (any, error)
}

// Binding names accepted by Options.Binding.
const (
	BindingJSONRPC = "jsonrpc"
	BindingREST    = "rest"
)

// parseBinding maps a user's or a card's binding name onto a2a's names:
// "jsonrpc", "JSONRPC", "json-rpc" → JSONRPC; "rest", "http+json",
// "HTTP+JSON", "http" → HTTP+JSON. ok is false for anything else (GRPC).
func parseBinding(s string) (string, bool) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "JSONRPC", "JSON-RPC", "JSON_RPC":
		return a2a.BindingJSONRPC, true
	case "REST", "HTTP+JSON", "HTTP_JSON", "HTTPJSON", "HTTP":
		return a2a.BindingHTTPJSON, true
	}
	return "", false
}

func newBinding(name, version string) (binding, error) {
	switch name {
	case a2a.BindingJSONRPC, "":
		c, err := wire.ForVersion(version)
		if err != nil {
			return nil, err
		}
		return jsonrpcBinding{c}, nil
	case a2a.BindingHTTPJSON:
		r, err := wire.RESTForVersion(version)
		if err != nil {
			return nil, err
		}
		return restBinding{r}, nil
	}
	return nil, fmt.Errorf("binding %q: a2atop speaks JSONRPC and HTTP+JSON", name)
}

// jsonrpcBinding posts every operation to the interface URL as a JSON-RPC
// request.
type jsonrpcBinding struct{ c wire.Codec }

func (b jsonrpcBinding) name() string    { return a2a.BindingJSONRPC }
func (b jsonrpcBinding) version() string { return b.c.Version() }

func (b jsonrpcBinding) request(ctx context.Context, endpoint string, id int64, m wire.Method, params any) (*http.Request, error) {
	body, err := b.c.EncodeRequest(id, m, params)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("POST %s: %w", endpoint, err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

func (b jsonrpcBinding) decode(m wire.Method, body []byte) (any, error) {
	return b.c.DecodeResponse(m, body)
}

// restBinding maps each operation onto its HTTP+JSON path under the
// interface URL.
type restBinding struct{ r wire.REST }

func (b restBinding) name() string    { return a2a.BindingHTTPJSON }
func (b restBinding) version() string { return b.r.Version() }

func (b restBinding) request(ctx context.Context, endpoint string, _ int64, m wire.Method, params any) (*http.Request, error) {
	rr, err := b.r.EncodeRequest(m, params)
	if err != nil {
		return nil, err
	}
	target := strings.TrimSuffix(endpoint, "/") + rr.Path
	if len(rr.Query) > 0 {
		target += "?" + rr.Query.Encode()
	}
	var body *bytes.Reader
	if rr.Body != nil {
		body = bytes.NewReader(rr.Body)
	}
	var req *http.Request
	if body != nil {
		req, err = http.NewRequestWithContext(ctx, rr.Method, target, body)
	} else {
		req, err = http.NewRequestWithContext(ctx, rr.Method, target, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", rr.Method, target, err)
	}
	if rr.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

func (b restBinding) decode(m wire.Method, body []byte) (any, error) {
	return b.r.DecodeResponse(m, body)
}

// newRequest builds the request for m with the client's headers, the
// Accept the answer needs and, on v1.0, the version header.
func (t *transport) newRequest(ctx context.Context, m wire.Method, params any) (*http.Request, error) {
	req, err := t.bind.request(ctx, t.endpoint, t.nextID.Add(1), m, params)
	if err != nil {
		return nil, err
	}
	for k, vs := range t.headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if m.Streaming() {
		req.Header.Set("Accept", "text/event-stream")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	if t.bind.version() == a2a.Version10 {
		req.Header.Set("A2A-Version", a2a.Version10)
	}
	return req, nil
}

// decode reads a body or an SSE event's data in the transport's binding.
func (t *transport) decode(m wire.Method, body []byte) (any, error) {
	return t.bind.decode(m, bytes.TrimPrefix(body, []byte(recordSeparator)))
}

// recordSeparator (U+001E) starts each JSON text in RFC 7464 sequences;
// some agents put one at the start of every SSE data line.
const recordSeparator = "\x1e"

// requestLabel names a request in errors: "GET http://host/tasks/t1".
func requestLabel(resp *http.Response, fallback string) string {
	if resp != nil && resp.Request != nil && resp.Request.URL != nil {
		return resp.Request.Method + " " + resp.Request.URL.String()
	}
	return "POST " + fallback
}

// notServed explains a 404 or 405 from the interface the agent card named:
// the card promised an endpoint the agent does not serve.
func (t *transport) notServed(resp *http.Response, err error) error {
	if resp == nil || (resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed) {
		return err
	}
	where := "the agent card"
	if t.cardURL != "" {
		where = "the agent card at " + t.cardURL
	}
	return fmt.Errorf("%w; %s names %s as its %s v%s interface, but nothing answers there (try another with --binding or --protocol, or ask the agent's owner)",
		err, where, t.endpoint, t.bind.name(), t.bind.version())
}
