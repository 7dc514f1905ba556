package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
)

// serveRPC answers one JSON-RPC request, in the dialect of its method name.
func (s *Server) serveRPC(w http.ResponseWriter, r *http.Request) {
	ri := infoFrom(w)
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(s.opts.BodyReadTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	if err != nil {
		// The rest of the body is not worth waiting for: close the
		// connection after the answer instead of draining it.
		w.Header().Set("Connection", "close")
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.writeHTTPError(w, r, http.StatusRequestEntityTooLarge, a2a.NewError(a2a.ErrInvalidRequest, "invalid request: body exceeds %d bytes", s.opts.MaxBodyBytes))
			return
		}
		s.writeHTTPError(w, r, http.StatusBadRequest, a2a.NewError(a2a.ErrParse, "parse error: reading the body: %v", err))
		return
	}
	// The body is read: lift the deadline for the rest of the exchange.
	_ = rc.SetReadDeadline(time.Time{})
	codec, req, derr := wire.DecodeRequestAny(body)
	ri.dialect = codec.Version()
	if req != nil {
		ri.method = req.Name
	}
	id := json.RawMessage(nil)
	if req != nil {
		id = req.ID
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		s.writeRPCError(w, r, codec, id, a2a.NewError(a2a.ErrContentType, "content type %q is not supported: send application/json", r.Header.Get("Content-Type")))
		return
	}
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '[' {
		s.writeRPCError(w, r, codec, nil, a2a.NewError(a2a.ErrInvalidRequest, "invalid request: batch requests are not supported"))
		return
	}
	if req != nil && req.Notification && !malformed(derr) {
		// JSON-RPC 2.0 §4.1: a request without an id is a notification,
		// and the server must not reply to it, not even with an error. A2A
		// defines no notifications, and a send run for a caller who cannot
		// hear its answer would start work nobody follows, so it is not
		// run either: HTTP 204, no body. (An unreadable request is still
		// answered: nothing says it was meant as a notification.)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if derr != nil {
		s.writeRPCError(w, r, codec, id, a2a.AsError(derr))
		return
	}
	// A2A-Version names the dialect the client speaks; a request without
	// it is v0.3, as the spec says. A method name from the other dialect is
	// then unknown (-32601), with a message that says which header to send.
	version := a2a.Version03
	if v := strings.TrimSpace(r.Header.Get("A2A-Version")); v != "" {
		headerCodec, err := wire.ForVersion(v)
		if err != nil {
			s.writeRPCError(w, r, codec, id, a2a.NewError(a2a.ErrVersionNotSupported, "protocol version %q is not supported: use 1.0 or 0.3", v))
			return
		}
		version = headerCodec.Version()
	}
	if codec.Version() != version {
		s.writeRPCError(w, r, codec, id, a2a.NewError(a2a.ErrMethodNotFound,
			"method not found: %s is an A2A v%s method but the request is v%s: send the header \"A2A-Version: %s\" (a request without it is v0.3)",
			req.Name, codec.Version(), version, codec.Version()))
		return
	}
	if req.Method.Streaming() {
		s.serveRPCStream(w, r, codec, req)
		return
	}
	result, err := s.call(r.Context(), codec.Version(), req)
	if err != nil {
		s.writeRPCError(w, r, codec, id, a2a.AsError(err))
		return
	}
	out, err := codec.EncodeResult(id, req.Method, result)
	if err != nil {
		s.writeRPCError(w, r, codec, id, a2a.NewError(a2a.ErrInternal, "internal error: encoding the result: %v", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// malformed: err says the body is not a readable JSON-RPC request at all.
func malformed(err error) bool {
	if err == nil {
		return false
	}
	code := a2a.AsError(err).Code
	return code == a2a.CodeParseError || code == a2a.CodeInvalidRequest
}

// isJSON accepts application/json with any parameters (charset).
func isJSON(contentType string) bool {
	if contentType == "application/json" {
		return true // what clients send; parsing it would build a map
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// call runs a unary method on the service; version is the request's
// dialect.
func (s *Server) call(ctx context.Context, version string, req *wire.Request) (any, error) {
	switch req.Method {
	case wire.MethodSend:
		return s.svc.Send(ctx, req.Params.(*a2a.SendRequest))
	case wire.MethodGet:
		return s.svc.Get(ctx, req.Params.(a2a.GetRequest))
	case wire.MethodList:
		lr := req.Params.(a2a.ListRequest)
		lr.Text = "" // a2atop's own filter is not part of the protocol
		return s.svc.List(ctx, lr)
	case wire.MethodCancel:
		return s.svc.Cancel(ctx, req.Params.(string))
	case wire.MethodGetExtendedCard:
		// The card does not declare an extended card. v1.0 answers that
		// with UnsupportedOperationError; v0.3 has only -32007 for it.
		if version == a2a.Version10 {
			return nil, a2a.NewError(a2a.ErrUnsupported, "this agent has no extended agent card (capabilities.extendedAgentCard is false)")
		}
		return nil, a2a.NewError(a2a.ErrExtendedCard, "this agent has no authenticated extended card")
	case wire.MethodPushSet, wire.MethodPushGet, wire.MethodPushList, wire.MethodPushDelete:
		return nil, a2a.NewError(a2a.ErrPushNotSupported, "push notifications are not supported")
	}
	return nil, a2a.NewError(a2a.ErrMethodNotFound, "method not found: %s", req.Name)
}

// writeRPCError answers with a JSON-RPC error in the caller's dialect
// (HTTP 200, as JSON-RPC over HTTP does), except "busy" (see busyStatus).
func (s *Server) writeRPCError(w http.ResponseWriter, r *http.Request, codec wire.Codec, id json.RawMessage, e *a2a.Error) {
	infoFrom(w).errCode = e.Code
	switch e.Code {
	case a2a.CodeInternal:
		s.log.Warn("internal error", "err", e.Message)
	case a2a.CodeServerBusy:
		s.busy.note(s.log, "refusing sends: "+e.Message)
	}
	out, err := codec.EncodeError(id, e)
	if err != nil {
		http.Error(w, e.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if e.Code == a2a.CodeServerBusy {
		w.Header().Set("Retry-After", busyRetryAfter)
		w.WriteHeader(busyStatus)
	}
	_, _ = w.Write(out)
}

// "Busy, retry later" (a2a.CodeServerBusy: the engine's queue is full, or
// every stream slot is taken) is answered with HTTP 503 and Retry-After,
// the JSON-RPC error still in the body with the request's id. A2A's
// JSON-RPC binding answers errors with HTTP 200, but this one is not about
// the request: the server refused it for want of capacity, did nothing
// with it, and wants the same request later. 503 + Retry-After is what
// proxies, load balancers and generic HTTP clients understand as "back
// off"; clients that read the body (a2atop's, a2a-go's) still get the
// JSON-RPC error and its code.
const (
	busyStatus     = http.StatusServiceUnavailable
	busyRetryAfter = "2" // seconds
)
