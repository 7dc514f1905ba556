package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/agents"
	"github.com/a2atop/a2atop/internal/testkit"
	"github.com/a2atop/a2atop/server"
)

// The abuse tests run our handler behind the http.Server that `a2atop
// serve` uses (server.HTTPServer) on a real 127.0.0.1 listener, abuse it,
// and check that another client is served while the abuse goes on.

// realServer is server.HTTPServer over a demo engine on 127.0.0.1.
type realServer struct {
	url  string
	addr string
	hs   *http.Server
	srv  *server.Server
	log  *testkit.Buffer
}

// startRealServer serves with HTTPServer's configuration; tweak, when
// set, adjusts it before serving (a test lowers a timeout to run fast).
func startRealServer(t *testing.T, opts server.Options, tweak func(*http.Server)) *realServer {
	t.Helper()
	demo := agents.NewDemo()
	demo.StepInterval = 5 * time.Millisecond
	store := engine.NewMemoryStore()
	eng, err := engine.New(store, demo, engine.Options{})
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	logs := &testkit.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	if opts.Logger == nil {
		opts.Logger = logger
	}
	srv := server.New(eng, opts)
	hs := server.HTTPServer(srv, logger)
	if tweak != nil {
		tweak(hs)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hs.Shutdown(ctx); err != nil {
			_ = hs.Close()
		}
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
		if err := eng.Close(); err != nil {
			t.Errorf("engine close: %v", err)
		}
		_ = store.Close()
	})
	return &realServer{url: "http://" + ln.Addr().String(), addr: ln.Addr().String(), hs: hs, srv: srv, log: logs}
}

