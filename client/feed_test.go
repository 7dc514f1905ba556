package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/agents"
	"github.com/a2atop/a2atop/internal/testkit/a2apeer"
	"github.com/a2atop/a2atop/localstore"
	"github.com/a2atop/a2atop/server"
	"github.com/google/uuid"
)

// feedServer is a2atop's own server on 127.0.0.1 in front of a real engine
// running the demo agent, on a bbolt file (bolt) or a memory store.
type feedServer struct {
	*httptest.Server
	eng  *engine.Engine
	stop func() // closes server, engine and store; also done at cleanup
}

type feedServerOpts struct {
	bolt string // a bbolt file; "" for a memory store
	srv  server.Options
	wrap func(http.Handler) http.Handler
	addr string // listen here instead of a free port
	// stepInterval paces the demo's slow steps (default 2ms).
	stepInterval time.Duration
}

func startFeedServer(t testing.TB, o feedServerOpts) *feedServer {
	t.Helper()
	demo := agents.NewDemo()
	demo.StepInterval = 2 * time.Millisecond
	if o.stepInterval > 0 {
		demo.StepInterval = o.stepInterval
	}
	demo.TickInterval = 10 * time.Millisecond
	var store engine.Store
	if o.bolt != "" {
		ls, err := localstore.Open(o.bolt, localstore.Options{})
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		store = ls
	} else {
		store = engine.NewMemoryStore()
	}
	eng, err := engine.New(store, demo, engine.Options{MaxRunning: 16})
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	srv := server.New(eng, o.srv)
	var h http.Handler = srv
	if o.wrap != nil {
		h = o.wrap(srv)
	}
	ts := httptest.NewUnstartedServer(h)
	if o.addr != "" {
		ln, err := net.Listen("tcp", o.addr)
		if err != nil {
			t.Fatalf("listen on %s again: %v", o.addr, err)
		}
		ts.Listener.Close()
		ts.Listener = ln
	}
	ts.Start()
	fs := &feedServer{Server: ts, eng: eng}
	fs.stop = sync.OnceFunc(func() {
		_ = srv.Close()
		ts.Close()
		if err := eng.Close(); err != nil {
			t.Errorf("engine close: %v", err)
		}
		if err := store.Close(); err != nil {
			t.Errorf("store close: %v", err)
		}
	})
	t.Cleanup(fs.stop)
	return fs
}

// engineLog reads the engine's own Watch from the start until n tasks have
// ended: the reference every feed reader must match.
func engineLog(t *testing.T, eng *engine.Engine, n int) []a2a.StreamEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := eng.Watch(ctx, a2a.CursorStart)
	if err != nil {
		t.Fatalf("engine watch: %v", err)
	}
	defer w.Close()
	return readUntilEnded(t, w, n)
}

// readUntilEnded reads w until n distinct tasks reached a terminal state.
func readUntilEnded(t *testing.T, w a2a.Stream, n int) []a2a.StreamEvent {
	t.Helper()
	out, err := readEnded(w, n)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readEnded(w a2a.Stream, n int) ([]a2a.StreamEvent, error) {
	var out []a2a.StreamEvent
	ended := map[string]bool{}
	for len(ended) < n {
		ev, err := w.Recv()
		if err != nil {
			return out, fmt.Errorf("Recv after %d events (%d tasks ended): %w", len(out), len(ended), err)
		}
		out = append(out, ev)
		if su, ok := ev.Event.(*a2a.StatusUpdateEvent); ok && su.Status.State.Terminal() {
			ended[su.TaskID] = true
		}
	}
	return out, nil
}

// sameLog fails unless got and want are the same events with the same
// cursors, in the same order.
func sameLog(t *testing.T, got, want []a2a.StreamEvent) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d events, the engine's log has %d", len(got), len(want))
	}
	codec := wire.V10()
	for i := range want {
		if got[i].Cursor != want[i].Cursor {
			t.Fatalf("event %d: cursor %q, the engine's log says %q", i, got[i].Cursor, want[i].Cursor)
		}
		g, err1 := codec.EncodeEvent(got[i].Event)
		w, err2 := codec.EncodeEvent(want[i].Event)
		if err1 != nil || err2 != nil {
			t.Fatalf("event %d: encode: %v %v", i, err1, err2)
		}
		if !bytes.Equal(g, w) {
			t.Fatalf("event %d (cursor %s) differs:\n got %s\nwant %s", i, want[i].Cursor, g, w)
		}
	}
}

// sendAll sends n tasks at once through c (our client, or an engine) and waits for them to end.
func sendAll(t *testing.T, c a2a.Service, n int, text func(i int) string) {
	t.Helper()
	if err := <-goSendAll(testCtx(t), c, n, text); err != nil {
		t.Fatal(err)
	}
}

