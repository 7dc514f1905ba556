package a2a

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestErrorsIsByCode(t *testing.T) {
	wire := ErrorFromCode(CodeTaskNotFound, "failed to get task: task not found", json.RawMessage(`[{"reason":"TASK_NOT_FOUND"}]`))
	if !errors.Is(wire, ErrTaskNotFound) || errors.Is(wire, ErrNotCancelable) {
		t.Error("errors.Is must compare codes")
	}
	if wire.Error() != "failed to get task: task not found (-32001)" {
		t.Errorf("Error() = %q", wire.Error())
	}
	wrapped := fmt.Errorf("get t1: %w", wire)
	if !errors.Is(wrapped, ErrTaskNotFound) {
		t.Error("errors.Is must see through wrapping")
	}
	// A protocol error is its code and nothing else: its Is method (the
	// one errors.Is consults, on the error's side) matches no plain error
	// and no other code.
	if errors.Is(ErrTaskNotFound, io.EOF) || errors.Is(ErrInternal, ErrLagged) {
		t.Error("a protocol error must not match a plain error")
	}
	if errors.Is(wrapped, ErrNotCancelable) || errors.Is(wrapped, ErrInternal) {
		t.Error("a protocol error must not match another code")
	}
	if e := ErrorFromCode(-32099, "", nil); e.Message != "error" || e.Code != -32099 {
		t.Errorf("unknown code: %#v", e)
	}
	if e := ErrorFromCode(CodeUnsupportedOperation, "", nil); e.Message != ErrUnsupported.Message {
		t.Errorf("empty message takes the code's name: %q", e.Message)
	}
	if e := NewError(ErrInvalidParams, "bad %s", "id"); e.Code != CodeInvalidParams || e.Message != "bad id" {
		t.Errorf("NewError: %#v", e)
	}
	if ErrTaskNotFound.Message != "task not found" {
		t.Error("NewError must not touch the template")
	}
}

func TestAsError(t *testing.T) {
	if AsError(nil) != nil {
		t.Error("AsError(nil) must be nil")
	}
	if e := AsError(ErrNotCancelable); e != ErrNotCancelable {
		t.Errorf("an *Error passes unchanged: %#v", e)
	}
	data := json.RawMessage(`[1]`)
	inner := &Error{Code: CodeTaskNotFound, Message: "task not found", Data: data}
	e := AsError(fmt.Errorf("cancel t9: %w", inner))
	if e.Code != CodeTaskNotFound || e.Message != "cancel t9: task not found" || string(e.Data) != "[1]" {
		t.Errorf("wrapped: %#v", e)
	}
	// The code shows once, not once per layer.
	if got := e.Error(); got != "cancel t9: task not found (-32001)" {
		t.Errorf("wrapped Error() = %q", got)
	}
	if e := AsError(io.ErrUnexpectedEOF); e.Code != CodeInternal || e.Message != "unexpected EOF" {
		t.Errorf("plain error: %#v", e)
	}
}
