package engine

import (
	"context"
	"errors"
	"strconv"
	"sync"

	"github.com/a2atop/a2atop/a2a"
)

// sharedWatchStream is Watch over a SharedLog store: it reads the store's
// log by cursor, and when caught up waits for the store's wake-up (a
// notification from whichever process committed), never polling. The store
// assigns cursors in commit order, so reading forward from the last cursor
// delivered misses nothing and repeats nothing, on any replica.
type sharedWatchStream struct {
	e         *Engine
	ctx       context.Context
	closeCh   chan struct{}
	closeOnce sync.Once
	wake      <-chan struct{}
	stopWake  func()

	scan  uint64 // every event up to this cursor was delivered
	start uint64
	out   eventQueue
}

var _ a2a.Stream = (*sharedWatchStream)(nil)

func (e *Engine) watchShared(ctx context.Context, sl SharedLog, cursor string) (a2a.Stream, error) {
	// Subscribe before reading the head: a commit between the two wakes
	// the stream rather than going unnoticed.
	wake, stop := sl.WatchLog()
	last, err := sl.LastCursor(ctx)
	if err != nil {
		stop()
		return nil, err
	}
	s := &sharedWatchStream{e: e, ctx: ctx, closeCh: make(chan struct{}), wake: wake, stopWake: stop, scan: last}
	if cursor != "" {
		c, err := strconv.ParseUint(cursor, 10, 64)
		if err != nil {
			stop()
			return nil, a2a.NewError(a2a.ErrInvalidParams, "watch: invalid cursor %q: want a decimal number", cursor)
		}
		if c > last {
			stop()
			return nil, a2a.NewError(a2a.ErrInvalidParams, "watch: cursor %d is ahead of the log (last %d)", c, last)
		}
		s.scan = c
	}
	s.start = s.scan
	return s, nil
}

// StartCursor: see watchStream.StartCursor.
func (s *sharedWatchStream) StartCursor() string { return strconv.FormatUint(s.start, 10) }

func (s *sharedWatchStream) Close() error {
	s.closeOnce.Do(func() {
		close(s.closeCh)
		s.stopWake()
	})
	return nil
}

func (s *sharedWatchStream) Recv() (a2a.StreamEvent, error) {
	for {
		select {
		case <-s.closeCh:
			return a2a.StreamEvent{}, closedErr(s.ctx)
		default:
		}
		if ev, ok := s.out.pop(); ok {
			return ev, nil
		}
		if err := s.ctx.Err(); err != nil {
			return a2a.StreamEvent{}, err
		}
		if s.e.closed.Load() {
			return a2a.StreamEvent{}, ErrClosed
		}
		evs, err := s.e.store.Log(s.ctx, s.scan, watchReplayBatch)
		if err != nil && !errors.Is(err, ErrStoreUnavailable) {
			return a2a.StreamEvent{}, err
		}
		// Unavailable (the database restarts): nothing was read, and the
		// store wakes the stream when its listener is back (and on each
		// attempt before), so it reads on from s.scan then.
		for _, ev := range evs {
			s.out.push(watchEvent(ev))
			s.scan = ev.Cursor
		}
		if len(evs) > 0 {
			continue
		}
		select {
		case _, ok := <-s.wake:
			if !ok {
				return a2a.StreamEvent{}, ErrClosed // the store was closed
			}
		case <-s.closeCh:
		case <-s.ctx.Done():
		case <-s.e.ctx.Done():
		}
	}
}
