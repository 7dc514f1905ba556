package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/internal/testkit/a2apeer"
	"github.com/a2atop/a2atop/internal/testkit/faultproxy"
	"github.com/a2atop/a2atop/server"
)

// The tests below put a faultproxy between the client and a real server
// on 127.0.0.1 (a2atop's own server over a real engine, or the a2a-go
// peer) and break the link the way networks do.

// faultOpts are fastOpts with short retry waits.
func faultOpts() Options {
	o := fastOpts("")
	o.Retry = RetryPolicy{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond}
	return o
}

// drain reads a stream to its end and returns the last task state seen.
func drainState(s a2a.Stream) (a2a.TaskState, error) {
	var state a2a.TaskState
	for {
		ev, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return state, nil
		}
		if err != nil {
			return state, err
		}
		switch e := ev.Event.(type) {
		case *a2a.Task:
			state = e.Status.State
		case *a2a.StatusUpdateEvent:
			state = e.Status.State
		}
	}
}

// countTasks is how many tasks the engine behind a feedServer holds.
func countTasks(t *testing.T, ts *feedServer) int {
	t.Helper()
	page, err := ts.eng.List(testCtx(t), a2a.ListRequest{PageSize: 100})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	return len(page.Tasks)
}

// TestFirstRequestSurvivesOneCut: each operation's first request has its
// answer cut before its first byte (the server did the work); the
// operation still succeeds, and a send makes exactly one task.
func TestFirstRequestSurvivesOneCut(t *testing.T) {
	ts := startFeedServer(t, feedServerOpts{})
	proxy := faultproxy.Start(t, ts.Listener.Addr().String())
	ctx := testCtx(t)

	proxy.CutAfter(0)
	c, err := New(ctx, proxy.URL(), faultOpts())
	if err != nil {
		t.Fatalf("card fetch cut once: %v", err)
	}
	defer c.Close()

	proxy.CutAfter(0)
	res, err := c.Send(ctx, &a2a.SendRequest{Message: textMsg("echo once")})
	if err != nil {
		t.Fatalf("send cut once: %v", err)
	}
	if n := countTasks(t, ts); n != 1 {
		t.Fatalf("%d tasks after one send retried, want 1", n)
	}
	id := res.Task.ID

	proxy.CutAfter(0)
	if _, err := c.Get(ctx, a2a.GetRequest{ID: id}); err != nil {
		t.Fatalf("get cut once: %v", err)
	}
	proxy.CutAfter(0)
	if _, err := c.List(ctx, a2a.ListRequest{}); err != nil {
		t.Fatalf("list cut once: %v", err)
	}

	// A stream cut before its first event: the send is retried with the
	// same messageId and the stream follows the task the first try made.
	proxy.CutAfter(0)
	s, err := c.Stream(ctx, &a2a.SendRequest{Message: textMsg("slow 3")})
	if err != nil {
		t.Fatalf("stream cut once: %v", err)
	}
	state, err := drainState(s)
	s.Close()
	if err != nil || state != a2a.StateCompleted {
		t.Fatalf("stream cut once: state %s, err %v", state, err)
	}
	if n := countTasks(t, ts); n != 2 {
		t.Fatalf("%d tasks after a stream retried, want 2", n)
	}

	// Subscribe: its GetTask and its stream each cut once.
	lres, err := c.Send(ctx, &a2a.SendRequest{Message: textMsg("slow 20"), Config: a2a.SendConfig{ReturnImmediately: true}})
	if err != nil {
		t.Fatal(err)
	}
	proxy.CutAfter(0)
	sub, err := c.Subscribe(ctx, lres.Task.ID)
	if err != nil {
		t.Fatalf("subscribe cut once: %v", err)
	}
	state, err = drainState(sub)
	sub.Close()
	if err != nil || state != a2a.StateCompleted {
		t.Fatalf("subscribe cut once: state %s, err %v", state, err)
	}
	if cuts := proxy.Stats().Cuts; cuts != 6 {
		t.Fatalf("%d cuts, want 6", cuts)
	}
}

// TestFirstRequestSurvivesOneCutOnSDKPeer: the same against the a2a-go
// peer, which does not deduplicate message ids (so only reads are checked
// here, and a stream whose send is retried).
func TestFirstRequestSurvivesOneCutOnSDKPeer(t *testing.T) {
	peer := a2apeer.Start(t, a2apeer.Options{})
	proxy := faultproxy.Start(t, peer.Addr())
	ctx := testCtx(t)
	proxy.CutAfter(0)
	c, err := New(ctx, proxy.URL(), throughProxy(faultOpts(), proxy))
	if err != nil {
		t.Fatalf("card fetch cut once: %v", err)
	}
	defer c.Close()
	res, err := c.Send(ctx, &a2a.SendRequest{Message: textMsg("slow 10"), Config: a2a.SendConfig{ReturnImmediately: true}})
	if err != nil {
		t.Fatal(err)
	}
	proxy.CutAfter(0)
	if _, err := c.Get(ctx, a2a.GetRequest{ID: res.Task.ID}); err != nil {
		t.Fatalf("get cut once: %v", err)
	}
	proxy.CutAfter(0)
	if _, err := c.List(ctx, a2a.ListRequest{}); err != nil {
		t.Fatalf("list cut once: %v", err)
	}
	proxy.CutAfter(0)
	sub, err := c.Subscribe(ctx, res.Task.ID)
	if err != nil {
		t.Fatalf("subscribe cut once: %v", err)
	}
	state, err := drainState(sub)
	sub.Close()
	if err != nil || state != a2a.StateCompleted {
		t.Fatalf("subscribe cut once: state %s, err %v", state, err)
	}
	proxy.CutAfter(0)
	s, err := c.Stream(ctx, &a2a.SendRequest{Message: textMsg("echo hi")})
	if err != nil {
		t.Fatalf("stream cut once: %v", err)
	}
	state, err = drainState(s)
	s.Close()
	if err != nil || state != a2a.StateCompleted {
		t.Fatalf("stream cut once: state %s, err %v", state, err)
	}
}

