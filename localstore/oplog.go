package localstore

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// A redo record's payload is the transaction's writes in order, each a byte
// (the bucket's id << 1, plus 1 for a delete), the key (uvarint length,
// bytes) and for a put the value (the same). Replaying them reproduces the
// transaction's keys and values exactly, whatever code wrote them.

// bucket is a top-level bucket of a transaction that records what it
// writes in ops (nil: not recorded, as in read transactions and replay).
// Writes must go through Put and Delete, not through the embedded
// *bolt.Bucket or a cursor.
type bucket struct {
	*bolt.Bucket
	id  byte
	ops *opLog
}

// Put is bolt.Bucket.Put, recorded.
func (b *bucket) Put(k, v []byte) error {
	if err := b.Bucket.Put(k, v); err != nil {
		return err
	}
	if b.ops != nil {
		b.ops.add(b.id<<1, k, v)
	}
	return nil
}

// Delete is bolt.Bucket.Delete, recorded.
func (b *bucket) Delete(k []byte) error {
	if err := b.Bucket.Delete(k); err != nil {
		return err
	}
	if b.ops != nil {
		b.ops.add(b.id<<1|1, k, nil)
	}
	return nil
}

// opLog collects a transaction's writes as a redo payload.
type opLog struct{ buf []byte }

func (o *opLog) reset() { o.buf = o.buf[:0] }

func (o *opLog) add(op byte, k, v []byte) {
	o.buf = append(o.buf, op)
	o.buf = binary.AppendUvarint(o.buf, uint64(len(k)))
	o.buf = append(o.buf, k...)
	if op&1 == 0 {
		o.buf = binary.AppendUvarint(o.buf, uint64(len(v)))
		o.buf = append(o.buf, v...)
	}
}

// Bucket ids in redo records; bucketByID maps them back.
const (
	idMeta byte = 1 + iota
	idTasks
	idEvents
	idLog
	idIndex
)

// replayOps applies a redo payload's writes in tx.
func replayOps(tx *bolt.Tx, payload []byte) error {
	b := buckets(tx)
	byID := map[byte]*bucket{idMeta: b.meta, idTasks: b.tasks, idEvents: b.events, idLog: b.log, idIndex: b.index}
	field := func() ([]byte, error) {
		n, w := binary.Uvarint(payload)
		if w <= 0 || n > uint64(len(payload)-w) {
			return nil, fmt.Errorf("redo record: a length runs past the record")
		}
		f := payload[w : w+int(n)]
		payload = payload[w+int(n):]
		return f, nil
	}
	for len(payload) > 0 {
		op := payload[0]
		payload = payload[1:]
		target := byID[op>>1]
		if target == nil {
			return fmt.Errorf("redo record: unknown bucket %d", op>>1)
		}
		k, err := field()
		if err != nil {
			return err
		}
		if op&1 == 1 {
			if err := target.Delete(k); err != nil {
				return fmt.Errorf("redo record: %w", err)
			}
			continue
		}
		v, err := field()
		if err != nil {
			return err
		}
		if err := target.Put(k, v); err != nil {
			return fmt.Errorf("redo record: %w", err)
		}
	}
	return nil
}
