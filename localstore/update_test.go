package localstore

import (
	"bytes"
	"context"
	"testing"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	bolt "go.etcd.io/bbolt"
)

// streamedCommit is commit seq of task "t": its creation at seq 1, a
// status update at later ones; msgs are its message ids.
func streamedCommit(t *testing.T, seq uint64, msgs ...string) *engine.Commit {
	t.Helper()
	task := &a2a.Task{ID: "t", ContextID: "c", Status: a2a.TaskStatus{State: a2a.StateWorking, Timestamp: t0}}
	var ev a2a.Event = task
	if seq > 1 {
		ev = &a2a.StatusUpdateEvent{TaskID: "t", ContextID: "c", Status: a2a.TaskStatus{State: a2a.StateWorking, Timestamp: t0}}
	}
	return &engine.Commit{
		Record:     &engine.Record{Task: task, Created: t0, Updated: t0, LastSeq: seq},
		Events:     []engine.LoggedEvent{{Seq: seq, Cursor: seq, Time: t0, Event: ev}},
		MessageIDs: msgs,
	}
}

// A later commit of a task is encoded before it reaches the writer, and
// the writer stores exactly that encoding.
func TestUpdateEncodedBeforeTheWriter(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, Options{NoSync: true})
	checked(t, s)
	if err := s.Commit(ctx, streamedCommit(t, 1, "m1")); err != nil {
		t.Fatal(err)
	}
	p, err := prepare(streamedCommit(t, 2, "m2"))
	if err != nil {
		t.Fatal(err)
	}
	if p.fresh != nil {
		t.Error("a later commit encoded a new task's record")
	}
	s.encodeUpdate(p)
	if p.updated == nil || p.base == nil {
		t.Fatal("the update was not encoded outside the writer")
	}
	if err := s.submit(ctx, p); err != nil {
		t.Fatal(err)
	}
	if stored := s.storedValue(t, "t"); !bytes.Equal(stored, p.updated) {
		t.Error("the writer stored another encoding than the one made for it")
	}
	evs, err := s.Events(ctx, "t", 0)
	if err != nil || len(evs) != 2 {
		t.Fatalf("events: %d, %v", len(evs), err)
	}
	for _, m := range []string{"m1", "m2"} {
		if id, ok, err := s.TaskForMessage(ctx, m); err != nil || !ok || id != "t" {
			t.Errorf("message %s: %q %v %v", m, id, ok, err)
		}
	}
}

// An update encoded against a record that changed before the writer
// applied it is encoded again by the writer: no event is lost.
func TestStaleUpdateEncodedAgain(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, Options{NoSync: true})
	checked(t, s)
	if err := s.Commit(ctx, streamedCommit(t, 1, "m1")); err != nil {
		t.Fatal(err)
	}
	stale, err := prepare(streamedCommit(t, 3))
	if err != nil {
		t.Fatal(err)
	}
	s.encodeUpdate(stale)
	if stale.updated == nil {
		t.Fatal("the update was not encoded outside the writer")
	}
	if err := s.Commit(ctx, streamedCommit(t, 2)); err != nil {
		t.Fatal(err)
	}
	if err := s.submit(ctx, stale); err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events(ctx, "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, ev := range evs {
		seqs = append(seqs, ev.Seq)
	}
	if len(seqs) != 3 || seqs[0] != 1 || seqs[1] != 2 || seqs[2] != 3 {
		t.Errorf("event seqs after a stale update: %v, want [1 2 3]", seqs)
	}
}

// An update whose message id another task holds is encoded by the writer,
// which leaves the id out of the record.
func TestUpdateWithClaimedMessageEncodedAgain(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, Options{NoSync: true})
	checked(t, s)
	if err := s.Commit(ctx, streamedCommit(t, 1, "m1")); err != nil {
		t.Fatal(err)
	}
	other := &a2a.Task{ID: "o", Status: a2a.TaskStatus{State: a2a.StateWorking}}
	if err := s.Commit(ctx, &engine.Commit{Record: &engine.Record{Task: other, Updated: t0, LastSeq: 1},
		Events: []engine.LoggedEvent{{Seq: 1, Cursor: 10, Event: other}}, MessageIDs: []string{"taken"}}); err != nil {
		t.Fatal(err)
	}
	p, err := prepare(streamedCommit(t, 2, "taken"))
	if err != nil {
		t.Fatal(err)
	}
	s.encodeUpdate(p)
	if err := s.submit(ctx, p); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(s.storedValue(t, "t"), p.updated) {
		t.Error("the writer stored a record listing a message id another task holds")
	}
	if id, _, _ := s.TaskForMessage(ctx, "taken"); id != "o" {
		t.Errorf("message id taken now names %q", id)
	}
}

// submit hands a prepared commit to the writer, as Commit does.
func (s *Store) submit(ctx context.Context, p *prepared) error {
	req := &commitRequest{prepared: p, done: make(chan error, 1)}
	select {
	case s.commits <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-req.done
}

func (s *Store) storedValue(t *testing.T, id string) []byte {
	t.Helper()
	var v []byte
	if err := s.view(func(tx *bolt.Tx) error {
		v = bytes.Clone(tx.Bucket(bucketTasks).Get(idKey(id)))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

// The record of a submitted or working task, which its next commit
// replaces, is stored without compressing; a finished or waiting task's is
// compressed. Both read back.
func TestOnlySettledRecordsCompressed(t *testing.T) {
	for _, tc := range []struct {
		state      a2a.TaskState
		compressed bool
	}{
		{a2a.StateSubmitted, false},
		{a2a.StateWorking, false},
		{a2a.StateInputRequired, true},
		{a2a.StateCompleted, true},
	} {
		task := &a2a.Task{ID: "t", ContextID: "c", Status: a2a.TaskStatus{State: tc.state, Timestamp: t0},
			History: []a2a.Message{{ID: "m", Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart("echo a text long enough to compress, compress, compress")}}}}
		v, err := encodeRecord(&engine.Record{Task: task, Created: t0, Updated: t0})
		if err != nil {
			t.Fatal(err)
		}
		_, body, err := decodeHeader("t", v)
		if err != nil {
			t.Fatal(err)
		}
		// DEFLATE's first block header: bit 0 BFINAL, bits 1-2 BTYPE (00:
		// stored).
		if stored := len(body) > 1 && body[1]&0x06 == 0; stored == tc.compressed {
			t.Errorf("%s: stored uncompressed = %v", tc.state, stored)
		}
		r, err := decodeRecord("t", v)
		if err != nil || r.Task.Status.State != tc.state || r.Task.History[0].Text() != task.History[0].Text() {
			t.Errorf("%s: read back %+v, %v", tc.state, r, err)
		}
	}
}
