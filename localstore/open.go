package localstore

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Open opens the store at path, creating it (and its directory) if there is
// no file there, and migrating a file of an older schema (migrate.go). It never writes to a file that is not an a2atop store: a
// foreign, empty, truncated or damaged file, or one from a newer a2atop, is
// refused with an error naming the path, untouched.
func Open(path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("open store: no path given")
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && opts.NoCreate:
		return nil, fmt.Errorf("open store %s: %w", path, ErrNoStore)
	case errors.Is(err, fs.ErrNotExist):
		if err := create(path, opts); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("open store %s: %w", path, err)
	case info.IsDir():
		return nil, fmt.Errorf("open store %s: it is a directory; pass the path of a file", path)
	case info.Size() == 0:
		return nil, fmt.Errorf("open store %s: %w: the file is empty (remove it to start a new store, or pass --db another path)", path, ErrNotA2atop)
	}

	if opts.mappedSize <= 0 {
		opts.mappedSize = defaultMappedSize
	}
	// Three attempts: another process may migrate the file, or checkpoint
	// its redo log, between this one's validation and its open.
	for attempt := 0; ; attempt++ {
		s, err := openStore(path, opts)
		if (errors.Is(err, errMigratedMeanwhile) || errors.Is(err, errRedoMeanwhile)) && attempt < 2 {
			continue
		}
		return s, err
	}
}

// openStore opens the file (recovering it from its redo log first) and
// starts the store's writer.
func openStore(path string, opts Options) (*Store, error) {
	var gen uint64
	if useRedo(opts) {
		var err error
		if gen, err = restoreCheckpoint(path, opts); err != nil {
			return nil, err
		}
	}
	db, err := openCurrent(path, opts)
	unmapped := false
	if err != nil && useRedo(opts) && errors.Is(err, syscall.ENOMEM) {
		// The mapping redo mode reserves does not fit this process's
		// address space (ulimit -v): bbolt syncs each commit itself.
		opts.mappedSize, unmapped = 0, true
		db, err = openCurrent(path, opts)
	}
	if err != nil {
		return nil, err
	}
	s := &Store{
		db:         db,
		path:       path,
		commits:    make(chan *commitRequest),
		closing:    make(chan struct{}),
		writerDone: make(chan struct{}),
		mappedSize: opts.mappedSize,
		afterSync:  opts.afterSync,
	}
	if useRedo(opts) {
		err := s.startRedo(gen)
		if err == nil && unmapped {
			// After the replay: no commit runs while a checkpoint is held.
			err = s.leaveRedo()
		}
		if err != nil {
			s.broken = err // leaves the log as it is
			_ = s.closeRedo()
			db.Close()
			return nil, err
		}
	}
	go s.writer()
	return s, nil
}

// openCurrent validates path, migrates it if it has an older schema, and
// opens it read-write.
func openCurrent(path string, opts Options) (*bolt.DB, error) {
	// Validate read-only first: a read-only open never writes, whereas a
	// read-write open of a foreign bbolt file may (bbolt rewrites a missing
	// freelist). The shared lock it takes still conflicts with a writer's
	// exclusive one, so a file in use is reported here already.
	version, err := validate(path, opts)
	if err != nil {
		return nil, err
	}
	switch version {
	case 1:
		err = migrate(path, opts)
	case 2:
		err = migrateSchema2(path, opts)
	}
	if err != nil {
		return nil, err
	}
	bopts := &bolt.Options{
		Timeout:      opts.LockTimeout,
		NoSync:       opts.NoSync,
		FreelistType: bolt.FreelistMapType,
	}
	if useRedo(opts) && opts.mappedSize > 0 {
		// Commits are made durable by the redo log (see redo.go).
		bopts.NoSync = true
		bopts.InitialMmapSize = opts.mappedSize
	}
	db, err := openGuarded(path, bopts)
	if err != nil {
		return nil, err
	}
	// The file validated may have been replaced by a migration in another
	// process since.
	if err := db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return errMigratedMeanwhile
		}
		if v, err := getU64(meta.Get(metaSchema)); err != nil || v != schemaVersion {
			return errMigratedMeanwhile
		}
		return nil
	}); err != nil {
		db.Close()
		return nil, err
	}
	// bbolt grows a file past 16 MiB by 16 MiB at a time (the default
	// AllocSize), which a store of 10k tasks shows as 1.6 KB a task of
	// unused tail; 4 MiB steps cost one more grow (a truncate and fsync)
	// per 4 MiB written.
	db.AllocSize = growStep
	return db, nil
}

