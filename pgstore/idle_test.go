package pgstore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/internal/testkit/pgtest"
)

// idleWindow is how long TestNoPollingWhileIdle watches idle replicas.
const idleWindow = 5 * time.Second

// Idle replicas, each with a Watch open, run nothing against the database
// but their lease heartbeats: live events come by LISTEN/NOTIFY, so nothing
// reads the log, the tasks or the queue while nothing happens. Every
// statement the server runs is read from its own log (log_statement=all),
// so a poll of any kind would show.
func TestNoPollingWhileIdle(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t, pgtest.Options{Settings: map[string]string{
		"log_statement": "all", "log_min_messages": "log", "log_line_prefix": "db=%d %m pid=%p ",
	}})
	dsn := srv.NewDatabase(t)
	db := dsn[strings.LastIndex(dsn, "/")+1 : strings.Index(dsn, "?")]
	lease := 3 * time.Second
	sa, err := Open(ctx, dsn, Options{Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	a := startReplicaOn(t, sa)
	sb, err := Open(ctx, dsn, Options{Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	b := startReplicaOn(t, sb)
	wa, err := a.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer wa.Close()
	wb, err := b.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer wb.Close()
	// One task to the end first, seen on both feeds: every replica has
	// woken, read and gone idle again before the window opens.
	task := sendBlocking(t, a, "echo warm up")
	recvUntilDone(t, wa, task.ID)
	recvUntilDone(t, wb, task.ID)

	// The warm-up's tail runs on after the feeds saw its end (the slot is
	// freed after the send returned, each follower reads the last
	// notified events): let it settle before the window opens. A poll at
	// any period up to the window's length still shows.
	time.Sleep(time.Second)
	logPath := filepath.Join(srv.Dir(), "server.log")
	start := fileSize(t, logPath)
	began := time.Now()
	time.Sleep(idleWindow)
	elapsed := time.Since(began)
	raw, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	statements := idleStatements(string(raw[start:]), db)

	var beats, others []string
	for _, st := range statements {
		// "-- ping" is pgxpool checking a connection idle for over a
		// second as the heartbeat acquires it.
		if strings.Contains(st, "a2atop_replicas") || strings.HasSuffix(st, "statement: -- ping") {
			beats = append(beats, st)
		} else {
			others = append(others, st)
		}
	}
	// Each beat is two statements (renew the lease, look for orphans)
	// and at most one ping per acquire;
	// each replica beats every Lease/3, and one more for a beat in flight
	// at each end of the window.
	perReplica := int(elapsed/(lease/3)) + 2
	if allowed := 4 * 2 * perReplica; len(beats) > allowed {
		t.Errorf("%d heartbeat statements in %v, want at most %d (2 replicas, a beat every %v):\n%s",
			len(beats), elapsed.Round(time.Millisecond), allowed, lease/3, strings.Join(beats, "\n"))
	}
	if len(others) > 0 {
		t.Errorf("idle replicas ran %d statements besides their heartbeats in %v (polling):\n%s",
			len(others), elapsed.Round(time.Millisecond), strings.Join(others, "\n"))
	}
	t.Logf("idle %v: %d heartbeat statements, %d others", elapsed.Round(time.Millisecond), len(beats), len(others))
}

// recvUntilDone reads a Watch feed until the task's final event.
func recvUntilDone(t *testing.T, w a2a.Stream, taskID string) {
	t.Helper()
	for {
		ev, err := w.Recv()
		if err != nil {
			t.Fatalf("Watch ended before task %s finished: %v", taskID, err)
		}
		if su, ok := ev.Event.(*a2a.StatusUpdateEvent); ok && su.TaskID == taskID && su.Status.State.Terminal() {
			return
		}
		if task, ok := ev.Event.(*a2a.Task); ok && task.ID == taskID && task.Status.State.Terminal() {
			return
		}
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

// idleStatements picks from a server log (log_statement=all, prefix
// "db=NAME pid=PID ") the statements run in database db: simple queries
// ("statement: ...") and executions of prepared ones ("execute NAME: ...").
// A statement's continuation lines are joined to it.
func idleStatements(log, db string) []string {
	var out []string
	in := false
	for _, line := range strings.Split(log, "\n") {
		if !strings.HasPrefix(line, "db=") {
			if in && strings.TrimSpace(line) != "" && !strings.HasPrefix(line, "db=") {
				out[len(out)-1] += " " + strings.TrimSpace(line)
			}
			continue
		}
		in = false
		if !strings.HasPrefix(line, "db="+db+" ") {
			continue
		}
		i := strings.Index(line, "LOG:  ")
		if i < 0 {
			continue
		}
		msg := line[i+len("LOG:  "):]
		if strings.HasPrefix(msg, "statement: ") || strings.HasPrefix(msg, "execute ") {
			out = append(out, line)
			in = true
		}
	}
	return out
}
