package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/a2atop/a2atop/a2a"
)

// trimTask returns t with at most *hist history messages (nil: all) and,
// unless artifacts, without artifacts. t itself is never modified.
func trimTask(t *a2a.Task, hist *int, artifacts bool) *a2a.Task {
	if t == nil {
		return nil
	}
	cut := hist != nil && *hist < len(t.History)
	strip := !artifacts && len(t.Artifacts) > 0
	if !cut && !strip {
		return t
	}
	c := *t
	if cut {
		n := max(*hist, 0)
		c.History = t.History[len(t.History)-n:]
		if n == 0 {
			c.History = nil
		}
	}
	if strip {
		c.Artifacts = nil
	}
	return &c
}

func checkHistoryLength(h *int) error {
	if h != nil && *h < 0 {
		return a2a.NewError(a2a.ErrInvalidParams, "history length %d is negative", *h)
	}
	return nil
}

// Reader answers Get, List and Timeline straight from a Store without
// running anything: the Engine uses it, and so can a command that only
// reads (opening an Engine resumes unfinished tasks).
type Reader struct{ Store Store }

// Get returns a task by id.
func (e *Engine) Get(ctx context.Context, req a2a.GetRequest) (*a2a.Task, error) {
	if e.closed.Load() {
		return nil, ErrClosed
	}
	return Reader{e.store}.Get(ctx, req)
}

// List returns tasks newest change first; see Reader.List.
func (e *Engine) List(ctx context.Context, req a2a.ListRequest) (*a2a.ListPage, error) {
	if e.closed.Load() {
		return nil, ErrClosed
	}
	return Reader{e.store}.List(ctx, req)
}

// The engine and its Reader keep every event of a task.
var (
	_ a2a.TimelineSource = (*Engine)(nil)
	_ a2a.TimelineSource = Reader{}
)

// Timeline returns a task's event log: every change, in order, with its
// time, for the dashboard.
func (e *Engine) Timeline(ctx context.Context, taskID string) ([]a2a.TimelineEvent, error) {
	if e.closed.Load() {
		return nil, ErrClosed
	}
	return Reader{e.store}.Timeline(ctx, taskID)
}

// Get returns a stored task by id.
func (r Reader) Get(ctx context.Context, req a2a.GetRequest) (*a2a.Task, error) {
	if req.ID == "" {
		return nil, a2a.NewError(a2a.ErrInvalidParams, "task id is required")
	}
	if err := checkHistoryLength(req.HistoryLength); err != nil {
		return nil, err
	}
	rec, err := r.Store.Get(ctx, req.ID)
	if err != nil {
		return nil, fmt.Errorf("get task %s: %w", req.ID, err)
	}
	return trimTask(rec.Task, req.HistoryLength, true), nil
}

// List returns stored tasks newest change first (oldest first with
// Reverse), with v1.0 ListTasks paging and filters plus a2atop's text
// filter. TotalSize is -1 when the
// store cannot count the matches without a scan (text, time or combined
// filters).
func (r Reader) List(ctx context.Context, req a2a.ListRequest) (*a2a.ListPage, error) {
	size := req.PageSize
	switch {
	case size < 0:
		return nil, a2a.NewError(a2a.ErrInvalidParams, "page size %d is negative", size)
	case size == 0:
		size = a2a.DefaultPageSize
	case size > a2a.MaxPageSize:
		size = a2a.MaxPageSize
	}
	if err := checkHistoryLength(req.HistoryLength); err != nil {
		return nil, err
	}
	if req.State != "" && !req.State.Known() {
		return nil, a2a.NewError(a2a.ErrInvalidParams, "unknown task state %q", req.State)
	}
	res, err := r.Store.List(ctx, ListQuery{
		ContextID:    req.ContextID,
		State:        req.State,
		UpdatedAfter: req.StatusTimestampAfter,
		Text:         req.Text,
		PageSize:     size,
		PageToken:    req.PageToken,
		Reverse:      req.Reverse,
		ByCreated:    req.ByCreated,
	})
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	page := &a2a.ListPage{NextPageToken: res.NextPageToken, PageSize: size, TotalSize: res.TotalSize,
		Tasks: make([]*a2a.Task, len(res.Records)), Reverse: req.Reverse, ByCreated: req.ByCreated}
	for i, rec := range res.Records {
		page.Tasks[i] = trimTask(rec.Task, req.HistoryLength, req.IncludeArtifacts)
	}
	for _, d := range res.Damaged {
		page.Damaged = append(page.Damaged, d.TaskID)
	}
	return page, nil
}

// Timeline returns a stored task's event log.
func (r Reader) Timeline(ctx context.Context, taskID string) ([]a2a.TimelineEvent, error) {
	evs, err := r.Store.Events(ctx, taskID, 0)
	if err != nil {
		return nil, fmt.Errorf("timeline of task %s: %w", taskID, err)
	}
	out := make([]a2a.TimelineEvent, len(evs))
	for i, ev := range evs {
		out[i] = a2a.TimelineEvent{Seq: ev.Seq, Time: ev.Time, Event: ev.Event}
	}
	return out, nil
}

