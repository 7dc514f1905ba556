package localstore

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// seekHole is lseek's SEEK_HOLE: the offset of the first hole at or after
// off (the file's size if there is none).
const seekHole = 4

// The writer leaves no hole right past bbolt's high-water mark, where
// bbolt allocates its next pages: a commit writing there would make its
// fdatasync commit the filesystem's journal too (holes.go).
func TestNoHolePastTheHighWaterMark(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tasks.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 200 {
		c, err := benchTask(i)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	var mark int64
	if err := s.db.View(func(tx *bolt.Tx) error {
		mark = tx.Size()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	hole, err := syscall.Seek(int(f.Fd()), mark, seekHole)
	if err != nil {
		t.Skipf("the filesystem does not report holes: %v", err)
	}
	want := min(info.Size(), mark+holeChunk)
	if hole < want {
		t.Errorf("a hole at %d, past the high-water mark %d (file size %d); want none before %d", hole, mark, info.Size(), want)
	}
}
