package localshare

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/google/uuid"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
)

// maxCarryOvers bounds how many host changes one call rides through.
const maxCarryOvers = 3

// do runs fn on the current delegate; when it fails because the host went
// away, it runs fn again on the successor. fn must be safe to repeat.
func do[T any](ctx context.Context, l *Local, fn func(*delegate) (T, error)) (T, error) {
	var zero T
	for n := 0; ; n++ {
		d, err := l.current(ctx)
		if err != nil {
			return zero, err
		}
		v, err := fn(d)
		if err == nil || ctx.Err() != nil || n >= maxCarryOvers || !l.hostLost(ctx, d) {
			return v, err
		}
		if _, terr := l.takeOver(d.gen); terr != nil {
			return zero, fmt.Errorf("%w (and then: %w)", err, terr)
		}
	}
}

// withMessageID makes a send repeatable: the engine answers a message id
// it has seen with the task it created, so a send carried over to the
// successor does not start a second task.
func withMessageID(req *a2a.SendRequest) *a2a.SendRequest {
	if req == nil || req.Message.ID != "" {
		return req
	}
	cp := *req
	cp.Message.ID = uuid.NewString()
	return &cp
}

func (l *Local) Send(ctx context.Context, req *a2a.SendRequest) (*a2a.SendResult, error) {
	req = withMessageID(req)
	return do(ctx, l, func(d *delegate) (*a2a.SendResult, error) { return d.svc.Send(ctx, req) })
}

func (l *Local) Get(ctx context.Context, req a2a.GetRequest) (*a2a.Task, error) {
	return do(ctx, l, func(d *delegate) (*a2a.Task, error) { return d.svc.Get(ctx, req) })
}

func (l *Local) List(ctx context.Context, req a2a.ListRequest) (*a2a.ListPage, error) {
	return do(ctx, l, func(d *delegate) (*a2a.ListPage, error) { return d.svc.List(ctx, req) })
}

// Cancel is repeatable: canceling a canceled task returns it unchanged.
func (l *Local) Cancel(ctx context.Context, taskID string) (*a2a.Task, error) {
	return do(ctx, l, func(d *delegate) (*a2a.Task, error) { return d.svc.Cancel(ctx, taskID) })
}

func (l *Local) Card(ctx context.Context) (*a2a.AgentCard, error) {
	return do(ctx, l, func(d *delegate) (*a2a.AgentCard, error) { return d.svc.Card(ctx) })
}

// Local passes the engine's timeline on, wherever the engine runs.
var _ a2a.TimelineSource = (*Local)(nil)

// Timeline is a task's whole event log, from the engine here or the
// host's (the dashboard's timeline tab).
func (l *Local) Timeline(ctx context.Context, taskID string) ([]a2a.TimelineEvent, error) {
	return do(ctx, l, func(d *delegate) ([]a2a.TimelineEvent, error) {
		switch {
		case d.host != nil:
			return d.host.eng.Timeline(ctx, taskID)
		case d.store != nil:
			return engine.Reader{Store: d.store}.Timeline(ctx, taskID)
		default:
			return fetchTimeline(ctx, d.remote.hc, taskID)
		}
	})
}

func (l *Local) Stream(ctx context.Context, req *a2a.SendRequest) (a2a.Stream, error) {
	req = withMessageID(req)
	rs := &resumeStream{l: l, ctx: ctx}
	// Before the first event, a carried-over stream sends again (the
	// same message id: the same task); after it, it subscribes.
	rs.reopen = func(d *delegate) (a2a.Stream, error) {
		if id := rs.taskID; id != "" {
			return subscribeOrSnapshot(ctx, d.svc, id)
		}
		return d.svc.Stream(ctx, req)
	}
	return rs.open()
}

func (l *Local) Subscribe(ctx context.Context, taskID string) (a2a.Stream, error) {
	rs := &resumeStream{l: l, ctx: ctx}
	first := true
	rs.reopen = func(d *delegate) (a2a.Stream, error) {
		if first {
			first = false
			return d.svc.Subscribe(ctx, taskID)
		}
		return subscribeOrSnapshot(ctx, d.svc, taskID)
	}
	return rs.open()
}

// Watch follows every task; carried over to a successor, it resumes after
// the last event's cursor (the engine's cursors, which the socket's feed
// passes through).
func (l *Local) Watch(ctx context.Context, cursor string) (a2a.Stream, error) {
	rs := &resumeStream{l: l, ctx: ctx, cursor: cursor}
	rs.reopen = func(d *delegate) (a2a.Stream, error) {
		if rs.cursor == "" && d.remote != nil {
			// "From now" has no cursor until the first event, and a
			// takeover before it must still resume where this began:
			// follow from the host's current cursor instead.
			if info, err := d.remote.ask(ctx, d.remote.hc); err == nil {
				rs.cursor = strconv.FormatUint(info.Cursor, 10)
			}
		}
		s, err := d.svc.Watch(ctx, rs.cursor)
		if err != nil && rs.cursor != "" && errors.Is(err, a2a.ErrInvalidParams) {
			// A cursor the new side does not know (a client whose feed
			// numbers events its own way): follow from now rather than
			// fail every retry the same way.
			rs.cursor = ""
			return d.svc.Watch(ctx, "")
		}
		return s, err
	}
	if _, err := rs.open(); err != nil {
		return nil, err
	}
	return &watchStream{resumeStream: rs, start: rs.startCursor()}, nil
}

// watchStream is Watch's resumeStream: it passes on where it started
// (a2a.CursorStream), which serve's /events sends first.
type watchStream struct {
	*resumeStream
	start string
}