// sendEcho is another client's blocking send; it must succeed.
func sendEcho(t *testing.T, url, text string) {
	t.Helper()
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"kind":"message","messageId":%q,"role":"user","parts":[{"kind":"text","text":%q}]}}}`,
		fmt.Sprintf("m-%d", time.Now().UnixNano()), "echo "+text)
	_, r := post(t, url+"/", "application/json", nil, []byte(body))
	if r.Error != nil || !strings.Contains(string(r.Result), text) {
		t.Fatalf("another client's send during the abuse: %+v %s", r.Error, r.Result)
	}
}

func TestHTTPServerHardening(t *testing.T) {
	hs := server.HTTPServer(http.NotFoundHandler(), nil)
	if hs.ReadHeaderTimeout <= 0 || hs.ReadHeaderTimeout > time.Minute {
		t.Errorf("ReadHeaderTimeout %v: want a bound on slow headers", hs.ReadHeaderTimeout)
	}
	if hs.IdleTimeout <= 0 {
		t.Errorf("IdleTimeout %v: idle keep-alive connections would be kept forever", hs.IdleTimeout)
	}
	if hs.MaxHeaderBytes <= 0 || hs.MaxHeaderBytes > 1<<20 {
		t.Errorf("MaxHeaderBytes %d", hs.MaxHeaderBytes)
	}
	if hs.WriteTimeout != 0 {
		t.Errorf("WriteTimeout %v would cut long streams and blocking sends", hs.WriteTimeout)
	}
}

// TestSlowlorisHeaders: clients that trickle their request headers a byte
// at a time are cut off once ReadHeaderTimeout passes, and meanwhile other
// clients are served.
func TestSlowlorisHeaders(t *testing.T) {
	t.Parallel()
	rs := startRealServer(t, server.Options{}, func(hs *http.Server) { hs.ReadHeaderTimeout = 500 * time.Millisecond })
	const n = 20
	var cut atomic.Int32
	var wg sync.WaitGroup
	stop := make(chan struct{})
	defer func() { close(stop); wg.Wait() }()
	for range n {
		conn, err := net.Dial("tcp", rs.addr)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(2)
		closed := make(chan struct{})
		// The reader sees the server close the connection.
		go func() {
			defer wg.Done()
			defer close(closed)
			_, _ = io.Copy(io.Discard, conn)
			cut.Add(1)
		}()
		// The writer trickles one header byte at a time, for as long as
		// the connection lasts (bounded: the test's deadline).
		go func() {
			defer wg.Done()
			defer conn.Close()
			if _, err := io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\n"); err != nil {
				return
			}
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			deadline := time.After(30 * time.Second)
			for {
				select {
				case <-stop:
					return
				case <-closed:
					return
				case <-deadline:
					return
				case <-tick.C:
					if _, err := io.WriteString(conn, "X"); err != nil {
						return
					}
				}
			}
		}()
	}
	sendEcho(t, rs.url, "while slowloris")
	testkit.Eventually(t, "every slowloris connection to be cut off", func() bool { return cut.Load() == n })
	sendEcho(t, rs.url, "after slowloris")
}

// TestHugeBody: a 100 MiB body against the default MaxBodyBytes (16 MiB),
// with a Content-Length and chunked, gets a JSON-RPC -32600 that names the
// limit, without the server reading the whole body; another client is
// served while the body streams in.
func TestHugeBody(t *testing.T) {
	t.Parallel()
	rs := startRealServer(t, server.Options{}, nil)
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			hugeBody(t, rs, chunked)
		})
	}
	sendEcho(t, rs.url, "after huge bodies")
}

func hugeBody(t *testing.T, rs *realServer, chunked bool) {
	const size = 100 << 20
	conn, err := net.Dial("tcp", rs.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", size)
	if chunked {
		head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
	}
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	var written atomic.Int64
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		payload := []byte(`{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"parts":[{"text":"` + strings.Repeat("x", 64<<10))
		chunk := payload
		if chunked {
			chunk = append([]byte(fmt.Sprintf("%x\r\n", len(payload))), payload...)
			chunk = append(chunk, "\r\n"...)
		}
		for written.Load() < size {
			n, err := conn.Write(chunk[:min(len(chunk), int(size-written.Load()))])
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	testkit.Eventually(t, "the body to start streaming", func() bool { return written.Load() > 1<<20 })
	sendEcho(t, rs.url, "while a huge body streams")

	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a 100 MiB body: %v", err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var r rpcReply
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("answer %s %q: %v", resp.Status, raw, err)
	}
	if r.Error == nil || r.Error.Code != a2a.CodeInvalidRequest || !strings.Contains(r.Error.Message, fmt.Sprint(server.DefaultMaxBodyBytes)) {
		t.Fatalf("answer %s %+v, want -32600 naming the %d-byte limit", resp.Status, r.Error, server.DefaultMaxBodyBytes)
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !resp.Close {
		t.Errorf("HTTP %s close=%v, want 413 and the connection closed", resp.Status, resp.Close)
	}
	conn.Close()
	<-writerDone
	// What the client managed to write bounds what the server read: the
	// limit plus what the sockets buffer, far from the whole body.
	if got := written.Load(); got >= size/2 {
		t.Fatalf("the client wrote %d MiB of 100 before the server gave up", got>>20)
	} else {
		t.Logf("the client wrote %.1f MiB of 100 before being cut off", float64(got)/(1<<20))
	}
}

// TestHugeHeaders: a request whose headers exceed MaxHeaderBytes gets 431
// and does not reach the handler.
func TestHugeHeaders(t *testing.T) {
	t.Parallel()
	rs := startRealServer(t, server.Options{}, nil)
	req, err := http.NewRequest(http.MethodPost, rs.url+"/", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Big", strings.Repeat("h", 2*server.MaxHeaderBytes))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("huge headers: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("huge headers: %s, want 431", resp.Status)
	}
	if strings.Contains(rs.log.String(), "msg=request") {
		t.Fatalf("the handler saw a request with huge headers: %s", rs.log.String())
	}
	sendEcho(t, rs.url, "after huge headers")
}

// TestAbuseOnRealServer repeats the handler's own defences behind the real
// http.Server: a stalled body, and a stream whose client never reads,
// while other clients are served.
func TestAbuseOnRealServer(t *testing.T) {
	t.Parallel()
	rs := startRealServer(t, server.Options{BodyReadTimeout: 300 * time.Millisecond, StreamWriteTimeout: 300 * time.Millisecond}, nil)

	// A stalled body: the handler answers -32700 once BodyReadTimeout passes.
	stalled, err := net.Dial("tcp", rs.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	if _, err := io.WriteString(stalled, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"jsonrpc\":"); err != nil {
		t.Fatal(err)
	}

	// A Watch client that never reads, fed big events until it is cut off.
	silent, err := net.Dial("tcp", rs.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	if _, err := io.WriteString(silent, "GET "+server.WatchPath+"?cursor=0 HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the silent stream to open", func() bool { return rs.srv.OpenStreams() == 1 })
	big := strings.Repeat("y", 2<<20)
	for i := 0; rs.srv.OpenStreams() > 0; i++ {
		if i == 64 {
			t.Fatalf("a client that never reads still holds its stream after %d MiB of events", i*2)
		}
		sendEcho(t, rs.url, fmt.Sprintf("%d %s", i, big))
	}
	if !strings.Contains(rs.log.String(), "watch cut off") {
		t.Fatalf("the silent stream ended, but not by the write timeout")
	}

	_ = stalled.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(stalled), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(msg), "-32700") || !resp.Close {
		t.Fatalf("stalled body: %s close=%v %s", resp.Status, resp.Close, msg)
	}
	sendEcho(t, rs.url, "after the abuse")
}
