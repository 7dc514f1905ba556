package localstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/a2atop/a2atop/internal/taskcodec"
	"os"
	"path/filepath"

	"github.com/a2atop/a2atop/engine"
	bolt "go.etcd.io/bbolt"
)

// Migration from schema 1 (the layout before issue 17: seven buckets, each
// event and the task as separate v1.0 JSON values, an index family per
// context and state, message ids indexed both ways).
//
// Open migrates a schema-1 file on open, by copy: it holds the old file's
// lock, writes the same tasks, events, log, message ids and meta cursor
// into a new schema-2 file next to it (through prepare and apply, the
// same code as Commit, so the new file is exactly what this build would
// have written), makes that durable and renames it over the old one. A
// crash at any point leaves either the untouched old file at path or the
// complete new one (and perhaps a stray temporary file). The new file is
// smaller than the old (a quarter, measured on echo tasks), so the disk
// needs that much free space for a moment.
//
// The schema-1 readers below are kept for this only.

var (
	v1BucketTasks    = []byte("tasks")
	v1BucketEvents   = []byte("events")
	v1BucketMessages = []byte("messages")
	v1Buckets        = [][]byte{[]byte("meta"), v1BucketTasks, v1BucketEvents, []byte("log"), []byte("index"), []byte("counts"), v1BucketMessages}
)

const (
	v1RecordFormat = 1
	v1EventFormat  = 1
	v1MsgByTask    = 't'
	// migrateChunk is how many tasks one transaction of the new file takes.
	migrateChunk = 2000
)

// errMigratedMeanwhile: another process replaced the file while this one
// waited for its lock; Open starts again.
var errMigratedMeanwhile = errors.New("the file was replaced while waiting for its lock")

