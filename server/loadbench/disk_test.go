//go:build linux

package loadbench

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/agents"
	"github.com/a2atop/a2atop/internal/testkit/loadgen"
	"github.com/a2atop/a2atop/localstore"
	"github.com/google/uuid"
)

// BenchmarkDiskSync: the floor under one durable task on this disk, for
// reading the concurrency-1 figures: a 4 KiB write + fsync, and a bbolt
// commit of one small put (bbolt syncs twice per commit: the pages, then
// the meta page), each back to back in the directory the stores of the
// other benchmarks use. Beside them, what the engine adds on top: blocking
// "echo hi" sends in process (no HTTP), one at a time, on the memory store
// and on a bbolt store (one fdatasync per commit, of its redo log).
func BenchmarkDiskSync(b *testing.B) {
	for _, name := range []string{"engine-echo-memory", "engine-echo-bbolt"} {
		b.Run(name, func(b *testing.B) {
			var store engine.Store = engine.NewMemoryStore()
			if name == "engine-echo-bbolt" {
				s, err := localstore.Open(filepath.Join(b.TempDir(), "tasks.db"), localstore.Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				store = s
			}
			eng, err := engine.New(store, agents.NewDemo(), engine.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer eng.Close()
			report(b, func(ctx context.Context) error {
				res, err := eng.Send(ctx, &a2a.SendRequest{Message: a2a.Message{ID: uuid.NewString(), Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart("echo hi")}}})
				if err == nil && (res.Task == nil || res.Task.Status.State != a2a.StateCompleted) {
					err = fmt.Errorf("echo answered %+v", res)
				}
				return err
			}, "sends/s")
		})
	}
	b.Run("write4k+fdatasync", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "sync"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		page := make([]byte, 4096)
		var i atomic.Int64
		report(b, func(context.Context) error {
			if _, err := f.WriteAt(page, (i.Add(1)%64)*4096); err != nil {
				return err
			}
			return f.Sync()
		}, "syncs/s")
	})
	b.Run("bbolt-commit", func(b *testing.B) {
		db, err := bolt.Open(filepath.Join(b.TempDir(), "bolt.db"), 0o600, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		value := make([]byte, 600)
		var i atomic.Uint64
		report(b, func(context.Context) error {
			return db.Update(func(tx *bolt.Tx) error {
				bk, err := tx.CreateBucketIfNotExists([]byte("b"))
				if err != nil {
					return err
				}
				return bk.Put(binary.BigEndian.AppendUint64(nil, i.Add(1)), value)
			})
		}, "commits/s")
	})
}

// report runs op b.N times back to back and reports its rate and latency.
func report(b *testing.B, op func(context.Context) error, unit string) {
	b.Helper()
	b.ResetTimer()
	stats, err := loadgen.Run(context.Background(), 1, b.N, op)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(stats.Rate(), unit)
	b.ReportMetric(loadgen.Millis(stats.Percentile(0.50)), "p50-ms")
	b.ReportMetric(loadgen.Millis(stats.Percentile(0.99)), "p99-ms")
}
