package localstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
)

// Tests that need a second process re-execute the test binary with
// childEnv set to a mode; TestMain runs the mode instead of the tests.
const (
	childEnv     = "A2ATOP_LOCALSTORE_CHILD"
	childPathEnv = "A2ATOP_LOCALSTORE_CHILD_PATH"
	childRunEnv  = "A2ATOP_LOCALSTORE_CHILD_RUN"
	// childLifetime bounds every child, should its parent die without
	// killing it.
	childLifetime = 2 * time.Minute
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	code := m.Run()
	cleanupBenchFixtures()
	os.Exit(code)
}

func runChild(mode string) int {
	path := os.Getenv(childPathEnv)
	var err error
	switch mode {
	case "hold":
		err = childHold(path)
	case "crash":
		err = childCrash(path, os.Getenv(childRunEnv))
	case "rss":
		err = childRSS(path)
	default:
		err = fmt.Errorf("unknown child mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

// startChild starts the test binary in a child mode, with its stdout piped.
func startChild(t testing.TB, mode, path string, env ...string) (*exec.Cmd, io.WriteCloser, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, childPathEnv+"="+path)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, stdin, bufio.NewReader(stdout)
}

// childHold opens the store, says "ready", and holds it until its stdin
// closes.
func childHold(path string) error {
	s, err := Open(path, Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Println("ready")
	released := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(released)
	}()
	select {
	case <-released:
	case <-time.After(childLifetime):
	}
	return nil
}

func TestOpenInUseByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tasks.db")
	cmd, stdin, stdout := startChild(t, "hold", path)
	line, err := stdout.ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("child said %q, %v", line, err)
	}
	start := time.Now()
	_, err = Open(path, Options{}) // the default lock timeout, 1s
	elapsed := time.Since(start)
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("Open = %v, want ErrInUse", err)
	}
	for _, want := range []string{path, "in use by another a2atop process", "close that a2atop", "--db"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// A loose bound: the point is that Open gives up instead of hanging.
	if elapsed > 20*time.Second {
		t.Errorf("Open took %v to give up", elapsed)
	}
	t.Logf("second process refused after %v: %v", elapsed.Round(time.Millisecond), err)
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open after the other process closed: %v", err)
	}
	s.Close()
}

// The crash child commits tasks through their lifecycle from several
// goroutines and prints "ack <task> <seq> <cursor> <state> <message id>"
// after each commit returned. Tasks end in every state, and some stay
// unfinished, so the store holds tasks in all states when it is killed.
func childCrash(path, run string) error {
	s, err := Open(path, Options{})
	if err != nil {
		return err
	}
	ctx := context.Background()
	last, err := s.LastCursor(ctx)
	if err != nil {
		return err
	}
	var cursor atomic.Uint64
	cursor.Store(last)
	var outMu sync.Mutex
	ack := func(id string, seq, cur uint64, state a2a.TaskState, msgID string) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(os.Stdout, "ack %s %d %d %s %s\n", id, seq, cur, state, msgID)
	}
	lifecycles := [][]a2a.TaskState{
		{a2a.StateSubmitted, a2a.StateWorking, a2a.StateCompleted},
		{a2a.StateSubmitted, a2a.StateWorking, a2a.StateFailed},
		{a2a.StateSubmitted, a2a.StateWorking, a2a.StateInputRequired, a2a.StateWorking, a2a.StateCompleted},
		{a2a.StateSubmitted, a2a.StateCanceled},
		{a2a.StateSubmitted, a2a.StateRejected},
		{a2a.StateSubmitted, a2a.StateWorking, a2a.StateAuthRequired},
		{a2a.StateSubmitted, a2a.StateWorking},
		{a2a.StateSubmitted},
	}
	errs := make(chan error, 1)
	for w := range 8 {
		go func() {
			for n := 0; ; n++ {
				id := fmt.Sprintf("r%s-w%d-%d", run, w, n)
				var task *a2a.Task
				for seq, state := range lifecycles[(w+n)%len(lifecycles)] {
					at := time.Now()
					status := a2a.TaskStatus{State: state, Timestamp: at,
						Message: &a2a.Message{ID: fmt.Sprintf("%s-s%d", id, seq+1), Role: a2a.RoleAgent, TaskID: id, ContextID: "ctx-" + run, Parts: []a2a.Part{a2a.TextPart(string(state))}}}
					var ev a2a.Event
					if task == nil {
						task = &a2a.Task{ID: id, ContextID: "ctx-" + run, Status: status,
							History: []a2a.Message{{ID: id + "-m", Role: a2a.RoleUser, TaskID: id, Parts: []a2a.Part{a2a.TextPart("do " + id)}}}}
						ev = task
					} else {
						su := &a2a.StatusUpdateEvent{TaskID: id, ContextID: "ctx-" + run, Status: status}
						next, err := a2a.Apply(task, su)
						if err != nil {
							errs <- err
							return
						}
						task, ev = next, su
					}
					cur := cursor.Add(1)
					c := &engine.Commit{
						Record:     &engine.Record{Task: task, Created: at, Updated: at, Attempts: 1, LastSeq: uint64(seq + 1), Running: state == a2a.StateWorking},
						Events:     []engine.LoggedEvent{{TaskID: id, Seq: uint64(seq + 1), Cursor: cur, Time: at, Event: ev}},
						MessageIDs: []string{id + "-m"},
					}
					if err := s.Commit(ctx, c); err != nil {
						errs <- err
						return
					}
					ack(id, uint64(seq+1), cur, state, id+"-m")
				}
			}
		}()
	}
	select {
	case err := <-errs:
		return err
	case <-time.After(childLifetime):
		return errors.New("never killed")
	}
}

