package client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/internal/testkit/a2apeer"
)

// cutProxy is a TCP proxy on 127.0.0.1 that can cut every connection and
// refuse new ones (accept, then close at once) for a while.
type cutProxy struct {
	ln     net.Listener
	target string

	mu       sync.Mutex
	conns    map[net.Conn]bool
	refusing bool
	wg       sync.WaitGroup
}

func startProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.Cut()
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refusing := p.refusing
		p.mu.Unlock()
		if refusing {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *cutProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// Cut closes every open connection.
func (p *cutProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

func (p *cutProxy) Refuse(on bool) {
	p.mu.Lock()
	p.refusing = on
	p.mu.Unlock()
}

// viaProxy returns an HTTP client that dials the proxy whenever it would
// dial addr, so that card URLs naming the peer still go through the proxy.
func viaProxy(addr string, p *cutProxy) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, a string) (net.Conn, error) {
		if a == addr {
			a = p.ln.Addr().String()
		}
		return d.DialContext(ctx, network, a)
	}
	return &http.Client{Transport: tr}
}

// stateLog records connection states for assertions.
type stateLog struct {
	mu     sync.Mutex
	states []ConnKind
	ch     chan ConnKind
}

func newStateLog() *stateLog { return &stateLog{ch: make(chan ConnKind, 1024)} }

func (l *stateLog) on(s ConnState) {
	l.mu.Lock()
	l.states = append(l.states, s.Kind)
	l.mu.Unlock()
	select {
	case l.ch <- s.Kind:
	default:
	}
}

func (l *stateLog) waitFor(t *testing.T, k ConnKind) {
	t.Helper()
	deadline := time.After(90 * time.Second)
	for {
		select {
		case got := <-l.ch:
			if got == k {
				return
			}
		case <-deadline:
			t.Fatalf("connection state never became %s; saw %v", k, l.seen())
		}
	}
}

func (l *stateLog) seen() []ConnKind {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]ConnKind(nil), l.states...)
}

func TestStreamSurvivesCutAndRefusal(t *testing.T) {
	for _, v := range dialects {
		t.Run(v, func(t *testing.T) {
			peer := startPeerWith(t, a2apeer.Options{Step: 30 * time.Millisecond})
			proxy := startProxy(t, peer.Addr())
			log := newStateLog()
			opts := fastOpts(v)
			opts.HTTPClient = viaProxy(peer.Addr(), proxy)
			opts.OnConnState = log.on
			c, err := New(testCtx(t), peer.URL(), opts)
			if err != nil {
				t.Fatal(err)
			}
			s, err := c.Stream(testCtx(t), msg("slow 12"))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var task *a2a.Task
			for i := 0; i < 3; i++ { // the snapshot and two steps
				ev, err := s.Recv()
				if err != nil {
					t.Fatal(err)
				}
				if task, err = a2a.Apply(task, ev.Event); err != nil {
					t.Fatal(err)
				}
			}
			proxy.Refuse(true)
			proxy.Cut()
			// The reader notices the cut, and reconnect attempts fail
			// while the proxy refuses.
			done := make(chan struct{})
			var rest *a2a.Task
			var recvErr error
			go func() {
				defer close(done)
				for {
					ev, err := s.Recv()
					if err != nil {
						if !errors.Is(err, io.EOF) {
							recvErr = err
						}
						return
					}
					if rest, err = a2a.Apply(task, ev.Event); err != nil {
						recvErr = err
						return
					}
					task = rest
				}
			}()
			log.waitFor(t, Reconnecting)
			log.waitFor(t, Reconnecting) // a second attempt: the first was refused
			proxy.Refuse(false)
			<-done
			if recvErr != nil {
				t.Fatalf("after the drop: %v", recvErr)
			}
			want := "chunk-1 \nchunk-2 \nchunk-3 \nchunk-4 \nchunk-5 \nchunk-6 \nchunk-7 \nchunk-8 \nchunk-9 \nchunk-10 \nchunk-11 \nchunk-12"
			if task.Status.State != a2a.StateCompleted || artifactText(task, "slow-result") != want || len(task.Artifacts) != 1 {
				t.Fatalf("after reconnecting: state %s, artifacts %d, text %q", task.Status.State, len(task.Artifacts), artifactText(task, "slow-result"))
			}
			if c.ConnState().Kind != Connected {
				t.Errorf("final connection state %s", c.ConnState())
			}
		})
	}
}

