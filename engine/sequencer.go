package engine

import "sync"

// sequencer hands out global cursors and releases committed events to Watch
// readers strictly in cursor order.
//
// Cursors are assigned before a commit (under the task's writer lock, so
// within a task they follow the sequence numbers), then tasks commit
// concurrently so that the store can group their writes. A commit that
// finishes before an earlier cursor's waits in pending; released only moves
// past a cursor once every cursor up to it has been committed (or failed,
// leaving a gap). Watch readers never see, nor read from the store, a
// cursor above released, so one that resumes from its last cursor cannot
// miss an earlier event that was still being committed.
type sequencer struct {
	mu       sync.Mutex
	next     uint64 // next cursor to assign
	released uint64
	pending  map[uint64]pendingBatch // by first cursor
	live     *broadcaster[LoggedEvent]
}

type pendingBatch struct {
	n      uint64
	events []LoggedEvent // nil when the commit failed
}

func newSequencer(last uint64, ringSize int) *sequencer {
	return &sequencer{
		next:     last + 1,
		released: last,
		pending:  map[uint64]pendingBatch{},
		live:     newBroadcaster[LoggedEvent](ringSize),
	}
}

// assign reserves n consecutive cursors and returns the first.
func (s *sequencer) assign(n int) uint64 {
	s.mu.Lock()
	first := s.next
	s.next += uint64(n)
	s.mu.Unlock()
	return first
}

// done reports the outcome of the commit that holds cursors first..first+n-1.
func (s *sequencer) done(first uint64, n int, events []LoggedEvent, ok bool) {
	if !ok {
		events = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if first != s.released+1 {
		s.pending[first] = pendingBatch{n: uint64(n), events: events}
		return
	}
	s.release(uint64(n), events)
	for {
		b, ok := s.pending[s.released+1]
		if !ok {
			return
		}
		delete(s.pending, s.released+1)
		s.release(b.n, b.events)
	}
}

func (s *sequencer) release(n uint64, events []LoggedEvent) {
	s.released += n
	if len(events) > 0 {
		s.live.publish(events...)
	}
}

// releasedCursor is the highest cursor below which nothing is pending.
func (s *sequencer) releasedCursor() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.released
}

// goLive returns the live position for a reader that has seen everything
// up to cursor, or ok=false if more has been released since.
func (s *sequencer) goLive(cursor uint64) (pos uint64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cursor != s.released {
		return 0, false
	}
	return s.live.end(), true
}