// growStep is the bbolt file's growth step (bolt.DB.AllocSize).
const growStep = 4 << 20

// openGuarded opens path read-write. bbolt reads the freelist then, and
// panics on a damaged one (validate's read-only open does not read it):
// that becomes an error, and the file (with its lock) is closed.
func openGuarded(path string, bopts *bolt.Options) (db *bolt.DB, err error) {
	f := keepFile(bopts)
	defer func() {
		if db == nil && *f != nil {
			(*f).Close()
		}
	}()
	defer guard(&err, path)()
	if db, err = bolt.Open(path, 0o600, bopts); err != nil {
		return nil, openError(path, err)
	}
	return db, nil
}

// keepFile makes bbolt open its file through bopts.OpenFile and returns
// where the file will be, for closing it after a panic.
func keepFile(bopts *bolt.Options) **os.File {
	var f *os.File
	bopts.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		var err error
		f, err = os.OpenFile(name, flag, perm)
		return f, err
	}
	return &f
}

// validate opens path read-only and checks that it is an a2atop store this
// build can read (perhaps after a migration); it returns its schema version.
func validate(path string, opts Options) (version uint64, err error) {
	bopts := &bolt.Options{Timeout: opts.LockTimeout, ReadOnly: true}
	f := keepFile(bopts)
	defer func() {
		// After a panic bbolt's Close may not have run to the end: the
		// file, and the lock with it, must not stay open.
		if err != nil && *f != nil {
			(*f).Close()
		}
	}()
	defer guard(&err, path)()
	db, err := bolt.Open(path, 0o600, bopts)
	if err != nil {
		return 0, openError(path, err)
	}
	defer db.Close()
	size, err := fileSize(path)
	if err != nil {
		return 0, fmt.Errorf("open store %s: %w", path, err)
	}
	return version, db.View(func(tx *bolt.Tx) error {
		// A file shorter than its high-water mark was truncated: pages the
		// tree points at are missing (and reading them would fault).
		if tx.Size() > size {
			return fmt.Errorf("open store %s: %w: the file is truncated (%d bytes, %d expected)", path, ErrNotA2atop, size, tx.Size())
		}
		meta := tx.Bucket(bucketMeta)
		if meta == nil || !bytes.Equal(meta.Get(metaApp), appName) {
			return fmt.Errorf("open store %s: %w: it is a bbolt database of another program (pass --db another path)", path, ErrNotA2atop)
		}
		if err := checkFreelistPage(path, db.Info().PageSize, uint64(tx.ID())); err != nil {
			return err
		}
		version, err = getU64(meta.Get(metaSchema))
		if err != nil || version == 0 {
			return fmt.Errorf("open store %s: %w: its schema version is unreadable", path, ErrNotA2atop)
		}
		if version > schemaVersion {
			return fmt.Errorf("open store %s: %w (schema %d; this a2atop reads up to %d): upgrade a2atop, or pass --db another path", path, ErrNewerSchema, version, schemaVersion)
		}
		want := allBuckets
		if version == 1 {
			want = v1Buckets
		}
		for _, name := range want {
			if tx.Bucket(name) == nil {
				return fmt.Errorf("open store %s: %w: bucket %q is missing (the file is damaged)", path, ErrNotA2atop, name)
			}
		}
		return nil
	})
}

// checkFreelistPage checks that the freelist page of transaction txid is
// one. bbolt reads the freelist on a read-write open and panics on a
// damaged one, after mapping the file: the mapping, and the file's lock
// with it, would then stay until the process exits.
func checkFreelistPage(path string, pageSize int, txid uint64) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open store %s: %w", path, err)
	}
	defer f.Close()
	meta := make([]byte, metaKeep)
	if _, err := f.ReadAt(meta, int64(txid%2)*int64(pageSize)); err != nil {
		return fmt.Errorf("open store %s: %w", path, err)
	}
	const noFreelist = 1<<64 - 1 // bbolt's NoFreelistSync mark
	freelist := binary.NativeEndian.Uint64(meta[48:])
	if freelist == noFreelist {
		return nil
	}
	flags := make([]byte, 2)
	if _, err := f.ReadAt(flags, int64(freelist)*int64(pageSize)+8); err != nil || binary.NativeEndian.Uint16(flags) != 0x10 {
		return fmt.Errorf("open store %s: %w: its freelist page %d is damaged; pass --db another path or restore a copy", path, ErrNotA2atop, freelist)
	}
	return nil
}

