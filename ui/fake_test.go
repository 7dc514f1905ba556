package ui

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/a2atop/a2atop/a2a"
)

// fakeService is an in-memory a2a.Service for Update tests: it records
// what the dashboard asked and answers from its task map.
type fakeService struct {
	mu       sync.Mutex
	tasks    map[string]*a2a.Task
	sent     []*a2a.SendRequest
	canceled []string
	gets     []string
	lists    []a2a.ListRequest
	listed   int  // tasks returned by List, in all
	noOrder  bool // lists newest first only: Reverse and ByCreated are ErrUnsupported, as a remote agent
	watch    chan a2a.StreamEvent
	failNext error
	card     *a2a.AgentCard
	next     int
}

func newFakeService() *fakeService {
	return &fakeService{tasks: map[string]*a2a.Task{}, watch: make(chan a2a.StreamEvent, 16),
		card: &a2a.AgentCard{Name: "fake agent", Description: "answers from a map", Version: "9",
			Capabilities: a2a.AgentCapabilities{Streaming: true},
			Skills:       []a2a.AgentSkill{{ID: "s1", Name: "echo", Description: "says it back", Examples: []string{"echo hi"}}},
			Interfaces:   []a2a.AgentInterface{{URL: "http://127.0.0.1:1/a2a", ProtocolBinding: "JSONRPC", ProtocolVersion: "1.0"}}}}
}

func (f *fakeService) takeErr() error {
	err := f.failNext
	f.failNext = nil
	return err
}

func (f *fakeService) Send(ctx context.Context, req *a2a.SendRequest) (*a2a.SendResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.takeErr(); err != nil {
		return nil, err
	}
	f.sent = append(f.sent, req)
	if id := req.Message.TaskID; id != "" {
		t, ok := f.tasks[id]
		if !ok {
			return nil, a2a.ErrTaskNotFound
		}
		c := t.Clone()
		c.Status = a2a.TaskStatus{State: a2a.StateWorking, Timestamp: testNow}
		f.tasks[id] = c
		return &a2a.SendResult{Task: c}, nil
	}
	f.next++
	t := &a2a.Task{ID: fmt.Sprintf("new-task-%02d", f.next), ContextID: "ctx-new",
		Status: a2a.TaskStatus{State: a2a.StateSubmitted, Timestamp: testNow}, Metadata: req.Metadata}
	f.tasks[t.ID] = t
	return &a2a.SendResult{Task: t}, nil
}

func (f *fakeService) Stream(ctx context.Context, req *a2a.SendRequest) (a2a.Stream, error) {
	return nil, a2a.ErrUnsupported
}

func (f *fakeService) Get(ctx context.Context, req a2a.GetRequest) (*a2a.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets = append(f.gets, req.ID)
	if err := f.takeErr(); err != nil {
		return nil, err
	}
	t, ok := f.tasks[req.ID]
	if !ok {
		return nil, a2a.ErrTaskNotFound
	}
	return t, nil
}

func (f *fakeService) List(ctx context.Context, req a2a.ListRequest) (*a2a.ListPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.takeErr(); err != nil {
		return nil, err
	}
	f.lists = append(f.lists, req)
	if (req.Reverse || req.ByCreated) && f.noOrder {
		return nil, a2a.NewError(a2a.ErrUnsupported, "newest first only")
	}
	all := make([]*a2a.Task, 0, len(f.tasks))
	for _, t := range f.tasks {
		if (req.State != "" && t.Status.State != req.State) || (req.ContextID != "" && t.ContextID != req.ContextID) ||
			(req.Text != "" && !strings.Contains(strings.ToLower(t.ID+" "+t.Status.Message.Text()), strings.ToLower(req.Text))) {
			continue
		}
		all = append(all, t)
	}
	sort.Slice(all, func(i, j int) bool { return (all[i].ID > all[j].ID) != req.Reverse })
	start := 0
	if req.PageToken != "" {
		fmt.Sscan(req.PageToken, &start)
	}
	size := req.PageSize
	if size <= 0 {
		size = a2a.DefaultPageSize
	}
	end := min(start+size, len(all))
	page := &a2a.ListPage{Tasks: all[start:end], TotalSize: len(all), PageSize: size}
	f.listed += end - start
	if end < len(all) {
		page.NextPageToken = fmt.Sprint(end)
	}
	return page, nil
}

func (f *fakeService) Cancel(ctx context.Context, id string) (*a2a.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.canceled = append(f.canceled, id)
	if err := f.takeErr(); err != nil {
		return nil, err
	}
	t, ok := f.tasks[id]
	if !ok {
		return nil, a2a.ErrTaskNotFound
	}
	if t.Status.State.Terminal() {
		return nil, a2a.ErrNotCancelable
	}
	c := t.Clone()
	c.Status = a2a.TaskStatus{State: a2a.StateCanceled, Timestamp: testNow.Add(time.Second),
		Message: &a2a.Message{ID: "cancel-msg", Role: a2a.RoleAgent, Parts: []a2a.Part{a2a.TextPart("canceled by request")}}}
	f.tasks[id] = c
	return c, nil
}

func (f *fakeService) Subscribe(ctx context.Context, id string) (a2a.Stream, error) {
	return nil, a2a.ErrUnsupported
}

func (f *fakeService) Watch(ctx context.Context, cursor string) (a2a.Stream, error) {
	return newChanStream(ctx, f.watch), nil
}

func (f *fakeService) Card(ctx context.Context) (*a2a.AgentCard, error) {
	return f.card, nil
}

// chanStream is a Stream over a channel; closing the channel ends it.
type chanStream struct {
	ctx       context.Context
	ch        chan a2a.StreamEvent
	closeOnce sync.Once
	done      chan struct{}
}

func newChanStream(ctx context.Context, ch chan a2a.StreamEvent) *chanStream {
	return &chanStream{ctx: ctx, ch: ch, done: make(chan struct{})}
}

func (s *chanStream) Recv() (a2a.StreamEvent, error) {
	select {
	case ev, ok := <-s.ch:
		if !ok {
			return a2a.StreamEvent{}, io.EOF
		}
		return ev, nil
	case <-s.ctx.Done():
		return a2a.StreamEvent{}, s.ctx.Err()
	case <-s.done:
		return a2a.StreamEvent{}, io.ErrClosedPipe
	}
}

func (s *chanStream) Close() error {
	s.closeOnce.Do(func() { close(s.done) })
	return nil
}