// Cancel stops a task: a queued or waiting task ends canceled at once; a
// running one has its executor's context canceled and ends canceled when
// the executor returns or after CancelGrace, whichever is first. Canceling
// a canceled task returns it; any other finished task is
// a2a.ErrNotCancelable.
func (e *Engine) Cancel(ctx context.Context, taskID string) (*a2a.Task, error) {
	if e.closed.Load() {
		return nil, ErrClosed
	}
	if err := e.refuseObserved("cancel"); err != nil {
		return nil, err
	}
	en, err := e.lockLoaded(ctx, taskID)
	if err != nil {
		return nil, fmt.Errorf("cancel task %s: %w", taskID, err)
	}
	t := en.rec.Task
	switch st := t.Status.State; {
	case st == a2a.StateCanceled:
		e.unlockRelease(en)
		return t, nil
	case st.Terminal():
		e.unlockRelease(en)
		return nil, a2a.NewError(a2a.ErrNotCancelable, "task %s is %s and cannot be canceled", taskID, st)
	}
	if ex := en.run; ex != nil {
		e.cancelRun(en, ex)
		s := e.newTaskStream(ctx, en, nil, false)
		e.unlockRelease(en)
		defer s.Close()
		final, _, err := s.waitFinal()
		if err != nil {
			return nil, fmt.Errorf("cancel: waiting for task %s to stop: %w", taskID, err)
		}
		return final, nil
	}
	defer e.unlockRelease(en)
	e.mu.Lock()
	it := e.queue.remove(en)
	if it != nil {
		en.refs-- // the queue's reference; ours keeps the entry alive
		e.signalQueue()
	}
	e.mu.Unlock()
	if it != nil {
		e.freeSlot(en.id) // its waiter place, with a shared store
	}
	return e.cancelStored(en)
}

// cancelWait bounds how long a cancel waits, beyond CancelGrace, for the
// replica that runs the task to end it.
const cancelWait = 5 * time.Second

// cancelStored ends a task that does not run here as canceled. With a
// shared store the replica that runs it may store its next event (a
// progress tick) between this replica's read and its commit, which then
// conflicts; a task that publishes faster than a round trip would make
// every try conflict. So after a conflict the owner is asked to cancel it
// (CancelRouter.RequestCancel; it stops the execution, which ends the task
// canceled), and the entry catches up from the task's log until it shows
// the task ended, storing the cancel itself whenever a try gets through
// (a task only queued elsewhere publishes nothing). Caller holds en.mu.
func (e *Engine) cancelStored(en *taskEntry) (*a2a.Task, error) {
	err := e.finishCanceled(en, ReasonCanceled)
	if errors.Is(err, ErrConflict) {
		err = e.cancelElsewhere(en)
	}
	if err != nil {
		return nil, fmt.Errorf("cancel: %w", err)
	}
	return en.rec.Task, nil
}

// cancelElsewhere is cancelStored after a conflict. Caller holds en.mu.
func (e *Engine) cancelElsewhere(en *taskEntry) error {
	if r, ok := e.store.(CancelRouter); ok {
		if err := r.RequestCancel(e.ctx, en.id); err != nil {
			e.log.Warn("ask the task's replica to cancel it", "task", en.id, "err", err)
		}
	}
	deadline := time.Now().Add(e.opts.CancelGrace + cancelWait)
	wait := time.Millisecond
	for {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-e.ctx.Done():
			t.Stop()
			return ErrClosed
		}
		wait = min(2*wait, 100*time.Millisecond)
		e.catchUp(en)
		switch st := en.rec.Task.Status.State; {
		case st == a2a.StateCanceled:
			return nil
		case st.Terminal():
			return a2a.NewError(a2a.ErrNotCancelable, "task %s is %s and cannot be canceled", en.id, st)
		}
		err := e.finishCanceled(en, ReasonCanceled)
		if !errors.Is(err, ErrConflict) || time.Now().After(deadline) {
			return err
		}
	}
}

// Subscribe follows a task: its current snapshot, then live events until it
// is terminal or waits for its user. A task that is already terminal or
// waiting gets its snapshot and then io.EOF: there is nothing to follow.
func (e *Engine) Subscribe(ctx context.Context, taskID string) (a2a.Stream, error) {
	if e.closed.Load() {
		return nil, ErrClosed
	}
	en, err := e.lockLoaded(ctx, taskID)
	if err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	defer e.unlockRelease(en)
	return e.newTaskStream(ctx, en, en.rec.Task, false), nil
}

// Watch follows every task's events from the log: after cursor (a decimal
// cursor from an earlier event), from the start of what is kept
// (a2a.CursorStart), or from now (""); then live. Watch readers never lose
// events: one that falls behind catches up from the store.
func (e *Engine) Watch(ctx context.Context, cursor string) (a2a.Stream, error) {
	if e.closed.Load() {
		return nil, ErrClosed
	}
	if sl, ok := e.store.(SharedLog); ok {
		return e.watchShared(ctx, sl, cursor) // sharedwatch.go
	}
	s := &watchStream{e: e, ctx: ctx, closeCh: make(chan struct{})}
	if cursor == "" {
		for {
			released := e.seq.releasedCursor()
			if pos, ok := e.seq.goLive(released); ok {
				s.scan, s.start, s.live, s.pos = released, released, true, pos
				break
			}
		}
		return s, nil
	}
	c, err := strconv.ParseUint(cursor, 10, 64)
	if err != nil {
		return nil, a2a.NewError(a2a.ErrInvalidParams, "watch: invalid cursor %q: want a decimal number", cursor)
	}
	if released := e.seq.releasedCursor(); c > released {
		return nil, a2a.NewError(a2a.ErrInvalidParams, "watch: cursor %d is ahead of the log (last %d)", c, released)
	}
	s.scan, s.start = c, c
	return s, nil
}
