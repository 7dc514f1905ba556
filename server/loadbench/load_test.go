//go:build linux

package loadbench

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a2atop/a2atop/internal/testkit/loadgen"
)

// streams is the number of concurrent streams of BenchmarkStreamEvents.
const streams = 64

// listPageSize is the ListTasks page the list figures ask for.
const listPageSize = 50

// started is a target's running child with a client sized for it.
type started struct {
	target
	child  *child
	client *loadgen.Client
}

func startAll(b *testing.B, conns int) []started {
	var all []started
	for _, tg := range targets() {
		c := tg.start(b)
		cl := loadgen.New(c.url, conns)
		b.Cleanup(cl.Close)
		all = append(all, started{tg, c, cl})
	}
	return all
}

// BenchmarkBlockingSend: blocking SendMessage "echo hi" at concurrency 1,
// 16 and 64, each server side by side at each concurrency. b.N sends per
// sub-benchmark; reports sends/s and p50/p99 latency.
func BenchmarkBlockingSend(b *testing.B) {
	all := startAll(b, 64)
	for _, conc := range []int{1, 16, 64} {
		for _, s := range all {
			b.Run(fmt.Sprintf("c%d/%s", conc, s.name), func(b *testing.B) {
				stats, err := loadgen.Run(context.Background(), conc, b.N, func(ctx context.Context) error {
					return s.client.SendCompleted(ctx, "echo hi")
				})
				b.StopTimer()
				if err != nil {
					b.Fatalf("%s: after %d sends: %v", s.name, stats.Ops, err)
				}
				b.ReportMetric(stats.Rate(), "sends/s")
				b.ReportMetric(loadgen.Millis(stats.Percentile(0.50)), "p50-ms")
				b.ReportMetric(loadgen.Millis(stats.Percentile(0.99)), "p99-ms")
			})
		}
	}
}

