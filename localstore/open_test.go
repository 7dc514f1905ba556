package localstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	bolt "go.etcd.io/bbolt"
)

// storeWithTasks makes a closed store file with n tasks and returns its path.
func storeWithTasks(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tasks.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	var commits []*engine.Commit
	for i := range n {
		task := richTask(fmt.Sprintf("task-%04d", i), "c", a2a.StateCompleted, t0)
		commits = append(commits, &engine.Commit{Record: &engine.Record{Task: task, Updated: t0.Add(time.Duration(i)), LastSeq: 1},
			Events: []engine.LoggedEvent{{Seq: 1, Cursor: uint64(i + 1), Time: t0, Event: task}}})
	}
	bulkCommit(t, s, commits)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// refused opens path, expects an error matching want whose text names the
// path and contains every hint, and checks the file did not change.
func refused(t *testing.T, path string, want error, hints ...string) {
	t.Helper()
	before := readFile(t, path)
	s, err := Open(path, Options{LockTimeout: 100 * time.Millisecond})
	if err == nil {
		s.Close()
		t.Fatalf("Open %s succeeded", path)
	}
	if !errors.Is(err, want) {
		t.Errorf("Open = %v, want %v", err, want)
	}
	msg := err.Error()
	if !strings.Contains(msg, path) {
		t.Errorf("error %q does not name the file", msg)
	}
	for _, h := range hints {
		if !strings.Contains(msg, h) {
			t.Errorf("error %q does not say %q", msg, h)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error %q is not one line", msg)
	}
	if after := readFile(t, path); !bytes.Equal(before, after) {
		t.Errorf("Open changed the file (%d bytes before, %d after)", len(before), len(after))
	}
}

func TestOpenCreatesDirectoryAndFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "tasks.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Path() != path {
		t.Errorf("Path = %q", s.Path())
	}
	if err := s.Check(); err != nil {
		t.Error(err)
	}
	s.Close()
	var names []string
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"tasks.db"}
	if redoSupported {
		want = append(want, "tasks.db"+redoSuffix)
	}
	if !slices.Equal(names, want) {
		t.Errorf("directory holds %q, want %q (no temporary file left)", names, want)
	}
	for _, p := range want {
		info, err := os.Stat(filepath.Join(filepath.Dir(path), p))
		if err != nil {
			t.Error(err)
		} else if info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode = %v; want 0600", p, info.Mode())
		}
	}
}

func TestOpenNewerSchema(t *testing.T) {
	path := storeWithTasks(t, 3)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(metaSchema, appendU64(nil, schemaVersion+1))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	refused(t, path, ErrNewerSchema, "newer version of a2atop", "upgrade a2atop")
}

func TestOpenForeignBolt(t *testing.T) {
	for name, fill := range map[string]func(tx *bolt.Tx) error{
		"other buckets": func(tx *bolt.Tx) error {
			b, err := tx.CreateBucket([]byte("widgets"))
			if err != nil {
				return err
			}
			return b.Put([]byte("k"), []byte("v"))
		},
		"no buckets": func(tx *bolt.Tx) error { return nil },
		"meta of another app": func(tx *bolt.Tx) error {
			b, err := tx.CreateBucket(bucketMeta)
			if err != nil {
				return err
			}
			return b.Put(metaApp, []byte("other"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "foreign.db")
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(fill)
			db.Close()
			if err != nil {
				t.Fatal(err)
			}
			refused(t, path, ErrNotA2atop, "another program")
		})
	}
}

func TestOpenMissingBucket(t *testing.T) {
	path := storeWithTasks(t, 1)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketLog) })
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	refused(t, path, ErrNotA2atop, `bucket "log" is missing`)
}

func TestOpenNotBolt(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("a2atop is not stored here; this is just text.\n"), 2000)
	for name, content := range map[string][]byte{
		"text":       []byte("hello, I am a text file\n"),
		"long text":  big,
		"empty":      {},
		"one byte":   {0},
		"zero pages": make([]byte, 64<<10),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			refused(t, path, ErrNotA2atop)
		})
	}
}

func TestOpenTruncated(t *testing.T) {
	path := storeWithTasks(t, 300)
	full := readFile(t, path)
	for _, size := range []int{len(full) / 2, 3 * 4096, 4096 + 100} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "truncated.db")
			if err := os.WriteFile(p, full[:size], 0o600); err != nil {
				t.Fatal(err)
			}
			refused(t, p, ErrNotA2atop)
		})
	}
}

func TestOpenCorruptMeta(t *testing.T) {
	path := storeWithTasks(t, 10)
	b := readFile(t, path)
	// Both meta pages (the first two 4 KiB pages) damaged.
	for _, off := range []int{16 + 8, 4096 + 16 + 8} {
		b[off] ^= 0xff
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	refused(t, path, ErrNotA2atop, "not a bbolt database, or it is damaged")
}

func TestOpenDirectory(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("Open(dir) = %v", err)
	}
	if _, err := Open("", Options{}); err == nil {
		t.Error("Open(\"\") succeeded")
	}
}

