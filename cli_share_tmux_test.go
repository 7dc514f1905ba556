//go:build unix

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// These tests run the dashboard in a real terminal (tmux), as ui's
// end-to-end tests do, to see tasks that other a2atop processes send on the
// same store. Without tmux they skip, except in CI, where they fail.

type shareTerm struct {
	t      *testing.T
	socket string
}

func startShareTerm(t *testing.T, argv ...string) *shareTerm {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end terminal test skipped in -short mode")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tmux is required in CI for the dashboard's end-to-end tests")
		}
		t.Skip("tmux is not installed: end-to-end terminal test skipped")
	}
	tm := &shareTerm{t: t, socket: fmt.Sprintf("a2atop-share-%d-%d", os.Getpid(), time.Now().UnixNano())}
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	script := strings.Join(quoted, " ") + "; echo A2ATOP-EXITED-$?; sleep 60"
	tm.run("new-session", "-d", "-x", "120", "-y", "40", "-e", "NO_COLOR=1", "sh", "-c", script)
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", tm.socket, "kill-server").Run() })
	return tm
}

func (tm *shareTerm) run(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", tm.socket}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// waitFor polls the screen (bounded) until every marker shows.
func (tm *shareTerm) waitFor(markers ...string) string {
	tm.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := tm.run("capture-pane", "-p", "-t", "0")
		missing := false
		for _, m := range markers {
			if !strings.Contains(s, m) {
				missing = true
			}
		}
		if !missing {
			return s
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("timed out waiting for %q; screen:\n%s", markers, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Two dashboards and a CLI on one store: the first dashboard hosts the
// engine, the second uses it, both show a send from the CLI live; when the
// first quits, the second takes the engine over and keeps showing sends.
func TestDashboardsShareTheEngine(t *testing.T) {
	bin := buildBinary(t)
	db := filepath.Join(t.TempDir(), "tasks.db")
	first := startShareTerm(t, bin, "--db", db)
	first.waitFor("hosting the engine · demo agent", "no tasks yet")
	second := startShareTerm(t, bin, "--db", db)
	second.waitFor("engine of a2atop pid")

	runBinary(t, db, exitOK, "send", "slow", "3")
	first.waitFor("done after 3 steps")
	second.waitFor("done after 3 steps")

	first.run("send-keys", "-t", "0", "q")
	first.waitFor("A2ATOP-EXITED-0")
	second.waitFor("hosting the engine · demo agent")

	runBinary(t, db, exitOK, "send", "slow", "4")
	second.waitFor("done after 4 steps")
	second.run("send-keys", "-t", "0", "q")
	second.waitFor("A2ATOP-EXITED-0")
	if _, err := os.Lstat(db + ".sock"); !os.IsNotExist(err) {
		t.Fatalf("the last dashboard left its socket: %v", err)
	}
}
