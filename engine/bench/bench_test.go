package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2asrv"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/localstore"
)

// backend is one side of a comparison: something that runs echo tasks and
// streams status updates.
type backend struct {
	name string
	// send runs one blocking echo task.
	send func(ctx context.Context, text string) error
	// stream starts a task that publishes n status updates once released,
	// attaches subs subscribers, releases it and waits until every
	// subscriber saw the end; it returns the events delivered.
	stream func(ctx context.Context, n, subs int) (int, error)
	close  func()
}

const streamUpdates = 10_000

// gates hands each streaming task its release channel, keyed by message text.
type gates struct{ m sync.Map }

func (g *gates) add(key string) chan struct{} {
	ch := make(chan struct{})
	g.m.Store(key, ch)
	return ch
}

func (g *gates) wait(key string) {
	if ch, ok := g.m.Load(key); ok {
		<-ch.(chan struct{})
		g.m.Delete(key)
	}
}

var seq atomic.Int64

func nextKey(prefix string) string { return fmt.Sprintf("%s %d", prefix, seq.Add(1)) }

// --- the engine ---

func engineBackend(b *testing.B, name string, store engine.Store, maxRunning int) *backend {
	// StreamBuffer above the 10,000 updates of BenchmarkStream, so that no
	// subscriber can lag on a machine busy with other work (the engine
	// never waits for readers; the SDK makes its publisher wait instead).
	// engine-mem-buf1024 shows the default.
	return engineBackendBuf(b, name, store, maxRunning, 16384)
}

func engineBackendBuf(b *testing.B, name string, store engine.Store, maxRunning, streamBuffer int) *backend {
	g := &gates{}
	exec := engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		text := req.Message.Text()
		if len(text) > 7 && text[:7] == "stream " {
			g.wait(text)
			for range streamUpdates {
				if err := pub.Status(ctx, ""); err != nil {
					return err
				}
			}
			return pub.Complete(ctx, "")
		}
		if err := pub.Artifact(ctx, a2a.Artifact{Parts: []a2a.Part{a2a.TextPart(text)}}); err != nil {
			return err
		}
		return pub.Complete(ctx, "")
	})
	e, err := engine.New(store, exec, engine.Options{MaxRunning: maxRunning, StreamBuffer: streamBuffer})
	if err != nil {
		b.Fatal(err)
	}
	return &backend{
		name: name,
		send: func(ctx context.Context, text string) error {
			res, err := e.Send(ctx, &a2a.SendRequest{Message: a2a.Message{Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart(text)}}})
			if err != nil {
				return err
			}
			if res.Task == nil || res.Task.Status.State != a2a.StateCompleted || len(res.Task.Artifacts) != 1 {
				return fmt.Errorf("unexpected result %+v", res)
			}
			return nil
		},
		stream: func(ctx context.Context, n, subs int) (int, error) {
			key := nextKey("stream")
			release := g.add(key)
			res, err := e.Send(ctx, &a2a.SendRequest{Message: a2a.Message{Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart(key)}},
				Config: a2a.SendConfig{ReturnImmediately: true}})
			if err != nil {
				return 0, err
			}
			var total atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, subs)
			for range subs {
				s, err := e.Subscribe(ctx, res.Task.ID)
				if err != nil {
					return 0, err
				}
				wg.Go(func() {
					defer s.Close()
					count := 0
					for {
						_, err := s.Recv()
						if errors.Is(err, io.EOF) {
							break
						}
						if err != nil {
							errs <- err
							return
						}
						count++
					}
					total.Add(int64(count))
				})
			}
			close(release)
			wg.Wait()
			close(errs)
			for err := range errs {
				return 0, err
			}
			return int(total.Load()), nil
		},
		close: func() { e.Close(); store.Close() },
	}
}

// --- the a2a-go SDK's in-process handler with its in-memory task store ---

type sdkExecutor struct{ g *gates }

func (x *sdkExecutor) Execute(ctx context.Context, ec *a2asrv.ExecutorContext) iter.Seq2[sdk.Event, error] {
	return func(yield func(sdk.Event, error) bool) {
		if ec.StoredTask == nil {
			if !yield(sdk.NewSubmittedTask(ec, ec.Message), nil) {
				return
			}
		}
		text := ""
		if len(ec.Message.Parts) > 0 {
			text = ec.Message.Parts[0].Text()
		}
		if len(text) > 7 && text[:7] == "stream " {
			x.g.wait(text)
			for range streamUpdates {
				if !yield(sdk.NewStatusUpdateEvent(ec, sdk.TaskStateWorking, nil), nil) {
					return
				}
			}
			yield(sdk.NewStatusUpdateEvent(ec, sdk.TaskStateCompleted, nil), nil)
			return
		}
		if !yield(sdk.NewStatusUpdateEvent(ec, sdk.TaskStateWorking, nil), nil) {
			return
		}
		if !yield(sdk.NewArtifactEvent(ec, sdk.NewTextPart(text)), nil) {
			return
		}
		yield(sdk.NewStatusUpdateEvent(ec, sdk.TaskStateCompleted, nil), nil)
	}
}

func (x *sdkExecutor) Cancel(ctx context.Context, ec *a2asrv.ExecutorContext) iter.Seq2[sdk.Event, error] {
	return func(yield func(sdk.Event, error) bool) {
		yield(sdk.NewStatusUpdateEvent(ec, sdk.TaskStateCanceled, nil), nil)
	}
}

