package engine

import (
	"context"
	"fmt"
	"sync"

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
}

// acquire returns the task's entry, creating an empty one, and takes a
// reference.
func (e *Engine) acquire(id string) *taskEntry {
	e.mu.Lock()
	defer e.mu.Unlock()
	en := e.entries[id]
	if en == nil {
		en = &taskEntry{id: id, sawExec: true}
		e.entries[id] = en
	}
	en.refs++
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
	if en.rec == nil {
		rec, err := e.store.Get(ctx, id)
		if err != nil {
			en.mu.Unlock()
			e.release(en)
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
}

// commit applies, numbers, stores and publishes a change. The caller holds
// en.mu.
func (e *Engine) commit(ctx context.Context, en *taskEntry, c change) error {
	if c.stopping {
		e.settleMu.RLock()
		defer e.settleMu.RUnlock()
		if e.settled {
			return ErrClosed
		}
	} else if e.closed.Load() {
		return ErrClosed
	}
	base := en.rec
	if c.created != nil {
		base = c.created
	}
	task := base.Task
	if c.created != nil {
		task = nil
	}
	var err error
	steps := make([]*a2a.Task, len(c.events))
	for i, ev := range c.events {
		if task, err = a2a.Apply(task, ev); err != nil {
			return fmt.Errorf("task %s: %w", en.id, err)
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
	if st := task.Status.State; st.Terminal() || st.Interrupted() {
		rec.Running = false
	}
	logged := make([]LoggedEvent, len(c.events))
	first := e.seq.assign(len(c.events))
	for i, ev := range c.events {
		rec.LastSeq++
		logged[i] = LoggedEvent{TaskID: en.id, Seq: rec.LastSeq, Cursor: first + uint64(i), Time: now, Event: ev}
	}
	err = e.store.Commit(context.WithoutCancel(ctx), &Commit{Record: &rec, Events: logged, MessageIDs: c.msgIDs})
	e.seq.done(first, len(logged), logged, err == nil)
	if err != nil {
		return fmt.Errorf("task %s: store: %w", en.id, err)
	}
	en.rec = &rec
	if en.bc != nil && en.readers > 0 {
		items := make([]taskItem, len(logged))
		for i, l := range logged {
			items[i] = taskItem{
				ev:    a2a.StreamEvent{Event: l.Event, Seq: l.Seq, Time: l.Time},
				task:  steps[i],
				start: c.start,
			}
		}
		last := &items[len(items)-1]
		st := task.Status.State
		last.final = st.Terminal() || st.Interrupted()
		last.reply = c.reply
		en.bc.publish(items...)
	}
	return nil
}

// status builds a status update of task t. Texts with the same msgID
// replace each other as the status message instead of piling up in the
// history (the event log keeps them all); an empty msgID gets a fresh id.
func (e *Engine) status(t *a2a.Task, state a2a.TaskState, msgID, text string) *a2a.StatusUpdateEvent {
	st := a2a.TaskStatus{State: state, Timestamp: e.now()}
	if text != "" {
		if msgID == "" {
			msgID = newID()
		}
		st.Message = &a2a.Message{ID: msgID, Role: a2a.RoleAgent, Parts: []a2a.Part{a2a.TextPart(text)},
			TaskID: t.ID, ContextID: t.ContextID}
	}
	return &a2a.StatusUpdateEvent{TaskID: t.ID, ContextID: t.ContextID, Status: st,
		Final: state.Terminal() || state.Interrupted()}
}
