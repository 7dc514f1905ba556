package a2a

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// JSON-RPC error codes, standard and A2A-specific.
const (
	CodeParseError                = -32700
	CodeInvalidRequest            = -32600
	CodeMethodNotFound            = -32601
	CodeInvalidParams             = -32602
	CodeInternal                  = -32603
	CodeTaskNotFound              = -32001
	CodeTaskNotCancelable         = -32002
	CodePushNotSupported          = -32003
	CodeUnsupportedOperation      = -32004
	CodeContentTypeNotSupported   = -32005
	CodeInvalidAgentResponse      = -32006
	CodeExtendedCardNotConfigured = -32007
	CodeExtensionSupportRequired  = -32008
	CodeVersionNotSupported       = -32009
	// CodeServerBusy is a2atop's "busy, retry later": the server refused
	// the request for want of capacity (its task queue or its stream slots
	// are full) and did nothing with it, so the same request may be sent
	// again later unchanged. JSON-RPC leaves -32000..-32099 to the
	// implementation; A2A uses -32001..-32009, so a2atop takes -32050, far
	// from where A2A grows. It is never -32603: nothing went wrong inside.
	CodeServerBusy = -32050
	// CodeUnauthenticated is what a2a-go's default task store answers to an
	// anonymous ListTasks.
	CodeUnauthenticated = -31401
	// CodeUnauthorized is a2a-go's code for an authenticated caller that
	// may not do what it asked (HTTP+JSON: 403 PERMISSION_DENIED).
	CodeUnauthorized = -31403
)

// Error is a protocol error: a JSON-RPC error code, the message the peer
// gave, and its optional data. Errors compare with errors.Is by code, so
// errors.Is(err, a2a.ErrTaskNotFound) holds for any server's wording.
type Error struct {
	Code    int
	Message string
	Data    json.RawMessage
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("%s (%d)", codeName(e.Code), e.Code)
	}
	return fmt.Sprintf("%s (%d)", e.Message, e.Code)
}

// Is matches any *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// The sentinels below are for errors.Is and as templates for NewError; they
// are never modified.
var (
	ErrParse                = &Error{Code: CodeParseError, Message: "parse error"}
	ErrInvalidRequest       = &Error{Code: CodeInvalidRequest, Message: "invalid request"}
	ErrMethodNotFound       = &Error{Code: CodeMethodNotFound, Message: "method not found"}
	ErrInvalidParams        = &Error{Code: CodeInvalidParams, Message: "invalid params"}
	ErrInternal             = &Error{Code: CodeInternal, Message: "internal error"}
	ErrTaskNotFound         = &Error{Code: CodeTaskNotFound, Message: "task not found"}
	ErrNotCancelable        = &Error{Code: CodeTaskNotCancelable, Message: "task cannot be canceled"}
	ErrPushNotSupported     = &Error{Code: CodePushNotSupported, Message: "push notifications are not supported"}
	ErrUnsupported          = &Error{Code: CodeUnsupportedOperation, Message: "this operation is not supported"}
	ErrContentType          = &Error{Code: CodeContentTypeNotSupported, Message: "incompatible content types"}
	ErrInvalidAgentResponse = &Error{Code: CodeInvalidAgentResponse, Message: "invalid agent response"}
	ErrExtendedCard         = &Error{Code: CodeExtendedCardNotConfigured, Message: "extended agent card is not configured"}
	ErrExtensionRequired    = &Error{Code: CodeExtensionSupportRequired, Message: "extension support required"}
	ErrVersionNotSupported  = &Error{Code: CodeVersionNotSupported, Message: "protocol version not supported"}
	ErrUnauthenticated      = &Error{Code: CodeUnauthenticated, Message: "unauthenticated"}
	ErrUnauthorized         = &Error{Code: CodeUnauthorized, Message: "permission denied"}
	ErrServerBusy           = &Error{Code: CodeServerBusy, Message: "server busy: retry later"}

	// ErrLagged ends a stream whose reader fell too far behind; it must
	// resync (Get the task, or Watch again from its last cursor).
	ErrLagged = errors.New("stream reader fell behind and lost events; resync")
)

// NewError returns an error with the code of template and the given message.
func NewError(template *Error, format string, args ...any) *Error {
	return &Error{Code: template.Code, Message: fmt.Sprintf(format, args...)}
}

// ErrorFromCode builds the typed error for a code received on the wire,
// keeping the peer's message and data.
func ErrorFromCode(code int, message string, data json.RawMessage) *Error {
	if message == "" {
		message = codeName(code)
	}
	return &Error{Code: code, Message: message, Data: data}
}

// AsError maps any error onto a protocol error for the wire: an *Error
// anywhere in the chain keeps its code (and the outer message, which carries
// context); anything else is an internal error.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		if err.Error() == e.Error() {
			return e
		}
		// The wrapped text ends with the inner error's "(code)"; the
		// result's Error adds it again, so drop it from the message.
		msg := strings.TrimSuffix(err.Error(), fmt.Sprintf(" (%d)", e.Code))
		return &Error{Code: e.Code, Message: msg, Data: e.Data}
	}
	return &Error{Code: CodeInternal, Message: err.Error()}
}

func codeName(code int) string {
	for _, e := range []*Error{
		ErrParse, ErrInvalidRequest, ErrMethodNotFound, ErrInvalidParams, ErrInternal,
		ErrTaskNotFound, ErrNotCancelable, ErrPushNotSupported, ErrUnsupported,
		ErrContentType, ErrInvalidAgentResponse, ErrExtendedCard, ErrExtensionRequired,
		ErrVersionNotSupported, ErrUnauthenticated, ErrUnauthorized,
		ErrVersionNotSupported, ErrUnauthenticated, ErrServerBusy,
	} {
		if e.Code == code {
			return e.Message
		}
	}
	return "error"
}
