package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/client"
	testpeer "github.com/a2atop/a2atop/internal/testkit/a2apeer"
)

// The end-to-end tests run the real a2atop binary in a real terminal
// (tmux), drive it with keys and read the screen back. They need tmux:
// without it they skip, except in CI (CI set), where they fail.

var buildOnce struct {
	sync.Once
	path string
	err  error
	out  []byte
}

// a2atopBinary builds the module's command once per test run.
func a2atopBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "a2atop-e2e-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "a2atop")
		cmd := exec.Command("go", "build", "-o", buildOnce.path, "github.com/a2atop/a2atop")
		buildOnce.out, buildOnce.err = cmd.CombinedOutput()
	})
	if buildOnce.err != nil {
		t.Fatalf("build a2atop: %v\n%s", buildOnce.err, buildOnce.out)
	}
	return buildOnce.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildOnce.path != "" {
		os.RemoveAll(filepath.Dir(buildOnce.path))
	}
	os.Exit(code)
}

// tmuxTerm is one tmux server (its own socket) running one command in a
// 120x40 window.
type tmuxTerm struct {
	t      *testing.T
	socket string
}

func needTmux(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end terminal test skipped in -short mode")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tmux is required in CI for the dashboard's end-to-end tests")
		}
		t.Skip("tmux is not installed: end-to-end terminal test skipped (apt-get install tmux)")
	}
}

