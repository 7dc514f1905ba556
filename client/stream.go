package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
)

// taskStream follows one task over SSE and survives drops. It is pulled by
// its reader: Recv reads the next event, and when the connection breaks
// before the task ended or started waiting on its user, Recv itself
// reconnects (backoff with jitter), reconciles with GetTask, resubscribes,
// and falls back to polling GetTask when the agent cannot resubscribe.
//
// Only Recv's goroutine touches the fields below mu; Close only cancels the
// context, which aborts any read or wait in Recv.
type taskStream struct {
	c      *Client
	ctx    context.Context
	cancel context.CancelFunc
	closed sync.Once

	// first is the method of the stream being read (Stream or Subscribe).
	method wire.Method
	body   io.Closer
	rd     *eventReader

	taskID  string
	state   a2a.TaskState
	final   bool // v0.3 final:true seen, or a task-less Message
	done    bool
	dropped bool // at least one drop: reconcile once more at the end
	polling bool
	last    *a2a.Task // last snapshot fetched while reconnecting or polling
	err     error

	// params is the first request's, for retrying it; tries counts its
	// tries so far.
	params any
	tries  int

	pending []a2a.Event
	// dropAt is when the agent was last reachable, for the give-up limit.
	dropAt  time.Time
	attempt int
	cause   error
	onEvent func(a2a.Event) // the journal's tap, if any
}

func (c *Client) newTaskStream(ctx context.Context, m wire.Method) *taskStream {
	ctx, cancel := context.WithCancel(ctx)
	return &taskStream{c: c, ctx: ctx, cancel: cancel, method: m, onEvent: c.journalTap()}
}

// Close stops the stream and its request. Safe to call more than once and
// from any goroutine.
func (s *taskStream) Close() error {
	s.closed.Do(s.cancel)
	return nil
}

// Recv returns the next event, io.EOF after the last one, or an error.
func (s *taskStream) Recv() (a2a.StreamEvent, error) {
	for {
		if len(s.pending) > 0 {
			ev := s.pending[0]
			s.pending[0] = nil
			s.pending = s.pending[1:]
			if s.onEvent != nil {
				s.onEvent(ev)
			}
			return a2a.StreamEvent{Event: ev, Time: eventTime(ev)}, nil
		}
		if s.err != nil {
			s.closeBody()
			return a2a.StreamEvent{}, s.err
		}
		if err := s.ctx.Err(); err != nil {
			s.closeBody()
			return a2a.StreamEvent{}, err
		}
		if s.done {
			s.closeBody()
			return a2a.StreamEvent{}, io.EOF
		}
		switch {
		case s.polling:
			s.poll()
		case s.rd == nil:
			s.reconnect()
		default:
			s.readOne()
		}
	}
}

// readOne reads one event from the live stream into pending, or handles the
// stream's end.
func (s *taskStream) readOne() {
	raw, err := s.rd.next()
	if err == nil {
		ev, derr := s.decode(raw)
		if derr != nil {
			s.closeBody()
			var perr *a2a.Error
			if s.method == wire.MethodSubscribe && s.taskID != "" && errors.As(derr, &perr) &&
				(perr.Code == a2a.CodeTaskNotFound || perr.Code == a2a.CodeUnsupportedOperation) {
				// a2a-go answers -32001 "no active execution" (js: -32004)
				// for a task it cannot follow live: poll it instead.
				s.startPolling()
				return
			}
			s.err = derr
			return
		}
		s.observe(ev)
		s.pending = append(s.pending, ev)
		if s.finishedForGood() {
			s.finish()
		}
		return
	}
	s.closeBody()
	if s.ctx.Err() != nil {
		return
	}
	if errors.Is(err, errEventTooLarge) {
		s.err = fmt.Errorf("stream from %s: %w", s.c.tr.endpoint, err)
		return
	}
	if s.finished() {
		// EOF (or a cut) after an interrupted state or v0.3's final is the
		// normal end of the stream.
		s.finish()
		return
	}
	if s.taskID == "" {
		if isCut(err) && s.retryFirst() {
			return
		}
		if err == io.EOF {
			s.err = fmt.Errorf("stream from %s ended before the agent sent a task", s.c.tr.endpoint)
		} else {
			s.err = fmt.Errorf("stream from %s broke before the agent sent a task: %w", s.c.tr.endpoint, err)
		}
		return
	}
	if err == io.EOF {
		err = errors.New("stream ended before the task did")
	}
	s.dropped = true
	s.dropAt = time.Now()
	s.attempt = 0
	s.cause = err
}

