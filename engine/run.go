package engine

import (
	"context"
	"errors"
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
	taskID   string // the cluster slot releaseSlot frees (sharedslots.go)
	// progressID is the message id of this run's Status texts.
	progressID string
	// chunkID is the artifact an id-less ArtifactChunk continues.
	chunkID string
	replyOK bool
	// interrupted: this run asked its user a question (or for
	// credentials); the answer starts a new run, so this one must not touch
	// the task after Execute returns. After AuthRequired the run may carry
	// on instead (see Publisher.AuthRequired): its next publish clears it.
	interrupted bool
	// superseded: a message to the task ended this run's wait for its user
	// (supersede); the message runs as a new execution.
	superseded bool
}

// authCarriesOn reports whether the task waits in auth-required while the
// execution that asked is still running: the spec (A2A v1.0 §7.6.1) lets
// an agent that receives credentials out of band carry on in the same
// execution, and asks it to keep response streams open meanwhile ("the
// agent SHOULD maintain any active response streams with the client after
// setting the TaskState to TASK_STATE_AUTH_REQUIRED"). Caller holds en.mu.
func (en *taskEntry) authCarriesOn() bool {
	ex := en.run
	return ex != nil && !ex.closed && ex.interrupted && en.rec != nil &&
		en.rec.Task.Status.State == a2a.StateAuthRequired
}

// supersede ends the wait of the execution that asked the task's user,
// when the user's message arrives before it returned: it may publish no
// more (the message starts the next execution) and its context is
// canceled, so an executor waiting for credentials after AuthRequired
// stops waiting. Caller holds en.mu.
func (e *Engine) supersede(en *taskEntry) {
	ex := en.run
	if ex == nil || ex.closed || !ex.interrupted {
		return
	}
	ex.closed = true
	ex.superseded = true
	if ex.cancel != nil {
		ex.cancel()
	}
}

// endAuthFollowers ends the streams that kept following a task in
// auth-required while its execution carried on, once that execution
// returned with the task still waiting: nothing more comes until a
// message. Caller holds en.mu.
func (e *Engine) endAuthFollowers(en *taskEntry) {
	if en.rec == nil || en.rec.Task.Status.State != a2a.StateAuthRequired || en.bc == nil || en.readers == 0 {
		return
	}
	en.bc.publish(taskItem{end: true, ev: a2a.StreamEvent{Seq: en.rec.LastSeq}})
}

// run executes a queue item: attempts of Execute, as many as the errors
// allow. Each attempt is three steps: startAttempt (under en.mu: wait for
// the previous execution, record the task working), the executor's call
// (no lock held), settle (under en.mu: record how the attempt ended).
func (e *Engine) run(it *queueItem) {
	defer e.runs.Done()
	en := it.entry
	ex := &execution{stop: make(chan struct{}), done: make(chan struct{}), progressID: e.newID(), replyOK: it.fresh, taskID: it.entry.id}
	defer e.endRun(en, ex)
	a := attemptPlan{n: it.attempt, note: it.note, started: it.started, fromQueue: !it.started, resumed: it.resumed}
	for {
		call, ok := e.startAttempt(it, en, ex, a)
		if !ok {
			return
		}
		err := e.callExecute(call.ctx, call.req, call.pub)
		out := e.settle(en, ex, a.n, err)
		if !out.retry {
			return
		}
		e.waitRetry(ex, out.delay)
		a = a.next(err, e.opts.MaxAttempts)
	}
}

// attemptPlan is how the next attempt of a run starts.
type attemptPlan struct {
	n int // the attempt's number, from 1
	// note is the text of the attempt's working status (why it runs again).
	note string
	// started: the task is working already (the send's first commit set it
	// so, or an answer did): no working update to record.
	started bool
	// fromQueue: the run came from the queue, so the task must still be
	// submitted when it starts (a cancel may have ended it meanwhile).
	fromQueue bool
	resumed   bool // Request.Resumed
}

