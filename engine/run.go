package engine

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/a2atop/a2atop/a2a"
)

// execution is one run of a task: the attempts of one message, each a
// call of Execute. Its fields are guarded by the entry's mutex.
type execution struct {
	ctx    context.Context
	cancel context.CancelFunc
	// closed: the current attempt's publisher refuses events.
	closed bool
	// canceled: the user canceled the task; stop is closed then.
	canceled bool
	stop     chan struct{}
	// done is closed when the run goroutine returns.
	done     chan struct{}
	slotOnce sync.Once
	// progressID is the message id of this run's Status texts.
	progressID string
	// chunkID is the artifact an id-less ArtifactChunk continues.
	chunkID string
	replyOK bool
	// interrupted: this run asked its user a question; the answer starts a
	// new run, so this one must not touch the task after Execute returns.
	interrupted bool
}

// run executes a queue item: Execute, then the retries its errors allow.
func (e *Engine) run(it *queueItem) {
	defer e.runs.Done()
	en := it.entry
	ex := &execution{stop: make(chan struct{}), done: make(chan struct{}), progressID: newID(), replyOK: it.fresh}
	defer func() {
		en.mu.Lock()
		if en.run == ex {
			en.run = nil
		}
		en.mu.Unlock()
		close(ex.done)
		e.releaseSlot(ex)
		e.release(en)
	}()
	attempt, note, started := it.attempt, it.note, it.started
	fromQueue := !started
	for {
		en.mu.Lock()
		if !en.held { // a held creation goes with the executor's first publish
			en.drain()
		}
		// One execution per task at a time: an answer can arrive before the
		// run that asked the question has returned from Execute.
		for en.run != nil && en.run != ex {
			prev := en.run
			en.mu.Unlock()
			select {
			case <-prev.done:
			case <-e.ctx.Done():
				if !fromQueue { // the answer already set the task working
					en.mu.Lock()
					e.stopRun(en, ex, attempt)
					en.mu.Unlock()
				}
				return
			}
			en.mu.Lock()
		}
		if !started {
			st := en.rec.Task.Status.State
			ok := !e.closed.Load() && !ex.canceled && !st.Terminal() && !st.Interrupted()
			if fromQueue {
				ok = ok && st == a2a.StateSubmitted
			}
			if !ok {
				if e.closed.Load() && !fromQueue {
					// Closed while waiting to retry: attempt-1 failed for real.
					e.stopRun(en, ex, attempt)
				} else if ex.canceled && !st.Terminal() && !e.closed.Load() {
					e.finishCanceled(en, ReasonCanceled)
				}
				en.mu.Unlock()
				return
			}
			// The working update goes with the executor's first publish
			// (see hold): one store commit instead of two, and the slot is
			// not spent waiting for a commit of its own. Nothing is
			// acknowledged before it is durable; if it is lost in a crash,
			// the task is still submitted and runs again on restart.
			ev := e.status(en.rec.Task, a2a.StateWorking, "", note)
			n := attempt
			_, err := e.hold(en, change{events: []a2a.Event{ev}, start: it.fresh && attempt == 1,
				update: func(r *Record) { r.Running = true; r.Attempts = n; r.Stopped = false }})
			if err != nil {
				en.mu.Unlock()
				e.log.Error("start execution", "task", en.id, "err", err)
				return
			}
		}
		if en.tip() == nil { // its held creation was already lost
			en.mu.Unlock()
			return
		}
		started, fromQueue = false, false
		ex.ctx, ex.cancel = context.WithCancel(e.ctx)
		ex.closed = false
		en.run = ex
		en.flushErr = nil
		req := &Request{Task: en.tip().Task, Message: it.msg, Attempt: attempt, Resumed: it.resumed}
		it.resumed = false // a retry after this execution is a new attempt
		pub := &publisher{e: e, en: en, ex: ex}
		ctx := ex.ctx
		en.mu.Unlock()

		err := e.callExecute(ctx, req, pub)

		en.mu.Lock()
		ex.cancel()
		ex.closed = true
		en.drain() // the attempt's last events reach the store first
		if en.rec == nil {
			// Its held creation was lost (see holdCreation): the task does
			// not exist and its Send has failed.
			en.mu.Unlock()
			return
		}
		if e.closed.Load() {
			e.stopRun(en, ex, attempt)
			en.mu.Unlock()
			return
		}
		task := en.rec.Task
		st := task.Status.State
		var final a2a.Event
		switch {
		case st.Terminal():
			// The executor ended it, or the cancel grace ran out.
		case ex.canceled:
			e.finishCanceled(en, ReasonCanceled)
		case en.flushErr != nil:
			// Events the executor published were lost: what it did is not
			// what the task shows, so the task fails (if the store works).
			final = e.status(task, a2a.StateFailed, "", fmt.Sprintf("events of this execution were lost: %v", en.flushErr))
		case ex.interrupted:
			// Asked its user; an answer may already have started the next run.
			if err != nil {
				e.log.Warn("executor returned an error after asking its user", "task", en.id, "err", err)
			}
		case err == nil:
			final = e.status(task, a2a.StateCompleted, "", "")
		case IsRetryable(err) && attempt < e.opts.MaxAttempts:
			delay := e.backoff(attempt)
			ev := e.status(task, a2a.StateWorking, ex.progressID,
				fmt.Sprintf("attempt %d/%d failed: %v; retrying in %s", attempt, e.opts.MaxAttempts, err, delay))
			if cerr := e.commit(e.ctx, en, change{events: []a2a.Event{ev}}); cerr != nil {
				e.log.Error("record retry", "task", en.id, "err", cerr)
			}
			en.mu.Unlock()
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-ex.stop:
			case <-e.ctx.Done():
			}
			t.Stop()
			attempt++
			note = fmt.Sprintf("attempt %d/%d after error: %v", attempt, e.opts.MaxAttempts, err)
			continue
		default:
			final = e.status(task, a2a.StateFailed, "", err.Error())
		}
		if final != nil {
			if cerr := e.commit(e.ctx, en, change{events: []a2a.Event{final}}); cerr != nil {
				e.log.Error("finish task", "task", en.id, "err", cerr)
			}
		}
		en.mu.Unlock()
		return
	}
}

