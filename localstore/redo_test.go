//go:build linux

package localstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	bolt "go.etcd.io/bbolt"
)

// commitTasks commits n completed tasks named prefix-i, one commit each.
func commitTasks(t *testing.T, s *Store, prefix string, n int, text string) {
	t.Helper()
	cursor, err := s.LastCursor(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		task := richTask(fmt.Sprintf("%s-%05d", prefix, i), "c", a2a.StateCompleted, t0)
		task.Artifacts = []a2a.Artifact{{ID: "a", Parts: []a2a.Part{a2a.TextPart(text)}}}
		cursor++
		err := s.Commit(context.Background(), &engine.Commit{Record: &engine.Record{Task: task, Updated: t0, LastSeq: 1},
			Events: []engine.LoggedEvent{{Seq: 1, Cursor: cursor, Time: t0, Event: task}}})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// crashImage copies a store's file and log while it runs, as a SIGKILL or
// a power loss right after a sync would leave them, into a new directory.
func crashImage(t *testing.T, s *Store) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tasks.db")
	if err := os.WriteFile(path, readFile(t, s.path), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(redoPath(path), readFile(t, redoPath(s.path)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRedoModeEndsBeforeTheMappingFills: once the file's high-water mark
// passes half the mapping, bbolt syncs every commit again and the log says
// the file is whole, also after a crash.
func TestRedoModeEndsBeforeTheMappingFills(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tasks.db")
	opts := Options{mappedSize: 4 << 20}
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	commitTasks(t, s, "small", 10, "hi")
	if s.redo == nil || !s.db.NoSync {
		t.Fatal("a new store is not in redo mode")
	}
	// Random letters: about 120 KB a task once compressed; the file grows
	// by 0.25-0.75 MB a commit (a checkpoint's pages are not reused).
	rng := rand.NewChaCha8([32]byte{1})
	big := make([]byte, 200_000)
	for i := range 10 {
		_, _ = rng.Read(big)
		for j, c := range big {
			big[j] = 'a' + c%26
		}
		commitTasks(t, s, fmt.Sprint("big", i), 1, string(big))
	}
	if s.redo != nil || s.db.NoSync {
		t.Fatalf("at %d bytes of 4 MiB mapped the store is still in redo mode", s.highWater)
	}
	if h, err := readRedoHeader(path); err != nil || h.restore {
		t.Fatalf("log header %+v, %v; want the file marked whole", h, err)
	}
	commitTasks(t, s, "after", 10, "hi")
	crashed := crashImage(t, s)
	for _, p := range []string{crashed, path} {
		if p == path {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
		s2, err := Open(p, opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := s2.Check(); err != nil {
			t.Error(err)
		}
		if _, err := s2.Get(context.Background(), "after-00009"); err != nil {
			t.Error(err)
		}
		commitTasks(t, s2, "reopened", 1, "hi")
		if s2.redo != nil {
			t.Error("a reopened big file went back to redo mode")
		}
		s2.Close()
	}
}

// TestRedoLogOfAnotherFile: a log whose checkpoint is not in the file
// beside it (the file was replaced) is refused, and neither file changes.
func TestRedoLogOfAnotherFile(t *testing.T) {
	s := openTemp(t, Options{})
	commitTasks(t, s, "a", 5, "hi")
	crashed := crashImage(t, s)
	if h, err := readRedoHeader(crashed); err != nil || !h.restore {
		t.Fatalf("log header %+v, %v; want a checkpoint to restore", h, err)
	}
	other := storeWithTasks(t, 3)
	if err := os.Rename(other, crashed); err != nil {
		t.Fatal(err)
	}
	log := readFile(t, redoPath(crashed))
	refused(t, crashed, errRedoForeign, "redo log", "move "+redoPath(crashed)+" away")
	if got := readFile(t, redoPath(crashed)); string(got) != string(log) {
		t.Error("the refused log changed")
	}
	// Moved away, the file opens as it is.
	if err := os.Rename(redoPath(crashed), crashed+".old-log"); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(crashed, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Get(context.Background(), "task-0002"); err != nil {
		t.Error(err)
	}
}

// TestStaleRedoLogOfADeletedFile: a new store made where a file was
// deleted without its log does not take the old log.
func TestStaleRedoLogOfADeletedFile(t *testing.T) {
	s := openTemp(t, Options{})
	commitTasks(t, s, "a", 5, "hi")
	crashed := crashImage(t, s)
	if err := os.Remove(crashed); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(crashed, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	commitTasks(t, s2, "new", 2, "hi")
	if err := s2.Check(); err != nil {
		t.Error(err)
	}
}

// TestMigrateSchema2InPlace: a schema-2 file (today's layout without the
// log) becomes schema 3 on open, its tasks unchanged.
func TestMigrateSchema2InPlace(t *testing.T) {
	path := storeWithTasks(t, 20)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(metaSchema, appendU64(nil, 2))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := os.Stat(redoPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a NoSync store left a log: %v", err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var version uint64
	if err := s.view(func(tx *bolt.Tx) error {
		version, err = getU64(tx.Bucket(bucketMeta).Get(metaSchema))
		return err
	}); err != nil || version != schemaVersion {
		t.Fatalf("schema after open = %d, %v", version, err)
	}
	page, err := s.List(context.Background(), engine.ListQuery{})
	if err != nil || len(page.Records) != 20 {
		t.Fatalf("List after the migration: %+v, %v", page, err)
	}
	if err := s.Check(); err != nil {
		t.Error(err)
	}
}

// TestOpenDamagedFreelist: bbolt reads the freelist only on a read-write
// open, and panics on a damaged one; Open says the file is damaged.
func TestOpenDamagedFreelist(t *testing.T) {
	path := storeWithTasks(t, 50)
	raw := readFile(t, path)
	const pageSize = 4096
	// The newer meta page names the freelist page (bbolt's meta: txid at
	// 64, freelist at 48, after the 16-byte page header).
	newest := 0
	if binary.NativeEndian.Uint64(raw[pageSize+64:]) > binary.NativeEndian.Uint64(raw[64:]) {
		newest = pageSize
	}
	freelist := binary.NativeEndian.Uint64(raw[newest+48:])
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The page's flags say leaf (0x02) instead of freelist (0x10).
	if _, err := f.WriteAt([]byte{0x02, 0}, int64(freelist)*pageSize+8); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = Open(path, Options{})
	if !errors.Is(err, ErrNotA2atop) {
		t.Fatalf("Open = %v, want ErrNotA2atop", err)
	}
	// The lock went with the file: a second try gets the same answer, not
	// a wait for the lock.
	if _, err := Open(path, Options{LockTimeout: 50 * time.Millisecond}); !errors.Is(err, ErrNotA2atop) {
		t.Fatalf("second Open = %v, want ErrNotA2atop", err)
	}
}

// TestReplayOverDamagedPages: a log replayed over a file whose pages were
// damaged (but not its checkpoint's root and freelist pages) ends in an
// error naming the file, not a panic.
func TestReplayOverDamagedPages(t *testing.T) {
	s := openTemp(t, Options{})
	commitTasks(t, s, "a", 200, "hi")
	crashed := crashImage(t, s)
	h, err := readRedoHeader(crashed)
	if err != nil || !h.restore {
		t.Fatalf("log header %+v, %v; want a checkpoint to restore", h, err)
	}
	m, _ := parseMeta(h.meta)
	raw := readFile(t, crashed)
	rng := rand.New(rand.NewPCG(3, 4))
	for pg := 2; (pg+1)*h.pageSize <= len(raw); pg++ {
		if uint64(pg) == m.root || uint64(pg) == m.freelist {
			continue
		}
		for i := pg * h.pageSize; i < (pg+1)*h.pageSize; i++ {
			raw[i] = byte(rng.IntN(256))
		}
	}
	if err := os.WriteFile(crashed, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(crashed, Options{})
	if err == nil {
		s2.Close()
		t.Fatal("Open of a damaged file succeeded")
	}
	if !errors.Is(err, ErrNotA2atop) || !strings.Contains(err.Error(), crashed) {
		t.Fatalf("Open = %v; want ErrNotA2atop naming the file", err)
	}
}

// TestRedoTakeBack: a record taken back (its transaction failed to commit)
// is not replayed, and the next record takes its place.
func TestRedoTakeBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tasks.db")
	l, err := openRedo(path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	if err := l.setHeader(redoHeader{gen: 1, restore: true, pageSize: 4096}); err != nil {
		t.Fatal(err)
	}
	replayed := func() (got []string) {
		if err := l.replay(func(p []byte) error { got = append(got, string(p)); return nil }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if err := l.append([]byte("first")); err != nil {
		t.Fatal(err)
	}
	at := l.off
	if err := l.append([]byte("failed to commit")); err != nil {
		t.Fatal(err)
	}
	if err := l.takeBack(at); err != nil {
		t.Fatal(err)
	}
	if got := replayed(); fmt.Sprint(got) != "[first]" {
		t.Fatalf("replayed %q after the take-back, want [first]", got)
	}
	if err := l.append([]byte("next")); err != nil {
		t.Fatal(err)
	}
	if got := replayed(); fmt.Sprint(got) != "[first next]" {
		t.Fatalf("replayed %q, want [first next]", got)
	}
}

// TestRedoWithoutRoomToMap: a mapping that does not fit the address space
// (as under ulimit -v) leaves bbolt syncing each commit itself, after the
// log's records are replayed.
func TestRedoWithoutRoomToMap(t *testing.T) {
	s := openTemp(t, Options{})
	commitTasks(t, s, "a", 50, "hi")
	crashed := crashImage(t, s)
	s2, err := Open(crashed, Options{mappedSize: 200 << 40})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if s2.redo != nil || s2.db.NoSync {
		t.Fatal("the store is in redo mode without its mapping")
	}
	if _, err := s2.Get(context.Background(), "a-00049"); err != nil {
		t.Fatalf("a task only the log held: %v", err)
	}
	commitTasks(t, s2, "b", 5, "hi")
	if err := s2.Check(); err != nil {
		t.Error(err)
	}
	if h, err := readRedoHeader(crashed); err != nil || h.restore {
		t.Fatalf("log header %+v, %v; want the file marked whole", h, err)
	}
}
