package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/a2atop/a2atop/a2a"
)

// taskEntry is the engine's in-memory state of a task that is running,
// queued, being changed or being read. Its mutex makes whoever holds it the
// task's only writer.
type taskEntry struct {
	id string
	// refs counts holders (operations in progress, readers, the queue, an
	// execution); guarded by Engine.mu. At zero the entry is dropped.
	refs int

	mu sync.Mutex
	// rec is the last committed record, nil until loaded (or, for a task
	// being created, until its first commit).
	rec *Record
	// run is the execution in progress, if any.
	run *execution
	// bc carries committed events to Stream/Subscribe readers; nil until
	// the first reader.
	bc      *broadcaster[taskItem]
	readers int
	// sawExec: the executor published something for this task, so Reply
	// can no longer turn the send's result into a plain Message. Entries
	// loaded from the store assume it did.
	sawExec bool

	// The pipeline of the executor's publishes (see enqueue). head is the
	// record after the pending events (nil when nothing is pending: rec is
	// the tip); pending are sequenced events not yet handed to the store;
	// unpersisted counts the events not yet persisted (pending and the
	// batch being committed), for back-pressure; flushing is true while a
	// flusher goroutine owns the store writes of this task; flushErr is
	// the store error that lost events of the current attempt.
	head        *Record
	pending     []*pendingGroup
	unpersisted int
	flushing    bool
	flushErr    error
	// draining counts writers waiting in drain; publishes wait for them,
	// so that a fast executor cannot keep a flush going forever.
	draining int
	// flushed is signalled (on mu) after every flush round.
	flushed *sync.Cond
	// held: pending holds a new task's creation that no flusher commits
	// yet (see Engine.holdCreation); kick starts the flusher for it.
	held      bool
	kick      func()
	holdTimer *time.Timer
}

// holdLimit bounds how long a held creation waits for the executor's
// first publish: a task that is slow to say anything still shows up in
// the store (List, Watch, the dashboard) soon after it starts.
const holdLimit = 20 * time.Millisecond

// maxUnpersisted bounds the progress events a task may have sequenced but
// not yet persisted: a publish beyond it waits for the store.
const maxUnpersisted = 1024

// pendingGroup is one publish's events, sequenced and waiting for the
// flusher's next store commit.
type pendingGroup struct {
	first  uint64 // cursor of logged[0]; a group's cursors are consecutive
	logged []LoggedEvent
	steps  []*a2a.Task // the task after each event
	reply  *a2a.Message
	msgIDs []string
	// done, when a publisher waits for durability, is closed once the group
	// is persisted (err nil) or lost (err set).
	done chan struct{}
	err  error
	// start marks a held creation's events (taskItem.start).
	start bool
	// settled, when set, runs under en.mu once the group is persisted or
	// lost (a held creation releases its message id claim).
	settled func()
}

// tip is the task's latest record, including events not yet persisted.
// Caller holds en.mu.
func (en *taskEntry) tip() *Record {
	if en.head != nil {
		return en.head
	}
	return en.rec
}

// drain waits until the task has no pipelined events in flight, so that
// en.rec is the tip and the caller may write synchronously. It releases
// en.mu while waiting: call it right after locking, before reading the
// task. Caller holds en.mu.
func (en *taskEntry) drain() {
	if en.held {
		en.kick() // a held creation is committed now, not with the executor's first publish
	}
	if !en.flushing {
		return
	}
	en.draining++
	for en.flushing {
		en.flushed.Wait()
	}
	en.draining--
	if en.draining == 0 {
		en.flushed.Broadcast() // publishes held back by the drain go on
	}
}

// taskItem is a committed event as Stream/Subscribe readers get it.
type taskItem struct {
	ev   a2a.StreamEvent
	task *a2a.Task // the task after the event
	// final: the task is terminal or interrupted after this event.
	final bool
	// reply is the executor's Reply when it is the send's whole answer.
	reply *a2a.Message
	// start marks the engine's own events at the start of a new task's
	// execution, which a new task's Stream holds back until it knows
	// whether the executor answers with a plain Message.
	start bool
	// err: the task's held creation was lost (see Engine.holdCreation);
	// the reader ends with it.
	err error
	// end: no event; the execution that carried on in auth-required
	// returned with the task still waiting, so readers that kept
	// following it end here (Engine.endAuthFollowers).
	end bool
}

