package localshare

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/agents"
	"github.com/a2atop/a2atop/localstore"
)

func demoOptions(t testing.TB) Options {
	return Options{
		NewExecutor: func() (engine.Executor, error) {
			return &agents.Demo{StepInterval: 50 * time.Millisecond, TickInterval: 50 * time.Millisecond}, nil
		},
		Agent:  "demo",
		Getenv: func(string) string { return "" },
		Warn:   func(msg string) { t.Logf("warning: %s", msg) },
	}
}

func open(t *testing.T, path string, opts Options) *Local {
	t.Helper()
	l, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func sendReq(text string) *a2a.SendRequest {
	return &a2a.SendRequest{Message: a2a.Message{ID: uuid.NewString(), Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart(text)}}}
}

func TestHostAndClientShareOneEngine(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tasks.db")
	host := open(t, path, demoOptions(t))
	if r := host.Role(); r.Kind != Host || r.PID != os.Getpid() || r.Socket != path+".sock" {
		t.Fatalf("first Open: role %+v, want host sharing on %s", r, path+".sock")
	}
	fi, err := os.Lstat(path + ".sock")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, want a socket with 0600", fi.Mode())
	}

	// The host watches from now; the client's send must show up there.
	watch, err := host.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()

	cl := open(t, path, demoOptions(t))
	if r := cl.Role(); r.Kind != Client || r.PID != os.Getpid() || r.Agent != "demo" {
		t.Fatalf("second Open: role %+v, want client of this pid", r)
	}
	res, err := cl.Send(ctx, sendReq("echo through the socket"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Task == nil || res.Task.Status.State != a2a.StateCompleted {
		t.Fatalf("send through the socket: %+v", res)
	}
	id := res.Task.ID
	got, err := host.Get(ctx, a2a.GetRequest{ID: id})
	if err != nil || got.Status.State != a2a.StateCompleted {
		t.Fatalf("host Get(%s) = %+v, %v", id, got, err)
	}
	for {
		ev, err := watch.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if task, ok := ev.Event.(*a2a.Task); ok && task.ID == id {
			break
		}
		if st, ok := ev.Event.(*a2a.StatusUpdateEvent); ok && st.TaskID == id {
			break
		}
	}

	// The client's timeline comes from the host's event log.
	tl, err := cl.Timeline(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want, err := host.Timeline(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(tl) != len(want) || len(tl) < 2 {
		t.Fatalf("client timeline has %d events, host's %d", len(tl), len(want))
	}
	if _, err := cl.Timeline(ctx, "no-such-task"); !errors.Is(err, a2a.ErrTaskNotFound) {
		t.Fatalf("timeline of an unknown task: %v, want ErrTaskNotFound", err)
	}
	// A genuine error through the socket is passed on, not taken for the
	// host's going away.
	if _, err := cl.Get(ctx, a2a.GetRequest{ID: "no-such-task"}); !errors.Is(err, a2a.ErrTaskNotFound) {
		t.Fatalf("Get unknown through the socket: %v", err)
	}
	if r := cl.Role(); r.Kind != Client {
		t.Fatalf("after an error the client's role is %+v", r)
	}

	// A stream through the socket.
	s, err := cl.Stream(ctx, sendReq("slow 3"))
	if err != nil {
		t.Fatal(err)
	}
	var last *a2a.Task
	for {
		ev, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if next, err := a2a.Apply(last, ev.Event); err == nil {
			last = next
		}
	}
	s.Close()
	if last == nil || last.Status.State != a2a.StateCompleted {
		t.Fatalf("stream through the socket ended at %+v", last)
	}
}

func TestReadOnlyReadsTheStoreOrTheSocket(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tasks.db")
	opts := demoOptions(t)
	first := open(t, path, opts)
	res, err := first.Send(ctx, sendReq("echo one"))
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	// Free store: read directly, no engine, no socket.
	ro, err := Open(ctx, path, Options{ReadOnly: true, Getenv: opts.Getenv})
	if err != nil {
		t.Fatal(err)
	}
	if r := ro.Role(); r.Kind != Reader {
		t.Fatalf("read-only on a free store: role %+v", r)
	}
	if _, err := os.Lstat(path + ".sock"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a reader must not serve: %v", err)
	}
	if got, err := ro.Get(ctx, a2a.GetRequest{ID: res.Task.ID}); err != nil || got.ID != res.Task.ID {
		t.Fatalf("reader Get = %v, %v", got, err)
	}
	if _, err := ro.Send(ctx, sendReq("echo no")); !errors.Is(err, a2a.ErrUnsupported) {
		t.Fatalf("reader Send = %v, want ErrUnsupported", err)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}

	// Store in use: read through the host's socket.
	host := open(t, path, opts)
	ro, err = Open(ctx, path, Options{ReadOnly: true, Getenv: opts.Getenv})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if r := ro.Role(); r.Kind != Client {
		t.Fatalf("read-only on a hosted store: role %+v", r)
	}
	page, err := ro.List(ctx, a2a.ListRequest{})
	if err != nil || len(page.Tasks) != 1 || page.Tasks[0].ID != res.Task.ID {
		t.Fatalf("List through the socket = %+v, %v", page, err)
	}
	_ = host
}

func TestStaleSocketIsReplaced(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tasks.db")
	// A socket left by a host that was killed: bound, never unlinked.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path + ".sock", Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()

	host := open(t, path, demoOptions(t))
	if r := host.Role(); r.Kind != Host || r.Socket == "" {
		t.Fatalf("role %+v, want host sharing", r)
	}
	cl := open(t, path, demoOptions(t))
	if r := cl.Role(); r.Kind != Client {
		t.Fatalf("client after a stale socket: role %+v", r)
	}
	if _, err := cl.Send(ctx, sendReq("echo after stale")); err != nil {
		t.Fatal(err)
	}
	if err := cl.Close(); err != nil {
		t.Fatal(err)
	}
	if err := host.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path + ".sock"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the host left its socket behind: %v", err)
	}
}

func TestRegularFileAtSocketPathIsKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tasks.db")
	if err := os.WriteFile(path+".sock", []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), path, demoOptions(t))
	if err == nil || !strings.Contains(err.Error(), path+".sock") || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("Open = %v, want an error naming the file", err)
	}
	if b, err := os.ReadFile(path + ".sock"); err != nil || string(b) != "mine" {
		t.Fatalf("the user's file was touched: %q, %v", b, err)
	}
	// The store was released: it opens again once the file is gone.
	os.Remove(path + ".sock")
	l := open(t, path, demoOptions(t))
	if l.Role().Kind != Host {
		t.Fatalf("role %+v", l.Role())
	}
}

