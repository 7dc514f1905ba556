// Package engine is a2atop's in-process task engine: it runs one Executor
// over a Store and serves the result as an a2a.Service.
package engine

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/a2atop/a2atop/a2a"
)

// Options tune an Engine; the zero value of each field picks its default.
type Options struct {
	// MaxRunning caps executions running at once (default 4).
	MaxRunning int
	// MaxAttempts is the total number of attempts for retryable errors
	// (default 3).
	MaxAttempts int
	// RetryBackoff is the first retry's wait, doubled per attempt and capped
	// at one minute (default 500ms).
	RetryBackoff time.Duration
	// Retention: terminal tasks whose status is older are swept (default 7 days).
	Retention time.Duration
	// RetainCount keeps at most this many terminal tasks (0: no limit).
	RetainCount int
	// SweepInterval is how often the sweeper runs (default 1 minute).
	SweepInterval time.Duration
	// CancelGrace is how long a canceled execution may take to return
	// before the task is ended as canceled regardless (default 2s).
	CancelGrace time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives the engine's diagnostics (default: discarded).
	Logger *slog.Logger
	// Card describes the agent; if empty, the executor's Card when it
	// implements Describer, else a generic card.
	Card a2a.AgentCard
}

// Engine runs tasks and implements a2a.Service.
type Engine struct {
	store Store
	exec  Executor
	opts  Options
}

var _ a2a.Service = (*Engine)(nil)

var errNotYet = errors.New("engine: not implemented yet")

// New starts an engine over store and exec, resuming the store's unfinished tasks.
func New(store Store, exec Executor, opts Options) (*Engine, error) {
	if store == nil || exec == nil {
		return nil, errors.New("engine: store and executor are required")
	}
	return &Engine{store: store, exec: exec, opts: opts}, nil
}

// Close stops the sweeper and the executions and waits for the engine's
// goroutines. It does not close the store.
func (e *Engine) Close() error { return nil }

func (e *Engine) Send(ctx context.Context, req *a2a.SendRequest) (*a2a.SendResult, error) {
	return nil, errNotYet
}
func (e *Engine) Stream(ctx context.Context, req *a2a.SendRequest) (a2a.Stream, error) {
	return nil, errNotYet
}
func (e *Engine) Get(ctx context.Context, req a2a.GetRequest) (*a2a.Task, error) {
	return nil, errNotYet
}
func (e *Engine) List(ctx context.Context, req a2a.ListRequest) (*a2a.ListPage, error) {
	return nil, errNotYet
}
func (e *Engine) Cancel(ctx context.Context, taskID string) (*a2a.Task, error) {
	return nil, errNotYet
}
func (e *Engine) Subscribe(ctx context.Context, taskID string) (a2a.Stream, error) {
	return nil, errNotYet
}
func (e *Engine) Watch(ctx context.Context, cursor string) (a2a.Stream, error) {
	return nil, errNotYet
}
func (e *Engine) Card(ctx context.Context) (*a2a.AgentCard, error) { return nil, errNotYet }

// Timeline returns a task's event log, for the dashboard.
func (e *Engine) Timeline(ctx context.Context, taskID string) ([]LoggedEvent, error) {
	return nil, errNotYet
}
