package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/a2atop/a2atop/a2a"
)

// RetryPolicyHelp says what the client retries, in words a command's
// --help can print as they are.
const RetryPolicyHelp = `Retries: the first request of a command is retried when the network fails
(refused, reset or cut connection, no answer in time, HTTP 429/502/503/504;
only a card fetch that got no answer at all within the timeout is not tried
again: the host is down or the link silent)
or the agent answers "busy" (-32050), up to 4 tries with backoff and jitter
(0.25s doubling to 4s, or the server's Retry-After). Retried: the agent card,
get, list, subscribe (and the resubscribes after a drop), and send, which is
sent again with the SAME messageId: an agent that deduplicates message ids
(a2atop serve does) returns the task the first try created instead of
starting another, and a stream cut before its first event continues with
that task. An agent that does not deduplicate may start the task twice when
the cut came after it read the request. Not retried: cancel, and any error
the agent answered (bad params, task not found, ...). Streams that break
after their first event, or stay silent longer than the idle limit (45s),
resubscribe with backoff until 2 minutes pass without reaching the agent.`

// RetryPolicy bounds the retries of a first request: exponential backoff
// with ±20% jitter between tries.
type RetryPolicy struct {
	// Attempts is how many times a request is tried in all, the first
	// included; default 4. 1 (or a negative number) turns retries off.
	Attempts int
	// Initial is the first wait (default 250ms); each retry doubles it up
	// to Max (default 4s). A server's Retry-After, when longer, wins, up
	// to Max.
	Initial time.Duration
	Max     time.Duration
}

// transientError marks a failure worth another try: the request may not
// have reached the agent, or the agent asked to come back later.
type transientError struct {
	err        error
	retryAfter time.Duration
}

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

func transient(err error) error {
	if err == nil {
		return nil
	}
	return &transientError{err: err}
}

// retryable reports whether err, from a try made under ctx, is worth
// another: never once ctx itself ended (the caller gave up), never for an
// answer the agent meant (except "busy"), always for a transport failure.
func retryable(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	var nr noRetry
	if errors.As(err, &nr) {
		return false
	}
	var perr *a2a.Error
	if errors.As(err, &perr) {
		return perr.Code == a2a.CodeServerBusy
	}
	if errors.Is(err, errEventTooLarge) {
		return false
	}
	var te *transientError
	return errors.As(err, &te)
}

// retryAfterOf is the wait a server asked for, if any.
func retryAfterOf(err error) time.Duration {
	var te *transientError
	if errors.As(err, &te) {
		return te.retryAfter
	}
	return 0
}

// withRetry runs try until it succeeds, fails for good, ctx ends or the
// policy's tries are spent; it returns the last error. Each try gets its
// own ctx from the caller (per-try timeouts).
func withRetry(ctx context.Context, pol RetryPolicy, try func() error) error {
	for attempt := 1; ; attempt++ {
		err := try()
		if err == nil || attempt >= pol.Attempts || !retryable(ctx, err) {
			return err
		}
		wait := backoff(ReconnectPolicy{Initial: pol.Initial, Max: pol.Max}, attempt-1)
		if ra := retryAfterOf(err); ra > wait {
			wait = min(ra, pol.Max)
		}
		if !sleepCtx(ctx, wait) {
			return err
		}
	}
}

// statusTransient marks the HTTP statuses that mean "try again": the
// server or a proxy in front of it is overloaded or restarting.
func statusTransient(resp *http.Response, err error) error {
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return &transientError{err: err, retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"))}
	}
	return err
}

// parseRetryAfter reads Retry-After in seconds (the HTTP-date form is rare
// and ignored).
func parseRetryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

// isCut reports whether a stream read failed because the connection broke
// (as opposed to the server ending the stream cleanly).
func isCut(err error) bool {
	return err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, errEventTooLarge)
}
