package localstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Checkpoints and recovery of the redo log (see redo.go).

const (
	// checkpointPages is how many pages the commits since a checkpoint may
	// write before the next one. While a checkpoint is held, the pages it
	// uses that later commits replace cannot be reused, so this bounds the
	// file's growth between checkpoints (4 MiB at 4 KiB pages); a
	// checkpoint costs two fdatasyncs (the file, the log's header).
	checkpointPages = 1024
	// checkpointBytes bounds the log's records between checkpoints, so
	// that it stays within the blocks written when it was made.
	checkpointBytes = redoPrealloc - redoRecordsAt - 64<<10
	// defaultMappedSize is the size bbolt maps the file at in redo mode:
	// the address space is reserved, not memory. A held checkpoint makes
	// a remap deadlock, so redo mode ends once the file's high-water mark
	// passes half of it.
	defaultMappedSize = 64 << 30
)

// errRedoForeign: the log was written for another file.
var errRedoForeign = errors.New("its redo log does not belong to it (was the file replaced?)")

// bboltMeta is what recovery reads of a saved meta page (bbolt's layout:
// a 16-byte page header, then the meta in native byte order).
type bboltMeta struct {
	root, freelist, txid uint64
}

const bboltMagic = 0xED0CDAED

func parseMeta(page []byte) (bboltMeta, bool) {
	if len(page) < 80 || binary.NativeEndian.Uint32(page[16:]) != bboltMagic {
		return bboltMeta{}, false
	}
	ne := binary.NativeEndian
	return bboltMeta{root: ne.Uint64(page[32:]), freelist: ne.Uint64(page[48:]), txid: ne.Uint64(page[64:])}, true
}

// fileMark is what identifies a checkpoint's file (see redoHeader): with
// metaID inline in the root page, a file's root page is its own.
type fileMark struct {
	rootSum, freeSum uint32
}

// markOf reads the mark of the file f at the checkpoint m.
func markOf(f *os.File, pageSize int, m bboltMeta) (fileMark, error) {
	var mark fileMark
	page := make([]byte, pageSize)
	if _, err := f.ReadAt(page, int64(m.root)*int64(pageSize)); err != nil {
		return mark, err
	}
	mark.rootSum = crc32.Checksum(page, castagnoli)
	if _, err := f.ReadAt(page, int64(m.freelist)*int64(pageSize)); err == nil {
		mark.freeSum = crc32.Checksum(page, castagnoli)
	}
	return mark, nil
}

// useRedo reports whether a store opened with opts commits through the
// redo log.
func useRedo(opts Options) bool { return redoSupported && !opts.NoSync }

