package ui

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/agents"
	"github.com/a2atop/a2atop/localstore"
)

// The scale benchmark of issue 14: the dashboard over a local store of a
// million tasks. A child process (this test binary, TestScaleChild) opens
// the store through the engine, drives the dashboard's Update by hand
// until the first screen is full, presses G and waits for the oldest task,
// then g and page down through a fifth of the store, and reports the
// times and its resident memory without the mapped file (RssAnon) after
// each. The store is built once (a few minutes) and kept when
// A2ATOP_UI_BENCH_DIR names a directory.
//
//	A2ATOP_UI_BENCH_DIR=/tmp/a2atop-ui-bench go test -run '^$' -bench Scale -benchtime 1x ./ui
const (
	scaleDirEnv   = "A2ATOP_UI_BENCH_DIR"
	scaleChildEnv = "A2ATOP_UI_SCALE_CHILD"
)

func BenchmarkScaleMillion(b *testing.B) { benchScale(b, 1_000_000) }

// BenchmarkScaleSmall is the same over 20,000 tasks: a quick check of the
// harness.
func BenchmarkScaleSmall(b *testing.B) { benchScale(b, 20_000) }

func benchScale(b *testing.B, n int) {
	path := scaleStore(b, n)
	cmd := exec.Command(os.Args[0], "-test.run", "^TestScaleChild$", "-test.v")
	cmd.Env = append(os.Environ(), scaleChildEnv+"="+path, fmt.Sprintf("%s_N=%d", scaleChildEnv, n))
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("child: %v\n%s", err, out)
	}
	vals := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		line, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "SCALE ")
		if !ok {
			continue
		}
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatalf("child said %q", line)
			}
			vals[k] = x
		}
	}
	if len(vals) == 0 {
		b.Fatalf("child reported nothing:\n%s", out)
	}
	for _, k := range []string{"first_screen_ms", "first_screen_rss_anon_MiB", "first_screen_rss_file_MiB", "g_ms", "g_rss_anon_MiB", "lists_first_screen", "lists_g", "middle_rows", "middle_ms", "middle_rss_anon_MiB", "held"} {
		b.ReportMetric(vals[k], k)
	}
}

// scaleStore returns the path of a closed store of n terminal tasks.
func scaleStore(b *testing.B, n int) string {
	dir := os.Getenv(scaleDirEnv)
	if dir == "" {
		dir = b.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("ui-scale-%d.db", n))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	tmp := path + ".building"
	os.Remove(tmp)
	start := time.Now()
	buildScaleStore(b, tmp, n)
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	b.Logf("built a store of %d tasks in %s", n, time.Since(start).Round(time.Second))
	return path
}

