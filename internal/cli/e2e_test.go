//go:build unix

package cli

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/internal/testkit/binary"
)

func TestMain(m *testing.M) {
	code := m.Run()
	binary.Remove()
	os.Exit(code)
}

// runBinary runs the built a2atop against db and checks its exit status.
func runBinary(t *testing.T, db string, wantCode int, args ...string) cliRun {
	t.Helper()
	cmd := exec.Command(binary.Build(t), args...)
	cmd.Env = append(os.Environ(), "A2ATOP_DB="+db)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	r := cliRun{code: code, stdout: out.String(), stderr: errOut.String()}
	if code != wantCode {
		t.Fatalf("a2atop %q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, wantCode, r.stdout, r.stderr)
	}
	return r
}

func TestBinaryEndToEnd(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tasks.db")

	r := runBinary(t, db, exitOK, "send", "echo", "hello from the binary")
	if !strings.Contains(r.stdout, "state     completed") || !strings.Contains(r.stdout, "hello from the binary") {
		t.Fatalf("send echo:\n%s", r.stdout)
	}
	echo := decodeTask(t, runBinary(t, db, exitOK, "send", "--json", "echo", "json").stdout)
	if echo.Status.State != a2a.StateCompleted || a2a.PartsText(echo.Artifacts[0].Parts) != "json" {
		t.Fatalf("send --json: %+v", echo)
	}

	ask := decodeTask(t, runBinary(t, db, exitOK, "send", "--json", "ask").stdout)
	r = runBinary(t, db, exitOK, "list", "--state", "input-required")
	if !strings.Contains(r.stdout, ask.ID) {
		t.Fatalf("list --state input-required:\n%s", r.stdout)
	}
	r = runBinary(t, db, exitOK, "send", "--task", ask.ID, "next Tuesday")
	if !strings.Contains(r.stdout, "Target date recorded: next Tuesday") {
		t.Fatalf("answer:\n%s", r.stdout)
	}
	r = runBinary(t, db, exitOK, "get", ask.ID)
	if !strings.Contains(r.stdout, "state     completed") {
		t.Fatalf("get:\n%s", r.stdout)
	}

	forever := decodeTask(t, runBinary(t, db, exitOK, "send", "--no-wait", "--json", "forever").stdout)
	r = runBinary(t, db, exitOK, "cancel", forever.ID)
	if !strings.Contains(r.stdout, "state     canceled") {
		t.Fatalf("cancel:\n%s", r.stdout)
	}

	slow := decodeTask(t, runBinary(t, db, exitOK, "send", "--no-wait", "--json", "slow", "2").stdout)
	r = runBinary(t, db, exitOK, "subscribe", slow.ID)
	if !strings.Contains(r.stdout, "step 2/2") || !strings.Contains(r.stdout, "state     completed") {
		t.Fatalf("subscribe:\n%s", r.stdout)
	}

	runBinary(t, db, exitTaskFailed, "send", "fail")
	runBinary(t, db, exitTaskFailed, "get", "no-such-task")
	runBinary(t, db, exitUsage, "send", "--nope", "echo")
	runBinary(t, db, exitUsage, "nope")

	r = runBinary(t, t.TempDir(), exitUnreachable, "list")
	oneErrorLine(t, r, "is a directory")
	garbage := filepath.Join(t.TempDir(), "garbage.db")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runBinary(t, garbage, exitUnreachable, "get", "x")
	oneErrorLine(t, r, "not an a2atop task store")
}

func TestBinarySIGINTStopsWaiting(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tasks.db")
	cmd := exec.Command(binary.Build(t), "send", "forever")
	cmd.Env = append(os.Environ(), "A2ATOP_DB="+db)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The signal handler is installed before the store is opened, so once
	// the file exists SIGINT is handled.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(db); err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("the store never appeared")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Fatalf("exit: %v, want status 130; stderr %q", err, errOut.String())
	}
	if !strings.Contains(errOut.String(), "the task was not canceled") {
		t.Fatalf("stderr %q", errOut.String())
	}
	// The store was closed cleanly: the next run opens it at once.
	r := runBinary(t, db, exitOK, "list")
	if strings.Contains(r.stdout, "canceled") {
		t.Fatalf("list after SIGINT:\n%s", r.stdout)
	}
}
