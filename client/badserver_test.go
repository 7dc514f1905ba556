package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/internal/testkit/a2apeer"
)

// badServer serves handler at "/" and 404s the card, so the client must be
// forced to a dialect and talks to the URL itself.
func badServer(t *testing.T, protocol string, handler http.HandlerFunc, tweak ...func(*Options)) (*Client, string) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/", http.NotFound)
	mux.HandleFunc("/", handler)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	opts := fastOpts(protocol)
	for _, f := range tweak {
		f(&opts)
	}
	c, err := New(testCtx(t), srv.URL+"/", opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, srv.URL
}

func writeSSE(w http.ResponseWriter, events ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	for _, e := range events {
		fmt.Fprintf(w, "data: %s\n\n", e)
		w.(http.Flusher).Flush()
	}
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q lacks %q", err, p)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
}

func TestBadServersUnary(t *testing.T) {
	ctx := testCtx(t)
	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    []string
	}{
		{"malformed JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"jsonrpc":"2.0","id":1,"result":{"id":`))
		}, []string{"bad JSON-RPC response", "HTTP 200"}},
		{"500 with HTML", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(500)
			_, _ = w.Write([]byte("<html><head><title>Oops: upstream exploded</title></head><body>…</body></html>"))
		}, []string{"HTTP 500", "HTML error page", "Oops: upstream exploded"}},
		{"HTML with 200", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("<!DOCTYPE html><html><body>login</body></html>"))
		}, []string{"HTML page", "HTTP 200"}},
		{"empty body", func(w http.ResponseWriter, r *http.Request) {}, []string{"empty response", "HTTP 200"}},
		{"closes immediately", func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}, []string{"POST", "EOF"}},
		{"plain text 502", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "bad gateway: no upstream", http.StatusBadGateway)
		}, []string{"HTTP 502", "no upstream"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, url := badServer(t, "1.0", tc.handler)
			_, err := c.Get(ctx, a2a.GetRequest{ID: "t1"})
			wantErr(t, err, append(tc.want, url)...)
			if tc.name == "closes immediately" && c.ConnState().Kind != Offline {
				t.Errorf("connection state %s after a hang-up, want offline", c.ConnState())
			}
		})
	}
}

func TestTextPlainJSONRPCErrorIsTyped(t *testing.T) {
	// a2a-go sends v0.3 errors as text/plain.
	c, _ := badServer(t, "0.3", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(`{"jsonrpc":"2.0","id":1,"error":{"code":-32001,"message":"task t1 is gone"}}`))
	})
	_, err := c.Get(testCtx(t), a2a.GetRequest{ID: "t1"})
	if !errors.Is(err, a2a.ErrTaskNotFound) || !strings.Contains(err.Error(), "task t1 is gone") {
		t.Fatalf("got %v", err)
	}
}

func TestSlowServerTimesOut(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	c, url := badServer(t, "1.0", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}, func(o *Options) { o.Timeout = 100 * time.Millisecond })
	_, err := c.Get(testCtx(t), a2a.GetRequest{ID: "t1"})
	wantErr(t, err, url, "deadline exceeded")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(DeadlineExceeded) false for %v", err)
	}
}

