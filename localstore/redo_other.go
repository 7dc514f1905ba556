//go:build !linux

package localstore

import (
	"errors"
	"os"
)

// redoSupported: elsewhere bbolt syncs each commit itself (twice).
const redoSupported = false

func fdatasync(f *os.File) error { return f.Sync() }

func tryLock(f *os.File) (bool, error) {
	return false, errors.New("the redo log is not supported on this system")
}
