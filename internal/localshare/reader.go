package localshare

import (
	"context"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
)

// storeReader serves get and list straight from the task store, without
// starting an engine. Opening an engine resumes every unfinished task (and
// each open that is closed again counts as an interrupted attempt), which a
// command that only reads must not do: `a2atop list` run three times would
// otherwise fail a long task as interrupted.
type storeReader struct {
	store engine.Store
	card  a2a.AgentCard
}

var (
	_ a2a.Service        = (*storeReader)(nil)
	_ a2a.TimelineSource = (*storeReader)(nil)
)

// ReadOnlyService serves Get and List from store and Card from card, and
// refuses the rest: what a2atop get and list use on a store no engine runs.
func ReadOnlyService(store engine.Store, card a2a.AgentCard) a2a.Service {
	return &storeReader{store: store, card: card}
}

func (r *storeReader) Get(ctx context.Context, req a2a.GetRequest) (*a2a.Task, error) {
	return engine.Reader{Store: r.store}.Get(ctx, req)
}

func (r *storeReader) List(ctx context.Context, req a2a.ListRequest) (*a2a.ListPage, error) {
	return engine.Reader{Store: r.store}.List(ctx, req)
}

// Timeline reads the task's event log from the store, as the engine would.
func (r *storeReader) Timeline(ctx context.Context, taskID string) ([]a2a.TimelineEvent, error) {
	return engine.Reader{Store: r.store}.Timeline(ctx, taskID)
}

func (r *storeReader) Card(ctx context.Context) (*a2a.AgentCard, error) {
	card := r.card
	return &card, nil
}

func (r *storeReader) readOnly(op string) error {
	return a2a.NewError(a2a.ErrUnsupported, "%s: this command opened the task store read-only", op)
}

func (r *storeReader) Send(ctx context.Context, req *a2a.SendRequest) (*a2a.SendResult, error) {
	return nil, r.readOnly("send")
}

func (r *storeReader) Stream(ctx context.Context, req *a2a.SendRequest) (a2a.Stream, error) {
	return nil, r.readOnly("stream")
}

func (r *storeReader) Cancel(ctx context.Context, taskID string) (*a2a.Task, error) {
	return nil, r.readOnly("cancel")
}

func (r *storeReader) Subscribe(ctx context.Context, taskID string) (a2a.Stream, error) {
	return nil, r.readOnly("subscribe")
}

func (r *storeReader) Watch(ctx context.Context, cursor string) (a2a.Stream, error) {
	return nil, r.readOnly("watch")
}