func TestInUseWithoutSocketFailsClearly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tasks.db")
	st, err := localstore.Open(path, localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	opts := demoOptions(t)
	opts.OpenTimeout = 300 * time.Millisecond
	_, err = Open(context.Background(), path, opts)
	if !errors.Is(err, localstore.ErrInUse) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "--db") {
		t.Fatalf("Open = %v, want ErrInUse naming the store and what to do", err)
	}
}

func TestLongPathHostsUnshared(t *testing.T) {
	dir := t.TempDir()
	for len(dir) < 120 {
		dir = filepath.Join(dir, strings.Repeat("d", 20))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tasks.db")
	var warned []string
	var mu sync.Mutex
	opts := demoOptions(t)
	opts.Warn = func(s string) { mu.Lock(); warned = append(warned, s); mu.Unlock() }
	l := open(t, path, opts)
	if r := l.Role(); r.Kind != Host || r.Socket != "" {
		t.Fatalf("role %+v, want an unshared host", r)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(warned) != 1 || !strings.Contains(warned[0], "cannot share") {
		t.Fatalf("warnings %q, want one", warned)
	}
	if _, err := l.Send(context.Background(), sendReq("echo long")); err != nil {
		t.Fatal(err)
	}
}

func TestLongPathSharesInRuntimeDir(t *testing.T) {
	dir := t.TempDir()
	for len(dir) < 120 {
		dir = filepath.Join(dir, strings.Repeat("d", 20))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// A short runtime directory, as $XDG_RUNTIME_DIR is.
	rt, err := os.MkdirTemp("", "rt")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(rt)
	path := filepath.Join(dir, "tasks.db")
	opts := demoOptions(t)
	opts.Getenv = func(k string) string {
		if k == "XDG_RUNTIME_DIR" {
			return rt
		}
		return ""
	}
	host := open(t, path, opts)
	r := host.Role()
	if r.Kind != Host || !strings.HasPrefix(r.Socket, rt) {
		t.Fatalf("role %+v, want a socket in %s", r, rt)
	}
	cl := open(t, path, opts)
	if cl.Role().Kind != Client {
		t.Fatalf("client role %+v", cl.Role())
	}
}

// A process that holds the store for a moment without sharing it (a
// read-only `a2atop list`) makes Open wait, not fail.
func TestOpenWaitsForABriefHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tasks.db")
	st, err := localstore.Open(path, localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	time.AfterFunc(300*time.Millisecond, func() { st.Close(); close(released) })
	opts := demoOptions(t)
	opts.OpenTimeout = time.Minute
	l := open(t, path, opts)
	<-released
	if l.Role().Kind != Host {
		t.Fatalf("role %+v, want host once the holder let go", l.Role())
	}
}
