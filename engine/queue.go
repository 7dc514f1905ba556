package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/a2atop/a2atop/a2a"
)

// queueItem is an execution waiting for a slot.
type queueItem struct {
	entry   *taskEntry
	prio    Priority
	attempt int
	msg     *a2a.Message
	// note follows "queued (position P)" and becomes the working status
	// text when the item starts (e.g. why it is being retried).
	note string
	// statusID is the id of the queue status message, so that position
	// updates replace each other instead of filling the history.
	statusID string
	lastPos  int // last published position; guarded by Engine.mu
	queued   bool
	// started: the first commit already set the task working (it got a
	// slot at once).
	started bool
	// fresh: a new task's first execution, where Reply may answer the send
	// with a plain Message.
	fresh bool
	// resumed: the execution a clean Close stopped continues (Request.Resumed).
	resumed bool
	// waiting: the shared store has it among its waiters (a refused
	// request); guarded by Engine.mu once queued.
	waiting bool
	// arrival ranks the item within its priority level (runQueue.stamp),
	// here and, with SharedSlots, among every replica's waiters.
	arrival int64
}

// runQueue is FIFO within three priority levels: each level is kept in
// arrival order. Guarded by Engine.mu.
type runQueue struct {
	levels [3][]*queueItem // high, normal, low
	n      int
	// lastArrival is the latest arrival stamped: stamps increase strictly.
	lastArrival int64
}

// stamp gives it its arrival, unless it has one. An item is stamped when
// it is pushed, or earlier when it asks a shared store for a slot before
// queueing (startShared): push then places it by that stamp, so that the
// queue's order is the rank the store knows it by (cluster.go,
// SharedSlots).
func (q *runQueue) stamp(it *queueItem) {
	if it.arrival != 0 {
		return
	}
	q.lastArrival = max(time.Now().UnixNano(), q.lastArrival+1)
	it.arrival = q.lastArrival
}

func level(p Priority) int {
	switch {
	case p >= PriorityHigh:
		return 0
	case p <= PriorityLow:
		return 2
	}
	return 1
}

// push queues it by arrival within its level and returns its 1-based
// position in the whole queue.
func (q *runQueue) push(it *queueItem) int {
	q.stamp(it)
	l := level(it.prio)
	lv := q.levels[l]
	i := len(lv)
	for i > 0 && lv[i-1].arrival > it.arrival { // mostly none: stamps follow pushes
		i--
	}
	q.levels[l] = slices.Insert(lv, i, it)
	q.n++
	it.queued = true
	pos := i + 1
	for above := range l {
		pos += len(q.levels[above])
	}
	return pos
}

func (q *runQueue) pop() *queueItem {
	for l := range q.levels {
		if len(q.levels[l]) > 0 {
			it := q.levels[l][0]
			q.levels[l][0] = nil
			q.levels[l] = q.levels[l][1:]
			q.n--
			it.queued = false
			return it
		}
	}
	return nil
}

func (q *runQueue) peek() *queueItem {
	for l := range q.levels {
		if len(q.levels[l]) > 0 {
			return q.levels[l][0]
		}
	}
	return nil
}

// second is the item after the head, or nil.
func (q *runQueue) second() *queueItem {
	seen := 0
	for l := range q.levels {
		for _, it := range q.levels[l] {
			if seen == 1 {
				return it
			}
			seen++
		}
	}
	return nil
}

// waitingAhead is how many queued items an item of priority p would wait
// behind.
func (q *runQueue) waitingAhead(p Priority) int {
	return q.positionIfPushed(p) - 1
}

func (q *runQueue) remove(en *taskEntry) *queueItem {
	for l := range q.levels {
		for i, it := range q.levels[l] {
			if it.entry == en {
				q.levels[l] = slices.Delete(q.levels[l], i, i+1)
				q.n--
				it.queued = false
				return it
			}
		}
	}
	return nil
}

// position is the 1-based place the item would have if pushed now.
func (q *runQueue) positionIfPushed(p Priority) int {
	pos := 1
	for l := 0; l <= level(p); l++ {
		pos += len(q.levels[l])
	}
	return pos
}

func (q *runQueue) each(f func(it *queueItem, pos int)) {
	pos := 0
	for l := range q.levels {
		for _, it := range q.levels[l] {
			pos++
			f(it, pos)
		}
	}
}

func queuedText(pos int, note string) string {
	if note == "" {
		return fmt.Sprintf("queued (position %d)", pos)
	}
	return fmt.Sprintf("queued (position %d), %s", pos, note)
}

// ParsePriority maps metadata.priority ("high", "normal", "low") to a
// Priority; anything else is normal.
func ParsePriority(md a2a.Metadata) Priority {
	switch md["priority"] {
	case "high":
		return PriorityHigh
	case "low":
		return PriorityLow
	}
	return PriorityNormal
}

