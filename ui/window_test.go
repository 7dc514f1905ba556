package ui

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/client"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/agents"
	"github.com/a2atop/a2atop/internal/testkit/a2apeer"
	"github.com/a2atop/a2atop/localstore"
)

// The windowed table (paging.go, window.go) over a fake service of
// bigService's 5,000 tasks, t04999 the newest.

// maxHeld is the most rows a window of one agent may hold at any time.
const maxHeld = windowRows + listPageSize

// taskNumber is n of task "t0000n".
func taskNumber(t *testing.T, id string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimPrefix(id, "t"))
	if err != nil {
		t.Fatalf("task id %q", id)
	}
	return n
}

// checkContiguous: the rows held are one unbroken run of the store's
// order, as a window must be.
func checkContiguous(t *testing.T, m *Model) {
	t.Helper()
	ids := visibleIDs(m)
	for i := 1; i < len(ids); i++ {
		if taskNumber(t, ids[i-1]) != taskNumber(t, ids[i])+1 {
			t.Fatalf("rows held are not contiguous at %d: %s then %s", i, ids[i-1], ids[i])
		}
	}
}

// columnHeader is the table's column header line of a screen.
func columnHeader(screen string) string {
	for _, line := range strings.Split(screen, "\n") {
		if strings.Contains(line, "STATUS") {
			return line
		}
	}
	return ""
}

// Paging down to the oldest task and back up to the newest holds a
// bounded window all the way, lists the dropped pages again on the way
// back, and the header counts the rows out of the window.
func TestWindowScrollsDownAndBack(t *testing.T) {
	const n = 5000
	f := bigService(n)
	m := newTestModel(t, f, 200, 30)
	drain(t, m, m.Init(), nil)
	for i := 0; i < 2*n/m.table.height && (m.table.selected() == nil || m.table.selected().id != "t00000"); i++ {
		press(t, m, "pgdown")
		if len(m.table.rows.byKey) > maxHeld {
			t.Fatalf("after %d pgdown: %d rows held", i+1, len(m.table.rows.byKey))
		}
	}
	if r := m.table.selected(); r == nil || r.id != "t00000" {
		t.Fatalf("paging down ended at %v", r)
	}
	checkContiguous(t, m)
	v := screen(m)
	if want := fmt.Sprintf("↑ %d more", n-m.table.height); !strings.Contains(v, want) || strings.Contains(columnHeader(v), "↓") {
		t.Fatalf("header at the bottom: want %q and no ↓:\n%s", want, v)
	}
	if want := fmt.Sprintf("row %d of %d", n, n); !strings.Contains(v, want) {
		t.Fatalf("header at the bottom: want %q:\n%s", want, v)
	}
	lists := len(f.lists)
	for i := 0; i < 2*n/m.table.height && m.table.selected().id != "t04999"; i++ {
		press(t, m, "pgup")
		if len(m.table.rows.byKey) > maxHeld {
			t.Fatalf("after %d pgup: %d rows held", i+1, len(m.table.rows.byKey))
		}
	}
	if r := m.table.selected(); r == nil || r.id != "t04999" {
		t.Fatalf("paging up ended at %v", r)
	}
	if len(f.lists) == lists {
		t.Fatal("paging up listed no dropped page again")
	}
	checkContiguous(t, m)
	if v := screen(m); strings.Contains(columnHeader(v), "↑") || !strings.Contains(v, fmt.Sprintf("↓ %d more", len(m.table.rows.visible)-m.table.height+m.table.beyondBelow)) || !strings.Contains(v, "row 1 of 5000") {
		t.Fatalf("header back at the top:\n%s", v)
	}
}

// G lists oldest first: one page, the oldest task selected; k then pages
// in the newer tasks above; g lists from the newest again.
func TestWindowGListsOldestFirst(t *testing.T) {
	const n = 5000
	f := bigService(n)
	m := newTestModel(t, f, 200, 30)
	drain(t, m, m.Init(), nil)
	f.listed = 0
	press(t, m, "G")
	if r := m.table.selected(); r == nil || r.id != "t00000" {
		t.Fatalf("G selected %v", r)
	}
	if f.listed > 2*listPageSize+len(a2a.States())+1 || !slices.ContainsFunc(f.lists, func(r a2a.ListRequest) bool { return r.Reverse }) {
		t.Fatalf("G fetched %d tasks, lists %+v", f.listed, f.lists)
	}
	if v := screen(m); !strings.Contains(v, fmt.Sprintf("↑ %d more", n-m.table.height)) || !strings.Contains(v, "row 5000 of 5000") {
		t.Fatalf("header after G:\n%s", v)
	}
	for range 400 {
		press(t, m, "k")
	}
	if r := m.table.selected(); r == nil || r.id != "t00400" {
		t.Fatalf("400 k after G selected %v", r)
	}
	checkContiguous(t, m)
	press(t, m, "g")
	if r := m.table.selected(); r == nil || r.id != "t04999" || f.lists[len(f.lists)-1].Reverse {
		t.Fatalf("g selected %v", r)
	}
	checkContiguous(t, m)
}

