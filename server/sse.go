package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
)

// sseWriter writes server-sent events, flushing each one and bounding each
// write so that a client that stops reading is cut off.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	buf     []byte
}

func newSSEWriter(w http.ResponseWriter, timeout time.Duration) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	sw := &sseWriter{w: w, rc: http.NewResponseController(w), timeout: timeout}
	// Send the headers now: a quiet stream would otherwise leave the
	// client waiting for them until the first event or keep-alive.
	_ = sw.rc.Flush()
	return sw
}

// event writes one event. data is one line of JSON (encoding/json never
// writes a raw newline); id and event must not contain newlines.
func (s *sseWriter) event(id, event string, data []byte) error {
	b := s.buf[:0]
	if event != "" {
		b = append(b, "event: "...)
		b = append(b, event...)
		b = append(b, '\n')
	}
	if id != "" {
		b = append(b, "id: "...)
		b = append(b, id...)
		b = append(b, '\n')
	}
	b = append(b, "data: "...)
	b = append(b, data...)
	b = append(b, "\n\n"...)
	s.buf = b
	return s.write(b)
}

// idOnly writes an event with an id and no data: it sets the client's
// last event ID and dispatches nothing.
func (s *sseWriter) idOnly(id string) error { return s.write([]byte("id: " + id + "\n\n")) }

// comment writes a keep-alive comment line.
func (s *sseWriter) comment() error { return s.write([]byte(": keep-alive\n\n")) }

func (s *sseWriter) write(b []byte) error {
	// Not every ResponseWriter supports deadlines (httptest.ResponseRecorder
	// does not); without one the write is simply unbounded.
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
	if _, err := s.w.Write(b); err != nil {
		return fmt.Errorf("write event: %w", err)
	}
	if err := s.rc.Flush(); err != nil {
		return fmt.Errorf("flush event: %w", err)
	}
	return nil
}

// recvResult is one Recv of a stream.
type recvResult struct {
	ev  a2a.StreamEvent
	err error
}

// pump reads st on its own goroutine so that the writer can send keep-alives
// while Recv blocks. The goroutine ends after the first error; the caller
// owns it through done: close st, then drain.
func pump(st a2a.Stream) <-chan recvResult {
	ch := make(chan recvResult, 1)
	go func() {
		defer close(ch)
		for {
			ev, err := st.Recv()
			ch <- recvResult{ev, err}
			if err != nil {
				return
			}
		}
	}()
	return ch
}

// drain waits for the pump goroutine after the stream was closed.
func drain(ch <-chan recvResult) {
	for range ch {
	}
}

// errTooManyStreams is the error past MaxStreams.
func (s *Server) errTooManyStreams() *a2a.Error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return a2a.NewError(a2a.ErrInternal, "server is shutting down")
	}
	s.busy.note(s.log, fmt.Sprintf("refusing streams: the limit of %d concurrent streams is reached", s.opts.MaxStreams))
	return a2a.NewError(a2a.ErrServerBusy, "server busy: too many concurrent streams (limit %d): retry later", s.opts.MaxStreams)
}

// serveRPCStream answers SendStreamingMessage / message/stream and
// SubscribeToTask / tasks/resubscribe: one JSON-RPC response per event in
// an SSE data line, each with an id line. Errors, even before the first
// event, are sent as an event too: SDK clients read only the event stream.
func (s *Server) serveRPCStream(w http.ResponseWriter, r *http.Request, codec wire.Codec, req *wire.Request) {
	ri := infoFrom(w)
	if !s.acquireStream() {
		s.refuseRPCStream(w, ri, codec, req)
		return
	}
	defer s.releaseStream()
	ctx, cancel := s.streamContext(r.Context())
	defer cancel()

	var st a2a.Stream
	var err error
	if req.Method == wire.MethodStream {
		st, err = s.svc.Stream(ctx, req.Params.(*a2a.SendRequest))
	} else {
		st, err = s.svc.Subscribe(ctx, req.Params.(string))
	}
	if errors.Is(err, a2a.ErrServerBusy) {
		// Nothing was started: answer "busy" the way a refused stream
		// slot is answered, so that clients back off and retry.
		s.writeRPCError(w, r, codec, req.ID, a2a.AsError(err))
		return
	}
	sw := newSSEWriter(w, s.opts.StreamWriteTimeout)
	seq := 0
	sendErr := func(e *a2a.Error) {
		ri.errCode = e.Code
		if out, err := codec.EncodeError(req.ID, e); err == nil {
			seq++
			_ = sw.event(strconv.Itoa(seq), "", out)
		}
	}
	if err != nil {
		sendErr(a2a.AsError(err))
		return
	}
	ch := pump(st)
	defer func() { _ = st.Close(); drain(ch) }()
	v03 := codec.Version() == a2a.Version03
	// write sends one result; false ends the stream.
	write := func(res recvResult) bool {
		if res.err != nil {
			if !errors.Is(res.err, io.EOF) && ctx.Err() == nil {
				sendErr(a2a.AsError(res.err))
			}
			return false
		}
		ev := res.ev.Event
		if v03 {
			ev = withFinal(ev)
		}
		out, err := codec.EncodeResult(req.ID, req.Method, ev)
		if err != nil {
			sendErr(a2a.NewError(a2a.ErrInternal, "internal error: encoding an event: %v", err))
			return false
		}
		seq++
		if err := sw.event(strconv.Itoa(seq), "", out); err != nil {
			s.log.Info("stream cut off", "rpc", req.Name, "err", err)
			return false
		}
		ri.events++
		return true
	}
	if req.Method == wire.MethodSubscribe {
		// A service's subscription starts with the task's snapshot. The
		// spec answers a subscription to a task in a terminal state with
		// UnsupportedOperationError: there is nothing left to follow.
		select {
		case res := <-ch:
			if t, ok := res.ev.Event.(*a2a.Task); ok && res.err == nil && t.Status.State.Terminal() {
				sendErr(a2a.NewError(a2a.ErrUnsupported, "task %s is %s: a finished task has no updates to subscribe to (use GetTask)", t.ID, t.Status.State))
				return
			}
			if !write(res) {
				return
			}
		case <-ctx.Done():
			return
		}
	}
	s.relay(sw, ch, write)
}