// readWhileSending reads w until n tasks ended while sent delivers; a
// failed send closes w, so the test fails at once with the send's error
// instead of waiting for events that will never come.
func readWhileSending(t *testing.T, w a2a.Stream, n int, sent <-chan error) []a2a.StreamEvent {
	t.Helper()
	sendErr := make(chan error, 1)
	go func() {
		err := <-sent
		if err != nil {
			w.Close()
		}
		sendErr <- err
	}()
	out, err := readEnded(w, n)
	if serr := <-sendErr; serr != nil {
		t.Fatal(serr)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// goSendAll sends n tasks at once through c; the channel yields the first
// error, or nil once every task ended.
func goSendAll(ctx context.Context, c a2a.Service, n int, text func(i int) string) <-chan error {
	done := make(chan error, 1)
	go func() {
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := &a2a.SendRequest{Message: a2a.Message{ID: uuid.NewString(), Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart(text(i))}}}
				if _, err := c.Send(ctx, req); err != nil {
					errs <- fmt.Errorf("send %q: %w", text(i), err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		done <- <-errs
	}()
	return done
}

func dialFeed(t *testing.T, url string, tweak ...func(*Options)) *Client {
	t.Helper()
	o := fastOpts("")
	for _, f := range tweak {
		f(&o)
	}
	c, err := New(testCtx(t), url, o)
	if err != nil {
		t.Fatalf("New(%s): %v", url, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestWatchExtensionURIMatchesServer(t *testing.T) {
	if a2a.WatchExtensionURI != server.WatchExtensionURI {
		t.Fatalf("a2a.WatchExtensionURI %q != server.WatchExtensionURI %q", a2a.WatchExtensionURI, server.WatchExtensionURI)
	}
}

func TestDiscoveryFindsWatchFeed(t *testing.T) {
	ts := startFeedServer(t, feedServerOpts{})
	c := dialFeed(t, ts.URL)
	if got, want := c.Discovery().WatchFeed, ts.URL+server.WatchPath; got != want {
		t.Fatalf("WatchFeed = %q, want %q", got, want)
	}
	peer := startPeerWith(t, a2apeer.Options{})
	if got := dial(t, peer.URL(), "").Discovery().WatchFeed; got != "" {
		t.Fatalf("a2a-go peer: WatchFeed = %q, want none", got)
	}

	ext := func(params string) *a2a.AgentCard {
		card := &a2a.AgentCard{}
		card.Capabilities.Extensions = []a2a.AgentExtension{{URI: "https://example.com/other"}, {URI: a2a.WatchExtensionURI, Params: []byte(params)}}
		return card
	}
	for _, tc := range []struct{ params, cardURL, want string }{
		{`{"path":"/events"}`, "http://h:1/.well-known/agent-card.json", "http://h:1/events"},
		{``, "http://h:1/.well-known/agent.json", "http://h:1/events"},
		{`{"path":"feed"}`, "http://h:1/agents/a/.well-known/agent-card.json", "http://h:1/agents/a/feed"},
		{`{"path":"feed"}`, "http://h:1/cards/a.json", "http://h:1/cards/feed"},
		{`{"path":"//evil.example/events"}`, "http://h:1/.well-known/agent-card.json", ""},
		{`{"path":"https://h:1/events"}`, "http://h:1/.well-known/agent-card.json", ""},
		{`not json`, "https://h/.well-known/agent-card.json", "https://h/events"},
	} {
		if got := watchFeedURL(ext(tc.params), tc.cardURL); got != tc.want {
			t.Errorf("params %s on %s: %q, want %q", tc.params, tc.cardURL, got, tc.want)
		}
	}
	if got := watchFeedURL(&a2a.AgentCard{}, "http://h/.well-known/agent-card.json"); got != "" {
		t.Errorf("no extension: %q", got)
	}
}

// TestFeedWatchEqualsEngineLog: through our client, a Watch started before
// a burst of concurrent tasks sees every event of every task, in cursor
// order, exactly as the engine's own Watch(CursorStart) reads its log, on
// a real bbolt file.
func TestFeedWatchEqualsEngineLog(t *testing.T) {
	ts := startFeedServer(t, feedServerOpts{bolt: filepath.Join(t.TempDir(), "tasks.db")})
	c := dialFeed(t, ts.URL)
	const tasks = 12
	ctx := testCtx(t)
	w, err := c.Watch(ctx, "")
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Close()
	if _, ok := w.(*feedStream); !ok {
		t.Fatalf("Watch returned %T, want the feed", w)
	}
	sent := goSendAll(ctx, c, tasks, func(i int) string {
		return [...]string{"echo hi", "slow 3", "data", "burst 20", "fail"}[i%5]
	})
	got := readWhileSending(t, w, tasks, sent)
	sameLog(t, got, engineLog(t, ts.eng, tasks))

	// The cursors are the engine's: a fresh Watch from the middle resumes
	// right after that event, on the client and on the engine alike.
	mid := got[len(got)/2].Cursor
	w2, err := c.Watch(ctx, mid)
	if err != nil {
		t.Fatalf("watch from %s: %v", mid, err)
	}
	defer w2.Close()
	rest := got[len(got)/2+1:]
	var again []a2a.StreamEvent
	for range rest {
		ev, err := w2.Recv()
		if err != nil {
			t.Fatalf("watch from %s: %v", mid, err)
		}
		again = append(again, ev)
	}
	sameLog(t, again, rest)

	// Every task the feed revealed is remembered.
	seen := map[string]bool{}
	for _, id := range c.SeenTasks() {
		seen[id] = true
	}
	for _, ev := range got {
		if id, _ := ev.Event.TaskInfo(); id != "" && !seen[id] {
			t.Fatalf("task %s came through the feed but is not remembered", id)
		}
	}
}

// cutter wraps the server and aborts each Watch feed connection after
// `after` events, for the first `times` connections: the client's
// connection is closed from the server side in the middle of a burst.
type cutter struct {
	after, times int
	// partial, when set, gives the bytes of the cut event that go out
	// before the cut (the event is then cut short, not left out).
	partial func(event []byte) []byte
	conns   atomic.Int32
	cuts    atomic.Int32
	lastIDs sync.Map // connection number → Last-Event-ID it asked for
}

func (c *cutter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != server.WatchPath {
			h.ServeHTTP(w, r)
			return
		}
		n := int(c.conns.Add(1))
		c.lastIDs.Store(n, r.Header.Get("Last-Event-ID"))
		if n > c.times {
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(&cuttingWriter{ResponseWriter: w, left: c.after, cut: &c.cuts, partial: c.partial}, r)
	})
}

type cuttingWriter struct {
	http.ResponseWriter
	left    int
	cut     *atomic.Int32
	partial func([]byte) []byte
}

func (w *cuttingWriter) Write(b []byte) (int, error) {
	if bytes.HasPrefix(b, []byte("id: ")) {
		if w.left == 0 {
			w.cut.Add(1)
			if w.partial != nil {
				_, _ = w.ResponseWriter.Write(w.partial(b))
				_ = http.NewResponseController(w.ResponseWriter).Flush()
			}
			// Aborts the response: net/http closes the connection.
			panic(http.ErrAbortHandler)
		}
		w.left--
	}
	return w.ResponseWriter.Write(b)
}

func (w *cuttingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestFeedResumesAfterServerCuts: the server cuts the feed several times
// mid-burst; the client reconnects with Last-Event-ID and what it reads is
// still exactly the engine's log: no gap, no duplicate.
func TestFeedResumesAfterServerCuts(t *testing.T) {
	cut := &cutter{after: 150, times: 4}
	ts := startFeedServer(t, feedServerOpts{wrap: cut.wrap})
	states := newStateLog()
	c := dialFeed(t, ts.URL, func(o *Options) { o.OnConnState = states.on })
	ctx := testCtx(t)
	w, err := c.Watch(ctx, a2a.CursorStart)
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Close()
	const tasks = 8
	sent := goSendAll(ctx, c, tasks, func(i int) string { return "burst 100" })
	got := readWhileSending(t, w, tasks, sent)
	sameLog(t, got, engineLog(t, ts.eng, tasks))
	if n := cut.cuts.Load(); n != int32(cut.times) {
		t.Fatalf("%d cuts, want %d (the burst was too short to test anything)", n, cut.times)
	}
	// Each reconnect asked for the events after the last one delivered.
	for i := 2; i <= cut.times+1; i++ {
		v, _ := cut.lastIDs.Load(i)
		if want := got[(i-1)*cut.after-1].Cursor; v != want {
			t.Errorf("connection %d: Last-Event-ID %q, want %q", i, v, want)
		}
	}
	kinds := states.seen()
	if !containsKinds(kinds, Reconnecting, Connected) {
		t.Errorf("connection states %v: want reconnecting then connected", kinds)
	}
}

func containsKinds(seen []ConnKind, seq ...ConnKind) bool {
	for _, k := range seen {
		if len(seq) > 0 && k == seq[0] {
			seq = seq[1:]
		}
	}
	return len(seq) == 0
}

// TestFeedSurvivesNetworkCutAndGivesUp: a proxy cuts the TCP connection
// (events in flight are lost on the wire) and the client resumes without a
// gap; then the proxy refuses connections and the client gives up after
// GiveUpAfter with an error from Recv.
func TestFeedSurvivesNetworkCutAndGivesUp(t *testing.T) {
	ts := startFeedServer(t, feedServerOpts{})
	proxy := startProxy(t, ts.Listener.Addr().String())
	states := newStateLog()
	c := dialFeed(t, ts.URL, func(o *Options) {
		o.HTTPClient = viaProxy(ts.Listener.Addr().String(), proxy)
		o.OnConnState = states.on
		o.Reconnect.GiveUpAfter = 500 * time.Millisecond
	})
	ctx := testCtx(t)
	w, err := c.Watch(ctx, a2a.CursorStart)
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Close()
	const tasks = 6
	sendAll(t, c, tasks, func(i int) string { return "burst 100" })
	var got []a2a.StreamEvent
	for range 50 {
		ev, err := w.Recv()
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		got = append(got, ev)
	}
	// Events still in flight when the cut comes are lost on the wire;
	// those sent after it can only come through a new connection.
	proxy.Cut()
	sent := goSendAll(ctx, ts.eng, 2, func(i int) string { return "echo after the cut" })
	got = append(got, readWhileSending(t, w, tasks+2, sent)...)
	sameLog(t, got, engineLog(t, ts.eng, tasks+2))
	if !containsKinds(states.seen(), Reconnecting, Connected) {
		t.Errorf("connection states %v: want reconnecting then connected", states.seen())
	}

	proxy.Refuse(true)
	proxy.Cut()
	_, err = w.Recv()
	if err == nil || !strings.Contains(err.Error(), "gave up") {
		t.Fatalf("Recv with the server unreachable: %v, want a give-up error", err)
	}
	if k := c.ConnState().Kind; k != GaveUp {
		t.Errorf("ConnState %v, want gave up", c.ConnState())
	}
}

func TestFeedSendsBearerToken(t *testing.T) {
	ts := startFeedServer(t, feedServerOpts{srv: server.Options{Token: "s3cret"}})
	bearer := func(tok string) func(*Options) {
		return func(o *Options) { o.Headers = http.Header{"Authorization": {"Bearer " + tok}} }
	}
	c := dialFeed(t, ts.URL, bearer("s3cret"))
	ctx := testCtx(t)
	w, err := c.Watch(ctx, a2a.CursorStart)
	if err != nil {
		t.Fatalf("watch with the token: %v", err)
	}
	defer w.Close()
	if _, ok := w.(*feedStream); !ok {
		t.Fatalf("Watch returned %T, want the feed", w)
	}
	sendAll(t, c, 1, func(int) string { return "echo with a token" })
	readUntilEnded(t, w, 1)

	for _, tok := range []string{"", "wrong"} {
		c := dialFeed(t, ts.URL, bearer(tok))
		_, err := c.Watch(ctx, a2a.CursorStart)
		if !errors.Is(err, a2a.ErrUnauthenticated) {
			t.Errorf("watch with token %q: %v, want unauthenticated", tok, err)
		}
	}
}

func TestFeedCursorAheadIsAnError(t *testing.T) {
	ts := startFeedServer(t, feedServerOpts{})
	c := dialFeed(t, ts.URL)
	sendAll(t, c, 1, func(int) string { return "echo x" })
	for _, cur := range []string{"999999", "not-a-cursor"} {
		w, err := c.Watch(testCtx(t), cur)
		if err == nil {
			w.Close()
			t.Fatalf("watch from %q: no error", cur)
		}
		if !errors.Is(err, a2a.ErrInvalidParams) || strings.Contains(err.Error(), "\n") {
			t.Errorf("watch from %q: %q, want one line matching invalid params", cur, err)
		}
	}
	_, err := c.Watch(testCtx(t), "999999")
	if err == nil || !strings.Contains(err.Error(), "ahead of the log") {
		t.Errorf("cursor ahead: %v", err)
	}
}

// TestFeedCloseEndsRecvPromptly: Close from another goroutine ends a Recv
// blocked on a quiet feed.
func TestFeedCloseEndsRecvPromptly(t *testing.T) {
	ts := startFeedServer(t, feedServerOpts{})
	c := dialFeed(t, ts.URL)
	w, err := c.Watch(testCtx(t), "")
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	res := make(chan error, 1)
	go func() {
		_, err := w.Recv()
		res <- err
	}()
	w.Close()
	select {
	case err := <-res:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Recv after Close: %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Recv still blocked after Close")
	}
}

// TestFeedIdleConnectionIsReplaced: a feed silent for longer than
// WatchFeedIdle (the server's keep-alives are far apart here) is cut and
// reopened from the last cursor; events still arrive.
func TestFeedIdleConnectionIsReplaced(t *testing.T) {
	cut := &cutter{} // counts connections only
	ts := startFeedServer(t, feedServerOpts{srv: server.Options{KeepAlive: time.Hour}, wrap: cut.wrap})
	states := newStateLog()
	c := dialFeed(t, ts.URL, func(o *Options) {
		o.WatchFeedIdle = 50 * time.Millisecond
		o.OnConnState = states.on
	})
	w, err := c.Watch(testCtx(t), a2a.CursorStart)
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Close()
	type result struct {
		evs []a2a.StreamEvent
		err error
	}
	got := make(chan result, 1)
	go func() {
		evs, err := readEnded(w, 1)
		got <- result{evs, err}
	}()
	states.waitFor(t, Reconnecting)
	states.waitFor(t, Connected)
	sendAll(t, c, 1, func(int) string { return "echo after a silence" })
	res := <-got
	if res.err != nil {
		t.Fatal(res.err)
	}
	sameLog(t, res.evs, engineLog(t, ts.eng, 1))
	if cut.conns.Load() < 2 {
		t.Errorf("%d feed connections, want a reconnect", cut.conns.Load())
	}
	if err := c.ConnState().Err; c.ConnState().Kind != Connected && (err == nil || !strings.Contains(err.Error(), "nothing received")) {
		t.Errorf("state %v", c.ConnState())
	}
}

// TestFeedFallsBackToPolling: an agent without the extension (the a2a-go
// peer), or whose advertised feed answers 404, is watched by polling.
func TestFeedFallsBackToPolling(t *testing.T) {
	t.Run("a2a-go peer", func(t *testing.T) {
		peer := startPeerWith(t, a2apeer.Options{})
		c := dialFeed(t, peer.URL(), func(o *Options) { o.WatchInterval = 20 * time.Millisecond })
		w, err := c.Watch(testCtx(t), "")
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
		defer w.Close()
		if _, ok := w.(*watchStream); !ok {
			t.Fatalf("Watch returned %T, want polling", w)
		}
		res, err := c.Send(testCtx(t), msg("echo polled"))
		if err != nil {
			t.Fatalf("send: %v", err)
		}
		watchUntil(t, w, map[string]bool{res.Task.ID: true})
	})
	t.Run("feed answers 404", func(t *testing.T) {
		var feedHits atomic.Int32
		ts := startFeedServer(t, feedServerOpts{wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == server.WatchPath {
					feedHits.Add(1)
					http.NotFound(w, r)
					return
				}
				h.ServeHTTP(w, r)
			})
		}})
		c := dialFeed(t, ts.URL, func(o *Options) { o.WatchInterval = 20 * time.Millisecond })
		if !c.LiveFeed() {
			t.Fatalf("LiveFeed false before the feed was tried")
		}
		for range 2 {
			w, err := c.Watch(testCtx(t), "")
			if err != nil {
				t.Fatalf("watch: %v", err)
			}
			if _, ok := w.(*watchStream); !ok {
				t.Fatalf("Watch returned %T, want polling", w)
			}
			res, err := c.Send(testCtx(t), msg("echo polled"))
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			watchUntil(t, w, map[string]bool{res.Task.ID: true})
			w.Close()
		}
		if n := feedHits.Load(); n != 1 {
			t.Errorf("the feed was tried %d times, want once", n)
		}
		if c.LiveFeed() {
			t.Errorf("LiveFeed true after the feed answered 404")
		}
	})
	t.Run("NoWatchFeed", func(t *testing.T) {
		ts := startFeedServer(t, feedServerOpts{})
		c := dialFeed(t, ts.URL, func(o *Options) { o.NoWatchFeed = true })
		if c.LiveFeed() {
			t.Errorf("LiveFeed true with NoWatchFeed")
		}
		w, err := c.Watch(testCtx(t), "")
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
		defer w.Close()
		if _, ok := w.(*watchStream); !ok {
			t.Fatalf("Watch returned %T, want polling", w)
		}
	})
}

// TestFeedServerErrorEventResumes: an "error" event (the server's stream
// fell behind or failed) is a drop, resumed from the last cursor; a server
// that keeps failing at once is given up on.
func TestFeedServerErrorEventResumes(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	var conns atomic.Int32
	ts := startFeedServer(t, feedServerOpts{wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == server.WatchPath && conns.Add(1) > 1 && fail.Load() {
				w.Header().Set("Content-Type", "text/event-stream")
				fmt.Fprint(w, "event: error\ndata: {\"code\":-32603,\"message\":\"watch fell behind\"}\n\n")
				return
			}
			h.ServeHTTP(w, r)
		})
	}})
	states := newStateLog()
	c := dialFeed(t, ts.URL, func(o *Options) {
		o.OnConnState = states.on
		o.Reconnect.GiveUpAfter = 300 * time.Millisecond
	})
	w, err := c.Watch(testCtx(t), a2a.CursorStart)
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Close()
	sendAll(t, c, 1, func(int) string { return "echo one" })
	readUntilEnded(t, w, 1)
	// Cut the healthy first connection by closing every client connection
	// on the server side; the reconnects only get error events.
	ts.CloseClientConnections()
	_, err = w.Recv()
	if err == nil || !strings.Contains(err.Error(), "gave up") || !strings.Contains(err.Error(), "watch fell behind") {
		t.Fatalf("Recv against a failing feed: %v, want a give-up naming the server's error", err)
	}
	if conns.Load() < 3 {
		t.Errorf("%d connections: want retries before giving up", conns.Load())
	}
}

