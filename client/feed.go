package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
)

// The Watch feed is a2atop's own extension (a2a.WatchExtensionURI): a GET
// SSE stream of every task's events as v1.0 StreamResponse JSON, each with
// "id:" set to the server's cursor. Last-Event-ID resumes right after a
// cursor, "0" (a2a.CursorStart) replays all the server keeps, no cursor
// starts from now. One connection replaces Watch's ListTasks polling and
// per-task streams, and its cursors are the server's own, so they stay
// valid across reconnects, restarts of this client, and other clients of
// the same server.

// defaultFeedPath is the feed's path when the extension names none.
const defaultFeedPath = "/events"

// maxFeedErrorBody bounds the body read from a refused feed request.
const maxFeedErrorBody = 64 << 10

// errFeedAbsent: the feed URL answered 404 or 405, so this agent has no
// feed after all and Watch polls.
var errFeedAbsent = errors.New("watch feed not served")

// watchFeedURL returns the feed URL a card advertises, or "" when it
// advertises none or names one on another origin than the card (the
// client's headers, bearer tokens included, go to that URL).
func watchFeedURL(card *a2a.AgentCard, cardURL string) string {
	if card == nil || cardURL == "" {
		return ""
	}
	for _, ext := range card.Capabilities.Extensions {
		if ext.URI != a2a.WatchExtensionURI {
			continue
		}
		path := defaultFeedPath
		var params struct {
			Path string `json:"path"`
		}
		if len(ext.Params) > 0 && json.Unmarshal(ext.Params, &params) == nil && strings.TrimSpace(params.Path) != "" {
			path = strings.TrimSpace(params.Path)
		}
		base, err := url.Parse(agentBase(cardURL))
		if err != nil {
			return ""
		}
		ref, err := url.Parse(path)
		if err != nil {
			return ""
		}
		u := base.ResolveReference(ref)
		if u.Scheme != base.Scheme || u.Host != base.Host {
			return ""
		}
		return u.String()
	}
	return ""
}

// agentBase is the URL the card was published under: the card URL without
// its well-known suffix, ending in "/"; a card at another path is its own
// base (a relative path then resolves beside it).
func agentBase(cardURL string) string {
	for _, p := range []string{CardPath, LegacyCardPath} {
		if u, err := url.Parse(cardURL); err == nil && strings.HasSuffix(u.Path, p) {
			u.Path = strings.TrimSuffix(u.Path, p) + "/"
			u.RawPath, u.RawQuery, u.Fragment = "", "", ""
			return u.String()
		}
	}
	return cardURL
}

// feedStream is Watch over the feed. Like taskStream it is pulled by its
// reader and has no goroutine of its own: Recv reads the next event, and
// when the connection drops Recv reconnects with Last-Event-ID set to the
// cursor of the last event it returned (backoff with jitter, give-up
// limit), so nothing is missed or repeated. Close cancels the context,
// which aborts a read or a wait at once.
type feedStream struct {
	c      *Client
	url    string
	ctx    context.Context
	cancel context.CancelFunc
	closed sync.Once
	codec  wire.Codec
	// jw records new tasks in the journal off Recv's path; nil without a
	// journal. lastTask skips the seen-set lookup for runs of one task.
	jw       *journalWriter
	lastTask string

	// Only Recv's goroutine touches the fields below (connect runs in
	// Watch, before the stream is handed out).
	cursor     string // resume point: the last delivered event's id
	body       io.Closer
	rd         *eventReader
	idle       *time.Timer  // cuts a connection that stays silent
	idleFired  *atomic.Bool // the timer cut this connection
	connCancel context.CancelFunc
	healthy    bool // this connection brought an event or a keep-alive
	err        error
	dropAt     time.Time // start of the current outage, for GiveUpAfter
	attempt    int
	cause      error
}

