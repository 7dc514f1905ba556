package a2a

import "time"

// Optional capabilities are interfaces a Service or a Stream may implement
// beyond the required methods. Check for them by these names, never by an
// anonymous interface, and give every wrapper a compile-time check for each
// capability it must pass through (var _ a2a.CursorStream = (*T)(nil)), so
// that a wrapper which forgets one fails to build instead of silently
// hiding it from whoever looks for it.

// CursorStream is a Watch stream that knows where it starts.
type CursorStream interface {
	Stream
	// StartCursor is the cursor the stream starts after: for a Watch from
	// now, the log's position when Watch returned; for a Watch after a
	// cursor, that cursor. "" when the stream does not know. A server
	// passes it on (an SSE id-only event), so a client whose connection
	// drops before the first event resumes from there instead of from a
	// later "now", missing nothing.
	StartCursor() string
}

// JournalLister is a Service whose List is not the agent's own but the
// tasks the client has seen (a v0.3 agent cannot list them). A CLI prints
// a one-line note on stderr; a dashboard says so in its header. Each such
// page is also marked ListPage.FromJournal.
type JournalLister interface {
	ListsFromJournal() bool
}

// FirstSeer is a Service that knows when a task was first seen, for a
// created time where the agent gives none (A2A tasks carry no creation
// time). The client's journal keeps it across restarts.
type FirstSeer interface {
	FirstSeen(taskID string) (time.Time, bool)
}
