package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/a2atop/a2atop/a2a"
)

// REST is A2A's HTTP+JSON binding in one dialect: how each operation
// becomes an HTTP request relative to the interface URL, and how its answers
// and errors read. Values are stateless and safe for concurrent use.
//
// v1.0 (A2A spec §11; a2a-go a2asrv.NewRESTHandler):
//
//	Send       POST /message:send          body SendMessageRequest → {"task"|"message"}
//	Stream     POST /message:stream        SSE of {"task"|"message"|"statusUpdate"|"artifactUpdate"}
//	Get        GET  /tasks/{id}?historyLength=
//	List       GET  /tasks?contextId&status&pageSize&pageToken&historyLength&statusTimestampAfter&includeArtifacts
//	Cancel     POST /tasks/{id}:cancel     → Task
//	Subscribe  POST /tasks/{id}:subscribe  SSE as Stream
//	Card       GET  /extendedAgentCard
//
// with the bodies of the v1.0 JSON-RPC params and results, and a tenant as
// the first path segment. v0.3 (a2a-go a2av0.NewRESTHandler, the v0.3 SDKs)
// puts every path under /v1, subscribes with GET, names the extended card
// /v1/card and speaks the v0.3 proto's JSON: message parts under "content",
// parts {"text"} | {"file":{"fileWithUri"|"fileWithBytes","mimeType","name"}}
// | {"data":{"data":…}}, ROLE_* roles, TASK_STATE_* states (CANCELLED), and
// an explicit configuration.blocking.
//
// Errors are google.rpc.Status bodies, {"error":{"code":404,"status":
// "NOT_FOUND","message":…,"details":[{"@type":…ErrorInfo,"reason":
// "TASK_NOT_FOUND","domain":"a2a-protocol.org"}]}}, as the HTTP answer or
// as one SSE event; DecodeResponse returns them as *a2a.Error with the code
// the reason names (else the one the status implies), so errors.Is works as
// for JSON-RPC.
type REST struct{ c codec }

// RESTV10 is the v1.0 HTTP+JSON binding.
func RESTV10() REST { return REST{codec{v10: true}} }

// RESTV03 is the v0.3 HTTP+JSON binding.
func RESTV03() REST { return REST{codec{v10: false}} }

// RESTForVersion returns the binding for a protocol version, as ForVersion.
func RESTForVersion(v string) (REST, error) {
	c, err := ForVersion(v)
	if err != nil {
		return REST{}, err
	}
	return REST{c.(codec)}, nil
}

// Version is "1.0" or "0.3".
func (r REST) Version() string { return r.c.Version() }

// RESTRequest is one operation as an HTTP request.
type RESTRequest struct {
	// Method is GET or POST.
	Method string
	// Path is relative to the interface URL and starts with "/"; the task id
	// in it is escaped.
	Path  string
	Query url.Values
	// Body is JSON for POST, nil for GET.
	Body []byte
}

// RESTPrefix03 is the path prefix of every v0.3 HTTP+JSON operation.
const RESTPrefix03 = "/v1"

func (r REST) prefix(tenant string) string {
	if !r.c.v10 {
		return RESTPrefix03
	}
	if tenant != "" {
		return "/" + url.PathEscape(tenant)
	}
	return ""
}

// EncodeRequest builds the HTTP request for m; params are as for
// Codec.EncodeRequest.
func (r REST) EncodeRequest(m Method, params any) (*RESTRequest, error) {
	req, err := r.encodeRequest(m, params)
	if err != nil {
		return nil, fmt.Errorf("wire: encode %s HTTP+JSON request: %w", m, err)
	}
	return req, nil
}