// watchFeed opens the feed; the first connection is made here so that a
// refused cursor or credentials fail Watch itself.
func (c *Client) watchFeed(ctx context.Context, cursor string) (*feedStream, error) {
	if strings.ContainsAny(cursor, "\r\n\x00") {
		return nil, a2a.NewError(a2a.ErrInvalidParams, "watch cursor %q: must be one line", cursor)
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &feedStream{
		c: c, url: c.disc.WatchFeed, ctx: ctx, cancel: cancel,
		codec: wire.V10(), cursor: cursor,
	}
	if _, err := s.connect(); err != nil {
		cancel()
		return nil, err
	}
	if j := c.journalIfOpen(); j != nil {
		s.jw = startJournalWriter(ctx, j)
	}
	return s, nil
}

// Recv returns the next event of any task; its Cursor is the feed's id.
// It ends only with an error: Close, the context, a server refusal, or
// the give-up limit.
func (s *feedStream) Recv() (a2a.StreamEvent, error) {
	for {
		if s.err != nil {
			s.closeConn()
			return a2a.StreamEvent{}, s.err
		}
		if err := s.ctx.Err(); err != nil {
			s.closeConn()
			return a2a.StreamEvent{}, err
		}
		if s.rd == nil {
			s.reconnect()
			continue
		}
		raw, err := s.rd.next()
		if err != nil {
			s.drop(err)
			continue
		}
		if raw.IsError {
			// The server's stream failed (it fell behind its own log, or
			// a store read failed); it says to resume from the last id.
			s.drop(fmt.Errorf("the server ended the feed: %s", feedErrorText(raw.Data)))
			continue
		}
		if !raw.HasID {
			s.err = fmt.Errorf("watch feed %s: an event without an id after cursor %q: cannot resume from it", s.url, s.cursor)
			continue
		}
		ev, err := s.codec.DecodeEvent(raw.Data)
		if err != nil {
			s.err = fmt.Errorf("watch feed %s: bad event %q: %w", s.url, oneLine(raw.ID, 40), err)
			continue
		}
		s.healthy = true
		s.cursor = raw.ID
		s.remember(ev)
		return a2a.StreamEvent{Event: ev, Cursor: raw.ID, Time: eventTime(ev)}, nil
	}
}

// Close ends the stream; a Recv blocked in another goroutine returns.
// Tasks the feed revealed are in the journal when Close returns.
func (s *feedStream) Close() error {
	s.closed.Do(func() {
		s.cancel()
		if s.jw != nil {
			s.jw.wait()
		}
	})
	return nil
}

// remember notes the task of an event the first time the feed shows it:
// in the client's seen set at once, in the journal through the writer.
func (s *feedStream) remember(ev a2a.Event) {
	id, _ := ev.TaskInfo()
	if id == "" || id == s.lastTask {
		return
	}
	s.lastTask = id
	if !s.c.rememberID(id) || s.jw == nil {
		return
	}
	t, ok := ev.(*a2a.Task)
	if !ok {
		var err error
		if t, err = a2a.Apply(nil, ev); err != nil || t == nil || t.ID == "" {
			return
		}
	}
	s.jw.add(t)
}

// journalWriter records task snapshots in the journal in batches, one
// transaction (one fsync) for whatever queued up meanwhile: done inline, a
// journal sync per new task would cap the feed at the disk's fsync rate.
// Its goroutine belongs to the feed stream and ends with the stream's
// context, after recording what was queued.
type journalWriter struct {
	j    *journal
	ctx  context.Context
	ch   chan *a2a.Task
	done chan struct{}
}

// maxJournalBatch bounds one journal transaction.
const maxJournalBatch = 256

func startJournalWriter(ctx context.Context, j *journal) *journalWriter {
	w := &journalWriter{j: j, ctx: ctx, ch: make(chan *a2a.Task, maxJournalBatch), done: make(chan struct{})}
	go w.run()
	return w
}

// add queues a task; it waits only when a whole batch is already queued.
func (w *journalWriter) add(t *a2a.Task) {
	select {
	case w.ch <- t:
	case <-w.ctx.Done():
	}
}

func (w *journalWriter) run() {
	defer close(w.done)
	batch := make([]*a2a.Task, 0, maxJournalBatch)
	for {
		select {
		case t := <-w.ch:
			batch = w.drain(append(batch[:0], t))
			// Journal trouble never fails the watch (as everywhere else).
			_, _, _ = w.j.recordAll(batch)
		case <-w.ctx.Done():
			// Record what Recv queued before the end, then stop.
			if batch = w.drain(batch[:0]); len(batch) > 0 {
				_, _, _ = w.j.recordAll(batch)
			}
			return
		}
	}
}

// drain adds what is queued now to batch, up to a whole batch.
func (w *journalWriter) drain(batch []*a2a.Task) []*a2a.Task {
	for len(batch) < maxJournalBatch {
		select {
		case t := <-w.ch:
			batch = append(batch, t)
		default:
			return batch
		}
	}
	return batch
}

func (w *journalWriter) wait() { <-w.done }

// feedErrorText is the message of a server's error event, {"code",
// "message"}, or its raw text.
func feedErrorText(data []byte) string {
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &e) == nil && e.Message != "" {
		return oneLine(e.Message, 200)
	}
	return oneLine(string(data), 200)
}