// decode turns one SSE event into an A2A event, or the server's error.
func (s *taskStream) decode(raw sseEvent) (a2a.Event, error) {
	res, err := s.c.tr.decode(s.method, raw.Data)
	if err != nil {
		var perr *a2a.Error
		if errors.As(err, &perr) {
			return nil, perr
		}
		if raw.IsError {
			return nil, fmt.Errorf("stream from %s: server error event: %s", s.c.tr.endpoint, oneLine(string(raw.Data), 200))
		}
		return nil, fmt.Errorf("stream from %s: bad event: %w", s.c.tr.endpoint, err)
	}
	ev, ok := res.(a2a.Event)
	if !ok || ev == nil {
		return nil, fmt.Errorf("stream from %s: bad event: no result", s.c.tr.endpoint)
	}
	return ev, nil
}

// observe tracks the task id and state the events reveal.
func (s *taskStream) observe(ev a2a.Event) {
	switch ev := ev.(type) {
	case *a2a.Task:
		s.taskID, s.state = ev.ID, ev.Status.State
	case *a2a.StatusUpdateEvent:
		if s.taskID == "" {
			s.taskID = ev.TaskID
		}
		s.state = ev.Status.State
		// auth-required is not an end, even marked final: the agent may
		// carry on when credentials arrive out of band and "SHOULD maintain
		// any active response streams" (A2A v1.0 §7.6.1). Read on until the
		// server closes the stream (EOF after it is a normal end).
		if ev.Final && ev.Status.State != a2a.StateAuthRequired {
			s.final = true
		}
	case *a2a.ArtifactUpdateEvent:
		if s.taskID == "" {
			s.taskID = ev.TaskID
		}
	case *a2a.Message:
		if s.taskID == "" {
			// An agent that answers with a message makes no task: that
			// message is the whole stream.
			s.final = true
		}
	}
}

// finished: nothing more will come that this stream must wait for.
func (s *taskStream) finished() bool {
	return s.final || s.state.Terminal() || s.state.Interrupted()
}

// finishedForGood: stop reading now, without waiting for EOF. An
// interrupted state waits for EOF in v1.0 (the server closes), but v0.3's
// final or a terminal state needs nothing more.
func (s *taskStream) finishedForGood() bool {
	return s.final || s.state.Terminal()
}

// finish ends the stream; after a drop it reconciles once more with
// GetTask, because events between the last snapshot and the resubscribe may
// have been missed or (artifact chunks) delivered twice.
func (s *taskStream) finish() {
	s.done = true
	s.closeBody()
	if s.dropped && s.taskID != "" {
		if t, err := s.c.getTask(s.ctx, s.taskID); err == nil {
			s.pending = append(s.pending, t)
		}
	}
}

func (s *taskStream) closeBody() {
	if s.body != nil {
		s.body.Close()
		s.body, s.rd = nil, nil
	}
}

// reconnect makes one attempt to get the task back after a drop: wait,
// GetTask, then resubscribe (or poll when the agent cannot).
func (s *taskStream) reconnect() {
	pol := s.c.opts.Reconnect
	wait := backoff(pol, s.attempt)
	s.attempt++
	s.c.conn.set(ConnState{Kind: Reconnecting, In: wait, Err: s.cause})
	if !sleepCtx(s.ctx, wait) {
		return
	}
	t, err := s.c.getTask(s.ctx, s.taskID)
	if err != nil {
		s.retryOrGiveUp(err)
		return
	}
	s.dropAt = time.Now()
	s.pending = append(s.pending, t)
	s.last = t
	s.state = t.Status.State
	if s.finished() {
		s.done = true
		s.c.conn.set(ConnState{Kind: Connected})
		return
	}
	resp, rd, err := s.c.tr.openStream(s.ctx, wire.MethodSubscribe, s.taskID)
	if err != nil {
		var perr *a2a.Error
		if errors.As(err, &perr) {
			// The agent is there but will not resubscribe: poll instead.
			s.startPolling()
			return
		}
		s.retryOrGiveUp(err)
		return
	}
	s.method = wire.MethodSubscribe
	s.body, s.rd = resp.Body, rd
	s.attempt = 0
}

