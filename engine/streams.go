package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/a2atop/a2atop/a2a"
)

var errStreamClosed = errors.New("stream closed")

// taskStream follows one task for Stream, Subscribe and blocking Send.
// Recv is called by its one reader; Close may come from anywhere.
type taskStream struct {
	e   *Engine
	en  *taskEntry
	ctx context.Context

	closeCh    chan struct{}
	closeOnce  sync.Once
	unregOnce  sync.Once
	registered bool
	stopAfter  func() bool

	pos  uint64
	out  eventQueue
	buf  []taskItem
	err  error // set when the stream ends; returned after out drains
	done bool
	// hold: a new task's engine-made start events wait until the executor's
	// first event shows whether the answer is a Task or a plain Message.
	hold bool
	held []a2a.StreamEvent
	// finalSnap is set when the snapshot was already terminal or
	// interrupted: nothing follows it.
	finalSnap *a2a.Task
	// seq is the sequence number of the last event taken from the task:
	// after catching up from the store, live items up to it are skipped.
	seq uint64
}

// closedErr is why a closed stream ended: its context, if that closed it.
func closedErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return errStreamClosed
}

func isFinal(t *a2a.Task) bool {
	st := t.Status.State
	return st.Terminal() || st.Interrupted()
}

// newTaskStream makes a reader of en, starting with snapshot when given.
// A reader whose snapshot is already terminal or interrupted gets the
// snapshot and then io.EOF. Caller holds en.mu.
func (e *Engine) newTaskStream(ctx context.Context, en *taskEntry, snapshot *a2a.Task, hold bool) *taskStream {
	s := &taskStream{e: e, en: en, ctx: ctx, closeCh: make(chan struct{}), hold: hold}
	if snapshot != nil {
		s.out.push(a2a.StreamEvent{Event: snapshot, Seq: en.rec.LastSeq, Time: en.rec.Updated})
		s.seq = en.rec.LastSeq
		if isFinal(snapshot) {
			s.finalSnap = snapshot
			if !en.authCarriesOn() {
				s.done = true
				s.err = io.EOF
				return s
			}
		}
	}
	if en.bc == nil {
		en.bc = newBroadcaster[taskItem](e.opts.StreamBuffer)
	}
	en.readers++
	e.ref(en)
	s.registered = true
	s.pos = en.bc.end()
	if en.rec != nil { // nil for a task being created
		s.seq = en.rec.LastSeq
	}
	s.stopAfter = context.AfterFunc(ctx, func() { s.Close() })
	return s
}

func (s *taskStream) unregister(locked bool) {
	if !s.registered {
		return
	}
	s.unregOnce.Do(func() {
		if !locked {
			s.en.mu.Lock()
		}
		s.en.readers--
		if !locked {
			s.en.mu.Unlock()
		}
		s.e.release(s.en)
		if s.stopAfter != nil {
			s.stopAfter()
		}
	})
}

// Close releases the stream; Recv then returns an error.
func (s *taskStream) Close() error {
	s.closeOnce.Do(func() {
		close(s.closeCh)
		s.unregister(false)
	})
	return nil
}

// closeLocked is Close for a caller that holds en.mu.
func (s *taskStream) closeLocked() {
	s.closeOnce.Do(func() {
		close(s.closeCh)
		s.unregister(true)
	})
}

func (s *taskStream) end(err error) {
	if !s.done {
		s.done = true
		s.err = err
	}
	s.unregister(false)
}

func (s *taskStream) Recv() (a2a.StreamEvent, error) {
	for {
		select {
		case <-s.closeCh:
			return a2a.StreamEvent{}, closedErr(s.ctx)
		default:
		}
		if ev, ok := s.out.pop(); ok {
			return ev, nil
		}
		if s.done {
			return a2a.StreamEvent{}, s.err
		}
		if err := s.ctx.Err(); err != nil {
			s.end(err)
			continue
		}
		if s.e.closed.Load() {
			s.end(ErrClosed)
			continue
		}
		items, wait, lagged := s.next()
		if lagged {
			if err := s.catchUp(); err != nil {
				s.end(fmt.Errorf("%w: %w", a2a.ErrLagged, err))
			}
			continue
		}
		if len(items) == 0 {
			s.wait(wait)
			continue
		}
		for _, it := range items {
			if it.end {
				if s.accept(it) {
					break
				}
				continue
			}
			if it.ev.Seq <= s.seq {
				continue // already taken from the store
			}
			s.seq = it.ev.Seq
			if s.accept(it) {
				break
			}
		}
	}
}