// BenchmarkStreamEvents: rounds of 64 concurrent SendStreamingMessage
// streams of "burst N" (N working updates, then completed), b.N rounds.
// Reports the events/s the clients received and the p99 stream duration.
func BenchmarkStreamEvents(b *testing.B) {
	burst := envInt(b, envBurst, 500)
	cmd := fmt.Sprintf("burst %d", burst)
	all := startAll(b, streams)
	for _, s := range all {
		b.Run(s.name, func(b *testing.B) {
			var events int
			var lat []time.Duration
			start := time.Now()
			for range b.N {
				counts := make(chan int, streams)
				stats, err := loadgen.Run(context.Background(), streams, streams, func(ctx context.Context) error {
					n, err := s.client.Stream(ctx, cmd)
					counts <- n
					return err
				})
				if err != nil {
					b.Fatalf("%s: %v", s.name, err)
				}
				close(counts)
				for n := range counts {
					if n < burst {
						b.Fatalf("%s: a stream of %q held %d events", s.name, cmd, n)
					}
					events += n
				}
				lat = append(lat, stats.Latencies...)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			all := loadgen.Stats{Ops: len(lat), Latencies: lat}
			slices.Sort(all.Latencies)
			b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
			b.ReportMetric(loadgen.Millis(all.Percentile(0.99)), "stream-p99-ms")
		})
	}
}

// BenchmarkEchoStreams: SendStreamingMessage "echo hi" (the task, working,
// the artifact, completed: 4 events on every server), 64 streams at a time,
// b.N streams. Reports the events/s the clients received and the p99
// stream duration.
func BenchmarkEchoStreams(b *testing.B) {
	all := startAll(b, streams)
	for _, s := range all {
		b.Run(s.name, func(b *testing.B) {
			var events atomic.Int64
			stats, err := loadgen.Run(context.Background(), streams, b.N, func(ctx context.Context) error {
				n, err := s.client.Stream(ctx, "echo hi")
				events.Add(int64(n))
				if err == nil && n < 4 {
					err = fmt.Errorf("an echo stream held %d events, want 4", n)
				}
				return err
			})
			b.StopTimer()
			if err != nil {
				b.Fatalf("%s: %v", s.name, err)
			}
			b.ReportMetric(float64(events.Load())/stats.Elapsed.Seconds(), "events/s")
			b.ReportMetric(stats.Rate(), "streams/s")
			b.ReportMetric(loadgen.Millis(stats.Percentile(0.99)), "stream-p99-ms")
		})
	}
}

// BenchmarkStoredTasks: one server at a time, filled by blocking echo
// sends (64 concurrent) to the few-tasks count, then to the many-tasks
// count. At each: the server's resident memory, and the latency of
// ListTasks' first page (pageSize 50, b.N sequential calls). At the many
// count it also reports the bytes of RSS each added task cost.
func BenchmarkStoredTasks(b *testing.B) {
	many := envInt(b, envTasks, 100_000)
	few := envInt(b, envFewTasks, 1000)
	if few >= many {
		b.Fatalf("%s=%d must be below %s=%d", envFewTasks, few, envTasks, many)
	}
	for _, tg := range targets() {
		if tg.name == "serve-bbolt-before" {
			continue // a before/after comparison of speed only
		}
		// One server at a time: the fill uses the whole machine, and
		// each server's figures are its own.
		c := tg.start(b)
		client := loadgen.New(c.url, 64)
		stored := 0
		var fewRSS int64
		for _, count := range []int{few, many} {
			b.Run(fmt.Sprintf("%s/tasks=%d", tg.name, count), func(b *testing.B) {
				b.StopTimer()
				if stored < count {
					st, err := loadgen.Run(context.Background(), 64, count-stored, func(ctx context.Context) error {
						return client.SendCompleted(ctx, "echo stored")
					})
					stored += st.Ops
					if err != nil {
						b.Fatalf("%s: fill to %d: %v", tg.name, count, err)
					}
					b.Logf("%s: filled %d tasks at %.0f sends/s", tg.name, st.Ops, st.Rate())
				}
				b.StartTimer()
				stats, err := loadgen.Run(context.Background(), 1, b.N, func(ctx context.Context) error {
					n, err := client.ListFirstPage(ctx, listPageSize)
					if err == nil && n != listPageSize {
						err = fmt.Errorf("the first page held %d tasks, want %d", n, listPageSize)
					}
					return err
				})
				b.StopTimer()
				if err != nil {
					b.Fatalf("%s: ListTasks: %v", tg.name, err)
				}
				mem, err := loadgen.ProcessMemory(c.pid())
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(loadgen.Millis(stats.Percentile(0.50)), "list-p50-ms")
				b.ReportMetric(loadgen.Millis(stats.Percentile(0.99)), "list-p99-ms")
				b.ReportMetric(float64(mem.RSS)/(1<<20), "rss-MB")
				b.ReportMetric(float64(mem.Anon)/(1<<20), "anon-MB")
				if count == few {
					fewRSS = mem.RSS
				} else if fewRSS > 0 {
					b.ReportMetric(float64(mem.RSS-fewRSS)/float64(count-few), "bytes/task")
				}
			})
		}
		client.Close()
		c.stop()
	}
}

// TestEachServerSmoke runs each server for a few requests of every kind
// the benchmarks make, so that the benchmarks' plumbing is checked by the
// ordinary test run.
func TestEachServerSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the a2atop binary")
	}
	for _, tg := range targets() {
		t.Run(tg.name, func(t *testing.T) {
			c := tg.start(t)
			client := loadgen.New(c.url, 4)
			defer client.Close()
			ctx := context.Background()
			if _, err := loadgen.Run(ctx, 2, 4, func(ctx context.Context) error { return client.SendCompleted(ctx, "echo hi") }); err != nil {
				t.Fatal(err)
			}
			n, err := client.Stream(ctx, "burst 3")
			if err != nil {
				t.Fatal(err)
			}
			// The task, three working updates, the completion; our engine
			// may add its own working update when the run starts.
			if n < 5 || n > 6 {
				t.Fatalf("burst 3 streamed %d events", n)
			}
			if n, err := client.ListFirstPage(ctx, 3); err != nil || n != 3 {
				t.Fatalf("ListTasks: %d tasks, %v", n, err)
			}
			if mem, err := loadgen.ProcessMemory(c.pid()); err != nil || mem.RSS <= 0 {
				t.Fatalf("memory: %+v, %v", mem, err)
			}
		})
	}
}
