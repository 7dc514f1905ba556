package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/a2atop/a2atop/a2a"
)

// Method is an A2A JSON-RPC method, independent of the dialect's name for it.
type Method int

const (
	MethodUnknown Method = iota
	MethodSend
	MethodStream
	MethodGet
	MethodList
	MethodCancel
	MethodSubscribe
	MethodGetExtendedCard
	MethodPushSet
	MethodPushGet
	MethodPushList
	MethodPushDelete
)

var methodNames = [...]struct{ v10, v03 string }{
	MethodUnknown:         {"", ""},
	MethodSend:            {"SendMessage", "message/send"},
	MethodStream:          {"SendStreamingMessage", "message/stream"},
	MethodGet:             {"GetTask", "tasks/get"},
	MethodList:            {"ListTasks", ""},
	MethodCancel:          {"CancelTask", "tasks/cancel"},
	MethodSubscribe:       {"SubscribeToTask", "tasks/resubscribe"},
	MethodGetExtendedCard: {"GetExtendedAgentCard", "agent/getAuthenticatedExtendedCard"},
	MethodPushSet:         {"CreateTaskPushNotificationConfig", "tasks/pushNotificationConfig/set"},
	MethodPushGet:         {"GetTaskPushNotificationConfig", "tasks/pushNotificationConfig/get"},
	MethodPushList:        {"ListTaskPushNotificationConfigs", "tasks/pushNotificationConfig/list"},
	MethodPushDelete:      {"DeleteTaskPushNotificationConfig", "tasks/pushNotificationConfig/delete"},
}

// String is the v1.0 name, for logs.
func (m Method) String() string {
	if m <= MethodUnknown || int(m) >= len(methodNames) {
		return "unknown"
	}
	return methodNames[m].v10
}

// Streaming reports whether the method answers with an SSE stream.
func (m Method) Streaming() bool { return m == MethodStream || m == MethodSubscribe }

func (c codec) MethodName(m Method) (string, bool) {
	if m <= MethodUnknown || int(m) >= len(methodNames) {
		return "", false
	}
	n := methodNames[m].v03
	if c.v10 {
		n = methodNames[m].v10
	}
	return n, n != ""
}

func (c codec) ParseMethod(name string) (Method, bool) {
	if name == "" {
		return MethodUnknown, false
	}
	for m := MethodSend; int(m) < len(methodNames); m++ {
		if n, _ := c.MethodName(m); n == name {
			return m, true
		}
	}
	return MethodUnknown, false
}

// DialectOf tells which dialect a method name belongs to: the codec whose
// method it is, else by its shape (a slash is v0.3, anything else v1.0), so
// that an unknown method is answered in the dialect the caller most likely
// speaks.
func DialectOf(name string) Codec {
	if _, ok := V03().ParseMethod(name); ok {
		return V03()
	}
	if _, ok := V10().ParseMethod(name); ok {
		return V10()
	}
	if strings.Contains(name, "/") {
		return V03()
	}
	return V10()
}

// Request is a decoded JSON-RPC request.
type Request struct {
	// ID is the request id exactly as sent (JSON null when absent or
	// unreadable), to be echoed in the response.
	ID json.RawMessage
	// Method is the decoded method; Name the name as sent.
	Method Method
	Name   string
	// Params is typed per method; see the package doc.
	Params any
	// Notification: the request has no "id" member at all (an explicit
	// null is an id). JSON-RPC 2.0 §4.1: the server must not reply to it.
	Notification bool
}

var jsonNull = json.RawMessage("null")

// ---- requests ----

type rpcRequest struct {
	JSONRPC string `json:"jsonrpc"`
	ID      any    `json:"id,omitempty"`
	Method  string `json:"method"`
	Params  any    `json:"params,omitempty"`
}

