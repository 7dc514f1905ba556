package localshare

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/internal/testkit"
)

// waitWorking waits until the host lists a working task and returns it.
func waitWorking(t *testing.T, l *Local) *a2a.Task {
	t.Helper()
	var task *a2a.Task
	testkit.Eventually(t, "a working task", func() bool {
		page, err := l.List(context.Background(), a2a.ListRequest{State: a2a.StateWorking})
		if err != nil || len(page.Tasks) == 0 {
			return false
		}
		task = page.Tasks[0]
		return true
	})
	return task
}

func TestClientTakesOverABlockingSend(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tasks.db")
	host := open(t, path, demoOptions(t))
	var roles []Role
	var mu sync.Mutex
	opts := demoOptions(t)
	opts.OnRole = func(r Role) { mu.Lock(); roles = append(roles, r); mu.Unlock() }
	cl := open(t, path, opts)

	type result struct {
		res *a2a.SendResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := cl.Send(ctx, sendReq("slow 60"))
		done <- result{res, err}
	}()
	running := waitWorking(t, host)
	if err := host.Close(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("send carried over: %v", r.err)
	}
	if r.res.Task == nil || r.res.Task.ID != running.ID || r.res.Task.Status.State != a2a.StateCompleted {
		t.Fatalf("send carried over returned %+v, want task %s completed", r.res.Task, running.ID)
	}
	if role := cl.Role(); role.Kind != Host || role.Socket != path+".sock" {
		t.Fatalf("after the host left, role %+v, want host", role)
	}
	mu.Lock()
	if len(roles) != 1 || roles[0].Kind != Host {
		t.Fatalf("OnRole heard %+v, want one change to host", roles)
	}
	mu.Unlock()
	// One task: the carried-over send did not start a second one.
	page, err := cl.List(ctx, a2a.ListRequest{})
	if err != nil || len(page.Tasks) != 1 {
		t.Fatalf("tasks after the takeover: %+v, %v", page, err)
	}
}

func TestOneClientHostsTheOthersConnect(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tasks.db")
	host := open(t, path, demoOptions(t))
	a := open(t, path, demoOptions(t))
	b := open(t, path, demoOptions(t))
	if err := host.Close(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "a new host", func() bool {
		ka, kb := a.Role().Kind, b.Role().Kind
		return (ka == Host && kb == Client) || (ka == Client && kb == Host)
	})
	for _, l := range []*Local{a, b} {
		res, err := l.Send(ctx, sendReq("echo after the takeover"))
		if err != nil || res.Task.Status.State != a2a.StateCompleted {
			t.Fatalf("send after the takeover (%s): %+v, %v", l.Role(), res, err)
		}
	}
	// The successor's clients see each other's tasks.
	pa, err := a.List(ctx, a2a.ListRequest{})
	if err != nil || len(pa.Tasks) != 2 {
		t.Fatalf("list after the takeover: %+v, %v", pa, err)
	}
}

func TestStreamAndWatchCarryOver(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tasks.db")
	host := open(t, path, demoOptions(t))
	cl := open(t, path, demoOptions(t))

	watch, err := cl.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	s, err := cl.Stream(ctx, sendReq("slow 60"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first, err := s.Recv()
	if err != nil {
		t.Fatal(err)
	}
	task, err := a2a.Apply(nil, first.Event)
	if err != nil {
		t.Fatal(err)
	}
	waitWorking(t, host)
	if err := host.Close(); err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("stream carried over: %v", err)
		}
		if next, err := a2a.Apply(task, ev.Event); err == nil {
			task = next
		}
	}
	if task.Status.State != a2a.StateCompleted {
		t.Fatalf("stream carried over ended at %s", task.Status.State)
	}

	// The watch follows the new host: a task sent now shows up on it.
	res, err := cl.Send(ctx, sendReq("echo watched"))
	if err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := watch.Recv()
		if err != nil {
			t.Fatalf("watch carried over: %v", err)
		}
		if id := eventTaskID(ev.Event); id == res.Task.ID {
			break
		}
	}
}

func eventTaskID(ev a2a.Event) string {
	switch e := ev.(type) {
	case *a2a.Task:
		return e.ID
	case *a2a.StatusUpdateEvent:
		return e.TaskID
	case *a2a.ArtifactUpdateEvent:
		return e.TaskID
	}
	return ""
}

