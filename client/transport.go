package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

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
	// timeout bounds the wait for a stream's response headers; idle the
	// silences of an open stream (Options.Timeout, Options.StreamIdle).
	timeout, idle time.Duration
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
		// The request may not have reached the agent: worth another try.
		return nil, transient(netError(req.Method, req.URL.String(), err))
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
	// The connection broke in the middle of the answer.
	return transient(fmt.Errorf("POST %s (HTTP %d): %w", t.endpoint, resp.StatusCode, err))
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
		if perr.Code == a2a.CodeServerBusy {
			return nil, &transientError{err: perr, retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"))}
		}
		return nil, perr
	}
	if resp.StatusCode != http.StatusOK {
		method, url, _ := strings.Cut(requestLabel(resp, t.endpoint), " ")
		return nil, statusTransient(resp, t.notServed(resp, statusError(method, url, resp, body)))
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
//
// One timer bounds the wait for the response headers by t.timeout, then
// every silence of the stream by t.idle: anything read, keep-alives
// included, shows the connection is alive, and a half-open connection (a
// blackholed link) would otherwise block the reader forever. When it
// fires the read fails with an idleError, which the stream treats as a
// drop.
func (t *transport) openStream(ctx context.Context, m wire.Method, params any) (*http.Response, *eventReader, error) {
	connCtx, cancel := context.WithCancel(ctx)
	fired := new(atomic.Bool)
	timer := time.AfterFunc(t.timeout, func() { fired.Store(true); cancel() })
	stop := func() { timer.Stop(); cancel() }
	resp, err := t.post(connCtx, m, params)
	if err != nil {
		stop()
		if fired.Load() && ctx.Err() == nil {
			return nil, nil, transient(fmt.Errorf("POST %s: no answer within %s", t.endpoint, t.timeout))
		}
		return nil, nil, err
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || mt != "text/event-stream" {
		defer stop()
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
	timer.Reset(t.idle)
	resp.Body = &idleBody{rc: resp.Body, timer: timer, idle: t.idle, fired: fired, stop: stop}
	// A connection cut in the middle of an event is a drop (resubscribe),
	// not a malformed event that would end the stream.
	rd := newEventReader(resp.Body, t.maxEvent)
	rd.dropCut = true
	return resp, rd, nil
}

// idleBody re-arms the silence timer on every read that brings bytes, and
// says so when the timer cut the connection.
type idleBody struct {
	rc    io.ReadCloser
	timer *time.Timer
	idle  time.Duration
	fired *atomic.Bool
	stop  func()
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.timer.Reset(b.idle)
	}
	if err != nil && b.fired.Load() {
		err = idleError{b.idle}
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.stop()
	return b.rc.Close()
}

// idleError: a stream stayed silent past the idle limit and was cut.
type idleError struct{ d time.Duration }

func (e idleError) Error() string { return fmt.Sprintf("nothing received for %s", e.d) }

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
