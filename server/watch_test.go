package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
	"github.com/a2atop/a2atop/server"
)

type sseEvent struct{ id, event, data string }

// readSSE calls fn for each event of an SSE body until fn returns false or
// the body ends. Comment lines are skipped.
func readSSE(body io.Reader, fn func(sseEvent) bool) error {
	r := bufio.NewReaderSize(body, 1<<16)
	var ev sseEvent
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if ev.data != "" && !fn(ev) {
				return nil
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data += line[6:]
		}
	}
}

func openWatch(t *testing.T, ctx context.Context, url, lastID string, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+server.WatchPath+"?cursor="+a2a.CursorStart, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		t.Fatalf("watch: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	return resp
}

// terminalOf reports the task id when ev (v1.0 JSON) is a terminal status.
func terminalOf(t *testing.T, data string) (string, bool) {
	ev, err := wire.V10().DecodeEvent([]byte(data))
	if err != nil {
		t.Fatalf("watch event %q: %v", data, err)
	}
	if su, ok := ev.(*a2a.StatusUpdateEvent); ok && su.Status.State.Terminal() {
		return su.TaskID, true
	}
	return "", false
}

// TestWatchResumeNoGapNoDuplicate: a subscriber reads part of a burst,
// drops, resumes with Last-Event-ID; what it got equals the engine's log.
func TestWatchResumeNoGapNoDuplicate(t *testing.T) {
	ts := startServer(t, server.Options{})
	ctx := testCtx(t)
	const tasks = 20

	var wg sync.WaitGroup
	sendErr := make(chan error, tasks)
	for i := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := a2a.Message{Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart(fmt.Sprintf("echo burst %d", i))}}
			if _, err := ts.eng.Send(ctx, &a2a.SendRequest{Message: msg}); err != nil {
				sendErr <- err
			}
		}()
	}

	var got []sseEvent
	first := openWatch(t, ctx, ts.URL, "", nil)
	_ = readSSE(first.Body, func(ev sseEvent) bool {
		got = append(got, ev)
		return len(got) < 7
	})
	first.Body.Close()
	if len(got) != 7 {
		t.Fatalf("first connection: %d events, want 7", len(got))
	}

	done := map[string]bool{}
	for _, ev := range got {
		if id, ok := terminalOf(t, ev.data); ok {
			done[id] = true
		}
	}
	second := openWatch(t, ctx, ts.URL, got[len(got)-1].id, nil)
	defer second.Body.Close()
	_ = readSSE(second.Body, func(ev sseEvent) bool {
		got = append(got, ev)
		if id, ok := terminalOf(t, ev.data); ok {
			done[id] = true
		}
		return len(done) < tasks
	})
	wg.Wait()
	close(sendErr)
	for err := range sendErr {
		t.Fatalf("send: %v", err)
	}

	// The engine's log, read in-process until every task has ended.
	ref, err := ts.eng.Watch(ctx, a2a.CursorStart)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	var want []sseEvent
	refDone := map[string]bool{}
	for len(refDone) < tasks {
		ev, err := ref.Recv()
		if err != nil {
			t.Fatalf("engine watch: %v", err)
		}
		data, err := wire.V10().EncodeEvent(ev.Event)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, sseEvent{id: ev.Cursor, data: string(data)})
		if id, ok := terminalOf(t, string(data)); ok {
			refDone[id] = true
		}
	}
	if len(got) != len(want) {
		t.Fatalf("feed gave %d events, the log has %d", len(got), len(want))
	}
	seen := map[string]bool{}
	for i := range want {
		if seen[got[i].id] {
			t.Fatalf("duplicate cursor %s", got[i].id)
		}
		seen[got[i].id] = true
		if got[i].id != want[i].id || got[i].data != want[i].data {
			t.Fatalf("event %d: got %s %s, want %s %s", i, got[i].id, got[i].data, want[i].id, want[i].data)
		}
	}
}

func TestWatchBadCursor(t *testing.T) {
	ts := startServer(t, server.Options{})
	resp, err := http.Get(ts.URL + server.WatchPath + "?cursor=abc")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "cursor") {
		t.Fatalf("bad cursor: %s %q", resp.Status, body)
	}
}

// TestKeepAlive: a quiet stream gets comment lines.
func TestKeepAlive(t *testing.T) {
	ts := startServer(t, server.Options{KeepAlive: 10 * time.Millisecond})
	resp := openWatch(t, testCtx(t), ts.URL, "", nil)
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != ": keep-alive\n" {
		t.Fatalf("first line on a quiet feed: %q %v", line, err)
	}
}

// TestWatchFromNowStartsWithItsCursor: a feed from now first sends an
// id-only event with the log position it starts after, so a client cut off
// before any event resumes from there and misses nothing sent meanwhile.
func TestWatchFromNowStartsWithItsCursor(t *testing.T) {
	ts := startServer(t, server.Options{})
	ctx := testCtx(t)
	v10 := http.Header{"A2A-Version": {"1.0"}}
	send := func(text string) string {
		t.Helper()
		_, r := post(t, ts.URL+"/", "application/json", v10, []byte(`{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"`+text+`","role":"ROLE_USER","parts":[{"text":"echo `+text+`"}]}}}`))
		if r.Error != nil {
			t.Fatalf("send %s: %+v", text, r.Error)
		}
		return string(r.Result)
	}
	send("before")

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+server.WatchPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	first, err := bufio.NewReader(resp.Body).ReadString('\n')
	resp.Body.Close() // cut before any event
	if err != nil || !strings.HasPrefix(first, "id: ") {
		t.Fatalf("first line %q (%v), want an id-only event", first, err)
	}
	start := strings.TrimSpace(first[4:])
	// The engine's own Watch from the start ends its replay at that cursor.
	all, err := ts.eng.Watch(ctx, a2a.CursorStart)
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	var last string
	for last != start {
		ev, err := all.Recv()
		if err != nil {
			t.Fatalf("engine log ended before cursor %s: %v", start, err)
		}
		last = ev.Cursor
	}

	after := send("meanwhile")
	resumed := openWatch(t, ctx, ts.URL, start, nil)
	defer resumed.Body.Close()
	var got sseEvent
	_ = readSSE(resumed.Body, func(ev sseEvent) bool { got = ev; return false })
	if !strings.Contains(got.data, "echo meanwhile") || strings.Contains(got.data, "before") {
		t.Fatalf("resumed from %s: first event %s, want the task sent meanwhile (%.80s)", start, got.data, after)
	}
}