// admit takes a slot for it at once if one is free and nothing waits
// ahead of it, or queues it. It returns the queue position (0: started).
// Caller holds it.entry.mu; the queue or the execution takes its own
// entry reference. A new execution (bounded) is refused with
// a2a.ErrServerBusy when it would have to wait in a full queue.
//
// Priority and the running limit: normal and low work runs while fewer
// than MaxRunning executions run; high-priority work also while fewer than
// MaxRunning+HighReserve run, and always goes first in the queue (FIFO
// within a priority). So a high-priority task starts at once while the
// reserve lasts, even behind a full queue of work that never ends.
//
// With a store shared by several replicas, the store may hold both limits
// across them (cluster.go): SharedSlots gives the running slots
// (startShared), SharedQueueCount counts every replica's queued tasks.
func (e *Engine) admit(it *queueItem, bounded bool) (int, error) {
	asked := false
	if e.slots != nil {
		started, err := e.startShared(it)
		if err != nil || started {
			return 0, err
		}
		asked = it.arrival != 0
	}
	clusterQueued := -1
	if qc, ok := e.store.(SharedQueueCount); ok && bounded && e.opts.MaxQueued >= 0 {
		n, err := qc.QueuedTasks(e.ctx)
		if err != nil {
			e.withdraw(it, asked)
			return 0, fmt.Errorf("send: count the queued tasks: %w", err)
		}
		clusterQueued = n
	}
	pos, err := e.queueOrStart(it, bounded, clusterQueued)
	if err != nil {
		e.withdraw(it, asked)
	}
	return pos, err
}

// withdraw takes back the waiter place startShared's refused request gave
// it, when it is not queued after all (asked: startShared asked the store).
func (e *Engine) withdraw(it *queueItem, asked bool) {
	if asked {
		e.freeSlot(it.entry.id)
	}
}

// queueOrStart is admit's decision once any shared store was asked:
// start it (a store of its own only), refuse it busy, or queue it.
func (e *Engine) queueOrStart(it *queueItem, bounded bool, clusterQueued int) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.slots == nil && e.mayStart(it.prio) && e.queue.waitingAhead(it.prio) == 0 && !e.closed.Load() {
		it.entry.refs++
		e.running++
		it.started = true
		return 0, nil
	}
	// The store's count lags this replica's queue by the sends still
	// committing here: the larger of the two is the better bound.
	if queued := max(e.queue.n, clusterQueued); bounded && e.opts.MaxQueued >= 0 && queued >= e.opts.MaxQueued {
		if clusterQueued >= 0 {
			return 0, a2a.NewError(a2a.ErrServerBusy,
				"server busy: %d tasks are already queued across the replicas (limit %d): send again later, or cancel queued tasks", queued, e.opts.MaxQueued)
		}
		return 0, a2a.NewError(a2a.ErrServerBusy,
			"server busy: %d tasks are already queued (limit %d) behind %d running: send again later, or cancel queued tasks", e.queue.n, e.opts.MaxQueued, e.running)
	}
	it.entry.refs++
	if it.statusID == "" {
		it.statusID = e.newID()
	}
	pos := e.queue.push(it)
	it.lastPos = pos
	if pos <= e.queue.n-1 {
		e.signalQueue() // it jumped ahead of lower-priority items
	}
	if e.slots != nil {
		e.kickSlots() // a slot may have come free since startShared asked
	}
	return pos, nil
}

// mayStart reports whether an execution of priority p may take a slot
// now. Caller holds e.mu.
func (e *Engine) mayStart(p Priority) bool {
	limit := e.opts.MaxRunning
	if level(p) == 0 && e.opts.HighReserve > 0 {
		limit += e.opts.HighReserve
	}
	return e.running < limit
}

// unadmit undoes admit after its commit failed.
func (e *Engine) unadmit(it *queueItem) {
	e.mu.Lock()
	if it.started {
		e.running--
	} else {
		e.queue.remove(it.entry)
	}
	it.entry.refs--
	e.mu.Unlock()
	e.freeSlot(it.entry.id) // its slot, or its waiter place
	e.pump()
}

// launch starts an execution that admit gave a slot.
func (e *Engine) launch(it *queueItem) {
	e.runs.Add(1)
	e.workers.goFunc(func() { e.run(it) })
}