// openError maps bbolt's open errors onto ours.
func openError(path string, err error) error {
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("open store %s: %w: close that a2atop, or pass --db another path", path, ErrInUse)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum):
		return fmt.Errorf("open store %s: %w: the file is not a bbolt database, or it is damaged", path, ErrNotA2atop)
	case errors.Is(err, berrors.ErrVersionMismatch):
		return fmt.Errorf("open store %s: %w: the file is a bbolt database of an unknown version", path, ErrNotA2atop)
	case strings.Contains(err.Error(), "file size too small"):
		// bbolt has no sentinel for a file shorter than its two meta pages.
		return fmt.Errorf("open store %s: %w: the file is too short to be a bbolt database", path, ErrNotA2atop)
	}
	return fmt.Errorf("open store %s: %w", path, err)
}

// create makes a new store at path atomically: the layout is written to a
// temporary file next to it, which is then hard-linked into place. A crash
// can leave a stray temporary file but never a half-made store at path, and
// of two processes creating the same store at once, one links and the other
// finds the file there and opens it.
func create(path string, opts Options) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create store %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".new-*")
	if err != nil {
		return fmt.Errorf("create store %s: %w", path, err)
	}
	tmpPath := tmp.Name()
	defer os.Remove(tmpPath)
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("create store %s: %w", path, err)
	}
	db, err := bolt.Open(tmpPath, 0o600, &bolt.Options{Timeout: opts.LockTimeout})
	if err != nil {
		return fmt.Errorf("create store %s: %w", path, err)
	}
	err = db.Update(initLayout)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("create store %s: %w", path, err)
	}
	switch err := os.Link(tmpPath, path); {
	case errors.Is(err, fs.ErrExist):
		return nil // another process made it first
	case err != nil:
		// A file system without hard links: rename instead, which is
		// atomic too but would replace a store another process created
		// in the meantime, so check first (a narrow race remains).
		if _, serr := os.Stat(path); !errors.Is(serr, fs.ErrNotExist) {
			return fmt.Errorf("create store %s: %w", path, err)
		}
		if err := os.Rename(tmpPath, path); err != nil {
			return fmt.Errorf("create store %s: %w", path, err)
		}
	}
	// A log left by a file deleted without it would not match the new
	// file (restoreCheckpoint refuses it).
	if err := removeStaleRedo(path); err != nil {
		return err
	}
	// Make the new directory entry durable too.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

func initLayout(tx *bolt.Tx) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucket(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	if err := meta.Put(metaApp, appName); err != nil {
		return err
	}
	if err := meta.Put(metaSchema, appendU64(nil, schemaVersion)); err != nil {
		return err
	}
	if err := meta.Put(metaID, newStoreID()); err != nil {
		return err
	}
	return meta.Put(metaCursor, appendU64(nil, 0))
}

// newStoreID returns a new value for metaID.
func newStoreID() []byte {
	id := make([]byte, 16)
	_, _ = rand.Read(id) // crypto/rand.Read does not fail
	return id
}

// guard turns a panic or a memory fault (a damaged file can make bbolt read
// a page outside the mapping) in the calling goroutine into an error naming
// the file. Use as `defer guard(&err, path)()`.
func guard(err *error, path string) func() {
	old := debug.SetPanicOnFault(true)
	return func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			*err = fmt.Errorf("store %s: %w: reading it failed (%v); pass --db another path or restore a copy", path, ErrNotA2atop, r)
		}
	}
}

// view runs a read transaction, guarded against damaged files.
func (s *Store) view(fn func(*bolt.Tx) error) (err error) {
	defer guard(&err, s.path)()
	if err := s.db.View(fn); err != nil {
		if errors.Is(err, berrors.ErrDatabaseNotOpen) {
			return ErrClosed
		}
		return err
	}
	return nil
}