// next is the plan of the retry after an attempt that failed with err.
func (a attemptPlan) next(err error, maxAttempts int) attemptPlan {
	n := a.n + 1
	return attemptPlan{n: n, note: fmt.Sprintf("attempt %d/%d after error: %v", n, maxAttempts, err)}
}

// attemptCall is what an attempt calls Execute with.
type attemptCall struct {
	ctx context.Context
	req *Request
	pub Publisher
}

// outcome is how an attempt ended, as far as its run is concerned: the
// task ended (or waits for its user, or the engine stopped), or the error
// is retried after delay.
type outcome struct {
	retry bool
	delay time.Duration
}

// endRun lets the task and the run's slot go when the run returns.
func (e *Engine) endRun(en *taskEntry, ex *execution) {
	en.mu.Lock()
	if en.run == ex {
		en.run = nil
	}
	en.mu.Unlock()
	close(ex.done)
	e.releaseSlot(ex)
	e.release(en)
}

// startAttempt prepares attempt a of execution ex: it waits until no other
// execution of the task runs, checks the task may still run, records it
// working and makes ex the task's execution. false: the run ends here (what
// had to be recorded is recorded).
func (e *Engine) startAttempt(it *queueItem, en *taskEntry, ex *execution, a attemptPlan) (attemptCall, bool) {
	en.mu.Lock()
	defer en.mu.Unlock()
	if !en.held { // a held creation goes with the executor's first publish
		en.drain()
	}
	if !e.awaitPrevious(en, ex, a) {
		return attemptCall{}, false
	}
	if !a.started && !e.markWorking(it, en, ex, a) {
		return attemptCall{}, false
	}
	if en.tip() == nil { // its held creation was already lost
		return attemptCall{}, false
	}
	ex.ctx, ex.cancel = context.WithCancel(e.ctx)
	ex.closed = false
	en.run = ex
	en.flushErr = nil
	req := &Request{Task: en.tip().Task, Message: it.msg, Attempt: a.n, MaxAttempts: e.opts.MaxAttempts, Resumed: a.resumed}
	return attemptCall{ctx: ex.ctx, req: req, pub: &publisher{e: e, en: en, ex: ex}}, true
}

// awaitPrevious waits until the task has no execution but ex: an answer can
// arrive before the run that asked the question has returned from Execute.
// It releases en.mu while waiting. false: the engine closed meanwhile.
// Caller holds en.mu.
func (e *Engine) awaitPrevious(en *taskEntry, ex *execution, a attemptPlan) bool {
	for en.run != nil && en.run != ex {
		prev := en.run
		en.mu.Unlock()
		select {
		case <-prev.done:
			en.mu.Lock()
		case <-e.ctx.Done():
			en.mu.Lock()
			if !a.fromQueue { // the answer already set the task working
				e.stopRun(en, ex, a.n)
			}
			return false
		}
	}
	return true
}

// markWorking checks that the task may start attempt a and records it
// working. false: it may not (closed, canceled, ended or waiting for its
// user), and the run ends. Caller holds en.mu.
func (e *Engine) markWorking(it *queueItem, en *taskEntry, ex *execution, a attemptPlan) bool {
	st := en.rec.Task.Status.State
	closed := e.closed.Load()
	ok := !closed && !ex.canceled && !st.Terminal() && !st.Interrupted()
	if a.fromQueue {
		ok = ok && st == a2a.StateSubmitted
	}
	if !ok {
		if closed && !a.fromQueue {
			// Closed while waiting to retry: attempt-1 failed for real.
			e.stopRun(en, ex, a.n)
		} else if ex.canceled && !st.Terminal() && !closed {
			e.finishCanceled(en, ReasonCanceled)
		}
		return false
	}
	// The working update goes with the executor's first publish (see
	// hold): one store commit instead of two, and the slot is not spent
	// waiting for a commit of its own. Nothing is acknowledged before it is
	// durable; if it is lost in a crash, the task is still submitted and
	// runs again on restart.
	ev := e.status(en.rec.Task, a2a.StateWorking, "", a.note)
	n := a.n
	_, err := e.hold(en, change{events: []a2a.Event{ev}, start: it.fresh && n == 1,
		update: func(r *Record) { r.Running = true; r.Attempts = n; r.Stopped = false }})
	if err != nil {
		e.log.Error("start execution", "task", en.id, "err", err)
		return false
	}
	return true
}