// acquire returns the task's entry, creating an empty one, and takes a
// reference.
func (e *Engine) acquire(id string) *taskEntry {
	e.mu.Lock()
	defer e.mu.Unlock()
	en := e.entries[id]
	if en == nil {
		en = &taskEntry{id: id, sawExec: true}
		en.flushed = sync.NewCond(&en.mu)
		e.entries[id] = en
	}
	en.refs++
	return en
}

// loadedEntry takes a reference to the task's entry only if this engine
// already has it loaded (nil otherwise): for work that concerns only the
// tasks this replica holds, such as other replicas' cancels and events.
// The caller releases it.
func (e *Engine) loadedEntry(id string) *taskEntry {
	e.mu.Lock()
	defer e.mu.Unlock()
	en := e.entries[id]
	if en != nil {
		en.refs++
	}
	return en
}

// ref takes another reference to an entry the caller already holds.
func (e *Engine) ref(en *taskEntry) {
	e.mu.Lock()
	en.refs++
	e.mu.Unlock()
}

func (e *Engine) release(en *taskEntry) {
	e.mu.Lock()
	defer e.mu.Unlock()
	en.refs--
	if en.refs == 0 && e.entries[en.id] == en {
		delete(e.entries, en.id)
	}
}

// lockLoaded acquires the entry, locks it and loads its record. On error
// nothing is held.
func (e *Engine) lockLoaded(ctx context.Context, id string) (*taskEntry, error) {
	if id == "" {
		return nil, a2a.NewError(a2a.ErrInvalidParams, "task id is required")
	}
	en := e.acquire(id)
	en.mu.Lock()
	en.drain()
	if en.rec == nil {
		rec, err := e.store.Get(ctx, id)
		if err != nil {
			en.mu.Unlock()
			e.release(en)
			if errors.Is(err, a2a.ErrTaskNotFound) {
				return nil, err // it names the task already
			}
			return nil, fmt.Errorf("task %s: %w", id, err)
		}
		en.rec = rec
	}
	return en, nil
}

func (e *Engine) unlockRelease(en *taskEntry) {
	en.mu.Unlock()
	e.release(en)
}

// change is one commit's worth of events and bookkeeping.
type change struct {
	events  []a2a.Event
	update  func(*Record) // adjusts bookkeeping (Running, Attempts, ...)
	msgIDs  []string
	reply   *a2a.Message
	start   bool
	created *Record // the first commit of a new task: its initial record
	// stopping: a clean Close's last word on an execution, allowed after
	// the engine is closed until Close returns.
	stopping bool
	// queueLimit: Commit.QueueLimit (a send that queues its task).
	queueLimit int
}

// commit applies, numbers, stores and publishes a change, synchronously:
// the engine's own writes (start, retry, end, cancel, queue positions).
// The caller holds en.mu (and should have drained the pipeline right after
// locking: see drain).
func (e *Engine) commit(ctx context.Context, en *taskEntry, c change) error {
	en.drain()
	if c.stopping {
		e.settleMu.RLock()
		defer e.settleMu.RUnlock()
		if e.settled {
			return ErrClosed
		}
	} else if e.closed.Load() {
		return ErrClosed
	}
	rec, g, err := e.fold(en, en.rec, c)
	if err != nil {
		return err
	}
	err = e.store.Commit(context.WithoutCancel(ctx), &Commit{Record: rec, Events: g.logged, MessageIDs: g.msgIDs, QueueLimit: c.queueLimit})
	e.seq.done(g.first, len(g.logged), g.logged, err == nil)
	if err != nil {
		return fmt.Errorf("task %s: store: %w", en.id, err)
	}
	en.rec = rec
	if en.bc != nil && en.readers > 0 {
		e.fanOut(en, []*pendingGroup{g})
	}
	return nil
}

