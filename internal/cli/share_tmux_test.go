//go:build unix

package cli

import (
	"github.com/a2atop/a2atop/internal/testkit/binary"
	"github.com/a2atop/a2atop/internal/testkit/tmux"
	"os"
	"path/filepath"
	"testing"
)

// These tests run the dashboard in a real terminal (tmux) to see tasks
// that other a2atop processes send on the same store.

// Two dashboards and a CLI on one store: the first dashboard hosts the
// engine, the second uses it, both show a send from the CLI live; when the
// first quits, the second takes the engine over and keeps showing sends.
func TestDashboardsShareTheEngine(t *testing.T) {
	tmux.Need(t)
	bin := binary.Build(t)
	db := filepath.Join(t.TempDir(), "tasks.db")
	first := tmux.Start(t, []string{"NO_COLOR=1"}, bin, "--db", db)
	first.WaitFor("hosting the engine · demo agent", "no tasks yet")
	second := tmux.Start(t, []string{"NO_COLOR=1"}, bin, "--db", db)
	second.WaitFor("engine of a2atop pid")

	runBinary(t, db, exitOK, "send", "slow", "3")
	first.WaitFor("done after 3 steps")
	second.WaitFor("done after 3 steps")

	first.Keys("q")
	first.WaitFor(tmux.Exited + "0")
	second.WaitFor("hosting the engine · demo agent")

	runBinary(t, db, exitOK, "send", "slow", "4")
	second.WaitFor("done after 4 steps")
	second.Keys("q")
	second.WaitFor(tmux.Exited + "0")
	if _, err := os.Lstat(db + ".sock"); !os.IsNotExist(err) {
		t.Fatalf("the last dashboard left its socket: %v", err)
	}
}
