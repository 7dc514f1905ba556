package engine

import "context"

// Capabilities of a Store shared by several engines (serve replicas on one
// PostgreSQL database). A store implements each as a named interface,
// checked with a type assertion where the engine needs it; a store used by
// one engine alone (memory, bbolt) implements none of them.

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
// is one replica with a lease that the store renews while the engine
// lives; a task is claimed by one replica at a time, and a replica whose
// lease expires (killed, partitioned) loses its claims to the survivors.
type Claimer interface {
	Store
	// Claim takes taskID for this replica unless a live replica holds it.
	Claim(ctx context.Context, taskID string) (ok bool, err error)
	// Release gives up this replica's claim (the task ended or waits).
	Release(ctx context.Context, taskID string) error
	// TakeOver claims the tasks of replicas whose lease has expired and
	// of no replica at all, and returns their ids: the engine resumes
	// them under its restart rules (running ones were interrupted).
	TakeOver(ctx context.Context) ([]string, error)
	// WatchTakeOver wakes when a replica's lease may have expired or a
	// claim was released, for the engine to call TakeOver.
	WatchTakeOver() (wake <-chan struct{}, stop func())
}

// CancelRouter is a Store that carries cancel requests to the replica
// running the task, wherever the request was received.
type CancelRouter interface {
	Store
	// RequestCancel records a cancel request for taskID and wakes the
	// replica holding its claim.
	RequestCancel(ctx context.Context, taskID string) error
	// CancelRequests returns (and forgets) the cancel requests for tasks
	// this replica holds, and a channel woken when new ones may exist.
	CancelRequests(ctx context.Context) ([]string, error)
	WatchCancelRequests() (wake <-chan struct{}, stop func())
}
