package localshare

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/server"
)

// TestServeOnFileStartsEventsWithItsCursor is `a2atop serve --db file.db`:
// the service the CLI serves on a bbolt file is localshare's (the host of
// the file, or a client of the process that hosts it), published with
// server.New on 127.0.0.1. A feed from now must start with the id-only
// event carrying the cursor it starts after, as the engine's own does, so
// that a client cut off before the first event resumes without losing
// what was sent meanwhile.
func TestServeOnFileStartsEventsWithItsCursor(t *testing.T) {
	for _, role := range []string{"host", "client"} {
		t.Run(role, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			path := filepath.Join(t.TempDir(), "tasks.db")
			host := open(t, path, demoOptions(t))
			svc := host
			if role == "client" {
				svc = open(t, path, demoOptions(t))
				if r := svc.Role(); r.Kind != Client {
					t.Fatalf("second Open: role %+v, want a client of the host", r)
				}
			}
			if _, err := svc.Send(ctx, sendReq("echo before")); err != nil {
				t.Fatal(err)
			}
			// A short keep-alive: without the start event the feed's first
			// line is a keep-alive comment, soon.
			srv := server.New(svc, server.Options{KeepAlive: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
			ts := httptest.NewServer(srv)
			defer ts.Close()
			defer srv.Close()

			req, err := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+server.WatchPath, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			first, err := bufio.NewReader(resp.Body).ReadString('\n')
			resp.Body.Close() // cut off before any event
			if err != nil || !strings.HasPrefix(first, "id: ") || strings.TrimSpace(first[4:]) == "" {
				t.Fatalf("first line of /events from now: %q (%v), want the id-only start event", first, err)
			}
			start := strings.TrimSpace(first[4:])

			// Resuming from that cursor yields what was sent meanwhile, and
			// nothing from before.
			if _, err := svc.Send(ctx, sendReq("echo meanwhile")); err != nil {
				t.Fatal(err)
			}
			w, err := svc.Watch(ctx, start)
			if err != nil {
				t.Fatalf("watch after the start cursor %s: %v", start, err)
			}
			defer w.Close()
			ev, err := w.Recv()
			if err != nil && err != io.EOF {
				t.Fatal(err)
			}
			if got := taskText(ev.Event); !strings.Contains(got, "echo meanwhile") {
				t.Fatalf("first event after the start cursor %s: %q, want the task sent meanwhile", start, got)
			}
		})
	}
}

// taskText is the text of an event's task history (a Task) or status
// message, enough to tell the tasks of this test apart.
func taskText(ev a2a.Event) string {
	var msgs []a2a.Message
	switch e := ev.(type) {
	case *a2a.Task:
		msgs = e.History
	case *a2a.StatusUpdateEvent:
		if e.Status.Message != nil {
			msgs = append(msgs, *e.Status.Message)
		}
	}
	var b strings.Builder
	for _, m := range msgs {
		for _, p := range m.Parts {
			b.WriteString(p.Text)
			b.WriteString(" ")
		}
	}
	return b.String()
}