// connect makes one GET of the feed from s.cursor. On failure retry says
// whether another attempt may succeed (network trouble, 5xx, 429) or the
// server refused for good (4xx: a bad cursor, bad credentials).
func (s *feedStream) connect() (retry bool, err error) {
	ctx, cancel := context.WithCancel(s.ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		cancel()
		return false, fmt.Errorf("GET %s: %w", s.url, err)
	}
	for k, vs := range s.c.opts.Headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	if s.cursor != "" {
		req.Header.Set("Last-Event-ID", s.cursor)
	}
	// One timer bounds the wait for the answer by Timeout, then the
	// silences of the stream by WatchFeedIdle: anything read, keep-alives
	// included, shows the connection is alive, and a half-open TCP
	// connection would otherwise block Recv forever.
	fired := new(atomic.Bool)
	idle := time.AfterFunc(s.c.opts.Timeout, func() { fired.Store(true); cancel() })
	resp, err := s.c.tr.hc.Do(req)
	if err != nil {
		idle.Stop()
		cancel()
		switch {
		case s.ctx.Err() != nil:
			return false, fmt.Errorf("GET %s: %w", s.url, s.ctx.Err())
		case fired.Load():
			return true, fmt.Errorf("GET %s: no answer within %s", s.url, s.c.opts.Timeout)
		}
		return true, netError("GET", s.url, err)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || mt != "text/event-stream" {
		body, rerr := readBounded(resp.Body, maxFeedErrorBody)
		idle.Stop()
		resp.Body.Close()
		cancel()
		return s.refusal(resp, body, rerr)
	}
	idle.Reset(s.c.opts.WatchFeedIdle)
	s.body, s.connCancel, s.idle, s.idleFired = resp.Body, cancel, idle, fired
	s.rd = newEventReader(&idleReader{r: resp.Body, t: idle, d: s.c.opts.WatchFeedIdle}, s.c.opts.MaxEventSize)
	s.rd.dropCut = true
	s.healthy = false
	s.c.conn.set(ConnState{Kind: Connected})
	return false, nil
}

// refusal turns a non-stream answer into an error and says whether to
// retry.
func (s *feedStream) refusal(resp *http.Response, body []byte, readErr error) (retry bool, err error) {
	code := resp.StatusCode
	if readErr != nil {
		body = nil
	}
	err = statusError("GET", s.url, resp, body)
	switch {
	case code == http.StatusNotFound || code == http.StatusMethodNotAllowed:
		return false, fmt.Errorf("%w: %w", errFeedAbsent, err)
	case code == http.StatusOK:
		// A page, not a feed (a catch-all route): no feed here.
		return false, fmt.Errorf("%w: GET %s: expected an event stream, got %s", errFeedAbsent, s.url, contentType(resp))
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return true, err
	case code == http.StatusBadRequest:
		var perr *a2a.Error
		if errors.As(err, &perr) || len(body) == 0 {
			return false, err
		}
		// The feed says what is wrong with the cursor in plain text
		// (a2atop serve repeats its "watch: " prefix).
		text := oneLine(string(body), 200)
		for strings.HasPrefix(text, "watch: ") {
			text = strings.TrimPrefix(text, "watch: ")
		}
		return false, a2a.NewError(a2a.ErrInvalidParams, "refused cursor %q: %s", s.cursor, text)
	}
	return false, err
}

// drop handles the end of a connection: the stream's end, a cut, a
// silence, or the server's error event.
func (s *feedStream) drop(err error) {
	healthy := s.healthy || (s.rd != nil && s.rd.skipped > 0)
	if s.rd != nil && s.rd.lastID != "" {
		// An id-only event moves the resume point too (SSE's last event
		// ID); every data event's id was delivered already.
		s.cursor = s.rd.lastID
	}
	idle := s.idleFired != nil && s.idleFired.Load()
	s.closeConn()
	if s.ctx.Err() != nil {
		return
	}
	if errors.Is(err, errEventTooLarge) {
		s.err = fmt.Errorf("watch feed %s: %w", s.url, err)
		return
	}
	switch {
	case idle:
		err = fmt.Errorf("watch feed %s: nothing received for %s", s.url, s.c.opts.WatchFeedIdle)
	case errors.Is(err, io.EOF):
		err = fmt.Errorf("watch feed %s: the server closed the stream", s.url)
	case !strings.Contains(err.Error(), s.url):
		err = fmt.Errorf("watch feed %s: %w", s.url, err)
	}
	// A connection that brought something ends an outage: the give-up
	// clock and the backoff start over. One that brought nothing (a server
	// that accepts and then fails at once) continues the outage.
	if healthy || s.dropAt.IsZero() {
		s.dropAt = time.Now()
		s.attempt = 0
	}
	s.cause = err
	if pol := s.c.opts.Reconnect; time.Since(s.dropAt) >= pol.GiveUpAfter {
		s.err = fmt.Errorf("watch feed: gave up after %s of failed reconnects: %w", pol.GiveUpAfter, err)
		s.c.conn.set(ConnState{Kind: GaveUp, Err: err})
	}
}

// reconnect makes one attempt after a drop: wait, then GET from the last
// delivered cursor.
func (s *feedStream) reconnect() {
	pol := s.c.opts.Reconnect
	wait := backoff(pol, s.attempt)
	s.attempt++
	s.c.conn.set(ConnState{Kind: Reconnecting, In: wait, Err: s.cause})
	if !sleepCtx(s.ctx, wait) {
		return
	}
	retry, err := s.connect()
	if err == nil || s.ctx.Err() != nil {
		return
	}
	if errors.Is(err, errFeedAbsent) {
		err = fmt.Errorf("watch feed is gone: %w", err)
	} else if !strings.Contains(err.Error(), s.url) {
		err = fmt.Errorf("watch feed %s: %w", s.url, err)
	}
	if !retry {
		s.err = err
		s.c.conn.set(ConnState{Kind: Offline, Err: err})
		return
	}
	s.cause = err
	if time.Since(s.dropAt) >= pol.GiveUpAfter {
		s.err = fmt.Errorf("watch feed: gave up after %s without reaching %s: %w", pol.GiveUpAfter, s.url, err)
		s.c.conn.set(ConnState{Kind: GaveUp, Err: err})
	}
}

func (s *feedStream) closeConn() {
	if s.idle != nil {
		s.idle.Stop()
		s.idle = nil
	}
	if s.connCancel != nil {
		s.connCancel()
		s.connCancel = nil
	}
	if s.body != nil {
		s.body.Close()
		s.body, s.rd = nil, nil
	}
	s.idleFired = nil
}

// idleReader re-arms the silence timer on every read that brings bytes.
type idleReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.t.Reset(r.d)
	}
	return n, err
}

var _ a2a.Stream = (*feedStream)(nil)
