package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/localstore"
	"github.com/spf13/pflag"
)

// cliRun is one in-process run of the CLI.
type cliRun struct {
	code           int
	stdout, stderr string
}

// runIn runs the CLI in-process with stdin and a private environment (only
// the variables in env are set).
func runIn(t *testing.T, ctx context.Context, stdin string, env map[string]string, args ...string) cliRun {
	t.Helper()
	var out, errOut bytes.Buffer
	c := &cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, getenv: func(k string) string { return env[k] }}
	code := c.main(ctx, args)
	return cliRun{code: code, stdout: out.String(), stderr: errOut.String()}
}

// tempDB returns a fresh store path in the test's temporary directory.
func tempDB(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "tasks.db")
}

// mustRun runs the CLI against db and checks the exit status.
func mustRun(t *testing.T, db string, wantCode int, args ...string) cliRun {
	t.Helper()
	r := runIn(t, context.Background(), "", map[string]string{"A2ATOP_DB": db}, args...)
	if r.code != wantCode {
		t.Fatalf("a2atop %q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, r.code, wantCode, r.stdout, r.stderr)
	}
	return r
}

func decodeTask(t *testing.T, line string) *a2a.Task {
	t.Helper()
	task, err := wire.V10().DecodeTask([]byte(strings.TrimSpace(line)))
	if err != nil {
		t.Fatalf("decode task %q: %v", line, err)
	}
	return task
}

func oneErrorLine(t *testing.T, r cliRun, want string) {
	t.Helper()
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "a2atop: ") || !strings.Contains(r.stderr, want) {
		t.Fatalf("stderr = %q, want one line `a2atop: …%s…`", r.stderr, want)
	}
}

