package engine

import (
	"context"

	"github.com/a2atop/a2atop/a2a"
)

// Replicas: an engine over a store shared with other engines (cluster.go's
// capabilities). What it adds to the single-engine rules:
//   - at start, it resumes only the unfinished tasks it can claim (not those
//     another live replica holds);
//   - it takes over the tasks of replicas whose lease expired, or that
//     closed, under the same restart rules as its own tasks at start
//     (running ones count an interrupted attempt, a cleanly stopped one
//     continues as Request.Resumed, exec refuses to run a command twice);
//   - it stops the execution of a task that another replica canceled;
//   - its Stream, Subscribe and blocking Send readers of a task that another
//     replica runs get that replica's events: followRemote reads the shared
//     log (woken by the store) and hands each event of such a task to the
//     task's local readers, as the task's own writer would.
//
// The queue limits and priority hold across replicas when the store offers
// them (cluster.go): with SharedSlots at most MaxRunning executions (plus
// HighReserve for high priority) run in all, each start taking a slot from
// the store, and the store gives a slot only to a task no other replica's
// waiter outranks (sharedslots.go), so the cluster starts tasks in one
// priority-then-arrival order; with SharedQueueCount a send is refused
// busy once MaxQueued tasks wait across every replica, checked in the
// queueing commit (Commit.QueueLimit). What stays per replica: a new task
// queues and runs on the replica that received it, and the "queued
// (position P)" texts count the local queue.
//
// An observer (Options.Observe) only follows the shared log for its
// readers: it never resumes, claims, takes over, sweeps or runs a task.

// startObserver starts what an observer (Options.Observe) needs: the
// follower of the shared log that hands other replicas' events to this
// engine's Subscribe readers. Nothing else: no resume, takeover, cancel
// routing, sweep or queue.
func (e *Engine) startObserver() {
	if sl, ok := e.store.(SharedLog); ok {
		e.followShared(sl)
	}
}

// refuseObserved is the error of a write on an observer.
func (e *Engine) refuseObserved(op string) error {
	if !e.opts.Observe {
		return nil
	}
	return a2a.NewError(a2a.ErrUnsupported, "%s: this a2atop only observes the tasks (read-only): it runs, answers and cancels none", op)
}

// startReplica starts the replica's goroutines when the store is shared.
func (e *Engine) startReplica() {
	if c, ok := e.store.(Claimer); ok {
		wake, stop := c.WatchTakeOver()
		e.wg.Go(func() {
			defer stop()
			e.takeOverLoop(c, wake)
		})
	}
	if sl, ok := e.store.(SharedLog); ok {
		e.followShared(sl)
	}
	if e.slots != nil {
		wake, stop := e.slots.WatchSlots()
		e.wg.Go(func() {
			defer stop()
			e.slotLoop(wake)
		})
	}
	if r, ok := e.store.(CancelRouter); ok {
		ids, stop := r.WatchCanceled()
		e.wg.Go(func() {
			defer stop()
			e.cancelLoop(ids)
		})
	}
}

// followShared starts followRemote after the log's current head: older
// events are in every reader's snapshot.
func (e *Engine) followShared(sl SharedLog) {
	wake, stop := sl.WatchLog()
	from, err := sl.LastCursor(e.ctx)
	if err != nil {
		stop()
		e.log.Warn("follow the shared log", "err", err)
		return
	}
	e.wg.Go(func() {
		defer stop()
		e.followRemote(wake, from)
	})
}

// claimToResume reports whether the engine may resume taskID at start:
// always with a store of its own, only if it claims the task with a shared
// one.
func (e *Engine) claimToResume(ctx context.Context, taskID string) (bool, error) {
	c, ok := e.store.(Claimer)
	if !ok {
		return true, nil
	}
	return c.Claim(ctx, taskID)
}

func (e *Engine) takeOverLoop(c Claimer, wake <-chan struct{}) {
	for {
		select {
		case <-e.ctx.Done():
			return
		case _, ok := <-wake:
			if !ok {
				return
			}
		}
		ids, err := c.TakeOver(e.ctx)
		if err != nil {
			if e.ctx.Err() == nil {
				e.log.Warn("take over tasks of other replicas", "err", err)
			}
			continue
		}
		for _, id := range ids {
			e.resumeTakenOver(id)
		}
		if len(ids) > 0 {
			e.log.Info("took over tasks of another replica", "tasks", len(ids))
			e.pump()
		}
	}
}