func (e *Engine) backoff(attempt int) time.Duration {
	d := e.opts.RetryBackoff
	for i := 1; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// callExecute runs the executor, turning a panic into a task failure.
func (e *Engine) callExecute(ctx context.Context, req *Request, pub Publisher) (err error) {
	defer func() {
		if r := recover(); r != nil {
			e.log.Error("executor panicked", "task", req.Task.ID, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("executor panicked: %v", r)
		}
	}()
	return e.exec.Execute(ctx, req, pub)
}

func (e *Engine) releaseSlot(ex *execution) {
	ex.slotOnce.Do(func() {
		e.mu.Lock()
		e.running--
		e.mu.Unlock()
		e.pump()
	})
}

// stopRun records that a clean Close stopped ex before it finished: the
// task goes back to the queue with next as the attempt that runs when the
// engine starts again (a canceled one ends canceled). Tasks that ended or
// wait for their user are left alone. Caller holds en.mu.
func (e *Engine) stopRun(en *taskEntry, ex *execution, next int) {
	en.drain()
	if en.rec == nil || ex.interrupted {
		return
	}
	task := en.rec.Task
	if st := task.Status.State; st.Terminal() || st.Interrupted() {
		return
	}
	var c change
	if ex.canceled {
		c = change{events: []a2a.Event{e.status(task, a2a.StateCanceled, "", ReasonCanceled)}, stopping: true}
	} else {
		e.mu.Lock()
		pos := e.queue.n + int(e.stoppedRuns.Add(1))
		e.mu.Unlock()
		c = change{events: []a2a.Event{e.status(task, a2a.StateSubmitted, "", queuedText(pos, ReasonStopped))}, stopping: true,
			update: func(r *Record) { r.Running = false; r.Attempts = max(next-1, 0); r.Stopped = true }}
	}
	if err := e.commit(e.ctx, en, c); err != nil {
		e.log.Error("record the stop of an execution", "task", en.id, "err", err)
	}
}

// finishCanceled ends the entry's task as canceled. Caller holds en.mu.
func (e *Engine) finishCanceled(en *taskEntry, reason string) error {
	ev := e.status(en.rec.Task, a2a.StateCanceled, "", reason)
	return e.commit(e.ctx, en, change{events: []a2a.Event{ev}})
}

// cancelRun asks the running execution to stop and, if it has not
// returned after CancelGrace, ends the task regardless. Caller holds en.mu.
func (e *Engine) cancelRun(en *taskEntry, ex *execution) {
	if ex.canceled {
		return
	}
	ex.canceled = true
	ex.closed = true
	close(ex.stop)
	if ex.cancel != nil {
		ex.cancel()
	}
	e.ref(en)
	e.wg.Go(func() {
		defer e.release(en)
		t := time.NewTimer(e.opts.CancelGrace)
		defer t.Stop()
		select {
		case <-ex.done:
			return
		case <-e.ctx.Done():
			return
		case <-t.C:
		}
		en.mu.Lock()
		defer en.mu.Unlock()
		en.drain()
		if en.run != ex || en.rec == nil || en.rec.Task.Status.State.Terminal() {
			return
		}
		reason := fmt.Sprintf("%s; the executor did not stop within %s", ReasonCanceled, e.opts.CancelGrace)
		if err := e.finishCanceled(en, reason); err != nil {
			e.log.Error("cancel after grace", "task", en.id, "err", err)
		}
		// The slot is free again even though the executor still runs.
		e.releaseSlot(ex)
	})
}
