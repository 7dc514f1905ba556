//go:build unix

package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	testpeer "github.com/a2atop/a2atop/internal/testkit/a2apeer"
	"github.com/a2atop/a2atop/internal/testkit/binary"
	"github.com/a2atop/a2atop/internal/testkit/tmux"
)

// waitLine polls the screen until a line matches re; it fails with the
// screen after 30s.
func waitLine(t *testing.T, tm *tmux.Term, re string) string {
	t.Helper()
	rx := regexp.MustCompile("(?m)" + re)
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := tm.Screen()
		if rx.MatchString(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for a line matching %q; screen:\n%s", re, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func runBin(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("a2atop %q: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestEndToEndFleet runs one dashboard over three agents: `a2atop serve`
// (live feed), an a2a-go peer (polling) and the local engine. A task sent
// by the CLI to each shows live under its agent; the answer and the cancel
// go to the agent of the row; the peer is killed and restarted while the
// others keep updating.
func TestEndToEndFleet(t *testing.T) {
	tmux.Need(t)
	bin := binary.Build(t)
	dir := t.TempDir()
	env := []string{"XDG_DATA_HOME=" + filepath.Join(dir, "data"), "A2ATOP_URL=", "A2ATOP_DB=", "A2ATOP_CONFIG=" + filepath.Join(dir, "config.yaml")}
	sp := startServe(t, bin, filepath.Join(dir, "serve.db"), env)
	peer := testpeer.Start(t, testpeer.Options{Name: "go-peer", Step: 150 * time.Millisecond})
	localDB := filepath.Join(dir, "local.db")
	cfg := fmt.Sprintf("agents:\n  srv:\n    url: %s\n  peer:\n    url: %s\n", sp.url, peer.URL())
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	tm := tmux.Start(t, append([]string{"NO_COLOR=1"}, env...), bin, "--db", localDB, "srv", "peer", "local")
	tm.WaitFor("fleet · 3 agents", "1 srv ● connected · live feed", "2 peer ● connected · polling", "3 local ● hosting the engine", "3/3 agents up")

	// A task sent by the CLI to each agent shows under that agent.
	runBin(t, bin, env, "send", "--url", sp.url, "--no-wait", "ask")
	runBin(t, bin, env, "send", "--url", peer.URL(), "--no-wait", "ask")
	runBin(t, bin, env, "send", "--db", localDB, "--no-wait", "ask")
	tm.WaitFor("◆ 3 waiting on you")
	for _, name := range []string{"srv", "peer", "local"} {
		waitLine(t, tm, `^. `+name+` +\S+ +\? INPUT .*ANSWER ▸`)
	}

	// Answer the peer's question: scope to it, answer; only the peer's
	// task completes.
	tm.Keys("2")
	tm.WaitFor("scope: agent peer")
	tm.Keys("a")
	tm.WaitFor("Answer task")
	tm.Text("2026-12-01")
	tm.Keys("Enter")
	tm.WaitFor("◆ 2 waiting on you")
	waitLine(t, tm, `^. peer +\S+ +✓ done`)

	// Cancel the local engine's task: scope 3, x, y.
	tm.Keys("3")
	tm.WaitFor("scope: agent local")
	tm.Keys("x")
	tm.WaitFor("? y/n")
	tm.Keys("y")
	tm.WaitFor("⊘ 1 canceled", "◆ 1 waiting on you")
	tm.Keys("0")
	tm.WaitFor("scope: all agents")
	waitLine(t, tm, `^. srv +\S+ +\? INPUT`)

	// Each agent's own store says the same.
	if st := taskState(cliTasks(t, bin, env, "--url", peer.URL())["ask"]); st != "completed" {
		t.Errorf("peer's ask is %q, want completed", st)
	}
	if st := taskState(cliTasks(t, bin, env, "--url", sp.url)["ask"]); st != "input-required" && st != "input_required" {
		t.Errorf("srv's ask is %q, want input-required", st)
	}

	// Kill the peer: its strip entry says so; srv and local keep updating.
	peer.Close()
	waitLine(t, tm, `2 peer ✗`)
	tm.WaitFor("2/3 agents up")
	runBin(t, bin, env, "send", "--url", sp.url, "--no-wait", "echo", "during the outage")
	runBin(t, bin, env, "send", "--db", localDB, "--no-wait", "echo", "local too")
	waitLine(t, tm, `^. srv +\S+ +✓ done .*echoed`)
	waitLine(t, tm, `^. local +\S+ +✓ done .*echoed`)

	// Restart it: it comes back, and its new tasks show again.
	peer.Restart()
	waitLine(t, tm, `2 peer ● connected`)
	runBin(t, bin, env, "send", "--url", peer.URL(), "--no-wait", "fail")
	waitLine(t, tm, `^. peer +\S+ +✗ failed`)
	tm.WaitFor("3/3 agents up")

	// The agents view: every agent with its card and counts.
	list := tm.Screen()
	tm.Keys("A")
	agents := tm.WaitFor("Agents", "go-peer", "per minute, last 30")
	if dir := os.Getenv("A2ATOP_E2E_CAPTURES"); dir != "" {
		os.WriteFile(filepath.Join(dir, "fleet-list.txt"), []byte(list), 0o644)
		os.WriteFile(filepath.Join(dir, "fleet-agents.txt"), []byte(agents), 0o644)
	}
	tm.Escape("per minute, last 30")
	tm.Keys("q")
	tm.WaitFor(tmux.Exited + "0")
}

// TestEndToEndFleetDialects: the same dashboard over `a2atop serve` spoken
// in v1.0 and in v0.3, and an a2a-go peer in v0.3: a task the CLI sends to
// each shows under its agent (for the peer, whose v0.3 cannot list, one
// sent from the dashboard).
func TestEndToEndFleetDialects(t *testing.T) {
	tmux.Need(t)
	bin := binary.Build(t)
	dir := t.TempDir()
	env := []string{"XDG_DATA_HOME=" + filepath.Join(dir, "data"), "A2ATOP_URL=", "A2ATOP_DB=", "A2ATOP_CONFIG=" + filepath.Join(dir, "config.yaml")}
	s1 := startServe(t, bin, filepath.Join(dir, "s1.db"), env)
	s2 := startServe(t, bin, filepath.Join(dir, "s2.db"), env)
	peer := testpeer.Start(t, testpeer.Options{Name: "go-peer"})
	cfg := fmt.Sprintf("agents:\n  v10:\n    url: %s\n  v03:\n    url: %s\n    protocol: \"0.3\"\n  peer03:\n    url: %s\n    protocol: \"0.3\"\n", s1.url, s2.url, peer.URL())
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	tm := tmux.Start(t, append([]string{"NO_COLOR=1"}, env...), bin, "v10", "v03", "peer03")
	tm.WaitFor("3/3 agents up", "1 v10 ● connected · live feed", "2 v03 ● connected · live feed", "3 peer03 ● connected")
	runBin(t, bin, env, "send", "--url", s1.url, "--no-wait", "ask")
	runBin(t, bin, env, "send", "--url", s2.url, "--protocol", "0.3", "--no-wait", "ask")
	for _, name := range []string{"v10", "v03"} {
		waitLine(t, tm, `^. `+name+` +\S+ +\? INPUT`)
	}
	// v0.3 has no ListTasks: without a2atop's Watch feed, the dashboard
	// sees the tasks its own client made (and journaled), so this one is
	// sent from the dashboard: n asks which agent, 3 picks the peer.
	tm.Keys("n")
	tm.WaitFor("new task on:")
	tm.Keys("3")
	tm.WaitFor("New task")
	tm.Text("ask")
	tm.Keys("Enter")
	waitLine(t, tm, `^. peer03 +\S+ +\? INPUT`)
	tm.WaitFor("◆ 3 waiting on you")
	tm.Keys("q")
	tm.WaitFor(tmux.Exited + "0")
}

// TestFleetWarningsStayOffTheScreen: a warning about an agent opened while
// the dashboard covers the terminal (here: --insecure) is flashed on the
// dashboard, not written across it, and printed on stderr once the
// dashboard has left the screen.
func TestFleetWarningsStayOffTheScreen(t *testing.T) {
	tmux.Need(t)
	bin := binary.Build(t)
	dir := t.TempDir()
	env := []string{"XDG_DATA_HOME=" + filepath.Join(dir, "data"), "A2ATOP_URL=", "A2ATOP_DB=", "A2ATOP_CONFIG=" + filepath.Join(dir, "none.yaml")}
	peer := testpeer.Start(t, testpeer.Options{Name: "go-peer"})

	tm := tmux.Start(t, append([]string{"NO_COLOR=1"}, env...), bin, "--db", filepath.Join(dir, "local.db"), "--insecure", peer.URL(), "local")
	screen := tm.WaitFor("2/2 agents up", ": warning: --insecure")
	if regexp.MustCompile(`(?m)^a2atop: warning`).MatchString(screen) {
		t.Fatalf("the warning was written across the dashboard:\n%s", screen)
	}
	tm.Keys("q")
	after := tm.WaitFor(tmux.Exited + "0")
	if !regexp.MustCompile(`(?m)^a2atop: warning: --insecure: TLS certificates are not verified`).MatchString(after) {
		t.Fatalf("after the dashboard, stderr should repeat the warning:\n%s", after)
	}
}