// fold applies c's events with a2a.Apply on top of base (or of c.created,
// a new task's initial record) and numbers them: per-task Seq after base's
// LastSeq, global cursors from the sequencer. It returns the record after
// the change and the change as a group of logged events. The caller owes
// the sequencer seq.done for the group's cursors, whether the store takes
// the events or not. It is the one fold of both write paths: commit
// (synchronous) and sequencePending (pipelined). Caller holds en.mu.
func (e *Engine) fold(en *taskEntry, base *Record, c change) (*Record, *pendingGroup, error) {
	var task *a2a.Task
	if c.created != nil {
		base = c.created
	} else {
		task = base.Task
	}
	var err error
	steps := make([]*a2a.Task, len(c.events))
	for i, ev := range c.events {
		if task, err = a2a.Apply(task, ev); err != nil {
			return nil, nil, fmt.Errorf("task %s: %w", en.id, err)
		}
		steps[i] = task
	}
	now := e.now()
	rec := *base
	rec.Task = task
	rec.Updated = now
	if c.update != nil {
		c.update(&rec)
	}
	if isFinal(task) {
		rec.Running = false
	}
	g := &pendingGroup{first: e.seq.assign(len(c.events)), logged: make([]LoggedEvent, len(c.events)), steps: steps,
		reply: c.reply, start: c.start, msgIDs: c.msgIDs}
	for i, ev := range c.events {
		rec.LastSeq++
		g.logged[i] = LoggedEvent{TaskID: en.id, Seq: rec.LastSeq, Cursor: g.first + uint64(i), Time: now, Event: ev}
	}
	return &rec, g, nil
}

// status builds a status update of task t. Texts with the same msgID
// replace each other as the status message instead of piling up in the
// history (the event log keeps them all); an empty msgID gets a fresh id.
func (e *Engine) status(t *a2a.Task, state a2a.TaskState, msgID, text string) *a2a.StatusUpdateEvent {
	st := a2a.TaskStatus{State: state, Timestamp: e.now()}
	if text != "" {
		if msgID == "" {
			msgID = e.newID()
		}
		st.Message = &a2a.Message{ID: msgID, Role: a2a.RoleAgent, Parts: []a2a.Part{a2a.TextPart(text)},
			TaskID: t.ID, ContextID: t.ContextID}
	}
	// auth-required is not final: the execution may carry on when
	// credentials arrive out of band (A2A v1.0 §7.6.1), so v0.3 streams get
	// final:false and end when the stream closes.
	return &a2a.StatusUpdateEvent{TaskID: t.ID, ContextID: t.ContextID, Status: st,
		Final: state.Terminal() || state == a2a.StateInputRequired}
}

// enqueue is the executor's write path: it applies and numbers c at once
// (so the publish's rules see the task as the executor left it), appends
// it to the task's pending events and returns without waiting for the
// store. The task's flusher goroutine commits everything pending in one
// Store.Commit, then hands the events to readers in order: nothing is
// shown before it is persisted. The caller holds en.mu, has checked that
// the execution may publish, and waits on the returned group's done when
// it needs durability.
func (e *Engine) enqueue(en *taskEntry, c change, wait bool) (*pendingGroup, error) {
	g, err := e.sequencePending(en, c, wait)
	if err != nil {
		return nil, err
	}
	e.startFlush(en)
	return g, nil
}

// sequencePending applies and numbers c on top of the task's tip (or of
// c.created, a new task's initial record) and appends it to the pending
// events, without starting the flusher. Caller holds en.mu.
func (e *Engine) sequencePending(en *taskEntry, c change, wait bool) (*pendingGroup, error) {
	rec, g, err := e.fold(en, en.tip(), c)
	if err != nil {
		return nil, err
	}
	if wait {
		g.done = make(chan struct{})
	}
	en.head = rec
	en.pending = append(en.pending, g)
	en.unpersisted += len(c.events)
	return g, nil
}

