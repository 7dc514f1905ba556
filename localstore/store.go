// Package localstore is the bbolt implementation of engine.Store: a2atop's
// tasks, their timelines and the global event log in one file, with the
// indexes List pages through and counters for its totals.
//
// One process at a time opens a file (bbolt's file lock); a second one gets
// ErrInUse after Options.LockTimeout instead of waiting. Commits from many
// goroutines are grouped into one transaction and one fdatasync, of the
// redo log in front of bbolt (see commit.go and redo.go).
// Nothing per task is kept in memory: every read goes to the file, which
// bbolt maps into memory, so the resident size follows the pages touched,
// not the number of tasks; long scans drop the pages they read from the
// resident set as they go (see dropPages).
//
// The layout is described in layout.go, the value encodings in record.go.
package localstore

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Options tunes Open.
type Options struct {
	// LockTimeout bounds the wait for the file lock; default 1s. (Open
	// takes the lock twice, to validate the file read-only and then to
	// open it, so two processes racing to open one file may wait twice.)
	LockTimeout time.Duration
	// NoSync turns fsync off (tests, benchmarks only): a crash of the
	// machine may then lose or corrupt recent commits.
	NoSync bool
	// NoCreate makes Open fail with an error wrapping ErrNoStore when
	// there is no file at the path, instead of creating a store there:
	// for readers, which a mistyped path must not leave a store (and its
	// directories) behind.
	NoCreate bool

	// mappedSize overrides defaultMappedSize (tests of leaving redo mode).
	mappedSize int
	// afterSync, for the power-loss tests, is called in the writer right
	// after a sync of the file ("store") or of its redo log ("redo").
	afterSync func(file string)
}

// DefaultLockTimeout is Options.LockTimeout's default.
const DefaultLockTimeout = time.Second

// Errors Open returns, for errors.Is. The returned error wraps one of them
// with the file's path and what to do.
var (
	// ErrInUse: another process holds the file's lock.
	ErrInUse = errors.New("the file is in use by another a2atop process")
	// ErrNewerSchema: the file was written by a newer a2atop.
	ErrNewerSchema = errors.New("the file was written by a newer version of a2atop")
	// ErrNotA2atop: the file is not an a2atop store, or it is damaged.
	ErrNotA2atop = errors.New("not an a2atop task store")
	// ErrNoStore: there is no file at the path (Options.NoCreate).
	ErrNoStore = errors.New("no task store there")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("the task store is closed")
)

// Store is a bbolt-backed engine.Store. Its methods are safe for concurrent
// use.
type Store struct {
	db   *bolt.DB
	path string

	// commits feeds the writer goroutine (commit.go). It is unbuffered: a
	// request is either taken by the writer, which then always answers it,
	// or refused because closing is closed.
	commits chan *commitRequest
	closing chan struct{}
	// writerDone is closed when the writer has returned.
	writerDone chan struct{}
	closeOnce  sync.Once
	closeErr   error

	// The writer's, once it runs (see redo.go). redo is nil when bbolt
	// syncs each commit itself: Options.NoSync, a system without the
	// log, or a file too big for redo mode.
	redo *redoLog
	// file reads the checkpoint's meta and root pages for the log header.
	file *os.File
	// pin is the read transaction that holds the checkpoint's tree.
	pin *bolt.Tx
	ops opLog
	// pagesSince counts the pages written since the checkpoint.
	pagesSince int
	// highWater is the file's size in use at the last write transaction.
	highWater int64
	// mappedSize is the size bbolt maps the file at (redo mode).
	mappedSize int
	afterSync  func(file string)
	// broken is set when the log could not be written or synced: every
	// later commit fails with it, and Close leaves the log for recovery.
	broken error
}

// Path returns the file's path.
func (s *Store) Path() string { return s.path }

// Close waits for commits in progress, stops the writer and closes the
// file. Commits after Close fail with ErrClosed. Safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		<-s.writerDone
		errs := []error{s.closeRedo()}
		if err := s.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store %s: %w", s.path, err))
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// Check verifies the file: bbolt's own consistency check (every page
// reachable once, no page both used and free), then a2atop's invariants:
// every task has its four index entries and no index entry lacks its task,
// the counters equal what the index holds, every message id names a task
// that lists it, every event (inline or spilled) belongs to a stored task
// and is covered by exactly one log entry, and every log entry points at
// stored events with its cursors. It
// reads the whole file: for tests and repair tools, not for every open.
func (s *Store) Check() error {
	defer s.releasePages()
	return s.view(func(tx *bolt.Tx) error {
		// a2atop's invariants first: they read every key and value in this
		// goroutine, where guard turns a fault on a damaged page into an
		// error. bbolt's checker runs in a goroutine of its own, where a
		// fault would end the process.
		if err := checkInvariants(tx); err != nil {
			return fmt.Errorf("check %s: %w", s.path, err)
		}
		// The channel must be drained: bbolt's checker goroutine holds the
		// transaction until it has sent every error.
		var errs []error
		for err := range tx.Check() {
			if len(errs) < 20 {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			return fmt.Errorf("check %s: bbolt: %w", s.path, errors.Join(errs...))
		}
		return nil
	})
}

// releaseAfter is how many index entries a scan reads between drops of the
// file's pages from the resident set (see dropPages).
const releaseAfter = 4096

// dropPages drops the process's mapping of the whole file, so that after a
// scan (a List with a Text filter, Sweep, Check) the resident set goes back
// to the pages in use instead of keeping every page the scan read. Pages
// the caller still reads fault back in from the page cache.
//
// Only in a read transaction: it holds bbolt's mmap lock, so the file is
// not remapped meanwhile, and the mapping covers the transaction's
// tx.Size(). (In a write transaction the file may have grown past the
// mapping, and the range past it may hold other memory.)
func (s *Store) dropPages(tx *bolt.Tx) {
	if !tx.Writable() {
		dropMapping(s.db.Info().Data, int(tx.Size()))
	}
}

// releasePages is dropPages in a read transaction of its own.
func (s *Store) releasePages() {
	_ = s.view(func(tx *bolt.Tx) error {
		s.dropPages(tx)
		return nil
	})
}

func fileSize(path string) (int64, error) {
	info, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}