// BenchmarkWatchFeedVsPoll: one Watch follows the same workload (32
// concurrent "burst 50" tasks per op on a2atop's server, memory store) by
// the feed and by polling ListTasks every 100ms with live subscriptions.
// tasks/s is how fast the watcher sees tasks end; events/task shows how
// much of each task it saw (the feed: every event; polling: snapshots plus
// whatever its per-task streams caught); ms-lag/task is the mean time from
// a task's final status to the watcher reading it.
//
// Run: go test -run '^$' -bench WatchFeedVsPoll -benchtime 20x ./client/
func BenchmarkWatchFeedVsPoll(b *testing.B) {
	for _, mode := range []struct {
		name  string
		tweak func(*Options, string)
		poll  bool
	}{
		{"engine-direct", nil, false}, // the ceiling: the engine's own Watch, in process
		{"feed", func(o *Options, _ string) {}, false},
		{"feed+journal", func(o *Options, dir string) {
			o.NoJournal = false
			o.JournalPath = filepath.Join(dir, "journal.db")
		}, false},
		{"poll-100ms", func(o *Options, _ string) {
			o.NoWatchFeed = true
			o.WatchInterval = 100 * time.Millisecond
		}, true},
	} {
		b.Run(mode.name, func(b *testing.B) {
			ts := startFeedServer(b, feedServerOpts{})
			ctx := benchCtx(b)
			var svc a2a.Service = ts.eng
			if mode.tweak != nil {
				o := fastOpts("")
				mode.tweak(&o, b.TempDir())
				c, err := New(ctx, ts.URL, o)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				svc = c
			}
			w, err := svc.Watch(ctx, "")
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			const tasks, burst = 32, 50
			ended := map[string]bool{}
			seenCursor := map[string]bool{}
			events := 0
			var lag time.Duration // from a task's end to the watcher seeing it
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				sent := make(chan error, tasks)
				for range tasks {
					go func() {
						req := &a2a.SendRequest{Message: a2a.Message{ID: uuid.NewString(), Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart(fmt.Sprintf("burst %d", burst))}}}
						_, err := ts.eng.Send(ctx, req)
						sent <- err
					}()
				}
				for len(ended) < (i+1)*tasks {
					ev, err := w.Recv()
					if err != nil {
						b.Fatalf("Recv: %v", err)
					}
					events++
					if !mode.poll {
						if seenCursor[ev.Cursor] {
							b.Fatalf("cursor %s delivered twice", ev.Cursor)
						}
						seenCursor[ev.Cursor] = true
					}
					var id string
					var st a2a.TaskState
					switch e := ev.Event.(type) {
					case *a2a.Task:
						id, st = e.ID, e.Status.State
					case *a2a.StatusUpdateEvent:
						id, st = e.TaskID, e.Status.State
					}
					if st.Terminal() && !ended[id] {
						ended[id] = true
						if !ev.Time.IsZero() {
							lag += time.Since(ev.Time)
						}
					}
				}
				for range tasks {
					if err := <-sent; err != nil {
						b.Fatal(err)
					}
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(len(ended))/elapsed.Seconds(), "tasks/s")
			b.ReportMetric(float64(events)/float64(len(ended)), "events/task")
			b.ReportMetric(float64(lag.Microseconds())/1000/float64(len(ended)), "ms-lag/task")
		})
	}
}

