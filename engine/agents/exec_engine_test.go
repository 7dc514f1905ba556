//go:build unix

package agents

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
)

func TestExecOnEngine(t *testing.T) {
	ex := newTestExec(t, ExecOptions{})
	eng := startEngine(t, ex)

	ok := sendTask(t, eng, "echo out; echo err >&2; pwd")
	if ok.Status.State != a2a.StateCompleted {
		t.Fatalf("state %s %q", ok.Status.State, statusText(ok))
	}
	out := artifactText(ok, "output")
	for _, want := range []string{"out\n", "err\n", ex.Dir() + "\n"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output %q lacks %q", out, want)
		}
	}

	bad := sendTask(t, eng, "echo 'disk full' >&2; exit 7")
	if bad.Status.State != a2a.StateFailed || statusText(bad) != "exit status 7: disk full" {
		t.Fatalf("exit 7: %s %q", bad.Status.State, statusText(bad))
	}

	missing := sendTask(t, eng, "no-such-command-a2atop")
	if missing.Status.State != a2a.StateFailed || !strings.Contains(statusText(missing), "exit status 127") {
		t.Fatalf("missing command: %s %q", missing.Status.State, statusText(missing))
	}
}

func TestExecCancelOnEngine(t *testing.T) {
	ex := newTestExec(t, ExecOptions{Grace: 300 * time.Millisecond})
	eng := startEngine(t, ex)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := eng.Send(ctx, &a2a.SendRequest{
		Message: userMessage("", "echo $$ > sh.pid; sleep 30 & echo $! > bg.pid; sleep 30"),
		Config:  a2a.SendConfig{ReturnImmediately: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	pids := waitPIDs(t, ex.Dir(), "sh.pid", "bg.pid")
	task, err := eng.Cancel(ctx, res.Task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if task.Status.State != a2a.StateCanceled {
		t.Fatalf("cancel: %s", task.Status.State)
	}
	for _, pid := range pids {
		assertGone(t, pid)
	}
}

// TestExecNotRerunAfterStop: an a2atop that quits (or hands its store to
// another a2atop) while a command runs stops it; the next engine must not
// run the command a second time behind the user's back.
func TestExecNotRerunAfterStop(t *testing.T) {
	ex := newTestExec(t, ExecOptions{Grace: 300 * time.Millisecond})
	store := engine.NewMemoryStore()
	t.Cleanup(func() { store.Close() })
	eng, err := engine.New(store, ex, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Each run of the command appends a line to runs.
	res, err := eng.Send(ctx, &a2a.SendRequest{
		Message: userMessage("", "echo run >> runs; echo $$ > sh.pid; exec sleep 30"),
		Config:  a2a.SendConfig{ReturnImmediately: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	pids := waitPIDs(t, ex.Dir(), "sh.pid")
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		assertGone(t, pid)
	}

	eng2, err := engine.New(store, ex, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng2.Close() })
	var task *a2a.Task
	for deadline := time.Now().Add(30 * time.Second); ; {
		if task, err = eng2.Get(ctx, a2a.GetRequest{ID: res.Task.ID}); err != nil {
			t.Fatal(err)
		}
		if task.Status.State.Terminal() || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if task.Status.State != a2a.StateFailed || !strings.Contains(statusText(task), "a2atop stopped while it ran") {
		t.Fatalf("after a stop: %s %q, want failed without a second run", task.Status.State, statusText(task))
	}
	runs, err := os.ReadFile(filepath.Join(ex.Dir(), "runs"))
	if err != nil || strings.Count(string(runs), "run") != 1 {
		t.Fatalf("the command ran %d times (%v), want once", strings.Count(string(runs), "run"), err)
	}
}