// buildScaleStore writes n tasks (scaleCommit) into a new store at path
// and closes it.
func buildScaleStore(tb testing.TB, path string, n int) {
	s, err := localstore.Open(path, localstore.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	workers := 8
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				if err := s.Commit(context.Background(), scaleCommit(i, base)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		tb.Fatal(err)
	}
	if err := s.Close(); err != nil {
		tb.Fatal(err)
	}
}

// scaleCommit is task i: finished, with its user message, an artifact and
// a final status, in one of twenty conversations.
func scaleCommit(i int, base time.Time) *engine.Commit {
	id := fmt.Sprintf("%08x-7d3c-4a5b-9c1d-%012x", i, i*7919)
	ctxID := fmt.Sprintf("ctx-%02d", i%20)
	at := base.Add(time.Duration(i) * time.Millisecond)
	state := a2a.StateCompleted
	if i%50 == 1 {
		state = a2a.StateFailed
	}
	user := a2a.Message{ID: id + "-u", Role: a2a.RoleUser, TaskID: id, ContextID: ctxID, Parts: []a2a.Part{a2a.TextPart(fmt.Sprintf("echo hello number %d", i))}}
	t := &a2a.Task{ID: id, ContextID: ctxID, History: []a2a.Message{user},
		Status:    a2a.TaskStatus{State: state, Timestamp: at, Message: &a2a.Message{ID: id + "-s", Role: a2a.RoleAgent, TaskID: id, ContextID: ctxID, Parts: []a2a.Part{a2a.TextPart("done")}}},
		Artifacts: []a2a.Artifact{{ID: id + "-a", Name: "echo", Parts: []a2a.Part{a2a.TextPart(fmt.Sprintf("hello number %d", i))}}}}
	return &engine.Commit{
		Record:     &engine.Record{Task: t, Created: at, Updated: at, Attempts: 1, LastSeq: 1},
		Events:     []engine.LoggedEvent{{TaskID: id, Seq: 1, Cursor: uint64(i + 1), Time: at, Event: t}},
		MessageIDs: []string{user.ID},
	}
}

// countingService counts the List calls the dashboard makes and the
// tasks they return.
type countingService struct {
	a2a.Service
	mu    sync.Mutex
	lists int
	tasks int
	// before, when set, runs before each List.
	before func()
}

func (c *countingService) List(ctx context.Context, req a2a.ListRequest) (*a2a.ListPage, error) {
	if c.before != nil {
		c.before()
	}
	page, err := c.Service.List(ctx, req)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lists++
	if page != nil {
		c.tasks += len(page.Tasks)
	}
	return page, err
}

// TestScaleChild is the benchmark's child; it does nothing in a normal
// test run.
func TestScaleChild(t *testing.T) {
	path := os.Getenv(scaleChildEnv)
	if path == "" {
		t.Skip("only as the child of BenchmarkScaleMillion")
	}
	store, err := localstore.Open(path, localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// No sweeping: the fixture's tasks are old, and the benchmark must not
	// change the store it measures.
	eng, err := engine.New(store, agents.NewDemo(), engine.Options{Retention: 100 * 365 * 24 * time.Hour, SweepInterval: 100 * 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { eng.Close(); store.Close() }()
	svc := &countingService{Service: eng}

	start := time.Now()
	m := New(context.Background(), svc, Options{NoColor: true})
	m.after = func(time.Duration, func(time.Time) tea.Msg) tea.Cmd { return nil }
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 48})
	run(m, m.Init())
	frame := m.View().Content
	firstScreen := time.Since(start)
	if len(m.table.rows.visible) < m.table.height {
		t.Fatalf("first screen has %d rows of %d:\n%s", len(m.table.rows.visible), m.table.height, frame)
	}
	lists := svc.lists
	anon1, file1 := rss()

	// G: the oldest task, selected.
	start = time.Now()
	_, cmd := m.Update(tea.KeyPressMsg{Code: 'G', Text: "G"})
	run(m, cmd)
	m.View()
	g := time.Since(start)
	anon2, _ := rss()
	listsG := svc.lists - lists
	n, _ := strconv.Atoi(os.Getenv(scaleChildEnv + "_N"))
	oldest := scaleCommit(0, time.Time{}).Record.Task.ID
	if r := m.table.selected(); r == nil || r.id != oldest {
		t.Fatalf("G selected %v, want the oldest task %s", r, oldest)
	}

	// Paging through the middle: back to the top (g), then page down
	// through a fifth of the store; every page listed is held a while and
	// dropped.
	start = time.Now()
	_, cmd = m.Update(tea.KeyPressMsg{Code: 'g', Text: "g"})
	run(m, cmd)
	presses := n / 5 / max(m.table.height-1, 1)
	for range presses {
		_, cmd = m.Update(tea.KeyPressMsg{Code: tea.KeyPgDown})
		run(m, cmd)
	}
	m.View()
	middle := time.Since(start)
	anon3, _ := rss()
	row := m.table.beyondAbove + m.table.cursor + 1
	if row <= presses*(m.table.height-1) || len(m.table.rows.byKey) > windowRows+listPageSize {
		t.Fatalf("paging down: at row %d, %d rows held", row, len(m.table.rows.byKey))
	}
	fmt.Printf("SCALE first_screen_ms=%.1f first_screen_rss_anon_MiB=%.1f first_screen_rss_file_MiB=%.1f g_ms=%.1f g_rss_anon_MiB=%.1f lists_first_screen=%d lists_g=%d middle_rows=%d middle_ms=%.0f middle_rss_anon_MiB=%.1f held=%d\n",
		float64(firstScreen.Microseconds())/1000, anon1, file1, float64(g.Microseconds())/1000, anon2, lists, listsG, row, float64(middle.Milliseconds()), anon3, len(m.table.rows.byKey))
}

// run runs cmd and what it leads to, feeding the replies to m, without
// timers (after is disabled), as the program would but synchronously.
func run(m *Model, cmd tea.Cmd) {
	queue := []tea.Cmd{cmd}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		switch msg := c().(type) {
		case nil:
		case tea.BatchMsg:
			queue = append(queue, msg...)
		default:
			if _, ok := msg.(tea.QuitMsg); ok {
				continue
			}
			_, next := m.Update(msg)
			queue = append(queue, next)
		}
	}
}

// rss is the process's resident memory besides mapped files (RssAnon)
// and of mapped files (RssFile), in MiB.
func rss() (anon, file float64) {
	runtime.GC()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1, -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "RssAnon:":
			anon = v / 1024
		case "RssFile:":
			file = v / 1024
		}
	}
	return anon, file
}
