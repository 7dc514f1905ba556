package engine

import (
	"context"
	"fmt"
	"time"
)

// Running limit across replicas (cluster.go's SharedSlots). With such a
// store an execution starts only once the store gave its task a slot: the
// local count (e.running) still bounds this replica, and the store's slots
// bound every replica together. Each replica keeps its own queue in
// priority order; slotLoop offers its head to the store whenever a slot
// may be free (a run ended here, a slot was released anywhere, the store
// reconnected) and, while refused, retries after slotRetry, so a slot a
// killed replica held comes back once its lease expires.

// slotRetry is how long a replica refused a slot waits before asking again
// when no release wakes it first.
const slotRetry = time.Second

// slotRelease bounds the store call that frees a slot: it runs on a fresh
// context, since a run may end while the engine closes.
const slotRelease = 5 * time.Second

// slotLimit is the number of slots an execution of priority p may see
// taken cluster-wide and still start (mayStart's limit).
func (e *Engine) slotLimit(p Priority) int {
	limit := e.opts.MaxRunning
	if level(p) == 0 && e.opts.HighReserve > 0 {
		limit += e.opts.HighReserve
	}
	return limit
}

// startShared takes a slot for it at once if this replica may start it
// (nothing queued ahead here, a local slot free) and the store gives it a
// cluster slot. Caller holds it.entry.mu.
func (e *Engine) startShared(it *queueItem) (bool, error) {
	e.mu.Lock()
	first := e.mayStart(it.prio) && e.queue.waitingAhead(it.prio) == 0 && !e.closed.Load()
	e.mu.Unlock()
	if !first {
		return false, nil
	}
	ok, err := e.slots.AcquireSlot(e.ctx, it.entry.id, e.slotLimit(it.prio))
	if err != nil {
		return false, fmt.Errorf("send: take a running slot: %w", err)
	}
	if !ok {
		return false, nil
	}
	e.mu.Lock()
	if e.closed.Load() {
		e.mu.Unlock()
		e.freeSlot(it.entry.id)
		return false, ErrClosed
	}
	it.entry.refs++
	e.running++
	it.started = true
	e.mu.Unlock()
	return true, nil
}

// freeSlot gives taskID's cluster slot back (no-op with a store of its own).
func (e *Engine) freeSlot(taskID string) {
	if e.slots == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), slotRelease)
	defer cancel()
	if err := e.slots.ReleaseSlot(ctx, taskID); err != nil {
		// The slot stays taken until this replica's lease ends (the store
		// counts only live replicas' slots) or the task takes it again.
		e.log.Warn("free a running slot", "task", taskID, "err", err)
	}
}

// kickSlots wakes slotLoop.
func (e *Engine) kickSlots() {
	select {
	case e.slotKick <- struct{}{}:
	default:
	}
}

// slotLoop starts queued executions as the store gives them slots. It is
// pump's work with a shared store, in a goroutine of its own because each
// start asks the database.
func (e *Engine) slotLoop(wake <-chan struct{}) {
	for {
		refused := e.startQueued()
		var retry <-chan time.Time
		var t *time.Timer
		if refused {
			t = time.NewTimer(slotRetry)
			retry = t.C
		}
		select {
		case <-e.ctx.Done():
		case <-e.slotKick:
		case _, ok := <-wake:
			if !ok {
				wake = nil // the store closed: kicks and retries remain
			}
		case <-retry:
		}
		if t != nil {
			t.Stop()
		}
		if e.ctx.Err() != nil {
			return
		}
	}
}

// startQueued starts the queue's head while the store gives it a slot. It
// reports whether it stopped because the store refused (or failed), so
// that slotLoop retries later.
func (e *Engine) startQueued() (refused bool) {
	for {
		e.mu.Lock()
		if e.closed.Load() || e.queue.n == 0 || !e.mayStart(e.queue.peek().prio) {
			e.mu.Unlock()
			return false // a local run's end kicks again
		}
		it := e.queue.peek()
		e.mu.Unlock()
		ok, err := e.slots.AcquireSlot(e.ctx, it.entry.id, e.slotLimit(it.prio))
		if err != nil {
			if e.ctx.Err() == nil {
				e.log.Warn("take a running slot", "task", it.entry.id, "err", err)
			}
			return true
		}
		if !ok {
			return true
		}
		e.mu.Lock()
		if !it.queued || e.closed.Load() {
			// Canceled or taken meanwhile: the slot goes back.
			e.mu.Unlock()
			e.freeSlot(it.entry.id)
			continue
		}
		e.queue.remove(it.entry)
		e.running++
		e.launch(it)
		e.signalQueue()
		e.mu.Unlock()
	}
}