type ackLine struct {
	id           string
	seq, cursor  uint64
	state, msgID string
}

func parseAck(line string) (ackLine, error) {
	f := strings.Fields(line)
	if len(f) != 6 || f[0] != "ack" {
		return ackLine{}, fmt.Errorf("bad ack line %q", line)
	}
	seq, err1 := strconv.ParseUint(f[2], 10, 64)
	cur, err2 := strconv.ParseUint(f[3], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return ackLine{}, fmt.Errorf("bad ack line %q: %w", line, err)
	}
	return ackLine{id: f[1], seq: seq, cursor: cur, state: f[4], msgID: f[5]}, nil
}

// TestCrash kills a committing process with SIGKILL at several points, on
// the same file each time, and checks that every acknowledged commit is
// there and the file is consistent.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes with fsync")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tasks.db")
	var all []ackLine
	for run, killAfter := range []int{50, 300, 1000} {
		cmd, _, stdout := startChild(t, "crash", path, fmt.Sprintf("%s=%d", childRunEnv, run))
		var acks []ackLine
		for len(acks) < killAfter {
			line, err := stdout.ReadString('\n')
			if err != nil {
				t.Fatalf("run %d: child ended after %d acks: %v", run, len(acks), err)
			}
			a, err := parseAck(line)
			if err != nil {
				t.Fatal(err)
			}
			acks = append(acks, a)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		// Acks the child printed before it died count too.
		for {
			line, err := stdout.ReadString('\n')
			if err != nil {
				break
			}
			if a, err := parseAck(line); err == nil {
				acks = append(acks, a)
			}
		}
		_ = cmd.Wait()
		all = append(all, acks...)

		s, err := Open(path, Options{})
		if err != nil {
			t.Fatalf("run %d: reopen after SIGKILL: %v", run, err)
		}
		if err := s.Check(); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		verifyAcks(t, ctx, s, all)
		unfinished, err := s.Unfinished(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("run %d: killed after %d acks (%d in all); %d unfinished tasks in the store", run, len(acks), len(all), len(unfinished))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func verifyAcks(t *testing.T, ctx context.Context, s *Store, acks []ackLine) {
	t.Helper()
	var maxCursor uint64
	for _, a := range acks {
		maxCursor = max(maxCursor, a.cursor)
		rec, err := s.Get(ctx, a.id)
		if err != nil {
			t.Fatalf("acknowledged task %s: %v", a.id, err)
		}
		if rec.LastSeq < a.seq {
			t.Fatalf("task %s: last seq %d, but seq %d was acknowledged", a.id, rec.LastSeq, a.seq)
		}
		evs, err := s.Events(ctx, a.id, a.seq-1)
		if err != nil || len(evs) == 0 || evs[0].Seq != a.seq || evs[0].Cursor != a.cursor {
			t.Fatalf("task %s: event %d (cursor %d) missing: %+v, %v", a.id, a.seq, a.cursor, evs, err)
		}
		var state a2a.TaskState
		switch ev := evs[0].Event.(type) {
		case *a2a.Task:
			state = ev.Status.State
		case *a2a.StatusUpdateEvent:
			state = ev.Status.State
		}
		if string(state) != a.state {
			t.Fatalf("task %s event %d: state %s, acknowledged %s", a.id, a.seq, state, a.state)
		}
		if id, ok, err := s.TaskForMessage(ctx, a.msgID); err != nil || !ok || id != a.id {
			t.Fatalf("message %s: %q %v %v", a.msgID, id, ok, err)
		}
	}
	if cur, err := s.LastCursor(ctx); err != nil || cur < maxCursor {
		t.Fatalf("LastCursor = %d, %v; acknowledged up to %d", cur, err, maxCursor)
	}
}