// TestFeedRemembersTasksInJournal: the tasks a feed reveals are in the
// journal once the watch is closed, for a later run of the client.
func TestFeedRemembersTasksInJournal(t *testing.T) {
	ts := startFeedServer(t, feedServerOpts{})
	path := filepath.Join(t.TempDir(), "journal.db")
	c := dialFeed(t, ts.URL, func(o *Options) { *o = journalOpts("", path) })
	ctx := testCtx(t)
	w, err := c.Watch(ctx, a2a.CursorStart)
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	const tasks = 5
	sent := goSendAll(ctx, c, tasks, func(i int) string { return fmt.Sprintf("echo %d", i) })
	got := readWhileSending(t, w, tasks, sent)
	w.Close()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c2 := dialFeed(t, ts.URL, func(o *Options) { *o = journalOpts("", path) })
	if err := c2.JournalError(); err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, id := range c2.SeenTasks() {
		known[id] = true
	}
	for _, ev := range got {
		id, _ := ev.Event.TaskInfo()
		if !known[id] {
			t.Fatalf("task %s is not in the journal (it has %d tasks)", id, len(known))
		}
		if tl, err := c2.Timeline(id); err != nil || len(tl) == 0 {
			t.Fatalf("timeline of %s: %v %v", id, tl, err)
		}
	}
}

