package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/a2atop/a2atop/a2a"
)

// Send starts a task or answers one waiting for input. A message id the
// engine has seen returns that message's task instead of starting another.
// Unless ReturnImmediately is set it waits until the task is terminal or
// waits for its user (or ctx ends).
func (e *Engine) Send(ctx context.Context, req *a2a.SendRequest) (*a2a.SendResult, error) {
	if req == nil {
		return nil, a2a.NewError(a2a.ErrInvalidParams, "send: no request")
	}
	blocking := !req.Config.ReturnImmediately
	task, s, err := e.submit(ctx, req, blocking, blocking)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return &a2a.SendResult{Task: trimTask(task, req.Config.HistoryLength, true)}, nil
	}
	defer s.Close()
	final, reply, err := s.waitFinal()
	if err != nil {
		// The caller stops waiting: a held creation is made durable now,
		// so the task it leaves running is visible (see holdCreation).
		s.en.mu.Lock()
		if s.en.held {
			s.en.drain()
		}
		s.en.mu.Unlock()
		return nil, fmt.Errorf("send: waiting for task %s: %w", task.ID, err)
	}
	if reply != nil {
		return &a2a.SendResult{Message: reply}, nil
	}
	return &a2a.SendResult{Task: trimTask(final, req.Config.HistoryLength, true)}, nil
}

// Stream is Send with the task's events: the Task first, then its status
// and artifact updates until it is terminal or waits for its user. When the
// executor answers a new task with Reply, the stream is that one Message.
func (e *Engine) Stream(ctx context.Context, req *a2a.SendRequest) (a2a.Stream, error) {
	if req == nil {
		return nil, a2a.NewError(a2a.ErrInvalidParams, "stream: no request")
	}
	_, s, err := e.submit(ctx, req, true, false)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// submit creates or continues a task; with follow it also returns a reader
// registered before the task's first new event. blocking: the caller
// answers only once the task is final (see holdCreation).
func (e *Engine) submit(ctx context.Context, req *a2a.SendRequest, follow, blocking bool) (*a2a.Task, *taskStream, error) {
	if e.closed.Load() {
		return nil, nil, ErrClosed
	}
	if err := e.refuseObserved("send"); err != nil {
		return nil, nil, err
	}
	if err := checkHistoryLength(req.Config.HistoryLength); err != nil {
		return nil, nil, err
	}
	msg := req.Message
	if err := validateMessage(&msg); err != nil {
		return nil, nil, err
	}
	if msg.ID == "" {
		msg.ID = e.newID()
	}
	if msg.Role == a2a.RoleUnspecified {
		msg.Role = a2a.RoleUser
	}
	done, existing, err := e.claimMessage(ctx, msg.ID)
	if err != nil {
		return nil, nil, err
	}
	// createTask may take the claim over (a held creation keeps it until
	// the creation is durable).
	defer func() {
		if done != nil {
			done()
		}
	}()
	if existing != "" {
		return e.existingTask(ctx, existing, &msg, follow)
	}
	if msg.TaskID != "" {
		return e.continueTask(ctx, &msg, follow)
	}
	return e.createTask(ctx, req, &msg, follow, blocking, &done)
}

// claimMessage makes concurrent sends of one message id take turns, and
// reports the task an earlier send of it created.
func (e *Engine) claimMessage(ctx context.Context, id string) (done func(), taskID string, err error) {
	for {
		e.mu.Lock()
		busy, ok := e.sending[id]
		if !ok {
			ch := make(chan struct{})
			e.sending[id] = ch
			e.mu.Unlock()
			done = func() {
				e.mu.Lock()
				delete(e.sending, id)
				e.mu.Unlock()
				close(ch)
			}
			break
		}
		e.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			return nil, "", ctx.Err()
		}
	}
	taskID, seen, err := e.store.TaskForMessage(ctx, id)
	if err != nil {
		done()
		return nil, "", fmt.Errorf("send: look up message %s: %w", id, err)
	}
	if !seen {
		taskID = ""
	}
	return done, taskID, nil
}