func (r REST) encodeRequest(m Method, params any) (*RESTRequest, error) {
	switch m {
	case MethodSend, MethodStream:
		p, ok := params.(*a2a.SendRequest)
		if !ok || p == nil {
			return nil, fmt.Errorf("params must be *a2a.SendRequest, got %T", params)
		}
		var body any
		if r.c.v10 {
			w := wSendParams[any]{Message: r.c.fromMessage(&p.Message), Metadata: p.Metadata, Configuration: r.c.sendConfig(p.Config)}
			body = &w
		} else {
			body = r.v03SendRequest(p)
		}
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		op := "/message:send"
		if m == MethodStream {
			op = "/message:stream"
		}
		return &RESTRequest{Method: http.MethodPost, Path: r.prefix(p.Tenant) + op, Body: raw}, nil
	case MethodGet:
		p, ok := params.(a2a.GetRequest)
		if !ok {
			return nil, fmt.Errorf("params must be a2a.GetRequest, got %T", params)
		}
		if p.ID == "" {
			return nil, fmt.Errorf("task id is empty")
		}
		q := url.Values{}
		if p.HistoryLength != nil {
			q.Set("historyLength", strconv.Itoa(*p.HistoryLength))
		}
		return &RESTRequest{Method: http.MethodGet, Path: r.prefix(p.Tenant) + "/tasks/" + url.PathEscape(p.ID), Query: q}, nil
	case MethodList:
		p, ok := params.(a2a.ListRequest)
		if !ok {
			return nil, fmt.Errorf("params must be a2a.ListRequest, got %T", params)
		}
		return &RESTRequest{Method: http.MethodGet, Path: r.prefix(p.Tenant) + "/tasks", Query: r.listQuery(p)}, nil
	case MethodCancel, MethodSubscribe:
		id, ok := params.(string)
		if !ok {
			return nil, fmt.Errorf("params must be a task id string, got %T", params)
		}
		if id == "" {
			return nil, fmt.Errorf("task id is empty")
		}
		path := r.prefix("") + "/tasks/" + url.PathEscape(id)
		if m == MethodCancel {
			return &RESTRequest{Method: http.MethodPost, Path: path + ":cancel", Body: []byte("{}")}, nil
		}
		if r.c.v10 {
			return &RESTRequest{Method: http.MethodPost, Path: path + ":subscribe", Body: []byte("{}")}, nil
		}
		return &RESTRequest{Method: http.MethodGet, Path: path + ":subscribe"}, nil
	case MethodGetExtendedCard:
		if r.c.v10 {
			return &RESTRequest{Method: http.MethodGet, Path: "/extendedAgentCard"}, nil
		}
		return &RESTRequest{Method: http.MethodGet, Path: RESTPrefix03 + "/card"}, nil
	}
	return nil, a2a.NewError(a2a.ErrUnsupported, "a2atop does not speak %s over HTTP+JSON", m)
}

func (r REST) listQuery(p a2a.ListRequest) url.Values {
	q := url.Values{}
	if p.ContextID != "" {
		q.Set("contextId", p.ContextID)
	}
	if p.State != "" {
		st := (codec{v10: true}).state(p.State)
		if !r.c.v10 && st == "TASK_STATE_CANCELED" {
			st = "TASK_STATE_CANCELLED" // the v0.3 proto's spelling
		}
		q.Set("status", st)
	}
	if p.PageSize > 0 {
		q.Set("pageSize", strconv.Itoa(p.PageSize))
	}
	if p.PageToken != "" {
		q.Set("pageToken", p.PageToken)
	}
	if p.HistoryLength != nil {
		q.Set("historyLength", strconv.Itoa(*p.HistoryLength))
	}
	if !p.StatusTimestampAfter.IsZero() {
		name := "statusTimestampAfter"
		if !r.c.v10 {
			name = "lastUpdatedAfter"
		}
		q.Set(name, formatTime(p.StatusTimestampAfter.UTC()))
	}
	if p.IncludeArtifacts {
		q.Set("includeArtifacts", "true")
	}
	return q
}

// The v0.3 proto JSON shapes, for encoding.
type (
	p03SendRequest struct {
		Message       *p03Message    `json:"message"`
		Configuration *p03SendConfig `json:"configuration"`
		Metadata      map[string]any `json:"metadata,omitempty"`
	}
	p03SendConfig struct {
		AcceptedOutputModes []string `json:"acceptedOutputModes,omitempty"`
		HistoryLength       int      `json:"historyLength,omitempty"`
		Blocking            bool     `json:"blocking"` // always written
	}
	p03Message struct {
		MessageID        string         `json:"messageId"`
		ContextID        string         `json:"contextId,omitempty"`
		TaskID           string         `json:"taskId,omitempty"`
		Role             string         `json:"role"`
		Content          []p03Part      `json:"content"`
		Metadata         map[string]any `json:"metadata,omitempty"`
		Extensions       []string       `json:"extensions,omitempty"`
		ReferenceTaskIDs []string       `json:"referenceTaskIds,omitempty"`
	}
	p03Part struct {
		Text     *string        `json:"text,omitempty"`
		File     *p03File       `json:"file,omitempty"`
		Data     *p03Data       `json:"data,omitempty"`
		Metadata map[string]any `json:"metadata,omitempty"`
	}
	p03File struct {
		FileWithURI   string `json:"fileWithUri,omitempty"`
		FileWithBytes string `json:"fileWithBytes,omitempty"`
		MimeType      string `json:"mimeType,omitempty"`
		Name          string `json:"name,omitempty"`
	}
	p03Data struct {
		Data json.RawMessage `json:"data"`
	}
)