// resumeTakenOver applies the restart rules to a task this replica has just
// claimed, unless it already runs or queues it.
func (e *Engine) resumeTakenOver(id string) {
	en, err := e.lockLoaded(e.ctx, id)
	if err != nil {
		e.log.Warn("take over a task", "task", id, "err", err)
		return
	}
	defer e.unlockRelease(en)
	if en.run != nil || e.isQueued(en) {
		return
	}
	if st := en.rec.Task.Status.State; st.Terminal() || st.Interrupted() {
		return
	}
	if err := e.resumeOne(e.ctx, en); err != nil && e.ctx.Err() == nil {
		e.log.Warn("resume a task taken over", "task", id, "err", err)
	}
}

func (e *Engine) isQueued(en *taskEntry) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	found := false
	e.queue.each(func(it *queueItem, _ int) {
		if it.entry == en {
			found = true
		}
	})
	return found
}

func (e *Engine) cancelLoop(ids <-chan string) {
	for {
		select {
		case <-e.ctx.Done():
			return
		case id, ok := <-ids:
			if !ok {
				return
			}
			e.cancelLocal(id)
		}
	}
}

// cancelLocal stops this replica's execution (or queue entry) of a task
// another replica has canceled; the canceled status is already stored.
func (e *Engine) cancelLocal(id string) {
	en := e.loadedEntry(id)
	if en == nil {
		return
	}
	defer e.release(en)
	en.mu.Lock()
	defer en.mu.Unlock()
	if ex := en.run; ex != nil {
		e.cancelRun(en, ex)
	}
	e.mu.Lock()
	it := e.queue.remove(en)
	if it != nil {
		en.refs-- // the queue's reference
		e.signalQueue()
	}
	e.mu.Unlock()
	if it != nil {
		e.freeSlot(id) // its waiter place
	}
}

// followRemote reads the shared log after cursor whenever the store wakes
// it and passes each event to applyRemote. A failed read is retried on the
// next wake (the store wakes everyone after reconnecting).
func (e *Engine) followRemote(wake <-chan struct{}, cursor uint64) {
	for {
		evs, err := e.store.Log(e.ctx, cursor, watchReplayBatch)
		if err != nil && e.ctx.Err() == nil {
			e.log.Warn("follow the shared log", "err", err)
		}
		for _, ev := range evs {
			cursor = ev.Cursor
			e.applyRemote(ev)
		}
		if len(evs) == watchReplayBatch {
			continue
		}
		select {
		case <-e.ctx.Done():
			return
		case _, ok := <-wake:
			if !ok {
				return
			}
		}
	}
}

// applyRemote hands an event another replica committed to this replica's
// readers of the task, if it has any. Tasks this replica writes are left
// alone: their readers get events from the writer, and the event is
// already in the entry's record (its seq is not past it).
func (e *Engine) applyRemote(ev LoggedEvent) {
	en := e.loadedEntry(ev.TaskID)
	if en == nil {
		return
	}
	defer e.release(en)
	en.mu.Lock()
	defer en.mu.Unlock()
	if en.rec == nil || en.run != nil || en.flushing || len(en.pending) > 0 || ev.Seq <= en.rec.LastSeq {
		return
	}
	if ev.Seq != en.rec.LastSeq+1 {
		// Events this replica has not seen (it followed the log from after
		// the entry was loaded): read them from the task's log.
		e.catchUp(en)
		return
	}
	e.applyLogged(en, []LoggedEvent{ev})
}

// catchUp reads the events another replica stored after the entry's
// record and hands them to the task's readers here. Caller holds en.mu.
func (e *Engine) catchUp(en *taskEntry) {
	if en.rec == nil {
		return
	}
	evs, err := e.store.Events(e.ctx, en.id, en.rec.LastSeq)
	if err != nil {
		if e.ctx.Err() == nil {
			e.log.Warn("read another replica's events", "task", en.id, "err", err)
		}
		return
	}
	e.applyLogged(en, evs)
}

// applyLogged folds events another replica stored, in seq order after the
// entry's record, into the record and publishes them to the task's
// readers. Caller holds en.mu.
func (e *Engine) applyLogged(en *taskEntry, evs []LoggedEvent) {
	rec := *en.rec
	items := make([]taskItem, 0, len(evs))
	for _, l := range evs {
		if l.Seq != rec.LastSeq+1 {
			break
		}
		task, err := a2a.Apply(rec.Task, l.Event)
		if err != nil {
			e.log.Warn("apply another replica's event", "task", en.id, "seq", l.Seq, "err", err)
			return
		}
		rec.Task, rec.LastSeq, rec.Updated = task, l.Seq, l.Time
		rec.Running = !isFinal(task) && task.Status.State == a2a.StateWorking
		items = append(items, taskItem{ev: a2a.StreamEvent{Event: l.Event, Seq: l.Seq, Time: l.Time}, task: task, final: isFinal(task)})
	}
	en.rec = &rec
	if en.bc != nil && en.readers > 0 && len(items) > 0 {
		en.bc.publish(items...)
	}
}
