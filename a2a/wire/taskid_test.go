package wire_test

import (
	"testing"

	"github.com/a2atop/a2atop/a2a/wire"
)

// TestTaskResultWithoutIDIsAnError: a result that claims to be a task but
// names none is not a Task (it decoded into one with an empty id that
// could not be decoded again; found by FuzzDecodeResponse).
func TestTaskResultWithoutIDIsAnError(t *testing.T) {
	bodies := []string{
		`{"jsonrpc":"2.0","id":1,"result":{"kind":"task"}}`,
		`{"jsonrpc":"2.0","id":1,"result":{"tAsk":{}}}`,
		`{"jsonrpc":"2.0","id":1,"result":{"task":{"status":{"state":"TASK_STATE_WORKING"}}}}`,
		`{"jsonrpc":"2.0","id":1,"result":{"kind":"task","status":{"state":"working"}}}`,
	}
	for _, c := range []wire.Codec{wire.V10(), wire.V03()} {
		for _, m := range []wire.Method{wire.MethodGet, wire.MethodCancel, wire.MethodSend, wire.MethodStream} {
			for _, b := range bodies {
				if v, err := c.DecodeResponse(m, []byte(b)); err == nil {
					t.Errorf("v%s %s %s: decoded %#v, want an error", c.Version(), m, b, v)
				}
			}
		}
	}
}
