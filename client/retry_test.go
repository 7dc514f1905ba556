package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
)

func TestRetryableClassifiesErrors(t *testing.T) {
	live := context.Background()
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	busy := a2a.NewError(a2a.ErrServerBusy, "server busy")
	cases := []struct {
		name string
		ctx  context.Context
		err  error
		want bool
	}{
		{"network failure", live, transient(io.ErrUnexpectedEOF), true},
		{"busy answer", live, busy, true},
		{"busy answer with Retry-After", live, &transientError{err: busy, retryAfter: time.Second}, true},
		{"wrapped busy", live, fmt.Errorf("send: %w", busy), true},
		{"invalid params", live, a2a.NewError(a2a.ErrInvalidParams, "bad"), false},
		{"task not found", live, fmt.Errorf("get: %w", a2a.NewError(a2a.ErrTaskNotFound, "nope")), false},
		{"event too large", live, transient(errEventTooLarge), false},
		{"plain error", live, errors.New("bad JSON-RPC response"), false},
		{"caller gave up", ended, transient(io.ErrUnexpectedEOF), false},
	}
	for _, c := range cases {
		if got := retryable(c.ctx, c.err); got != c.want {
			t.Errorf("%s: retryable = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestStatusTransientReadsRetryAfter(t *testing.T) {
	resp := &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": {"3"}}}
	err := statusTransient(resp, errors.New("HTTP 503"))
	if !retryable(context.Background(), err) || retryAfterOf(err) != 3*time.Second {
		t.Fatalf("503 with Retry-After 3: retryable %v, after %s", retryable(context.Background(), err), retryAfterOf(err))
	}
	resp = &http.Response{StatusCode: http.StatusBadRequest, Header: http.Header{}}
	if err := statusTransient(resp, errors.New("HTTP 400")); retryable(context.Background(), err) {
		t.Fatal("400 is retryable")
	}
}

func TestWithRetryStopsAtTheBound(t *testing.T) {
	tries := 0
	err := withRetry(context.Background(), RetryPolicy{Attempts: 3, Initial: time.Millisecond, Max: time.Millisecond}, func() error {
		tries++
		return transient(io.ErrUnexpectedEOF)
	})
	if tries != 3 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("%d tries, err %v; want 3 and the last error", tries, err)
	}
	tries = 0
	_ = withRetry(context.Background(), RetryPolicy{Attempts: 3, Initial: time.Millisecond, Max: time.Millisecond}, func() error {
		tries++
		return a2a.NewError(a2a.ErrInvalidParams, "bad")
	})
	if tries != 1 {
		t.Fatalf("an answer was retried: %d tries", tries)
	}
}
