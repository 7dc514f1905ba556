//go:build linux

package clusterbench

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/client"
	"github.com/a2atop/a2atop/internal/testkit/loadgen"
	"github.com/a2atop/a2atop/internal/testkit/pgtest"
)

// BenchmarkWatchLatencyHTTP: a task created over HTTP on replica A (a
// child process) until its first event arrives on the /events SSE feed
// of replica B (another child process on the same database), read with
// a2atop's client. From the send (an upper bound: it includes the HTTP
// request and the creation's commit, WAL flush and all) and from the
// send's answer (the commit acknowledged; 0 when the event came first).
// Target: p99 < 50 ms (the SDKs' cluster modes poll every 500 ms).
func BenchmarkWatchLatencyHTTP(b *testing.B) {
	ctx := context.Background()
	srv := pgtest.Start(b, pgtest.Options{Durable: true})
	dsn := srv.NewDatabase(b)
	a := startChild(b, "pg", dsn, 10*time.Second)
	nodeB := startChild(b, "pg", dsn, 10*time.Second)
	sender := loadgen.New(a.url, 1)
	defer sender.Close()
	cl, err := client.New(ctx, nodeB.url, client.Options{NoJournal: true})
	if err != nil {
		b.Fatal(err)
	}
	if !cl.LiveFeed() {
		b.Fatal("replica B's card advertises no /events feed")
	}
	feedCtx, stopFeed := context.WithCancel(ctx)
	defer stopFeed()
	w, err := cl.Watch(feedCtx, "")
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	seen := newArrivals()
	go seen.follow(w)

	// Warm up: connections, the feed, both replicas' caches.
	for range 20 {
		res, err := sender.Send(ctx, "echo warm", true)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := seen.wait(res.TaskID); err != nil {
			b.Fatal(err)
		}
	}
	fromSend := make([]time.Duration, 0, b.N)
	fromAck := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		res, err := sender.Send(ctx, "echo hi", true)
		if err != nil {
			b.Fatal(err)
		}
		acked := time.Now()
		at, err := seen.wait(res.TaskID)
		if err != nil {
			b.Fatal(err)
		}
		fromSend = append(fromSend, at.Sub(start))
		fromAck = append(fromAck, max(0, at.Sub(acked)))
	}
	b.StopTimer()
	b.ReportMetric(millis(quantile(fromSend, 0.5)), "p50-ms")
	b.ReportMetric(millis(quantile(fromSend, 0.99)), "p99-ms")
	b.ReportMetric(millis(quantile(fromAck, 0.5)), "p50-after-ack-ms")
	b.ReportMetric(millis(quantile(fromAck, 0.99)), "p99-after-ack-ms")
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func quantile(d []time.Duration, p float64) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// arrivals records when each task's first event came off the feed.
type arrivals struct {
	mu    sync.Mutex
	first map[string]time.Time
	err   error
	wake  chan struct{} // closed and replaced on every change
}

func newArrivals() *arrivals {
	return &arrivals{first: map[string]time.Time{}, wake: make(chan struct{})}
}

// follow reads the feed until it ends (the benchmark closes it).
func (a *arrivals) follow(w a2a.Stream) {
	for {
		ev, err := w.Recv()
		now := time.Now()
		a.mu.Lock()
		if err != nil {
			a.err = err
		} else if id, _ := ev.Event.TaskInfo(); id != "" {
			if _, ok := a.first[id]; !ok {
				a.first[id] = now
			}
		}
		close(a.wake)
		a.wake = make(chan struct{})
		a.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// wait returns when id's first event arrived, once it has (or the feed's
// error, or a timeout error after a minute).
func (a *arrivals) wait(id string) (time.Time, error) {
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	for {
		a.mu.Lock()
		at, ok := a.first[id]
		err, wake := a.err, a.wake
		a.mu.Unlock()
		if ok {
			return at, nil
		}
		if err != nil {
			return time.Time{}, fmt.Errorf("feed ended before task %s's event: %w", id, err)
		}
		select {
		case <-wake:
		case <-timeout.C:
			return time.Time{}, fmt.Errorf("task %s's event never came on the feed", id)
		}
	}
}