func startTmux(t *testing.T, env []string, argv ...string) *tmuxTerm {
	t.Helper()
	tm := &tmuxTerm{t: t, socket: fmt.Sprintf("a2atop-e2e-%d-%d", os.Getpid(), time.Now().UnixNano())}
	var cmdline []string
	for _, a := range argv {
		cmdline = append(cmdline, shellQuote(a))
	}
	// The shell keeps the pane's exit status visible after the program ends.
	script := strings.Join(cmdline, " ") + "; echo A2ATOP-EXITED-$?; sleep 60"
	args := []string{"new-session", "-d", "-x", "120", "-y", "40"}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	args = append(args, "sh", "-c", script)
	tm.run(args...)
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", tm.socket, "kill-server").Run() })
	return tm
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func (tm *tmuxTerm) run(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", tm.socket}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// keys sends tmux key names (Enter, Escape, C-c) or single characters.
func (tm *tmuxTerm) keys(keys ...string) {
	tm.t.Helper()
	for _, k := range keys {
		tm.run("send-keys", "-t", "0", k)
	}
}

// text types literal text.
func (tm *tmuxTerm) text(s string) {
	tm.t.Helper()
	tm.run("send-keys", "-t", "0", "-l", s)
}

func (tm *tmuxTerm) screen() string {
	tm.t.Helper()
	return tm.run("capture-pane", "-p", "-t", "0")
}

// waitFor polls the screen (bounded) until every marker shows.
func (tm *tmuxTerm) waitFor(markers ...string) string {
	tm.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := tm.screen()
		ok := true
		for _, m := range markers {
			if !strings.Contains(s, m) {
				ok = false
			}
		}
		if ok {
			return s
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("timed out waiting for %q; screen:\n%s", markers, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// escape sends Escape and waits until marker leaves the screen: an
// Escape followed at once by another key would read as alt+key.
func (tm *tmuxTerm) escape(marker string) {
	tm.t.Helper()
	tm.keys("Escape")
	deadline := time.Now().Add(20 * time.Second)
	for strings.Contains(tm.screen(), marker) {
		if time.Now().After(deadline) {
			tm.t.Fatalf("Escape did not remove %q; screen:\n%s", marker, tm.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// newTask opens the compose box, types text and sends it.
func (tm *tmuxTerm) newTask(text string) {
	tm.t.Helper()
	tm.keys("n")
	tm.waitFor("New task")
	tm.text(text)
	tm.keys("Enter")
	tm.waitFor("created task")
}

// TestEndToEndLocal drives the real binary on a temporary bbolt file:
// it creates echo, slow, ask and forever tasks through the UI, answers
// the question, cancels the forever task, quits, and then checks the store
// with the CLI.
func TestEndToEndLocal(t *testing.T) {
	needTmux(t)
	bin := a2atopBinary(t)
	db := filepath.Join(t.TempDir(), "tasks.db")
	tm := startTmux(t, []string{"NO_COLOR=1"}, bin, "--db", db)
	tm.waitFor("a2atop", "no tasks yet")
	captures := map[string]string{}

	tm.newTask("echo hi")
	tm.waitFor("echoed")
	tm.newTask("slow 5")
	tm.newTask("ask")
	tm.waitFor("What is the target date?", "waiting on you")
	tm.newTask("forever")
	captures["list"] = tm.waitFor("runs until canceled", "done after 5 steps")

	tm.keys("a")
	captures["answer"] = tm.waitFor("Answer task", "What is the target date?")
	tm.text("2026-12-01")
	tm.keys("Enter")
	tm.waitFor("Target date recorded")

	tm.keys("/")
	tm.text("tick")
	tm.keys("Enter")
	tm.waitFor("filter /tick")
	tm.keys("x")
	captures["cancel"] = tm.waitFor("cancel task", "? y/n")
	tm.keys("y")
	tm.waitFor("canceled task", "⊘ 1 canceled")
	tm.escape("· /tick")

	// The detail pane with the artifacts of the echo task.
	tm.keys("/")
	tm.text("echoed")
	tm.keys("Enter", "Enter", "Tab")
	captures["artifacts"] = tm.waitFor("[Artifacts (1)]", "hi")
	tm.escape("esc back")
	tm.keys("?")
	captures["help"] = tm.waitFor("Keys", "save artifact")
	tm.escape("Keys  (esc closes)")
	tm.keys("q")
	tm.waitFor("A2ATOP-EXITED-0")

	if dir := os.Getenv("A2ATOP_E2E_CAPTURES"); dir != "" {
		for name, s := range captures {
			os.WriteFile(filepath.Join(dir, "local-"+name+".txt"), []byte(s), 0o644)
		}
	}

	// The store, read back by the CLI, holds what the UI did.
	out, err := exec.Command(bin, "list", "--json", "--db", db).CombinedOutput()
	if err != nil {
		t.Fatalf("a2atop list: %v\n%s", err, out)
	}
	states := storeStates(t, out)
	want := map[string]string{"echo hi": "completed", "slow 5": "completed", "ask": "completed", "forever": "canceled"}
	for text, st := range want {
		if states[text] != st {
			t.Errorf("task %q is %q in the store, want %q (all: %v)", text, states[text], st, states)
		}
	}
}

// storeStates maps each task's first user message to its state, from
// `a2atop list --json` (A2A v1.0 JSON: one task per line or an array or
// an object with tasks).
func storeStates(t *testing.T, out []byte) map[string]string {
	t.Helper()
	var tasks []map[string]any
	trimmed := bytes.TrimSpace(out)
	switch {
	case bytes.HasPrefix(trimmed, []byte("[")):
		if err := json.Unmarshal(trimmed, &tasks); err != nil {
			t.Fatalf("list --json: %v\n%s", err, out)
		}
	case bytes.HasPrefix(trimmed, []byte("{")):
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		for dec.More() {
			var v map[string]any
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("list --json: %v\n%s", err, out)
			}
			if inner, ok := v["tasks"].([]any); ok {
				for _, x := range inner {
					if m, ok := x.(map[string]any); ok {
						tasks = append(tasks, m)
					}
				}
				continue
			}
			tasks = append(tasks, v)
		}
	}
	states := map[string]string{}
	for _, tk := range tasks {
		st := ""
		if status, ok := tk["status"].(map[string]any); ok {
			st, _ = status["state"].(string)
		}
		st = strings.ToLower(strings.TrimPrefix(st, "TASK_STATE_"))
		if hist, ok := tk["history"].([]any); ok && len(hist) > 0 {
			if msg, ok := hist[0].(map[string]any); ok {
				if parts, ok := msg["parts"].([]any); ok && len(parts) > 0 {
					if p, ok := parts[0].(map[string]any); ok {
						text, _ := p["text"].(string)
						states[text] = st
					}
				}
			}
		}
	}
	return states
}

// TestEndToEndRemote does the same against a real a2a-go v2.4.0 server
// (internal/testpeer) in remote mode, then checks the tasks on the server.
func TestEndToEndRemote(t *testing.T) {
	needTmux(t)
	bin := a2atopBinary(t)
	peer := testpeer.Start(t, testpeer.Options{Name: "go-peer", Step: 150 * time.Millisecond})
	data := t.TempDir()
	tm := startTmux(t, []string{"NO_COLOR=1", "XDG_DATA_HOME=" + data}, bin, peer.URL())
	captures := map[string]string{}
	tm.waitFor("go-peer", "A2A v", "polling for changes")

	tm.newTask("echo hi")
	tm.waitFor("✓ 1 done")
	tm.newTask("slow 5")
	tm.newTask("ask")
	captures["list"] = tm.waitFor(testpeer.Question, "waiting on you", "✓ 2 done")

	tm.keys("a")
	tm.waitFor("Answer task")
	tm.text("2026-12-01")
	tm.keys("Enter")
	tm.waitFor("✓ 3 done")
	tm.newTask("forever")
	tm.waitFor("tick")

	tm.keys("/")
	tm.text("tick")
	tm.keys("Enter")
	tm.waitFor("filter /tick")
	tm.keys("x")
	tm.waitFor("? y/n")
	tm.keys("y")
	tm.waitFor("⊘ 1 canceled")
	tm.escape("· /tick")
	tm.keys("i")
	captures["agent"] = tm.waitFor("Skills", "streaming")
	tm.escape("Skills (")
	tm.keys("q")
	tm.waitFor("A2ATOP-EXITED-0")

	if dir := os.Getenv("A2ATOP_E2E_CAPTURES"); dir != "" {
		for name, s := range captures {
			os.WriteFile(filepath.Join(dir, "remote-"+name+".txt"), []byte(s), 0o644)
		}
	}

	// The server's own view of the tasks.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := client.New(ctx, peer.URL(), client.Options{NoJournal: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	page, err := cl.List(ctx, a2a.ListRequest{PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]a2a.TaskState{}
	for _, tk := range page.Tasks {
		if len(tk.History) > 0 {
			got[tk.History[0].Text()] = tk.Status.State
		}
	}
	want := map[string]a2a.TaskState{"echo hi": a2a.StateCompleted, "slow 5": a2a.StateCompleted, "ask": a2a.StateCompleted, "forever": a2a.StateCanceled}
	for text, st := range want {
		if got[text] != st {
			t.Errorf("task %q is %q on the server, want %q (all: %v)", text, got[text], st, got)
		}
	}
}
