package client

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a2atop/a2atop/internal/testkit/a2apeer"
)

// BenchmarkWatchIdle measures what an idle Watch costs the agent: an a2a-go
// v2.4.0 peer holding many tasks (A2ATOP_BENCH_TASKS, default 50000) runs in
// its own process, a client Watch does its first load, and then nothing
// changes for A2ATOP_BENCH_IDLE (default 60s). Reported: the ListTasks
// requests during the idle time (list-req/poll is per WatchInterval, 2s)
// and the agent process's CPU as a share of one core.
//
// Run: A2ATOP_BENCH_IDLE=60s go test -run '^$' -bench WatchIdle -benchtime 1x ./client/
func BenchmarkWatchIdle(b *testing.B) {
	tasks := envInt(b, "A2ATOP_BENCH_TASKS", 50000)
	idle := 60 * time.Second
	if s := os.Getenv("A2ATOP_BENCH_IDLE"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			b.Fatalf("A2ATOP_BENCH_IDLE: %v", err)
		}
		idle = d
	}
	for i := 0; i < b.N; i++ {
		url, pid := startPeerProcess(b, tasks)
		var lists atomic.Int64
		hc := &http.Client{Transport: countLists{next: http.DefaultTransport, n: &lists}}
		o := Options{HTTPClient: hc, JournalPath: filepath.Join(b.TempDir(), "journal.db"), Protocol: "1.0"}
		ctx := context.Background()
		c, err := New(ctx, url, o)
		if err != nil {
			b.Fatal(err)
		}
		loadStart := time.Now()
		w, err := c.Watch(ctx, "")
		if err != nil {
			b.Fatal(err)
		}
		loaded := lists.Load()
		b.Logf("first load: %d ListTasks in %s", loaded, time.Since(loadStart).Round(time.Millisecond))
		cpu0 := procCPU(b, pid)
		t0 := time.Now()
		time.Sleep(idle)
		cpu := procCPU(b, pid) - cpu0
		elapsed := time.Since(t0)
		idleLists := lists.Load() - loaded
		w.Close()
		c.Close()
		polls := float64(elapsed) / float64(2*time.Second)
		b.ReportMetric(float64(idleLists), "list-req")
		b.ReportMetric(float64(idleLists)/polls, "list-req/poll")
		b.ReportMetric(100*cpu.Seconds()/elapsed.Seconds(), "agent-cpu-%")
	}
}

// TestBenchPeerProcess is the benchmark's agent process; it runs only when
// BenchmarkWatchIdle starts it.
func TestBenchPeerProcess(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("A2ATOP_BENCH_PEER"))
	if err != nil {
		t.Skip("only run by BenchmarkWatchIdle")
	}
	peer := a2apeer.Start(t, a2apeer.Options{})
	if err := peer.Seed(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("PEER %s\n", peer.URL())
	// Serve until the benchmark closes stdin.
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
}

func startPeerProcess(b *testing.B, tasks int) (string, int) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchPeerProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "A2ATOP_BENCH_PEER="+strconv.Itoa(tasks))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if url, ok := strings.CutPrefix(sc.Text(), "PEER "); ok {
			go func() {
				for sc.Scan() {
				}
			}()
			return url, cmd.Process.Pid
		}
	}
	b.Fatalf("peer process ended before serving: %v", sc.Err())
	return "", 0
}

// procCPU is a process's user+system CPU time, from /proc.
func procCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Skipf("process CPU needs /proc: %v", err)
	}
	// Fields after the ")" that ends the command name; utime and stime are
	// fields 14 and 15 of the whole line, in clock ticks (100 per second).
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

func envInt(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	return n
}

// countLists counts the ListTasks requests that go through it.
type countLists struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (c countLists) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.GetBody != nil {
		if body, err := r.GetBody(); err == nil {
			buf := make([]byte, 256)
			k, _ := body.Read(buf)
			body.Close()
			if strings.Contains(string(buf[:k]), `"ListTasks"`) {
				c.n.Add(1)
			}
		}
	}
	return c.next.RoundTrip(r)
}
