package client

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/agents"
	"github.com/a2atop/a2atop/internal/testkit/a2apeer"
	"github.com/a2atop/a2atop/server"
)

// dialects are the modes the scripted scenarios run in: each dialect over
// JSON-RPC, then over HTTP+JSON ("version/rest"), against the same real
// a2a-go peer (startPeer names both bindings on its card).
var dialects = []string{a2a.Version10, a2a.Version03, a2a.Version10 + "/rest", a2a.Version03 + "/rest"}

// startPeer starts an a2a-go peer whose card names JSON-RPC then HTTP+JSON.
func startPeer(t *testing.T) *a2apeer.Peer { return startPeerWith(t, a2apeer.Options{}) }

// startPeerWith starts a peer whose card names JSON-RPC then HTTP+JSON
// unless opts says otherwise.
func startPeerWith(tb testing.TB, opts a2apeer.Options) *a2apeer.Peer {
	tb.Helper()
	if opts.Bindings == nil {
		opts.Bindings = []string{a2a.BindingJSONRPC, a2a.BindingHTTPJSON}
	}
	return a2apeer.Start(tb, opts)
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// fastOpts are quick-reconnect options for a mode: "1.0", "0.3", or
// either with "/rest" to force the HTTP+JSON binding.
func fastOpts(protocol string) Options {
	protocol, binding, _ := strings.Cut(protocol, "/")
	return Options{
		Protocol:  protocol,
		Binding:   binding,
		NoJournal: true,
		Reconnect: ReconnectPolicy{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond, GiveUpAfter: 10 * time.Second, PollInterval: 20 * time.Millisecond},
	}
}

func dial(t *testing.T, url, protocol string) *Client {
	t.Helper()
	c, err := New(testCtx(t), url, fastOpts(protocol))
	if err != nil {
		t.Fatalf("New(%s, %q): %v", url, protocol, err)
	}
	want := a2a.BindingJSONRPC
	if strings.HasSuffix(protocol, "/rest") {
		want = a2a.BindingHTTPJSON
	}
	if c.Binding() != want || (protocol != "" && !strings.HasPrefix(protocol, c.Version())) {
		t.Fatalf("New(%s, %q) speaks %s v%s at %s", url, protocol, c.Binding(), c.Version(), c.Endpoint())
	}
	return c
}

func msg(text string) *a2a.SendRequest {
	return &a2a.SendRequest{Message: a2a.Message{ID: newID(), Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart(text)}}}
}

var idCounter = func() func() string {
	n := 0
	return func() string {
		n++
		return "test-msg-" + time.Now().Format("150405.000000000") + "-" + string(rune('a'+n%26))
	}
}()

func newID() string { return idCounter() }

// drainStream folds a stream to its end and returns the task and events.
func drainStream(t *testing.T, s a2a.Stream) (*a2a.Task, []a2a.Event) {
	t.Helper()
	defer s.Close()
	var task *a2a.Task
	var evs []a2a.Event
	for {
		ev, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return task, evs
		}
		if err != nil {
			t.Fatalf("Recv: %v (after %d events)", err, len(evs))
		}
		evs = append(evs, ev.Event)
		if task, err = a2a.Apply(task, ev.Event); err != nil {
			t.Fatalf("Apply: %v", err)
		}
	}
}

func artifactText(task *a2a.Task, name string) string {
	for _, a := range task.Artifacts {
		if a.Name == name {
			return a2a.PartsText(a.Parts)
		}
	}
	return ""
}

func TestDiscoverChoosesDialect(t *testing.T) {
	p := startPeerWith(t, a2apeer.Options{})
	for _, tc := range []struct{ force, want, reason string }{
		{"", "1.0", "v1.0: first JSONRPC interface in supportedInterfaces"},
		{"1.0", "1.0", "forced"},
		{"0.3", "0.3", "forced"},
	} {
		d, err := Discover(testCtx(t), p.URL(), Options{Protocol: tc.force})
		if err != nil {
			t.Fatalf("Discover(force %q): %v", tc.force, err)
		}
		if d.Version != tc.want || !strings.Contains(d.Reason, tc.reason) || d.Endpoint != p.URL() {
			t.Errorf("force %q: got v%s at %s (%s), want v%s with reason containing %q", tc.force, d.Version, d.Endpoint, d.Reason, tc.want, tc.reason)
		}
		if d.Card.Name != "go-peer" || len(d.Card.Skills) != 1 {
			t.Errorf("card: %+v", d.Card)
		}
	}
	// The card URL itself works too.
	d, err := Discover(testCtx(t), p.URL()+".well-known/agent-card.json", Options{})
	if err != nil || d.Version != "1.0" {
		t.Fatalf("Discover(card url): %v %+v", err, d)
	}
}

