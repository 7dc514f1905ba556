package engine_test

import (
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
)

// BenchmarkFreezeEcho: what freezing one echo task (its record and four
// events) costs, and the bytes it keeps.
func BenchmarkFreezeEcho(b *testing.B) {
	id, ctxID := "019ae0b1-7f3c-7c1e-9d7b-3f0a6d2b9c41", "019ae0b1-7f3c-7c1e-9d7b-4a11c5e0f2d7"
	at := time.Date(2026, 12, 2, 17, 6, 29, 953123456, time.UTC)
	user := a2a.Message{ID: "5b8f0a4e-2c8d-4e61-a3f0-1d2e3c4b5a69", Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart("echo hi")}, TaskID: id, ContextID: ctxID}
	done := a2a.TaskStatus{State: a2a.StateCompleted, Timestamp: at, Message: &a2a.Message{ID: "019ae0b1-7f3c-7c1e-9d7b-52b7a1c0de33", Role: a2a.RoleAgent, Parts: []a2a.Part{a2a.TextPart("echoed")}, TaskID: id, ContextID: ctxID}}
	art := a2a.Artifact{ID: "019ae0b1-7f3c-7c1e-9d7b-6c3e9f1a2b44", Name: "echo", Parts: []a2a.Part{a2a.TextPart("hi")}}
	task := &a2a.Task{ID: id, ContextID: ctxID, Status: done, History: []a2a.Message{user}, Artifacts: []a2a.Artifact{art}}
	rec := &engine.Record{Task: task, Created: at, Updated: at, Attempts: 1, LastSeq: 4}
	events := []engine.LoggedEvent{
		{TaskID: id, Seq: 1, Cursor: 1, Time: at, Event: &a2a.Task{ID: id, ContextID: ctxID, Status: a2a.TaskStatus{State: a2a.StateSubmitted, Timestamp: at}, History: []a2a.Message{user}}},
		{TaskID: id, Seq: 2, Cursor: 2, Time: at, Event: &a2a.StatusUpdateEvent{TaskID: id, ContextID: ctxID, Status: a2a.TaskStatus{State: a2a.StateWorking, Timestamp: at}}},
		{TaskID: id, Seq: 3, Cursor: 3, Time: at, Event: &a2a.ArtifactUpdateEvent{TaskID: id, ContextID: ctxID, Artifact: art, LastChunk: true}},
		{TaskID: id, Seq: 4, Cursor: 4, Time: at, Event: &a2a.StatusUpdateEvent{TaskID: id, ContextID: ctxID, Status: done, Final: true}},
	}
	var out []byte
	encode := engine.NewFrozenEncoder()
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if out, err = encode(rec, events); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(out)), "frozen-bytes")
}
