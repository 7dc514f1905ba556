package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	sdk "github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2aclient"

	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/agents"
	"github.com/a2atop/a2atop/internal/testkit/a2apeer"
	"github.com/a2atop/a2atop/localstore"
	"github.com/a2atop/a2atop/server"
)

// benchOurs starts our server over the engine and the given store, with
// the demo agent's slow steps back to back.
func benchOurs(b *testing.B, store engine.Store) string {
	demo := agents.NewDemo()
	demo.StepInterval = time.Nanosecond
	eng, err := engine.New(store, demo, engine.Options{MaxRunning: 128})
	if err != nil {
		b.Fatal(err)
	}
	srv := server.New(eng, server.Options{})
	ts := httptest.NewServer(srv)
	b.Cleanup(func() { _ = srv.Close(); ts.Close(); _ = eng.Close(); _ = store.Close() })
	return ts.URL + "/"
}

// BenchmarkBlockingSend: blocking echo sends from the a2a-go v1.0 client
// at concurrency 1 and 16, against our server (memory and bbolt stores)
// and the a2a-go v2.4.0 SDK server with an echo executor. Reports sends/s
// and p50/p99 latency.
func BenchmarkBlockingSend(b *testing.B) {
	targets := []struct {
		name string
		url  func(b *testing.B) string
	}{
		{"ours-memory", func(b *testing.B) string { return benchOurs(b, engine.NewMemoryStore()) }},
		{"ours-bbolt", func(b *testing.B) string {
			ls, err := localstore.Open(filepath.Join(b.TempDir(), "tasks.db"), localstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return benchOurs(b, ls)
		}},
		{"sdk", func(b *testing.B) string { return a2apeer.Start(b, a2apeer.Options{}).URL() }},
	}
	for _, tg := range targets {
		for _, conc := range []int{1, 16} {
			b.Run(tg.name+"/c"+itoa(conc), func(b *testing.B) {
				url := tg.url(b)
				hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
				c, err := a2aclient.NewFromEndpoints(context.Background(),
					[]*sdk.AgentInterface{{URL: url, ProtocolBinding: sdk.TransportProtocolJSONRPC, ProtocolVersion: "1.0"}},
					a2aclient.WithJSONRPCTransport(hc))
				if err != nil {
					b.Fatal(err)
				}
				defer c.Destroy()
				var mu sync.Mutex
				lat := make([]time.Duration, 0, b.N)
				work := make(chan struct{}, b.N)
				for range b.N {
					work <- struct{}{}
				}
				close(work)
				b.ResetTimer()
				start := time.Now()
				var wg sync.WaitGroup
				for range conc {
					wg.Go(func() {
						for range work {
							t0 := time.Now()
							_, err := c.SendMessage(context.Background(), &sdk.SendMessageRequest{Message: userMsg("echo hi")})
							d := time.Since(t0)
							if err != nil {
								b.Error(err)
								return
							}
							mu.Lock()
							lat = append(lat, d)
							mu.Unlock()
						}
					})
				}
				wg.Wait()
				elapsed := time.Since(start)
				b.StopTimer()
				sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
				if len(lat) > 0 {
					b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "sends/s")
					b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
					b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
				}
			})
		}
	}
}

// BenchmarkStreamEvents: 64 concurrent SDK v1.0 streams per round, each a
// task of about 600 events sent back to back (our demo "slow 600"; the SDK
// peer's "burst 600"). Reports events/s received by the clients.
func BenchmarkStreamEvents(b *testing.B) {
	const streams, steps = 64, 600
	targets := []struct {
		name, cmd string
		url       func(b *testing.B) string
	}{
		{"ours-memory", "slow 600", func(b *testing.B) string { return benchOurs(b, engine.NewMemoryStore()) }},
		{"ours-bbolt", "slow 600", func(b *testing.B) string {
			ls, err := localstore.Open(filepath.Join(b.TempDir(), "tasks.db"), localstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return benchOurs(b, ls)
		}},
		{"sdk", "burst 600", func(b *testing.B) string { return a2apeer.Start(b, a2apeer.Options{}).URL() }},
	}
	for _, tg := range targets {
		b.Run(tg.name, func(b *testing.B) {
			url := tg.url(b)
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: streams}}
			c, err := a2aclient.NewFromEndpoints(context.Background(),
				[]*sdk.AgentInterface{{URL: url, ProtocolBinding: sdk.TransportProtocolJSONRPC, ProtocolVersion: "1.0"}},
				a2aclient.WithJSONRPCTransport(hc))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Destroy()
			var total int64
			var mu sync.Mutex
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				var wg sync.WaitGroup
				for range streams {
					wg.Go(func() {
						n := int64(0)
						for _, err := range c.SendStreamingMessage(context.Background(), &sdk.SendMessageRequest{Message: userMsg(tg.cmd)}) {
							if err != nil {
								b.Error(err)
								return
							}
							n++
						}
						mu.Lock()
						total += n
						mu.Unlock()
					})
				}
				wg.Wait()
			}
			b.StopTimer()
			if total < int64(b.N*streams*steps) {
				b.Fatalf("%d events, want at least %d", total, b.N*streams*steps)
			}
			b.ReportMetric(float64(total)/time.Since(start).Seconds(), "events/s")
		})
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