// startFlush starts the task's flusher if events are pending and none
// runs. Caller holds en.mu.
func (e *Engine) startFlush(en *taskEntry) {
	en.held = false
	if en.holdTimer != nil {
		en.holdTimer.Stop()
		en.holdTimer = nil
	}
	if en.flushing || len(en.pending) == 0 {
		return
	}
	en.flushing = true
	// The task's execution holds a runs count (its run goroutine has not
	// returned, and a held creation is flushed by the time it returns),
	// so this Add never races Close's Wait at zero.
	e.runs.Add(1)
	e.ref(en)
	e.workers.goFunc(func() { e.flush(en) })
}

// flush commits the task's pending events, a round at a time, each round
// one Store.Commit of everything sequenced meanwhile (a group commit per
// task, on top of the store's grouping across tasks). It returns when
// nothing is pending.
func (e *Engine) flush(en *taskEntry) {
	defer e.runs.Done()
	defer e.release(en)
	en.mu.Lock()
	defer en.mu.Unlock()
	for len(en.pending) > 0 {
		groups, rec := en.pending, en.head
		en.pending = nil
		var events []LoggedEvent
		var msgIDs []string
		for _, g := range groups {
			events = append(events, g.logged...)
			msgIDs = append(msgIDs, g.msgIDs...)
		}
		en.mu.Unlock()
		err := e.storePipelined(&Commit{Record: rec, Events: events, MessageIDs: msgIDs})
		for _, g := range groups {
			e.seq.done(g.first, len(g.logged), g.logged, err == nil)
		}
		en.mu.Lock()
		en.unpersisted -= len(events)
		if err == nil {
			en.rec = rec
			if en.head == rec {
				en.head = nil
			}
			if en.bc != nil && en.readers > 0 {
				e.fanOut(en, groups)
			}
		} else {
			err = fmt.Errorf("task %s: store: %w", en.id, err)
			en.flushErr = err
			if errors.Is(err, ErrConflict) {
				e.loseRun(en)
			}
			// What is still pending was built on the lost events: lose it too
			// (its cursors become gaps, as a failed commit's do).
			for _, g := range en.pending {
				e.seq.done(g.first, len(g.logged), g.logged, false)
				en.unpersisted -= len(g.logged)
			}
			groups = append(groups, en.pending...)
			en.pending, en.head = nil, nil
			e.log.Error("store the executor's events", "task", en.id, "events", len(events), "err", err)
			if en.rec == nil && en.bc != nil && en.readers > 0 {
				// A held creation was lost: the task does not exist, and
				// its blocking Send fails with this.
				en.bc.publish(taskItem{err: fmt.Errorf("the task was not created: %w", err), final: true})
			}
		}
		for _, g := range groups {
			g.err = err
			if g.done != nil {
				close(g.done)
			}
			if g.settled != nil {
				g.settled()
			}
		}
		en.flushed.Broadcast()
	}
	en.flushing = false
	en.flushed.Broadcast()
}

// storePipelined commits a flush round. Events accepted before Close are
// still persisted while Close waits for executions, never after it returns.
func (e *Engine) storePipelined(c *Commit) error {
	e.settleMu.RLock()
	defer e.settleMu.RUnlock()
	if e.settled {
		return ErrClosed
	}
	return e.store.Commit(context.Background(), c)
}

// fanOut hands persisted groups to the task's readers. Caller holds en.mu.
func (e *Engine) fanOut(en *taskEntry, groups []*pendingGroup) {
	n := 0
	for _, g := range groups {
		n += len(g.logged)
	}
	items := make([]taskItem, 0, n)
	for _, g := range groups {
		for i, l := range g.logged {
			items = append(items, taskItem{ev: a2a.StreamEvent{Event: l.Event, Seq: l.Seq, Time: l.Time}, task: g.steps[i], start: g.start})
		}
		last := &items[len(items)-1]
		last.final = isFinal(last.task)
		last.reply = g.reply
	}
	en.bc.publish(items...)
}
