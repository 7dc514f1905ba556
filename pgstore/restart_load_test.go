package pgstore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/internal/testkit/pgtest"
)

// Restart-under-load sizes: concurrent blocking senders, sends
// acknowledged before the crash, and after the restart.
const (
	restartSenders     = 16
	restartAckedBefore = 150
	restartAckedAfter  = 150
	// sendBound bounds each send: a send that meets the outage must end
	// with an error, not hang; this is far above a send's normal time.
	sendBound = 20 * time.Second
)

// A crash of PostgreSQL (SIGKILL of the postmaster and its backends) and
// a restart while 16 clients send to two replicas: every acknowledged send
// survives, in a final state, each task once; sends that meet the outage
// fail with an error within their bound (none hangs); each replica's Watch
// feed reconnects on its own, resumes from its cursor with cursors only
// going up, and carries the final event of every acknowledged task.
func TestDatabaseRestartUnderLoad(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t, pgtest.Options{Durable: true})
	dsn := srv.NewDatabase(t)
	replicas := []*engine.Engine{startReplica(t, dsn), startReplica(t, dsn)}
	var feeds []*feedLog
	for _, e := range replicas {
		w, err := e.Watch(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		f := newFeedLog()
		go f.follow(w)
		t.Cleanup(func() { w.Close() })
		feeds = append(feeds, f)
	}

	load := newSendLoad()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := range restartSenders {
		wg.Go(func() { load.run(replicas[i%len(replicas)], i, stop) })
	}
	load.waitAcked(restartAckedBefore)
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	before := load.ackedCount()
	load.waitAcked(before + restartAckedAfter)
	close(stop)
	wg.Wait()

	acked, failures, hung := load.result()
	t.Logf("%d sends acknowledged (%d before the crash), %d failed; errors a client got:", len(acked), before, failures.total)
	for msg, n := range failures.byMessage {
		t.Logf("  %d× %s", n, msg)
	}
	if failures.repeated != "" {
		t.Errorf("an error names the message twice: %s", failures.repeated)
	}
	if hung > 0 {
		t.Errorf("%d sends hung until their %v bound instead of failing", hung, sendBound)
	}

	// Every acknowledged send is in the store, final, and no message made
	// two tasks.
	check := openTest(t, dsn)
	defer check.Close()
	for msgID, taskID := range acked {
		rec, err := check.Get(ctx, taskID)
		if err != nil {
			t.Errorf("acknowledged send %s (task %s) lost: %v", msgID, taskID, err)
			continue
		}
		if !rec.Task.Status.State.Terminal() {
			t.Errorf("acknowledged task %s is %s, not final", taskID, rec.Task.Status.State)
		}
	}
	tasksOf := map[string][]string{}
	rows, err := check.pool.Query(ctx, `SELECT id FROM a2atop_tasks`)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	unfinished := 0
	for _, id := range ids {
		rec, err := check.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !rec.Task.Status.State.Terminal() {
			unfinished++
		}
		if len(rec.Task.History) > 0 {
			first := rec.Task.History[0].ID
			tasksOf[first] = append(tasksOf[first], id)
		}
	}
	t.Logf("%d tasks in the store, %d not final (created by sends that failed later)", len(ids), unfinished)
	for msgID, tasks := range tasksOf {
		if len(tasks) > 1 {
			t.Errorf("message %s made %d tasks: %v", msgID, len(tasks), tasks)
		}
	}

	// Each feed carries every acknowledged task's final event.
	want := map[string]bool{}
	for _, id := range acked {
		want[id] = true
	}
	for i, f := range feeds {
		if missing, err := f.waitFinal(want, time.Minute); len(missing) > 0 || err != nil {
			t.Errorf("replica %d's Watch: %d acknowledged tasks without their final event (%v), feed error %v", i, len(missing), first(missing, 5), err)
		}
		if back := f.backwards(); back != "" {
			t.Errorf("replica %d's Watch: %s", i, back)
		}
	}
}

// sendLoad is the senders' shared record.
type sendLoad struct {
	mu       sync.Mutex
	acked    map[string]string // message id -> task id
	failures failureCount
	hung     int
	n        atomic.Int64
	changed  chan struct{} // closed and replaced on every acknowledgement
}

