package agents

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/internal/testkit"
)

const envOrphanDir = "A2ATOP_EXEC_ORPHAN_DIR"

// TestExecOrphanChild is the child process of TestExecCommandDiesWithA2atop:
// an engine with the exec agent starts a long command, then waits to be
// killed.
func TestExecOrphanChild(t *testing.T) {
	dir := os.Getenv(envOrphanDir)
	if dir == "" {
		t.Skip("runs only as TestExecCommandDiesWithA2atop's child process")
	}
	ex, err := NewExec(dir, ExecOptions{})
	if err != nil {
		t.Fatal(err)
	}
	store := engine.NewMemoryStore()
	eng, err := engine.New(store, ex, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The shell writes its pid, then becomes sleep under that same pid.
	msg := userMessage("", "echo $$ > pid.tmp && mv pid.tmp pid && exec sleep 300")
	if _, err := eng.Send(context.Background(), &a2a.SendRequest{Message: msg, Config: a2a.SendConfig{ReturnImmediately: true}}); err != nil {
		t.Fatal(err)
	}
	select {} // until the parent's SIGKILL
}

// TestExecCommandDiesWithA2atop: an a2atop killed with SIGKILL runs no
// cleanup, so the kernel must end the command it was running; otherwise
// the command outlives the task, which the next a2atop reports interrupted.
func TestExecCommandDiesWithA2atop(t *testing.T) {
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^TestExecOrphanChild$", "-test.count=1")
	child.Env = append(os.Environ(), envOrphanDir+"="+dir)
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })

	var pid int
	testkit.Eventually(t, "the command to write its pid", func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "pid"))
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	if !processRunning(pid) {
		t.Fatalf("command %d is not running before the kill", pid)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	testkit.Eventually(t, fmt.Sprintf("command %d to die with its a2atop", pid), func() bool { return !processRunning(pid) })
}

// processRunning reports whether pid is alive; a zombie (dead, waiting for
// its new parent to reap it) counts as gone.
func processRunning(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