// relay hands what the pump brings to write until write says stop, with a
// keep-alive comment whenever the stream has been quiet for KeepAlive (so
// proxies and clients do not take a waiting stream for a dead one).
func (s *Server) relay(sw *sseWriter, ch <-chan recvResult, write func(recvResult) bool) {
	tick := time.NewTicker(s.opts.KeepAlive)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if err := sw.comment(); err != nil {
				return
			}
		case res := <-ch:
			if !write(res) {
				return
			}
			tick.Reset(s.opts.KeepAlive)
		}
	}
}

// refuseRPCStream answers a stream past MaxStreams: 503 with a JSON-RPC
// error, and Retry-After.
func (s *Server) refuseRPCStream(w http.ResponseWriter, ri *reqInfo, codec wire.Codec, req *wire.Request) {
	w.Header().Set("Retry-After", busyRetryAfter)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusServiceUnavailable)
	e := s.errTooManyStreams()
	ri.errCode = e.Code
	out, _ := codec.EncodeError(req.ID, e)
	_, _ = w.Write(out)
}

// withFinal marks a v0.3 status update that ends the stream (terminal or
// waiting on the user) with final:true, on a copy: events are shared.
// auth-required is not marked: the agent may carry on in the same
// execution and "SHOULD maintain any active response streams" (A2A v1.0
// §7.6.1), so the stream goes on until the service ends it.
func withFinal(ev a2a.Event) a2a.Event {
	su, ok := ev.(*a2a.StatusUpdateEvent)
	if !ok || su.Final {
		return ev
	}
	if st := su.Status.State; st.Terminal() || st == a2a.StateInputRequired {
		cp := *su
		cp.Final = true
		return &cp
	}
	return ev
}

// serveWatch is the Watch feed: every task's events as v1.0 StreamResponse
// JSON, each with id: its cursor. Last-Event-ID (or ?cursor=) resumes right
// after that event; ?cursor=0 replays all that is kept; no cursor starts
// from now.
func (s *Server) serveWatch(w http.ResponseWriter, r *http.Request) {
	cursor := strings.TrimSpace(r.Header.Get("Last-Event-ID"))
	if cursor == "" {
		cursor = strings.TrimSpace(r.URL.Query().Get("cursor"))
	}
	if strings.ContainsAny(cursor, "\r\n") {
		http.Error(w, "invalid cursor", http.StatusBadRequest)
		return
	}
	if !s.acquireStream() {
		w.Header().Set("Retry-After", busyRetryAfter)
		e := s.errTooManyStreams()
		infoFrom(w).errCode = e.Code
		http.Error(w, e.Message, http.StatusServiceUnavailable)
		return
	}
	defer s.releaseStream()
	ctx, cancel := s.streamContext(r.Context())
	defer cancel()
	st, err := s.svc.Watch(ctx, cursor)
	if err != nil {
		watchFailed(w, r, err)
		return
	}
	ch := pump(st)
	defer func() { _ = st.Close(); drain(ch) }()
	ri := infoFrom(w)
	sw := newSSEWriter(w, s.opts.StreamWriteTimeout)
	// A feed from now starts with an id-only event (SSE moves the client's
	// last event ID without dispatching anything), so a client cut off
	// before the first event resumes from where it started, not from a
	// later now.
	if cs, ok := st.(a2a.CursorStream); ok && cursor == "" {
		if start := cs.StartCursor(); start != "" {
			if err := sw.idOnly(start); err != nil {
				return
			}
		}
	}
	codec := wire.V10()
	s.relay(sw, ch, func(res recvResult) bool {
		if res.err != nil {
			if !errors.Is(res.err, io.EOF) && ctx.Err() == nil {
				ri.errCode = watchEnded(sw, res.err)
			}
			return false
		}
		out, err := codec.EncodeEvent(res.ev.Event)
		if err != nil {
			s.log.Warn("watch: encode event", "cursor", res.ev.Cursor, "err", err)
			return true
		}
		if err := sw.event(res.ev.Cursor, "", out); err != nil {
			s.log.Info("watch cut off", "err", err)
			return false
		}
		ri.events++
		return true
	})
}

// watchFailed answers a Watch the service refused, before any event: a
// plain HTTP error (400 for a bad cursor).
func watchFailed(w http.ResponseWriter, r *http.Request, err error) {
	e := a2a.AsError(err)
	infoFrom(w).errCode = e.Code
	status := http.StatusInternalServerError
	if e.Code == a2a.CodeInvalidParams {
		status = http.StatusBadRequest
	}
	msg := e.Message
	if !strings.HasPrefix(msg, "watch") {
		msg = "watch: " + msg
	}
	http.Error(w, msg, status)
}

// watchEnded tells a feed's client why it ends (an "error" event), and
// returns the code: the client resumes from its last id.
func watchEnded(sw *sseWriter, err error) int {
	e := a2a.AsError(err)
	if errors.Is(err, a2a.ErrLagged) {
		e = a2a.NewError(a2a.ErrInternal, "%v", err)
	}
	data, _ := json.Marshal(map[string]any{"code": e.Code, "message": e.Message})
	_ = sw.event("", "error", data)
	return e.Code
}
