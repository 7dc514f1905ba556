package engine

import (
	"context"
	"time"
)

// workers runs the engine's per-task functions (an execution, a task's
// flusher) on goroutines that, once done, wait a while for the next one
// instead of exiting. A new goroutine starts on a 2 KiB stack that is
// copied each time it doubles; an execution or a flush (encoding,
// compressing, committing) grows it three or four times, on every task.
// A reused goroutine keeps the stack it grew. Work never waits for a
// goroutine: when none is idle, a new one starts, as `go f()` would.
type workers struct {
	idle chan func()
	stop <-chan struct{}
}

// workerIdle is how long a goroutine waits for more work before it
// exits.
const workerIdle = 5 * time.Second

func newWorkers(ctx context.Context) *workers {
	return &workers{idle: make(chan func()), stop: ctx.Done()}
}

// goFunc runs f on an idle goroutine, or on a new one.
func (w *workers) goFunc(f func()) {
	select {
	case w.idle <- f:
	default:
		go w.loop(f)
	}
}

// loop runs f, then whatever goFunc hands it, until it has been idle for
// workerIdle or the engine closes.
func (w *workers) loop(f func()) {
	t := time.NewTimer(workerIdle)
	defer t.Stop()
	for {
		f()
		f = nil // let it be collected while waiting
		t.Reset(workerIdle)
		select {
		case f = <-w.idle:
		case <-t.C:
			return
		case <-w.stop:
			return
		}
	}
}
