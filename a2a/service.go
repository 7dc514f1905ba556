package a2a

import (
	"context"
	"time"
)

// Service is the one interface in the middle of a2atop. The local engine
// and the remote client implement it; the dashboard, the CLI and the server
// consume it. Every method is safe for concurrent use.
//
// Errors are typed: compare with errors.Is against ErrTaskNotFound,
// ErrNotCancelable, ErrUnsupported, ErrInvalidParams and the rest.
type Service interface {
	// Send starts a new task, or continues one when req.Message.TaskID is set
	// (the answer to input-required or auth-required). Unless
	// req.Config.ReturnImmediately is set it returns when the task reaches a
	// terminal or interrupted state. The result is a Task or, for agents that
	// answer without a task, a Message.
	Send(ctx context.Context, req *SendRequest) (*SendResult, error)
	// Stream is Send with live events: the Task snapshot first (or a single
	// Message), then status and artifact updates until the task ends or
	// waits on its user.
	Stream(ctx context.Context, req *SendRequest) (Stream, error)
	// Get returns a task by id.
	Get(ctx context.Context, req GetRequest) (*Task, error)
	// List returns tasks newest status first, one page at a time.
	List(ctx context.Context, req ListRequest) (*ListPage, error)
	// Cancel asks for a task to stop. Canceling a terminal task returns
	// ErrNotCancelable; canceling a canceled task returns it unchanged.
	Cancel(ctx context.Context, taskID string) (*Task, error)
	// Subscribe follows one task: its current snapshot first, then live
	// events until it ends or waits on its user.
	Subscribe(ctx context.Context, taskID string) (Stream, error)
	// Watch follows every task: the events after cursor ("" for from now,
	// CursorStart for from the beginning of what is kept), then live ones.
	// Each event carries the cursor to resume after it. It never ends on its
	// own; cancel ctx or Close the stream.
	Watch(ctx context.Context, cursor string) (Stream, error)
	// Card describes the agent behind the service.
	Card(ctx context.Context) (*AgentCard, error)
}

// CursorStart asks Watch for every event it still has.
const CursorStart = "0"

// Stream is a sequence of events. It is owned by one reader.
type Stream interface {
	// Recv blocks until the next event. It returns io.EOF after the last
	// one, ErrLagged when the reader fell too far behind, ctx.Err() when the
	// stream's context ended, or the transport's error.
	Recv() (StreamEvent, error)
	// Close releases the stream; Recv then returns an error. Safe to call
	// more than once and from another goroutine.
	Close() error
}

// StreamEvent is one event of a Stream.
type StreamEvent struct {
	// Event is a *Task, *Message, *StatusUpdateEvent or *ArtifactUpdateEvent.
	Event Event
	// Cursor, on Watch streams, resumes right after this event.
	Cursor string
	// Seq is the event's sequence number within its task when the source
	// knows it (the local engine does), else 0.
	Seq uint64
	// Time is when the source recorded the event, when it knows.
	Time time.Time
}

// SendRequest is the message/send and SendMessage request.
type SendRequest struct {
	Message  Message
	Config   SendConfig
	Metadata Metadata
	// Tenant is v1.0's optional tenant, passed through.
	Tenant string
}

// SendConfig is the request's configuration object.
type SendConfig struct {
	AcceptedOutputModes []string
	// HistoryLength caps the history returned; nil means the server's default.
	HistoryLength *int
	// ReturnImmediately asks the server not to wait for the task to finish
	// (v1.0 returnImmediately, v0.3 blocking:false).
	ReturnImmediately bool
}

// SendResult is what Send returns: exactly one of Task and Message is set.
type SendResult struct {
	Task    *Task
	Message *Message
}

// Event returns the result as an Event.
func (r *SendResult) Event() Event {
	if r.Task != nil {
		return r.Task
	}
	return r.Message
}

// GetRequest is the tasks/get and GetTask request.
type GetRequest struct {
	ID            string
	HistoryLength *int
	Tenant        string
}

// ListRequest is v1.0's ListTasks request plus a2atop's text filter.
type ListRequest struct {
	ContextID string
	// State filters on one state; empty means all.
	State TaskState
	// PageSize is 1..100; 0 means the default of 50.
	PageSize  int
	PageToken string
	// HistoryLength caps each task's history; nil means the server's default.
	HistoryLength *int
	// StatusTimestampAfter keeps tasks whose status changed after this time.
	StatusTimestampAfter time.Time
	IncludeArtifacts     bool
	// Text, a2atop only, keeps tasks whose id, status text or metadata
	// contain it (case-insensitive). Remote servers never see it.
	Text   string
	Tenant string
	// Reverse, a2atop only, lists oldest first (the reverse of the
	// default order); a page token continues in the same direction. A
	// service that cannot (a remote agent: ListTasks has no order
	// parameter) returns ErrUnsupported; it is never sent on the wire.
	Reverse bool
	// ByCreated, a2atop only, lists newest created first (oldest created
	// first with Reverse) instead of newest change first: the order of
	// the store's task ids, which the engine makes UUIDv7 (time-ordered),
	// so that a dashboard sorted by AGE lists it from the store. Like
	// Reverse, a service that cannot returns ErrUnsupported; it is never
	// sent to a third-party agent.
	ByCreated bool
}

// List paging limits from the v1.0 spec.
const (
	DefaultPageSize = 50
	MaxPageSize     = 100
)

// ListPage is one page of List.
type ListPage struct {
	Tasks []*Task
	// NextPageToken is empty on the last page.
	NextPageToken string
	PageSize      int
	TotalSize     int
	// FromJournal says the page is not the agent's own list but the tasks
	// the client has seen (created, fetched, or learned from a stream),
	// from its journal: a v0.3 agent cannot list its tasks. A CLI notes it
	// on stderr; a dashboard says "v0.3: tasks seen by a2atop".
	FromJournal bool
	// Damaged names the tasks in the page's range that a local store
	// could not read (engine.DamagedError); they are not in Tasks. On the
	// wire only as a2atop's own ListTasks member, so that an a2atop using
	// another's engine through its socket names them too.
	Damaged []string
	// Reverse and ByCreated say the order the page is in when a2atop's own
	// service lists (engine.Reader echoes the request's): a client that
	// asked a peer for another order than the default takes the page only
	// if the peer says it listed so (an older a2atop ignores the members).
	Reverse   bool
	ByCreated bool
}
