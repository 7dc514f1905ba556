//go:build unix

package cli

import (
	"encoding/json"
	"github.com/a2atop/a2atop/internal/testkit/binary"
	"github.com/a2atop/a2atop/internal/testkit/tmux"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serveProc is a running `a2atop serve`.
type serveProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string
	stderr *lockedBuffer
	done   chan error
}

var servingAt = regexp.MustCompile(`serving the \S+ agent at (http://[^ /]+/)`)

// startServe runs `a2atop serve -v` on a free loopback port (port 0; the
// address comes from the line it prints) over db.
func startServe(t *testing.T, bin, db string, env []string) *serveProc {
	t.Helper()
	sp := &serveProc{t: t, stderr: &lockedBuffer{}, done: make(chan error, 1)}
	sp.cmd = exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", db, "-v")
	sp.cmd.Env = append(os.Environ(), env...)
	sp.cmd.Stdout = sp.stderr
	sp.cmd.Stderr = sp.stderr
	if err := sp.cmd.Start(); err != nil {
		t.Fatalf("start a2atop serve: %v", err)
	}
	go func() { sp.done <- sp.cmd.Wait() }()
	t.Cleanup(func() {
		if sp.cmd.ProcessState == nil {
			_ = sp.cmd.Process.Kill()
			<-sp.done
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := servingAt.FindStringSubmatch(sp.stderr.String()); m != nil {
			sp.url = m[1]
			return sp
		}
		select {
		case err := <-sp.done:
			t.Fatalf("a2atop serve ended before serving: %v\n%s", err, sp.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("a2atop serve printed no address:\n%s", sp.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and expects a clean exit.
func (sp *serveProc) stop() {
	sp.t.Helper()
	if err := sp.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		sp.t.Fatalf("signal a2atop serve: %v", err)
	}
	select {
	case err := <-sp.done:
		if err != nil {
			sp.t.Fatalf("a2atop serve after SIGTERM: %v\n%s", err, sp.stderr.String())
		}
	case <-time.After(30 * time.Second):
		sp.t.Fatalf("a2atop serve did not stop on SIGTERM:\n%s", sp.stderr.String())
	}
	if !strings.Contains(sp.stderr.String(), "a2atop: stopped") {
		sp.t.Fatalf("a2atop serve did not say it stopped:\n%s", sp.stderr.String())
	}
}

// cliTasks runs `a2atop list --json` with args and returns the tasks by
// their first message's text.
func cliTasks(t *testing.T, bin string, env []string, args ...string) map[string]map[string]any {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"list", "--json"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("a2atop list %v: %v\n%s", args, err, out)
	}
	tasks := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		var task map[string]any
		if err := json.Unmarshal([]byte(line), &task); err != nil {
			t.Fatalf("a2atop list --json line %q: %v", line, err)
		}
		hist, _ := task["history"].([]any)
		if len(hist) == 0 {
			continue
		}
		msg, _ := hist[0].(map[string]any)
		parts, _ := msg["parts"].([]any)
		if len(parts) == 0 {
			continue
		}
		p, _ := parts[0].(map[string]any)
		text, _ := p["text"].(string)
		tasks[text] = task
	}
	return tasks
}

func taskState(task map[string]any) string {
	status, _ := task["status"].(map[string]any)
	st, _ := status["state"].(string)
	return strings.ToLower(strings.TrimPrefix(st, "TASK_STATE_"))
}

// TestEndToEndServe drives the dashboard against `a2atop serve` (the real
// binary on both sides): tasks made in the dashboard and one sent by the
// CLI meanwhile all show live; then the CLI reads them back over --url,
// and the store after serve stops.
func TestEndToEndServe(t *testing.T) {
	tmux.Need(t)
	bin := binary.Build(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "serve.db")
	env := []string{"XDG_DATA_HOME=" + filepath.Join(dir, "data"), "A2ATOP_URL="}
	sp := startServe(t, bin, db, env)

	tm := tmux.Start(t, append([]string{"NO_COLOR=1"}, env...), bin, sp.url)
	tm.WaitFor("a2atop demo agent", "A2A v1.0", "connected · live feed")
	captures := map[string]string{}

	newTask(t, tm, "echo hi")
	tm.WaitFor("echoed", "✓ 1 done")
	newTask(t, tm, "slow 5")
	newTask(t, tm, "ask")
	tm.WaitFor("What is the target date?", "waiting on you")

	// Another client sends a task while the dashboard watches.
	send := exec.Command(bin, "send", "--url", sp.url, "slow 3")
	send.Env = append(os.Environ(), env...)
	if out, err := send.CombinedOutput(); err != nil {
		t.Fatalf("a2atop send --url: %v\n%s", err, out)
	}
	captures["list"] = tm.WaitFor("done after 3 steps", "done after 5 steps")

	tm.Keys("a")
	tm.WaitFor("Answer task")
	tm.Text("2026-12-01")
	tm.Keys("Enter")
	tm.WaitFor("Target date recorded")

	newTask(t, tm, "forever")
	tm.WaitFor("runs until canceled")
	tm.Keys("/")
	tm.Text("tick")
	tm.Keys("Enter")
	tm.WaitFor("filter /tick")
	tm.Keys("x")
	tm.WaitFor("? y/n")
	tm.Keys("y")
	captures["canceled"] = tm.WaitFor("⊘ 1 canceled")
	tm.Escape("· /tick")
	tm.Keys("q")
	tm.WaitFor(tmux.Exited + "0")

	if dir := os.Getenv("A2ATOP_E2E_CAPTURES"); dir != "" {
		for name, s := range captures {
			os.WriteFile(filepath.Join(dir, "serve-"+name+".txt"), []byte(s), 0o644)
		}
	}

	want := map[string]string{"echo hi": "completed", "slow 5": "completed", "slow 3": "completed", "ask": "completed", "forever": "canceled"}
	check := func(where string, tasks map[string]map[string]any) {
		t.Helper()
		for text, st := range want {
			if got := taskState(tasks[text]); got != st {
				t.Errorf("%s: task %q is %q, want %q", where, text, got, st)
			}
		}
	}
	remote := cliTasks(t, bin, env, "--url", sp.url)
	check("list --url", remote)

	// The answer, read back with get --url.
	askID, _ := remote["ask"]["id"].(string)
	get := exec.Command(bin, "get", "--json", "--url", sp.url, askID)
	get.Env = append(os.Environ(), env...)
	out, err := get.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Target date recorded: 2026-12-01") {
		t.Errorf("a2atop get --url %s: %v\n%s", askID, err, out)
	}

	sp.stop()
	// The dashboard followed the server's Watch feed (the stream is logged
	// when it ends), not only list polling.
	logs := sp.stderr.String()
	if !regexp.MustCompile(`http_method=GET path=/events status=200 .*events=[1-9]`).MatchString(logs) {
		t.Errorf("the dashboard did not read the /events feed:\n%s", logs)
	}
	check("list --db after serve stopped", cliTasks(t, bin, env, "--db", db))
}

// Issue 14 bug 10, in a real terminal: a dashboard without the token of
// `serve --token` says what to do once (no doubled "list tasks:", no "no
// tasks yet").
func TestDashboardSaysTheTokenIsMissing(t *testing.T) {
	tmux.Need(t)
	bin := binary.Build(t)
	db := filepath.Join(t.TempDir(), "tasks.db")
	sp := startServe(t, bin, db, []string{"A2ATOP_TOKEN=sekrit"})
	defer sp.stop()
	tm := tmux.Start(t, []string{"NO_COLOR=1"}, bin, "--url", sp.url)
	s := tm.WaitFor("the agent needs a token: set A2ATOP_HEADERS or --header")
	if strings.Contains(s, "no tasks yet") || strings.Contains(s, "list tasks: list tasks") {
		t.Fatalf("screen:\n%s", s)
	}
	tm.Keys("q")
	tm.WaitFor(tmux.Exited + "0")

	// With the token, the header says which credentials go.
	tm = tmux.Start(t, []string{"NO_COLOR=1", "A2ATOP_TOKEN=sekrit"}, bin, "--url", sp.url)
	tm.WaitFor("auth bearer", "no tasks yet")
	tm.Keys("q")
	tm.WaitFor(tmux.Exited + "0")
}