// existingTask answers a message whose id the engine has seen: the task it
// created, when msg is the same message again (a retry); an invalid-params
// error when it is another message under a reused id, which would
// otherwise be silently dropped.
func (e *Engine) existingTask(ctx context.Context, id string, msg *a2a.Message, follow bool) (*a2a.Task, *taskStream, error) {
	en, err := e.lockLoaded(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	defer e.unlockRelease(en)
	task := en.rec.Task
	if first := findMessage(task.History, msg.ID); first != nil && !sameContent(first, msg) {
		return nil, nil, a2a.NewError(a2a.ErrInvalidParams,
			"message id %s was already used for another message (task %s): give each new message a new messageId; send the same message again only to retry it", msg.ID, task.ID)
	}
	if !follow {
		return task, nil, nil
	}
	return task, e.newTaskStream(ctx, en, task, false), nil
}

// findMessage is the message with id in history, or nil (a history
// trimmed by the store may have lost it: then nothing is compared).
func findMessage(history []a2a.Message, id string) *a2a.Message {
	for i := range history {
		if history[i].ID == id {
			return &history[i]
		}
	}
	return nil
}

// sameContent reports whether a retried message says what the first one
// said: same role and parts. Ids the engine fills in (task, context) and
// metadata are not compared.
func sameContent(first, again *a2a.Message) bool {
	if first.Role != again.Role || len(first.Parts) != len(again.Parts) {
		return false
	}
	for i := range first.Parts {
		a, b := &first.Parts[i], &again.Parts[i]
		if a.Kind != b.Kind || a.Text != b.Text || a.MediaType != b.MediaType || !sameJSON(a.Data, b.Data) {
			return false
		}
		if (a.File == nil) != (b.File == nil) {
			return false
		}
		if a.File != nil && (a.File.Name != b.File.Name || a.File.MediaType != b.File.MediaType ||
			a.File.URI != b.File.URI || !bytes.Equal(a.File.Bytes, b.File.Bytes)) {
			return false
		}
	}
	return true
}

// sameJSON compares two JSON values ignoring insignificant whitespace.
func sameJSON(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

func (e *Engine) createTask(ctx context.Context, req *a2a.SendRequest, msg *a2a.Message, follow, blocking bool, claim *func()) (*a2a.Task, *taskStream, error) {
	id := e.newID()
	if msg.ContextID == "" {
		msg.ContextID = e.newID()
	}
	msg.TaskID = id
	prio := ParsePriority(msg.Metadata)
	if prio == PriorityNormal {
		prio = ParsePriority(req.Metadata)
	}
	now := e.now()
	task := &a2a.Task{ID: id, ContextID: msg.ContextID, Status: a2a.TaskStatus{State: a2a.StateSubmitted, Timestamp: now},
		History: []a2a.Message{*msg}, Metadata: maps.Clone(req.Metadata)}
	en := e.acquire(id)
	en.mu.Lock()
	defer e.unlockRelease(en)
	en.sawExec = false
	it := &queueItem{entry: en, prio: prio, attempt: 1, msg: msg, fresh: true}
	pos, err := e.admit(it, true)
	if err != nil {
		return nil, nil, err
	}
	c := change{created: &Record{Created: now, Priority: prio}, msgIDs: []string{msg.ID}}
	if pos == 0 {
		c.events = []a2a.Event{task, e.status(task, a2a.StateWorking, "", "")}
		c.update = func(r *Record) { r.Running = true; r.Attempts = 1 }
		c.start = true
	} else {
		task.Status = e.status(task, a2a.StateSubmitted, it.statusID, queuedText(pos, "")).Status
		c.events = []a2a.Event{task}
		c.queueLimit = e.sharedQueueLimit()
	}
	var s *taskStream
	if follow {
		s = e.newTaskStream(ctx, en, nil, pos == 0)
	}
	if pos == 0 && blocking {
		if err := e.holdCreation(en, c, claim); err != nil {
			e.unadmit(it)
			if s != nil {
				s.closeLocked()
			}
			return nil, nil, fmt.Errorf("send: %w", err)
		}
		e.launch(it)
		return en.tip().Task, s, nil
	}
	if err := e.commit(ctx, en, c); err != nil {
		e.unadmit(it)
		if s != nil {
			s.closeLocked()
		}
		return nil, nil, e.sendCommitErr(err)
	}
	if pos == 0 {
		e.launch(it)
	}
	return en.rec.Task, s, nil
}

// holdCreation is the creation of a task for a blocking Send that got a
// slot at once. Rule: its creation commit (record, submitted and working
// events, message id) is not made durable before the execution starts; it
// waits in the task's pipeline and is committed with the executor's first
// publish, so that an echo task costs one store commit, not two. That is
// safe because such a Send acknowledges nothing before it returns, and it
// returns only after the task's final commit is durable (or fails):
//   - readers see nothing before it is persisted (the flusher publishes
//     after the commit, and Watch cursors are released in order);
//   - the message id claim (claimMessage) is kept until the creation is
//     durable or lost, so a concurrent duplicate send waits and then finds
//     the task in the store;
//   - any other writer or reader of the task drains the pipeline first,
//     which commits a held creation at once (taskEntry.drain);
//   - if the combined commit fails, nothing of the task is stored, the
//     Send fails with the store's error (taskItem.err) and the execution
//     ends without touching the task (run: en.rec stays nil).
//
// Queued tasks, ReturnImmediately sends and Streams (which show the task
// to their caller at once) keep the durable creation commit. Caller holds
// en.mu.
func (e *Engine) holdCreation(en *taskEntry, c change, claim *func()) error {
	if e.closed.Load() {
		return ErrClosed
	}
	g, err := e.hold(en, c)
	if err != nil {
		return err
	}
	done := *claim
	*claim = nil
	g.settled = done
	return nil
}

// hold sequences c into the task's pipeline without starting the flusher:
// it is committed with the executor's first publish, when anyone drains
// the pipeline, or after holdLimit, whichever comes first. The caller is
// the task's run goroutine or launches it (its drain after Execute ends
// the hold) and holds en.mu.
func (e *Engine) hold(en *taskEntry, c change) (*pendingGroup, error) {
	g, err := e.sequencePending(en, c, false)
	if err != nil {
		return nil, err
	}
	en.held = true
	en.kick = func() { e.startFlush(en) }
	// While held, the run goroutine is alive, so the flusher's runs.Add
	// is safe from the timer.
	en.holdTimer = time.AfterFunc(e.holdLimit, func() {
		en.mu.Lock()
		if en.held {
			en.kick()
		}
		en.mu.Unlock()
	})
	return g, nil
}

func (e *Engine) continueTask(ctx context.Context, msg *a2a.Message, follow bool) (*a2a.Task, *taskStream, error) {
	en, err := e.lockLoaded(ctx, msg.TaskID)
	if err != nil {
		return nil, nil, err
	}
	defer e.unlockRelease(en)
	t := en.rec.Task
	st := t.Status.State
	switch {
	case st.Terminal():
		// The spec (CORE-SEND-002) says UnsupportedOperationError; the a2a-go
		// SDK answers -32602 instead.
		return nil, nil, a2a.NewError(a2a.ErrUnsupported,
			"task %s is %s: a finished task accepts no more messages; start a new task", t.ID, st)
	case !st.Interrupted():
		return nil, nil, a2a.NewError(a2a.ErrInvalidParams,
			"task %s is %s: it accepts a message only while it waits for input or authentication", t.ID, st)
	}
	if msg.ContextID != "" && msg.ContextID != t.ContextID {
		return nil, nil, a2a.NewError(a2a.ErrInvalidParams,
			"message context %s does not match task %s's context %s", msg.ContextID, t.ID, t.ContextID)
	}
	msg.ContextID = t.ContextID
	it := &queueItem{entry: en, prio: en.rec.Priority, attempt: 1, msg: msg}
	pos, err := e.admit(it, true)
	if err != nil {
		return nil, nil, err
	}
	c := change{events: []a2a.Event{msg}, msgIDs: []string{msg.ID}}
	if pos == 0 {
		c.events = append(c.events, e.status(t, a2a.StateWorking, "", ""))
		c.update = func(r *Record) { r.Running = true; r.Attempts = 1 }
	} else {
		c.events = append(c.events, e.status(t, a2a.StateSubmitted, it.statusID, queuedText(pos, "")))
		c.update = func(r *Record) { r.Attempts = 0 }
		c.queueLimit = e.sharedQueueLimit()
	}
	if err := e.commit(ctx, en, c); err != nil {
		e.unadmit(it)
		return nil, nil, e.sendCommitErr(err)
	}
	e.supersede(en) // the run that asked may still be waiting (auth-required)
	var s *taskStream
	if follow {
		s = e.newTaskStream(ctx, en, en.rec.Task, false)
	}
	if pos == 0 {
		e.launch(it)
	}
	return en.rec.Task, s, nil
}

// sharedQueueLimit is the Commit.QueueLimit of a send that queues its
// task: MaxQueued when a shared store counts the cluster's queue (the
// engine's own check in admit sees only this replica's queue and the
// store's count from before the commit, so racing sends on several
// replicas could both pass it).
func (e *Engine) sharedQueueLimit() int {
	if _, ok := e.store.(SharedQueueCount); ok && e.opts.MaxQueued > 0 {
		return e.opts.MaxQueued
	}
	return 0
}

// sendCommitErr is the error of a send whose commit failed: busy when the
// store found the cluster's queue full.
func (e *Engine) sendCommitErr(err error) error {
	if errors.Is(err, ErrQueueFull) {
		return a2a.NewError(a2a.ErrServerBusy,
			"server busy: %d tasks are already queued across the replicas (limit %d): send again later, or cancel queued tasks", e.opts.MaxQueued, e.opts.MaxQueued)
	}
	return fmt.Errorf("send: %w", err)
}
