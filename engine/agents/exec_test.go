//go:build unix

package agents

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func newTestExec(t *testing.T, opts ExecOptions) *Exec {
	t.Helper()
	e, err := NewExec(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestExecCompletes(t *testing.T) {
	e := newTestExec(t, ExecOptions{})
	if err := os.WriteFile(filepath.Join(e.Dir(), "marker.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	err := e.Execute(context.Background(), request("ls; echo one; echo two >&2; printf 'no newline'", 1), rec)
	if err != nil {
		t.Fatal(err)
	}
	if state, reason := rec.outcome(); state != "completed" || reason != "exit status 0" {
		t.Fatalf("outcome = %s %q", state, reason)
	}
	out := rec.artifactText(outputArtifactID)
	for _, want := range []string{"marker.txt", "one\n", "two\n", "no newline"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output %q lacks %q", out, want)
		}
	}
}

func TestExecFailsWithCodeAndLastStderrLine(t *testing.T) {
	e := newTestExec(t, ExecOptions{})
	rec := &recorder{}
	if err := e.Execute(context.Background(), request("echo first >&2; echo 'cannot frobnicate' >&2; exit 3", 1), rec); err != nil {
		t.Fatal(err)
	}
	if state, reason := rec.outcome(); state != "failed" || reason != "exit status 3: cannot frobnicate" {
		t.Fatalf("outcome = %s %q", state, reason)
	}
}

func TestExecRejectsEmptyAndDoesNotRerun(t *testing.T) {
	e := newTestExec(t, ExecOptions{})
	rec := &recorder{}
	if err := e.Execute(context.Background(), request("   ", 1), rec); err != nil {
		t.Fatal(err)
	}
	if state, _ := rec.outcome(); state != "rejected" {
		t.Fatalf("empty command: %s", state)
	}
	rec = &recorder{}
	marker := filepath.Join(e.Dir(), "ran")
	if err := e.Execute(context.Background(), request("touch ran", 2), rec); err != nil {
		t.Fatal(err)
	}
	if state, reason := rec.outcome(); state != "failed" || !strings.Contains(reason, "not running the command again") {
		t.Fatalf("attempt 2: %s %q", state, reason)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the command ran on attempt 2: %v", err)
	}
}

func TestExecNewExecChecksDir(t *testing.T) {
	if _, err := NewExec(filepath.Join(t.TempDir(), "missing"), ExecOptions{}); err == nil {
		t.Fatal("missing directory accepted")
	}
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewExec(f, ExecOptions{}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("file as directory: %v", err)
	}
}

func TestExecChunksAndTruncates(t *testing.T) {
	e := newTestExec(t, ExecOptions{ChunkSize: 1000, MaxOutput: 5000})
	rec := &recorder{}
	// 20,000 bytes of output, with multi-byte characters to cut through.
	if err := e.Execute(context.Background(), request(`i=0; while [ $i -lt 2000 ]; do printf 'é12345678'; i=$((i+1)); done`, 1), rec); err != nil {
		t.Fatal(err)
	}
	if state, _ := rec.outcome(); state != "completed" {
		t.Fatalf("state %s", state)
	}
	for _, p := range rec.arts[outputArtifactID] {
		if len(p.Text) > 1000+200 {
			t.Fatalf("chunk of %d bytes exceeds the chunk size", len(p.Text))
		}
		if strings.ContainsRune(p.Text, '\uFFFD') {
			t.Fatalf("chunk split a character: %q", p.Text)
		}
	}
	out := rec.artifactText(outputArtifactID)
	if !strings.Contains(out, "[output truncated: only the first 5000 bytes were kept]") {
		t.Fatalf("no truncation note in %d bytes", len(out))
	}
	if len(out) > 5000+200 {
		t.Fatalf("output %d bytes exceeds the cap", len(out))
	}
}

func TestExecStatusFollowsOutput(t *testing.T) {
	e := newTestExec(t, ExecOptions{StatusEvery: time.Millisecond})
	rec := &recorder{}
	// The second line only comes once the first one was reported as the
	// status, so the status must follow the output while it runs.
	done := make(chan error, 1)
	go func() {
		done <- e.Execute(context.Background(), request(`echo first-line; while [ ! -e go ]; do sleep 0.01; done; echo second-line`, 1), rec)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for rec.count("status: first-line") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no status for the first line: %q", rec.events)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := os.WriteFile(filepath.Join(e.Dir(), "go"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if state, _ := rec.outcome(); state != "completed" {
		t.Fatalf("state %s", state)
	}
	if !strings.Contains(rec.artifactText(outputArtifactID), "first-line\nsecond-line\n") {
		t.Fatalf("output %q", rec.artifactText(outputArtifactID))
	}
}

func TestExecCancelKillsProcessGroup(t *testing.T) {
	e := newTestExec(t, ExecOptions{Grace: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	rec := &recorder{}
	done := make(chan error, 1)
	// The shell starts a child that ignores SIGTERM and a plain sleep; both
	// must be gone after the cancel.
	go func() {
		done <- e.Execute(ctx, request(`trap '' TERM; sleep 30 & echo $! > bg.pid; echo $$ > sh.pid; sleep 30`, 1), rec)
	}()
	pids := waitPIDs(t, e.Dir(), "sh.pid", "bg.pid")
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Execute did not return after cancel")
	}
	for _, pid := range pids {
		assertGone(t, pid)
	}
}

func waitPIDs(t *testing.T, dir string, names ...string) []int {
	t.Helper()
	var pids []int
	deadline := time.Now().Add(10 * time.Second)
	for _, name := range names {
		for {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil && pid > 0 {
				pids = append(pids, pid)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never appeared", name)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return pids
}

// assertGone checks that pid no longer runs (a zombie awaiting its reaper
// counts as gone: it runs nothing).
func assertGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := syscall.Kill(pid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return
		}
		if b, rerr := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); rerr == nil {
			if f := strings.Fields(string(b)); len(f) > 2 && f[2] == "Z" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs after cancel", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestExecBackgroundProcessDoesNotHoldTheTask(t *testing.T) {
	e := newTestExec(t, ExecOptions{})
	rec := &recorder{}
	// The shell exits at once, but its background child keeps the output
	// pipe open: the task still ends, and the child is stopped with it.
	if err := e.Execute(context.Background(), request("sleep 30 & echo $! > bg.pid; echo started", 1), rec); err != nil {
		t.Fatal(err)
	}
	if state, reason := rec.outcome(); state != "completed" || !strings.Contains(reason, "exit status 0") {
		t.Fatalf("outcome = %s %q", state, reason)
	}
	if !strings.Contains(rec.artifactText(outputArtifactID), "started") {
		t.Fatalf("output %q", rec.artifactText(outputArtifactID))
	}
	assertGone(t, waitPIDs(t, e.Dir(), "bg.pid")[0])
}
