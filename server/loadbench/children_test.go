//go:build linux

package loadbench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/agents"
	"github.com/a2atop/a2atop/internal/testkit/a2apeer"
	"github.com/a2atop/a2atop/localstore"
	"github.com/a2atop/a2atop/server"
)

// Environment of the benchmarks (see doc.go) and of the child processes.
const (
	envTasks      = "A2ATOP_LOADBENCH_TASKS"
	envFewTasks   = "A2ATOP_LOADBENCH_FEW_TASKS"
	envBurst      = "A2ATOP_LOADBENCH_BURST"
	envProfile    = "A2ATOP_LOADBENCH_PROFILE"
	envChild      = "A2ATOP_LOADBENCH_CHILD"    // sdk | ours
	envChildDB    = "A2ATOP_LOADBENCH_CHILD_DB" // the ours child's --db
	envMaxRunning = "A2ATOP_LOADBENCH_MAX_RUNNING"
	envBefore     = "A2ATOP_LOADBENCH_BEFORE"
	childBanner   = "loadbench child serving at " // what a test-binary child prints
	startTimeout  = time.Minute
)

// The a2atop binary, built once per test process when a target needs it.
var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
	binaryDir  string
)

func a2atopBinary(tb testing.TB) string {
	tb.Helper()
	binaryOnce.Do(func() {
		binaryDir, binaryErr = os.MkdirTemp("", "a2atop-loadbench-")
		if binaryErr != nil {
			return
		}
		binaryPath = filepath.Join(binaryDir, "a2atop")
		out, err := exec.Command("go", "build", "-o", binaryPath, "github.com/a2atop/a2atop").CombinedOutput()
		if err != nil {
			binaryErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if binaryErr != nil {
		tb.Fatal(binaryErr)
	}
	return binaryPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binaryDir != "" {
		os.RemoveAll(binaryDir)
	}
	os.Exit(code)
}

// target is one server under load.
type target struct {
	name  string
	start func(tb testing.TB) *child
}

// targets are the servers, in report order: ours on memory and on bbolt,
// the a2a-go SDK server ("sdk"), the JS SDK server ("js-sdk").
func targets() []target {
	ts := []target{
		{"serve-memory", func(tb testing.TB) *child { return startOurs(tb, ":memory:") }},
		{"serve-bbolt", func(tb testing.TB) *child {
			return startOurs(tb, filepath.Join(tb.TempDir(), "tasks.db"))
		}},
		{"sdk", startSDK},
	}
	// The JS SDK server, when node and npm can install it; else the
	// figures compare with the a2a-go server only, and say so once.
	if dir, reason := jsPeerDir(); dir != "" {
		ts = append(ts, target{"js-sdk", startJS})
	} else {
		jsMissingOnce.Do(func() {
			fmt.Fprintf(os.Stderr, "loadbench: no JS SDK server in these figures (comparing with a2a-go only): %s\n", reason)
		})
	}
	// An a2atop binary built from an earlier commit, for before/after
	// figures from one run: `a2atop serve` of that build on a bbolt file
	// and on the memory store.
	if before := os.Getenv(envBefore); before != "" {
		ts = append(ts,
			target{"serve-memory-before", func(tb testing.TB) *child { return startBefore(tb, before, "serve-memory-before", ":memory:") }},
			target{"serve-bbolt-before", func(tb testing.TB) *child {
				return startBefore(tb, before, "serve-bbolt-before", filepath.Join(tb.TempDir(), "tasks.db"))
			}})
	}
	return ts
}

var jsMissingOnce sync.Once

func startBefore(tb testing.TB, binary, name, db string) *child {
	tb.Helper()
	cmd := exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--db", db)
	cmd.Env = append(os.Environ(), "A2ATOP_URL=", "A2ATOP_TOKEN=")
	return startChild(tb, name, cmd, true, serveLine)
}

// serveLine is the line of `a2atop serve`'s stderr that names its URL.
var serveLine = regexp.MustCompile(`serving the \S+ agent at (http://\S+/) `)

// child is a server in its own process.
type child struct {
	name  string
	cmd   *exec.Cmd
	url   string
	stdin io.WriteCloser
	// stop ends the process; safe to call more than once.
	stop func()
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// startOurs runs `a2atop serve --db db`, or, when profiling, a test-binary
// child wired the same way, whose CPU profile the test framework writes.
func startOurs(tb testing.TB, db string) *child {
	tb.Helper()
	name := "serve-bbolt"
	if db == ":memory:" {
		name = "serve-memory"
	}
	if os.Getenv(envProfile) != "" {
		return startTestChild(tb, name, "TestOursChild", envChildDB+"="+db)
	}
	cmd := exec.Command(a2atopBinary(tb), "serve", "--addr", "127.0.0.1:0", "--db", db)
	cmd.Env = append(os.Environ(), "A2ATOP_URL=", "A2ATOP_TOKEN=")
	return startChild(tb, name, cmd, true, serveLine)
}

// startSDK runs the a2a-go SDK peer in a child of this test binary.
func startSDK(tb testing.TB) *child {
	tb.Helper()
	return startTestChild(tb, "sdk", "TestSDKPeerChild")
}

func startTestChild(tb testing.TB, name, test string, env ...string) *child {
	tb.Helper()
	args := []string{"-test.run=^" + test + "$", "-test.count=1"}
	if dir := os.Getenv(envProfile); dir != "" {
		args = append(args, "-test.cpuprofile="+filepath.Join(dir, name+".cpu.pprof"))
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), envChild+"="+childKind(name)), env...)
	return startChild(tb, name, cmd, false, regexp.MustCompile(regexp.QuoteMeta(childBanner)+`(http://\S+/)`))
}

func childKind(name string) string {
	if name == "sdk" {
		return "sdk"
	}
	return "ours"
}

// startChild starts cmd, waits for the line of its stderr that names its
// URL, and stops it when the test ends (with SIGTERM if sigterm, else by
// closing its stdin). The child is killed if this
// process dies first.
func startChild(tb testing.TB, name string, cmd *exec.Cmd, sigterm bool, urlLine *regexp.Regexp) *child {
	tb.Helper()
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
		tb.Fatalf("start %s: %v", name, err)
	}
	c := &child{name: name, cmd: cmd, stdin: stdin}
	var once sync.Once
	exited := make(chan struct{})
	var tail strings.Builder // the child's stderr, for failure messages
	var tailMu sync.Mutex
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			tailMu.Lock()
			if tail.Len() < 8<<10 {
				tail.WriteString(line + "\n")
			}
			tailMu.Unlock()
			if m := urlLine.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		_ = cmd.Wait()
		close(exited)
	}()
	c.stop = func() {
		once.Do(func() {
			// A test-binary child ends on EOF and writes its profile;
			// `a2atop serve` ends on SIGTERM.
			_ = stdin.Close()
			if sigterm {
				_ = cmd.Process.Signal(syscall.SIGTERM)
			}
			select {
			case <-exited:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		})
	}
	tb.Cleanup(c.stop)
	select {
	case c.url = <-found:
	case <-exited:
		tailMu.Lock()
		defer tailMu.Unlock()
		tb.Fatalf("%s exited before serving:\n%s", name, tail.String())
	case <-time.After(startTimeout):
		tb.Fatalf("%s did not report its address within %s", name, startTimeout)
	}
	return c
}

// TestSDKPeerChild is the SDK server's process: it runs only as a child
// started by startSDK, and serves until its stdin closes.
func TestSDKPeerChild(t *testing.T) {
	if os.Getenv(envChild) != "sdk" {
		t.Skip("runs only as the SDK server's child process")
	}
	peer := a2apeer.Start(t, a2apeer.Options{})
	serveUntilEOF(t, peer.URL())
}

// TestOursChild is our server wired as `a2atop serve` wires it (default
// engine and store options, the demo agent), in a test-binary child so
// that -test.cpuprofile can profile it.
func TestOursChild(t *testing.T) {
	if os.Getenv(envChild) != "ours" {
		t.Skip("runs only as a profiled child process of our server")
	}
	db := os.Getenv(envChildDB)
	var store engine.Store
	if db == ":memory:" {
		store = engine.NewMemoryStore()
	} else {
		ls, err := localstore.Open(db, localstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		store = ls
	}
	// A2ATOP_LOADBENCH_MAX_RUNNING: an experiment's engine concurrency
	// (`a2atop serve` uses the engine's default).
	opts := engine.Options{}
	if s := os.Getenv(envMaxRunning); s != "" {
		opts.MaxRunning = envInt(t, envMaxRunning, 0)
	}
	eng, err := engine.New(store, agents.NewDemo(), opts)
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
	serveUntilEOF(t, "http://"+ln.Addr().String()+"/")
}

// serveUntilEOF announces url on stderr and waits for stdin to close (the
// parent ending or stopping the child).
func serveUntilEOF(t *testing.T, url string) {
	fmt.Fprintln(os.Stderr, childBanner+url)
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// envInt reads a positive count from the environment.
func envInt(tb testing.TB, name string, def int) int {
	tb.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive whole number", name, s)
	}
	return n
}
