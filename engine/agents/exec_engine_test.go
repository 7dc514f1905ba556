//go:build unix

package agents

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
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