func (r REST) v03SendRequest(p *a2a.SendRequest) *p03SendRequest {
	m := &p.Message
	role := "ROLE_USER"
	if m.Role == a2a.RoleAgent {
		role = "ROLE_AGENT"
	}
	pm := &p03Message{MessageID: m.ID, ContextID: m.ContextID, TaskID: m.TaskID, Role: role, Content: make([]p03Part, len(m.Parts)),
		Metadata: m.Metadata, Extensions: m.Extensions, ReferenceTaskIDs: m.ReferenceTaskIDs}
	for i, part := range m.Parts {
		out := p03Part{Metadata: part.Metadata}
		switch part.Kind {
		case a2a.PartData:
			data := part.Data
			if data == nil {
				data = json.RawMessage("null")
			}
			out.Data = &p03Data{Data: data}
		case a2a.PartFile:
			f := part.File
			if f == nil {
				f = &a2a.File{}
			}
			out.File = &p03File{MimeType: f.MediaType, Name: f.Name}
			if f.URI != "" && f.Bytes == nil {
				out.File.FileWithURI = f.URI
			} else {
				// base64 of the base64 text, as the v0.3 SDKs expect.
				inner := base64.StdEncoding.EncodeToString(f.Bytes)
				out.File.FileWithBytes = base64.StdEncoding.EncodeToString([]byte(inner))
			}
		default:
			text := part.Text
			out.Text = &text
		}
		pm.Content[i] = out
	}
	cfg := &p03SendConfig{AcceptedOutputModes: p.Config.AcceptedOutputModes, Blocking: !p.Config.ReturnImmediately}
	if p.Config.HistoryLength != nil {
		cfg.HistoryLength = *p.Config.HistoryLength
	}
	return &p03SendRequest{Message: pm, Configuration: cfg, Metadata: p.Metadata}
}

// ---- responses ----

// RESTStatus is the google.rpc.Status error object of an HTTP+JSON error.
type RESTStatus struct {
	Code    int               `json:"code"`
	Status  string            `json:"status,omitempty"`
	Message string            `json:"message"`
	Details []json.RawMessage `json:"details,omitempty"`
}

type restEventBody struct {
	wEvent
	Error *RESTStatus `json:"error"`
}

type restListBody struct {
	wListPage[wPart]
	Error *RESTStatus `json:"error"`
}

// DecodeResponse parses a response body (or one SSE event's data) for m.
// Results are typed as for Codec.DecodeResponse; an error body, whatever
// the HTTP status, comes back as *a2a.Error. A body that is neither is a
// decode error.
func (r REST) DecodeResponse(m Method, body []byte) (any, error) {
	switch m {
	case MethodSend, MethodStream, MethodSubscribe, MethodGet, MethodCancel:
		var w restEventBody
		if err := json.Unmarshal(body, &w); err != nil {
			return nil, fmt.Errorf("wire: decode %s response: %w", m, err)
		}
		if w.Error != nil {
			return nil, w.Error.ToError(m)
		}
		ev, err := w.toEvent()
		if err != nil {
			return nil, fmt.Errorf("wire: decode %s result: %w", m, err)
		}
		if !r.c.v10 {
			unwrapProtoData(ev)
		}
		switch m {
		case MethodSend:
			switch ev := ev.(type) {
			case *a2a.Task:
				return &a2a.SendResult{Task: ev}, nil
			case *a2a.Message:
				return &a2a.SendResult{Message: ev}, nil
			}
			return nil, fmt.Errorf("wire: decode %s result: got %T, want a task or a message", m, ev)
		case MethodGet, MethodCancel:
			t, ok := ev.(*a2a.Task)
			if !ok {
				return nil, fmt.Errorf("wire: decode %s result: got %T, want a task", m, ev)
			}
			return t, nil
		}
		return ev, nil
	case MethodList:
		var w restListBody
		if len(bytes.TrimSpace(body)) > 0 && bytes.TrimSpace(body)[0] == '[' {
			// Some v0.3 servers answer with a bare array of tasks.
			if err := json.Unmarshal(body, &w.Tasks); err != nil {
				return nil, fmt.Errorf("wire: decode %s response: %w", m, err)
			}
		} else if err := json.Unmarshal(body, &w); err != nil {
			return nil, fmt.Errorf("wire: decode %s response: %w", m, err)
		}
		if w.Error != nil {
			return nil, w.Error.ToError(m)
		}
		if w.Tasks == nil && w.NextPageToken == "" && w.PageSize == 0 && w.TotalSize == 0 && !isObjectWith(body, "tasks") {
			return nil, fmt.Errorf("wire: decode %s response: no tasks member", m)
		}
		p := &a2a.ListPage{NextPageToken: w.NextPageToken, PageSize: w.PageSize, TotalSize: w.TotalSize}
		for _, t := range w.Tasks {
			if t == nil {
				continue
			}
			task := toTask(t)
			if !r.c.v10 {
				unwrapProtoData(task)
			}
			p.Tasks = append(p.Tasks, task)
		}
		return p, nil
	case MethodGetExtendedCard:
		var w struct {
			Error *RESTStatus `json:"error"`
		}
		if err := json.Unmarshal(body, &w); err != nil {
			return nil, fmt.Errorf("wire: decode %s response: %w", m, err)
		}
		if w.Error != nil {
			return nil, w.Error.ToError(m)
		}
		return r.c.DecodeCard(body)
	}
	return nil, a2a.NewError(a2a.ErrUnsupported, "a2atop does not speak %s over HTTP+JSON", m)
}

