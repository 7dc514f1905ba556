package server_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	sdk "github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2aclient"
	"github.com/a2aproject/a2a-go/v2/a2aclient/agentcard"
	"github.com/a2aproject/a2a-go/v2/a2acompat/a2av0"

	"github.com/a2atop/a2atop/server"
)

// sdkClients returns a2a-go clients for our server: v1.0 built from the card
// the SDK's resolver reads, and v0.3 through the SDK's compat transport.
func sdkClients(t *testing.T, ts *testServer) map[string]*a2aclient.Client {
	t.Helper()
	ctx := testCtx(t)
	card, err := agentcard.DefaultResolver.Resolve(ctx, ts.URL)
	if err != nil {
		t.Fatalf("resolve card: %v", err)
	}
	if !card.Capabilities.Streaming {
		t.Errorf("card: streaming capability not set")
	}
	v10, err := a2aclient.NewFromCard(ctx, card)
	if err != nil {
		t.Fatalf("v1.0 client from card: %v", err)
	}
	// v0.3: the card as the SDK's v0.3 parser reads it, and only the v0.3
	// compat transport, as a v0.3-only client would.
	resolver := &agentcard.Resolver{CardParser: a2av0.NewAgentCardParser()}
	card03, err := resolver.Resolve(ctx, ts.URL)
	if err != nil {
		t.Fatalf("resolve card (v0.3 parser): %v", err)
	}
	if !card03.Capabilities.Streaming {
		t.Errorf("v0.3 card: streaming capability not set")
	}
	v03, err := a2aclient.NewFromCard(ctx, card03, a2aclient.WithDefaultsDisabled(),
		a2av0.WithJSONRPCTransport(a2av0.JSONRPCTransportConfig{}))
	if err != nil {
		t.Fatalf("v0.3 client from card: %v", err)
	}
	t.Cleanup(func() { _ = v10.Destroy(); _ = v03.Destroy() })
	return map[string]*a2aclient.Client{"1.0": v10, "0.3": v03}
}

func userMsg(text string) *sdk.Message {
	return sdk.NewMessage(sdk.MessageRoleUser, sdk.NewTextPart(text))
}

func artifactText(task *sdk.Task) string {
	var b strings.Builder
	for _, a := range task.Artifacts {
		for _, p := range a.Parts {
			b.WriteString(p.Text())
		}
	}
	return b.String()
}

func sendTask(t *testing.T, ctx context.Context, c *a2aclient.Client, req *sdk.SendMessageRequest) *sdk.Task {
	t.Helper()
	res, err := c.SendMessage(ctx, req)
	if err != nil {
		t.Fatalf("send %q: %v", req.Message.Parts[0].Text(), err)
	}
	task, ok := res.(*sdk.Task)
	if !ok {
		t.Fatalf("send: got %T, want a task", res)
	}
	return task
}

