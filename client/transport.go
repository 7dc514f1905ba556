package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
)

// transport sends requests to one interface in one binding and dialect.
type transport struct {
	hc       *http.Client
	endpoint string
	bind     binding
	cardURL  string // where the interface was found, for errors
	headers  http.Header
	maxResp  int64
	maxEvent int
	conn     *connTracker
	nextID   atomic.Int64
}

// post sends one request and returns the response. Streaming requests ask
// for text/event-stream.
func (t *transport) post(ctx context.Context, m wire.Method, params any) (*http.Response, error) {
	req, err := t.newRequest(ctx, m, params)
	if err != nil {
		return nil, err
	}
	resp, err := t.hc.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			// A stream that is reconnecting or polling says so itself.
			t.conn.setUnlessRecovering(ConnState{Kind: Offline, Err: err})
		}
		return nil, netError(req.Method, req.URL.String(), err)
	}
	return resp, nil
}

// call is a unary JSON-RPC call: the decoded result (see wire.DecodeResponse)
// or a typed *a2a.Error, or a one-line transport error naming the URL.
func (t *transport) call(ctx context.Context, m wire.Method, params any) (any, error) {
	resp, err := t.post(ctx, m, params)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := readBounded(resp.Body, t.maxResp)
	if err != nil {
		return nil, t.bodyError(ctx, resp, err)
	}
	t.conn.set(ConnState{Kind: Connected})
	return t.decodeBody(m, resp, body)
}

func (t *transport) bodyError(ctx context.Context, resp *http.Response, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("POST %s: %w", t.endpoint, ctx.Err())
	}
	return fmt.Errorf("POST %s (HTTP %d): %w", t.endpoint, resp.StatusCode, err)
}

// decodeBody turns a whole response body into the method's result. A
// JSON-RPC error wins whatever the status or content type (a2a-go sends
// v0.3 errors as text/plain; some servers send them with 4xx/5xx).
func (t *transport) decodeBody(m wire.Method, resp *http.Response, body []byte) (any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("POST %s: empty response (HTTP %d)", t.endpoint, resp.StatusCode)
	}
	res, err := t.decode(m, body)
	var perr *a2a.Error
	if errors.As(err, &perr) {
		return nil, perr
	}
	if resp.StatusCode != http.StatusOK {
		method, url, _ := strings.Cut(requestLabel(resp, t.endpoint), " ")
		return nil, t.notServed(resp, statusError(method, url, resp, body))
	}
	if err != nil {
		if isHTML(resp.Header.Get("Content-Type"), body) {
			return nil, fmt.Errorf("POST %s: got an HTML page, not a JSON-RPC response (HTTP %d)", t.endpoint, resp.StatusCode)
		}
		return nil, fmt.Errorf("POST %s: bad JSON-RPC response (HTTP %d, %s): %w", t.endpoint, resp.StatusCode, contentType(resp), err)
	}
	return res, nil
}

// openStream posts a streaming request and returns the SSE reader over its
// body. A server that answers with JSON instead (an error before the
// stream started) gets its error decoded.
func (t *transport) openStream(ctx context.Context, m wire.Method, params any) (*http.Response, *eventReader, error) {
	resp, err := t.post(ctx, m, params)
	if err != nil {
		return nil, nil, err
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || mt != "text/event-stream" {
		defer resp.Body.Close()
		body, err := readBounded(resp.Body, t.maxResp)
		if err != nil {
			return nil, nil, t.bodyError(ctx, resp, err)
		}
		_, derr := t.decodeBody(m, resp, body)
		if derr == nil {
			derr = fmt.Errorf("POST %s: expected an event stream, got %s (HTTP %d)", t.endpoint, contentType(resp), resp.StatusCode)
		}
		return nil, nil, derr
	}
	t.conn.set(ConnState{Kind: Connected})
	// A connection cut in the middle of an event is a drop (resubscribe),
	// not a malformed event that would end the stream.
	rd := newEventReader(resp.Body, t.maxEvent)
	rd.dropCut = true
	return resp, rd, nil
}

func contentType(resp *http.Response) string {
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		return ct
	}
	return "no content type"
}

// netError names the URL and keeps the cause for errors.Is.
func netError(method, url string, err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s %s: timed out: %w", method, url, err)
	}
	// *url.Error repeats the method and URL; keep only its cause.
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil && strings.Contains(err.Error(), url) {
			return fmt.Errorf("%s %s: %w", method, url, inner)
		}
	}
	return fmt.Errorf("%s %s: %w", method, url, err)
}

var titleRE = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

// statusError describes a non-200 answer in one line, with the status, and
// the page title or the first line of a text body.
func statusError(method, url string, resp *http.Response, body []byte) error {
	detail := ""
	switch {
	case isHTML(resp.Header.Get("Content-Type"), body):
		detail = "an HTML error page"
		if m := titleRE.FindSubmatch(body); m != nil {
			detail += ": " + oneLine(string(m[1]), 120)
		}
	case len(bytes.TrimSpace(body)) > 0:
		var rpc struct {
			Error *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(body, &rpc) == nil && rpc.Error != nil {
			return a2a.ErrorFromCode(rpc.Error.Code, rpc.Error.Message, nil)
		}
		detail = oneLine(string(body), 200)
	}
	msg := fmt.Sprintf("%s %s: HTTP %s", method, url, resp.Status)
	if detail != "" {
		msg += " (" + detail + ")"
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return &AuthError{Status: resp.StatusCode, Challenge: challengeScheme(resp), msg: msg}
	}
	return errors.New(msg)
}

// AuthError is an agent's HTTP 401 (it wants credentials, or did not
// accept the ones sent) or 403 (they do not allow this request), on the
// card fetch or any call.
type AuthError struct {
	// Status is 401 or 403.
	Status int
	// Challenge is the scheme of the agent's WWW-Authenticate header
	// ("Bearer"), if it sent one.
	Challenge string
	msg       string
}

func (e *AuthError) Error() string { return e.msg }

// challengeScheme is the first auth scheme a 401 names, e.g. "Bearer".
func challengeScheme(resp *http.Response) string {
	scheme, _, _ := strings.Cut(strings.TrimSpace(resp.Header.Get("WWW-Authenticate")), " ")
	return oneLine(scheme, 40)
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
