package localstore

import (
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

// bbolt grows its file with ftruncate (Options.AllocSize at a time), which
// leaves the new tail a hole. A commit that writes its first page into a
// hole makes ext4 (and other filesystems) allocate a block, and the
// commit's fdatasync then has to commit the filesystem journal too: on
// this machine's disk an fdatasync after a 4 KiB write into a hole took
// 235 µs (median), after one into written blocks 130 µs. The writer
// therefore writes zeros over the tail past bbolt's high-water mark a few
// pages at a time, between transactions, so that the pages bbolt allocates
// next are ordinary blocks; the allocation is made durable by bbolt's next
// fdatasync, once for holeChunk bytes instead of once per commit.
//
// Only the writer goroutine calls fill, and only while no write
// transaction is open: bbolt allocates pages at the high-water mark only
// inside one, so the zeros never land on a page in use (everything at or
// past the mark is unused: a crash leaves a file whose meta page ends its
// tree below it).

// holeChunk is the most fill writes at a time: small enough that the
// next commit's fdatasync barely notices it.
const holeChunk = 256 << 10

// holeFiller writes zeros over the holes past bbolt's high-water mark.
type holeFiller struct {
	f *os.File
	// filled: the file has no hole below this offset that fill knows of.
	filled int64
	zeros  []byte
}

func openHoleFiller(path string) (*holeFiller, error) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("open store %s for writing ahead: %w", path, err)
	}
	return &holeFiller{f: f, zeros: make([]byte, holeChunk)}, nil
}

// fill writes zeros over at most holeChunk bytes of [max(mark, filled),
// file size), where mark is the high-water mark of db's last commit. It
// costs one fstat when there is nothing to fill.
func (h *holeFiller) fill(db *bolt.DB) error {
	info, err := h.f.Stat()
	if err != nil {
		return err
	}
	size := info.Size()
	if size <= h.filled {
		return nil
	}
	var mark int64
	if err := db.View(func(tx *bolt.Tx) error {
		mark = tx.Size()
		return nil
	}); err != nil {
		return err
	}
	from := max(mark, h.filled)
	to := min(size, from+holeChunk)
	if from < to {
		if _, err := h.f.WriteAt(h.zeros[:to-from], from); err != nil {
			return err
		}
	}
	h.filled = to
	return nil
}

func (h *holeFiller) close() error { return h.f.Close() }