func TestBlockingSendGetAndErrors(t *testing.T) {
	p := startPeer(t)
	for _, v := range dialects {
		t.Run(v, func(t *testing.T) {
			ctx := testCtx(t)
			c := dial(t, p.URL(), v)
			res, err := c.Send(ctx, msg("echo hello "+v))
			if err != nil {
				t.Fatal(err)
			}
			if res.Task == nil || res.Task.Status.State != a2a.StateCompleted || artifactText(res.Task, "echo") != "hello "+v {
				t.Fatalf("send echo: %+v", res.Task)
			}
			got, err := c.Get(ctx, a2a.GetRequest{ID: res.Task.ID})
			if err != nil || got.ID != res.Task.ID || got.Status.State != a2a.StateCompleted {
				t.Fatalf("get: %v %+v", err, got)
			}
			// A bare message reply.
			res, err = c.Send(ctx, msg("hello"))
			if err != nil || res.Message == nil || !strings.Contains(res.Message.Text(), "commands") {
				t.Fatalf("message reply: %v %+v", err, res)
			}
			// Failure is a task state, not an error.
			res, err = c.Send(ctx, msg("fail"))
			if err != nil || res.Task.Status.State != a2a.StateFailed || res.Task.Status.Message.Text() != a2apeer.FailMessage {
				t.Fatalf("fail: %v %+v", err, res)
			}
			// Error codes.
			if _, err := c.Get(ctx, a2a.GetRequest{ID: "no-such-task"}); !errors.Is(err, a2a.ErrTaskNotFound) {
				t.Errorf("get unknown: %v, want task not found", err)
			}
			if _, err := c.Cancel(ctx, "no-such-task"); !errors.Is(err, a2a.ErrTaskNotFound) {
				t.Errorf("cancel unknown: %v, want task not found", err)
			}
			done, _ := c.Send(ctx, msg("echo x"))
			if _, err := c.Cancel(ctx, done.Task.ID); !errors.Is(err, a2a.ErrNotCancelable) {
				t.Errorf("cancel completed: %v, want not cancelable", err)
			}
			follow := msg("more")
			follow.Message.TaskID, follow.Message.ContextID = done.Task.ID, done.Task.ContextID
			if _, err := c.Send(ctx, follow); err == nil {
				t.Errorf("follow-up to a completed task succeeded")
			} else {
				var perr *a2a.Error
				if !errors.As(err, &perr) {
					t.Errorf("follow-up to a completed task: %v is not a protocol error", err)
				}
			}
		})
	}
}

func TestStreamingSendSlowAndData(t *testing.T) {
	p := startPeer(t)
	for _, v := range dialects {
		t.Run(v, func(t *testing.T) {
			ctx := testCtx(t)
			c := dial(t, p.URL(), v)
			s, err := c.Stream(ctx, msg("slow 3"))
			if err != nil {
				t.Fatal(err)
			}
			task, evs := drainStream(t, s)
			if task.Status.State != a2a.StateCompleted || artifactText(task, "slow-result") != "chunk-1 \nchunk-2 \nchunk-3" {
				t.Fatalf("slow: state %s, artifact %q", task.Status.State, artifactText(task, "slow-result"))
			}
			if _, ok := evs[0].(*a2a.Task); !ok || len(evs) < 8 {
				t.Errorf("slow events: first %T, %d events", evs[0], len(evs))
			}

			s, err = c.Stream(ctx, msg("data"))
			if err != nil {
				t.Fatal(err)
			}
			task, _ = drainStream(t, s)
			if len(task.Artifacts) != 3 {
				t.Fatalf("data: %d artifacts", len(task.Artifacts))
			}
			data, bytesPart, urlPart := task.Artifacts[0].Parts[0], task.Artifacts[1].Parts[0], task.Artifacts[2].Parts[0]
			if data.Kind != a2a.PartData || !strings.Contains(string(data.Data), `"pi":3.14`) {
				t.Errorf("data part: %+v", data)
			}
			if bytesPart.Kind != a2a.PartFile || string(bytesPart.File.Bytes) != a2apeer.FileBytes || bytesPart.File.Name != "hello.txt" {
				t.Errorf("file bytes part: %+v", bytesPart.File)
			}
			if urlPart.Kind != a2a.PartFile || urlPart.File.URI != a2apeer.FileURL {
				t.Errorf("file url part: %+v", urlPart.File)
			}
		})
	}
}

