package engine

import (
	"context"
	"fmt"
	"time"
)

// Running limit and priority across replicas (cluster.go's SharedSlots).
// With such a store an execution starts only once the store gave its task
// a slot: the local count (e.running) still bounds this replica, and the
// store's slots bound every replica together. Each replica keeps its own
// queue, ordered by priority level and arrival (runQueue.stamp), and
// slotLoop offers its head to the store whenever a slot may be free (a
// run ended here, a slot was released or a waiter withdrawn anywhere, the
// store reconnected). The store refuses a head that another replica's
// waiter outranks and keeps it as a waiter itself, so the task that ranks
// first across the cluster starts first, wherever it is queued. While
// refused, a replica asks again after slotRetry, so a slot a killed
// replica held comes back once its lease expires.
//
// Every way an item leaves the queue without starting (cancel here or on
// another replica, a failed commit, a busy refusal) releases it with
// freeSlot, which withdraws its waiter: a waiter left behind would hold
// back every task ranked after it while this replica lives.

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
//
// With nothing queued ahead here the store is asked even when this
// replica runs its full share already, for a waiter place only (Limit 0):
// a task queued behind this replica's own runs must still rank ahead of
// lower work queued elsewhere when one of them ends. Refused, the task
// has a waiter place under the arrival stamped here, and admit queues it
// by that stamp (it.arrival set: the store was asked).
func (e *Engine) startShared(it *queueItem) (bool, error) {
	e.mu.Lock()
	ahead := e.queue.waitingAhead(it.prio) > 0 || e.closed.Load()
	local := e.mayStart(it.prio)
	if !ahead {
		e.queue.stamp(it)
	}
	e.mu.Unlock()
	if ahead {
		return false, nil
	}
	req := e.slotRequest(it)
	if !local {
		req.Limit = 0
	}
	ok, err := e.slots.AcquireSlot(e.ctx, req)
	if err != nil {
		return false, fmt.Errorf("send: take a running slot: %w", err)
	}
	if !ok {
		it.waiting = true // not shared yet: no lock needed
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

// slotRequest is the store request for its slot, with its rank.
func (e *Engine) slotRequest(it *queueItem) SlotRequest {
	return SlotRequest{TaskID: it.entry.id, Limit: e.slotLimit(it.prio), Level: level(it.prio), Arrival: it.arrival}
}

// freeSlot gives taskID's cluster slot back, or withdraws its waiter
// place (no-op with a store of its own).
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
		if e.closed.Load() || e.queue.n == 0 {
			e.mu.Unlock()
			return false
		}
		it := e.queue.peek()
		if !e.mayStart(it.prio) {
			register := !it.waiting
			e.mu.Unlock()
			if register {
				e.awaitSlot(it)
			}
			return false // a local run's end kicks again
		}
		// The item behind it takes its waiter place in the same round
		// trip if it is granted: this replica's next head is then known to
		// the store even if this replica has no slot left for it.
		next := e.queue.second()
		if next != nil && next.waiting {
			next = nil
		}
		e.mu.Unlock()
		req := e.slotRequest(it)
		if next != nil {
			then := e.slotRequest(next)
			req.Then = &then
		}
		ok, err := e.slots.AcquireSlot(e.ctx, req)
		if err != nil {
			if e.ctx.Err() == nil {
				e.log.Warn("take a running slot", "task", it.entry.id, "err", err)
			}
			return true
		}
		if !ok {
			e.mu.Lock()
			it.waiting = true
			gone := !it.queued
			e.mu.Unlock()
			if gone {
				// It left the queue while the store was asked: its
				// release may have come before this refusal made it a
				// waiter again.
				e.freeSlot(it.entry.id)
				continue
			}
			return true
		}
		e.mu.Lock()
		nextGone := false
		if next != nil {
			next.waiting = true
			nextGone = !next.queued
		}
		if !it.queued || e.closed.Load() {
			// Canceled or taken meanwhile: the slot goes back.
			e.mu.Unlock()
			e.freeSlot(it.entry.id)
		} else {
			e.queue.remove(it.entry)
			e.running++
			e.launch(it)
			e.signalQueue()
			e.mu.Unlock()
		}
		if nextGone { // as it above: released before it became a waiter
			e.freeSlot(next.entry.id)
		}
	}
}

// awaitSlot gives the queue's head a waiter place in the store while this
// replica runs its full share (see startShared): Limit 0 asks for no slot.
func (e *Engine) awaitSlot(it *queueItem) {
	req := e.slotRequest(it)
	req.Limit = 0
	if _, err := e.slots.AcquireSlot(e.ctx, req); err != nil {
		if e.ctx.Err() == nil {
			e.log.Warn("wait for a running slot", "task", it.entry.id, "err", err)
		}
		return
	}
	e.mu.Lock()
	it.waiting = true
	gone := !it.queued
	e.mu.Unlock()
	if gone { // left the queue meanwhile: see startQueued
		e.freeSlot(it.entry.id)
	}
}
