//go:build unix

package cli

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	testpeer "github.com/a2atop/a2atop/internal/testkit/a2apeer"
	"github.com/a2atop/a2atop/internal/testkit/binary"
	"github.com/a2atop/a2atop/internal/testkit/loadgen"
	"github.com/a2atop/a2atop/internal/testkit/tmux"
	"github.com/a2atop/a2atop/localstore"
)

// BenchmarkFleetScale measures one dashboard (the real binary, in tmux)
// over a fleet: half `a2atop serve` processes (live feed), half a2a-go
// peers (polled), each holding A2ATOP_FLEET_TASKS tasks, plus one
// blackholed agent (a listener that accepts and never answers). It reports
// the time to the first screen of rows and to every task loaded, the
// dashboard's RSS and idle CPU, each serve agent's idle CPU, the requests
// per second each idle agent gets, how long a task sent to one agent takes
// to show while the blackholed one hangs, and the key response.
//
//	A2ATOP_FLEET_AGENTS=20 A2ATOP_FLEET_TASKS=5000 go test ./internal/cli/ -run '^$' -bench FleetScale -benchtime 1x -v
//
// It is slow (it builds stores and starts processes), so it runs only
// when asked with -bench.
func BenchmarkFleetScale(b *testing.B) {
	agents := envInt("A2ATOP_FLEET_AGENTS", 20)
	tasks := envInt("A2ATOP_FLEET_TASKS", 5000)
	bin := binary.Build(b)
	dir := b.TempDir()
	env := []string{"XDG_DATA_HOME=" + filepath.Join(dir, "data"), "A2ATOP_URL=", "A2ATOP_DB=", "A2ATOP_CONFIG=" + filepath.Join(dir, "config.yaml")}

	type agent struct {
		name, url string
		pid       int // serve agents only
		requests  *atomic.Int64
	}
	var fleet []agent
	nServe := min(envInt("A2ATOP_FLEET_SERVE", agents/2), agents)
	for i := range nServe {
		db := filepath.Join(dir, fmt.Sprintf("serve%d.db", i))
		fillStore(b, db, tasks)
		sp := startServeB(b, bin, db, env)
		fleet = append(fleet, agent{name: fmt.Sprintf("srv%d", i), url: sp.url, pid: sp.cmd.Process.Pid, requests: &atomic.Int64{}})
	}
	for i := nServe; i < agents; i++ {
		// Every request the peer gets is counted: its card's endpoint is
		// its own address, so a proxy in front would see only the card.
		n := &atomic.Int64{}
		p := testpeer.Start(b, testpeer.Options{Name: fmt.Sprintf("peer%d", i), Wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1); h.ServeHTTP(w, r) })
		}})
		if err := p.Seed(context.Background(), tasks); err != nil {
			b.Fatal(err)
		}
		fleet = append(fleet, agent{name: fmt.Sprintf("peer%d", i), url: p.URL(), requests: n})
	}
	hole := blackhole(b)

	var cfg strings.Builder
	cfg.WriteString("agents:\n")
	for _, a := range fleet {
		fmt.Fprintf(&cfg, "  %s:\n    url: %s\n", a.name, a.url)
	}
	fmt.Fprintf(&cfg, "  hole:\n    url: %s\n", hole)
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(cfg.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	names := make([]string, 0, len(fleet)+1)
	for _, a := range fleet {
		names = append(names, a.name)
	}
	names = append(names, "hole")

	for b.Loop() {
		total := agents * tasks
		start := time.Now()
		tm := tmux.Start(b, append([]string{"NO_COLOR=1"}, env...), append([]string{bin}, names...)...)
		// The first screen full of rows (the table's last line drawn).
		rowLine := regexp.MustCompile(`(?m)^[ ›◆] (srv|peer)\d+ `)
		waitScreen(b, tm, 60*time.Second, func(s string) bool { return len(rowLine.FindAllString(s, -1)) >= 30 })
		tFirst := time.Since(start)
		waitScreen(b, tm, 5*time.Minute, func(s string) bool {
			return strings.Contains(s, fmt.Sprintf("%d/%d shown", total, total)) && !strings.Contains(s, "loading")
		})
		tAll := time.Since(start)
		pid := dashboardPID(b, tm)

		// One fresh task per peer: a2apeer.Seed stamps its tasks within a few
		// milliseconds of each other, and the client's Watch polls re-list
		// everything within WatchOverlap (10 s) of the newest status; a
		// real agent's history is spread out. After this, an idle poll
		// lists only the fresh task.
		fresh := 0
		for _, a := range fleet {
			if a.pid == 0 {
				if out, err := exec.Command(bin, "send", "--url", a.url, "--no-wait", "echo", "fresh").CombinedOutput(); err != nil {
					b.Fatalf("send: %v\n%s", err, out)
				}
				fresh++
			}
		}
		total += fresh
		waitScreen(b, tm, time.Minute, func(s string) bool { return strings.Contains(s, fmt.Sprintf("%d/%d shown", total, total)) })
		time.Sleep(12 * time.Second) // past the overlap window

		// Idle: nothing changes for 10 s.
		time.Sleep(2 * time.Second)
		idle := 10 * time.Second
		cpu0 := procCPU(b, pid)
		agentCPU0 := make([]time.Duration, len(fleet))
		req0 := make([]int64, len(fleet))
		for i, a := range fleet {
			if a.pid != 0 {
				agentCPU0[i] = procCPU(b, a.pid)
			}
			req0[i] = a.requests.Load()
		}
		time.Sleep(idle)
		dashCPU := procCPU(b, pid) - cpu0
		var serveCPU time.Duration
		maxServeCPU := time.Duration(0)
		var peerRate, maxPeerRate float64
		for i, a := range fleet {
			r := float64(a.requests.Load()-req0[i]) / idle.Seconds()
			if a.pid != 0 {
				d := procCPU(b, a.pid) - agentCPU0[i]
				serveCPU += d
				maxServeCPU = max(maxServeCPU, d)
			} else {
				peerRate += r
				maxPeerRate = max(maxPeerRate, r)
			}
		}
		rss := procRSS(b, pid)

		// With the hole hanging: a task sent to one serve agent shows.
		sendStart := time.Now()
		out, err := exec.Command(bin, "send", "--url", fleet[0].url, "--no-wait", "echo", "bench-marker").CombinedOutput()
		if err != nil {
			b.Fatalf("send: %v\n%s", err, out)
		}
		waitScreen(b, tm, 30*time.Second, func(s string) bool {
			return strings.Contains(s, fmt.Sprintf("%d/%d shown", total+1, total+1))
		})
		tShow := time.Since(sendStart)

		const presses = 10
		// What reading the screen alone costs (a tmux process per capture):
		// part of every key figure below.
		c0 := time.Now()
		for range presses {
			tm.Screen()
		}
		capture := time.Since(c0) / presses
		// Key response, cursor: j/k, each until the screen changed.
		var cworst, csum time.Duration
		prev := tm.Screen()
		for i := range presses {
			key := "j"
			if i%2 == 1 {
				key = "k"
			}
			t0 := time.Now()
			tm.Keys(key)
			prev = waitScreen(b, tm, 10*time.Second, func(s string) bool { return s != prev })
			d := time.Since(t0)
			csum += d
			cworst = max(cworst, d)
		}
		// Key response, scope: agent 1 and back, each seen on screen.
		var worst, sum time.Duration
		for i := range presses {
			key, want := "1", "scope: agent srv0"
			if i%2 == 1 {
				key, want = "0", "scope: all agents"
			}
			t0 := time.Now()
			tm.Keys(key)
			waitScreen(b, tm, 10*time.Second, func(s string) bool { return strings.Contains(s, want) })
			d := time.Since(t0)
			sum += d
			worst = max(worst, d)
		}
		holeState := regexp.MustCompile(`[✗●] \d+/\d+ agents up[^│]*`).FindString(tm.Screen())
		tm.Keys("q")
		tm.WaitFor(tmux.Exited + "0")

		b.ReportMetric(tFirst.Seconds(), "s-first-rows")
		b.ReportMetric(tAll.Seconds(), "s-all-loaded")
		b.ReportMetric(float64(rss)/(1<<20), "MiB-dashboard-RSS")
		b.ReportMetric(100*dashCPU.Seconds()/idle.Seconds(), "%core-dashboard-idle")
		if nServe > 0 {
			b.ReportMetric(100*serveCPU.Seconds()/idle.Seconds()/float64(nServe), "%core-per-serve-idle")
			b.ReportMetric(100*maxServeCPU.Seconds()/idle.Seconds(), "%core-max-serve-idle")
		}
		if agents-nServe > 0 {
			b.ReportMetric(peerRate/float64(agents-nServe), "req/s-per-peer-idle")
			b.ReportMetric(maxPeerRate, "req/s-max-peer-idle")
		}
		b.ReportMetric(tShow.Seconds()*1000, "ms-send-to-screen")
		b.ReportMetric(float64(capture.Microseconds())/1000, "ms-tmux-capture")
		b.ReportMetric(float64(csum.Milliseconds())/presses, "ms-cursor-key-avg")
		b.ReportMetric(float64(cworst.Milliseconds()), "ms-cursor-key-worst")
		b.ReportMetric(float64(sum.Milliseconds())/presses, "ms-scope-key-avg")
		b.ReportMetric(float64(worst.Milliseconds()), "ms-scope-key-worst")
		b.Logf("%d agents × %d tasks + 1 blackholed; header: %q", agents, tasks, holeState)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// fillStore writes n completed tasks straight into a new bbolt store.
func fillStore(tb testing.TB, path string, n int) {
	tb.Helper()
	s, err := localstore.Open(path, localstore.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	base := time.Now().Add(-time.Duration(n) * time.Millisecond)
	for i := range n {
		id := fmt.Sprintf("task-%08d", i)
		at := base.Add(time.Duration(i) * time.Millisecond)
		task := &a2a.Task{ID: id, ContextID: "ctx", Status: a2a.TaskStatus{State: a2a.StateCompleted, Timestamp: at,
			Message: &a2a.Message{ID: "m" + id, Role: a2a.RoleAgent, Parts: []a2a.Part{a2a.TextPart("seeded")}}}}
		if err := s.Commit(ctx, &engine.Commit{
			Record: &engine.Record{Task: task, Created: at, Updated: at, LastSeq: 1},
			Events: []engine.LoggedEvent{{TaskID: id, Seq: 1, Cursor: uint64(i + 1), Time: at, Event: task}},
		}); err != nil {
			tb.Fatal(err)
		}
	}
}

// startServeB is startServe for benchmarks.
func startServeB(tb testing.TB, bin, db string, env []string) *serveProc {
	tb.Helper()
	sp := &serveProc{stderr: &lockedBuffer{}, done: make(chan error, 1)}
	sp.cmd = exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", db)
	sp.cmd.Env = append(os.Environ(), env...)
	sp.cmd.Stdout = sp.stderr
	sp.cmd.Stderr = sp.stderr
	if err := sp.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { sp.done <- sp.cmd.Wait() }()
	tb.Cleanup(func() { _ = sp.cmd.Process.Kill(); <-sp.done })
	for deadline := time.Now().Add(20 * time.Second); ; {
		if m := servingAt.FindStringSubmatch(sp.stderr.String()); m != nil {
			sp.url = m[1]
			return sp
		}
		if time.Now().After(deadline) {
			tb.Fatalf("serve printed no address:\n%s", sp.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// blackhole accepts connections and never answers.
func blackhole(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never read
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String() + "/"
}

func waitScreen(tb testing.TB, tm *tmux.Term, limit time.Duration, ok func(string) bool) string {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for {
		s := tm.Screen()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out; screen:\n%s", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dashboardPID finds the a2atop process the tmux pane's shell runs.
func dashboardPID(tb testing.TB, tm *tmux.Term) int {
	tb.Helper()
	shell, err := strconv.Atoi(strings.TrimSpace(tm.Run("list-panes", "-F", "#{pane_pid}")))
	if err != nil {
		tb.Fatal(err)
	}
	out, err := exec.Command("pgrep", "-P", strconv.Itoa(shell)).Output()
	if err != nil {
		tb.Fatalf("pgrep: %v", err)
	}
	pid, err := strconv.Atoi(strings.Fields(string(out))[0])
	if err != nil {
		tb.Fatal(err)
	}
	return pid
}

// procCPU is a process's user+system CPU time so far.
func procCPU(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	rest := raw[bytes.LastIndexByte(raw, ')')+2:]
	f := strings.Fields(string(rest))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

func procRSS(tb testing.TB, pid int) int64 {
	tb.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	m, err := loadgen.ParseStatus(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return m.RSS
}