// restoreCheckpoint returns the file at path to the checkpoint of its redo
// log, if the log says it must (the store was not closed cleanly): it
// writes the checkpoint's meta page back and invalidates the other one,
// under the file's lock. It returns the log header's generation (0 without
// a log), which startRedo checks again once bbolt holds the lock.
func restoreCheckpoint(path string, opts Options) (uint64, error) {
	h, err := readRedoHeader(path)
	if err != nil || !h.restore {
		return h.gen, err
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, fmt.Errorf("open store %s: %w", path, err)
	}
	defer f.Close() // releases the lock too
	for deadline := time.Now().Add(opts.LockTimeout); ; {
		ok, err := tryLock(f)
		if err != nil {
			return 0, fmt.Errorf("open store %s: lock: %w", path, err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("open store %s: %w: close that a2atop, or pass --db another path", path, ErrInUse)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Again under the lock: the process that held it may have closed the
	// store cleanly (or checkpointed) meanwhile.
	if h, err = readRedoHeader(path); err != nil || !h.restore {
		return h.gen, err
	}
	m, ok := parseMeta(h.meta)
	if !ok || m.txid != h.txid {
		return 0, fmt.Errorf("open store %s: %w: its redo log %s is damaged; move it away to open the file as it is (the commits only the log holds are then lost)", path, ErrNotA2atop, redoPath(path))
	}
	if mark, err := markOf(f, h.pageSize, m); err != nil || mark != h.mark() {
		return 0, fmt.Errorf("open store %s: %w: move %s away to open the file as it is (the commits only the log holds are then lost)", path, errRedoForeign, redoPath(path))
	}
	// The other meta page first: until the checkpoint's is back, it may
	// be the newest valid one and point at pages lost with the power.
	page := make([]byte, h.pageSize)
	if _, err := f.WriteAt(page, int64((h.txid+1)%2)*int64(h.pageSize)); err != nil {
		return 0, fmt.Errorf("open store %s: restore checkpoint: %w", path, err)
	}
	if err := fdatasync(f); err != nil {
		return 0, fmt.Errorf("open store %s: restore checkpoint: %w", path, err)
	}
	copy(page, h.meta)
	if _, err := f.WriteAt(page, int64(h.txid%2)*int64(h.pageSize)); err != nil {
		return 0, fmt.Errorf("open store %s: restore checkpoint: %w", path, err)
	}
	if err := fdatasync(f); err != nil {
		return 0, fmt.Errorf("open store %s: restore checkpoint: %w", path, err)
	}
	return h.gen, nil
}

// readRedoHeader reads the current header of the log of the store at path:
// the zero header without a log or a valid header.
func readRedoHeader(path string) (redoHeader, error) {
	l, err := openRedo(path, false)
	if l == nil || err != nil {
		return redoHeader{}, err
	}
	defer l.close()
	return l.hdr, nil
}

// errRedoMeanwhile: another process checkpointed the log between this
// one's restore and its open; Open starts again.
var errRedoMeanwhile = errors.New("the redo log changed while waiting for the lock")

// startRedo puts the open store in redo mode: it replays the log's records
// over the checkpoint restoreCheckpoint returned the file to (gen: the
// generation it saw), then checkpoints.
func (s *Store) startRedo(gen uint64) (err error) {
	l, err := openRedo(s.path, true)
	if err != nil {
		return err
	}
	defer func() {
		if s.redo == nil {
			l.close()
		}
	}()
	if l.hdr.gen != gen {
		return errRedoMeanwhile
	}
	if l.valid() && l.hdr.restore {
		err := s.updateTx(func(tx *bolt.Tx) error {
			return l.replay(func(payload []byte) error { return replayOps(tx, payload) })
		})
		if err != nil {
			return fmt.Errorf("open store %s: replay %s: %w", s.path, l.path, err)
		}
	}
	f, err := os.Open(s.path)
	if err != nil {
		return fmt.Errorf("open store %s: %w", s.path, err)
	}
	s.redo, s.file = l, f
	if err := s.view(func(tx *bolt.Tx) error {
		s.highWater = tx.Size()
		return nil
	}); err != nil {
		return err
	}
	return s.checkpoint()
}

// checkpoint syncs the file, holds its tree and starts the log again.
func (s *Store) checkpoint() error {
	if err := s.db.Sync(); err != nil {
		return fmt.Errorf("sync store %s: %w", s.path, err)
	}
	s.synced("store")
	pin, err := s.db.Begin(false)
	if err != nil {
		return fmt.Errorf("checkpoint store %s: %w", s.path, err)
	}
	h, err := s.checkpointHeader(uint64(pin.ID()))
	if err == nil {
		err = s.redo.setHeader(h)
	}
	if err != nil {
		_ = pin.Rollback()
		return err
	}
	s.synced("redo")
	if s.pin != nil {
		_ = s.pin.Rollback()
	}
	s.pin = pin
	s.pagesSince = 0
	return nil
}

func (s *Store) synced(file string) {
	if s.afterSync != nil {
		s.afterSync(file)
	}
}

// checkpointHeader reads the synced checkpoint txid back from the file.
func (s *Store) checkpointHeader(txid uint64) (redoHeader, error) {
	pageSize := s.db.Info().PageSize
	meta := make([]byte, metaKeep)
	if _, err := s.file.ReadAt(meta, int64(txid%2)*int64(pageSize)); err != nil {
		return redoHeader{}, fmt.Errorf("checkpoint store %s: read meta page: %w", s.path, err)
	}
	m, ok := parseMeta(meta)
	if !ok || m.txid != txid {
		return redoHeader{}, fmt.Errorf("checkpoint store %s: the meta page of transaction %d is not where bbolt writes it", s.path, txid)
	}
	mark, err := markOf(s.file, pageSize, m)
	if err != nil {
		return redoHeader{}, fmt.Errorf("checkpoint store %s: %w", s.path, err)
	}
	return redoHeader{
		gen: s.redo.hdr.gen + 1, restore: true, txid: txid, pageSize: pageSize,
		rootSum: mark.rootSum, freeSum: mark.freeSum, meta: meta,
	}, nil
}

// leaveRedo ends redo mode: the file is synced and marked whole in the
// log, the checkpoint let go, and bbolt syncs each commit from now on.
func (s *Store) leaveRedo() error {
	if err := s.closeRedo(); err != nil {
		return err
	}
	s.db.NoSync = false
	return nil
}

// closeRedo syncs the file, marks it whole in the log (so that the next
// open restores nothing) and closes the log; a broken store's log is left
// as it is, for recovery.
func (s *Store) closeRedo() error {
	if s.redo == nil {
		return nil
	}
	var err error
	if s.broken == nil {
		if err = s.db.Sync(); err != nil {
			err = fmt.Errorf("sync store %s: %w", s.path, err)
		} else {
			err = s.redo.setHeader(redoHeader{gen: s.redo.hdr.gen + 1, pageSize: s.db.Info().PageSize})
		}
	}
	if s.pin != nil {
		_ = s.pin.Rollback()
		s.pin = nil
	}
	err = errors.Join(err, s.redo.close(), s.file.Close())
	s.redo, s.file = nil, nil
	return err
}

// redoPath names the log of the store at path.
func redoPath(path string) string { return path + redoSuffix }

// removeStaleRedo deletes the log of a file that is being created.
func removeStaleRedo(path string) error {
	if err := os.Remove(redoPath(path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("create store %s: remove old redo log: %w", path, err)
	}
	return nil
}