func (s *taskStream) retryOrGiveUp(err error) {
	if s.ctx.Err() != nil {
		return
	}
	var perr *a2a.Error
	if errors.As(err, &perr) {
		s.err = err
		return
	}
	s.cause = err
	if time.Since(s.dropAt) >= s.c.opts.Reconnect.GiveUpAfter {
		s.err = &GaveUpError{TaskID: s.taskID, After: s.c.opts.Reconnect.GiveUpAfter, Endpoint: s.c.tr.endpoint, Err: err}
		s.c.conn.set(ConnState{Kind: GaveUp, Err: err})
	}
}

func (s *taskStream) startPolling() {
	s.polling = true
	s.dropAt = time.Now()
	s.c.conn.set(ConnState{Kind: Polling})
}

// poll fetches the task once after the poll interval and queues it when it
// changed.
func (s *taskStream) poll() {
	if !sleepCtx(s.ctx, s.c.opts.Reconnect.PollInterval) {
		return
	}
	t, err := s.c.getTask(s.ctx, s.taskID)
	if err != nil {
		s.retryOrGiveUp(err)
		return
	}
	s.dropAt = time.Now()
	s.c.conn.set(ConnState{Kind: Polling})
	if s.last == nil || taskChanged(s.last, t) {
		s.pending = append(s.pending, t)
	}
	s.last = t
	s.state = t.Status.State
	if s.finished() {
		s.done = true
		s.c.conn.set(ConnState{Kind: Connected})
	}
}

func taskChanged(a, b *a2a.Task) bool {
	if a.Status.State != b.Status.State || !a.Status.Timestamp.Equal(b.Status.Timestamp) {
		return true
	}
	if len(a.Artifacts) != len(b.Artifacts) || len(a.History) != len(b.History) {
		return true
	}
	for i := range a.Artifacts {
		if len(a.Artifacts[i].Parts) != len(b.Artifacts[i].Parts) {
			return true
		}
	}
	return false
}

// backoff is Initial·2^attempt capped at Max, jittered by ±20%.
func backoff(p ReconnectPolicy, attempt int) time.Duration {
	d := p.Initial
	for i := 0; i < attempt && d < p.Max; i++ {
		d *= 2
	}
	if d > p.Max {
		d = p.Max
	}
	jitter := time.Duration(float64(d) * 0.2 * (2*rand.Float64() - 1))
	return d + jitter
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func eventTime(ev a2a.Event) time.Time {
	switch ev := ev.(type) {
	case *a2a.Task:
		return ev.Status.Timestamp
	case *a2a.StatusUpdateEvent:
		return ev.Status.Timestamp
	}
	return time.Time{}
}

// start opens the first connection of a stream for Stream (m =
// MethodStream) or Subscribe, retrying transport failures (see
// RetryPolicyHelp).
func (s *taskStream) start(params any) error {
	s.params = params
	err := withRetry(s.ctx, s.c.opts.Retry, s.open)
	if err != nil {
		s.cancel()
		return err
	}
	return nil
}

// open makes one try of the first request.
func (s *taskStream) open() error {
	s.tries++
	resp, rd, err := s.c.tr.openStream(s.ctx, s.method, s.params)
	if err != nil {
		return err
	}
	s.body, s.rd = resp.Body, rd
	return nil
}

// retryFirst sends the first request again after its stream broke before
// the agent named a task: with the same messageId, an agent that
// deduplicates answers with the task the first try created and its
// events, and the stream goes on from there. False when the tries are
// spent or the stream was closed; s.err is set when a retry failed.
func (s *taskStream) retryFirst() bool {
	pol := s.c.opts.Retry
	if s.params == nil || s.tries >= pol.Attempts {
		return false
	}
	if !sleepCtx(s.ctx, backoff(ReconnectPolicy{Initial: pol.Initial, Max: pol.Max}, s.tries-1)) {
		return true // closed: Recv reports the context's error
	}
	for {
		err := s.open()
		if err == nil {
			return true
		}
		if s.tries >= pol.Attempts || !retryable(s.ctx, err) {
			if s.ctx.Err() == nil {
				s.err = fmt.Errorf("stream from %s broke before the agent sent a task, and %d tries failed: %w", s.c.tr.endpoint, s.tries, err)
			}
			return true
		}
		if !sleepCtx(s.ctx, backoff(ReconnectPolicy{Initial: pol.Initial, Max: pol.Max}, s.tries-1)) {
			return true
		}
	}
}

var _ a2a.Stream = (*taskStream)(nil)