// TestFeedThatNeverAnswersTimesOut: a feed URL that accepts the request
// but never answers fails Watch after Options.Timeout.
func TestFeedThatNeverAnswersTimesOut(t *testing.T) {
	ts := startFeedServer(t, feedServerOpts{wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == server.WatchPath {
				<-r.Context().Done()
				return
			}
			h.ServeHTTP(w, r)
		})
	}})
	c := dialFeed(t, ts.URL)
	c.opts.Timeout = 100 * time.Millisecond
	_, err := c.Watch(testCtx(t), "")
	if err == nil || !strings.Contains(err.Error(), "no answer within") {
		t.Fatalf("watch: %v, want a timeout", err)
	}
}

// TestEventReaderKeepsIDs: ids are kept per event, and an id-only event
// (no data) moves the last event id, as the SSE spec says.
func TestEventReaderKeepsIDs(t *testing.T) {
	in := "id: 7\ndata: a\n\n: keep-alive\n\ndata: b\n\nid: 9\n\nid: bad\x00\ndata: c\n\n"
	r := newEventReader(strings.NewReader(in), 1<<10)
	want := []struct {
		data, id string
		hasID    bool
		lastID   string
	}{{"a", "7", true, "7"}, {"b", "", false, "7"}, {"c", "", false, "9"}}
	for i, w := range want {
		ev, err := r.next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if string(ev.Data) != w.data || ev.ID != w.id || ev.HasID != w.hasID || r.lastID != w.lastID {
			t.Errorf("event %d: data %q id %q/%v last %q, want %+v", i, ev.Data, ev.ID, ev.HasID, r.lastID, w)
		}
	}
	if r.skipped != 2 {
		t.Errorf("skipped %d events without data, want 2", r.skipped)
	}
}

