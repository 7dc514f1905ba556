// Package wire encodes and decodes A2A JSON-RPC traffic in the two live
// dialects, v1.0 (V10) and v0.3 (V03), to and from the model of package a2a.
//
// A Codec covers three layers:
//
//   - objects: Task, Message, stream events (EncodeEvent/DecodeEvent) and the
//     agent card. A v1.0 event is the stream-result wrapper
//     {"task"|"message"|"statusUpdate"|"artifactUpdate": …}; a v0.3 event is
//     the kind-tagged object itself.
//   - requests: EncodeRequest(id, method, params) for clients and
//     DecodeRequest(body) for servers. Params are *a2a.SendRequest (Send,
//     Stream), a2a.GetRequest (Get), a2a.ListRequest (List), a task id string
//     (Cancel, Subscribe), nil (GetExtendedCard) or json.RawMessage (the
//     push-config methods, passed through untouched). DecodeRequestAny picks
//     the dialect from the method name (PascalCase is v1.0, a slash is v0.3).
//   - responses: EncodeResult/EncodeError for servers, DecodeResponse for
//     clients. Results by method: Send → *a2a.SendResult, Stream and
//     Subscribe → a2a.Event, Get and Cancel → *a2a.Task, List →
//     *a2a.ListPage, GetExtendedCard → *a2a.AgentCard, push-config methods →
//     json.RawMessage. A JSON-RPC error comes back as a *a2a.Error (built
//     with a2a.ErrorFromCode, keeping the peer's message and data), so
//     errors.Is(err, a2a.ErrTaskNotFound) works whatever the server's wording.
//
// Decoding is lenient, as real servers demand: unknown fields are ignored,
// unknown states become a2a.StateUnknown, "cancelled" and mixed case are
// accepted, missing or malformed timestamps read as zero, a missing v0.3
// "kind" is inferred from the fields present, and both dialects' spellings of
// states, roles and parts are accepted by either codec. Data parts keep their
// JSON compact, so decode → encode → decode gives an equal value.
//
// Encoding is exact for the codec's dialect: v1.0 has no "kind", uses
// TASK_STATE_* and ROLE_* and the result wrappers, and writes parts as
// {"text"}, {"data","mediaType"}, {"raw","filename","mediaType"} or
// {"url","filename","mediaType"}; v0.3 writes "kind" on every object,
// kebab-case states, "final" on every status update (as given in the event:
// the server decides) and file parts as {"kind":"file","file":{…}}.
//
// Speed: every decode is a single encoding/json pass into small private
// structs shaped like the wire (the v0.3 kind-tagged object is one union
// struct, the v1.0 wrapper a struct of pointers), then a cheap conversion. A
// large artifact is never parsed twice.
package wire
