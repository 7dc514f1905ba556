package localstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/agents"
	"github.com/a2atop/a2atop/internal/testkit/loadgen"
	"github.com/google/uuid"
)

// BenchmarkEchoTaskBytes fills one store through the engine and the demo
// agent with blocking "echo" sends (64 at a time, durable, through the redo
// log and its checkpoints), as `a2atop serve` stores them, and reports the
// file's bytes per task at 1k, 10k and 100k tasks. At each count it then
// makes b.N durable echo sends one at a time and reports the pages each
// commit wrote (bbolt's TxStats, meta page included) beside the send rate.
// ns/op is the time of one durable send.
//
//	go test -run '^$' -bench EchoTaskBytes -benchtime 200x ./localstore
func BenchmarkEchoTaskBytes(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "tasks.db")
	stored := 0
	for _, count := range []int{1000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("tasks=%d", count), func(b *testing.B) {
			ctx := context.Background()
			s, err := Open(path, Options{})
			if err != nil {
				b.Fatal(err)
			}
			eng, err := engine.New(s, agents.NewDemo(), engine.Options{})
			if err != nil {
				b.Fatal(err)
			}
			var st loadgen.Stats
			if count > stored {
				st, err = loadgen.Run(ctx, 64, count-stored, func(ctx context.Context) error { return echoSend(ctx, eng) })
				stored += st.Ops
			}
			if err := eng.Close(); err != nil {
				b.Fatal(err)
			}
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			if err != nil {
				b.Fatalf("fill to %d: %v", count, err)
			}
			info, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			fileBytesPerTask := float64(info.Size()) / float64(stored)

			// Durable sends, one at a time.
			if s, err = Open(path, Options{}); err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if eng, err = engine.New(s, agents.NewDemo(), engine.Options{}); err != nil {
				b.Fatal(err)
			}
			defer eng.Close()
			before := s.db.Stats().TxStats
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if err := echoSend(ctx, eng); err != nil {
					b.Fatal(err)
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			stored += b.N
			after := s.db.Stats().TxStats
			// Write counts each page (or run of overflow pages) written,
			// the meta page included.
			b.ReportMetric(float64(after.GetWrite()-before.GetWrite())/float64(b.N), "pages/commit")
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "sends/s")
			b.ReportMetric(fileBytesPerTask, "file-bytes/task")
		})
	}
}

// echoSend is one blocking "echo" send with a fresh message id, as the
// load generator makes them.
func echoSend(ctx context.Context, eng *engine.Engine) error {
	res, err := eng.Send(ctx, &a2a.SendRequest{Message: a2a.Message{ID: uuid.NewString(), Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart("echo hi")}}})
	if err != nil {
		return err
	}
	if res.Task == nil || res.Task.Status.State != a2a.StateCompleted {
		return fmt.Errorf("echo answered %+v", res)
	}
	return nil
}
