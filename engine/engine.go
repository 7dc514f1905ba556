// Package engine is a2atop's in-process task engine: it runs one Executor
// over a Store and serves the result as an a2a.Service.
//
// Concurrency: each task has one writer at a time (its taskEntry's mutex):
// an event is folded into the task with a2a.Apply, numbered (per-task Seq,
// global Cursor), committed to the store, then published to the task's
// readers (tasks.go: fold, the one step both write paths share); Watch
// readers get events through the sequencer, in cursor order. An execution
// runs on its own goroutine, an attempt at a time (run.go: startAttempt and
// settle hold the task's mutex, Execute runs without it).
// The executor's publishes are pipelined: they are folded and numbered at
// once, and the task's flusher goroutine commits all that is pending in one
// store commit before publishing it (tasks.go: enqueue, flush); the
// engine's own writes first drain that pipeline (taskEntry.drain). A
// blocking Send's new task that starts at once has its creation committed
// with the executor's first publish, not before (send.go: holdCreation).
// The engine keeps a taskEntry only while the task is running, queued,
// being changed or read: a finished task lives only in the store.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/a2atop/a2atop/a2a"
)

// Options tune an Engine; the zero value of each field picks its default.
type Options struct {
	// MaxRunning caps executions running at once (default: the
	// executor's ConcurrencyLimit if it has one, else 4). High-priority
	// work may use HighReserve slots more (see below).
	MaxRunning int
	// HighReserve is how many slots beyond MaxRunning only high-priority
	// executions may take (default MaxRunning/4, at least 1; negative:
	// none). Priority orders the queue, but a queue cannot overtake work
	// that holds every slot and never ends (forever tasks, a stuck
	// agent): the reserve lets an urgent task start anyway.
	HighReserve int
	// MaxQueued caps executions waiting for a slot (default 10,000;
	// negative: no cap). Past it a send is refused with a2a.ErrServerBusy
	// and nothing is stored, so the caller can send the same message
	// again later. Tasks requeued by a restart or a retry are never
	// refused.
	MaxQueued int
	// AllowDamaged starts the engine even when the store reports damaged
	// records (DamagedError) among the unfinished tasks it resumes: those
	// tasks are left as they are (the store refuses writes over them) and
	// the rest run. Without it New fails, naming the damage.
	AllowDamaged bool
	// MaxAttempts is the total number of attempts for retryable errors
	// (default 3).
	MaxAttempts int
	// RetryBackoff is the first retry's wait, doubled per attempt and capped
	// at maxBackoff (default 500ms).
	RetryBackoff time.Duration
	// Retention: terminal tasks whose last change is older are swept
	// (default 7 days; RetainForever sweeps none by age).
	Retention time.Duration
	// RetainCount keeps at most this many terminal tasks (0: no limit).
	RetainCount int
	// SweepInterval is how often the sweeper runs (default 1 minute).
	SweepInterval time.Duration
	// CancelGrace is how long a canceled execution may take to return
	// before the task is ended as canceled regardless (default 2s). Close
	// waits as long for executions to return.
	CancelGrace time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives the engine's diagnostics (default: discarded).
	Logger *slog.Logger
	// Card describes the agent; if its Name is empty, the executor's card
	// when it implements Describer, else a generic card.
	Card a2a.AgentCard
	// StreamBuffer is how many recent events a running task keeps in memory
	// for its Stream and Subscribe readers (default 1024). A reader that
	// falls further behind catches up from the store's copy of the task's
	// log: the engine never waits for a reader, and a reader loses nothing
	// (it ends with a2a.ErrLagged only if that store read fails).
	StreamBuffer int
	// WatchBuffer is the same for Watch readers, which catch up from the
	// store's global log (default 4096).
	WatchBuffer int
	// Observe makes the engine an observer of a store shared with other
	// engines (a SharedLog: serve replicas on PostgreSQL): it serves Get,
	// List, Subscribe and Watch, with the other replicas' events live, but
	// never runs, claims, resumes, takes over or sweeps a task, and refuses
	// Send and Cancel with a2a.ErrUnsupported. A dashboard with --read-only
	// on a database is one.
	Observe bool
}

// MaxMessageBytes caps the size of one message's parts (text, data, file
// bytes and URIs together).
const MaxMessageBytes = 8 << 20

const maxBackoff = time.Minute