// streamCommand is `a2atop send --stream "slow 3" URL` as the CLI runs it:
// discovery, then the stream read to its end.
func streamCommand(ctx context.Context, url string, o Options) (a2a.TaskState, error) {
	c, err := New(ctx, url, o)
	if err != nil {
		return "", err
	}
	defer c.Close()
	s, err := c.Stream(ctx, &a2a.SendRequest{Message: textMsg("slow 3")})
	if err != nil {
		return "", err
	}
	defer s.Close()
	return drainState(s)
}

// cutTrials measures the whole command's traffic once, then runs it n
// times, each cut once at a random byte of it. tasks, when set, counts
// the server's tasks, to check that each run made exactly one. It returns
// the failures and logs the figures for the issue note.
func cutTrials(t *testing.T, proxy *faultproxy.Proxy, o Options, n int, tasks func() int) []string {
	t.Helper()
	ctx := testCtx(t)
	start := time.Now()
	if state, err := streamCommand(ctx, proxy.URL(), o); err != nil || state != a2a.StateCompleted {
		t.Fatalf("unbroken run: %s, %v", state, err)
	}
	baseline := time.Since(start)
	total := proxy.Stats().Downstream
	rng := rand.New(rand.NewPCG(13, uint64(total)))
	var failures []string
	var took []time.Duration
	for i := range n {
		before := 0
		if tasks != nil {
			before = tasks()
		}
		off := rng.Int64N(total)
		proxy.CutAfter(off)
		start := time.Now()
		state, err := streamCommand(ctx, proxy.URL(), o)
		took = append(took, time.Since(start))
		proxy.Disarm()
		switch {
		case err != nil:
			failures = append(failures, fmt.Sprintf("run %d, cut at byte %d of %d: %v", i, off, total, err))
		case state != a2a.StateCompleted:
			failures = append(failures, fmt.Sprintf("run %d, cut at byte %d of %d: ended %s", i, off, total, state))
		case tasks != nil && tasks()-before != 1:
			failures = append(failures, fmt.Sprintf("run %d, cut at byte %d of %d: %d tasks made", i, off, total, tasks()-before))
		}
	}
	slices.Sort(took)
	t.Logf("%d runs cut once at a random byte of %d: %d failed; time per run: unbroken %s, median %s, max %s",
		n, total, len(failures), baseline.Round(time.Millisecond), took[n/2].Round(time.Millisecond), took[n-1].Round(time.Millisecond))
	return failures
}

// TestStreamCommandSurvivesCutAtRandomOffsets: against a2atop's server,
// every run cut once at a random byte must end with the task completed
// and make exactly one task (the send's retry is deduplicated).
func TestStreamCommandSurvivesCutAtRandomOffsets(t *testing.T) {
	ts := startFeedServer(t, feedServerOpts{})
	proxy := faultproxy.Start(t, ts.Listener.Addr().String())
	for _, f := range cutTrials(t, proxy, faultOpts(), 34, func() int { return countTasks(t, ts) }) {
		t.Error(f)
	}
}

// TestStreamCommandSurvivesCutAtRandomOffsetsOnSDKPeer: the same against
// the a2a-go peer. It does not deduplicate message ids, so a retried send
// may make a second task there: only the command's success is checked.
func TestStreamCommandSurvivesCutAtRandomOffsetsOnSDKPeer(t *testing.T) {
	peer := a2apeer.Start(t, a2apeer.Options{Step: 2 * time.Millisecond})
	proxy := faultproxy.Start(t, peer.Addr())
	for _, f := range cutTrials(t, proxy, throughProxy(faultOpts(), proxy), 34, nil) {
		t.Error(f)
	}
}

