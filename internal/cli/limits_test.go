package cli

import (
	"strings"
	"testing"

	"github.com/a2atop/a2atop/a2a"
)

// --max-running and --max-queued bound the engine serve runs: past the
// queue a send is refused as busy (exit 3, nothing stored), and a
// high-priority task still starts at once in the reserve.
func TestMaxQueuedAndMaxRunningFlags(t *testing.T) {
	db := tempDB(t)
	base, _ := serveInProcess(t, nil, "--db", db, "--max-running", "1", "--max-queued", "1")
	env := map[string]string{"A2ATOP_URL": base}
	first := decodeTask(t, remoteRun(t, env, exitOK, "send", "--no-wait", "--json", "forever").stdout)
	second := decodeTask(t, remoteRun(t, env, exitOK, "send", "--no-wait", "--json", "forever").stdout)
	r := remoteRun(t, env, exitUnreachable, "send", "--no-wait", "forever")
	oneErrorLine(t, r, "server busy")
	if first.Status.State != a2a.StateWorking && first.Status.State != a2a.StateSubmitted {
		t.Errorf("first: %s", first.Status.State)
	}
	if got := second.Status.Message.Text(); !strings.Contains(got, "queued") {
		t.Errorf("second is not queued: %s %q", second.Status.State, got)
	}
	urgent := decodeTask(t, remoteRun(t, env, exitOK, "send", "--no-wait", "--json", "--meta", "priority=high", "forever").stdout)
	if msg := urgent.Status.Message; msg != nil && strings.Contains(msg.Text(), "queued") {
		t.Errorf("a high-priority task waits behind the running one: %q", msg.Text())
	}
	list := remoteRun(t, env, exitOK, "list", "--json").stdout
	if n := strings.Count(strings.TrimSpace(list), "\n") + 1; n != 3 {
		t.Errorf("the store holds %d tasks, want 3 (the refused one is not stored):\n%s", n, list)
	}

	for _, args := range [][]string{
		{"send", "--max-queued", "0", "echo", "x"},
		{"send", "--max-running", "-1", "echo", "x"},
		{"send", "--url", base, "--max-queued", "5", "echo", "x"},
	} {
		mustRun(t, db, exitUsage, args...)
	}
}

// The --help of every command that can reach a remote agent says what is
// retried; the exit statuses say that 3 covers an unreachable or busy agent.
func TestHelpSaysWhatIsRetried(t *testing.T) {
	db := tempDB(t)
	for _, cmd := range []string{"send", "get", "list", "cancel", "subscribe", "discover"} {
		r := mustRun(t, db, exitOK, cmd, "--help")
		if !strings.Contains(r.stdout, "Retries: the first request") || !strings.Contains(r.stdout, "answered busy") {
			t.Errorf("%s --help does not say what is retried, or what exit 3 covers:\n%s", cmd, r.stdout)
		}
	}
	if r := mustRun(t, db, exitOK, "serve", "--help"); !strings.Contains(r.stdout, "--max-queued N") || !strings.Contains(r.stdout, "--max-running N") {
		t.Errorf("serve --help lacks the queue flags:\n%s", r.stdout)
	}
}
