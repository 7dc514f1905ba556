package engine

import (
	"context"
	"errors"
)

// Capabilities of a Store shared by several engines (serve replicas on one
// PostgreSQL database). A store implements each as a named interface,
// checked with a type assertion where the engine needs it; a store used by
// one engine alone (memory, bbolt) implements none of them.

// ErrConflict is what a shared store's Commit returns (wrapped) when the
// commit was built on a version of the task that another replica has
// changed meanwhile: it took the task over (this replica's lease had
// expired) or canceled it. Nothing of the commit is stored. The engine then
// stops the execution that published it and writes nothing more for it:
// the task is the other replica's now.
var ErrConflict = errors.New("the task was changed by another writer")

// SharedLog is a Store whose global log several engines append to. The
// store assigns cursors itself, in commit order across every writer (it
// ignores LoggedEvent.Cursor in Commit): once Log has returned cursor c, no
// event with a cursor below c can appear later. Watch then reads the
// store's log, woken by the store, instead of the engine's own sequencer,
// so a Watch on any replica sees every replica's events, and a cursor from
// one replica resumes on another.
type SharedLog interface {
	Store
	// WatchLog returns a channel that receives (coalesced: one pending
	// signal at most) whenever the log may have grown, by this process or
	// another, and after any interruption of the store's notifications;
	// stop ends the subscription. The channel is closed when the store is
	// closed.
	WatchLog() (wake <-chan struct{}, stop func())
}

// Claimer is a Store that decides which replica runs a task. Each engine
// is one replica with a lease that the store renews while it is open; a
// task is claimed by the replica that created it or starts an execution of
// it (the store refuses, with a conflict, a start on a task another live
// replica holds), and released by the commit that ends it or makes it wait
// for input. A replica whose lease expires (killed, partitioned) loses its
// claims to the survivors, and a replica closed cleanly hands its queue
// over at once.
type Claimer interface {
	Store
	// Claim takes taskID for this replica unless another live replica
	// holds it. The engine claims each unfinished task before resuming it
	// at start.
	Claim(ctx context.Context, taskID string) (ok bool, err error)
	// TakeOver claims the unfinished tasks (not waiting for input) of
	// replicas whose lease has expired and of no replica, and returns their
	// ids: the engine resumes them under its restart rules.
	TakeOver(ctx context.Context) ([]string, error)
	// WatchTakeOver wakes when TakeOver may find something: a lease
	// expired, a replica closed, a task lost its claim. Closed with the
	// store.
	WatchTakeOver() (wake <-chan struct{}, stop func())
}

// CancelRouter is a Store that tells the replica running a task that
// another replica canceled it, so that the owner cancels the execution's
// context (the canceling replica has already stored the canceled status).
type CancelRouter interface {
	Store
	// WatchCanceled delivers the ids of tasks canceled by other replicas.
	// Best effort: an id dropped on overflow leaves the execution running
	// until its next publish, which the store refuses (the task changed).
	WatchCanceled() (ids <-chan string, stop func())
	// RequestCancel asks whichever replica runs taskID to cancel it (its
	// WatchCanceled delivers the id) before the cancel is stored: a task
	// that publishes faster than a round trip makes every cancel stored
	// from another replica conflict, so its owner must end it.
	RequestCancel(ctx context.Context, taskID string) error
}

// ErrQueueFull is what a SharedQueueCount store's Commit returns (wrapped)
// for a commit that would queue a task beyond its Commit.QueueLimit.
// Nothing of the commit is stored; the engine answers the send busy.
var ErrQueueFull = errors.New("the queue is full across the replicas")

// SharedQueueCount is a Store shared by several engines that counts the
// tasks waiting for a slot on every replica, so that Options.MaxQueued
// holds across replicas: a new task is refused busy when the cluster
// already queues MaxQueued tasks, whichever replica queues them. The
// count is a cheap early refusal; the exact bound is Commit.QueueLimit,
// which such a store checks in the commit's transaction.
type SharedQueueCount interface {
	Store
	// QueuedTasks is the number of tasks waiting for a slot (submitted,
	// not started) across every replica, read from the store's counters in
	// one cheap query.
	QueuedTasks(ctx context.Context) (int, error)
}

// SharedSlots is a Store shared by several engines that hands out the
// running slots, so that Options.MaxRunning (and HighReserve) and the
// queue's priority order hold across replicas: an engine starts an
// execution only after the store gave its task one of the limit slots
// shared by every live replica, and the store gives a slot only to the
// task that comes first in the cluster's queue.
//
// The cluster's queue is the waiters the store keeps: a task refused a
// slot waits under its SlotRequest's rank (Level, then Arrival, then task
// id) until it gets one or ReleaseSlot withdraws it. A replica asks for
// its queue's head only, so each replica must queue its items in rank
// order: then the head that ranks first across the cluster is never
// refused for a waiter ahead of it, and no two replicas wait on each
// other.
type SharedSlots interface {
	Store
	// AcquireSlot gives r.TaskID a slot if fewer than r.Limit slots are
	// held by live replicas and no waiter of a task still queued ranks
	// ahead of it (the caller's own waiters excepted: its queue orders
	// them). A waiter of a replica that closed or died still counts: its
	// task keeps its place until a survivor queues it again
	// (WaitingSince).
	// Refused, the task waits (keeps or takes its waiter place, with r's
	// rank); granted, it leaves the waiters. Checking and taking are one
	// step serialised across replicas, so two replicas cannot both take
	// the last slot. A task that holds a slot already keeps it (ok).
	AcquireSlot(ctx context.Context, r SlotRequest) (ok bool, err error)
	// ReleaseSlot frees taskID's slot, or withdraws it from the waiters,
	// and then wakes WatchSlots on every replica. A queued task that
	// leaves the queue without starting (canceled, refused, its commit
	// failed) must be released, or its waiter would hold back every task
	// ranked behind it while its replica lives. Releasing a task that
	// holds nothing is no error.
	ReleaseSlot(ctx context.Context, taskID string) error
	// WaitingSince is the Arrival under which taskID waits (ok false: it
	// does not). A replica that queues a task again (taken over, or
	// resumed at start) queues it under that arrival: the waiter keeps its
	// place while its task changes hands, and the new replica's queue
	// stays in the order of its waiters' ranks.
	WaitingSince(ctx context.Context, taskID string) (arrival int64, ok bool, err error)
	// WatchSlots wakes (coalesced) when a slot may have been freed or a
	// waiter withdrawn, by any replica, and after any interruption of the
	// store's notifications. Closed with the store.
	WatchSlots() (wake <-chan struct{}, stop func())
}

// SlotRequest asks SharedSlots for a running slot.
type SlotRequest struct {
	TaskID string
	// Limit is how many slots may be held, this one included (MaxRunning,
	// plus HighReserve for high priority). 0 asks for a waiter place only:
	// the replica runs its full share and cannot start the task yet.
	Limit int
	// Level is the task's priority level: 0 high, 1 normal, 2 low. A
	// lower level goes first.
	Level int
	// Arrival orders waiters of one level: unix nanoseconds when the
	// execution was queued, strictly increasing along each replica's
	// queue. Across replicas it follows their clocks.
	Arrival int64
	// Then, if set and the slot is granted, becomes a waiter in the same
	// step (its Limit is ignored): the replica's next queued task, so that
	// a start costs one round trip even when the next one must wait.
	Then *SlotRequest
}