func TestAnswerInputRequired(t *testing.T) {
	p := startPeer(t)
	for _, v := range dialects {
		t.Run(v, func(t *testing.T) {
			ctx := testCtx(t)
			c := dial(t, p.URL(), v)
			s, err := c.Stream(ctx, msg("ask"))
			if err != nil {
				t.Fatal(err)
			}
			task, _ := drainStream(t, s)
			if task.Status.State != a2a.StateInputRequired || task.Status.Message.Text() != a2apeer.Question {
				t.Fatalf("ask: %s %q", task.Status.State, task.Status.Message.Text())
			}
			answer := msg("2026-12-01")
			answer.Message.TaskID, answer.Message.ContextID = task.ID, task.ContextID
			res, err := c.Send(ctx, answer)
			if err != nil {
				t.Fatal(err)
			}
			if res.Task.Status.State != a2a.StateCompleted || artifactText(res.Task, "answer") != "Target date recorded: 2026-12-01" {
				t.Fatalf("answer: %s %+v", res.Task.Status.State, res.Task.Artifacts)
			}
			// Subscribing to a finished task yields its snapshot and ends.
			sub, err := c.Subscribe(ctx, task.ID)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := drainStream(t, sub)
			if got.Status.State != a2a.StateCompleted {
				t.Errorf("subscribe to finished: %s", got.Status.State)
			}
			if _, err := c.Subscribe(ctx, "no-such-task"); !errors.Is(err, a2a.ErrTaskNotFound) {
				t.Errorf("subscribe unknown: %v", err)
			}
		})
	}
}