type wSendConfig struct {
	AcceptedOutputModes []string `json:"acceptedOutputModes,omitempty"`
	HistoryLength       *int     `json:"historyLength,omitempty"`
	// Both are written on every send, false or not: servers in the wild
	// read a missing v0.3 blocking as false (return at once).
	ReturnImmediately *bool `json:"returnImmediately,omitempty"` // v1.0
	Blocking          *bool `json:"blocking,omitempty"`          // v0.3
}

type wSendParams[P any] struct {
	Tenant        string         `json:"tenant,omitempty"`
	Message       *wMessage[P]   `json:"message"`
	Configuration *wSendConfig   `json:"configuration,omitempty"`
	Metadata      map[string]any `json:"metadata,omitempty"`
}

type wGetParams struct {
	Tenant        string `json:"tenant,omitempty"`
	ID            string `json:"id"`
	HistoryLength *int   `json:"historyLength,omitempty"`
}

type wListParams struct {
	Tenant               string `json:"tenant,omitempty"`
	ContextID            string `json:"contextId,omitempty"`
	Status               string `json:"status,omitempty"`
	PageSize             int    `json:"pageSize,omitempty"`
	PageToken            string `json:"pageToken,omitempty"`
	HistoryLength        *int   `json:"historyLength,omitempty"`
	StatusTimestampAfter string `json:"statusTimestampAfter,omitempty"`
	IncludeArtifacts     bool   `json:"includeArtifacts,omitempty"`
	// Reverse and ByCreated are a2atop's own members (ListRequest's order),
	// sent only to a2atop's own socket or serve (client.Options.OwnPeer);
	// other agents ignore unknown members, and the page says whether the
	// order was applied (wListPage).
	Reverse   bool `json:"a2atopReverse,omitempty"`
	ByCreated bool `json:"a2atopByCreated,omitempty"`
}

type wIDParams struct {
	Tenant string `json:"tenant,omitempty"`
	ID     string `json:"id"`
}

func (c codec) EncodeRequest(id any, m Method, params any) ([]byte, error) {
	name, ok := c.MethodName(m)
	if !ok {
		return nil, a2a.NewError(a2a.ErrUnsupported, "method %s does not exist in A2A v%s", m, c.Version())
	}
	req := rpcRequest{JSONRPC: "2.0", ID: id, Method: name}
	var err error
	if req.Params, err = c.encodeParams(m, params); err != nil {
		return nil, fmt.Errorf("wire: encode %s request: %w", name, err)
	}
	return json.Marshal(&req)
}

func (c codec) encodeParams(m Method, params any) (any, error) {
	switch m {
	case MethodSend, MethodStream:
		p, ok := params.(*a2a.SendRequest)
		if !ok || p == nil {
			return nil, fmt.Errorf("params must be *a2a.SendRequest, got %T", params)
		}
		w := wSendParams[any]{Tenant: p.Tenant, Message: c.fromMessage(&p.Message), Metadata: p.Metadata}
		w.Configuration = c.sendConfig(p.Config)
		return &w, nil
	case MethodGet:
		p, ok := params.(a2a.GetRequest)
		if !ok {
			return nil, fmt.Errorf("params must be a2a.GetRequest, got %T", params)
		}
		return &wGetParams{Tenant: p.Tenant, ID: p.ID, HistoryLength: p.HistoryLength}, nil
	case MethodList:
		p, ok := params.(a2a.ListRequest)
		if !ok {
			return nil, fmt.Errorf("params must be a2a.ListRequest, got %T", params)
		}
		w := &wListParams{Tenant: p.Tenant, ContextID: p.ContextID, PageSize: p.PageSize, PageToken: p.PageToken,
			HistoryLength: p.HistoryLength, StatusTimestampAfter: formatTime(p.StatusTimestampAfter), IncludeArtifacts: p.IncludeArtifacts,
			Reverse: p.Reverse, ByCreated: p.ByCreated}
		if p.State != "" {
			w.Status = c.state(p.State)
		}
		return w, nil
	case MethodCancel, MethodSubscribe:
		id, ok := params.(string)
		if !ok {
			return nil, fmt.Errorf("params must be a task id string, got %T", params)
		}
		return &wIDParams{ID: id}, nil
	case MethodGetExtendedCard:
		return nil, nil
	default:
		switch p := params.(type) {
		case nil:
			return nil, nil
		case json.RawMessage:
			return p, nil
		}
		return nil, fmt.Errorf("params must be json.RawMessage, got %T", params)
	}
}

