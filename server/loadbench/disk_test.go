//go:build linux

package loadbench

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/a2atop/a2atop/internal/testkit/loadgen"
)

// BenchmarkDiskSync: the floor under one durable task on this disk, for
// reading the concurrency-1 figures: a 4 KiB write + fdatasync, and a
// bbolt commit of one small put (bbolt syncs twice per commit: the pages,
// then the meta page), each back to back in the directory the stores of
// the other benchmarks use.
func BenchmarkDiskSync(b *testing.B) {
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
