//go:build linux

// Package clusterbench runs `serve`-like replicas as processes (children of
// this test binary, wired as `a2atop serve` wires the engine and the
// server) on one PostgreSQL database, to kill them with SIGKILL and to
// measure them beside a bbolt server and the a2a-go SDK server.
package clusterbench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/agents"
	testpeer "github.com/a2atop/a2atop/internal/testkit/a2apeer"
	"github.com/a2atop/a2atop/localstore"
	"github.com/a2atop/a2atop/pgstore"
	"github.com/a2atop/a2atop/server"
)

const (
	envChild    = "A2ATOP_CLUSTERBENCH_CHILD" // pg | bbolt | sdk
	envDB       = "A2ATOP_CLUSTERBENCH_DB"    // a DSN or a bbolt path
	envLease    = "A2ATOP_CLUSTERBENCH_LEASE" // milliseconds
	childBanner = "clusterbench child serving at "
)

var bannerLine = regexp.MustCompile(regexp.QuoteMeta(childBanner) + `(http://\S+/) replica=(\S*)`)

// child is one server process.
type child struct {
	name    string
	cmd     *exec.Cmd
	url     string
	replica string // its replica id in the database (pg children)
	exited  chan struct{}
	stop    func()
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// kill ends the child with SIGKILL and waits for it.
func (c *child) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
}

// startChild runs this test binary as a server child of kind with db.
func startChild(tb testing.TB, kind, db string, lease time.Duration) *child {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestServerChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envChild+"="+kind, envDB+"="+db, envLease+"="+strconv.FormatInt(lease.Milliseconds(), 10))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s child: %v", kind, err)
	}
	c := &child{name: kind, cmd: cmd, exited: make(chan struct{})}
	found := make(chan []string, 1)
	var tail strings.Builder
	var tailMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			tailMu.Lock()
			if tail.Len() < 8<<10 {
				tail.WriteString(line + "\n")
			}
			tailMu.Unlock()
			if m := bannerLine.FindStringSubmatch(line); m != nil {
				select {
				case found <- m:
				default:
				}
			}
		}
		_ = cmd.Wait()
		close(c.exited)
	}()
	var once sync.Once
	c.stop = func() {
		once.Do(func() {
			_ = stdin.Close()
			select {
			case <-c.exited:
			case <-time.After(20 * time.Second):
				c.kill()
			}
		})
	}
	tb.Cleanup(c.stop)
	select {
	case m := <-found:
		c.url, c.replica = m[1], m[2]
	case <-c.exited:
		tailMu.Lock()
		defer tailMu.Unlock()
		tb.Fatalf("%s child exited before serving:\n%s", kind, tail.String())
	case <-time.After(time.Minute):
		tb.Fatalf("%s child did not report its address within a minute", kind)
	}
	return c
}

// TestServerChild is a server process: it runs only as a child started by
// startChild, and serves until its stdin closes.
func TestServerChild(t *testing.T) {
	kind := os.Getenv(envChild)
	if kind == "" {
		t.Skip("runs only as a child process of the cluster benchmarks")
	}
	if kind == "sdk" {
		peer := testpeer.Start(t, testpeer.Options{})
		serveUntilEOF(peer.URL(), "")
		return
	}
	db := os.Getenv(envDB)
	var store engine.Store
	replica := ""
	switch kind {
	case "pg":
		lease, _ := strconv.Atoi(os.Getenv(envLease))
		ps, err := pgstore.Open(context.Background(), db, pgstore.Options{Lease: time.Duration(lease) * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		store, replica = ps, ps.ReplicaID()
	case "bbolt":
		ls, err := localstore.Open(db, localstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		store = ls
	default:
		t.Fatalf("%s=%q: want pg, bbolt or sdk", envChild, kind)
	}
	eng, err := engine.New(store, agents.NewDemo(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(eng, server.Options{})
	hs := server.HTTPServer(srv, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = hs.Serve(ln) }()
	defer func() {
		_ = srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		if err := errors.Join(eng.Close(), store.Close()); err != nil {
			t.Error(err)
		}
	}()
	serveUntilEOF("http://"+ln.Addr().String()+"/", replica)
}

func serveUntilEOF(url, replica string) {
	fmt.Fprintf(os.Stderr, "%s%s replica=%s\n", childBanner, url, replica)
	_, _ = io.Copy(io.Discard, os.Stdin)
}
