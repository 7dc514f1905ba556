//go:build linux

package clusterbench

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a2atop/a2atop/internal/testkit/loadgen"
	"github.com/a2atop/a2atop/internal/testkit/pgtest"
)

// BenchmarkSends: blocking `echo` sends over HTTP (v1.0 JSON-RPC) at
// c=16 and c=64, spread round-robin over 1, 2 and 3 pg replicas (child
// processes, one durable PostgreSQL), beside one bbolt server and the
// a2a-go SDK server; sends/s, p99 and the RSS of each server process.
func BenchmarkSends(b *testing.B) {
	srv := pgtest.Start(b, pgtest.Options{Durable: true})
	type target struct {
		name  string
		start func(b *testing.B) []*child
	}
	targets := []target{
		{"sdk", func(b *testing.B) []*child { return []*child{startChild(b, "sdk", "", 0)} }},
		{"bbolt", func(b *testing.B) []*child {
			return []*child{startChild(b, "bbolt", filepath.Join(b.TempDir(), "tasks.db"), 0)}
		}},
	}
	for r := 1; r <= 3; r++ {
		targets = append(targets, target{fmt.Sprintf("pg-replicas=%d", r), func(b *testing.B) []*child {
			dsn := srv.NewDatabase(b)
			var cs []*child
			for range r {
				cs = append(cs, startChild(b, "pg", dsn, 10*time.Second))
			}
			return cs
		}})
	}
	for _, c := range []int{16, 64} {
		for _, tg := range targets {
			b.Run(fmt.Sprintf("%s/c=%d", tg.name, c), func(b *testing.B) {
				nodes := tg.start(b)
				clients := make([]*loadgen.Client, len(nodes))
				for i, n := range nodes {
					clients[i] = loadgen.New(n.url, c)
					defer clients[i].Close()
				}
				var next atomic.Int64
				op := func(ctx context.Context) error {
					return clients[next.Add(1)%int64(len(clients))].SendCompleted(ctx, "echo hi")
				}
				// Warm up connections and caches.
				if _, err := loadgen.Run(context.Background(), c, 2*c, op); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				st, err := loadgen.Run(context.Background(), c, b.N, op)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(st.Rate(), "sends/s")
				b.ReportMetric(loadgen.Millis(st.Percentile(0.99)), "p99-ms")
				var rss int64
				for _, n := range nodes {
					m, err := loadgen.ProcessMemory(n.pid())
					if err == nil {
						rss = max(rss, m.RSS)
					}
				}
				b.ReportMetric(float64(rss)/(1<<20), "max-RSS-MiB/replica")
			})
		}
	}
}
