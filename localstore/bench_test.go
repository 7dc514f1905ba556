package localstore

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
)

// Benchmarks. The big stores are built once per test binary run (NoSync,
// large transactions) in a temporary directory that TestMain removes, or,
// when A2ATOP_LOCALSTORE_BENCH_DIR names a directory, kept there and reused
// by later runs (the 1M-task store takes a minute or two to build).
//
//	go test -run '^$' -bench . -benchtime 2s ./localstore
const benchDirEnv = "A2ATOP_LOCALSTORE_BENCH_DIR"

// benchFixtures holds the stores built for this run, by task count.
var benchFixtures = struct {
	sync.Mutex
	dir   string
	keep  bool
	paths map[int]string
}{paths: map[int]string{}}

func cleanupBenchFixtures() {
	benchFixtures.Lock()
	defer benchFixtures.Unlock()
	if benchFixtures.dir != "" && !benchFixtures.keep {
		os.RemoveAll(benchFixtures.dir)
	}
}

// fixture returns the path of a closed store with n terminal tasks.
func fixture(b *testing.B, n int) string {
	benchFixtures.Lock()
	defer benchFixtures.Unlock()
	if p, ok := benchFixtures.paths[n]; ok {
		return p
	}
	if benchFixtures.dir == "" {
		if dir := os.Getenv(benchDirEnv); dir != "" {
			benchFixtures.dir, benchFixtures.keep = dir, true
		} else {
			dir, err := os.MkdirTemp("", "a2atop-localstore-bench-")
			if err != nil {
				b.Fatal(err)
			}
			benchFixtures.dir = dir
		}
	}
	// The name carries the layout version: a kept store from an older
	// layout is not reused.
	path := filepath.Join(benchFixtures.dir, fmt.Sprintf("tasks-%d-schema%d-fixture%d.db", n, schemaVersion, fixtureVersion))
	if _, err := os.Stat(path); err == nil {
		benchFixtures.paths[n] = path
		return path
	}
	start := time.Now()
	// Built under another name and renamed, so an interrupted build is
	// never reused.
	tmp := path + ".building"
	os.Remove(tmp)
	if err := buildFixture(tmp, n); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	info, _ := os.Stat(path)
	b.Logf("built a store of %d tasks in %v: %d MiB", n, time.Since(start).Round(time.Millisecond), info.Size()>>20)
	benchFixtures.paths[n] = path
	return path
}

// fixtureVersion changes whenever benchTask or buildFixture does.
const fixtureVersion = 1

var benchBase = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// benchTask is task i as the engine would leave a finished echo task: the
// user's message in the history, an artifact, a final status with text.
func benchTask(i int) (*engine.Commit, error) {
	id := fmt.Sprintf("%08x-7d3c-4a5b-9c1d-%012x", i, i*7919)
	ctx := fmt.Sprintf("ctx-%02d", i%20)
	at := benchBase.Add(time.Duration(i) * time.Millisecond)
	state := a2a.StateCompleted
	switch i % 50 {
	case 1, 2:
		state = a2a.StateFailed
	case 3:
		state = a2a.StateCanceled
	case 4:
		state = a2a.StateRejected
	}
	user := a2a.Message{ID: id + "-u", Role: a2a.RoleUser, TaskID: id, ContextID: ctx, Parts: []a2a.Part{a2a.TextPart(fmt.Sprintf("echo hello number %d", i))}}
	submitted := &a2a.Task{ID: id, ContextID: ctx, Status: a2a.TaskStatus{State: a2a.StateSubmitted, Timestamp: at}, History: []a2a.Message{user}}
	art := &a2a.ArtifactUpdateEvent{TaskID: id, ContextID: ctx, Artifact: a2a.Artifact{ID: id + "-a", Name: "echo", Parts: []a2a.Part{a2a.TextPart(fmt.Sprintf("hello number %d", i))}}, LastChunk: true}
	final := &a2a.StatusUpdateEvent{TaskID: id, ContextID: ctx, Status: a2a.TaskStatus{State: state, Timestamp: at,
		Message: &a2a.Message{ID: id + "-s", Role: a2a.RoleAgent, TaskID: id, ContextID: ctx, Parts: []a2a.Part{a2a.TextPart("done")}}}}
	task, err := a2a.Fold(submitted, art, final)
	if err != nil {
		return nil, err
	}
	cur := uint64(3*i + 1)
	return &engine.Commit{
		Record: &engine.Record{Task: task, Created: at, Updated: at, Attempts: 1, LastSeq: 3},
		Events: []engine.LoggedEvent{
			{Seq: 1, Cursor: cur, Time: at, Event: submitted},
			{Seq: 2, Cursor: cur + 1, Time: at, Event: art},
			{Seq: 3, Cursor: cur + 2, Time: at, Event: final},
		},
		MessageIDs: []string{user.ID},
	}, nil
}