// isObjectWith reports whether body is a JSON object with the member name
// (an empty list page is {"tasks":[]} or {}; a missing optional member is
// fine, but {"x":1} from the wrong endpoint is not a list).
func isObjectWith(body []byte, name string) bool {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return false
	}
	_, ok := obj[name]
	return ok || len(obj) == 0
}

// DecodeRESTError reads an HTTP+JSON error body; ok is false when body is
// not one. m refines codes the status alone leaves open (a
// FAILED_PRECONDITION answer to a cancel is "not cancelable").
func DecodeRESTError(m Method, body []byte) (e *a2a.Error, ok bool) {
	var w struct {
		Error *RESTStatus `json:"error"`
	}
	if json.Unmarshal(body, &w) != nil || w.Error == nil {
		return nil, false
	}
	return w.Error.ToError(m), true
}

// reasonCodes maps ErrorInfo reasons to codes: the inverse of ErrorReason,
// plus a2a-go's other spellings.
var reasonCodes = func() map[string]int {
	out := map[string]int{"SERVER_ERROR": a2a.CodeInternal, "PERMISSION_DENIED": a2a.CodeUnauthorized}
	for _, code := range []int{
		a2a.CodeParseError, a2a.CodeInvalidRequest, a2a.CodeMethodNotFound, a2a.CodeInvalidParams, a2a.CodeInternal,
		a2a.CodeTaskNotFound, a2a.CodeTaskNotCancelable, a2a.CodePushNotSupported, a2a.CodeUnsupportedOperation,
		a2a.CodeContentTypeNotSupported, a2a.CodeInvalidAgentResponse, a2a.CodeExtendedCardNotConfigured,
		a2a.CodeExtensionSupportRequired, a2a.CodeVersionNotSupported, a2a.CodeUnauthenticated, a2a.CodeUnauthorized,
	} {
		out[ErrorReason(code)] = code
	}
	return out
}()

// ToError maps the status onto a typed error: the ErrorInfo reason (domain
// a2a-protocol.org, or none given) decides; without one, a JSON-RPC code
// in "code" is taken as is (servers that reuse their JSON-RPC errors), else
// the status name (or the HTTP code) picks the nearest A2A error. The
// details are kept as the error's data, as a v1.0 JSON-RPC error carries
// them.
func (s *RESTStatus) ToError(m Method) *a2a.Error {
	var data json.RawMessage
	if len(s.Details) > 0 {
		data, _ = json.Marshal(s.Details)
	}
	code := 0
	for _, raw := range s.Details {
		var info struct {
			Type   string `json:"@type"`
			Reason string `json:"reason"`
			Domain string `json:"domain"`
		}
		if json.Unmarshal(raw, &info) != nil || !strings.HasSuffix(info.Type, "google.rpc.ErrorInfo") {
			continue
		}
		if info.Domain != "" && info.Domain != ErrorDomain {
			continue
		}
		if c, ok := reasonCodes[strings.ToUpper(info.Reason)]; ok {
			code = c
			break
		}
	}
	if code == 0 && s.Code < 0 {
		code = s.Code
	}
	if code == 0 {
		code = statusCode(m, s.Status, s.Code)
	}
	return a2a.ErrorFromCode(code, oneLineText(s.Message), compact(data))
}