type failureCount struct {
	total     int
	repeated  string // an error that names the message twice
	byMessage map[string]int
}

func newSendLoad() *sendLoad {
	return &sendLoad{acked: map[string]string{}, failures: failureCount{byMessage: map[string]int{}}, changed: make(chan struct{})}
}

// run sends blocking echo tasks to e until stop is closed.
func (l *sendLoad) run(e *engine.Engine, sender int, stop <-chan struct{}) {
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		msg := userText(fmt.Sprintf("echo %d-%d", sender, n))
		ctx, cancel := context.WithTimeout(context.Background(), sendBound)
		res, err := e.Send(ctx, &a2a.SendRequest{Message: msg})
		timedOut := ctx.Err() != nil
		cancel()
		l.mu.Lock()
		switch {
		case err == nil && res.Task != nil:
			l.acked[msg.ID] = res.Task.ID
			l.n.Add(1)
			close(l.changed)
			l.changed = make(chan struct{})
		case timedOut:
			l.hung++
		default:
			if err == nil {
				err = errors.New("no task in the response")
			}
			if strings.Count(err.Error(), msg.ID) > 1 && l.failures.repeated == "" {
				l.failures.repeated = err.Error()
			}
			l.failures.total++
			l.failures.byMessage[uuidPattern.ReplaceAllString(err.Error(), "ID")]++
		}
		l.mu.Unlock()
		if err != nil {
			// The outage: do not spin; the next send tries again.
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func (l *sendLoad) ackedCount() int { return int(l.n.Load()) }

// waitAcked waits until n sends have been acknowledged.
func (l *sendLoad) waitAcked(n int) {
	for {
		l.mu.Lock()
		got, ch := len(l.acked), l.changed
		l.mu.Unlock()
		if got >= n {
			return
		}
		<-ch
	}
}

func (l *sendLoad) result() (map[string]string, failureCount, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acked, l.failures, l.hung
}

// feedLog records one Watch feed: the tasks whose final event it carried
// and the first cursor that did not go up.
type feedLog struct {
	mu      sync.Mutex
	final   map[string]bool
	last    uint64
	back    string
	err     error
	changed chan struct{}
}

func newFeedLog() *feedLog { return &feedLog{final: map[string]bool{}, changed: make(chan struct{})} }

func (f *feedLog) follow(w a2a.Stream) {
	for {
		ev, err := w.Recv()
		f.mu.Lock()
		if err != nil {
			f.err = err
			close(f.changed)
			f.mu.Unlock()
			return
		}
		cur, perr := strconv.ParseUint(ev.Cursor, 10, 64)
		if perr != nil || cur <= f.last {
			if f.back == "" {
				f.back = fmt.Sprintf("cursor %q after %d", ev.Cursor, f.last)
			}
		} else {
			f.last = cur
		}
		if id, ok := finalOf(ev.Event); ok {
			f.final[id] = true
		}
		close(f.changed)
		f.changed = make(chan struct{})
		f.mu.Unlock()
	}
}

func finalOf(ev a2a.Event) (string, bool) {
	switch e := ev.(type) {
	case *a2a.StatusUpdateEvent:
		return e.TaskID, e.Status.State.Terminal()
	case *a2a.Task:
		return e.ID, e.Status.State.Terminal()
	}
	return "", false
}

// waitFinal waits until the feed has carried the final event of every task
// in want, or ended, or bound passed; it returns the tasks still missing.
func (f *feedLog) waitFinal(want map[string]bool, bound time.Duration) ([]string, error) {
	deadline := time.After(bound)
	for {
		f.mu.Lock()
		var missing []string
		for id := range want {
			if !f.final[id] {
				missing = append(missing, id)
			}
		}
		ch, err := f.changed, f.err
		f.mu.Unlock()
		if len(missing) == 0 || err != nil {
			return missing, err
		}
		select {
		case <-ch:
		case <-deadline:
			sort.Strings(missing)
			return missing, errors.New("gave up waiting")
		}
	}
}

func (f *feedLog) backwards() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.back
}

// uuidPattern groups errors that differ only by message or task id.
var uuidPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

func first(ids []string, n int) []string {
	sort.Strings(ids)
	return ids[:min(n, len(ids))]
}