// Damaged values inside a sound bbolt file: reads fail with an error
// naming what is damaged, never a panic.
func TestCorruptValues(t *testing.T) {
	ctx := context.Background()
	path := storeWithTasks(t, 5)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		tasks := tx.Bucket(bucketTasks)
		if err := tasks.Put(idKey("task-0001"), []byte{recordFormat, 1, 2}); err != nil {
			return err
		}
		// A sound header and body whose task JSON is broken.
		d, err := decodeFull("task-0002", tasks.Get(idKey("task-0002")))
		if err != nil {
			return err
		}
		if err := tasks.Put(idKey("task-0002"), encodeRecordValue(d.header, []byte("w{"), d.events)); err != nil {
			return err
		}
		// A sound task whose first inline event is broken.
		if d, err = decodeFull("task-0003", tasks.Get(idKey("task-0003"))); err != nil {
			return err
		}
		d.events[0] = []byte("w{")
		return tasks.Put(idKey("task-0003"), encodeRecordValue(d.header, d.task, d.events))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range []string{"task-0001", "task-0002"} {
		if _, err := s.Get(ctx, id); err == nil || !strings.Contains(err.Error(), id) {
			t.Errorf("Get %s = %v, want an error naming it", id, err)
		}
	}
	if _, err := s.Get(ctx, "task-0004"); err != nil {
		t.Errorf("Get of a sound task: %v", err)
	}
	if _, err := s.Events(ctx, "task-0003", 0); err == nil || !strings.Contains(err.Error(), "task-0003") {
		t.Errorf("Events = %v, want an error naming the task", err)
	}
	if _, err := s.Log(ctx, 0, 0); err == nil {
		t.Error("Log over a damaged event succeeded")
	}
	// List lists the sound tasks and names the damaged ones.
	res, err := s.List(ctx, engine.ListQuery{})
	if err != nil {
		t.Fatalf("List over damaged records: %v", err)
	}
	var damaged []string
	for _, d := range res.Damaged {
		damaged = append(damaged, d.TaskID)
	}
	slices.Sort(damaged)
	if len(res.Records) != 3 || !slices.Equal(damaged, []string{"task-0001", "task-0002"}) {
		t.Errorf("List = %d records, damaged %v; want 3 and task-0001, task-0002", len(res.Records), damaged)
	}
	if err := s.Check(); err == nil {
		t.Error("Check passed a damaged store")
	}
	// Writing over a damaged record is refused rather than corrupting the index.
	task := &a2a.Task{ID: "task-0001", Status: a2a.TaskStatus{State: a2a.StateCompleted}}
	if err := s.Commit(ctx, &engine.Commit{Record: &engine.Record{Task: task, LastSeq: 9}}); err == nil {
		t.Error("Commit over a damaged record succeeded")
	}
}

// A second Open in the same process conflicts too (flock is per open file).
func TestOpenInUseSameProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tasks.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = Open(path, Options{LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open = %v, want ErrInUse", err)
	}
}

// Damaged pages: whatever a page holds, Open and every read return (an
// error or a result) instead of crashing the process. guard turns bbolt's
// panics and memory faults on bad pages into errors.
func TestCorruptPages(t *testing.T) {
	ctx := context.Background()
	path := storeWithTasks(t, 300)
	full := readFile(t, path)
	const pageSize = 4096
	pages := len(full) / pageSize
	dir := t.TempDir()
	failed := 0
	for seed := range 30 {
		r := rand.New(rand.NewPCG(uint64(seed), 1))
		b := bytes.Clone(full)
		pg := 2 + r.IntN(pages-2) // not the meta pages: TestOpenCorruptMeta covers them
		switch seed % 3 {
		case 0: // the whole page, header included
			for i := range pageSize {
				b[pg*pageSize+i] = byte(r.UintN(256))
			}
		case 1: // a few bytes
			for range 8 {
				b[pg*pageSize+r.IntN(pageSize)] ^= byte(1 + r.UintN(255))
			}
		case 2: // the content, header intact
			for i := 16; i < pageSize; i++ {
				b[pg*pageSize+i] = byte(r.UintN(256))
			}
		}
		p := filepath.Join(dir, fmt.Sprintf("damaged-%d.db", seed))
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(p, Options{NoSync: true})
		if err != nil {
			failed++
			continue
		}
		var errs []error
		_, err = s.List(ctx, engine.ListQuery{PageSize: 100})
		errs = append(errs, err)
		_, err = s.Unfinished(ctx)
		errs = append(errs, err)
		_, err = s.Log(ctx, 0, 0)
		errs = append(errs, err)
		_, err = s.Get(ctx, "task-0150")
		errs = append(errs, err)
		errs = append(errs, s.Check())
		_, err = s.Sweep(ctx, t0.Add(time.Hour), 0)
		errs = append(errs, err)
		if err := errors.Join(errs...); err != nil {
			failed++
			if strings.Contains(err.Error(), "goroutine ") {
				t.Errorf("seed %d: error carries a stack trace: %v", seed, err)
			}
		}
		s.Close()
	}
	// Some pages are free, so not every seed damages something in use.
	if failed == 0 {
		t.Error("no damage was detected by any seed")
	}
}