// TestFeedResumesAcrossServerRestart: the server stops and another starts
// on the same address and the same bbolt file (a2atop restarted, or
// another a2atop process took over the db): the client reconnects with
// its last cursor and reads on with no gap and no duplicate.
func TestFeedResumesAcrossServerRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tasks.db")
	ts := startFeedServer(t, feedServerOpts{bolt: db})
	addr := ts.Listener.Addr().String()
	c := dialFeed(t, ts.URL)
	ctx := testCtx(t)
	w, err := c.Watch(ctx, a2a.CursorStart)
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Close()
	sendAll(t, c, 3, func(i int) string { return "burst 10" })
	got := readUntilEnded(t, w, 3)

	ts.stop()
	ts2 := startFeedServer(t, feedServerOpts{bolt: db, addr: addr})
	// Straight to the new engine: a POST on a connection pooled from the
	// old server may fail, which is not what this test is about.
	sent := goSendAll(ctx, ts2.eng, 3, func(i int) string { return "slow 2" })
	got = append(got, readWhileSending(t, w, 3, sent)...)
	sameLog(t, got, engineLog(t, ts2.eng, 6))
}

// TestFeedCursorAheadAfterRestartEndsStream: the server comes back with an
// empty store, so the client's cursor is ahead of its log: Recv ends with
// that error at once instead of retrying.
func TestFeedCursorAheadAfterRestartEndsStream(t *testing.T) {
	ts := startFeedServer(t, feedServerOpts{})
	addr := ts.Listener.Addr().String()
	states := newStateLog()
	c := dialFeed(t, ts.URL, func(o *Options) { o.OnConnState = states.on })
	w, err := c.Watch(testCtx(t), a2a.CursorStart)
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Close()
	sendAll(t, c, 2, func(i int) string { return "echo before" })
	readUntilEnded(t, w, 2)

	ts.stop()
	var feedHits atomic.Int32
	startFeedServer(t, feedServerOpts{addr: addr, wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == server.WatchPath {
				feedHits.Add(1)
			}
			h.ServeHTTP(w, r)
		})
	}})
	_, err = w.Recv()
	if !errors.Is(err, a2a.ErrInvalidParams) || !strings.Contains(err.Error(), "ahead of the log") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Recv: %q, want one line saying the cursor is ahead of the log", err)
	}
	if _, again := w.Recv(); again == nil || again.Error() != err.Error() {
		t.Errorf("second Recv: %v, want the same error", again)
	}
	if n := feedHits.Load(); n != 1 {
		t.Errorf("the new server's feed was asked %d times, want once", n)
	}
	if k := c.ConnState().Kind; k != Offline {
		t.Errorf("ConnState %v, want offline", c.ConnState())
	}
}

