package a2apeer

import (
	"context"
	"fmt"
	"strings"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2asrv"
)

// Texts of the demo mode, the same as a2atop's demo agent and engine says
// them (engine/agents.Demo, engine.ReasonCanceled).
const (
	DemoEchoed   = "echoed"
	DemoFail     = "demo: failing on purpose, as `fail` asks"
	DemoCanceled = "canceled by request"
	DemoData     = "three artifacts: data, file bytes, file URL"
)

// DemoUsage is the demo mode's reply to a message that names no command.
const DemoUsage = "I am the a2atop demo agent (played by go-peer). Start a message with one of: echo, slow, ask, fail, forever, data"

// executeDemo plays a2atop's demo agent: a new task is submitted, then set
// working with no status message, as a2atop's engine does before it runs
// the executor; a follow-up to a waiting task resumes it working.
func (e *executor) executeDemo(ctx context.Context, ec *a2asrv.ExecutorContext, text string, yield func(a2a.Event, error) bool) {
	status := func(state a2a.TaskState, text string) bool {
		var msg *a2a.Message
		if text != "" {
			msg = agentText(ec, text)
		}
		return yield(a2a.NewStatusUpdateEvent(ec, state, msg), nil)
	}
	artifact := func(id a2a.ArtifactID, name, description string, appendTo, last bool, parts ...*a2a.Part) bool {
		ev := &a2a.TaskArtifactUpdateEvent{
			TaskID:    ec.TaskID,
			ContextID: ec.ContextID,
			Append:    appendTo,
			LastChunk: last,
			Artifact:  &a2a.Artifact{ID: id, Name: name, Description: description, Parts: parts},
		}
		if ev.Artifact.ID == "" {
			ev.Artifact.ID = a2a.NewArtifactID()
		}
		return yield(ev, nil)
	}
	if ec.StoredTask != nil {
		// The answer to ask. The demo agent asks again on an empty answer.
		if !status(a2a.TaskStateWorking, "") {
			return
		}
		if text == "" {
			status(a2a.TaskStateInputRequired, Question+" (the answer was empty)")
			return
		}
		recorded := "Target date recorded: " + text
		if artifact("", "answer", "", false, true, a2a.NewTextPart(recorded)) {
			status(a2a.TaskStateCompleted, recorded)
		}
		return
	}
	cmd, arg, _ := strings.Cut(text, " ")
	cmd, arg = strings.ToLower(cmd), strings.TrimSpace(arg)
	switch cmd {
	case "echo", "slow", "ask", "fail", "forever", "data":
	default:
		yield(a2a.NewMessage(a2a.MessageRoleAgent, a2a.NewTextPart(DemoUsage)), nil)
		return
	}
	if !yield(a2a.NewSubmittedTask(ec, ec.Message), nil) || !status(a2a.TaskStateWorking, "") {
		return
	}
	switch cmd {
	case "echo":
		if artifact("", "echo", "", false, true, a2a.NewTextPart(arg)) {
			status(a2a.TaskStateCompleted, DemoEchoed)
		}
	case "slow":
		n := atoi(arg, 3)
		for i := 1; i <= n; i++ {
			if !status(a2a.TaskStateWorking, fmt.Sprintf("step %d/%d", i, n)) || !sleep(ctx, e.step) {
				return
			}
		}
		chunks := []string{
			fmt.Sprintf("slow finished %d steps.\n", n),
			"This artifact arrived in three chunks;\n",
			"this is the last one.\n",
		}
		for i, c := range chunks {
			if !artifact("slow-result", "result", "", i > 0, i == len(chunks)-1, a2a.NewTextPart(c)) {
				return
			}
		}
		status(a2a.TaskStateCompleted, fmt.Sprintf("done after %d steps", n))
	case "ask":
		status(a2a.TaskStateInputRequired, Question)
	case "fail":
		status(a2a.TaskStateFailed, DemoFail)
	case "forever":
		for i := 1; ; i++ {
			if !status(a2a.TaskStateWorking, fmt.Sprintf("tick %d (runs until canceled)", i)) || !sleep(ctx, e.step) {
				return
			}
		}
	case "data":
		data := a2a.NewDataPart(map[string]any{
			"city": "Lisbon", "temperature": 21.5, "unit": "celsius",
			"forecast": []any{"sun", "sun", "clouds"},
		})
		data.MediaType = "application/json"
		notes := a2a.NewRawPart([]byte("These bytes travelled inside the task.\n"))
		notes.Filename, notes.MediaType = "notes.txt", "text/plain"
		spec := a2a.NewFileURLPart("https://a2a-protocol.org/latest/specification/", "text/markdown")
		spec.Filename = "specification.md"
		if artifact("", "weather", "a JSON data part", false, true, data) &&
			artifact("", "notes.txt", "a file given inline", false, true, notes) &&
			artifact("", "spec", "a file given by URL", false, true, spec) {
			status(a2a.TaskStateCompleted, DemoData)
		}
	}
}