// pump starts queued executions while slots are free.
func (e *Engine) pump() {
	if e.slots != nil {
		e.kickSlots() // slotLoop asks the store for each start
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	popped := false
	for e.queue.n > 0 && e.mayStart(e.queue.peek().prio) && !e.closed.Load() {
		it := e.queue.pop()
		e.running++
		popped = true
		e.launch(it)
	}
	if popped {
		e.signalQueue()
	}
}

func (e *Engine) signalQueue() {
	select {
	case e.queueChanged <- struct{}{}:
	default:
	}
}

// queueUpdater keeps queued tasks' "queued (position P)" texts current,
// publishing only for tasks whose position changed. Bursts of queue
// changes coalesce into one pass.
func (e *Engine) queueUpdater() {
	type move struct {
		it  *queueItem
		pos int
	}
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-e.queueChanged:
		}
		var moves []move
		e.mu.Lock()
		e.queue.each(func(it *queueItem, pos int) {
			if it.lastPos != pos {
				moves = append(moves, move{it, pos})
			}
		})
		e.mu.Unlock()
		// Concurrent commits, so that the store writes a pass's
		// updates in a few grouped transactions instead of one each.
		sem := make(chan struct{}, positionWriters)
		var wg sync.WaitGroup
		for _, m := range moves {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				e.publishPosition(m.it, m.pos)
			})
		}
		wg.Wait()
		// Under load every start moves every queued task: a pass per
		// change would cost a commit per queued task per start. Positions
		// are for people watching, so a few passes a second are enough.
		t := time.NewTimer(positionInterval)
		select {
		case <-e.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// positionInterval is the least time between two passes of queueUpdater,
// and positionWriters the commits one pass makes at once.
const (
	positionInterval = 100 * time.Millisecond
	positionWriters  = 64
)

func (e *Engine) publishPosition(it *queueItem, pos int) {
	en := it.entry
	en.mu.Lock()
	defer en.mu.Unlock()
	en.drain()
	e.mu.Lock()
	still := it.queued
	e.mu.Unlock()
	if !still || en.rec == nil || en.rec.Task.Status.State != a2a.StateSubmitted {
		return
	}
	ev := e.status(en.rec.Task, a2a.StateSubmitted, it.statusID, queuedText(pos, it.note))
	if err := e.commit(e.ctx, en, change{events: []a2a.Event{ev}}); err != nil {
		if e.ctx.Err() == nil {
			e.log.Warn("queue position update failed", "task", en.id, "err", err)
		}
		return
	}
	e.mu.Lock()
	it.lastPos = pos
	e.mu.Unlock()
}

// resume applies the restart rules to the store's unfinished tasks.
func (e *Engine) resume(ctx context.Context) error {
	recs, err := e.store.Unfinished(ctx)
	if err != nil {
		var damaged *DamagedError
		if !e.opts.AllowDamaged || !errors.As(err, &damaged) {
			return fmt.Errorf("engine: resume unfinished tasks: %w", err)
		}
		e.log.Warn("damaged tasks are left alone", "err", err)
	}
	for _, rec := range recs {
		st := rec.Task.Status.State
		if st.Interrupted() {
			continue // still waiting for its user
		}
		if ok, err := e.claimToResume(ctx, rec.Task.ID); err != nil {
			return fmt.Errorf("engine: resume: %w", err)
		} else if !ok {
			continue // another live replica holds it (replicas.go)
		}
		en, err := e.lockLoaded(ctx, rec.Task.ID)
		if err != nil {
			return fmt.Errorf("engine: resume: %w", err)
		}
		err = e.resumeOne(ctx, en)
		e.unlockRelease(en)
		if err != nil {
			return fmt.Errorf("engine: resume task %s: %w", rec.Task.ID, err)
		}
	}
	return nil
}

func (e *Engine) resumeOne(ctx context.Context, en *taskEntry) error {
	rec := en.rec
	task := rec.Task
	it := &queueItem{entry: en, prio: rec.Priority, attempt: rec.Attempts + 1, msg: lastUserMessage(task), statusID: e.newID(), resumed: rec.Stopped}
	wasRunning := rec.Running || task.Status.State == a2a.StateWorking
	if wasRunning {
		if rec.Attempts >= e.opts.MaxAttempts {
			return e.commit(ctx, en, change{events: []a2a.Event{e.status(task, a2a.StateFailed, "", ReasonInterrupted)}})
		}
		it.note = fmt.Sprintf("attempt %d/%d after restart (%s)", it.attempt, e.opts.MaxAttempts, ReasonInterrupted)
	}
	if e.slots != nil {
		// Its place among the cluster's waiters, if it had one.
		since, ok, err := e.slots.WaitingSince(ctx, en.id)
		if err != nil {
			return err
		}
		if ok {
			it.arrival = since
		}
	}
	// Queue everything first (start nothing before every task is queued,
	// so that creation order holds); New pumps afterwards.
	e.mu.Lock()
	en.refs++
	pos := e.queue.push(it)
	it.lastPos = pos
	e.mu.Unlock()
	ev := e.status(task, a2a.StateSubmitted, it.statusID, queuedText(pos, it.note))
	err := e.commit(ctx, en, change{events: []a2a.Event{ev}, update: func(r *Record) { r.Running = false }})
	if err != nil {
		e.mu.Lock()
		e.queue.remove(en)
		en.refs--
		e.mu.Unlock()
		e.freeSlot(en.id) // a waiter place slotLoop may have taken meanwhile
	}
	return err
}

// lastUserMessage is the message an interrupted execution was started with.
func lastUserMessage(t *a2a.Task) *a2a.Message {
	for i := len(t.History) - 1; i >= 0; i-- {
		if t.History[i].Role == a2a.RoleUser {
			m := t.History[i]
			return &m
		}
	}
	return nil
}