func TestSDKClientBothDialects(t *testing.T) {
	ts := startServer(t, server.Options{})
	for dialect, c := range sdkClients(t, ts) {
		t.Run(dialect, func(t *testing.T) {
			ctx := testCtx(t)

			// the server saw each SDK transport in its own dialect
			defer func() {
				want := map[string]string{"1.0": "rpc=SendMessage dialect=1.0", "0.3": "rpc=message/send dialect=0.3"}[dialect]
				if !strings.Contains(ts.log.String(), want) {
					t.Errorf("server log has no %q", want)
				}
			}()

			// send echo
			echo := sendTask(t, ctx, c, &sdk.SendMessageRequest{Message: userMsg("echo hello " + dialect)})
			if echo.Status.State != sdk.TaskStateCompleted || !strings.Contains(artifactText(echo), "hello "+dialect) {
				t.Fatalf("echo: state %s, artifacts %q", echo.Status.State, artifactText(echo))
			}

			// get
			got, err := c.GetTask(ctx, &sdk.GetTaskRequest{ID: echo.ID})
			if err != nil || got.ID != echo.ID || got.Status.State != sdk.TaskStateCompleted {
				t.Fatalf("get: %+v, %v", got, err)
			}
			_, err = c.GetTask(ctx, &sdk.GetTaskRequest{ID: "no-such-task"})
			if !errors.Is(err, sdk.ErrTaskNotFound) {
				t.Fatalf("get unknown task: %v, want task not found", err)
			}

			// stream slow 3: the task first, then updates, the last completed
			var events []sdk.Event
			for ev, err := range c.SendStreamingMessage(ctx, &sdk.SendMessageRequest{Message: userMsg("slow 3")}) {
				if err != nil {
					t.Fatalf("stream slow: %v", err)
				}
				events = append(events, ev)
			}
			if len(events) < 5 {
				t.Fatalf("stream slow: %d events, want the task, 3 steps, chunks and the end", len(events))
			}
			if _, ok := events[0].(*sdk.Task); !ok {
				t.Fatalf("stream slow: first event %T, want *Task", events[0])
			}
			last, ok := events[len(events)-1].(*sdk.TaskStatusUpdateEvent)
			if !ok || last.Status.State != sdk.TaskStateCompleted {
				t.Fatalf("stream slow: last event %#v, want completed status", events[len(events)-1])
			}
			chunks := 0
			for _, ev := range events {
				if _, ok := ev.(*sdk.TaskArtifactUpdateEvent); ok {
					chunks++
				}
			}
			if chunks != 3 {
				t.Fatalf("stream slow: %d artifact chunks, want 3", chunks)
			}

			// list is v1.0 only; v0.3 has no such method
			page, err := c.ListTasks(ctx, &sdk.ListTasksRequest{})
			if dialect == "1.0" {
				if err != nil {
					t.Fatalf("list: %v", err)
				}
				ids := map[sdk.TaskID]bool{}
				for _, task := range page.Tasks {
					ids[task.ID] = true
				}
				if !ids[echo.ID] || !ids[last.TaskID] {
					t.Fatalf("list: %d tasks without the echo and slow tasks", len(page.Tasks))
				}
			} else if err == nil {
				t.Fatalf("list on v0.3: no error")
			}

			// ask: input-required, answered on the same task
			ask := sendTask(t, ctx, c, &sdk.SendMessageRequest{Message: userMsg("ask")})
			if ask.Status.State != sdk.TaskStateInputRequired {
				t.Fatalf("ask: state %s, want input-required", ask.Status.State)
			}
			answer := sdk.NewMessageForTask(sdk.MessageRoleUser, ask, sdk.NewTextPart("2027-01-01"))
			done := sendTask(t, ctx, c, &sdk.SendMessageRequest{Message: answer})
			if done.ID != ask.ID || done.Status.State != sdk.TaskStateCompleted || !strings.Contains(artifactText(done), "2027-01-01") {
				t.Fatalf("answer: id %s state %s artifacts %q", done.ID, done.Status.State, artifactText(done))
			}

			// forever, subscribed, then canceled: the subscriber sees canceled
			forever := sendTask(t, ctx, c, &sdk.SendMessageRequest{Message: userMsg("forever"), Config: &sdk.SendMessageConfig{ReturnImmediately: true}})
			subCtx, stopSub := context.WithCancel(ctx)
			defer stopSub()
			seen := make(chan sdk.TaskState, 64)
			subErr := make(chan error, 1)
			go func() {
				defer close(seen)
				for ev, err := range c.SubscribeToTask(subCtx, &sdk.SubscribeToTaskRequest{ID: forever.ID}) {
					if err != nil {
						subErr <- err
						return
					}
					switch ev := ev.(type) {
					case *sdk.Task:
						seen <- ev.Status.State
					case *sdk.TaskStatusUpdateEvent:
						seen <- ev.Status.State
					}
				}
			}()
			// Wait for a working tick on the subscription before canceling.
			for st := range seen {
				if st == sdk.TaskStateWorking {
					break
				}
			}
			canceled, err := c.CancelTask(ctx, &sdk.CancelTaskRequest{ID: forever.ID})
			if err != nil {
				t.Fatalf("cancel: %v", err)
			}
			if canceled.ID != forever.ID {
				t.Fatalf("cancel returned task %s", canceled.ID)
			}
			lastState := sdk.TaskStateUnspecified
			for st := range seen {
				lastState = st
			}
			select {
			case err := <-subErr:
				t.Fatalf("subscribe: %v", err)
			default:
			}
			if lastState != sdk.TaskStateCanceled {
				t.Fatalf("subscribe: last state %s, want canceled", lastState)
			}
			got, err = c.GetTask(ctx, &sdk.GetTaskRequest{ID: forever.ID})
			if err != nil || got.Status.State != sdk.TaskStateCanceled {
				t.Fatalf("get after cancel: %v %v", got, err)
			}
			// canceling a completed task is not cancelable
			if _, err := c.CancelTask(ctx, &sdk.CancelTaskRequest{ID: echo.ID}); !errors.Is(err, sdk.ErrTaskNotCancelable) {
				t.Fatalf("cancel completed: %v, want not cancelable", err)
			}
		})
	}
}

// sdkSendEcho builds numbered echo requests for the SDK client.
type sdkSendEcho struct{}

func (sdkSendEcho) req(i int) *sdk.SendMessageRequest {
	return &sdk.SendMessageRequest{Message: userMsg("echo " + strings.Repeat("n", i))}
}