// Many blocking sends from two clients are in flight when the host
// leaves: every one completes, on its own task, and no task is doubled.
func TestConcurrentSendsSurviveATakeover(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tasks.db")
	host := open(t, path, demoOptions(t))
	clients := []*Local{open(t, path, demoOptions(t)), open(t, path, demoOptions(t))}
	const perClient = 8
	var wg sync.WaitGroup
	errs := make(chan error, 2*perClient)
	ids := make(chan string, 2*perClient)
	for _, cl := range clients {
		for range perClient {
			wg.Go(func() {
				res, err := cl.Send(ctx, sendReq("slow 60"))
				switch {
				case err != nil:
					errs <- err
				case res.Task == nil:
					errs <- errors.New("a send returned no task")
				case res.Task.Status.State != a2a.StateCompleted:
					errs <- errors.New("a send ended " + res.Task.Status.State.String())
				default:
					ids <- res.Task.ID
				}
			})
		}
	}
	testkit.Eventually(t, "every send to be working", func() bool {
		page, err := host.List(ctx, a2a.ListRequest{State: a2a.StateWorking})
		return err == nil && len(page.Tasks) == 2*perClient
	})
	if err := host.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	close(ids)
	for err := range errs {
		t.Error(err)
	}
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Errorf("two sends got task %s", id)
		}
		seen[id] = true
	}
	page, err := clients[0].List(ctx, a2a.ListRequest{})
	if err != nil || len(page.Tasks) != 2*perClient {
		t.Fatalf("tasks after the takeover: %d, %v; want %d", len(page.Tasks), err, 2*perClient)
	}
}

// A Watch carried over from a host that left to this process's own engine
// misses no event and repeats none: its cursors are the log's, in order.
func TestWatchCarriedOverMatchesTheLog(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tasks.db")
	host := open(t, path, demoOptions(t))
	// Some history before the watch starts, which it must not repeat.
	before, err := host.Send(ctx, sendReq("echo before"))
	if err != nil {
		t.Fatal(err)
	}
	history := lastCursorOf(t, host, before.Task.ID)
	cl := open(t, path, demoOptions(t))
	watch, err := cl.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	// The reader hands every event over; the test reads them afterwards.
	type item struct {
		ev  a2a.StreamEvent
		err error
	}
	events := make(chan item, 100000)
	go func() {
		for {
			ev, err := watch.Recv()
			events <- item{ev, err}
			if err != nil {
				return
			}
		}
	}()

	done := make(chan error, 1)
	go func() {
		_, err := cl.Send(ctx, sendReq("slow 60"))
		done <- err
	}()
	waitWorking(t, host)
	if err := host.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// A last task on the new host; its end closes the record.
	res, err := cl.Send(ctx, sendReq("echo end"))
	if err != nil {
		t.Fatal(err)
	}
	var cursors []uint64
	for {
		it := <-events
		if it.err != nil {
			t.Fatalf("watch carried over: %v (after %d events)", it.err, len(cursors))
		}
		c, err := strconv.ParseUint(it.ev.Cursor, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		cursors = append(cursors, c)
		if st, ok := it.ev.Event.(*a2a.StatusUpdateEvent); ok && st.TaskID == res.Task.ID && st.Status.State.Terminal() {
			break
		}
	}
	if cursors[0] != history+1 {
		t.Fatalf("the watch began at cursor %d, want %d (the first after what was there)", cursors[0], history+1)
	}
	// The log from the first cursor the watch saw to its last, as this
	// process's engine (the new host) keeps it.
	logWatch, err := cl.Watch(ctx, strconv.FormatUint(cursors[0]-1, 10))
	if err != nil {
		t.Fatal(err)
	}
	defer logWatch.Close()
	last := cursors[len(cursors)-1]
	var want []uint64
	for {
		ev, err := logWatch.Recv()
		if err != nil {
			t.Fatal(err)
		}
		c, _ := strconv.ParseUint(ev.Cursor, 10, 64)
		want = append(want, c)
		if c >= last {
			break
		}
	}
	if fmt.Sprint(cursors) != fmt.Sprint(want) {
		t.Fatalf("the watch across the takeover saw cursors\n%v\nthe log has\n%v", cursors, want)
	}
}

// lastCursorOf reads the log from its start up to the final event of task
// id, and returns that event's cursor.
func lastCursorOf(t *testing.T, l *Local, id string) uint64 {
	t.Helper()
	w, err := l.Watch(context.Background(), a2a.CursorStart)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for {
		ev, err := w.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if st, ok := ev.Event.(*a2a.StatusUpdateEvent); ok && st.TaskID == id && st.Status.State.Terminal() {
			c, err := strconv.ParseUint(ev.Cursor, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
	}
}