func TestCancelRunningTask(t *testing.T) {
	p := startPeer(t)
	for _, v := range dialects {
		t.Run(v, func(t *testing.T) {
			ctx := testCtx(t)
			c := dial(t, p.URL(), v)
			s, err := c.Stream(ctx, msg("forever"))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			first, err := s.Recv()
			if err != nil {
				t.Fatal(err)
			}
			id, _ := first.Event.TaskInfo()
			sub, err := c.Subscribe(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			canceled, err := c.Cancel(ctx, id)
			if err != nil || canceled.Status.State != a2a.StateCanceled {
				t.Fatalf("cancel: %v %+v", err, canceled)
			}
			var task *a2a.Task
			task, err = a2a.Apply(nil, first.Event)
			if err != nil {
				t.Fatal(err)
			}
			rest, _ := drainStream(t, s)
			if rest.Status.State != a2a.StateCanceled {
				t.Errorf("stream ended in %s", rest.Status.State)
			}
			subTask, _ := drainStream(t, sub)
			if subTask.Status.State != a2a.StateCanceled {
				t.Errorf("subscription ended in %s", subTask.Status.State)
			}
			_ = task
			again, err := c.Cancel(ctx, id)
			if err != nil && !errors.Is(err, a2a.ErrNotCancelable) {
				t.Errorf("second cancel: %v", err)
			} else if err == nil && again.Status.State != a2a.StateCanceled {
				t.Errorf("second cancel: %s", again.Status.State)
			}
		})
	}
}

func TestListV10(t *testing.T) {
	p := startPeerWith(t, a2apeer.Options{})
	if err := p.Seed(testCtx(t), 7); err != nil {
		t.Fatal(err)
	}
	c := dial(t, p.URL(), "1.0")
	page, err := c.List(testCtx(t), a2a.ListRequest{PageSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Tasks) != 5 || page.TotalSize != 7 || page.NextPageToken == "" {
		t.Fatalf("page 1: %d tasks, total %d, next %q", len(page.Tasks), page.TotalSize, page.NextPageToken)
	}
	page2, err := c.List(testCtx(t), a2a.ListRequest{PageSize: 5, PageToken: page.NextPageToken})
	if err != nil || len(page2.Tasks) != 2 || page2.NextPageToken != "" {
		t.Fatalf("page 2: %v %+v", err, page2)
	}
	if page.FromJournal || page2.FromJournal || c.ListsFromJournal() {
		t.Error("a v1.0 list is the agent's, not the journal's")
	}
	// ListTasks has no order: oldest first is refused, not answered
	// newest first as if it were.
	if _, err := c.List(testCtx(t), a2a.ListRequest{Reverse: true}); !errors.Is(err, a2a.ErrUnsupported) {
		t.Errorf("list oldest first: %v, want unsupported", err)
	}
	if _, err := c.List(testCtx(t), a2a.ListRequest{ByCreated: true}); !errors.Is(err, a2a.ErrUnsupported) {
		t.Errorf("list by creation: %v, want unsupported", err)
	}
	// Told the agent is a2atop's own, the client sends the order, but an
	// agent that ignores it (this one, or an older a2atop) does not say
	// it listed so: its page is refused, not passed off as the order asked.
	opts := fastOpts("1.0")
	opts.OwnPeer = true
	own, err := New(testCtx(t), p.URL(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	for _, q := range []a2a.ListRequest{{Reverse: true}, {ByCreated: true}} {
		if _, err := own.List(testCtx(t), q); !errors.Is(err, a2a.ErrUnsupported) {
			t.Errorf("list %+v on an agent that ignores the order: %v, want unsupported", q, err)
		}
	}
	if page, err := own.List(testCtx(t), a2a.ListRequest{PageSize: 5}); err != nil || len(page.Tasks) != 5 {
		t.Errorf("the default order on an own peer: %v", err)
	}
	anon := startPeerWith(t, a2apeer.Options{Anonymous: true})
	ca := dial(t, anon.URL(), "1.0")
	if _, err := ca.List(testCtx(t), a2a.ListRequest{}); !errors.Is(err, a2a.ErrUnauthenticated) {
		t.Errorf("anonymous list: %v, want unauthenticated", err)
	}
}

// An a2atop serve (its card advertises the Watch feed, which no
// third-party agent does) lists in the order asked, as a2atop's own
// ListTasks members: oldest first and by creation, paging with its tokens.
func TestListOrderOnA2atopServe(t *testing.T) {
	store := engine.NewMemoryStore()
	eng, err := engine.New(store, agents.NewDemo(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(eng, server.Options{})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { ts.Close(); _ = srv.Close(); _ = eng.Close(); _ = store.Close() })
	c, err := New(testCtx(t), ts.URL, Options{NoJournal: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var ids []string // in creation order
	for _, text := range []string{"ask", "echo two", "echo three"} {
		res, err := c.Send(testCtx(t), &a2a.SendRequest{Message: a2a.Message{Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart(text)}}})
		if err != nil || res.Task == nil {
			t.Fatalf("send %q: %+v, %v", text, res, err)
		}
		ids = append(ids, res.Task.ID)
	}
	// The first task changes last: the newest change, the oldest created.
	if _, err := c.Cancel(testCtx(t), ids[0]); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q    a2a.ListRequest
		want []string
	}{
		{a2a.ListRequest{PageSize: 1, Reverse: true}, []string{ids[1], ids[2], ids[0]}},
		{a2a.ListRequest{PageSize: 1, ByCreated: true}, []string{ids[2], ids[1], ids[0]}},
		{a2a.ListRequest{PageSize: 2, ByCreated: true, Reverse: true}, ids},
	} {
		var got []string
		q := tc.q
		for range 10 {
			page, err := c.List(testCtx(t), q)
			if err != nil {
				t.Fatalf("list %+v: %v", q, err)
			}
			for _, tk := range page.Tasks {
				got = append(got, tk.ID)
			}
			if q.PageToken = page.NextPageToken; q.PageToken == "" {
				break
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("list %+v = %v, want %v", tc.q, got, tc.want)
		}
	}
	if _, err := c.List(testCtx(t), a2a.ListRequest{ByCreated: true, PageToken: "garbage"}); !errors.Is(err, a2a.ErrInvalidParams) {
		t.Errorf("a bad created-order token: %v, want invalid params", err)
	}
}

// TestErrorTextOnce: a not-found from an a2atop server reads once, not with
// the operation and the code repeated by each layer.
func TestErrorTextOnce(t *testing.T) {
	store := engine.NewMemoryStore()
	eng, err := engine.New(store, agents.NewDemo(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(eng, server.Options{})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { ts.Close(); _ = srv.Close(); _ = eng.Close(); _ = store.Close() })
	c, err := New(testCtx(t), ts.URL, Options{NoJournal: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Get(testCtx(t), a2a.GetRequest{ID: "nope"})
	if !errors.Is(err, a2a.ErrTaskNotFound) {
		t.Fatalf("get: %v", err)
	}

	if got := err.Error(); strings.Count(got, "get task nope") != 1 || strings.Count(got, "(-32001)") != 1 {
		t.Errorf("error text %q repeats itself", got)
	}
}

// auth-required is not the end of a stream: the a2a-go peer keeps it open
// while its executor carries on (A2A v1.0 §7.6.1), and the client follows
// to completed in both dialects.
func TestStreamFollowsAuthRequired(t *testing.T) {
	p := startPeer(t) // both bindings: dialects includes rest
	for _, v := range dialects {
		t.Run(v, func(t *testing.T) {
			ctx := testCtx(t)
			c := dial(t, p.URL(), v)
			s, err := c.Stream(ctx, msg("auth"))
			if err != nil {
				t.Fatal(err)
			}
			task, evs := drainStream(t, s)
			sawAuth := false
			for _, ev := range evs {
				if su, ok := ev.(*a2a.StatusUpdateEvent); ok && su.Status.State == a2a.StateAuthRequired {
					sawAuth = true
				}
			}
			if !sawAuth || task.Status.State != a2a.StateCompleted {
				t.Fatalf("auth: saw auth-required %v, ended %s, want it followed to completed", sawAuth, task.Status.State)
			}
		})
	}
}