// TestFeedEventCutShortIsNotDelivered: the connection breaks in the middle
// of an event (after its id line, or inside its JSON). The scanner would
// hand the fragment over as an event; the feed drops it and asks for it
// again, so the log read is still exactly the engine's.
func TestFeedEventCutShortIsNotDelivered(t *testing.T) {
	for name, partial := range map[string]func([]byte) []byte{
		"after the id line": func(b []byte) []byte { return b[:bytes.IndexByte(b, '\n')+1] },
		"inside the JSON":   func(b []byte) []byte { return b[:len(b)-10] },
		"before the blank":  func(b []byte) []byte { return b[:len(b)-1] },
	} {
		t.Run(name, func(t *testing.T) {
			cut := &cutter{after: 20, times: 3, partial: partial}
			ts := startFeedServer(t, feedServerOpts{wrap: cut.wrap})
			c := dialFeed(t, ts.URL)
			ctx := testCtx(t)
			w, err := c.Watch(ctx, a2a.CursorStart)
			if err != nil {
				t.Fatalf("watch: %v", err)
			}
			defer w.Close()
			sent := goSendAll(ctx, c, 4, func(i int) string { return "burst 30" })
			got := readWhileSending(t, w, 4, sent)
			sameLog(t, got, engineLog(t, ts.eng, 4))
			if n := cut.cuts.Load(); n != int32(cut.times) {
				t.Fatalf("%d cuts, want %d", n, cut.times)
			}
		})
	}
}