// catchUp serves a reader that fell behind the task's ring from the
// store's copy of the task's log, then rejoins the ring where the store
// copy ends. The publisher never waits for a reader; a reader only ends
// with a2a.ErrLagged if the store cannot give it the events it missed.
func (s *taskStream) catchUp() error {
	s.en.mu.Lock()
	last := s.en.rec.LastSeq
	s.pos = s.en.bc.end() // everything up to last is committed; the ring continues after it
	s.en.mu.Unlock()
	evs, err := s.e.store.Events(s.ctx, s.en.id, s.seq)
	if err != nil {
		return err
	}
	if s.hold { // the start is long past: show what was held back
		s.hold = false
		s.out.push(s.held...)
		s.held = nil
	}
	for _, ev := range evs {
		if ev.Seq > last {
			break
		}
		s.seq = ev.Seq
		it := taskItem{ev: a2a.StreamEvent{Event: ev.Event, Seq: ev.Seq, Time: ev.Time}, final: eventIsFinal(ev.Event)}
		if s.accept(it) {
			return nil
		}
	}
	return nil
}

// eventIsFinal reports whether a logged event left its task terminal or
// waiting for its user.
func eventIsFinal(ev a2a.Event) bool {
	switch x := ev.(type) {
	case *a2a.StatusUpdateEvent:
		return x.Status.State.Terminal() || x.Status.State.Interrupted()
	case *a2a.Task:
		return x.Status.State.Terminal() || x.Status.State.Interrupted()
	}
	return false
}

func (s *taskStream) next() (items []taskItem, wait <-chan struct{}, lagged bool) {
	s.buf, s.pos, wait, lagged = s.en.bc.read(s.pos, s.buf[:0])
	return s.buf, wait, lagged
}

func (s *taskStream) wait(ch <-chan struct{}) {
	select {
	case <-ch:
	case <-s.closeCh:
	case <-s.ctx.Done():
	case <-s.e.ctx.Done():
	}
}

// accept queues an item for the reader; it reports whether the stream
// ends with it.
func (s *taskStream) accept(it taskItem) bool {
	if it.err != nil {
		s.end(it.err)
		return true
	}
	if s.hold {
		if it.start && !it.final {
			s.held = append(s.held, it.ev)
			return false
		}
		s.hold = false
		if it.reply != nil {
			s.out.push(a2a.StreamEvent{Event: it.reply, Seq: it.ev.Seq, Time: it.ev.Time})
			s.end(io.EOF)
			return true
		}
		s.out.push(s.held...)
		s.held = nil
	}
	if it.end {
		s.end(io.EOF)
		return true
	}
	s.out.push(it.ev)
	if it.final && !s.followsAuth(it.ev) {
		s.end(io.EOF)
		return true
	}
	return false
}

// followsAuth reports whether the stream keeps reading after ev, which
// left the task terminal or waiting: it does after auth-required when
// more events follow or the execution that asked carries on (A2A v1.0
// §7.6.1: the agent SHOULD keep response streams open; the stream closes
// only at a terminal state). If that execution later returns with the
// task still waiting, an end item closes the stream (endAuthFollowers).
func (s *taskStream) followsAuth(ev a2a.StreamEvent) bool {
	if eventState(ev.Event) != a2a.StateAuthRequired {
		return false
	}
	s.en.mu.Lock()
	defer s.en.mu.Unlock()
	return (s.en.rec != nil && s.en.rec.LastSeq > ev.Seq) || s.en.authCarriesOn()
}

// eventState is the task state an event sets, if it sets one.
func eventState(ev a2a.Event) a2a.TaskState {
	switch x := ev.(type) {
	case *a2a.StatusUpdateEvent:
		return x.Status.State
	case *a2a.Task:
		return x.Status.State
	}
	return ""
}

// waitFinal reads until the task is terminal or interrupted and returns
// it, with the reply when the executor answered with a plain Message. A
// waiter that falls behind resynchronises from the task instead of failing.
func (s *taskStream) waitFinal() (*a2a.Task, *a2a.Message, error) {
	if s.finalSnap != nil {
		return s.finalSnap, nil, nil
	}
	for {
		select {
		case <-s.closeCh:
			return nil, nil, closedErr(s.ctx)
		default:
		}
		if err := s.ctx.Err(); err != nil {
			return nil, nil, err
		}
		if s.e.closed.Load() {
			return nil, nil, ErrClosed
		}
		items, wait, lagged := s.next()
		if lagged {
			s.en.mu.Lock()
			t := s.en.rec.Task
			s.pos = s.en.bc.end()
			s.en.mu.Unlock()
			if isFinal(t) {
				return t, nil, nil
			}
			continue
		}
		if len(items) == 0 {
			s.wait(wait)
			continue
		}
		for _, it := range items {
			if it.err != nil {
				return nil, nil, it.err
			}
			if it.final {
				return it.task, it.reply, nil
			}
		}
	}
}

