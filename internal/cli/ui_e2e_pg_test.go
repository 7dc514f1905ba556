//go:build unix

package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/a2atop/a2atop/internal/testkit/binary"
	"github.com/a2atop/a2atop/internal/testkit/pgtest"
	"github.com/a2atop/a2atop/internal/testkit/tmux"
)

// TestEndToEndDashboardObservesDatabase runs the real binary on one
// PostgreSQL database: `serve` as a replica, the dashboard with
// --read-only as an observer, and a CLI send (a replica for as long as it
// runs) meanwhile. The observer shows the task live, as the replicas run
// it, and says what it is in its header.
func TestEndToEndDashboardObservesDatabase(t *testing.T) {
	tmux.Need(t)
	bin := binary.Build(t)
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.NewDatabase(t)
	dir := t.TempDir()
	env := []string{"XDG_DATA_HOME=" + filepath.Join(dir, "data"), "A2ATOP_URL=", "A2ATOP_DB=" + dsn}
	sp := startServe(t, bin, dsn, env)

	tm := tmux.Start(t, append([]string{"NO_COLOR=1"}, env...), bin, "--read-only")
	tm.WaitFor("(observer, read-only)")

	send := exec.Command(bin, "send", "slow 3")
	send.Dir = dir
	send.Env = append(os.Environ(), env...)
	if out, err := send.CombinedOutput(); err != nil {
		t.Fatalf("a2atop send on the DSN: %v\n%s", err, out)
	}
	capture := tm.WaitFor("done after 3 steps", "✓ 1 done")
	tm.Keys("q")
	tm.WaitFor(tmux.Exited + "0")
	sp.stop()
	if d := os.Getenv("A2ATOP_E2E_CAPTURES"); d != "" {
		os.WriteFile(filepath.Join(d, "pg-observer.txt"), []byte(capture), 0o644)
	}
	noPostgresFolder(t, dir)
}
