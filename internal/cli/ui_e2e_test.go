//go:build unix

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/client"
	testpeer "github.com/a2atop/a2atop/internal/testkit/a2apeer"
	"github.com/a2atop/a2atop/internal/testkit/binary"
	"github.com/a2atop/a2atop/internal/testkit/tmux"
)

// The dashboard's end-to-end tests run the real a2atop binary in a real
// terminal (tmux), drive it with keys and read the screen back. They need
// tmux: without it they skip, except in CI (CI set), where they fail.

var createdFlash = regexp.MustCompile(`created task (\S+)`)

// newTask opens the compose box, types text and sends it, and waits for
// the flash naming the new task. The flash of the previous task may still
// show: waiting for any "created task" would let the next send overtake
// this one, and this one's answer would then move the selection back.
func newTask(t *testing.T, tm *tmux.Term, text string) {
	t.Helper()
	before := ""
	if m := createdFlash.FindStringSubmatch(tm.Screen()); m != nil {
		before = m[1]
	}
	tm.Keys("n")
	tm.WaitFor("New task")
	tm.Text(text)
	tm.Keys("Enter")
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := tm.Screen()
		if m := createdFlash.FindStringSubmatch(s); m != nil && m[1] != before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no flash for the new task %q; screen:\n%s", text, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestEndToEndLocal drives the real binary on a temporary bbolt file:
// it creates echo, slow, ask and forever tasks through the UI, answers
// the question, cancels the forever task, quits, and then checks the store
// with the CLI.
func TestEndToEndLocal(t *testing.T) {
	tmux.Need(t)
	bin := binary.Build(t)
	db := filepath.Join(t.TempDir(), "tasks.db")
	tm := tmux.Start(t, []string{"NO_COLOR=1"}, bin, "--db", db)
	tm.WaitFor("a2atop", "no tasks yet")
	captures := map[string]string{}

	newTask(t, tm, "echo hi")
	tm.WaitFor("echoed")
	newTask(t, tm, "slow 5")
	newTask(t, tm, "ask")
	tm.WaitFor("What is the target date?", "waiting on you")
	newTask(t, tm, "forever")
	captures["list"] = tm.WaitFor("runs until canceled", "done after 5 steps")

	tm.Keys("a")
	captures["answer"] = tm.WaitFor("Answer task", "What is the target date?")
	tm.Text("2026-12-01")
	tm.Keys("Enter")
	tm.WaitFor("Target date recorded")

	// As demo.tape does: filter by what the user asked (the MESSAGE
	// column), so the canceled row stays in view with its new state.
	tm.Keys("/")
	tm.Text("forever")
	tm.Keys("Enter")
	tm.WaitFor("filter /forever")
	tm.Keys("x")
	captures["cancel"] = tm.WaitFor("cancel task", "? y/n")
	tm.Keys("y")
	tm.WaitFor("canceled task", "⊘ 1 canceled", "⊘ canceled ")
	tm.Escape("· /forever")

	// The detail pane with the artifacts of the echo task.
	tm.Keys("/")
	tm.Text("echoed")
	tm.Keys("Enter", "Enter", "Tab")
	captures["artifacts"] = tm.WaitFor("[Artifacts (1)]", "hi")
	tm.Escape("esc back")
	tm.Keys("?")
	captures["help"] = tm.WaitFor("Keys", "save artifact")
	tm.Escape("Keys  (esc closes;")
	tm.Keys("q")
	tm.WaitFor(tmux.Exited + "0")

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
// (internal/testkit/a2apeer) in remote mode, then checks the tasks on the server.
func TestEndToEndRemote(t *testing.T) {
	tmux.Need(t)
	bin := binary.Build(t)
	peer := testpeer.Start(t, testpeer.Options{Name: "go-peer", Step: 150 * time.Millisecond})
	data := t.TempDir()
	tm := tmux.Start(t, []string{"NO_COLOR=1", "XDG_DATA_HOME=" + data}, bin, peer.URL())
	captures := map[string]string{}
	tm.WaitFor("go-peer", "A2A v", "polling for changes")

	newTask(t, tm, "echo hi")
	tm.WaitFor("✓ 1 done")
	newTask(t, tm, "slow 5")
	newTask(t, tm, "ask")
	captures["list"] = tm.WaitFor(testpeer.Question, "waiting on you", "✓ 2 done")

	tm.Keys("a")
	tm.WaitFor("Answer task")
	tm.Text("2026-12-01")
	tm.Keys("Enter")
	tm.WaitFor("✓ 3 done")
	newTask(t, tm, "forever")
	tm.WaitFor("tick")

	tm.Keys("/")
	tm.Text("tick")
	tm.Keys("Enter")
	tm.WaitFor("filter /tick")
	tm.Keys("x")
	tm.WaitFor("? y/n")
	tm.Keys("y")
	tm.WaitFor("⊘ 1 canceled")
	tm.Escape("· /tick")
	tm.Keys("i")
	captures["agent"] = tm.WaitFor("Skills", "streaming")
	tm.Escape("Skills (")
	tm.Keys("q")
	tm.WaitFor(tmux.Exited + "0")

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