// TestEventReaderDropsCutEvent: with dropCut, a body that ends inside an
// event yields the complete events before it and then the end, and the
// cut event's id does not become the last event id.
func TestEventReaderDropsCutEvent(t *testing.T) {
	for _, tc := range []struct {
		in, lastID string
		data       []string
	}{
		{"id: 1\ndata: a\n\nid: 2\n", "1", []string{"a"}},
		{"id: 1\ndata: a\n\nid: 2\ndata: {\"b\":", "1", []string{"a"}},
		{"id: 1\ndata: a\n\nid: 2\ndata: b\n", "1", []string{"a"}},
		{"id: 1\ndata: a\n\nid: 2\ndata: b\n\n", "2", []string{"a", "b"}},
		{"id: 1\r\ndata: a\r\n\r\nid: 2\r\ndata: b\r\n\r\n", "2", []string{"a", "b"}},
		{"id: 1\ndata: a\n\n: keep-al", "1", []string{"a"}},
		{"id: 1\ndata: a", "", nil},
		{"", "", nil},
	} {
		// One byte per read: the cut may come with any read.
		r := newEventReader(iotest.OneByteReader(strings.NewReader(tc.in)), 1<<10)
		r.dropCut = true
		var data []string
		for {
			ev, err := r.next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Errorf("%q: %v", tc.in, err)
				}
				break
			}
			data = append(data, string(ev.Data))
		}
		if fmt.Sprint(data) != fmt.Sprint(tc.data) || r.lastID != tc.lastID {
			t.Errorf("%q: data %q last id %q, want %q and %q", tc.in, data, r.lastID, tc.data, tc.lastID)
		}
	}
}

// FuzzFeedFraming: whatever the body, the feed's framing (dropCut) never
// panics, yields the events the plain framing yields less at most the last
// one, and its last event id is never one the plain framing did not see.
func FuzzFeedFraming(f *testing.F) {
	for _, seed := range []string{
		"id: 1\ndata: a\n\nid: 2\n",
		"id: 1\ndata: a\n\nid: 2\ndata: {\"b\":",
		"id: 1\r\ndata: a\r\n\r\nid: 2\r\ndata: b\r\n\r\n",
		": keep-alive\n\nid: 3\n\n\r\r",
		"event: error\ndata: {\"code\":-32603,\"message\":\"x\"}\n\n",
	} {
		f.Add([]byte(seed), uint8(0))
	}
	const max = 4096
	read := func(in []byte, step uint8, dropCut bool) ([]string, string, error) {
		var src io.Reader = bytes.NewReader(in)
		if step%2 == 1 {
			src = iotest.OneByteReader(src)
		}
		r := newEventReader(src, max)
		r.dropCut = dropCut
		var out []string
		for range 1000 {
			ev, err := r.next()
			if err != nil {
				return out, r.lastID, err
			}
			out = append(out, ev.ID+"\x00"+string(ev.Data))
		}
		return out, r.lastID, nil
	}
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		plain, _, perr := read(in, step, false)
		feed, lastID, ferr := read(in, step, true)
		if (perr == nil) != (ferr == nil) || (ferr != nil && !errors.Is(ferr, io.EOF) && !errors.Is(ferr, errEventTooLarge)) {
			t.Fatalf("errors: plain %v, feed %v", perr, ferr)
		}
		if len(feed) > len(plain) || len(plain)-len(feed) > 1 {
			t.Fatalf("feed framing gave %d events, plain %d", len(feed), len(plain))
		}
		for i := range feed {
			if feed[i] != plain[i] {
				t.Fatalf("event %d: feed %q, plain %q", i, feed[i], plain[i])
			}
		}
		if lastID != "" && !bytes.Contains(in, []byte(lastID)) {
			t.Fatalf("last id %q is not in the body", lastID)
		}
	})
}
