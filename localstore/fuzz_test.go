package localstore

import (
	"context"
	"errors"
	"github.com/a2atop/a2atop/internal/taskcodec"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
)

// Decoders of stored bytes must return an error on anything they did not
// write, never panic.
func FuzzDecodeRecord(f *testing.F) {
	task := richTask("t", "c", a2a.StateWorking, t0)
	good, err := encodeRecord(&engine.Record{Task: task, Created: t0, Updated: t0, Attempts: 3, LastSeq: 9, Running: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{recordFormat})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeRecord("t", b)
		if err == nil && (rec == nil || rec.Task == nil || rec.Task.ID != "t") {
			t.Fatalf("decoded %+v without error", rec)
		}
	})
}

func FuzzDecodeEvent(f *testing.F) {
	ev := engine.LoggedEvent{TaskID: "t", Seq: 2, Cursor: 7, Time: t0,
		Event: &a2a.StatusUpdateEvent{TaskID: "t", Status: a2a.TaskStatus{State: a2a.StateWorking, Timestamp: t0}}}
	body, err := taskcodec.EncodeEvent(ev.Event)
	if err != nil {
		f.Fatal(err)
	}
	good := encodeSpilledEvent(ev.Cursor, ev.Time, body)
	f.Add(eventKey("t", 2), good)
	f.Add(eventKey("t", 2), good[:len(good)-4])
	f.Add([]byte{1}, []byte{eventFormat})
	f.Fuzz(func(t *testing.T, k, v []byte) {
		got, err := decodeEvent(k, v)
		if err == nil && got.Event == nil {
			t.Fatal("decoded a nil event without error")
		}
	})
}

// Any page token gives a page or an ErrInvalidParams error.
func FuzzPageToken(f *testing.F) {
	s := openTemp(f, Options{NoSync: true})
	ctx := context.Background()
	for i := range 5 {
		task := &a2a.Task{ID: string(rune('a' + i)), ContextID: "c", Status: a2a.TaskStatus{State: a2a.StateWorking}}
		commitOne(f, s, &engine.Record{Task: task, Updated: t0.Add(time.Duration(i)), LastSeq: 1}, uint64(i+1), task)
	}
	res, err := s.List(ctx, engine.ListQuery{PageSize: 2})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(res.NextPageToken, "", "")
	f.Add("dQ", "c", "working")
	f.Add("", "c", "")
	f.Fuzz(func(t *testing.T, token, contextID, state string) {
		res, err := s.List(ctx, engine.ListQuery{PageToken: token, ContextID: contextID, State: a2a.TaskState(state), PageSize: 2})
		if err != nil && !errors.Is(err, a2a.ErrInvalidParams) {
			t.Fatalf("List: %v", err)
		}
		if err == nil && len(res.Records) > 2 {
			t.Fatalf("page of %d", len(res.Records))
		}
	})
}