// migrate rewrites the schema-1 store at path as a schema-2 store.
func migrate(path string, opts Options) (err error) {
	defer guard(&err, path)()
	var locked *os.File
	old, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: opts.LockTimeout,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, perm)
			locked = f
			return f, err
		},
	})
	if err != nil {
		return openError(path, err)
	}
	defer old.Close()
	// Another process may have migrated (renamed a new file over this
	// one) while this one waited for the lock.
	if fi, err := locked.Stat(); err != nil {
		return fmt.Errorf("migrate store %s: %w", path, err)
	} else if pi, err := os.Stat(path); err != nil || !os.SameFile(fi, pi) {
		return errMigratedMeanwhile
	}
	version := uint64(0)
	if err := old.View(func(tx *bolt.Tx) error {
		if meta := tx.Bucket(bucketMeta); meta != nil {
			version, _ = getU64(meta.Get(metaSchema))
		}
		return nil
	}); err != nil {
		return fmt.Errorf("migrate store %s: %w", path, err)
	}
	if version != 1 {
		return errMigratedMeanwhile
	}

	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".migrate-*")
	if err != nil {
		return fmt.Errorf("migrate store %s: %w", path, err)
	}
	tmpPath := tmp.Name()
	defer os.Remove(tmpPath)
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("migrate store %s: %w", path, err)
	}
	db, err := bolt.Open(tmpPath, 0o600, &bolt.Options{NoSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return fmt.Errorf("migrate store %s: %w", path, err)
	}
	defer db.Close()
	db.AllocSize = growStep
	if err := db.Update(initLayout); err != nil {
		return fmt.Errorf("migrate store %s: %w", path, err)
	}
	err = old.View(func(otx *bolt.Tx) error { return copyV1(otx, db) })
	if err == nil {
		err = db.Sync()
	}
	if err == nil {
		err = db.Close()
	}
	if err != nil {
		return fmt.Errorf("migrate store %s from schema 1: %w (the file is unchanged)", path, err)
	}
	if err := os.Rename(tmpPath, path); err != nil {
		return fmt.Errorf("migrate store %s: %w (the file is unchanged)", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// migrateSchema2 marks a schema-2 file schema 3, in place. The layout is
// the same; schema 3 adds the redo log (redo.go), which the builds that
// read schema 2 would not know of: they would open a file the log has yet
// to recover, and leave a log that no longer matches the file.
func migrateSchema2(path string, opts Options) (err error) {
	defer guard(&err, path)()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return openError(path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return errMigratedMeanwhile
		}
		if v, err := getU64(meta.Get(metaSchema)); err != nil || v != 2 {
			return errMigratedMeanwhile
		}
		if err := meta.Put(metaID, newStoreID()); err != nil {
			return err
		}
		return meta.Put(metaSchema, appendU64(nil, schemaVersion))
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, errMigratedMeanwhile) {
		return fmt.Errorf("migrate store %s from schema 2: %w", path, err)
	}
	return err
}

// copyV1 writes every task of the schema-1 transaction otx into db.
func copyV1(otx *bolt.Tx, db *bolt.DB) error {
	for _, name := range v1Buckets {
		if otx.Bucket(name) == nil {
			return fmt.Errorf("bucket %q is missing", name)
		}
	}
	cursor, err := getU64(otx.Bucket(bucketMeta).Get(metaCursor))
	if err != nil {
		return fmt.Errorf("meta cursor: %w", err)
	}
	var batch []*prepared
	flush := func() error {
		err := db.Update(func(tx *bolt.Tx) error {
			for _, p := range batch {
				if err := apply(buckets(tx), p); err != nil {
					return err
				}
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	events := otx.Bucket(v1BucketEvents)
	messages := otx.Bucket(v1BucketMessages)
	err = otx.Bucket(v1BucketTasks).ForEach(func(k, v []byte) error {
		id := string(k)
		rec, err := v1DecodeRecord(id, v)
		if err != nil {
			return err
		}
		c := &engine.Commit{Record: rec}
		prefix := appendLP(nil, id)
		ec := events.Cursor()
		for ek, ev := ec.Seek(prefix); ek != nil && bytes.HasPrefix(ek, prefix); ek, ev = ec.Next() {
			le, err := v1DecodeEvent(id, ek[len(prefix):], ev)
			if err != nil {
				return err
			}
			c.Events = append(c.Events, le)
		}
		mprefix := appendLP([]byte{v1MsgByTask}, id)
		mc := messages.Cursor()
		for mk, _ := mc.Seek(mprefix); mk != nil && bytes.HasPrefix(mk, mprefix); mk, _ = mc.Next() {
			c.MessageIDs = append(c.MessageIDs, string(mk[len(mprefix):]))
		}
		p, err := prepare(c)
		if err != nil {
			return fmt.Errorf("task %q: %w", id, err)
		}
		batch = append(batch, p)
		if len(batch) >= migrateChunk {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	return db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		cur, err := getU64(meta.Get(metaCursor))
		if err != nil {
			return err
		}
		return meta.Put(metaCursor, appendU64(nil, max(cur, cursor)))
	})
}

// v1DecodeRecord decodes a schema-1 record value.
func v1DecodeRecord(id string, v []byte) (*engine.Record, error) {
	fail := func(err error) (*engine.Record, error) {
		return nil, fmt.Errorf("corrupt schema-1 record of task %q: %w", id, err)
	}
	if len(v) == 0 || v[0] != v1RecordFormat {
		return fail(errors.New("unknown record format"))
	}
	b := v[1:]
	var r engine.Record
	var err error
	if r.Created, b, err = readTime(b); err != nil {
		return fail(err)
	}
	if r.Updated, b, err = readTime(b); err != nil {
		return fail(err)
	}
	attempts, w := binary.Varint(b)
	if w <= 0 {
		return fail(errTrailing)
	}
	b = b[w:]
	prio, w := binary.Varint(b)
	if w <= 0 {
		return fail(errTrailing)
	}
	b = b[w:]
	if r.LastSeq, w = binary.Uvarint(b); w <= 0 {
		return fail(errTrailing)
	}
	b = b[w:]
	if len(b) == 0 {
		return fail(errTrailing)
	}
	r.Running = b[0]&flagRunning != 0
	r.Stopped = b[0]&flagStopped != 0
	r.Attempts, r.Priority = int(attempts), engine.Priority(prio)
	b = b[1:]
	// The index entry (state, context id, time) repeats the task's.
	if _, b, err = readLP(b); err != nil {
		return fail(err)
	}
	if _, b, err = readLP(b); err != nil {
		return fail(err)
	}
	if _, b, err = readTime(b); err != nil {
		return fail(err)
	}
	if r.Task, err = taskcodec.DecodeTask(b); err != nil {
		return fail(err)
	}
	if r.Task.ID != id {
		return fail(fmt.Errorf("it holds task %q", r.Task.ID))
	}
	return &r, nil
}

// v1DecodeEvent decodes a schema-1 event value; seq8 is its key's tail.
func v1DecodeEvent(id string, seq8, v []byte) (engine.LoggedEvent, error) {
	fail := func(err error) (engine.LoggedEvent, error) {
		return engine.LoggedEvent{}, fmt.Errorf("corrupt schema-1 event of task %q: %w", id, err)
	}
	if len(seq8) != 8 {
		return fail(errShortKey)
	}
	if len(v) == 0 || v[0] != v1EventFormat {
		return fail(errors.New("unknown event format"))
	}
	cursor, w := binary.Uvarint(v[1:])
	if w <= 0 {
		return fail(errTrailing)
	}
	when, rest, err := readTime(v[1+w:])
	if err != nil {
		return fail(err)
	}
	ev, err := taskcodec.DecodeEvent(rest)
	if err != nil {
		return fail(err)
	}
	return engine.LoggedEvent{TaskID: id, Seq: binary.BigEndian.Uint64(seq8), Cursor: cursor, Time: when, Event: ev}, nil
}
