package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/a2atop/a2atop/a2a"
)

// Store keeps tasks, their event logs and the indexes List needs. The
// engine is its only writer and calls Commit from one goroutine per task at
// a time (but from many tasks at once: implementations should group
// concurrent commits into one durable write).
//
// Tasks and records passed in and returned are immutable snapshots:
// implementations must neither modify them nor rely on the caller not
// keeping them, and callers must not modify what a store returns.
type Store interface {
	// Commit atomically stores a task's new snapshot, its bookkeeping, and
	// the events that produced it, appending them to the task's log and to
	// the global log. The first commit of a task creates it.
	Commit(ctx context.Context, c *Commit) error
	// Get returns a task's record; a2a.ErrTaskNotFound if there is none.
	Get(ctx context.Context, taskID string) (*Record, error)
	// Events returns a task's logged events with Seq > afterSeq, in order:
	// the task's timeline.
	Events(ctx context.Context, taskID string, afterSeq uint64) ([]LoggedEvent, error)
	// List returns a page of tasks, newest Record.Updated first (ties: task
	// id descending), or the exact reverse with q.Reverse, or by creation
	// with q.ByCreated (see ListQuery), using indexes
	// rather than scanning every task for each page. A page token it cannot
	// decode is an a2a.ErrInvalidParams error.
	List(ctx context.Context, q ListQuery) (*ListResult, error)
	// Log returns up to limit events (limit <= 0: all) of every task with
	// Cursor > after, in cursor order: the source of Watch. Commits of
	// different tasks may arrive out of cursor order (the engine assigns
	// cursors, then commits tasks concurrently); Log still answers in cursor
	// order.
	Log(ctx context.Context, after uint64, limit int) ([]LoggedEvent, error)
	// LastCursor is the highest cursor committed (0 for an empty store).
	LastCursor(ctx context.Context) (uint64, error)
	// TaskForMessage returns the id of the task a message id created or
	// continued, for idempotent sends; ok is false if it was never seen.
	TaskForMessage(ctx context.Context, messageID string) (taskID string, ok bool, err error)
	// Unfinished returns the records of every task that is not terminal,
	// for the engine to resume after a restart. A store that can tell
	// returns the readable ones together with an error holding a
	// DamagedError per record it could not read.
	Unfinished(ctx context.Context) ([]*Record, error)
	// Sweep deletes terminal tasks (with their logs and index entries)
	// whose status is older than olderThan, and then the oldest terminal
	// tasks beyond keep (keep <= 0: no count limit). Non-terminal tasks are
	// never deleted. It returns the number deleted.
	Sweep(ctx context.Context, olderThan time.Time, keep int) (int, error)
	Close() error
}

// Record is a stored task with the engine's bookkeeping.
type Record struct {
	Task    *a2a.Task
	Created time.Time
	// Updated is the time of the task's latest change: List's order.
	Updated time.Time
	// Attempts counts executions started, for retries and restarts.
	Attempts int
	// Priority is the queue priority (from metadata.priority).
	Priority Priority
	// LastSeq is the sequence number of the task's latest event.
	LastSeq uint64
	// Running is true while an execution is in progress: a task found
	// running after a restart was interrupted.
	Running bool
	// Stopped is true when a clean Close stopped the task's execution and
	// put it back in the queue: the next execution continues that one
	// (Request.Resumed) without counting as a new attempt.
	Stopped bool
}

// Priority orders queued tasks; higher runs first.
type Priority int

const (
	PriorityLow    Priority = -1
	PriorityNormal Priority = 0
	PriorityHigh   Priority = 1
)

// Commit is one atomic change of one task.
type Commit struct {
	Record *Record
	// Events are appended to the task's log and the global log; their Seq
	// and Cursor are assigned by the engine and increase strictly.
	Events []LoggedEvent
	// MessageIDs are message ids to remember for idempotent sends.
	MessageIDs []string
	// QueueLimit, when > 0, bounds the tasks waiting for a slot across
	// every replica: a commit that makes its task submitted (queued) is
	// refused with ErrQueueFull, storing nothing, when QueueLimit tasks are
	// submitted already. Only a SharedQueueCount store checks it (in the
	// commit's transaction, so racing sends on several replicas cannot
	// overshoot); a store used by one engine ignores it, that engine's
	// queue being the whole queue.
	QueueLimit int
}

// LoggedEvent is an event as stored in the logs.
type LoggedEvent struct {
	TaskID string
	// Seq numbers the task's events from 1.
	Seq uint64
	// Cursor numbers every task's events from 1, in commit order: Watch's
	// resume position.
	Cursor uint64
	Time   time.Time
	Event  a2a.Event
}

// ListQuery selects a page of tasks, newest status first (oldest first
// with Reverse).
type ListQuery struct {
	ContextID string
	State     a2a.TaskState // empty: any
	// UpdatedAfter keeps tasks whose Record.Updated is after it.
	UpdatedAfter time.Time
	// Text keeps tasks whose id, status text or metadata contain it,
	// case-insensitively.
	Text     string
	PageSize int
	// PageToken is an opaque cursor returned by a previous page.
	PageToken string
	// Reverse lists oldest status first (Updated ascending, ties by id
	// ascending): the exact reverse of the default order, from the other
	// end, so that a dashboard reaches the oldest task in one page instead
	// of paging through every newer one. A page token continues in the
	// direction of the query that returned it.
	Reverse bool
	// ByCreated lists by creation instead: task id descending (ascending
	// with Reverse). The engine makes every task id a UUIDv7 in canonical
	// lower-case text, whose byte order is creation order (the
	// millisecond, then the generator's sub-millisecond sequence, which
	// never repeats within a process). Ids the engine did not make (a
	// store written by something else, tests) are placed by the store's
	// own key order, the same on every page and exactly reversed by
	// Reverse: in the memory store and PostgreSQL by the id's bytes, in
	// bbolt above every canonical UUID, by length then bytes. The filters
	// apply during the walk: a page costs the tasks it skips (a rare state
	// may cost a walk over many). Page tokens of one order are invalid in
	// the other.
	ByCreated bool
}

// ListResult is one page of tasks.
type ListResult struct {
	Records       []*Record
	NextPageToken string
	// TotalSize counts every task matching the query (implementations may
	// answer -1 when counting would need a scan, e.g. for Text).
	TotalSize int
	// Damaged are the tasks of the page's range whose records could not
	// be read: a store that can tell lists the rest and names these
	// rather than failing the whole page.
	Damaged []*DamagedError
}

// DamagedError says a stored task's record cannot be read (a bad block, a
// stray write). Stores return it, wrapped or not, from Get and List.
type DamagedError struct {
	TaskID string
	Err    error
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("corrupt record of task %q: %v", e.TaskID, e.Err)
}

func (e *DamagedError) Unwrap() error { return e.Err }

// Checker is a store that can verify itself: every record readable, the
// indexes and logs consistent with the records. Check reads the whole
// store; it reports what it found damaged, nil when nothing.
type Checker interface {
	Check() error
}
