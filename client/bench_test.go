package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2aclient"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/internal/testkit/a2apeer"
)

// The ingest benchmarks stream "burst N" (N working status updates, then
// completed) and report events/s and allocs/event for this client and for
// the a2a-go v2.4.0 SDK client, side by side:
//
//   - live: against the testpeer (a2a-go server) in this process, so the
//     figures include the server's own work (and its allocations);
//   - replay: against a plain server that writes the bytes the testpeer
//     sent for the same request, so the figures are the clients' alone.
//
// Run: go test -run '^$' -bench Ingest -benchtime 3x ./client/

const burstEvents = 2000

func benchCtx(b *testing.B) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	b.Cleanup(cancel)
	return ctx
}

// oursIngest streams one burst and returns the number of events read.
func oursIngest(ctx context.Context, c *Client, n int) (int, error) {
	s, err := c.Stream(ctx, msg(fmt.Sprintf("burst %d", n)))
	if err != nil {
		return 0, err
	}
	defer s.Close()
	count := 0
	for {
		_, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return count, nil
		}
		if err != nil {
			return count, err
		}
		count++
	}
}

func sdkIngest(ctx context.Context, c *a2aclient.Client, n int) (int, error) {
	req := &sdk.SendMessageRequest{Message: sdk.NewMessage(sdk.MessageRoleUser, sdk.NewTextPart(fmt.Sprintf("burst %d", n)))}
	count := 0
	for _, err := range c.SendStreamingMessage(ctx, req) {
		if err != nil {
			return count, err
		}
		count++
	}
	return count, nil
}

func newSDKClient(b *testing.B, url string) *a2aclient.Client {
	c, err := a2aclient.NewFromEndpoints(benchCtx(b), []*sdk.AgentInterface{{URL: url, ProtocolBinding: sdk.TransportProtocolJSONRPC, ProtocolVersion: "1.0"}})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func newOursClient(b *testing.B, url string) *Client {
	opts := Options{Protocol: "1.0", NoJournal: true}
	c, err := New(benchCtx(b), url, opts)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// runIngest runs streams concurrent streams per op and reports events/s
// and allocs/event.
func runIngest(b *testing.B, streams, perStream int, one func(ctx context.Context) (int, error)) {
	ctx := benchCtx(b)
	var total int64
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		for s := 0; s < streams; s++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := one(ctx)
				mu.Lock()
				total += int64(n)
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		if firstErr != nil {
			b.Fatal(firstErr)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	if total < int64(b.N*streams*perStream) {
		b.Fatalf("read %d events, want at least %d", total, b.N*streams*perStream)
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(total), "allocs/event")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(total), "B/event")
}

// recordBurst captures the raw SSE response of the testpeer to a v1.0
// "burst n" stream.
func recordBurst(b *testing.B, peer *a2apeer.Peer, n int) []byte {
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":"rec","method":"SendStreamingMessage","params":{"message":{"messageId":"rec-%d","role":"ROLE_USER","parts":[{"text":"burst %d"}]}}}`, n, n)
	req, _ := http.NewRequest(http.MethodPost, peer.URL(), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("A2A-Version", "1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

func replayServer(b *testing.B, raw []byte) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(raw)
	}))
	b.Cleanup(srv.Close)
	return srv.URL + "/"
}

func BenchmarkIngest(b *testing.B) {
	peer := startPeerWith(b, a2apeer.Options{})
	raw := recordBurst(b, peer, burstEvents)
	replay := replayServer(b, raw)
	for _, mode := range []struct{ name, url string }{{"live", peer.URL()}, {"replay", replay}} {
		for _, streams := range []int{1, 64} {
			per := burstEvents
			if mode.name == "live" {
				// The a2a-go server copies the whole task per event: keep
				// the live runs short.
				per = 500
				if streams > 1 {
					per = 50
				}
			}
			b.Run(fmt.Sprintf("%s/streams=%d/a2atop", mode.name, streams), func(b *testing.B) {
				c := newOursClient(b, mode.url)
				runIngest(b, streams, per, func(ctx context.Context) (int, error) { return oursIngest(ctx, c, per) })
			})
			b.Run(fmt.Sprintf("%s/streams=%d/a2a-go-sdk", mode.name, streams), func(b *testing.B) {
				c := newSDKClient(b, mode.url)
				runIngest(b, streams, per, func(ctx context.Context) (int, error) { return sdkIngest(ctx, c, per) })
			})
		}
	}
}

// BenchmarkList10k lists 10,000 tasks on a v1.0 peer, page by page (100 a
// page), as `a2atop list --url` does for a full listing.
// Run: go test -run '^$' -bench List10k -benchtime 3x ./client/
func BenchmarkList10k(b *testing.B) {
	peer := startPeerWith(b, a2apeer.Options{})
	if err := peer.Seed(benchCtx(b), 10000); err != nil {
		b.Fatal(err)
	}
	c := newOursClient(b, peer.URL())
	ctx := benchCtx(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		req := a2a.ListRequest{PageSize: a2a.MaxPageSize}
		for {
			page, err := c.List(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			n += len(page.Tasks)
			if page.NextPageToken == "" {
				break
			}
			req.PageToken = page.NextPageToken
		}
		if n != 10000 {
			b.Fatalf("listed %d tasks", n)
		}
	}
}

// BenchmarkJournalRecord records tasks (snapshot + timeline entry) in a
// journal file, one transaction (and sync) each, and reports file bytes per
// task. BenchmarkJournalRecordPoll records them as Watch does, a poll's
// worth (100) per transaction.
// Run: go test -run '^$' -bench JournalRecord -benchtime 10000x ./client/
func BenchmarkJournalRecord(b *testing.B) { benchJournal(b, 1) }

func BenchmarkJournalRecordPoll(b *testing.B) { benchJournal(b, 100) }

func benchJournal(b *testing.B, batch int) {
	path := filepath.Join(b.TempDir(), "journal.db")
	j, err := openJournal(path)
	if err != nil {
		b.Fatal(err)
	}
	defer j.close()
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	var pending []*a2a.Task
	for i := 0; i < b.N; i++ {
		t := &a2a.Task{
			ID:        fmt.Sprintf("01a20b50-%04x-7000-8000-%012x", i&0xffff, i),
			ContextID: fmt.Sprintf("01a20b50-ctx0-7000-8000-%012x", i),
			Status: a2a.TaskStatus{State: a2a.StateCompleted, Timestamp: now.Add(time.Duration(i)),
				Message: &a2a.Message{ID: "m", Role: a2a.RoleAgent, Parts: []a2a.Part{a2a.TextPart("done")}}},
			History: []a2a.Message{{ID: "u", Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart("echo hello")}}},
		}
		pending = append(pending, t)
		if len(pending) == batch || i == b.N-1 {
			if _, _, err := j.recordAll(pending); err != nil {
				b.Fatal(err)
			}
			pending = pending[:0]
		}
	}
	b.StopTimer()
	if st, err := os.Stat(path); err == nil {
		b.ReportMetric(float64(st.Size())/float64(b.N), "file-B/task")
	}
}