// A service that lists newest first only (a remote agent): G pages to the
// end, holding one window, and selects the oldest task.
func TestWindowGNewestFirstOnly(t *testing.T) {
	const n = 5000
	f := bigService(n)
	f.noOrder = true
	m := newTestModel(t, f, 200, 30)
	drain(t, m, m.Init(), nil)
	press(t, m, "G")
	if r := m.table.selected(); r == nil || r.id != "t00000" || len(m.table.rows.byKey) > maxHeld {
		t.Fatalf("G selected %v with %d rows held", r, len(m.table.rows.byKey))
	}
	checkContiguous(t, m)
	if !m.fleet[0].noReverse {
		t.Fatal("the refusal to list oldest first was not kept")
	}
	if v := screen(m); !strings.Contains(v, fmt.Sprintf("↑ %d more", n-m.table.height)) {
		t.Fatalf("header after G:\n%s", v)
	}
}

// Live changes: at the head a new task joins the window; away from the
// head (after G) a new task is counted above it, and the selected task
// stays. A task of the window that changes leaves it (counted above) in
// the order of the last change, and stays in creation order (AGE, the
// default), where a change moves no task.
func TestWindowLiveChanges(t *testing.T) {
	t.Run("updated", func(t *testing.T) { testWindowLiveChanges(t, true) })
	t.Run("created", func(t *testing.T) { testWindowLiveChanges(t, false) })
}

func testWindowLiveChanges(t *testing.T, byUpdate bool) {
	const n = 5000
	f := bigService(n)
	m := newTestModel(t, f, 200, 30)
	drain(t, m, m.Init(), nil)
	if byUpdate {
		press(t, m, "U")
	}
	if m.fleet[0].list.byCreated == byUpdate {
		t.Fatalf("listing by creation: %v, sorted by update: %v", m.fleet[0].list.byCreated, byUpdate)
	}
	live := func(id string, st a2a.TaskState) {
		t.Helper()
		ev := a2a.StreamEvent{Event: task(id, st, "", 0)}
		_, cmd := m.Update(eventsMsg{events: []a2a.StreamEvent{ev}})
		drain(t, m, cmd, nil)
	}
	live("t09000", a2a.StateSubmitted)
	if _, held := m.fleet[0].list.keySet()[rowKey{0, "t09000"}]; m.table.rows.byKey[rowKey{0, "t09000"}] == nil || !held {
		t.Fatal("a new task did not join the window at the head")
	}
	press(t, m, "G")
	above := m.table.beyondAbove
	live("t09001", a2a.StateSubmitted)
	if m.table.rows.byKey[rowKey{0, "t09001"}] != nil || m.table.beyondAbove != above+1 {
		t.Fatalf("a new task away from the head: held %v, above %d (was %d)", m.table.rows.byKey[rowKey{0, "t09001"}] != nil, m.table.beyondAbove, above)
	}
	live("t00005", a2a.StateFailed)
	moved := 1
	if byUpdate {
		moved = 2
	}
	if held := m.table.rows.byKey[rowKey{0, "t00005"}] != nil; held == byUpdate || m.table.beyondAbove != above+moved {
		t.Fatalf("a task of the window changed: held %v, above %d (was %d)", held, m.table.beyondAbove, above)
	}
	live("t00000", a2a.StateFailed)
	if r := m.table.selected(); r == nil || r.id != "t00000" || r.state != a2a.StateFailed {
		t.Fatalf("the selected task changed: selection %v", r)
	}
	// (By update the selected task, changed last, shows at the top.)
	if v := screen(m); !byUpdate && !strings.Contains(v, fmt.Sprintf("↑ %d more", above+moved+len(m.table.rows.visible)-m.table.height)) {
		t.Fatalf("header:\n%s", v)
	}
}

