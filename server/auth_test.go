package server_test

import (
	"errors"
	"io"
	"testing"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/client"
	"github.com/a2atop/a2atop/server"
)

// auth-required is not the end of a stream (A2A v1.0 §7.6.1): through our
// server and our client, in both dialects, a stream stays open after it,
// both while the agent carries on by itself (auth 1: credentials "arrive"
// after a second) and until a message from the user resumes the task
// (auth 600); login ends its execution, and with it the stream.
func TestAuthRequiredStreamStaysOpen(t *testing.T) {
	ts := startServer(t, server.Options{})
	for _, dialect := range []string{a2a.Version10, a2a.Version03} {
		t.Run(dialect, func(t *testing.T) {
			ctx := testCtx(t)
			c, err := client.New(ctx, ts.URL, client.Options{Protocol: dialect, NoJournal: true})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			read := func(st a2a.Stream, until a2a.TaskState) (states []a2a.TaskState, id string, ended bool) {
				for {
					ev, err := st.Recv()
					if errors.Is(err, io.EOF) {
						return states, id, true
					}
					if err != nil {
						t.Fatalf("recv: %v", err)
					}
					switch x := ev.Event.(type) {
					case *a2a.Task:
						states, id = append(states, x.Status.State), x.ID
					case *a2a.StatusUpdateEvent:
						states, id = append(states, x.Status.State), x.TaskID
					default:
						continue
					}
					if states[len(states)-1] == until {
						return states, id, false
					}
				}
			}
			last := func(s []a2a.TaskState) a2a.TaskState { return s[len(s)-1] }

			st, err := c.Stream(ctx, &a2a.SendRequest{Message: textMsg("auth 1")})
			if err != nil {
				t.Fatal(err)
			}
			states, _, ended := read(st, "")
			st.Close()
			if !ended || last(states) != a2a.StateCompleted {
				t.Fatalf("auth 1: %v (ended %v), want auth-required then completed on one stream", states, ended)
			}
			seen := false
			for _, s := range states {
				seen = seen || s == a2a.StateAuthRequired
			}
			if !seen {
				t.Fatalf("auth 1: no auth-required in %v", states)
			}

			st, err = c.Stream(ctx, &a2a.SendRequest{Message: textMsg("auth 600")})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			_, id, ended := read(st, a2a.StateAuthRequired)
			if ended {
				t.Fatal("auth 600: the stream ended before auth-required")
			}
			sub, err := c.Subscribe(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			if states, _, ended := read(sub, a2a.StateAuthRequired); ended || len(states) != 1 {
				t.Fatalf("subscribe to auth 600: %v (ended %v), want the snapshot and an open stream", states, ended)
			}
			res, err := c.Send(ctx, &a2a.SendRequest{Message: a2a.Message{Role: a2a.RoleUser, TaskID: id, Parts: []a2a.Part{a2a.TextPart("dave")}}})
			if err != nil || res.Task == nil || res.Task.Status.State != a2a.StateCompleted {
				t.Fatalf("answer: %+v %v", res, err)
			}
			states, _, ended = read(st, "")
			if !ended || last(states) != a2a.StateCompleted {
				t.Fatalf("auth 600 after the answer: %v (ended %v)", states, ended)
			}
			states, _, ended = read(sub, "")
			if !ended || last(states) != a2a.StateCompleted {
				t.Fatalf("subscription after the answer: %v (ended %v)", states, ended)
			}

			st, err = c.Stream(ctx, &a2a.SendRequest{Message: textMsg("login")})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			states, _, ended = read(st, "")
			if !ended || last(states) != a2a.StateAuthRequired {
				t.Fatalf("login: %v (ended %v), want the stream to end at auth-required", states, ended)
			}
		})
	}
}
