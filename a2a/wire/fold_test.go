package wire_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
)

// TestFoldMatchesGetTask folds every stream of a transcript, per task and in
// file order (a follow-up stream continues the task of the first), and
// compares the result with the last task the server returned for the same
// id from GetTask or CancelTask. Both must agree on id, context, state,
// status message, artifacts and history.
func TestFoldMatchesGetTask(t *testing.T) {
	byFile := map[string][]*exchange{}
	var order []string
	for _, ex := range loadTranscripts(t) {
		if _, ok := byFile[ex.File]; !ok {
			order = append(order, ex.File)
		}
		byFile[ex.File] = append(byFile[ex.File], ex)
	}
	compared := 0
	for _, file := range order {
		folded := map[string]*a2a.Task{}
		reference := map[string]*a2a.Task{}
		for _, ex := range byFile[file] {
			if ex.Body == nil {
				continue
			}
			call := decodeCall(ex)
			if call.err != nil {
				continue
			}
			switch call.req.Method {
			case wire.MethodStream, wire.MethodSubscribe:
				for i, body := range ex.Events {
					v, err := call.codec.DecodeResponse(call.req.Method, body)
					if err != nil {
						continue // an error event ends the stream
					}
					ev := v.(a2a.Event)
					id, _ := ev.TaskInfo()
					if id == "" {
						continue
					}
					next, err := a2a.Apply(folded[id], ev)
					if err != nil {
						t.Fatalf("%s %q event %d: %v", file, ex.Title, i, err)
					}
					folded[id] = next
				}
			case wire.MethodGet, wire.MethodCancel:
				v, err := call.codec.DecodeResponse(call.req.Method, ex.RespBody)
				var rpcErr *a2a.Error
				if errors.As(err, &rpcErr) {
					continue
				}
				if err != nil {
					t.Fatalf("%s %q: %v", file, ex.Title, err)
				}
				task := v.(*a2a.Task)
				if p, ok := call.req.Params.(a2a.GetRequest); ok && p.HistoryLength != nil {
					continue // a trimmed history is not the whole task
				}
				reference[task.ID] = task
			}
		}
		for id, got := range folded {
			want, ok := reference[id]
			if !ok {
				continue
			}
			compared++
			compareTasks(t, file, got, want)
		}
	}
	t.Logf("%d folded streams compared with the server's task", compared)
	if compared < 4 {
		t.Errorf("only %d comparisons; the transcripts hold at least 4", compared)
	}
}

func compareTasks(t *testing.T, file string, got, want *a2a.Task) {
	t.Helper()
	if got.ID != want.ID || got.ContextID != want.ContextID {
		t.Errorf("%s: ids %s/%s, server %s/%s", file, got.ID, got.ContextID, want.ID, want.ContextID)
	}
	if got.Status.State != want.Status.State {
		t.Errorf("%s %s: state %s, server %s", file, got.ID, got.Status.State, want.Status.State)
	}
	if !reflect.DeepEqual(got.Status.Message, want.Status.Message) {
		t.Errorf("%s %s: status message\n got %s\nwant %s", file, got.ID, dump(got.Status.Message), dump(want.Status.Message))
	}
	if !reflect.DeepEqual(got.Artifacts, want.Artifacts) {
		t.Errorf("%s %s: artifacts\n got %s\nwant %s", file, got.ID, dump(got.Artifacts), dump(want.Artifacts))
	}
	if !reflect.DeepEqual(got.History, want.History) {
		t.Errorf("%s %s: history\n got %s\nwant %s", file, got.ID, dump(got.History), dump(want.History))
	}
}
