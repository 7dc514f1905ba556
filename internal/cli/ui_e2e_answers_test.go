//go:build unix

package cli

import (
	"path/filepath"
	"testing"

	"github.com/a2atop/a2atop/internal/testkit/binary"
	"github.com/a2atop/a2atop/internal/testkit/tmux"
)

// TestEndToEndOptionsAndAuth drives the real binary in tmux: the demo's
// `choose` offers options that the answer dialog picks from, a data part
// typed in the answer dialog reaches the agent, and `auth 600` waits with
// the waiting badge until a message from the answer dialog lets it carry
// on.
func TestEndToEndOptionsAndAuth(t *testing.T) {
	tmux.Need(t)
	bin := binary.Build(t)
	db := filepath.Join(t.TempDir(), "tasks.db")
	tm := tmux.Start(t, []string{"NO_COLOR=1"}, bin, "--db", db)
	tm.WaitFor("a2atop", "no tasks yet")

	newTask(t, tm, "choose")
	tm.WaitFor("Which colour sh", "options Red · Green · Blue", "◆ 1 waiti")
	tm.Keys("a")
	tm.WaitFor("Answer task", "options 1/3", "▸ Red")
	tm.Keys("Down")
	tm.WaitFor("options 2/3", "▸ Green")
	tm.Keys("Enter")
	tm.WaitFor("colour chosen: green")

	newTask(t, tm, "choose data")
	tm.WaitFor("options Red · Green · Blue", "◆ 1 waiti")
	tm.Keys("a")
	tm.WaitFor("Answer task", "options 1/3", "enter sends as data")
	tm.Keys("Tab", "Tab") // past the options and the text box to the data field
	tm.Text(`{"colour": "blue"`)
	tm.Keys("Enter")
	tm.WaitFor("data is not valid JSON")
	tm.Text(`}`)
	tm.Keys("Enter")
	tm.WaitFor("colour chosen: blue")

	newTask(t, tm, "auth 600")
	tm.WaitFor("Authorization ne", "! 1 AUTH", "◆ 1 waiti")
	tm.Keys("a")
	tm.WaitFor("Authenticate task")
	tm.Text("erin") // no options: the text box has the keys
	tm.Keys("Enter")
	tm.WaitFor("signed in as erin")
	tm.Keys("q")
	tm.WaitFor(tmux.Exited + "0")
}