func TestStreamSurvivesPeerRestart(t *testing.T) {
	for _, v := range dialects {
		t.Run(v, func(t *testing.T) {
			peer := startPeerWith(t, a2apeer.Options{Step: 30 * time.Millisecond})
			c := dial(t, peer.URL(), v)
			s, err := c.Stream(testCtx(t), msg("slow 8"))
			if err != nil {
				t.Fatal(err)
			}
			first, err := s.Recv()
			if err != nil {
				t.Fatal(err)
			}
			task, err := a2a.Apply(nil, first.Event)
			if err != nil {
				t.Fatal(err)
			}
			peer.Restart()
			rest, _ := drainStream(t, s)
			if rest == nil {
				rest = task
			}
			if rest.Status.State != a2a.StateCompleted || !strings.HasSuffix(artifactText(rest, "slow-result"), "chunk-8") {
				t.Fatalf("after restart: %s %q", rest.Status.State, artifactText(rest, "slow-result"))
			}
		})
	}
}

// TestPollsWhenAgentCannotResubscribe uses a peer that refuses every
// resubscribe, as agents without live executions do: after a cut the
// client must poll GetTask to the end.
func TestPollsWhenAgentCannotResubscribe(t *testing.T) {
	refuse := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, ":subscribe") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":{"code":400,"status":"FAILED_PRECONDITION","message":"resubscribe is not supported here","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"UNSUPPORTED_OPERATION","domain":"a2a-protocol.org"}]}}`))
				return
			}
			if r.Method == http.MethodPost {
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
				if bytes.Contains(body, []byte(`"SubscribeToTask"`)) || bytes.Contains(body, []byte(`"tasks/resubscribe"`)) {
					w.Header().Set("Content-Type", "application/json")
					_, _ = w.Write([]byte(`{"jsonrpc":"2.0","id":1,"error":{"code":-32004,"message":"resubscribe is not supported here"}}`))
					return
				}
			}
			h.ServeHTTP(w, r)
		})
	}
	for _, v := range dialects {
		t.Run(v, func(t *testing.T) {
			peer := startPeerWith(t, a2apeer.Options{Step: 30 * time.Millisecond, Wrap: refuse})
			proxy := startProxy(t, peer.Addr())
			log := newStateLog()
			opts := fastOpts(v)
			opts.HTTPClient = viaProxy(peer.Addr(), proxy)
			opts.OnConnState = log.on
			c, err := New(testCtx(t), peer.URL(), opts)
			if err != nil {
				t.Fatal(err)
			}
			s, err := c.Stream(testCtx(t), msg("slow 6"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Recv(); err != nil {
				t.Fatal(err)
			}
			proxy.Cut()
			task, _ := drainStream(t, s)
			if task.Status.State != a2a.StateCompleted || !strings.HasSuffix(artifactText(task, "slow-result"), "chunk-6") {
				t.Fatalf("after polling: %s %q", task.Status.State, artifactText(task, "slow-result"))
			}
			sawPolling := false
			for _, k := range log.seen() {
				sawPolling = sawPolling || k == Polling
			}
			if !sawPolling {
				t.Errorf("never polled; states %v", log.seen())
			}
		})
	}
}

func TestGivesUpWhenAgentStaysAway(t *testing.T) {
	peer := startPeerWith(t, a2apeer.Options{Step: 30 * time.Millisecond})
	proxy := startProxy(t, peer.Addr())
	log := newStateLog()
	opts := fastOpts("1.0")
	opts.HTTPClient = viaProxy(peer.Addr(), proxy)
	opts.OnConnState = log.on
	opts.Reconnect.GiveUpAfter = 200 * time.Millisecond
	c, err := New(testCtx(t), peer.URL(), opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Stream(testCtx(t), msg("forever"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	proxy.Refuse(true)
	proxy.Cut()
	for {
		_, err := s.Recv()
		if err == nil {
			continue
		}
		if !strings.Contains(err.Error(), "gave up on task") {
			t.Fatalf("want a give-up error, got %v", err)
		}
		if !Unreachable(err) {
			t.Errorf("Unreachable(%v) = false: the command line would not exit 3", err)
		}
		break
	}
	if c.ConnState().Kind != GaveUp {
		t.Errorf("state %s, want gave up", c.ConnState())
	}
}
