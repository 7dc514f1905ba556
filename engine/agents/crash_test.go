//go:build unix

package agents

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/localstore"
)

// The crash test: a child process (this test binary, re-executed) runs the
// real engine with the demo agent on a bbolt file and sends 1,000 tasks
// across every state (echo completes, slow works for a while, ask waits for
// input, forever never ends); the parent kills it with SIGKILL at a chosen
// point, reopens the file, and checks that every acknowledged send is there,
// that the store is consistent, and that the restart rules hold.

const (
	crashTasks       = 1000
	crashMaxAttempts = 2
	envCrashMode     = "A2ATOP_CRASH_CHILD"
	envCrashDB       = "A2ATOP_CRASH_DB"
)

var crashKinds = []string{"echo crash", "ask", "slow 3", "forever"}

func kindOf(text string) string { return strings.Fields(text)[0] }

// TestCrashChild is the child's body; it does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	mode := os.Getenv(envCrashMode)
	if mode == "" {
		t.Skip("runs only as the crash test's child process")
	}
	store, err := localstore.Open(os.Getenv(envCrashDB), localstore.Options{})
	if err != nil {
		fmt.Printf("error open: %v\n", err)
		os.Exit(1)
	}
	// MaxRunning leaves room for a queue behind the forever tasks.
	eng, err := engine.New(store, &Demo{StepInterval: 200 * time.Millisecond, TickInterval: 500 * time.Millisecond},
		engine.Options{MaxRunning: 150, MaxAttempts: crashMaxAttempts})
	if err != nil {
		fmt.Printf("error engine: %v\n", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(os.Stdout, format+"\n", args...)
	}
	if mode == "resume" {
		// Wait until resumed tasks run again, so that the kill interrupts
		// second attempts.
		for {
			page, err := eng.List(context.Background(), a2a.ListRequest{State: a2a.StateWorking, PageSize: a2a.MaxPageSize})
			if err != nil {
				say("error list: %v", err)
				os.Exit(1)
			}
			if len(page.Tasks) >= 100 {
				say("running again")
				select {} // run until killed
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 16; w++ {
		wg.Go(func() {
			for i := range next {
				text := crashKinds[i%len(crashKinds)]
				res, err := eng.Send(ctx, &a2a.SendRequest{
					Message: a2a.Message{ID: fmt.Sprintf("crash-msg-%d", i), Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart(text)}},
					Config:  a2a.SendConfig{ReturnImmediately: true},
				})
				if err != nil {
					say("error send %d: %v", i, err)
					continue
				}
				// Printed only after Send returned: the task is acknowledged.
				say("ack %s %s", res.Task.ID, kindOf(text))
			}
		})
	}
	for i := 0; i < crashTasks; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	say("all sent")
	select {} // run until killed
}

// crashChild runs a child in mode on db and kills it with SIGKILL once
// killWhen says so; it returns the acknowledged tasks (id → kind).
func crashChild(t *testing.T, mode, db string, killWhen func(acks int, line string) bool) map[string]string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envCrashMode+"="+mode, envCrashDB+"="+db)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]string{}
	killed := false
	timeout := time.AfterFunc(3*time.Minute, func() { _ = cmd.Process.Kill() })
	defer timeout.Stop()
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		switch {
		case len(f) == 3 && f[0] == "ack":
			acked[f[1]] = f[2]
		case strings.HasPrefix(line, "error"):
			t.Errorf("child: %s", line)
		}
		if !killed && killWhen(len(acked), line) {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("the child ended before the kill point: %v", err)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want SIGKILL", cmd.ProcessState)
	}
	return acked
}

func TestCrashKillPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test is long")
	}
	points := []struct {
		name string
		kill func(acks int, line string) bool
		// resumeKill, when set, runs a second child that resumes the store
		// and is killed too, so that the retries run out.
		resumeKill bool
	}{
		{"after the first ack", func(n int, _ string) bool { return n >= 1 }, false},
		{"after 300 acks", func(n int, _ string) bool { return n >= 300 }, false},
		{"after all 1000 acks", func(_ int, line string) bool { return line == "all sent" }, false},
		{"twice, the second time while resuming", func(_ int, line string) bool { return line == "all sent" }, true},
	}
	for _, p := range points {
		t.Run(p.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "crash.db")
			acked := crashChild(t, "send", db, p.kill)
			if len(acked) == 0 {
				t.Fatal("no send was acknowledged")
			}
			if p.resumeKill {
				crashChild(t, "resume", db, func(_ int, line string) bool { return line == "running again" })
			}
			checkAfterCrash(t, db, acked, p.resumeKill)
		})
	}
}

// checkAfterCrash reopens db and checks the acknowledged tasks and the
// restart rules.
func checkAfterCrash(t *testing.T, db string, acked map[string]string, resumed bool) {
	t.Helper()
	ctx := context.Background()
	store, err := localstore.Open(db, localstore.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer store.Close()
	if err := store.Check(); err != nil {
		t.Fatalf("consistency check after SIGKILL: %v", err)
	}
	before := map[string]*engine.Record{}
	states := map[a2a.TaskState]int{}
	for id := range acked {
		rec, err := store.Get(ctx, id)
		if err != nil {
			t.Fatalf("acknowledged task %s is missing: %v", id, err)
		}
		before[id] = rec
		states[rec.Task.Status.State]++
	}
	t.Logf("%d acknowledged tasks at the kill: %v", len(acked), states)

	eng, err := engine.New(store, NewDemo(), engine.Options{MaxRunning: crashTasks, MaxAttempts: crashMaxAttempts})
	if err != nil {
		t.Fatalf("engine over the reopened store: %v", err)
	}
	defer eng.Close()

	// Right after the restart: waiting tasks still wait, tasks whose
	// attempts ran out failed as interrupted, finished ones are unchanged.
	interrupted := 0
	for id, rec := range before {
		got, err := eng.Get(ctx, a2a.GetRequest{ID: id})
		if err != nil {
			t.Fatal(err)
		}
		prev := rec.Task.Status.State
		wasRunning := rec.Running || prev == a2a.StateWorking
		switch {
		case prev.Terminal() || prev.Interrupted():
			if got.Status.State != prev {
				t.Fatalf("task %s (%s) went from %s to %s on restart", id, acked[id], prev, got.Status.State)
			}
		case wasRunning && rec.Attempts >= crashMaxAttempts:
			interrupted++
			if got.Status.State != a2a.StateFailed || got.Status.Message.Text() != engine.ReasonInterrupted {
				t.Fatalf("task %s ran out of attempts but is %s %q", id, got.Status.State, got.Status.Message.Text())
			}
		}
	}
	t.Logf("%d tasks failed as interrupted (attempts used up)", interrupted)
	if resumed && interrupted == 0 {
		t.Fatal("after two kills no task ran out of attempts: the second kill came too early to test that rule")
	}

	// Then every task that was queued, submitted or working runs again and
	// reaches what its command does.
	deadline := time.Now().Add(2 * time.Minute)
	for id, kind := range acked {
		rec := before[id]
		prev := rec.Task.Status.State
		if prev.Terminal() || prev.Interrupted() || ((rec.Running || prev == a2a.StateWorking) && rec.Attempts >= crashMaxAttempts) {
			continue
		}
		want := map[string]a2a.TaskState{"echo": a2a.StateCompleted, "slow": a2a.StateCompleted, "ask": a2a.StateInputRequired, "forever": a2a.StateWorking}[kind]
		for {
			got, err := eng.Get(ctx, a2a.GetRequest{ID: id})
			if err != nil {
				t.Fatal(err)
			}
			if got.Status.State == want && (kind != "forever" || strings.HasPrefix(got.Status.Message.Text(), "tick ")) {
				break
			}
			if got.Status.State.Terminal() {
				t.Fatalf("task %s (%s, was %s) ended %s %q after the restart", id, kind, prev, got.Status.State, got.Status.Message.Text())
			}
			if time.Now().After(deadline) {
				t.Fatalf("task %s (%s, was %s) did not run again: %s %q", id, kind, prev, got.Status.State, got.Status.Message.Text())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