// A marked task whose page was dropped is still canceled with the marks.
func TestWindowMarksOutlastTheWindow(t *testing.T) {
	f := bigService(5000)
	for _, id := range []string{"t04999", "t04998"} {
		f.tasks[id].Status.State = a2a.StateWorking
	}
	m := newTestModel(t, f, 200, 30)
	drain(t, m, m.Init(), nil)
	press(t, m, "space", "space")
	press(t, m, "G")
	if m.table.rows.byKey[rowKey{0, "t04999"}] != nil {
		t.Fatal("the marked rows are still held after G")
	}
	press(t, m, "x")
	if m.dialogs.open != dialogConfirmCancel || !slices.Equal(m.dialogs.cancelKeys, []rowKey{{0, "t04998"}, {0, "t04999"}}) {
		t.Fatalf("x: dialog %v keys %v", m.dialogs.open, m.dialogs.cancelKeys)
	}
	press(t, m, "y")
	if !slices.Contains(f.canceled, "t04999") || !slices.Contains(f.canceled, "t04998") {
		t.Fatalf("canceled %v", f.canceled)
	}
}

// The header says when a sort or filter covers only the rows loaded,
// and not when the store answers it or every task is held.
func TestWindowHeaderSaysWhatIsLoaded(t *testing.T) {
	m := newTestModel(t, bigService(5000), 160, 30)
	drain(t, m, m.Init(), nil)
	if v := screen(m); !strings.Contains(v, "sort: created ·") {
		t.Fatalf("created order from the store:\n%s", v)
	}
	// A service that lists by the last change only (a remote agent).
	f := bigService(5000)
	f.noOrder = true
	remote := newTestModel(t, f, 160, 30)
	drain(t, remote, remote.Init(), nil)
	held := len(remote.table.rows.byKey)
	if v := screen(remote); !strings.Contains(v, fmt.Sprintf("sort: created (over the %d loaded)", held)) || !remote.fleet[0].noCreated {
		t.Fatalf("created order over a window:\n%s", v)
	}
	press(t, m, "U")
	if v := screen(m); !strings.Contains(v, "sort: updated ·") {
		t.Fatalf("the store's order:\n%s", v)
	}
	typeCommand(t, m, "state failed")
	if v := screen(m); !strings.Contains(v, "filter: failed (over the") {
		t.Fatalf("a filter of two states:\n%s", v)
	}
	_, small := seeded(t, 160, 30)
	if v := screen(small); strings.Contains(v, "loaded") {
		t.Fatalf("every task held:\n%s", v)
	}
}