// settle records how attempt n of ex ended, Execute having returned err:
// completed, failed, canceled, waiting for its user, stopped by Close, or
// to be retried.
func (e *Engine) settle(en *taskEntry, ex *execution, n int, err error) outcome {
	en.mu.Lock()
	defer en.mu.Unlock()
	ex.cancel()
	ex.closed = true
	en.drain() // the attempt's last events reach the store first
	if en.rec == nil {
		// Its held creation was lost (see holdCreation): the task does not
		// exist and its Send has failed.
		return outcome{}
	}
	if errors.Is(en.flushErr, ErrConflict) {
		// Another replica took the task over or canceled it (loseRun):
		// nothing more of this execution is written; this replica's
		// readers catch up with what the other one stored.
		e.log.Info("execution stopped: the task was changed by another replica", "task", en.id, "err", en.flushErr)
		e.catchUp(en)
		return outcome{}
	}
	if e.closed.Load() {
		e.stopRun(en, ex, n)
		return outcome{}
	}
	task := en.rec.Task
	var final a2a.Event
	switch {
	case task.Status.State.Terminal():
		// The executor ended it, or the cancel grace ran out.
	case ex.canceled:
		if cerr := e.finishCanceled(en, ReasonCanceled); errors.Is(cerr, ErrConflict) {
			// Another replica stored the cancel first (cancelLocal): its
			// event was not handed to this replica's readers while the run
			// lasted (applyRemote skips running tasks), so catch up now.
			e.catchUp(en)
		}
	case en.flushErr != nil:
		// Events the executor published were lost: what it did is not what
		// the task shows, so the task fails (if the store works).
		final = e.status(task, a2a.StateFailed, "", fmt.Sprintf("events of this execution were lost: %v", en.flushErr))
	case ex.interrupted:
		// Asked its user; an answer may already have started the next run.
		e.endAuthFollowers(en)
		if err != nil && !ex.superseded {
			e.log.Warn("executor returned an error after asking its user", "task", en.id, "err", err)
		}
	case err == nil:
		final = e.status(task, a2a.StateCompleted, "", "")
	case IsRetryable(err) && n < e.opts.MaxAttempts:
		delay := e.backoff(n)
		ev := e.status(task, a2a.StateWorking, ex.progressID,
			fmt.Sprintf("attempt %d/%d failed: %v; retrying in %s", n, e.opts.MaxAttempts, err, delay))
		if cerr := e.commit(e.ctx, en, change{events: []a2a.Event{ev}}); cerr != nil {
			e.log.Error("record retry", "task", en.id, "err", cerr)
			if errors.Is(cerr, ErrConflict) {
				e.catchUp(en)
				return outcome{} // the task is another replica's now
			}
		}
		return outcome{retry: true, delay: delay}
	default:
		final = e.status(task, a2a.StateFailed, "", err.Error())
	}
	if final != nil {
		if cerr := e.commit(e.ctx, en, change{events: []a2a.Event{final}}); cerr != nil {
			e.log.Error("finish task", "task", en.id, "err", cerr)
		}
	}
	return outcome{}
}

// waitRetry waits out a retry's delay; a cancel or Close cuts it short
// (the next startAttempt sees why).
func (e *Engine) waitRetry(ex *execution, delay time.Duration) {
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ex.stop:
	case <-e.ctx.Done():
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
		e.freeSlot(ex.taskID)
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

// loseRun stops the task's execution after the store refused its events
// with ErrConflict: another replica took the task over or canceled it, so
// whatever this execution does next would be stale. Its publisher refuses
// everything from now on and its context is canceled; settle then writes
// nothing. Caller holds en.mu.
func (e *Engine) loseRun(en *taskEntry) {
	ex := en.run
	if ex == nil || ex.closed {
		return
	}
	ex.closed = true
	if ex.cancel != nil {
		ex.cancel()
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
