package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/client"
	"github.com/a2atop/a2atop/internal/testkit/binary"
	"github.com/a2atop/a2atop/server"
)

// lockedBuffer is a stderr that the serving goroutine writes while the test
// reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var servingURL = regexp.MustCompile(`at (http://127\.0\.0\.1:\d+)/ `)

// TestServeCommand runs `a2atop serve` in-process on a real bbolt file:
// the token is enforced, our client works through it, one log line per
// request with -v, and SIGINT (the context) stops it with an open stream,
// leaving the store closed and intact.
func TestServeCommand(t *testing.T) {
	db := tempDB(t)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var stderr lockedBuffer
	c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, getenv: func(k string) string {
		if k == "A2ATOP_URL" {
			return "http://192.0.2.1:9" // must be ignored by serve
		}
		return ""
	}}
	exit := make(chan int, 1)
	go func() {
		exit <- c.main(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", db, "--token", "tok", "-v"})
	}()

	var base string
	deadline := time.Now().Add(20 * time.Second)
	for base == "" {
		if m := servingURL.FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case code := <-exit:
			t.Fatalf("serve exited %d: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	// The card is public, so discovery works without the token; calls do not.
	anon, err := client.New(ctx, base, client.Options{NoJournal: true})
	if err != nil {
		t.Fatalf("discovery without token: %v", err)
	}
	if _, err := anon.Get(ctx, a2a.GetRequest{ID: "x"}); err == nil || errors.Is(err, a2a.ErrTaskNotFound) {
		t.Fatalf("get without token: %v, want an auth error", err)
	}
	if feed := anon.Discovery().WatchFeed; feed != base+server.WatchPath {
		t.Errorf("discovered watch feed %q, want %s", feed, base+server.WatchPath)
	}
	anon.Close()
	var out strings.Builder
	dc := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: io.Discard, getenv: func(string) string { return "" }}
	if code := dc.main(ctx, []string{"discover", base}); code != exitOK || !strings.Contains(out.String(), "live feed of every task at "+base+server.WatchPath) {
		t.Errorf("discover exit %d:\n%s", code, out.String())
	}
	cl, err := client.New(ctx, base, client.Options{NoJournal: true, Headers: http.Header{"Authorization": {"Bearer tok"}}})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	defer cl.Close()
	res, err := cl.Send(ctx, &a2a.SendRequest{Message: a2a.Message{ID: "m1", Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart("echo served")}}})
	if err != nil || res.Task == nil || res.Task.Status.State != a2a.StateCompleted {
		t.Fatalf("send: %+v %v", res, err)
	}
	echoID := res.Task.ID
	res, err = cl.Send(ctx, &a2a.SendRequest{Message: a2a.Message{ID: "m2", Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart("forever")}}, Config: a2a.SendConfig{ReturnImmediately: true}})
	if err != nil || res.Task == nil {
		t.Fatalf("send forever: %+v %v", res, err)
	}
	sub, err := cl.Subscribe(ctx, res.Task.ID)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer sub.Close()
	if _, err := sub.Recv(); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if !strings.Contains(stderr.String(), "rpc=SendMessage") {
		t.Fatalf("no request log line with -v: %s", stderr.String())
	}

	stop() // what SIGINT does through run()
	select {
	case code := <-exit:
		if code != exitOK || !strings.Contains(stderr.String(), "a2atop: stopped") {
			t.Fatalf("serve exited %d: %s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not stop: %s", stderr.String())
	}

	// The store was closed cleanly: another command opens it and finds the task.
	r := mustRun(t, db, exitOK, "get", "--json", echoID)
	if !strings.Contains(r.stdout, "served") {
		t.Fatalf("get after serve: %+v", r)
	}
}

func TestServeRefusesUnsafeSetups(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--addr", "0.0.0.0:0"}, "not a loopback address"},
		{[]string{"serve", "--addr", ":0"}, "not a loopback address"},
		{[]string{"serve", "--addr", "0.0.0.0:0", "--agent", "exec", "--insecure-no-auth"}, "needs a token"},
		{[]string{"serve", "--addr", "nonsense"}, "--addr"},
		{[]string{"serve", "extra"}, "unexpected argument"},
	} {
		r := runIn(t, context.Background(), "", map[string]string{"A2ATOP_DB": ":memory:"}, tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, exitUsage, tc.want)
		}
	}
}

// TestServeBinarySIGTERM: the built binary serves until SIGTERM, ends an
// open Watch stream, exits 0 and leaves the store closed and readable.
func TestServeBinarySIGTERM(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tasks.db")
	cmd := exec.Command(binary.Build(t), "serve", "--addr", "127.0.0.1:0", "--db", db)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	var base string
	deadline := time.Now().Add(20 * time.Second)
	for base == "" {
		if m := servingURL.FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", stderr.String())
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	resp, err := http.Get(base + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The open stream ends instead of holding the shutdown.
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatalf("watch stream after SIGTERM: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v; stderr %q", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "a2atop: stopped") {
		t.Fatalf("stderr %q", stderr.String())
	}
	runBinary(t, db, exitOK, "list")
}