// Reason texts the engine writes into task statuses.
const (
	ReasonInterrupted = "interrupted: a2atop stopped while the task was running"
	ReasonCanceled    = "canceled by request"
	// ReasonStopped follows "queued (position P)" for a task whose
	// execution a clean Close stopped.
	ReasonStopped = "a2atop stopped; resumes when a2atop runs again"
)

// ConcurrencyLimiter is implemented by executors that know how many of
// their executions a machine runs at once without strain: the engine
// uses it when Options.MaxRunning is not set. An agent whose executions
// only wait or publish (a demo, a proxy) can run many; one that runs
// processes should keep the default.
type ConcurrencyLimiter interface {
	ConcurrencyLimit() int
}

// DefaultMaxRunning is Options.MaxRunning's default for an executor
// without a ConcurrencyLimit.
const DefaultMaxRunning = 4

// DefaultMaxQueued is Options.MaxQueued's default: at a few KiB of memory
// per queued task, 10,000 is tens of MiB, and a queue longer than that is
// a client that sends faster than the agent works.
const DefaultMaxQueued = 10_000

// ErrClosed is returned by an engine's methods after Close.
var ErrClosed = errors.New("engine is closed")

// ErrStoreUnavailable marks a store error that should pass: the store's
// server could not be reached, is restarting or dropped the connection
// (pgstore wraps such errors with it). Watch streams on a SharedLog wait
// for the store's next wake-up and read on from their cursor rather than
// ending.
var ErrStoreUnavailable = errors.New("the store is unavailable for now")

