package loadgen

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a2atop/a2atop/internal/testkit/a2apeer"
)

// The client against the a2a-go SDK server: every request kind it makes.
func TestClientAgainstSDKPeer(t *testing.T) {
	peer := a2apeer.Start(t, a2apeer.Options{})
	c := New(peer.URL(), 4)
	defer c.Close()
	ctx := context.Background()

	if err := c.SendCompleted(ctx, "echo hi"); err != nil {
		t.Fatal(err)
	}
	r, err := c.Send(ctx, "echo later", true)
	if err != nil || r.TaskID == "" {
		t.Fatalf("non-blocking send: %+v, %v", r, err)
	}
	// Not a command: the peer answers with a Message, not a task.
	if err := c.SendCompleted(ctx, "hello"); err == nil || !strings.Contains(err.Error(), `ended ""`) {
		t.Fatalf("a reply passed as a completed task: %v", err)
	}
	events, err := c.Stream(ctx, "burst 5")
	if err != nil {
		t.Fatal(err)
	}
	// The Task, five working updates, the completion.
	if events != 7 {
		t.Fatalf("%d events, want 7", events)
	}
	if _, err := c.Stream(ctx, "fail"); err == nil {
		t.Fatal("a failed task's stream passed as completed")
	}
	stats, err := Run(ctx, 3, 10, func(ctx context.Context) error { return c.SendCompleted(ctx, "echo x") })
	if err != nil || stats.Ops != 10 {
		t.Fatalf("Run: %d ops, %v", stats.Ops, err)
	}
	n, err := c.ListFirstPage(ctx, 5)
	if err != nil || n != 5 {
		t.Fatalf("ListFirstPage: %d tasks, %v", n, err)
	}
	if err := c.call(ctx, "NoSuchMethod", map[string]any{}, nil); err == nil {
		t.Fatal("an unknown method passed")
	}
}

func TestRunStopsAtFirstError(t *testing.T) {
	var calls atomic.Int64
	boom := errors.New("boom")
	stats, err := Run(context.Background(), 4, 1000, func(ctx context.Context) error {
		if calls.Add(1) == 5 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if stats.Ops >= 1000 {
		t.Fatalf("%d ops after an error", stats.Ops)
	}
}

func TestStatsPercentile(t *testing.T) {
	var s Stats
	if s.Percentile(0.99) != 0 || s.Rate() != 0 {
		t.Fatal("empty stats are not zero")
	}
	for i := 1; i <= 100; i++ {
		s.Latencies = append(s.Latencies, time.Duration(i)*time.Millisecond)
	}
	s.Ops, s.Elapsed = 100, 2*time.Second
	if p := s.Percentile(0.5); p != 50*time.Millisecond {
		t.Fatalf("p50 = %v", p)
	}
	if p := s.Percentile(0.99); p != 99*time.Millisecond {
		t.Fatalf("p99 = %v", p)
	}
	if p := s.Percentile(1); p != 100*time.Millisecond {
		t.Fatalf("p100 = %v", p)
	}
	if s.Rate() != 50 {
		t.Fatalf("rate = %v", s.Rate())
	}
}

func TestParseStatus(t *testing.T) {
	m, err := ParseStatus([]byte("Name:\tx\nVmRSS:\t  2048 kB\nRssAnon:\t1024 kB\nRssFile:\t512 kB\n"))
	if err != nil || m.RSS != 2<<20 || m.Anon != 1<<20 || m.File != 512<<10 {
		t.Fatalf("%+v, %v", m, err)
	}
	for _, bad := range []string{"Name: x\n", "VmRSS: 12 MB\n", "VmRSS: x kB\n"} {
		if _, err := ParseStatus([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestProcessMemory(t *testing.T) {
	m, err := ProcessMemory(os.Getpid())
	if runtime.GOOS != "linux" {
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("err = %v, want ErrUnsupported", err)
		}
		return
	}
	if err != nil || m.RSS <= 0 || m.Anon <= 0 {
		t.Fatalf("%+v, %v", m, err)
	}
}