func TestBadStreams(t *testing.T) {
	task := `{"jsonrpc":"2.0","id":1,"result":{"task":{"id":"t1","contextId":"c1","status":{"state":"TASK_STATE_SUBMITTED"}}}}`
	t.Run("event without end", func(t *testing.T) {
		c, url := badServer(t, "1.0", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: ")
			chunk := []byte(strings.Repeat("x", 64<<10))
			for i := 0; i < 1<<12; i++ { // up to 256 MiB, far past the cap
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, func(o *Options) { o.MaxEventSize = 1 << 20 })
		s, err := c.Stream(testCtx(t), msg("x"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		_, err = s.Recv()
		wantErr(t, err, url, "too large", "1048576")
	})
	t.Run("malformed event", func(t *testing.T) {
		c, url := badServer(t, "1.0", func(w http.ResponseWriter, r *http.Request) {
			writeSSE(w, task, `{"jsonrpc":"2.0","id":1,"result":{"statusUpdate":`)
		})
		s, err := c.Stream(testCtx(t), msg("x"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
		_, err = s.Recv()
		wantErr(t, err, url, "bad event")
	})
	t.Run("error event", func(t *testing.T) {
		c, _ := badServer(t, "1.0", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "event: error\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32004,\"message\":\"streaming is off\"}}\n\n")
		})
		s, err := c.Stream(testCtx(t), msg("x"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.Recv(); !errors.Is(err, a2a.ErrUnsupported) || !strings.Contains(err.Error(), "streaming is off") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("invalid UTF-8, unknown state and part", func(t *testing.T) {
		c, _ := badServer(t, "1.0", func(w http.ResponseWriter, r *http.Request) {
			writeSSE(w, task,
				"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"statusUpdate\":{\"taskId\":\"t1\",\"contextId\":\"c1\",\"status\":{\"state\":\"TASK_STATE_DREAMING\",\"message\":{\"messageId\":\"m\",\"role\":\"ROLE_AGENT\",\"parts\":[{\"text\":\"bad \xff\xfe bytes\"},{\"hologram\":{\"x\":1}}]}}}}}",
				`{"jsonrpc":"2.0","id":1,"result":{"statusUpdate":{"taskId":"t1","contextId":"c1","status":{"state":"TASK_STATE_COMPLETED"}}}}`)
		})
		s, err := c.Stream(testCtx(t), msg("x"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var states []a2a.TaskState
		for {
			ev, err := s.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("Recv: %v", err)
			}
			if su, ok := ev.Event.(*a2a.StatusUpdateEvent); ok {
				states = append(states, su.Status.State)
				if su.Status.State == a2a.StateUnknown && !strings.Contains(su.Status.Message.Text(), "bad \uFFFD") {
					t.Errorf("invalid UTF-8 text decoded as %q", su.Status.Message.Text())
				}
			}
		}
		if len(states) != 2 || states[0] != a2a.StateUnknown || states[1] != a2a.StateCompleted {
			t.Errorf("states %v", states)
		}
	})
	t.Run("JSON where a stream was expected", func(t *testing.T) {
		c, url := badServer(t, "1.0", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, task)
		})
		_, err := c.Stream(testCtx(t), msg("x"))
		wantErr(t, err, url, "expected an event stream")
	})
	t.Run("ends before a task", func(t *testing.T) {
		c, url := badServer(t, "1.0", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
		})
		s, err := c.Stream(testCtx(t), msg("x"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		_, err = s.Recv()
		wantErr(t, err, url, "ended before the agent sent a task")
	})
}

// TestTenMiBEvent streams a 10 MiB artifact from the real peer in one event.
func TestTenMiBEvent(t *testing.T) {
	peer := startPeerWith(t, a2apeer.Options{})
	for _, v := range dialects {
		t.Run(v, func(t *testing.T) {
			c := dial(t, peer.URL(), v)
			s, err := c.Stream(testCtx(t), msg("big 10485760"))
			if err != nil {
				t.Fatal(err)
			}
			task, _ := drainStream(t, s)
			if task.Status.State != a2a.StateCompleted || len(artifactText(task, "big")) != 10<<20 {
				t.Fatalf("state %s, artifact %d bytes", task.Status.State, len(artifactText(task, "big")))
			}
		})
	}
}

func TestHeadersAndVersionHeader(t *testing.T) {
	got := make(chan http.Header, 4)
	c, _ := badServer(t, "1.0", func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{"id":"t1","contextId":"c1","status":{"state":"TASK_STATE_WORKING"}}}`)
	}, func(o *Options) {
		h, err := ParseHeaders("Authorization: Bearer s3cret\nX-Team: blue", "X-Extra: 1")
		if err != nil {
			panic(err)
		}
		o.Headers = h
	})
	if _, err := c.Get(testCtx(t), a2a.GetRequest{ID: "t1"}); err != nil {
		t.Fatal(err)
	}
	h := <-got
	for k, v := range map[string]string{"Authorization": "Bearer s3cret", "X-Team": "blue", "X-Extra": "1", "A2A-Version": "1.0", "Content-Type": "application/json"} {
		if h.Get(k) != v {
			t.Errorf("header %s = %q, want %q", k, h.Get(k), v)
		}
	}
	if _, err := ParseHeaders("no colon here"); err == nil {
		t.Error("ParseHeaders accepted a line without a colon")
	}
}

// TestStreamCutInsideEvent: a connection that ends in the middle of an
// event is a drop, so the stream resubscribes and reaches the end instead
// of failing on a half event.
func TestStreamCutInsideEvent(t *testing.T) {
	submitted := `{"jsonrpc":"2.0","id":1,"result":{"task":{"id":"t1","contextId":"c1","status":{"state":"TASK_STATE_WORKING"}}}}`
	done := `{"jsonrpc":"2.0","id":1,"result":{"task":{"id":"t1","contextId":"c1","status":{"state":"TASK_STATE_COMPLETED"}}}}`
	c, _ := badServer(t, "1.0", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case strings.Contains(string(body), `"SendStreamingMessage"`):
			writeSSE(w, submitted)
			_, _ = io.WriteString(w, `data: {"jsonrpc":"2.0","id":1,"result":{"statusUp`)
		case strings.Contains(string(body), `"SubscribeToTask"`):
			writeSSE(w, done)
		default: // GetTask
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, done)
		}
	})
	s, err := c.Stream(testCtx(t), msg("x"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var last a2a.TaskState
	for {
		ev, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Recv after a cut inside an event: %v", err)
		}
		if task, ok := ev.Event.(*a2a.Task); ok {
			last = task.Status.State
		}
	}
	if last != a2a.StateCompleted {
		t.Fatalf("last state %s, want completed", last)
	}
}