// statusCode is the A2A error nearest to a google.rpc status name, or to
// the HTTP status when the name is missing.
func statusCode(m Method, status string, httpCode int) int {
	if status == "" {
		switch httpCode {
		case http.StatusBadRequest:
			status = "INVALID_ARGUMENT"
		case http.StatusUnauthorized:
			status = "UNAUTHENTICATED"
		case http.StatusForbidden:
			status = "PERMISSION_DENIED"
		case http.StatusNotFound:
			status = "NOT_FOUND"
		case http.StatusConflict:
			status = "FAILED_PRECONDITION"
		case http.StatusNotImplemented:
			status = "UNIMPLEMENTED"
		}
	}
	switch strings.ToUpper(status) {
	case "INVALID_ARGUMENT", "OUT_OF_RANGE":
		return a2a.CodeInvalidParams
	case "NOT_FOUND":
		return a2a.CodeTaskNotFound
	case "FAILED_PRECONDITION":
		if m == MethodCancel {
			return a2a.CodeTaskNotCancelable
		}
		return a2a.CodeUnsupportedOperation
	case "UNIMPLEMENTED":
		return a2a.CodeMethodNotFound
	case "UNAUTHENTICATED":
		return a2a.CodeUnauthenticated
	case "PERMISSION_DENIED":
		return a2a.CodeUnauthorized
	}
	return a2a.CodeInternal
}

// EncodeError writes e as an HTTP+JSON error: the HTTP status and the
// google.rpc.Status body with its ErrorInfo, as a2a-go writes them. e.Data
// is kept as the details when it is a JSON array.
func (r REST) EncodeError(e *a2a.Error) (int, []byte, error) {
	if e == nil {
		return 0, nil, fmt.Errorf("wire: encode error: nil")
	}
	httpCode, status := restStatusOf(e.Code)
	s := RESTStatus{Code: httpCode, Status: status, Message: e.Message}
	if s.Message == "" {
		s.Message = a2a.ErrorFromCode(e.Code, "", nil).Message
	}
	var details []json.RawMessage
	if len(e.Data) > 0 && json.Unmarshal(e.Data, &details) == nil && len(details) > 0 {
		s.Details = details
	} else {
		info, err := json.Marshal(wErrorInfo{Type: ErrorInfoType, Reason: ErrorReason(e.Code), Domain: ErrorDomain})
		if err != nil {
			return 0, nil, err
		}
		s.Details = []json.RawMessage{info}
	}
	body, err := json.Marshal(struct {
		Error RESTStatus `json:"error"`
	}{s})
	return httpCode, body, err
}

func restStatusOf(code int) (int, string) {
	switch code {
	case a2a.CodeParseError, a2a.CodeInvalidRequest, a2a.CodeInvalidParams, a2a.CodeContentTypeNotSupported:
		return http.StatusBadRequest, "INVALID_ARGUMENT"
	case a2a.CodeMethodNotFound:
		return http.StatusNotImplemented, "UNIMPLEMENTED"
	case a2a.CodeTaskNotFound:
		return http.StatusNotFound, "NOT_FOUND"
	case a2a.CodeTaskNotCancelable, a2a.CodePushNotSupported, a2a.CodeUnsupportedOperation,
		a2a.CodeExtendedCardNotConfigured, a2a.CodeExtensionSupportRequired, a2a.CodeVersionNotSupported:
		return http.StatusBadRequest, "FAILED_PRECONDITION"
	case a2a.CodeUnauthenticated:
		return http.StatusUnauthorized, "UNAUTHENTICATED"
	case a2a.CodeUnauthorized:
		return http.StatusForbidden, "PERMISSION_DENIED"
	}
	return http.StatusInternalServerError, "INTERNAL"
}

// unwrapProtoData turns v0.3 proto JSON's data parts, {"data":{"data":X}},
// into data parts holding X, in place (the values were just decoded and
// are not shared yet).
func unwrapProtoData(ev a2a.Event) {
	fix := func(parts []a2a.Part) {
		for i := range parts {
			p := &parts[i]
			if p.Kind != a2a.PartData {
				continue
			}
			var inner map[string]json.RawMessage
			if json.Unmarshal(p.Data, &inner) == nil && len(inner) == 1 && inner["data"] != nil {
				p.Data = compact(inner["data"])
			}
		}
	}
	msg := func(m *a2a.Message) {
		if m != nil {
			fix(m.Parts)
		}
	}
	switch ev := ev.(type) {
	case *a2a.Task:
		msg(ev.Status.Message)
		for i := range ev.History {
			fix(ev.History[i].Parts)
		}
		for i := range ev.Artifacts {
			fix(ev.Artifacts[i].Parts)
		}
	case *a2a.Message:
		msg(ev)
	case *a2a.StatusUpdateEvent:
		msg(ev.Status.Message)
	case *a2a.ArtifactUpdateEvent:
		fix(ev.Artifact.Parts)
	}
}

// oneLineText keeps an error message on one line.
func oneLineText(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}
