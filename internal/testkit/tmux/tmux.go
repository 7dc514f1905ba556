// Package tmux runs a command in a real terminal for end-to-end tests:
// a private tmux server, keys sent with send-keys, the screen read back
// with capture-pane. Tests wait for markers on the screen (bounded), never
// for time.
package tmux

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Exited is printed in the pane when the command ends, followed by its
// exit status: "A2ATOP-EXITED-0".
const Exited = "A2ATOP-EXITED-"

// waitLimit bounds every wait for the screen.
const waitLimit = 30 * time.Second

// Term is one tmux server (its own socket) running one command in a
// 120x40 window.
type Term struct {
	t      testing.TB
	socket string
}

// Need skips t without tmux or in -short mode; under CI (CI set) a missing
// tmux fails instead.
func Need(t testing.TB) {
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

// Start runs argv in a new terminal with env (NAME=value) added; the
// terminal is killed when t ends. After argv exits the pane shows Exited
// and its status.
func Start(t testing.TB, env []string, argv ...string) *Term {
	t.Helper()
	Need(t)
	tm := &Term{t: t, socket: fmt.Sprintf("a2atop-e2e-%d-%d", os.Getpid(), time.Now().UnixNano())}
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = shellQuote(a)
	}
	// The shell keeps the pane's exit status visible after the program ends.
	script := strings.Join(quoted, " ") + "; echo " + Exited + "$?; sleep 60"
	args := []string{"new-session", "-d", "-x", "120", "-y", "40"}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	tm.Run(append(args, "sh", "-c", script)...)
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", tm.socket, "kill-server").Run() })
	return tm
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Run runs a tmux command on this terminal's server.
func (tm *Term) Run(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", tm.socket}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// Keys sends tmux key names (Enter, Escape, C-c) or single characters.
func (tm *Term) Keys(keys ...string) {
	tm.t.Helper()
	for _, k := range keys {
		tm.Run("send-keys", "-t", "0", k)
	}
}

// Text types literal text.
func (tm *Term) Text(s string) {
	tm.t.Helper()
	tm.Run("send-keys", "-t", "0", "-l", s)
}

// Screen is the visible screen now.
func (tm *Term) Screen() string {
	tm.t.Helper()
	return tm.Run("capture-pane", "-p", "-t", "0")
}

// WaitFor polls the screen until every marker shows and returns it; it
// fails t with the screen after waitLimit.
func (tm *Term) WaitFor(markers ...string) string {
	tm.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		s := tm.Screen()
		missing := false
		for _, m := range markers {
			if !strings.Contains(s, m) {
				missing = true
			}
		}
		if !missing {
			return s
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("timed out waiting for %q; screen:\n%s", markers, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitGone polls the screen until marker is no longer on it.
func (tm *Term) WaitGone(marker string) {
	tm.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for strings.Contains(tm.Screen(), marker) {
		if time.Now().After(deadline) {
			tm.t.Fatalf("%q did not leave the screen:\n%s", marker, tm.Screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Escape sends Escape and waits until marker leaves the screen: an
// Escape followed at once by another key would read as alt+key.
func (tm *Term) Escape(marker string) {
	tm.t.Helper()
	tm.Keys("Escape")
	tm.WaitGone(marker)
}
