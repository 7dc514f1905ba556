package localstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
)

// The redo log: one fdatasync per commit group.
//
// bbolt syncs a commit twice (its pages, then its meta page) with its write
// lock held. With a store's redo log, bbolt commits with NoSync instead,
// and the writer appends every key written or deleted in the transaction
// to the log (path + redoSuffix) and syncs that once: a commit is durable
// when its log record is. Now and then (checkpointPages) the writer syncs
// the bbolt file and starts the log again; that sync covers every commit
// since the previous one.
//
// After a power loss the bbolt file holds the last checkpoint's pages plus
// any mix of later, unsynced writes, and its newest meta page may point at
// pages that never reached the disk. Recovery therefore returns the file
// to the checkpoint and replays the log's records over it. That needs the
// checkpoint's tree to survive on disk until the next checkpoint:
//
//   - bbolt overwrites the checkpoint's meta page two commits later, so
//     the log's header keeps a copy of it (redoHeader.meta), written back
//     on recovery (restoreCheckpoint);
//   - bbolt reuses a freed page as soon as no read transaction predates
//     its freeing (freelist ReleasePendingPages), so the writer holds a
//     read transaction on the checkpoint (Store.pin) until the next one;
//   - a held read transaction blocks bbolt's remap of a file grown past its
//     mapping (db.mmap takes mmaplock.Lock, the reader holds RLock): the
//     file is mapped at mappedSize from the start, and once its
//     high-water mark passes half of that the store leaves redo mode for
//     good (bbolt syncs every commit itself again, leaveRedo).
//
// Every write goes through the writer, Sweep included, so the log holds
// every change since the checkpoint and replaying it rebuilds exactly the
// file that was acknowledged. A migration or a replay happens before the
// writer starts and is followed by a checkpoint.
//
// Layout: two header slots (redoSlotSize each; the valid one with the
// higher generation is current), then records from redoRecordsAt: a
// little-endian uint32 payload length, the CRC-32C of the generation and
// payload, and the payload. A checkpoint writes the next generation's
// header into the other slot and appends from redoRecordsAt again, so
// records of an older generation beyond the last good one fail their
// checksum and end the replay, as does a record torn by a crash.

// redoSuffix names the log beside its store.
const redoSuffix = "-redo"

