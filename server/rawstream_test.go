package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/internal/testkit"
	"github.com/a2atop/a2atop/server"
)

// TestV03StreamFinal reads a v0.3 message/stream on the wire: every event
// is a JSON-RPC response with the request's id and an SSE id line, and only
// the last status update (input-required here) says final:true.
func TestV03StreamFinal(t *testing.T) {
	ts := startServer(t, server.Options{})
	body := `{"jsonrpc":"2.0","id":"r1","method":"message/stream","params":{"message":{"kind":"message","messageId":"m","role":"user","parts":[{"kind":"text","text":"ask"}]}}}`
	resp, err := http.Post(ts.URL+"/", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	type result struct {
		ID     string `json:"id"`
		Result struct {
			Kind   string `json:"kind"`
			Final  *bool  `json:"final"`
			Status struct {
				State string `json:"state"`
			} `json:"status"`
		} `json:"result"`
	}
	var got []result
	var ids []string
	if err := readSSE(resp.Body, func(ev sseEvent) bool {
		var r result
		if err := json.Unmarshal([]byte(ev.data), &r); err != nil {
			t.Fatalf("event %q: %v", ev.data, err)
		}
		got = append(got, r)
		ids = append(ids, ev.id)
		return true
	}); err == nil {
		t.Fatalf("stream did not end")
	}
	if len(got) < 2 || got[0].Result.Kind != "task" {
		t.Fatalf("events %+v", got)
	}
	for i, r := range got {
		if r.ID != "r1" || ids[i] != strconv.Itoa(i+1) {
			t.Fatalf("event %d: rpc id %q, sse id %q", i, r.ID, ids[i])
		}
		if r.Result.Kind != "status-update" {
			continue
		}
		last := i == len(got)-1
		if r.Result.Final == nil || *r.Result.Final != last {
			t.Fatalf("event %d (%s): final %v, want %v", i, r.Result.Status.State, r.Result.Final, last)
		}
	}
	if lastEv := got[len(got)-1]; lastEv.Result.Status.State != "input-required" {
		t.Fatalf("last event %+v", lastEv)
	}
}

// TestSlowReaderCutOff: a Watch client that never reads is cut off once a
// write has waited StreamWriteTimeout, freeing its stream slot, while other
// clients are served.
func TestSlowReaderCutOff(t *testing.T) {
	ts := startServer(t, server.Options{StreamWriteTimeout: 300 * time.Millisecond})
	req, err := http.NewRequest(http.MethodGet, ts.URL+server.WatchPath+"?cursor=0", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close() // never read
	testkit.Eventually(t, "the stream to open", func() bool { return ts.srv.OpenStreams() == 1 })
	// Big events fill the socket buffers (a few MiB on loopback).
	big := strings.Repeat("x", 4<<20)
	ctx := testCtx(t)
	for range 4 {
		msg := a2a.Message{Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart("echo " + big)}}
		if _, err := ts.eng.Send(ctx, &a2a.SendRequest{Message: msg}); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	testkit.Eventually(t, "the non-reading stream to be cut off", func() bool { return ts.srv.OpenStreams() == 0 })
	if !strings.Contains(ts.log.String(), "watch cut off") {
		t.Fatalf("the stream ended, but not by the write timeout: %s", ts.log.String())
	}
	// Still serving.
	_, r := post(t, ts.URL+"/", "application/json", nil, bytes.NewBufferString(`{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"id":"x"}}`).Bytes())
	if r.Error == nil || r.Error.Code != a2a.CodeTaskNotFound {
		t.Fatalf("after cut-off: %+v", r.Error)
	}
}

// TestTricklingBody: a client that sends headers and part of a body, then
// stalls, gets an error once BodyReadTimeout passes; others are served.
func TestTricklingBody(t *testing.T) {
	ts := startServer(t, server.Options{BodyReadTimeout: 200 * time.Millisecond})
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"jsonrpc\":"); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v\n%s", err, ts.log.String())
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(msg), "-32700") {
		t.Fatalf("stalled body: %s %s", resp.Status, msg)
	}
}

// TestCloseEndsStreams: Close ends open streams (their clients see the end
// of the body) and refuses new ones; unary calls still work.
func TestCloseEndsStreams(t *testing.T) {
	ts := startServer(t, server.Options{})
	body := `{"jsonrpc":"2.0","id":1,"method":"SendStreamingMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"forever"}]}}}`
	req, err := http.NewRequest(http.MethodPost, ts.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("A2A-Version", "1.0")
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	watch := openWatch(t, testCtx(t), ts.URL, "", nil)
	defer watch.Body.Close()
	testkit.Eventually(t, "both streams to open", func() bool { return ts.srv.OpenStreams() == 2 })
	if err := ts.srv.Close(); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]io.Reader{"stream": stream.Body, "watch": watch.Body} {
		if err := readSSE(b, func(sseEvent) bool { return true }); err != io.EOF {
			t.Fatalf("%s after Close: %v, want the body to end", name, err)
		}
	}
	resp, err := http.Get(ts.URL + server.WatchPath)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(msg), "shutting down") {
		t.Fatalf("watch after Close: %s %q", resp.Status, msg)
	}
}
