package cli

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Reading commands never create a store: a mistyped --db is an error
// naming the path (exit 3), and nothing appears on disk.
func TestReadCommandsDoNotCreateStores(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo", "dir", "new.db")
	for _, args := range [][]string{{"list"}, {"get", "some-task"}, {"list", "--json"}} {
		r := mustRun(t, typo, exitUnreachable, args...)
		oneErrorLine(t, r, typo)
		oneErrorLine(t, r, "no task store")
	}
	if _, err := os.Stat(filepath.Join(dir, "typo")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("list created %s: %v", filepath.Join(dir, "typo"), err)
	}
	// The default store likewise: list on a fresh machine says there is
	// none yet and creates nothing.
	data := t.TempDir()
	r := runIn(t, context.Background(), "", map[string]string{"XDG_DATA_HOME": data}, "list")
	if r.code != exitUnreachable {
		t.Fatalf("list without a store: exit %d, want 3\n%s", r.code, r.stderr)
	}
	oneErrorLine(t, r, "a2atop send")
	if entries, _ := os.ReadDir(data); len(entries) != 0 {
		t.Fatalf("list created %v in the data directory", entries)
	}
	// Once a send created it, list reads it.
	db := filepath.Join(dir, "real.db")
	mustRun(t, db, exitOK, "send", "echo", "x")
	mustRun(t, db, exitOK, "list")
}