const (
	redoMagic     = "a2atopRL"
	redoFormat    = 1
	redoSlotSize  = 4096
	redoRecordsAt = 2 * redoSlotSize
	// redoPrealloc is the size written (with zeros) when the log is made:
	// appends then overwrite allocated blocks, so a record's fdatasync
	// writes the record and not the file's size or extents too.
	redoPrealloc = 4 << 20
	// metaKeep is how much of the checkpoint's meta page the header keeps:
	// the page header and bbolt's meta (80 bytes); bbolt writes the rest
	// of a meta page as zeros.
	metaKeep = 128
	// maxRecord bounds a record's payload on replay (a group writes at
	// most maxGroupBytes of values, plus keys and framing).
	maxRecord = 4 * maxGroupBytes
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// redoHeader is a log header: the checkpoint the log's records follow.
type redoHeader struct {
	gen uint64
	// restore is false when the bbolt file is whole by itself (a clean
	// close, or a store out of redo mode): nothing to restore or replay.
	restore  bool
	txid     uint64
	pageSize int
	// The file the log was written for, checked before restoring so that
	// a log never rewinds another file: the CRC-32C of the checkpoint's
	// root and freelist pages, which the checkpoint holds on disk until
	// the next one. (Not the inode: a copy of both files must recover.)
	rootSum, freeSum uint32
	meta             []byte // metaKeep bytes of the checkpoint's meta page
}

func (h redoHeader) mark() fileMark {
	return fileMark{rootSum: h.rootSum, freeSum: h.freeSum}
}

const redoHeaderLen = 8 + 4 + 4 + 8 + 8 + 4 + 4 + 4 + metaKeep + 4

func (h redoHeader) encode() []byte {
	b := make([]byte, 0, redoHeaderLen)
	b = append(b, redoMagic...)
	b = binary.LittleEndian.AppendUint32(b, redoFormat)
	var flags uint32
	if h.restore {
		flags = 1
	}
	b = binary.LittleEndian.AppendUint32(b, flags)
	b = binary.LittleEndian.AppendUint64(b, h.gen)
	b = binary.LittleEndian.AppendUint64(b, h.txid)
	b = binary.LittleEndian.AppendUint32(b, uint32(h.pageSize))
	b = binary.LittleEndian.AppendUint32(b, h.rootSum)
	b = binary.LittleEndian.AppendUint32(b, h.freeSum)
	meta := make([]byte, metaKeep)
	copy(meta, h.meta)
	b = append(b, meta...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// decodeRedoHeader reads a slot; ok is false for a slot never written, torn
// or of another format.
func decodeRedoHeader(b []byte) (h redoHeader, ok bool) {
	if len(b) < redoHeaderLen || string(b[:8]) != redoMagic {
		return h, false
	}
	body := b[:redoHeaderLen-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[redoHeaderLen-4:]) {
		return h, false
	}
	le := binary.LittleEndian
	if le.Uint32(b[8:]) != redoFormat {
		return h, false
	}
	h.restore = le.Uint32(b[12:])&1 != 0
	h.gen = le.Uint64(b[16:])
	h.txid = le.Uint64(b[24:])
	h.pageSize = int(le.Uint32(b[32:]))
	h.rootSum = le.Uint32(b[36:])
	h.freeSum = le.Uint32(b[40:])
	h.meta = append([]byte(nil), b[44:44+metaKeep]...)
	return h, h.pageSize >= metaKeep
}

// redoLog is an open log. Only the writer (or Open and Close, when no
// writer runs) uses it.
type redoLog struct {
	f    *os.File
	path string
	// hdr is the current header, in slot.
	hdr  redoHeader
	slot int
	// off is where the next record goes.
	off int64
	buf []byte
}

// openRedo opens the log of the store at path. Without one, it creates
// it (with no valid header) if create, and otherwise returns nil.
func openRedo(path string, create bool) (*redoLog, error) {
	p := redoPath(path)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		if !create {
			return nil, nil
		}
		return createRedo(p)
	}
	if err != nil {
		return nil, fmt.Errorf("open redo log %s: %w", p, err)
	}
	l := &redoLog{f: f, path: p, off: redoRecordsAt, slot: 1}
	for slot := range 2 {
		b := make([]byte, redoHeaderLen)
		if _, err := f.ReadAt(b, int64(slot)*redoSlotSize); err != nil && !errors.Is(err, io.EOF) {
			f.Close()
			return nil, fmt.Errorf("read redo log %s: %w", p, err)
		}
		if h, ok := decodeRedoHeader(b); ok && (l.hdr.meta == nil || h.gen > l.hdr.gen) {
			l.hdr, l.slot = h, slot
		}
	}
	return l, nil
}

func createRedo(p string) (*redoLog, error) {
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create redo log %s: %w", p, err)
	}
	if _, err := f.WriteAt(make([]byte, redoPrealloc), 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("create redo log %s: %w", p, err)
	}
	// The header's sync makes the zeros durable too.
	return &redoLog{f: f, path: p, off: redoRecordsAt, slot: 1}, nil
}

// valid reports whether the log has a header at all (a log just made has
// none until the first checkpoint).
func (l *redoLog) valid() bool { return l.hdr.meta != nil }

// replay calls fn with each record's payload of the current generation, in
// order, and leaves off after the last one.
func (l *redoLog) replay(fn func(payload []byte) error) error {
	off := int64(redoRecordsAt)
	head := make([]byte, 8)
	for {
		if _, err := l.f.ReadAt(head, off); err != nil {
			break // the end of the file
		}
		n := binary.LittleEndian.Uint32(head)
		if n == 0 || n > maxRecord {
			break
		}
		payload := make([]byte, n)
		if _, err := l.f.ReadAt(payload, off+8); err != nil {
			break
		}
		if recordSum(l.hdr.gen, payload) != binary.LittleEndian.Uint32(head[4:]) {
			break // torn, or of an older generation
		}
		if err := fn(payload); err != nil {
			return err
		}
		off += 8 + int64(n)
	}
	l.off = off
	return nil
}

func recordSum(gen uint64, payload []byte) uint32 {
	var g [8]byte
	binary.LittleEndian.PutUint64(g[:], gen)
	return crc32.Update(crc32.Checksum(g[:], castagnoli), castagnoli, payload)
}

// append writes a record; it is durable after sync.
func (l *redoLog) append(payload []byte) error {
	l.buf = binary.LittleEndian.AppendUint32(l.buf[:0], uint32(len(payload)))
	l.buf = binary.LittleEndian.AppendUint32(l.buf, recordSum(l.hdr.gen, payload))
	l.buf = append(l.buf, payload...)
	if _, err := l.f.WriteAt(l.buf, l.off); err != nil {
		return fmt.Errorf("write redo log %s: %w", l.path, err)
	}
	l.off += int64(len(l.buf))
	if cap(l.buf) > 1<<20 {
		l.buf = nil // a big group's buffer is not kept
	}
	return nil
}

func (l *redoLog) sync() error {
	if err := fdatasync(l.f); err != nil {
		return fmt.Errorf("sync redo log %s: %w", l.path, err)
	}
	return nil
}

// takeBack undoes the append of the record at off, durably: replay then
// ends before it.
func (l *redoLog) takeBack(off int64) error {
	if _, err := l.f.WriteAt(make([]byte, 8), off); err != nil {
		return fmt.Errorf("write redo log %s: %w", l.path, err)
	}
	if err := l.sync(); err != nil {
		return err
	}
	l.off = off
	return nil
}

// setHeader makes h the log's header, durably, and empties the log.
func (l *redoLog) setHeader(h redoHeader) error {
	next := 1 - l.slot
	if _, err := l.f.WriteAt(h.encode(), int64(next)*redoSlotSize); err != nil {
		return fmt.Errorf("write redo log %s: %w", l.path, err)
	}
	if err := l.sync(); err != nil {
		return err
	}
	l.hdr, l.slot, l.off = h, next, redoRecordsAt
	return nil
}

func (l *redoLog) close() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("close redo log %s: %w", l.path, err)
	}
	return nil
}