var _ a2a.CursorStream = (*watchStream)(nil)

func (s *watchStream) StartCursor() string { return s.start }

// startCursor is where a Watch just opened starts: the cursor its stream
// knows, else the one reopen followed from (the cursor asked for, or the
// host's current cursor). Call it before the first Recv.
func (s *resumeStream) startCursor() string {
	if cs, ok := s.cur.(a2a.CursorStream); ok {
		if c := cs.StartCursor(); c != "" {
			return c
		}
	}
	return s.cursor
}

// subscribeOrSnapshot follows a task again after a host change. A task
// that ended meanwhile may not be followable on every service: its
// snapshot alone is then the rest of the stream.
func subscribeOrSnapshot(ctx context.Context, svc a2a.Service, id string) (a2a.Stream, error) {
	s, err := svc.Subscribe(ctx, id)
	if err == nil {
		return s, nil
	}
	t, gerr := svc.Get(ctx, a2a.GetRequest{ID: id})
	if gerr != nil || !t.Status.State.Terminal() {
		return nil, err
	}
	return &onceStream{ev: a2a.StreamEvent{Event: t}}, nil
}

// resumeStream is a stream that outlives its host: when the one it reads
// fails because the host went away, it opens the same stream again on the
// successor (reopen), from where it was.
type resumeStream struct {
	l      *Local
	ctx    context.Context
	reopen func(*delegate) (a2a.Stream, error)

	// Read and written by Recv only (one reader), and by reopen under it.
	taskID string
	cursor string

	mu     sync.Mutex
	cur    a2a.Stream
	d      *delegate
	closed bool
	// moved: a takeover closed cur to move the stream to the successor.
	moved bool
}

// moveStreams closes the current stream of every stream still on the
// delegate of generation gen, whose host left: their Recv opens them again
// on the successor at once, instead of waiting for the old stream to fail.
func (l *Local) moveStreams(gen uint64) {
	l.streamsMu.Lock()
	var old []a2a.Stream
	for s := range l.streams {
		s.mu.Lock()
		if !s.closed && s.d.gen == gen {
			s.moved = true
			old = append(old, s.cur)
		}
		s.mu.Unlock()
	}
	l.streamsMu.Unlock()
	for _, st := range old {
		_ = st.Close()
	}
}

func (s *resumeStream) open() (a2a.Stream, error) {
	for n := 0; ; n++ {
		d, err := s.l.current(s.ctx)
		if err != nil {
			return nil, err
		}
		st, err := s.reopen(d)
		if err == nil {
			s.cur, s.d = st, d
			if d.remote != nil {
				s.l.streamsMu.Lock()
				s.l.streams[s] = struct{}{}
				s.l.streamsMu.Unlock()
			}
			return s, nil
		}
		if s.ctx.Err() != nil || n >= maxCarryOvers || !s.l.hostLost(s.ctx, d) {
			return nil, err
		}
		if _, terr := s.l.takeOver(d.gen); terr != nil {
			return nil, fmt.Errorf("%w (and then: %w)", err, terr)
		}
	}
}

func (s *resumeStream) Recv() (a2a.StreamEvent, error) {
	carried := 0
	for {
		s.mu.Lock()
		cur, d, closed := s.cur, s.d, s.closed
		s.mu.Unlock()
		if closed {
			return a2a.StreamEvent{}, errors.New("stream closed")
		}
		ev, err := cur.Recv()
		if err == nil {
			s.observe(ev)
			return ev, nil
		}
		s.mu.Lock()
		closed = s.closed
		moved := s.moved
		s.moved = false
		s.mu.Unlock()
		if closed || s.ctx.Err() != nil {
			return ev, err
		}
		if !moved && (errors.Is(err, io.EOF) || errors.Is(err, a2a.ErrLagged) ||
			carried >= maxCarryOvers || !s.l.hostLost(s.ctx, d)) {
			return ev, err
		}
		carried++
		nd, terr := s.l.takeOver(d.gen)
		if terr != nil {
			return a2a.StreamEvent{}, fmt.Errorf("%w (and then: %w)", err, terr)
		}
		next, rerr := s.reopen(nd)
		if rerr != nil {
			return a2a.StreamEvent{}, fmt.Errorf("%w (and then: %w)", err, rerr)
		}
		_ = cur.Close()
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = next.Close()
			continue
		}
		s.cur, s.d = next, nd
		s.mu.Unlock()
	}
}

// observe remembers where the stream is: its task, its last cursor.
func (s *resumeStream) observe(ev a2a.StreamEvent) {
	if ev.Cursor != "" {
		s.cursor = ev.Cursor
	}
	if s.taskID != "" {
		return
	}
	switch e := ev.Event.(type) {
	case *a2a.Task:
		s.taskID = e.ID
	case *a2a.StatusUpdateEvent:
		s.taskID = e.TaskID
	case *a2a.ArtifactUpdateEvent:
		s.taskID = e.TaskID
	case *a2a.Message:
		s.taskID = e.TaskID
	}
}

func (s *resumeStream) Close() error {
	s.mu.Lock()
	s.closed = true
	cur := s.cur
	s.mu.Unlock()
	s.l.streamsMu.Lock()
	delete(s.l.streams, s)
	s.l.streamsMu.Unlock()
	return cur.Close()
}

// onceStream is one event, then io.EOF.
type onceStream struct {
	ev   a2a.StreamEvent
	done bool
}

func (s *onceStream) Recv() (a2a.StreamEvent, error) {
	if s.done {
		return a2a.StreamEvent{}, io.EOF
	}
	s.done = true
	return s.ev, nil
}

func (s *onceStream) Close() error { return nil }
