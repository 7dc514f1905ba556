package client

import (
	"time"
)

// watermark decides where a Watch's next ListTasks starts, so that polling
// an idle agent costs it one small request, however many tasks it holds.
//
// The newest status time a poll has returned (the mark) moves forward with
// every poll. Listing only what changed after it would miss a change the
// agent stamped before the mark but stored (and so listed) after the poll:
// under load that lag exceeds a second. So a mark is trusted only once it
// has settled, WatchOverlap after the poll that found it (by then whatever
// the agent stamped before it is stored), and until then the list starts
// from the newest settled mark, or WatchOverlap before the first mark. An
// idle agent's marks all settle, and each poll then asks only for what
// changed since the newest status it has; what comes back unchanged is
// dropped by (id, status time).
//
// The list starts a millisecond before the mark, not at it: an agent whose
// "after" is strict would otherwise hide a change stamped exactly at the
// mark's time (another task's status in the same millisecond).
type watermark struct {
	overlap time.Duration
	marks   []mark // ascending in at; marks[0] may be settled
}

// mark is a status time returned by a poll, and when that poll ended.
type mark struct {
	at    time.Time
	found time.Time
}

// atWatermark is how far before a settled mark the list starts.
const atWatermark = time.Millisecond

// observe records the newest status time a poll ended with (at the local
// time now), if it moved forward.
func (m *watermark) observe(newest, now time.Time) {
	if newest.IsZero() {
		return
	}
	if n := len(m.marks); n > 0 && !newest.After(m.marks[n-1].at) {
		return
	}
	m.marks = append(m.marks, mark{at: newest, found: now})
}

// after is the statusTimestampAfter of the next list at local time now:
// zero (list everything) before the first mark.
func (m *watermark) after(now time.Time) time.Time {
	if len(m.marks) == 0 {
		return time.Time{}
	}
	settled := -1
	for i, mk := range m.marks {
		if now.Sub(mk.found) >= m.overlap {
			settled = i
		}
	}
	if settled < 0 {
		return m.marks[0].at.Add(-m.overlap)
	}
	// Older marks say nothing the settled one does not.
	m.marks = m.marks[settled:]
	return m.marks[0].at.Add(-atWatermark)
}

// idleBackoff is the wait before the next poll: the interval after a poll
// that found news, growing by half after each idle one, up to max.
func idleBackoff(interval, max, last time.Duration, news bool) time.Duration {
	if news || last <= 0 {
		return interval
	}
	next := last + last/2
	if next > max {
		next = max
	}
	return next
}
