package localstore

import (
	"os"
	"syscall"
)

// redoSupported: the redo log needs fdatasync and flock.
const redoSupported = true

func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }

// tryLock takes f's exclusive flock (bbolt's lock) without waiting; it
// reports false when another process holds a lock on the file.
func tryLock(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err == syscall.EWOULDBLOCK {
		return false, nil
	}
	return err == nil, err
}