// sendConfig is the configuration object of a send: always present, with
// the dialect's blocking flag written explicitly (strict in what we send).
func (c codec) sendConfig(cfg a2a.SendConfig) *wSendConfig {
	w := &wSendConfig{AcceptedOutputModes: cfg.AcceptedOutputModes, HistoryLength: cfg.HistoryLength}
	if c.v10 {
		ri := cfg.ReturnImmediately
		w.ReturnImmediately = &ri
	} else {
		blocking := !cfg.ReturnImmediately
		w.Blocking = &blocking
	}
	return w
}

type rpcIncoming struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  *string         `json:"method"`
	Params  json.RawMessage `json:"params"`
}

// DecodeRequestAny decodes a request of either dialect, choosing the codec
// by the method name (see DialectOf). The codec is returned even on error,
// so the server can answer in the caller's dialect.
func DecodeRequestAny(body []byte) (Codec, *Request, error) {
	if c, req, ok := decodeSendFast(body); ok {
		return c, req, nil
	}
	return decodeRequestGeneral(body)
}

// decodeRequestGeneral is DecodeRequestAny for any body: the envelope, then
// the params.
func decodeRequestGeneral(body []byte) (Codec, *Request, error) {
	var in rpcIncoming
	perr := readIncoming(body, &in)
	name := ""
	if in.Method != nil {
		name = *in.Method
	}
	c := DialectOf(name).(codec)
	if perr != nil {
		return c, &Request{ID: requestID(&in)}, perr
	}
	req, err := c.decodeIncoming(&in)
	return c, req, err
}

// readIncoming decodes the request envelope: invalid JSON is a parse error
// (-32700), valid JSON of the wrong shape an invalid request (-32600).
func readIncoming(body []byte, in *rpcIncoming) error {
	err := json.Unmarshal(body, in)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return a2a.NewError(a2a.ErrInvalidRequest, "invalid request: %v", err)
	}
	*in = rpcIncoming{}
	return a2a.NewError(a2a.ErrParse, "parse error: %v", err)
}

// requestID is the id to answer a request with: as sent when valid, else null.
func requestID(in *rpcIncoming) json.RawMessage {
	if len(in.ID) == 0 || !validID(in.ID) {
		return jsonNull
	}
	return in.ID
}

func (c codec) DecodeRequest(body []byte) (*Request, error) {
	var in rpcIncoming
	if err := readIncoming(body, &in); err != nil {
		return &Request{ID: requestID(&in)}, err
	}
	return c.decodeIncoming(&in)
}

func (c codec) decodeIncoming(in *rpcIncoming) (*Request, error) {
	req := &Request{ID: in.ID, Notification: len(in.ID) == 0}
	if !validID(in.ID) {
		req.ID = jsonNull
		return req, a2a.NewError(a2a.ErrInvalidRequest, "invalid request: id must be a string, a number or null")
	}
	if req.ID == nil {
		req.ID = jsonNull
	}
	if in.JSONRPC != "2.0" {
		return req, a2a.NewError(a2a.ErrInvalidRequest, `invalid request: jsonrpc must be "2.0"`)
	}
	if in.Method == nil || *in.Method == "" {
		return req, a2a.NewError(a2a.ErrInvalidRequest, "invalid request: method is missing")
	}
	req.Name = *in.Method
	m, ok := c.ParseMethod(req.Name)
	if !ok {
		return req, a2a.NewError(a2a.ErrMethodNotFound, "method not found: %s", req.Name)
	}
	req.Method = m
	params := in.Params
	if len(params) == 0 || string(params) == "null" {
		params = nil
	}
	var err error
	if req.Params, err = c.decodeParams(m, params); err != nil {
		return req, a2a.NewError(a2a.ErrInvalidParams, "invalid params for %s: %v", req.Name, err)
	}
	return req, nil
}

