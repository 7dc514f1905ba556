package server_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/client"
	"github.com/a2atop/a2atop/server"
)

func textMsg(text string) a2a.Message {
	return a2a.Message{Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart(text)}}
}

func tasksArtifactText(t *a2a.Task) string {
	var b strings.Builder
	for _, a := range t.Artifacts {
		b.WriteString(a2a.PartsText(a.Parts))
	}
	return b.String()
}

// TestOwnClientBothDialects runs the same scenarios through a2atop's client.
func TestOwnClientBothDialects(t *testing.T) {
	ts := startServer(t, server.Options{})
	for _, dialect := range []string{a2a.Version10, a2a.Version03} {
		t.Run(dialect, func(t *testing.T) {
			ctx := testCtx(t)
			c, err := client.New(ctx, ts.URL, client.Options{Protocol: dialect, NoJournal: true})
			if err != nil {
				t.Fatalf("client: %v", err)
			}
			defer c.Close()
			if c.Version() != dialect {
				t.Fatalf("client speaks %s, want %s", c.Version(), dialect)
			}
			card, err := c.Card(ctx)
			if err != nil || !card.Capabilities.Streaming {
				t.Fatalf("card: %+v %v", card, err)
			}

			res, err := c.Send(ctx, &a2a.SendRequest{Message: textMsg("echo ours " + dialect)})
			if err != nil || res.Task == nil || res.Task.Status.State != a2a.StateCompleted || !strings.Contains(tasksArtifactText(res.Task), "ours "+dialect) {
				t.Fatalf("send echo: %+v %v", res, err)
			}
			echo := res.Task

			got, err := c.Get(ctx, a2a.GetRequest{ID: echo.ID})
			if err != nil || got.Status.State != a2a.StateCompleted {
				t.Fatalf("get: %+v %v", got, err)
			}
			if _, err := c.Get(ctx, a2a.GetRequest{ID: "missing"}); !errors.Is(err, a2a.ErrTaskNotFound) {
				t.Fatalf("get missing: %v", err)
			}

			st, err := c.Stream(ctx, &a2a.SendRequest{Message: textMsg("slow 3")})
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
			var evs []a2a.Event
			for {
				ev, err := st.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("stream recv: %v", err)
				}
				evs = append(evs, ev.Event)
			}
			st.Close()
			if len(evs) < 5 {
				t.Fatalf("stream: %d events", len(evs))
			}
			final, err := a2a.Fold(nil, evs...)
			if err != nil || final == nil || final.Status.State != a2a.StateCompleted || !strings.Contains(tasksArtifactText(final), "three chunks") {
				t.Fatalf("stream folded: %+v", final)
			}

			page, err := c.List(ctx, a2a.ListRequest{})
			if dialect == a2a.Version10 {
				if err != nil || len(page.Tasks) < 2 {
					t.Fatalf("list: %+v %v", page, err)
				}
			} else if err != nil || !page.FromJournal || len(page.Tasks) < 2 {
				// v0.3 has no ListTasks: the client lists the tasks it has seen.
				t.Fatalf("list on v0.3: %+v %v, want the tasks this client saw", page, err)
			}

			res, err = c.Send(ctx, &a2a.SendRequest{Message: textMsg("ask")})
			if err != nil || res.Task == nil || res.Task.Status.State != a2a.StateInputRequired {
				t.Fatalf("ask: %+v %v", res, err)
			}
			answer := textMsg("tomorrow")
			answer.TaskID, answer.ContextID = res.Task.ID, res.Task.ContextID
			res, err = c.Send(ctx, &a2a.SendRequest{Message: answer})
			if err != nil || res.Task == nil || res.Task.Status.State != a2a.StateCompleted {
				t.Fatalf("answer: %+v %v", res, err)
			}

			res, err = c.Send(ctx, &a2a.SendRequest{Message: textMsg("forever"), Config: a2a.SendConfig{ReturnImmediately: true}})
			if err != nil || res.Task == nil {
				t.Fatalf("forever: %+v %v", res, err)
			}
			sub, err := c.Subscribe(ctx, res.Task.ID)
			if err != nil {
				t.Fatalf("subscribe: %v", err)
			}
			defer sub.Close()
			if _, err := sub.Recv(); err != nil {
				t.Fatalf("subscribe first event: %v", err)
			}
			if _, err := c.Cancel(ctx, res.Task.ID); err != nil {
				t.Fatalf("cancel: %v", err)
			}
			var last a2a.TaskState
			for {
				ev, err := sub.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("subscribe recv: %v", err)
				}
				if su, ok := ev.Event.(*a2a.StatusUpdateEvent); ok {
					last = su.Status.State
				}
			}
			if last != a2a.StateCanceled {
				t.Fatalf("subscribe: last state %s, want canceled", last)
			}
		})
	}
}