// G on a real store (a bbolt file through localstore and the engine) of
// 10,000 tasks selects the oldest task after listing a page or two, not
// every task; g goes back to the newest the same way.
func TestWindowGOnLocalStore(t *testing.T) {
	const n = 10_000
	path := filepath.Join(t.TempDir(), "tasks.db")
	buildScaleStore(t, path, n)
	store, err := localstore.Open(path, localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(store, agents.NewDemo(), engine.Options{Retention: 100 * 365 * 24 * time.Hour, SweepInterval: 100 * 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close(); store.Close() })
	svc := &countingService{Service: eng}
	m := newTestModel(t, svc, 160, 40)
	drain(t, m, m.Init(), nil)
	newest := scaleCommit(n-1, time.Time{}).Record.Task.ID
	if r := m.table.selected(); r == nil || r.id != newest {
		t.Fatalf("first screen selected %v, want %s", r, newest)
	}
	svc.lists, svc.tasks = 0, 0
	press(t, m, "G")
	oldest := scaleCommit(0, time.Time{}).Record.Task.ID
	if r := m.table.selected(); r == nil || r.id != oldest {
		t.Fatalf("G selected %v, want the oldest task %s", r, oldest)
	}
	// One page from the oldest end (and the counts' one-task pages).
	if svc.tasks > 2*listPageSize+len(a2a.States())+1 || len(m.table.rows.byKey) > maxHeld {
		t.Fatalf("G fetched %d tasks in %d lists; %d rows held", svc.tasks, svc.lists, len(m.table.rows.byKey))
	}
	if v := screen(m); !strings.Contains(v, fmt.Sprintf("row %d of %d", n, n)) {
		t.Fatalf("header after G:\n%s", v)
	}
	press(t, m, "g")
	if r := m.table.selected(); r == nil || r.id != newest {
		t.Fatalf("g selected %v, want %s", r, newest)
	}
}

// G on a remote agent (a real a2a-go server through the client, which
// lists newest first only) pages forward to its end holding one window,
// and selects the oldest task.
func TestWindowGOnRemoteAgent(t *testing.T) {
	const n = 2500
	peer := a2apeer.Start(t, a2apeer.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := peer.Seed(ctx, n); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(ctx, peer.URL(), client.Options{Protocol: "1.0", NoJournal: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	svc := &countingService{Service: c}
	m := newTestModel(t, svc, 160, 40)
	drain(t, m, m.Init(), nil)
	// drain runs each List in this goroutine, between two Updates.
	most := 0
	svc.before = func() { most = max(most, len(m.table.rows.byKey)) }
	press(t, m, "G")
	if r := m.table.selected(); r == nil || r.message != "echo seed 0" {
		t.Fatalf("G selected %+v, want the oldest task (echo seed 0)", r)
	}
	if most > maxHeld || svc.tasks < n {
		t.Fatalf("G held up to %d rows, fetched %d tasks", most, svc.tasks)
	}
}

// Creation order on a real store (a bbolt file through localstore and
// the engine) whose tasks were updated in the reverse of their creation:
// the AGE order (the default) is the store's, not the rows loaded sorted.
// The first screen shows the newest created task, G the oldest created
// (the newest updated) after one page, g the newest again, and the header
// does not say the sort covers the rows loaded only.
func TestWindowCreatedOrderOnLocalStore(t *testing.T) {
	const n = 3000
	path := filepath.Join(t.TempDir(), "tasks.db")
	s, err := localstore.Open(path, localstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	id := func(i int) string {
		ms := base.UnixMilli() + int64(i)
		return fmt.Sprintf("%08x-%04x-7000-8000-%012x", ms>>16, ms&0xffff, i)
	}
	for i := range n {
		c := scaleCommit(i, base)
		tk := c.Record.Task.Clone()
		tk.ID = id(i)
		tk.Status.Timestamp = base.Add(time.Hour - time.Duration(i)*time.Millisecond)
		c.Record = &engine.Record{Task: tk, Created: base.Add(time.Duration(i) * time.Millisecond), Updated: tk.Status.Timestamp, Attempts: 1, LastSeq: 1}
		c.Events[0].TaskID, c.Events[0].Event, c.MessageIDs = tk.ID, tk, nil
		if err := s.Commit(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	eng, err := engine.New(s, agents.NewDemo(), engine.Options{Retention: 100 * 365 * 24 * time.Hour, SweepInterval: 100 * 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close(); s.Close() })
	svc := &countingService{Service: eng}
	m := newTestModel(t, svc, 160, 40)
	drain(t, m, m.Init(), nil)
	if r := m.table.selected(); r == nil || r.id != id(n-1) {
		t.Fatalf("first screen selected %v, want the newest created %s", r, id(n-1))
	}
	v := screen(m)
	if !strings.Contains(v, "sort: created ·") {
		t.Fatalf("header:\n%s", v)
	}
	svc.lists, svc.tasks = 0, 0
	press(t, m, "G")
	if r := m.table.selected(); r == nil || r.id != id(0) {
		t.Fatalf("G selected %v, want the oldest created %s", r, id(0))
	}
	if svc.tasks > 2*listPageSize+len(a2a.States())+1 || len(m.table.rows.byKey) > maxHeld {
		t.Fatalf("G fetched %d tasks in %d lists; %d rows held", svc.tasks, svc.lists, len(m.table.rows.byKey))
	}
	// The rows held are one run of creation order, the oldest at the bottom.
	got := visibleIDs(m)
	for i, rid := range got {
		if want := id(len(got) - 1 - i); rid != want {
			t.Fatalf("row %d after G is %s, want %s", i, rid, want)
		}
	}
	if v := screen(m); !strings.Contains(v, fmt.Sprintf("row %d of %d", n, n)) || strings.Contains(v, "loaded)") {
		t.Fatalf("header after G:\n%s", v)
	}
	press(t, m, "g")
	if r := m.table.selected(); r == nil || r.id != id(n-1) {
		t.Fatalf("g selected %v, want %s", r, id(n-1))
	}
}