func validID(id json.RawMessage) bool {
	if len(id) == 0 {
		return true
	}
	switch id[0] {
	case '"', 'n', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return true
	}
	return false
}

var errNoParams = errors.New("params are missing")

func (c codec) decodeParams(m Method, params json.RawMessage) (any, error) {
	switch m {
	case MethodSend, MethodStream:
		if params == nil {
			return nil, errNoParams
		}
		var w wSendParams[wPart]
		if err := json.Unmarshal(params, &w); err != nil {
			return nil, err
		}
		if w.Message == nil {
			return nil, errors.New("message is missing")
		}
		if parseRole(w.Message.Role) == a2a.RoleUnspecified {
			return nil, fmt.Errorf("message role %q is not valid: send %q", w.Message.Role, c.role(a2a.RoleUser))
		}
		req := &a2a.SendRequest{Message: toMessage(w.Message), Metadata: metadata(w.Metadata), Tenant: w.Tenant}
		if cfg := w.Configuration; cfg != nil {
			req.Config = a2a.SendConfig{
				AcceptedOutputModes: strs(cfg.AcceptedOutputModes),
				HistoryLength:       cfg.HistoryLength,
				ReturnImmediately:   (cfg.ReturnImmediately != nil && *cfg.ReturnImmediately) || (cfg.Blocking != nil && !*cfg.Blocking),
			}
		}
		return req, nil
	case MethodGet:
		if params == nil {
			return nil, errNoParams
		}
		var w wGetParams
		if err := json.Unmarshal(params, &w); err != nil {
			return nil, err
		}
		if w.ID == "" {
			return nil, errors.New("id is missing")
		}
		return a2a.GetRequest{ID: w.ID, HistoryLength: w.HistoryLength, Tenant: w.Tenant}, nil
	case MethodList:
		var w wListParams
		if params != nil {
			if err := json.Unmarshal(params, &w); err != nil {
				return nil, err
			}
		}
		req := a2a.ListRequest{ContextID: w.ContextID, PageSize: w.PageSize, PageToken: w.PageToken,
			HistoryLength: w.HistoryLength, IncludeArtifacts: w.IncludeArtifacts, Tenant: w.Tenant,
			Reverse: w.Reverse, ByCreated: w.ByCreated}
		if w.Status != "" {
			req.State = parseState(w.Status)
		}
		if w.StatusTimestampAfter != "" {
			t, err := time.Parse(time.RFC3339Nano, w.StatusTimestampAfter)
			if err != nil {
				return nil, fmt.Errorf("statusTimestampAfter: %w", err)
			}
			req.StatusTimestampAfter = t
		}
		if req.PageSize < 0 || req.PageSize > a2a.MaxPageSize {
			return nil, fmt.Errorf("pageSize %d is outside 1..%d", req.PageSize, a2a.MaxPageSize)
		}
		return req, nil
	case MethodCancel, MethodSubscribe:
		if params == nil {
			return nil, errNoParams
		}
		var w wIDParams
		if err := json.Unmarshal(params, &w); err != nil {
			return nil, err
		}
		if w.ID == "" {
			return nil, errors.New("id is missing")
		}
		return w.ID, nil
	case MethodGetExtendedCard:
		return nil, nil
	}
	if params == nil {
		return nil, nil
	}
	return append(json.RawMessage(nil), params...), nil
}

// ---- responses ----

type rpcResult struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result"`
}

type rpcError struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Error   wError          `json:"error"`
}

type wError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