// buildFixture writes n tasks in transactions of 2,000 (bigger ones make
// bbolt shift ever larger unsplit nodes), encoding on every
// core while the previous chunk is written.
func buildFixture(path string, n int) error {
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		return err
	}
	defer s.Close()
	const chunk = 2000
	type batch struct {
		ps  []*prepared
		err error
	}
	batches := make(chan chan batch, runtime.GOMAXPROCS(0))
	go func() {
		defer close(batches)
		for lo := 0; lo < n; lo += chunk {
			out := make(chan batch, 1)
			batches <- out
			go func() {
				var bt batch
				for i := lo; i < min(lo+chunk, n); i++ {
					c, err := benchTask(i)
					if err == nil {
						var p *prepared
						if p, err = prepare(c); err == nil {
							bt.ps = append(bt.ps, p)
						}
					}
					if err != nil {
						bt.err = err
						break
					}
				}
				out <- bt
			}()
		}
	}()
	var firstErr error
	for out := range batches {
		bt := <-out
		if firstErr != nil {
			continue
		}
		if firstErr = bt.err; firstErr != nil {
			continue
		}
		firstErr = s.write(func(b txBuckets) error {
			for _, p := range bt.ps {
				if err := apply(b, p); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return firstErr
}

// BenchmarkCommit measures durable commits (fsync on) from 1 and 64
// concurrent committers, through the group-committing writer. Each committer runs tasks through
// submitted, working, an artifact and completed, one commit each.
func BenchmarkCommit(b *testing.B) {
	{
		for _, committers := range []int{1, 64} {
			b.Run(fmt.Sprintf("committers=%d", committers), func(b *testing.B) {
				s := openTemp(b, Options{})
				ctx := context.Background()
				var ops atomic.Int64
				var cursor atomic.Uint64
				var wg sync.WaitGroup
				errs := make(chan error, committers)
				b.ResetTimer()
				for w := range committers {
					wg.Go(func() {
						for n := 0; ; n++ {
							c, err := benchTask(w + committers*n)
							if err != nil {
								errs <- err
								return
							}
							// One commit per event, as the engine makes them.
							for i := range c.Events {
								if ops.Add(1) > int64(b.N) {
									return
								}
								ev := c.Events[i]
								ev.Cursor = cursor.Add(1)
								one := &engine.Commit{Record: &engine.Record{Task: c.Record.Task, Updated: ev.Time, LastSeq: ev.Seq}, Events: []engine.LoggedEvent{ev}}
								if err := s.Commit(ctx, one); err != nil {
									errs <- err
									return
								}
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
			})
		}
	}
}

// BenchmarkCommitStreamed commits tasks the way the engine commits a
// streamed echo task: the creation (the task event and its message id),
// then one commit of the rest (the artifact and the final status), from 1
// and 64 concurrent committers. commits/s counts both commits.
func BenchmarkCommitStreamed(b *testing.B) {
	for _, committers := range []int{1, 64} {
		b.Run(fmt.Sprintf("committers=%d", committers), func(b *testing.B) {
			s := openTemp(b, Options{})
			ctx := context.Background()
			var next atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, committers)
			b.ResetTimer()
			for range committers {
				wg.Go(func() {
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						c, err := benchTask(int(i))
						if err == nil {
							err = commitInTwo(ctx, s, c)
						}
						if err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "commits/s")
		})
	}
}

// commitInTwo commits c's first event with the submitted task, then the
// rest with the final task, as the engine commits a streamed task.
func commitInTwo(ctx context.Context, s *Store, c *engine.Commit) error {
	first := c.Events[0].Event.(*a2a.Task)
	created := &engine.Commit{
		Record:     &engine.Record{Task: first, Created: c.Record.Created, Updated: c.Record.Created, Attempts: 1, LastSeq: 1},
		Events:     c.Events[:1],
		MessageIDs: c.MessageIDs,
	}
	if err := s.Commit(ctx, created); err != nil {
		return err
	}
	return s.Commit(ctx, &engine.Commit{Record: c.Record, Events: c.Events[1:]})
}

// BenchmarkListFirstPage lists the first page (50 tasks) of a store with a
// thousand and with a million terminal tasks, unfiltered, by state and by
// context (the stores have 20 contexts).
//
//	go test -run '^$' -bench 'ListFirstPage' -benchtime 2000x ./localstore
func BenchmarkListFirstPage(b *testing.B) {
	for _, n := range []int{1000, 1000000} {
		for _, q := range []struct {
			name string
			q    engine.ListQuery
		}{
			{"all", engine.ListQuery{}},
			{"state=completed", engine.ListQuery{State: a2a.StateCompleted}},
			{"context", engine.ListQuery{ContextID: "ctx-07"}},
		} {
			b.Run(fmt.Sprintf("tasks=%d/%s", n, q.name), func(b *testing.B) {
				s, err := Open(fixture(b, n), Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				ctx := context.Background()
				q.q.PageSize = 50
				b.ResetTimer()
				for range b.N {
					res, err := s.List(ctx, q.q)
					if err != nil {
						b.Fatal(err)
					}
					if len(res.Records) != 50 {
						b.Fatalf("page of %d records", len(res.Records))
					}
				}
			})
		}
	}
}

// BenchmarkOpenRSS opens a store of a million terminal tasks in a child
// process, lists the first page and gets one task, and reports the child's
// resident set (VmRSS, and its peak VmHWM, from /proc/self/status) and Go
// heap. The child then lists with a Text filter that matches nothing, which
// reads every task, and reports the resident set after it and the peak
// during it. It fails if the resident set reaches 100 MiB after the first
// page or after the scan. It runs one child per call whatever b.N is: its
// ns/op means nothing.
//
//	go test -run '^$' -bench 'OpenRSS' -benchtime 1x ./localstore
func BenchmarkOpenRSS(b *testing.B) {
	const n = 1000000
	path := fixture(b, n)
	cmd, _, stdout := startChild(b, "rss", path)
	line, err := stdout.ReadString('\n')
	if err != nil {
		b.Fatalf("child: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		b.Fatalf("child: %v", err)
	}
	vals := map[string]float64{}
	for _, f := range strings.Fields(line) {
		k, v, _ := strings.Cut(f, "=")
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			b.Fatalf("child said %q", line)
		}
		vals[k] = x
	}
	mib := func(k string) float64 { return vals[k] / 1024 }
	b.ReportMetric(mib("rss_kib"), "rss-MiB")
	b.ReportMetric(mib("hwm_kib"), "peak-rss-MiB")
	b.ReportMetric(vals["heap_inuse"]/(1<<20), "heap-MiB")
	b.ReportMetric(mib("scan_rss_kib"), "rss-after-scan-MiB")
	b.ReportMetric(mib("scan_hwm_kib"), "peak-rss-in-scan-MiB")
	b.ReportMetric(vals["scan_seconds"], "scan-s")
	if mib("hwm_kib") >= 100 || mib("scan_rss_kib") >= 100 {
		b.Errorf("resident set with %d tasks: peak %.1f MiB after the first page, %.1f MiB after a full scan; want < 100",
			n, mib("hwm_kib"), mib("scan_rss_kib"))
	}
}

// childRSS is BenchmarkOpenRSS's child.
func childRSS(path string) error {
	ctx := context.Background()
	s, err := Open(path, Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	res, err := s.List(ctx, engine.ListQuery{PageSize: 50})
	if err != nil {
		return err
	}
	if len(res.Records) == 0 || res.TotalSize < 1000000 {
		return fmt.Errorf("listed %d of %d tasks", len(res.Records), res.TotalSize)
	}
	if _, err := s.Get(ctx, res.Records[len(res.Records)-1].Task.ID); err != nil {
		return err
	}
	first, err := procStatus()
	if err != nil {
		return err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	start := time.Now()
	res, err = s.List(ctx, engine.ListQuery{PageSize: 50, Text: "matches no task"})
	if err != nil {
		return err
	}
	if len(res.Records) != 0 {
		return fmt.Errorf("text scan found %d tasks", len(res.Records))
	}
	took := time.Since(start)
	scan, err := procStatus()
	if err != nil {
		return err
	}
	fmt.Printf("rss_kib=%d hwm_kib=%d heap_inuse=%d go_sys=%d scan_rss_kib=%d scan_hwm_kib=%d scan_seconds=%.1f\n",
		first["VmRSS"], first["VmHWM"], ms.HeapInuse, ms.Sys, scan["VmRSS"], scan["VmHWM"], took.Seconds())
	return nil
}

// procStatus reads the kB fields of /proc/self/status.
func procStatus() (map[string]int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 2 && fields[1] == "kB" {
			if n, err := strconv.ParseInt(fields[0], 10, 64); err == nil {
				out[k] = n
			}
		}
	}
	return out, sc.Err()
}
