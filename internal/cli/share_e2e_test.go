//go:build unix

package cli

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/internal/testkit/binary"
)

// background is an a2atop process the test started and waits for.
type background struct {
	cmd      *exec.Cmd
	mu       sync.Mutex
	out, err bytes.Buffer
	done     chan struct{}
	code     int
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// startBinary starts the built a2atop on db and kills it at the end of the
// test if it is still running.
func startBinary(t *testing.T, db string, args ...string) *background {
	t.Helper()
	b := &background{cmd: exec.Command(binary.Build(t), args...), done: make(chan struct{})}
	b.cmd.Env = append(os.Environ(), "A2ATOP_DB="+db)
	b.cmd.Stdout = lockedWriter{&b.mu, &b.out}
	b.cmd.Stderr = lockedWriter{&b.mu, &b.err}
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(b.done)
		err := b.cmd.Wait()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			b.code = ee.ExitCode()
		case err != nil:
			b.code = -1
		}
	}()
	t.Cleanup(func() {
		select {
		case <-b.done:
		default:
			_ = b.cmd.Process.Kill()
			<-b.done
		}
	})
	return b
}

func (b *background) output() (stdout, stderr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.out.String(), b.err.String()
}

// wait waits for the process to exit and checks its status.
func (b *background) wait(t *testing.T, want int) (stdout, stderr string) {
	t.Helper()
	select {
	case <-b.done:
	case <-time.After(60 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
		out, errOut := b.output()
		t.Fatalf("a2atop %q did not exit\nstdout:\n%s\nstderr:\n%s", b.cmd.Args[1:], out, errOut)
	}
	out, errOut := b.output()
	if b.code != want {
		t.Fatalf("a2atop %q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", b.cmd.Args[1:], b.code, want, out, errOut)
	}
	return out, errOut
}

// pollUntil retries cond until it holds, with a generous safety bound.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func socketExists(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode().Type() == fs.ModeSocket
}

// A blocking send hosts the engine; list and send from other processes go
// through its socket while it runs, instead of failing with "in use".
func TestBinarySharesTheEngineOfABlockingSend(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tasks.db")
	sock := db + ".sock"
	host := startBinary(t, db, "send", "slow", "500")
	pollUntil(t, "the host's socket", func() bool { return socketExists(sock) })
	fi, err := os.Lstat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("socket mode %v, want 0600", perm)
	}

	// The socket is up before the host's send has created its task: list
	// until the task shows, working.
	pollUntil(t, "list through the socket to show the host's task working", func() bool {
		return strings.Contains(runBinary(t, db, exitOK, "list").stdout, "working")
	})
	r := runBinary(t, db, exitOK, "send", "echo", "hi from another process")
	if !strings.Contains(r.stdout, "state     completed") || !strings.Contains(r.stdout, "hi from another process") {
		t.Fatalf("send through the socket:\n%s\n%s", r.stdout, r.stderr)
	}
	// The exec agent was named here, but the host's demo agent runs it.
	r = runBinary(t, db, exitOK, "send", "--agent", "exec", "echo", "x")
	if !strings.Contains(r.stderr, "whose demo agent runs the tasks") {
		t.Fatalf("no notice about the host's agent: %q", r.stderr)
	}
	echo := decodeTask(t, runBinary(t, db, exitOK, "send", "--json", "echo", "seen").stdout)
	r = runBinary(t, db, exitOK, "get", echo.ID)
	if !strings.Contains(r.stdout, "state     completed") {
		t.Fatalf("get through the socket:\n%s", r.stdout)
	}

	if err := host.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	host.wait(t, exitInterrupted)
	if _, err := os.Lstat(sock); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the host left its socket: %v", err)
	}
}

// A host killed with SIGKILL leaves its socket; the next a2atop replaces it.
func TestBinaryReplacesAStaleSocket(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tasks.db")
	sock := db + ".sock"
	host := startBinary(t, db, "send", "forever")
	pollUntil(t, "the host's socket", func() bool { return socketExists(sock) })
	if err := host.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-host.done
	if !socketExists(sock) {
		t.Fatal("the killed host's socket is gone: nothing stale to replace")
	}
	before, err := os.Lstat(sock)
	if err != nil {
		t.Fatal(err)
	}

	next := startBinary(t, db, "send", "slow", "500")
	pollUntil(t, "a new socket", func() bool {
		fi, err := os.Lstat(sock)
		return err == nil && !os.SameFile(fi, before)
	})
	r := runBinary(t, db, exitOK, "send", "echo", "after the crash")
	if !strings.Contains(r.stdout, "state     completed") {
		t.Fatalf("send through the new host:\n%s\n%s", r.stdout, r.stderr)
	}
	if err := next.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	next.wait(t, exitInterrupted)
}

// The host exits while another process's blocking send waits on it: that
// process takes the store over and its send completes.
func TestBinaryClientTakesOverWhenTheHostExits(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tasks.db")
	sock := db + ".sock"
	host := startBinary(t, db, "send", "slow", "500")
	pollUntil(t, "the host's socket", func() bool { return socketExists(sock) })
	client := startBinary(t, db, "send", "--json", "slow", "20")
	// Both tasks run on the host's engine.
	pollUntil(t, "two working tasks", func() bool {
		r := runBinary(t, db, exitOK, "list", "--state", "working")
		return strings.Contains(r.stdout, "2 task(s)")
	})
	if err := host.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	host.wait(t, exitInterrupted)
	out, errOut := client.wait(t, exitOK)
	task := decodeTask(t, out)
	if task.Status.State != a2a.StateCompleted || task.Status.Message.Text() != "done after 20 steps" {
		t.Fatalf("the carried-over send:\n%s\n%s", out, errOut)
	}
	if !strings.Contains(errOut, "now runs the tasks") {
		t.Fatalf("stderr of the process that took over: %q", errOut)
	}
	// One task per send: the carried-over send did not start another.
	r := runBinary(t, db, exitOK, "list")
	if !strings.Contains(r.stdout, "2 task(s)") {
		t.Fatalf("list after the takeover:\n%s", r.stdout)
	}
}

// The host is killed (SIGKILL: no clean close) while another process's
// blocking send waits on it: that process takes the store over, replaces
// the stale socket, runs the task again under the restart rules, and its
// send completes.
func TestBinaryClientTakesOverWhenTheHostIsKilled(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tasks.db")
	sock := db + ".sock"
	host := startBinary(t, db, "send", "forever")
	pollUntil(t, "the host's socket", func() bool { return socketExists(sock) })
	client := startBinary(t, db, "send", "--json", "slow", "20")
	pollUntil(t, "two working tasks", func() bool {
		r := runBinary(t, db, exitOK, "list", "--state", "working")
		return strings.Contains(r.stdout, "2 task(s)")
	})
	if err := host.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-host.done
	out, errOut := client.wait(t, exitOK)
	task := decodeTask(t, out)
	if task.Status.State != a2a.StateCompleted || task.Status.Message.Text() != "done after 20 steps" {
		t.Fatalf("the send carried over from a killed host:\n%s\n%s", out, errOut)
	}
	if !strings.Contains(errOut, "now runs the tasks") {
		t.Fatalf("stderr of the process that took over: %q", errOut)
	}
	if _, err := os.Lstat(sock); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the successor left a socket behind: %v", err)
	}
}