type wListPage[P any] struct {
	Tasks         []*wTask[P] `json:"tasks"`
	NextPageToken string      `json:"nextPageToken"`
	PageSize      int         `json:"pageSize"`
	TotalSize     int         `json:"totalSize"`
	// DamagedTaskIDs is a2atop's own member (absent unless a store met
	// records it could not read): it carries ListPage.Damaged from the
	// a2atop that holds a store to the others sharing it, so their list
	// names the damaged tasks too. Other clients ignore unknown members.
	DamagedTaskIDs []string `json:"a2atopDamagedTaskIds,omitempty"`
	// Reverse and ByCreated echo the order a2atop's own service listed in
	// (ListPage.Reverse, ByCreated).
	Reverse   bool `json:"a2atopReverse,omitempty"`
	ByCreated bool `json:"a2atopByCreated,omitempty"`
}

func (c codec) EncodeResult(id json.RawMessage, m Method, result any) ([]byte, error) {
	if len(id) == 0 {
		id = jsonNull
	}
	if b, ok, err := c.appendResult(id, m, result); ok {
		return b, err
	}
	return c.marshalResult(id, m, result)
}

// marshalResult is EncodeResult through json.Marshal of the wire values:
// for the results appendResult does not write by hand, and for the tests
// that check it writes the same bytes.
func (c codec) marshalResult(id json.RawMessage, m Method, result any) ([]byte, error) {
	var w any
	var err error
	switch m {
	case MethodSend:
		r, ok := result.(*a2a.SendResult)
		if !ok || r == nil || (r.Task == nil && r.Message == nil) {
			return nil, fmt.Errorf("wire: encode %s result: want a non-empty *a2a.SendResult, got %T", m, result)
		}
		w, err = c.fromEvent(r.Event())
	case MethodStream, MethodSubscribe:
		ev, ok := result.(a2a.Event)
		if !ok {
			return nil, fmt.Errorf("wire: encode %s result: want a2a.Event, got %T", m, result)
		}
		w, err = c.fromEvent(ev)
	case MethodGet, MethodCancel:
		t, ok := result.(*a2a.Task)
		if !ok || t == nil {
			return nil, fmt.Errorf("wire: encode %s result: want *a2a.Task, got %T", m, result)
		}
		w = c.fromTask(t)
	case MethodList:
		p, ok := result.(*a2a.ListPage)
		if !ok || p == nil {
			return nil, fmt.Errorf("wire: encode %s result: want *a2a.ListPage, got %T", m, result)
		}
		lp := wListPage[any]{Tasks: make([]*eTask, len(p.Tasks)), NextPageToken: p.NextPageToken, PageSize: p.PageSize, TotalSize: p.TotalSize, DamagedTaskIDs: p.Damaged,
			Reverse: p.Reverse, ByCreated: p.ByCreated}
		for i, t := range p.Tasks {
			lp.Tasks[i] = c.fromTask(t)
		}
		w = &lp
	case MethodGetExtendedCard:
		card, ok := result.(*a2a.AgentCard)
		if !ok || card == nil {
			return nil, fmt.Errorf("wire: encode %s result: want *a2a.AgentCard, got %T", m, result)
		}
		var raw []byte
		if raw, err = c.EncodeCard(card); err == nil {
			w = json.RawMessage(raw)
		}
	default:
		raw, ok := result.(json.RawMessage)
		if !ok {
			return nil, fmt.Errorf("wire: encode %s result: want json.RawMessage, got %T", m, result)
		}
		w = raw
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(&rpcResult{JSONRPC: "2.0", ID: id, Result: w})
}

// appendResult is EncodeResult by hand (see append.go) for the results
// that carry a task or an event in v1.0: a send's, a stream's, a get's and
// a cancel's. ok is false for the rest, left to EncodeResult.
func (c codec) appendResult(id json.RawMessage, m Method, result any) (out []byte, ok bool, err error) {
	if !c.v10 {
		return nil, false, nil
	}
	var ev a2a.Event
	switch m {
	case MethodSend:
		if r, isSend := result.(*a2a.SendResult); isSend && r != nil {
			ev = r.Event()
		}
	case MethodStream, MethodSubscribe:
		ev, _ = result.(a2a.Event)
	case MethodGet, MethodCancel:
		if t, isTask := result.(*a2a.Task); isTask && t != nil {
			b, ok := appendResultHead(make([]byte, 0, taskBufSize), id)
			if !ok {
				return nil, false, nil
			}
			if b, err = c.appendTask(b, t); err != nil {
				return nil, true, err
			}
			return append(b, '}'), true, nil
		}
	}
	if ev == nil {
		return nil, false, nil
	}
	b, ok := appendResultHead(make([]byte, 0, taskBufSize), id)
	if !ok {
		return nil, false, nil
	}
	if b, ok, err = c.appendEvent(b, ev); !ok || err != nil {
		return nil, ok, err
	}
	return append(b, '}'), true, nil
}

// ErrorReason is the google.rpc.ErrorInfo reason a v1.0 error carries for
// each code, as a2a-go spells them.
func ErrorReason(code int) string {
	switch code {
	case a2a.CodeParseError:
		return "PARSE_ERROR"
	case a2a.CodeInvalidRequest:
		return "INVALID_REQUEST"
	case a2a.CodeMethodNotFound:
		return "METHOD_NOT_FOUND"
	case a2a.CodeInvalidParams:
		return "INVALID_PARAMS"
	case a2a.CodeTaskNotFound:
		return "TASK_NOT_FOUND"
	case a2a.CodeTaskNotCancelable:
		return "TASK_NOT_CANCELABLE"
	case a2a.CodePushNotSupported:
		return "PUSH_NOTIFICATION_NOT_SUPPORTED"
	case a2a.CodeUnsupportedOperation:
		return "UNSUPPORTED_OPERATION"
	case a2a.CodeContentTypeNotSupported:
		return "CONTENT_TYPE_NOT_SUPPORTED"
	case a2a.CodeInvalidAgentResponse:
		return "INVALID_AGENT_RESPONSE"
	case a2a.CodeExtendedCardNotConfigured:
		return "EXTENDED_AGENT_CARD_NOT_CONFIGURED"
	case a2a.CodeExtensionSupportRequired:
		return "EXTENSION_SUPPORT_REQUIRED"
	case a2a.CodeVersionNotSupported:
		return "VERSION_NOT_SUPPORTED"
	case a2a.CodeUnauthenticated:
		return "UNAUTHENTICATED"
	case a2a.CodeUnauthorized:
		return "UNAUTHORIZED"
	case a2a.CodeServerBusy:
		return "RESOURCE_EXHAUSTED"
	}
	return "INTERNAL_ERROR"
}

// ErrorInfoType and ErrorDomain name the v1.0 error detail.
const (
	ErrorInfoType = "type.googleapis.com/google.rpc.ErrorInfo"
	ErrorDomain   = "a2a-protocol.org"
)

type wErrorInfo struct {
	Type   string `json:"@type"`
	Reason string `json:"reason"`
	Domain string `json:"domain"`
}

// EncodeError writes e as a JSON-RPC error. e.Data is passed through when
// set; otherwise v1.0 adds the ErrorInfo detail for the code.
func (c codec) EncodeError(id json.RawMessage, e *a2a.Error) ([]byte, error) {
	if e == nil {
		return nil, fmt.Errorf("wire: encode error: nil")
	}
	if len(id) == 0 {
		id = jsonNull
	}
	w := wError{Code: e.Code, Message: e.Message, Data: compact(e.Data)}
	if w.Message == "" {
		w.Message = a2a.ErrorFromCode(e.Code, "", nil).Message
	}
	if w.Data == nil && c.v10 {
		data, err := json.Marshal([]wErrorInfo{{Type: ErrorInfoType, Reason: ErrorReason(e.Code), Domain: ErrorDomain}})
		if err != nil {
			return nil, err
		}
		w.Data = data
	}
	return json.Marshal(&rpcError{JSONRPC: "2.0", ID: id, Error: w})
}

// envelope decodes a response whose result has type T in one pass.
type envelope[T any] struct {
	ID     json.RawMessage `json:"id"`
	Result *T              `json:"result"`
	Error  *wError         `json:"error"`
}

func decodeEnvelope[T any](m Method, body []byte) (*T, error) {
	var env envelope[T]
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("wire: decode %s response: %w", m, err)
	}
	if env.Error != nil {
		return nil, a2a.ErrorFromCode(env.Error.Code, env.Error.Message, compact(env.Error.Data))
	}
	if env.Result == nil {
		return nil, fmt.Errorf("wire: decode %s response: neither result nor error", m)
	}
	return env.Result, nil
}

