package localstore

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestCheckFindsBrokenInvariants breaks each promise of layout.go that
// spans buckets, one store at a time, and wants Check to name it.
func TestCheckFindsBrokenInvariants(t *testing.T) {
	for _, c := range []struct {
		name    string
		corrupt func(b txBuckets) error
		want    string
	}{
		{"a counter off by one", func(b txBuckets) error {
			return b.index.Put([]byte{famCount, countAll}, binary.AppendUvarint(nil, 4))
		}, "is 4, the tasks say 5"},
		{"a stale index key", func(b txBuckets) error {
			d, err := decodeFull("task-0001", b.tasks.Get(idKey("task-0001")))
			if err != nil {
				return err
			}
			k := bytes.Clone(d.entry.keys()[0])
			k[len(k)-len("task-0001")-2]++ // the same task under another time
			return b.index.Put(k, nil)
		}, "is stale"},
		{"a task deleted under its index", func(b txBuckets) error {
			return b.tasks.Delete(idKey("task-0002"))
		}, "is 5, the tasks say 4"},
		{"an event in no log entry", func(b txBuckets) error {
			k, _ := b.log.Cursor().Last()
			return b.log.Delete(k)
		}, "is in no log entry"},
		{"a meta cursor behind the events", func(b txBuckets) error {
			return b.meta.Put(metaCursor, appendU64(nil, 2))
		}, "outside 1..2 (the meta cursor)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := storeWithTasks(t, 5)
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(func(tx *bolt.Tx) error { return c.corrupt(buckets(tx)) })
			db.Close()
			if err != nil {
				t.Fatal(err)
			}
			s, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Check(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Check = %v, want an error saying %q", err, c.want)
			}
		})
	}
}
