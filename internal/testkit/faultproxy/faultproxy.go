// Package faultproxy is a TCP proxy on 127.0.0.1 for tests that injects the
// faults a real network makes: a connection cut once at a chosen byte of
// the server's answer, a blackholed link (connections accepted, nothing
// forwarded, as when a route dies without a reset), and recovery.
//
// It works below HTTP, so the client and server under test run unchanged:
// point the client at Proxy.URL instead of the server.
//
// Byte offsets count the bytes sent from the server to the client, over
// all connections, from the moment a cut is armed: a test that measured a
// whole exchange with Downstream can cut it at any byte of it, card fetch
// and request headers included.
package faultproxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy forwards every connection it accepts to one target address.
// Its methods are safe for concurrent use.
type Proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	conns  map[*link]struct{}
	closed bool
	// gate is closed while traffic flows; blackholed, it is an open
	// channel that forwarding goroutines wait on.
	gate chan struct{}
	// cutAt >= 0 arms a one-shot cut at that downstream byte, counted in
	// armedBytes from the arming.
	cutAt      int64
	armedBytes int64
	down       int64 // downstream bytes forwarded, all time
	cuts       int
	accepted   int

	wg sync.WaitGroup
}

// link is one proxied connection: the client's side and the server's.
type link struct {
	client, server net.Conn
	once           sync.Once
	done           chan struct{}
}

func (l *link) close() {
	l.once.Do(func() {
		close(l.done)
		l.client.Close()
		if l.server != nil {
			l.server.Close()
		}
	})
}

// Start listens on 127.0.0.1 and forwards to target (host:port); the proxy
// closes when the test ends.
func Start(tb testing.TB, target string) *Proxy {
	tb.Helper()
	p, err := New(target)
	if err != nil {
		tb.Fatalf("faultproxy: %v", err)
	}
	tb.Cleanup(p.Close)
	return p
}

// New is Start without a test: the caller must Close it.
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	gate := make(chan struct{})
	close(gate)
	p := &Proxy{ln: ln, target: target, conns: map[*link]struct{}{}, gate: gate, cutAt: -1}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL is "http://<Addr>/".
func (p *Proxy) URL() string { return "http://" + p.Addr() + "/" }

// Close stops accepting, cuts every connection and waits for the proxy's
// goroutines. Safe to call more than once.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	p.ln.Close()
	p.CutAll()
	p.Resume() // frees goroutines waiting at the gate
	p.wg.Wait()
}

// CutAfter arms a one-shot cut: the connection that carries downstream
// byte n (counted from now, over all connections) forwards the first n
// bytes, then both of its sides are closed. Later traffic flows normally.
// n = 0 cuts the next connection before it forwards anything.
func (p *Proxy) CutAfter(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutAt, p.armedBytes = n, 0
}

// Disarm cancels a cut that has not happened yet.
func (p *Proxy) Disarm() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutAt = -1
}

// Blackhole makes the link silent: open connections stop forwarding in
// both directions and new ones are accepted but never reach the server,
// until Resume. Nothing is closed, so only a deadline can notice.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.gate:
		p.gate = make(chan struct{})
	default: // already blackholed
	}
}

// Resume lets traffic flow again, on held connections too.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.gate:
	default:
		close(p.gate)
	}
}

// CutAll closes every open connection now.
func (p *Proxy) CutAll() {
	p.mu.Lock()
	links := make([]*link, 0, len(p.conns))
	for l := range p.conns {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, l := range links {
		l.close()
	}
}

// Stats is what the proxy did so far.
type Stats struct {
	Accepted   int   // connections accepted
	Open       int   // connections open now
	Cuts       int   // armed cuts that happened
	Downstream int64 // bytes forwarded server → client
}

// Stats reports the proxy's counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Accepted: p.accepted, Open: len(p.conns), Cuts: p.cuts, Downstream: p.down}
}

func (p *Proxy) currentGate() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gate
}

// wait blocks while the link is blackholed; false when l was closed.
func (p *Proxy) wait(l *link) bool {
	for {
		g := p.currentGate()
		select {
		case <-l.done:
			return false
		case <-g:
			// The gate may have been replaced between reading and
			// waiting; look again.
			if p.currentGate() == g {
				return true
			}
		}
	}
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		l := &link{client: c, done: make(chan struct{})}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			return
		}
		p.conns[l] = struct{}{}
		p.accepted++
		p.mu.Unlock()
		p.wg.Add(1)
		go p.serve(l)
	}
}

// serve dials the target once the link is open and pipes both ways.
func (p *Proxy) serve(l *link) {
	defer p.wg.Done()
	defer func() {
		l.close()
		p.mu.Lock()
		delete(p.conns, l)
		p.mu.Unlock()
	}()
	if !p.wait(l) {
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	p.mu.Lock()
	l.server = up
	p.mu.Unlock()
	select {
	case <-l.done: // cut while dialling
		up.Close()
		return
	default:
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pipe(l, up, l.client, false) }()
	go func() { defer wg.Done(); p.pipe(l, l.client, up, true) }()
	wg.Wait()
}

// pipe copies src to dst, waiting at the gate before each write and, for
// the downstream direction, applying an armed cut. A client that
// half-closes its side is passed on as a half-close; anything else ends
// the whole link.
func (p *Proxy) pipe(l *link, dst, src net.Conn, downstream bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.wait(l) {
				l.close()
				return
			}
			chunk, cut := buf[:n], false
			if downstream {
				chunk, cut = p.account(chunk)
			}
			if len(chunk) > 0 {
				if _, werr := dst.Write(chunk); werr != nil {
					l.close()
					return
				}
			}
			if cut {
				l.close()
				return
			}
		}
		if err != nil {
			if cw, ok := dst.(interface{ CloseWrite() error }); ok && !downstream && errors.Is(err, io.EOF) {
				_ = cw.CloseWrite()
				return
			}
			l.close()
			return
		}
	}
}

// account counts downstream bytes and trims chunk at an armed cut.
func (p *Proxy) account(chunk []byte) ([]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cutAt >= 0 && p.armedBytes+int64(len(chunk)) > p.cutAt {
		keep := p.cutAt - p.armedBytes
		p.cutAt = -1
		p.cuts++
		p.down += keep
		return chunk[:keep], true
	}
	if p.cutAt >= 0 {
		p.armedBytes += int64(len(chunk))
	}
	p.down += int64(len(chunk))
	return chunk, false
}