func TestSendEchoHumanAndJSON(t *testing.T) {
	db := tempDB(t)
	r := mustRun(t, db, exitOK, "send", "echo", "hello", "world")
	for _, want := range []string{"state     completed", "status    echoed", "  echo\n    hello world\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	r = mustRun(t, db, exitOK, "send", "--json", "echo", "hi there")
	task := decodeTask(t, r.stdout)
	if task.Status.State != a2a.StateCompleted || len(task.Artifacts) != 1 || a2a.PartsText(task.Artifacts[0].Parts) != "hi there" {
		t.Fatalf("task = %+v", task)
	}
	// The task is in the store: get shows it.
	r = mustRun(t, db, exitOK, "get", "--json", task.ID)
	if got := decodeTask(t, r.stdout); got.ID != task.ID || got.Status.State != a2a.StateCompleted {
		t.Fatalf("get = %+v", got)
	}
	r = mustRun(t, db, exitOK, "get", task.ID)
	if !strings.Contains(r.stdout, "task      "+task.ID) {
		t.Fatalf("get:\n%s", r.stdout)
	}
}

func TestSendAskThenAnswer(t *testing.T) {
	db := tempDB(t)
	r := mustRun(t, db, exitOK, "send", "--json", "ask")
	task := decodeTask(t, r.stdout)
	if task.Status.State != a2a.StateInputRequired {
		t.Fatalf("ask: state %s", task.Status.State)
	}
	r = mustRun(t, db, exitOK, "list", "--state", "input-required")
	if !strings.Contains(r.stdout, task.ID) || !strings.Contains(r.stdout, "What is the target date?") {
		t.Fatalf("list --state input-required:\n%s", r.stdout)
	}
	r = mustRun(t, db, exitOK, "send", "--task", task.ID, "2030-01-31")
	if !strings.Contains(r.stdout, "Target date recorded: 2030-01-31") || !strings.Contains(r.stdout, "state     completed") {
		t.Fatalf("answer:\n%s", r.stdout)
	}
	r = mustRun(t, db, exitOK, "list", "--state", "input-required")
	if strings.Contains(r.stdout, task.ID) {
		t.Fatalf("answered task still listed as waiting:\n%s", r.stdout)
	}
	// A second answer goes to a task that no longer waits.
	r = mustRun(t, db, exitTaskFailed, "send", "--task", task.ID, "2031-01-01")
	oneErrorLine(t, r, task.ID)
}

func TestListPagesThroughEverything(t *testing.T) {
	db := tempDB(t)
	const n = a2a.MaxPageSize + 5 // more than one page
	for i := 0; i < n; i++ {
		// Blocking sends: each task is waiting for input, stable across runs.
		mustRun(t, db, exitOK, "send", "ask")
	}
	mustRun(t, db, exitTaskFailed, "send", "fail")
	r := mustRun(t, db, exitOK, "list", "--json")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != n+1 {
		t.Fatalf("list --json printed %d lines, want %d", len(lines), n+1)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		seen[decodeTask(t, l).ID] = true
	}
	if len(seen) != n+1 {
		t.Fatalf("%d distinct tasks, want %d", len(seen), n+1)
	}
	r = mustRun(t, db, exitOK, "list", "--state", "failed")
	if !strings.Contains(r.stdout, "1 task(s)") || !strings.Contains(r.stdout, "failing on purpose") {
		t.Fatalf("list --state failed:\n%s", r.stdout)
	}
	r = mustRun(t, db, exitUsage, "list", "--state", "sleepy")
	oneErrorLine(t, r, `unknown --state "sleepy"`)
}

func TestCancelForeverSentWithNoWait(t *testing.T) {
	db := tempDB(t)
	r := mustRun(t, db, exitOK, "send", "--no-wait", "--json", "forever")
	task := decodeTask(t, r.stdout)
	if task.Status.State.Terminal() {
		t.Fatalf("forever is already %s", task.Status.State)
	}
	r = mustRun(t, db, exitOK, "cancel", "--json", task.ID)
	if got := decodeTask(t, r.stdout); got.Status.State != a2a.StateCanceled {
		t.Fatalf("cancel: state %s", got.Status.State)
	}
	// Twice is harmless; get agrees.
	mustRun(t, db, exitOK, "cancel", task.ID)
	r = mustRun(t, db, exitOK, "get", task.ID)
	if !strings.Contains(r.stdout, "state     canceled") {
		t.Fatalf("get after cancel:\n%s", r.stdout)
	}
	// A completed task cannot be canceled.
	done := decodeTask(t, mustRun(t, db, exitOK, "send", "--json", "echo", "x").stdout)
	r = mustRun(t, db, exitTaskFailed, "cancel", done.ID)
	oneErrorLine(t, r, "cannot be canceled")
}

func TestSubscribeFollowsToTheEnd(t *testing.T) {
	db := tempDB(t)
	task := decodeTask(t, mustRun(t, db, exitOK, "send", "--no-wait", "--json", "slow", "2").stdout)
	r := mustRun(t, db, exitOK, "subscribe", "--json", task.ID)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var folded *a2a.Task
	for _, l := range lines {
		ev, err := wire.V10().DecodeEvent([]byte(l))
		if err != nil {
			t.Fatalf("decode event %q: %v", l, err)
		}
		if folded, err = a2a.Apply(folded, ev); err != nil {
			t.Fatalf("apply %q: %v", l, err)
		}
	}
	if folded == nil || folded.Status.State != a2a.StateCompleted || len(folded.Artifacts) != 1 {
		t.Fatalf("folded = %+v", folded)
	}
	if !strings.HasPrefix(lines[0], `{"task":`) {
		t.Fatalf("first event %q, want the task wrapper", lines[0])
	}
	// Human output, on a task waiting for input: its snapshot, exit 0.
	ask := decodeTask(t, mustRun(t, db, exitOK, "send", "--json", "ask").stdout)
	r = mustRun(t, db, exitOK, "subscribe", ask.ID)
	if !strings.Contains(r.stdout, "input-required") {
		t.Fatalf("subscribe ask:\n%s", r.stdout)
	}
	r = mustRun(t, db, exitTaskFailed, "subscribe", "no-such-task")
	oneErrorLine(t, r, "not found")
}

func TestSendStream(t *testing.T) {
	db := tempDB(t)
	r := mustRun(t, db, exitOK, "send", "--stream", "slow", "2")
	for _, want := range []string{"step 1/2", "step 2/2", "+chunk (last)", "status    completed", "state     completed"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	r = mustRun(t, db, exitTaskFailed, "send", "--stream", "--json", "fail")
	last := strings.Split(strings.TrimSpace(r.stdout), "\n")
	ev, err := wire.V10().DecodeEvent([]byte(last[len(last)-1]))
	if err != nil {
		t.Fatal(err)
	}
	if su, ok := ev.(*a2a.StatusUpdateEvent); !ok || su.Status.State != a2a.StateFailed {
		t.Fatalf("last event = %#v", ev)
	}
	// A task-less answer prints the message.
	r = mustRun(t, db, exitOK, "send", "--stream", "hello")
	if !strings.Contains(r.stdout, "message   from agent") || !strings.Contains(r.stdout, "flaky <k>") {
		t.Fatalf("reply:\n%s", r.stdout)
	}
}

func TestExitStatuses(t *testing.T) {
	db := tempDB(t)
	mustRun(t, db, exitOK, "send", "echo", "x")
	mustRun(t, db, exitOK, "send", "ask")
	mustRun(t, db, exitTaskFailed, "send", "fail")
	mustRun(t, db, exitTaskFailed, "send", "slow", "-3") // rejected
	mustRun(t, db, exitOK, "send", "--meta", "priority=high", "--meta", "owner=me", "flaky", "1")

	usage := []struct {
		args []string
		want string
	}{
		{[]string{"send", "--bogus", "echo"}, "unknown flag: --bogus"},
		{[]string{"send"}, "missing TEXT"},
		{[]string{"send", "--meta", "novalue", "echo", "x"}, "want KEY=VALUE"},
		{[]string{"send", "--meta", "=v", "echo", "x"}, "want KEY=VALUE"},
		{[]string{"frobnicate"}, `unknown subcommand "frobnicate"`},
		{[]string{"get"}, "missing the task ID"},
		{[]string{"get", "a", "b"}, `get: "b" is not a target`}, // get ID [TARGET]...
		{[]string{"send", "--agent", "robot", "echo", "x"}, `unknown --agent "robot"`},
		{[]string{"send", "--agent", "exec", "--workdir", "/no/such/dir", "true"}, "--workdir"},
		{[]string{"send", "--stream", "--no-wait", "echo", "x"}, "do not go together"},
		{[]string{"help", "nothing"}, "unknown subcommand"},
		{[]string{"list", "-json"}, "long flags take two dashes"},
		{[]string{"send", "--db", ":memory:", "--header", "X: y", "echo", "hi"}, "--header applies to a remote agent"},
	}
	for _, u := range usage {
		r := mustRun(t, db, exitUsage, u.args...)
		oneErrorLine(t, r, u.want)
	}
}

func TestUnreachableStore(t *testing.T) {
	dir := t.TempDir()
	r := mustRun(t, dir, exitUnreachable, "list")
	oneErrorLine(t, r, "is a directory")

	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not a database "), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	r = mustRun(t, garbage, exitUnreachable, "list")
	oneErrorLine(t, r, "not an a2atop task store")

	// The file is left as it was.
	if b, err := os.ReadFile(garbage); err != nil || !bytes.HasPrefix(b, []byte("not a database")) {
		t.Fatalf("garbage file changed: %v", err)
	}

	// A store held by someone else: in use, within about a second.
	held := tempDB(t)
	s, err := localstore.Open(held, localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r = mustRun(t, held, exitUnreachable, "send", "echo", "x")
	oneErrorLine(t, r, "in use")
}

func TestBadInput(t *testing.T) {
	db := tempDB(t)
	mustRun(t, db, exitOK, "send", "echo", "keep me")

	r := mustRun(t, db, exitTaskFailed, "get", "0000-no-such-task")
	oneErrorLine(t, r, "not found")
	r = mustRun(t, db, exitTaskFailed, "cancel", "0000-no-such-task")
	oneErrorLine(t, r, "not found")
	r = mustRun(t, db, exitTaskFailed, "send", "--task", "0000-no-such-task", "answer")
	oneErrorLine(t, r, "not found")

	r = mustRun(t, db, exitUsage, "send", "   ")
	oneErrorLine(t, r, "empty")
	r = mustRun(t, db, exitUsage, "send", "echo \xff\xfe")
	oneErrorLine(t, r, "not valid UTF-8")

	env := map[string]string{"A2ATOP_DB": db}
	// TEXT from stdin.
	r = runIn(t, context.Background(), "echo from stdin\nsecond line", env, "send", "-")
	if r.code != exitOK || !strings.Contains(r.stdout, "from stdin\n    second line") {
		t.Fatalf("send -: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runIn(t, context.Background(), "", env, "send", "-")
	if r.code != exitUsage {
		t.Fatalf("empty stdin: exit %d", r.code)
	}
	// 10 MiB: larger than a message may be, a clear refusal.
	big := "echo " + strings.Repeat("x", 10<<20)
	r = runIn(t, context.Background(), big, env, "send", "-")
	if r.code != exitTaskFailed {
		t.Fatalf("10 MiB: exit %d\n%s", r.code, r.stderr)
	}
	oneErrorLine(t, r, "exceed the limit")
	// 1 MiB is fine, and comes back whole in JSON.
	r = runIn(t, context.Background(), "echo "+strings.Repeat("y", 1<<20), env, "send", "--json", "-")
	if r.code != exitOK {
		t.Fatalf("1 MiB: exit %d: %s", r.code, r.stderr)
	}
	if task := decodeTask(t, r.stdout); len(a2a.PartsText(task.Artifacts[0].Parts)) != 1<<20 {
		t.Fatal("1 MiB echo came back shorter")
	}
	// Nothing stored was lost along the way.
	r = mustRun(t, db, exitOK, "list")
	if !strings.Contains(r.stdout, "3 task(s)") {
		t.Fatalf("list after bad input:\n%s", r.stdout)
	}
}

func TestHelpAndVersion(t *testing.T) {
	db := tempDB(t)
	r := mustRun(t, db, exitOK, "help")
	for _, want := range []string{"send [flags] TEXT", "Exit status:", "130", "does not\n       cancel the task", "get and list only\n       read it"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("help lacks %q:\n%s", want, r.stdout)
		}
	}
	if mustRun(t, db, exitOK, "--help").stdout != r.stdout {
		t.Fatal("--help differs from help")
	}
	for _, cmd := range []string{"send", "get", "list", "cancel", "subscribe"} {
		r := mustRun(t, db, exitOK, cmd, "--help")
		if !strings.Contains(r.stdout, "usage: a2atop "+cmd) || !strings.Contains(r.stdout, "-db PATH") || !strings.Contains(r.stdout, "Exit status:") {
			t.Fatalf("%s --help:\n%s", cmd, r.stdout)
		}
		if h := mustRun(t, db, exitOK, "help", cmd); h.stdout != r.stdout {
			t.Fatalf("help %s differs from %s --help", cmd, cmd)
		}
	}
	if r := mustRun(t, db, exitOK, "version"); !strings.HasPrefix(r.stdout, "a2atop ") {
		t.Fatalf("version: %q", r.stdout)
	}
}

func TestInterruptedWaitExits130(t *testing.T) {
	db := tempDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan cliRun, 1)
	go func() {
		done <- runIn(t, ctx, "", map[string]string{"A2ATOP_DB": db}, "send", "forever")
	}()
	// Interrupt once the store exists (the wait is under way or about to be).
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(db); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the store never appeared")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	r := <-done
	if r.code != exitInterrupted {
		t.Fatalf("exit %d, want 130; stderr %q", r.code, r.stderr)
	}
	oneErrorLine(t, r, "the task was not canceled")
	// Issue 14 bug 14: the line names the task that keeps running (when
	// the interrupt came after the engine took the message).
	if list := mustRun(t, db, exitOK, "list", "-o", "ids"); strings.TrimSpace(list.stdout) != "" && !strings.Contains(r.stderr, strings.TrimSpace(list.stdout)) {
		t.Fatalf("stderr %q does not name task %s", r.stderr, list.stdout)
	}
	// The task was not canceled: it is still there, not canceled.
	r = mustRun(t, db, exitOK, "list", "--state", "canceled")
	if !strings.Contains(r.stdout, "no tasks") {
		t.Fatalf("a task was canceled:\n%s", r.stdout)
	}
}

func TestDefaultDBPath(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"XDG_DATA_HOME": data}
	r := runIn(t, context.Background(), "", env, "send", "echo", "x")
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	st, err := os.Stat(filepath.Join(data, "a2atop"))
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("data dir: %v %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(data, "a2atop", "tasks.db")); err != nil {
		t.Fatal(err)
	}
	// --db wins over the environment, :memory: keeps nothing.
	r = runIn(t, context.Background(), "", env, "send", "--db", ":memory:", "echo", "y")
	if r.code != exitOK {
		t.Fatalf("--db :memory:: exit %d: %s", r.code, r.stderr)
	}
	if r := runIn(t, context.Background(), "", env, "list"); !strings.Contains(r.stdout, "1 task(s)") {
		t.Fatalf("list:\n%s", r.stdout)
	}
}

func TestHumanOutputIsCleaned(t *testing.T) {
	db := tempDB(t)
	hostile := "echo red\x1b[31mtext\x1b[0m title\x1b]0;pwned\x07 bell\x07 c1\u009b31m cr\rdone\ttab"
	r := mustRun(t, db, exitOK, "send", hostile)
	if strings.ContainsAny(r.stdout, "\x1b\x07\r\u009b") {
		t.Fatalf("control characters reached the terminal: %q", r.stdout)
	}
	if !strings.Contains(r.stdout, "redtext title bell c1") || !strings.Contains(r.stdout, "done\ttab") {
		t.Fatalf("cleaned text lost its content: %q", r.stdout)
	}
	// JSON keeps everything, escaped.
	task := decodeTask(t, mustRun(t, db, exitOK, "send", "--json", hostile).stdout)
	if got := a2a.PartsText(task.Artifacts[0].Parts); got != strings.TrimPrefix(hostile, "echo ") {
		t.Fatalf("JSON artifact = %q", got)
	}
}

func TestClean(t *testing.T) {
	long := strings.Repeat("é", 3000)
	got := clean(long, 101)
	if !strings.HasPrefix(got, strings.Repeat("é", 50)+"…") || !strings.Contains(got, "more bytes") {
		t.Fatalf("clean cap: %q", got[:120])
	}
	if got := clean("a\x00b\x7fc\xffd", 100); got != "abc\uFFFDd" {
		t.Fatalf("clean = %q", got)
	}
	// Bidi overrides and zero-width characters would let an agent reorder
	// or hide what is printed around them.
	if got := clean("file\u202etxt.exe\u200b ok", 100); got != "filetxt.exe ok" {
		t.Fatalf("clean kept bidi or zero-width characters: %q", got)
	}
}

func TestReadingCommandsLeaveTasksAlone(t *testing.T) {
	db := tempDB(t)
	task := decodeTask(t, mustRun(t, db, exitOK, "send", "--no-wait", "--json", "slow", "100").stdout)
	// Each engine start would resume the task and count an interrupted
	// attempt; get and list must not start one.
	for i := 0; i < 4; i++ {
		mustRun(t, db, exitOK, "list")
		mustRun(t, db, exitOK, "get", task.ID)
	}
	got := decodeTask(t, mustRun(t, db, exitOK, "get", "--json", task.ID).stdout)
	if got.Status.State.Terminal() {
		t.Fatalf("reading the store ended the task: %s %q", got.Status.State, got.Status.Message.Text())
	}
	s, err := localstore.Open(db, localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec, err := s.Get(context.Background(), task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Attempts > 1 {
		t.Fatalf("reading the store used attempts: %d", rec.Attempts)
	}
}

func TestExecAgentFromTheCLI(t *testing.T) {
	db := tempDB(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "here.txt"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, db, exitOK, "send", "--agent", "exec", "--workdir", dir, "ls; echo done")
	if !strings.Contains(r.stdout, "here.txt\n    done") || !strings.Contains(r.stdout, "status    exit status 0") {
		t.Fatalf("exec ls:\n%s", r.stdout)
	}
	r = mustRun(t, db, exitTaskFailed, "send", "--agent", "exec", "--workdir", dir, "echo 'no such file' >&2; exit 2")
	if !strings.Contains(r.stdout, "exit status 2: no such file") {
		t.Fatalf("exec exit 2:\n%s", r.stdout)
	}
	// exec is opt-in: the default agent treats the same text as demo input.
	r = mustRun(t, db, exitOK, "send", "ls")
	if !strings.Contains(r.stdout, "demo agent") {
		t.Fatalf("default agent ran a command:\n%s", r.stdout)
	}
}

func FuzzClean(f *testing.F) {
	for _, s := range []string{"plain", "\x1b[31mred\x1b[0m", "\x1b]0;title\x07", "a\u009bb", "\xff\xfe", "tab\there\nnext\r"} {
		f.Add(s, 20)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 1 || max > 1<<16 {
			return
		}
		got := clean(s, max)
		for _, r := range got {
			if r == 0x1b || r == 0x7f || (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x80 && r < 0xa0) {
				t.Fatalf("clean(%q) kept control %U: %q", s, r, got)
			}
		}
		if !utf8.ValidString(got) {
			t.Fatalf("clean(%q) is not valid UTF-8", s)
		}
		if len(got) > max+64 {
			t.Fatalf("clean(%q, %d) is %d bytes", s, max, len(got))
		}
	})
}

// laggingStream hands out its first event, then reports that the reader
// fell behind, as a remote stream or a failing store catch-up does (the
// local engine itself catches slow readers up from its store).
type laggingStream struct {
	a2a.Stream
	n int
}

func (l *laggingStream) Recv() (a2a.StreamEvent, error) {
	if l.n++; l.n > 1 {
		return a2a.StreamEvent{}, a2a.ErrLagged
	}
	return l.Stream.Recv()
}

func TestFollowResyncsAfterFallingBehind(t *testing.T) {
	exec := engine.ExecutorFunc(func(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
		for i := 1; i <= 200; i++ {
			if err := pub.Status(ctx, fmt.Sprintf("update %d", i)); err != nil {
				return err
			}
		}
		return pub.Complete(ctx, "all 200 published")
	})
	store := engine.NewMemoryStore()
	eng, err := engine.New(store, exec, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	defer eng.Close()
	ctx := context.Background()
	s, err := eng.Stream(ctx, &a2a.SendRequest{Message: a2a.Message{ID: "m1", Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart("go")}}})
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	c := &cli{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	code, err := c.follow(ctx, eng, &laggingStream{Stream: s}, c.printer(false))
	if err != nil || code != exitOK {
		t.Fatalf("follow: %d %v; stderr %q", code, err, errOut.String())
	}
	if !strings.Contains(errOut.String(), "fell behind") {
		t.Fatalf("stderr %q", errOut.String())
	}
	if !strings.Contains(out.String(), "state     completed\nstatus    all 200 published") {
		t.Fatalf("final task not printed:\n%s", out.String())
	}
}

// Issue 14 bug 3: the answer hint dropped the flags that chose the
// target, so pasting it reached another store (or agent).
func TestAnswerHintRepeatsTargetFlags(t *testing.T) {
	db := filepath.Join(t.TempDir(), "my tasks.db")
	r := runIn(t, context.Background(), "", nil, "send", "--db", db, "ask")
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	want := "a2atop send --db '" + db + "' --task "
	if !strings.Contains(r.stdout, want) {
		t.Fatalf("hint lacks %q:\n%s", want, r.stdout)
	}
	if got := shellQuote("it's"); got != `'it'\''s'` {
		t.Fatalf("shellQuote = %s", got)
	}
}

// Issue 14 bug 14: cancel exits 0 when it cancels, but its --help said 1
// for "was canceled". The help now says what cancel's statuses mean.
func TestCancelHelpAgreesWithExitStatus(t *testing.T) {
	db := tempDB(t)
	r := mustRun(t, db, exitOK, "cancel", "--help")
	if !strings.Contains(r.stdout, "0    the task is canceled") || strings.Contains(r.stdout, "was canceled or rejected") {
		t.Fatalf("cancel --help:\n%s", r.stdout)
	}
	task := decodeTask(t, mustRun(t, db, exitOK, "send", "--no-wait", "--json", "forever").stdout)
	mustRun(t, db, exitOK, "cancel", task.ID)
	done := decodeTask(t, mustRun(t, db, exitOK, "send", "--json", "echo", "hi").stdout)
	mustRun(t, db, exitTaskFailed, "cancel", done.ID)
}

// Habit: any unique prefix (or the tail the dashboard shows) names a task,
// as git expands commits; an ambiguous one says so.
func TestTaskIDPrefixes(t *testing.T) {
	db := tempDB(t)
	a := decodeTask(t, mustRun(t, db, exitOK, "send", "--json", "echo", "one").stdout)
	b := decodeTask(t, mustRun(t, db, exitOK, "send", "--json", "ask").stdout)
	r := mustRun(t, db, exitOK, "get", a.ID[24:])
	if !strings.Contains(r.stdout, "task      "+a.ID) {
		t.Fatalf("get by tail:\n%s", r.stdout)
	}
	common := 0
	for common < len(a.ID) && a.ID[common] == b.ID[common] {
		common++
	}
	r = mustRun(t, db, exitOK, "get", b.ID[:common+1])
	if !strings.Contains(r.stdout, "task      "+b.ID) {
		t.Fatalf("get by prefix:\n%s", r.stdout)
	}
	if common >= minIDPart {
		r = mustRun(t, db, exitTaskFailed, "get", a.ID[:common])
		oneErrorLine(t, r, "ambiguous")
	}
	r = mustRun(t, db, exitOK, "send", "--task", b.ID[28:], "2030-01-31")
	if !strings.Contains(r.stdout, "state     completed") {
		t.Fatalf("answer by tail:\n%s", r.stdout)
	}
}

// Habit: send --context starts a task in an existing conversation.
func TestSendInContext(t *testing.T) {
	db := tempDB(t)
	a := decodeTask(t, mustRun(t, db, exitOK, "send", "--json", "echo", "one").stdout)
	b := decodeTask(t, mustRun(t, db, exitOK, "send", "--json", "--context", a.ContextID, "echo", "two").stdout)
	if b.ContextID != a.ContextID || b.ID == a.ID {
		t.Fatalf("context %s, want %s", b.ContextID, a.ContextID)
	}
}

// Habits from kubectl: list --limit, --context, --since, -o ids|json|wide;
// a bad --state lists the good ones; get and list hide (and refuse) the
// flags that choose the agent, which do not apply to reading.
func TestListFlags(t *testing.T) {
	db := tempDB(t)
	a := decodeTask(t, mustRun(t, db, exitOK, "send", "--json", "echo", "first words").stdout)
	mustRun(t, db, exitOK, "send", "--json", "--context", a.ContextID, "echo", "second")
	c := decodeTask(t, mustRun(t, db, exitOK, "send", "--json", "echo", "third").stdout)

	r := mustRun(t, db, exitOK, "list", "-o", "ids", "--limit", "1")
	if strings.TrimSpace(r.stdout) != c.ID {
		t.Fatalf("-o ids --limit 1: %q, want %s", r.stdout, c.ID)
	}
	r = mustRun(t, db, exitOK, "list", "-o", "ids", "--context", a.ContextID)
	if n := len(strings.Fields(r.stdout)); n != 2 || strings.Contains(r.stdout, c.ID) {
		t.Fatalf("--context: %q", r.stdout)
	}
	r = mustRun(t, db, exitOK, "list", "-o", "wide")
	if !strings.Contains(r.stdout, "MESSAGE") || !strings.Contains(r.stdout, "echo first words") || !strings.Contains(r.stdout, a.ContextID) {
		t.Fatalf("-o wide:\n%s", r.stdout)
	}
	r = mustRun(t, db, exitOK, "list", "-o", "json", "--since", "1h")
	if n := strings.Count(r.stdout, "\n"); n != 3 {
		t.Fatalf("-o json --since 1h: %d lines", n)
	}
	r = mustRun(t, db, exitUsage, "list", "--state", "bogus")
	oneErrorLine(t, r, "input-required")
	for _, cmd := range []string{"list", "get"} {
		r = mustRun(t, db, exitOK, cmd, "--help")
		for _, flag := range []string{"--agent", "--workdir", "--max-running", "--max-queued", "--allow-damaged"} {
			if strings.Contains(r.stdout, flag) {
				t.Fatalf("%s --help shows %s, which does not apply:\n%s", cmd, flag, r.stdout)
			}
		}
	}
	oneErrorLine(t, mustRun(t, db, exitUsage, "list", "--agent", "exec"), "does not apply")
	oneErrorLine(t, mustRun(t, db, exitUsage, "get", "--max-running", "3", a.ID), "--max-running does not apply")
}

// TestKeepFlags: --keep and --keep-count set the engine's retention; 0
// keeps finished tasks whatever their age (it used to be 7 days, with no
// way to change it). A task finished 30 days ago survives a send with
// --keep 0.
func TestKeepFlags(t *testing.T) {
	for _, c := range []struct {
		args      []string
		retention time.Duration
		count     int
	}{
		{nil, engine.DefaultRetention, 0},
		{[]string{"--keep", "0"}, engine.RetainForever, 0},
		{[]string{"--keep", "720h", "--keep-count", "500"}, 720 * time.Hour, 500},
	} {
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		var l engineLimits
		l.register(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		if o := l.options(); o.Retention != c.retention || o.RetainCount != c.count {
			t.Errorf("%q: retention %v, count %d; want %v, %d", c.args, o.Retention, o.RetainCount, c.retention, c.count)
		}
	}

	db := tempDB(t)
	old := time.Now().Add(-30 * 24 * time.Hour)
	s, err := localstore.Open(db, localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	task := &a2a.Task{ID: "old-task", ContextID: "ctx", Status: a2a.TaskStatus{State: a2a.StateCompleted, Timestamp: old}}
	if err := s.Commit(context.Background(), &engine.Commit{Record: &engine.Record{Task: task, Created: old, Updated: old, LastSeq: 1},
		Events: []engine.LoggedEvent{{TaskID: task.ID, Seq: 1, Cursor: 1, Time: old, Event: task}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	mustRun(t, db, exitOK, "send", "--keep", "0", "slow", "2")
	mustRun(t, db, exitOK, "get", "old-task")
	oneErrorLine(t, mustRun(t, db, exitUsage, "send", "--keep", "-5m", "echo", "x"), "--keep -5m0s")
}
