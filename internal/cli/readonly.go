package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/localstore"
)

// Commands that only read (get, list, check) never create a store: a
// mistyped --db would otherwise leave a new empty store, and its
// directories, behind and print "no tasks" as if all were well.

// requireStore fails with exit status 3 when there is no store at path,
// with a line that names the path and says how to fix it.
func requireStore(path string, isDefault bool) error {
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return noStore(path, isDefault)
	}
	return nil // other errors are the open's to report
}

// noStore is the error for a missing store.
func noStore(path string, isDefault bool) error {
	if isDefault {
		return unreachable(fmt.Errorf("no task store at %s yet: `a2atop send TEXT` creates it (or give --db PATH, or set $A2ATOP_DB)", path))
	}
	return unreachable(fmt.Errorf("no task store at %s: check the path given with --db or $A2ATOP_DB (`a2atop send --db PATH TEXT` creates a store)", path))
}

// openErr maps an error opening a local store onto its exit status (3)
// and, for a store that vanished between the check and the open, the
// same line as requireStore.
func openErr(err error, path string, isDefault bool) error {
	if errors.Is(err, localstore.ErrNoStore) {
		return noStore(path, isDefault)
	}
	var damaged *engine.DamagedError
	if errors.As(err, &damaged) {
		return unreachable(fmt.Errorf("the task store %s is damaged: task %s is unfinished but its record cannot be read (%v), so the engine does not start: `a2atop check --db %s` reports the damage; --allow-damaged runs the engine anyway, leaving damaged tasks alone",
			path, damaged.TaskID, damaged.Err, path))
	}
	return unreachable(err)
}