// TestStreamNoticesSilentLink: a stream whose link goes silent (no reset,
// no keep-alive) is cut after StreamIdle and resubscribed; once the link
// is back the stream ends with the task completed.
func TestStreamNoticesSilentLink(t *testing.T) {
	ts := startSlowServer(t)
	proxy := faultproxy.Start(t, ts.Listener.Addr().String())
	ctx := testCtx(t)
	states := newStateLog()
	o := faultOpts()
	o.StreamIdle = 200 * time.Millisecond
	o.Timeout = time.Second
	o.OnConnState = states.on
	c, err := New(ctx, proxy.URL(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.Stream(ctx, &a2a.SendRequest{Message: textMsg("slow 40")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Recv(); err != nil { // the task: the stream is live
		t.Fatal(err)
	}
	proxy.Blackhole()
	silentAt := time.Now()
	done := make(chan error, 1)
	go func() {
		state, err := drainState(s)
		if err == nil && state != a2a.StateCompleted {
			err = fmt.Errorf("ended %s", state)
		}
		done <- err
	}()
	waitReconnect(t, states, done)
	t.Logf("silence noticed after %s (StreamIdle %s)", time.Since(silentAt).Round(time.Millisecond), o.StreamIdle)
	proxy.Resume()
	if err := <-done; err != nil {
		t.Fatalf("after the silence: %v", err)
	}
}

// TestSubscribeNoticesSilentLink: the same for Subscribe.
func TestSubscribeNoticesSilentLink(t *testing.T) {
	peer := a2apeer.Start(t, a2apeer.Options{Step: 50 * time.Millisecond})
	proxy := faultproxy.Start(t, peer.Addr())
	ctx := testCtx(t)
	states := newStateLog()
	o := faultOpts()
	o.StreamIdle = 200 * time.Millisecond
	o.Timeout = time.Second
	o.OnConnState = states.on
	c, err := New(ctx, proxy.URL(), throughProxy(o, proxy))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res, err := c.Send(ctx, &a2a.SendRequest{Message: textMsg("slow 40"), Config: a2a.SendConfig{ReturnImmediately: true}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Subscribe(ctx, res.Task.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	proxy.Blackhole()
	silentAt := time.Now()
	done := make(chan error, 1)
	go func() {
		state, err := drainState(s)
		if err == nil && state != a2a.StateCompleted {
			err = fmt.Errorf("ended %s", state)
		}
		done <- err
	}()
	waitReconnect(t, states, done)
	t.Logf("silence noticed after %s (StreamIdle %s)", time.Since(silentAt).Round(time.Millisecond), o.StreamIdle)
	proxy.Resume()
	if err := <-done; err != nil {
		t.Fatalf("after the silence: %v", err)
	}
}

// TestFeedNoticesSilentLink: the Watch feed behind a blackholed link is
// cut after WatchFeedIdle and resumes from its cursor once the link is
// back.
func TestFeedNoticesSilentLink(t *testing.T) {
	ts := startFeedServer(t, feedServerOpts{srv: server.Options{KeepAlive: time.Hour}})
	proxy := faultproxy.Start(t, ts.Listener.Addr().String())
	states := newStateLog()
	c := dialFeed(t, proxy.URL(), func(o *Options) {
		o.WatchFeedIdle = 200 * time.Millisecond
		o.Timeout = time.Second
		o.OnConnState = states.on
	})
	w, err := c.Watch(testCtx(t), a2a.CursorStart)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	type result struct {
		evs []a2a.StreamEvent
		err error
	}
	got := make(chan result, 1)
	ended := make(chan error, 1)
	go func() {
		evs, err := readEnded(w, 1)
		got <- result{evs, err}
		ended <- err
	}()
	proxy.Blackhole()
	waitReconnect(t, states, ended)
	proxy.Resume()
	// A task sent straight to the engine must reach the feed reader.
	sendAll(t, ts.eng, 1, func(int) string { return "echo after a silence" })
	res := <-got
	if res.err != nil {
		t.Fatal(res.err)
	}
	sameLog(t, res.evs, engineLog(t, ts.eng, 1))
}

// startSlowServer is a feedServer whose demo steps are slow enough that a
// stream spans a blackout.
func startSlowServer(t *testing.T) *feedServer {
	t.Helper()
	return startFeedServer(t, feedServerOpts{srv: server.Options{KeepAlive: time.Hour}, stepInterval: 50 * time.Millisecond})
}

// textMsg is a user's text message without an id: the client picks one.
func textMsg(text string) a2a.Message {
	return a2a.Message{Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart(text)}}
}

// waitReconnect waits until the client says it is reconnecting; a stream
// that ends first fails the test with what it ended with.
func waitReconnect(t *testing.T, states *stateLog, done <-chan error) {
	t.Helper()
	guard := time.After(90 * time.Second)
	for {
		select {
		case k := <-states.ch:
			if k == Reconnecting {
				return
			}
		case err := <-done:
			t.Fatalf("stream ended during the silence (%v) instead of reconnecting", err)
		case <-guard:
			t.Fatal("no reconnect within 90s of silence")
		}
	}
}

// throughProxy routes every connection the client makes through proxy: the
// a2a-go peer's card names the peer's own address, which would otherwise
// take the client around the faulty link after discovery.
func throughProxy(o Options, proxy *faultproxy.Proxy) Options {
	var d net.Dialer
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, proxy.Addr())
	}}
	o.HTTPClient = &http.Client{Transport: tr}
	return o
}