func (o *Options) setDefaults() {
	if o.MaxRunning <= 0 {
		o.MaxRunning = DefaultMaxRunning
	}
	if o.HighReserve == 0 {
		o.HighReserve = max(1, o.MaxRunning/4)
	}
	if o.MaxQueued == 0 {
		o.MaxQueued = DefaultMaxQueued
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 3
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = 500 * time.Millisecond
	}
	if o.Retention <= 0 && o.Retention != RetainForever {
		o.Retention = DefaultRetention
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = time.Minute
	}
	if o.CancelGrace <= 0 {
		o.CancelGrace = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.StreamBuffer <= 0 {
		o.StreamBuffer = 1024
	}
	if o.WatchBuffer <= 0 {
		o.WatchBuffer = 4096
	}
}

// Engine runs tasks and implements a2a.Service.
type Engine struct {
	store Store
	exec  Executor
	opts  Options
	log   *slog.Logger
	card  a2a.AgentCard
	seq   *sequencer

	ctx    context.Context // canceled by Close: stops goroutines and executions
	stop   context.CancelFunc
	closed atomic.Bool
	// settled is set once Close stops waiting for executions: after it no
	// commit reaches the store, not even the stop commits of executions
	// that return late. Guarded by settleMu (held for reading by each stop
	// commit, so Close waits for those in progress).
	settleMu sync.RWMutex
	settled  bool
	// stoppedRuns numbers the executions a clean Close put back in the
	// queue, for their queue position text.
	stoppedRuns atomic.Int32
	wg          sync.WaitGroup // sweeper, queue updater, cancel timers
	runs        sync.WaitGroup // executions

	mu      sync.Mutex
	entries map[string]*taskEntry
	queue   runQueue
	running int
	sending map[string]chan struct{} // message ids whose send is in progress

	queueChanged chan struct{}
	// slots: the store when it holds the running slots across replicas
	// (SharedSlots; nil otherwise), and slotKick wakes slotLoop.
	slots    SharedSlots
	slotKick chan struct{}
	// holdLimit: see holdCreation (a field so that tests can lengthen it).
	holdLimit time.Duration
	// ids makes the ids of new tasks, contexts, messages and artifacts.
	ids idSource
	// workers run executions and flushers (see workers.go).
	workers *workers
}

var _ a2a.Service = (*Engine)(nil)

// New starts an engine over store and exec. It resumes the store's
// unfinished tasks: submitted ones are queued again (by creation time),
// tasks that were running are retried while attempts remain and otherwise
// failed with ReasonInterrupted, and tasks waiting for input keep waiting.
func New(store Store, exec Executor, opts Options) (*Engine, error) {
	if store == nil || exec == nil {
		return nil, errors.New("engine: a store and an executor are required")
	}
	if l, ok := exec.(ConcurrencyLimiter); ok && opts.MaxRunning <= 0 {
		opts.MaxRunning = l.ConcurrencyLimit()
	}
	opts.setDefaults()
	ctx := context.Background()
	last, err := store.LastCursor(ctx)
	if err != nil {
		return nil, fmt.Errorf("engine: read the event log: %w", err)
	}
	e := &Engine{
		store:        store,
		exec:         exec,
		opts:         opts,
		log:          opts.Logger,
		seq:          newSequencer(last, opts.WatchBuffer),
		entries:      map[string]*taskEntry{},
		sending:      map[string]chan struct{}{},
		queueChanged: make(chan struct{}, 1),
		holdLimit:    holdLimit,
	}
	e.card = opts.Card
	if e.card.Name == "" {
		if d, ok := exec.(Describer); ok {
			e.card = d.Card()
		} else {
			e.card = a2a.AgentCard{Name: "a2atop engine", Description: "a2atop's in-process task engine",
				DefaultInputModes: []string{"text/plain"}, DefaultOutputModes: []string{"text/plain"}}
		}
	}
	e.card.Capabilities.Streaming = true
	e.ctx, e.stop = context.WithCancel(context.Background())
	e.workers = newWorkers(e.ctx)
	if sl, ok := store.(SharedSlots); ok && !opts.Observe {
		e.slots, e.slotKick = sl, make(chan struct{}, 1)
	}
	if opts.Observe {
		e.startObserver() // replicas.go
		return e, nil
	}
	if err := e.resume(ctx); err != nil {
		e.stop()
		e.runs.Wait()
		return nil, err
	}
	e.wg.Go(e.sweeper)
	e.wg.Go(e.queueUpdater)
	e.startReplica() // replicas.go: only with a shared store
	e.pump()
	return e, nil
}

// Close stops the sweeper and the executions and waits for the engine's
// goroutines, and for executions up to CancelGrace. A clean stop costs no
// attempt: each execution that returns in time has its task put back in
// the queue (submitted, not running, its attempt count as before the
// stopped attempt, status ReasonStopped), so the next New runs it again
// with the same Attempt. Executions still running after CancelGrace are
// abandoned (their publishers refuse everything) and stay marked running
// in the store, so the next New applies the crash restart rules to them.
// Close does not close the store.
func (e *Engine) Close() error {
	if e.closed.Swap(true) {
		return nil
	}
	e.stop()
	// Wait for commits in progress: every commit checks closed under its
	// task's lock.
	e.mu.Lock()
	entries := make([]*taskEntry, 0, len(e.entries))
	for _, en := range e.entries {
		entries = append(entries, en)
	}
	e.mu.Unlock()
	for _, en := range entries {
		en.mu.Lock()
		//lint:ignore SA2001 an empty critical section waits for the writer
		en.mu.Unlock()
	}
	e.wg.Wait()
	done := make(chan struct{})
	go func() { e.runs.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-time.After(e.opts.CancelGrace):
		err = fmt.Errorf("engine: closed, but some executions ignored cancellation for %s and were abandoned", e.opts.CancelGrace)
	}
	e.settleMu.Lock()
	e.settled = true
	e.settleMu.Unlock()
	return err
}

// DefaultRetention is how long a finished task is kept after its last
// change when Options.Retention is not set.
const DefaultRetention = 7 * 24 * time.Hour

// RetainForever, as Options.Retention, keeps finished tasks whatever
// their age (RetainCount may still bound how many).
const RetainForever time.Duration = -1

func (e *Engine) now() time.Time { return e.opts.Now() }

// newID returns a fresh id for a task, context, message or artifact.
func (e *Engine) newID() string { return e.ids.newID() }

// sweeper deletes old terminal tasks every SweepInterval.
func (e *Engine) sweeper() {
	t := time.NewTicker(e.opts.SweepInterval)
	defer t.Stop()
	for {
		e.sweepOnce()
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (e *Engine) sweepOnce() {
	var olderThan time.Time // the zero time: nothing is older
	if e.opts.Retention != RetainForever {
		olderThan = e.now().Add(-e.opts.Retention)
	} else if e.opts.RetainCount <= 0 {
		return // nothing to sweep
	}
	n, err := e.store.Sweep(e.ctx, olderThan, e.opts.RetainCount)
	if err != nil {
		if e.ctx.Err() == nil {
			e.log.Warn("retention sweep failed", "err", err)
		}
		return
	}
	if n > 0 {
		e.log.Info("retention sweep", "deleted", n)
	}
}

// Card describes the agent behind the engine.
func (e *Engine) Card(ctx context.Context) (*a2a.AgentCard, error) {
	c := e.card
	return &c, nil
}
