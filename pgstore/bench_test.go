package pgstore

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/agents"
	"github.com/a2atop/a2atop/internal/testkit/pgtest"
	"github.com/a2atop/a2atop/localstore"
)

func percentile(d []time.Duration, p float64) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// BenchmarkWatchLatency: a commit on replica A's store until replica B's
// Watch delivers it (NOTIFY, then B reads the log by cursor).
func BenchmarkWatchLatency(b *testing.B) {
	ctx := context.Background()
	srv := pgtest.Start(b, pgtest.Options{Durable: true})
	dsn := srv.NewDatabase(b)
	sa := openTest(b, dsn)
	defer sa.Close()
	eb := startReplica(b, dsn)
	w, err := eb.Watch(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	// Measured from the Commit call (an upper bound: it includes the
	// commit's own WAL flush) and from its return.
	lat := make([]time.Duration, 0, b.N)
	afterAck := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if err := sa.Commit(ctx, record(fmt.Sprintf("w%d", i), a2a.StateSubmitted, 1, "x")); err != nil {
			b.Fatal(err)
		}
		committed := time.Now()
		if _, err := w.Recv(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		afterAck = append(afterAck, time.Since(committed))
	}
	b.StopTimer()
	b.ReportMetric(float64(percentile(lat, 0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(percentile(afterAck, 0.99).Microseconds())/1000, "p99-after-ack-ms")
}

// BenchmarkListFirstPage: the first page of 50 (with its total) at 1k and
// 100k tasks: flat, from the index and the counters.
func BenchmarkListFirstPage(b *testing.B) {
	ctx := context.Background()
	srv := pgtest.Start(b, pgtest.Options{})
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
			s := openTest(b, srv.NewDatabase(b))
			defer s.Close()
			fill(b, s, n)
			b.ResetTimer()
			for range b.N {
				res, err := s.List(ctx, engine.ListQuery{PageSize: 50})
				if err != nil || len(res.Records) != 50 || res.TotalSize != n {
					b.Fatalf("List: %d records, total %d, %v", len(res.Records), res.TotalSize, err)
				}
			}
		})
	}
}

func fill(b *testing.B, s *Store, n int) {
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 64 {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				if err := s.Commit(context.Background(), record(fmt.Sprintf("t%07d", i), a2a.StateCompleted, 1, "done")); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkBlockingSends: blocking `echo` sends spread over R engines on
// one database (R replicas, in process), at concurrency c; beside one
// engine on a bbolt file. sends/s and p99 per send.
func BenchmarkBlockingSends(b *testing.B) {
	srv := pgtest.Start(b, pgtest.Options{Durable: true})
	for _, c := range []int{16, 64} {
		b.Run(fmt.Sprintf("bbolt/c=%d", c), func(b *testing.B) {
			st, err := localstore.Open(b.TempDir()+"/tasks.db", localstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			e, err := engine.New(st, agents.NewDemo(), engine.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			defer e.Close()
			runSends(b, []*engine.Engine{e}, c)
		})
		for _, r := range []int{1, 2, 3} {
			b.Run(fmt.Sprintf("pg-replicas=%d/c=%d", r, c), func(b *testing.B) {
				dsn := srv.NewDatabase(b)
				var es []*engine.Engine
				for range r {
					es = append(es, startReplica(b, dsn))
				}
				runSends(b, es, c)
			})
		}
	}
	// Queued: 64 sends on 8 cluster-wide slots, so most sends queue (a
	// waiter each, a queue-limit check in each queueing commit).
	for _, r := range []int{1, 2} {
		b.Run(fmt.Sprintf("pg-replicas=%d/c=64/queued", r), func(b *testing.B) {
			dsn := srv.NewDatabase(b)
			var es []*engine.Engine
			for range r {
				s := openTest(b, dsn)
				e, err := engine.New(s, agents.NewDemo(), engine.Options{MaxRunning: 8, HighReserve: -1, MaxQueued: 1000})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() {
					e.Close()
					s.Close()
				})
				es = append(es, e)
			}
			runSends(b, es, 64)
		})
	}
}

func runSends(b *testing.B, es []*engine.Engine, c int) {
	var next atomic.Int64
	lat := make([][]time.Duration, c)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range c {
		wg.Go(func() {
			e := es[w%len(es)]
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				res, err := e.Send(context.Background(), &a2a.SendRequest{Message: userText("echo hi")})
				if err != nil || res.Task == nil || res.Task.Status.State != a2a.StateCompleted {
					b.Errorf("send: %v %v", res, err)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "sends/s")
	b.ReportMetric(float64(percentile(all, 0.99).Microseconds())/1000, "p99-ms")
}