func sdkBackend() *backend {
	g := &gates{}
	h := a2asrv.NewHandler(&sdkExecutor{g: g})
	return &backend{
		name: "sdk",
		send: func(ctx context.Context, text string) error {
			res, err := h.SendMessage(ctx, &sdk.SendMessageRequest{Message: sdk.NewMessage(sdk.MessageRoleUser, sdk.NewTextPart(text))})
			if err != nil {
				return err
			}
			task, ok := res.(*sdk.Task)
			if !ok || task.Status.State != sdk.TaskStateCompleted || len(task.Artifacts) != 1 {
				return fmt.Errorf("unexpected result %#v", res)
			}
			return nil
		},
		stream: func(ctx context.Context, n, subs int) (int, error) {
			key := nextKey("stream")
			release := g.add(key)
			res, err := h.SendMessage(ctx, &sdk.SendMessageRequest{
				Message: sdk.NewMessage(sdk.MessageRoleUser, sdk.NewTextPart(key)),
				Config:  &sdk.SendMessageConfig{ReturnImmediately: true},
			})
			if err != nil {
				return 0, err
			}
			task := res.(*sdk.Task)
			var total atomic.Int64
			var ready, wg sync.WaitGroup
			errs := make(chan error, subs)
			for range subs {
				ready.Add(1)
				wg.Go(func() {
					count := 0
					first := true
					for _, err := range h.SubscribeToTask(ctx, &sdk.SubscribeToTaskRequest{ID: task.ID}) {
						if first {
							ready.Done() // the snapshot: the subscriber is attached
							first = false
						}
						if err != nil {
							errs <- err
							return
						}
						count++
					}
					total.Add(int64(count))
				})
			}
			ready.Wait()
			close(release)
			wg.Wait()
			close(errs)
			for err := range errs {
				return 0, err
			}
			return int(total.Load()), nil
		},
		close: func() {},
	}
}

func backends(b *testing.B, withBolt, withStreamVariants bool) []func() *backend {
	out := []func() *backend{
		func() *backend { return engineBackend(b, "engine-mem", engine.NewMemoryStore(), 64) },
		func() *backend { return engineBackend(b, "engine-mem-max4", engine.NewMemoryStore(), 4) },
		sdkBackend,
	}
	if withStreamVariants {
		out = append(out, func() *backend {
			return engineBackendBuf(b, "engine-mem-buf1024", engine.NewMemoryStore(), 64, 1024)
		})
	}
	if withBolt {
		out = append(out, func() *backend {
			s, err := localstore.Open(filepath.Join(b.TempDir(), "tasks.db"), localstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return engineBackend(b, "engine-bolt", s, 64)
		})
	}
	return out
}

// BenchmarkSend: blocking sends of echo tasks (one artifact, then
// complete), from 1 and from 64 concurrent senders. tasks/s is the figure
// to compare.
func BenchmarkSend(b *testing.B) {
	for _, senders := range []int{1, 64} {
		for _, mk := range backends(b, true, false) {
			be := mk()
			b.Run(fmt.Sprintf("senders=%d/%s", senders, be.name), func(b *testing.B) {
				ctx := context.Background()
				var next atomic.Int64
				var wg sync.WaitGroup
				errs := make(chan error, senders)
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				for range senders {
					wg.Go(func() {
						for next.Add(1) <= int64(b.N) {
							if err := be.send(ctx, "hello"); err != nil {
								errs <- err
								return
							}
						}
					})
				}
				wg.Wait()
				elapsed := time.Since(start)
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "tasks/s")
			})
			be.close()
		}
	}
}

// BenchmarkStream: one op is one task publishing 10,000 status updates to
// 1 or 100 subscribers; events/s counts deliveries (updates x subscribers).
func BenchmarkStream(b *testing.B) {
	for _, subs := range []int{1, 100} {
		for _, mk := range backends(b, true, true) {
			be := mk()
			if be.name == "engine-mem-max4" {
				be.close()
				continue // the same as engine-mem for one task at a time
			}
			b.Run(fmt.Sprintf("subscribers=%d/%s", subs, be.name), func(b *testing.B) {
				ctx := context.Background()
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				delivered := 0
				for range b.N {
					n, err := be.stream(ctx, streamUpdates, subs)
					if err != nil {
						b.Fatal(err)
					}
					if n < streamUpdates*subs {
						b.Fatalf("delivered %d events, want at least %d", n, streamUpdates*subs)
					}
					delivered += n
				}
				b.ReportMetric(float64(delivered)/time.Since(start).Seconds(), "events/s")
			})
			be.close()
		}
	}
}

// BenchmarkListFirstPage: the first page of List with 1,000 and 1,000,000
// terminal tasks in the memory store; the two should cost the same.
func BenchmarkListFirstPage(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		store := engine.NewMemoryStore()
		fill(b, store, n)
		e, err := engine.New(store, engine.ExecutorFunc(func(context.Context, *engine.Request, engine.Publisher) error { return nil }), engine.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				page, err := e.List(ctx, a2a.ListRequest{})
				if err != nil || len(page.Tasks) != a2a.DefaultPageSize {
					b.Fatalf("List: %d tasks, %v", len(page.Tasks), err)
				}
			}
		})
		e.Close()
	}
}

// fill commits n completed tasks directly, one event each.
func fill(b *testing.B, s engine.Store, n int) {
	b.Helper()
	ctx := context.Background()
	// Recent enough that the engine's retention sweeper keeps them.
	base := time.Now().Add(-time.Duration(n) * time.Millisecond)
	for i := range n {
		id := fmt.Sprintf("task-%08d", i)
		at := base.Add(time.Duration(i) * time.Millisecond)
		task := &a2a.Task{ID: id, ContextID: "ctx", Status: a2a.TaskStatus{State: a2a.StateCompleted, Timestamp: at}}
		err := s.Commit(ctx, &engine.Commit{
			Record: &engine.Record{Task: task, Created: at, Updated: at, LastSeq: 1},
			Events: []engine.LoggedEvent{{TaskID: id, Seq: 1, Cursor: uint64(i + 1), Time: at, Event: task}},
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