// watchStream follows every task from the global log: it replays the
// store's log after its cursor, then reads the sequencer's live ring, and
// goes back to the store whenever it falls behind the ring, so it never
// loses an event.
type watchStream struct {
	e         *Engine
	ctx       context.Context
	closeCh   chan struct{}
	closeOnce sync.Once

	// scan: every event up to this cursor was delivered (or never existed).
	scan uint64
	// start is scan when Watch returned: see StartCursor.
	start uint64
	live  bool
	pos   uint64
	out   eventQueue
	buf   []LoggedEvent
}

const watchReplayBatch = 512

var _ a2a.CursorStream = (*watchStream)(nil)

// StartCursor is the cursor the stream starts after: for a Watch from now,
// the log's position when Watch returned (see a2a.CursorStream).
func (s *watchStream) StartCursor() string { return strconv.FormatUint(s.start, 10) }

func (s *watchStream) Close() error {
	s.closeOnce.Do(func() { close(s.closeCh) })
	return nil
}

func (s *watchStream) Recv() (a2a.StreamEvent, error) {
	for {
		select {
		case <-s.closeCh:
			return a2a.StreamEvent{}, closedErr(s.ctx)
		default:
		}
		if ev, ok := s.out.pop(); ok {
			return ev, nil
		}
		if err := s.ctx.Err(); err != nil {
			return a2a.StreamEvent{}, err
		}
		if s.e.closed.Load() {
			return a2a.StreamEvent{}, ErrClosed
		}
		if !s.live {
			if err := s.replay(); err != nil {
				return a2a.StreamEvent{}, err
			}
			continue
		}
		var wait <-chan struct{}
		var lagged bool
		s.buf, s.pos, wait, lagged = s.e.seq.live.read(s.pos, s.buf[:0])
		if lagged {
			s.live = false // catch up from the store
			continue
		}
		if len(s.buf) == 0 {
			select {
			case <-wait:
			case <-s.closeCh:
			case <-s.ctx.Done():
			case <-s.e.ctx.Done():
			}
			continue
		}
		for _, ev := range s.buf {
			if ev.Cursor > s.scan {
				s.scan = ev.Cursor
				s.out.push(watchEvent(ev))
			}
		}
	}
}

// replay reads the next batch of the store's log, never past the
// sequencer's released cursor, and goes live once caught up.
func (s *watchStream) replay() error {
	released := s.e.seq.releasedCursor()
	evs, err := s.e.store.Log(s.ctx, s.scan, watchReplayBatch)
	if err != nil {
		return err
	}
	exhausted := len(evs) < watchReplayBatch
	for _, ev := range evs {
		if ev.Cursor > released {
			exhausted = true
			break
		}
		s.out.push(watchEvent(ev))
		s.scan = ev.Cursor
	}
	if exhausted && s.scan < released {
		s.scan = released // the rest up to released are gaps of failed commits
	}
	if s.out.len() == 0 {
		if pos, ok := s.e.seq.goLive(s.scan); ok {
			s.live, s.pos = true, pos
		}
	}
	return nil
}

func watchEvent(ev LoggedEvent) a2a.StreamEvent {
	return a2a.StreamEvent{Event: ev.Event, Cursor: strconv.FormatUint(ev.Cursor, 10), Seq: ev.Seq, Time: ev.Time}
}

// eventQueue is a reader's pending events; its storage is reused once
// drained, so a long stream does not allocate per event.
type eventQueue struct {
	buf  []a2a.StreamEvent
	head int
}

func (q *eventQueue) push(evs ...a2a.StreamEvent) {
	if q.head == len(q.buf) {
		q.buf, q.head = q.buf[:0], 0
	}
	q.buf = append(q.buf, evs...)
}

func (q *eventQueue) pop() (a2a.StreamEvent, bool) {
	if q.head == len(q.buf) {
		return a2a.StreamEvent{}, false
	}
	ev := q.buf[q.head]
	q.buf[q.head] = a2a.StreamEvent{}
	q.head++
	return ev, true
}

func (q *eventQueue) len() int { return len(q.buf) - q.head }