func (c codec) DecodeResponse(m Method, body []byte) (any, error) {
	switch m {
	case MethodSend:
		w, err := decodeEnvelope[wEvent](m, body)
		if err != nil {
			return nil, err
		}
		ev, err := w.toEvent()
		if err != nil {
			return nil, fmt.Errorf("wire: decode %s result: %w", m, err)
		}
		switch ev := ev.(type) {
		case *a2a.Task:
			return &a2a.SendResult{Task: ev}, nil
		case *a2a.Message:
			return &a2a.SendResult{Message: ev}, nil
		}
		return nil, fmt.Errorf("wire: decode %s result: got %T, want a task or a message", m, ev)
	case MethodStream, MethodSubscribe:
		w, err := decodeEnvelope[wEvent](m, body)
		if err != nil {
			return nil, err
		}
		ev, err := w.toEvent()
		if err != nil {
			return nil, fmt.Errorf("wire: decode %s result: %w", m, err)
		}
		return ev, nil
	case MethodGet, MethodCancel:
		// Some servers wrap the task as in a send result; accept both.
		w, err := decodeEnvelope[wEvent](m, body)
		if err != nil {
			return nil, err
		}
		ev, err := w.toEvent()
		if err != nil {
			return nil, fmt.Errorf("wire: decode %s result: %w", m, err)
		}
		t, ok := ev.(*a2a.Task)
		if !ok {
			return nil, fmt.Errorf("wire: decode %s result: got %T, want a task", m, ev)
		}
		return t, nil
	case MethodList:
		w, err := decodeEnvelope[wListPage[wPart]](m, body)
		if err != nil {
			return nil, err
		}
		p := &a2a.ListPage{NextPageToken: w.NextPageToken, PageSize: w.PageSize, TotalSize: w.TotalSize, Damaged: boundedIDs(w.DamagedTaskIDs),
			Reverse: w.Reverse, ByCreated: w.ByCreated}
		if len(w.Tasks) > 0 {
			p.Tasks = make([]*a2a.Task, 0, len(w.Tasks))
			for _, t := range w.Tasks {
				if t != nil {
					p.Tasks = append(p.Tasks, toTask(t))
				}
			}
		}
		return p, nil
	case MethodGetExtendedCard:
		w, err := decodeEnvelope[json.RawMessage](m, body)
		if err != nil {
			return nil, err
		}
		return c.DecodeCard(*w)
	}
	w, err := decodeEnvelope[json.RawMessage](m, body)
	if err != nil {
		return nil, err
	}
	return *w, nil // encoding/json copied it out of body
}

// maxDamagedIDs bounds the damaged ids a list page may name (a page holds
// at most MaxPageSize tasks; the rest is not believed).
const maxDamagedIDs = a2a.MaxPageSize

// boundedIDs keeps at most maxDamagedIDs ids.
func boundedIDs(ids []string) []string {
	if len(ids) > maxDamagedIDs {
		ids = ids[:maxDamagedIDs]
	}
	return ids
}
