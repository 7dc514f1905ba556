package agents

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
)

func fastDemo() *Demo {
	return &Demo{StepInterval: time.Millisecond, TickInterval: time.Millisecond}
}

func TestDemoBehaviours(t *testing.T) {
	tests := []struct {
		text       string
		wantState  string
		wantReason string // substring
	}{
		{"echo hello world", "completed", "echoed"},
		{"ECHO  spaced\ttext ", "completed", "echoed"},
		{"slow 3", "completed", "done after 3 steps"},
		{"ask", "input-required", "What is the target date?"},
		{"fail", "failed", "on purpose"},
		{"data", "completed", "three artifacts"},
		{"flaky 0", "completed", "attempt 1"},
		{"hello there", "reply", "echo <text>"},
		{"", "reply", "flaky <k>"},
		{"echo", "rejected", "echo needs text"},
		{"slow", "rejected", "a number from 1 to 600 is required"},
		{"slow -3", "rejected", "-3 is out of range"},
		{"slow 0", "rejected", "0 is out of range"},
		{"slow 1e9", "rejected", `"1e9" is not a whole number`},
		{"slow 99999999999999999999999", "rejected", "is not a whole number"},
		{"slow 601", "rejected", "601 is out of range"},
		{"flaky x", "rejected", `"x" is not a whole number`},
		{"flaky 21", "rejected", "21 is out of range"},
		{"burst 3", "completed", "burst of 3 updates"},
		{"burst 0", "rejected", "0 is out of range"},
		{"burst 100001", "rejected", "100001 is out of range"},
		{"burst", "rejected", "burst <n>: a number from 1 to 100000 is required"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			rec := &recorder{}
			if err := fastDemo().Execute(context.Background(), request(tt.text, 1), rec); err != nil {
				t.Fatalf("Execute: %v", err)
			}
			state, reason := rec.outcome()
			if state != tt.wantState || !strings.Contains(reason, tt.wantReason) {
				t.Fatalf("outcome = %s %q, want %s containing %q; events %q", state, reason, tt.wantState, tt.wantReason, rec.events)
			}
		})
	}
}

func TestDemoEchoArtifact(t *testing.T) {
	rec := &recorder{}
	if err := fastDemo().Execute(context.Background(), request("echo hello  world", 1), rec); err != nil {
		t.Fatal(err)
	}
	if got := rec.artifactText("echo"); got != "hello  world" {
		t.Fatalf("artifact = %q", got)
	}
}

func TestDemoSlowStepsAndChunks(t *testing.T) {
	rec := &recorder{}
	if err := fastDemo().Execute(context.Background(), request("slow 4", 1), rec); err != nil {
		t.Fatal(err)
	}
	if n := rec.count("status: step "); n != 4 {
		t.Fatalf("%d step statuses, want 4: %q", n, rec.events)
	}
	if rec.events[0] != "status: step 1/4" || rec.events[3] != "status: step 4/4" {
		t.Fatalf("steps = %q", rec.events[:4])
	}
	if n := rec.count("artifact result"); n != 3 {
		t.Fatalf("%d artifact chunks, want 3", n)
	}
	if got := rec.artifactText("slow-result"); !strings.Contains(got, "finished 4 steps") || !strings.Contains(got, "last one") {
		t.Fatalf("artifact = %q", got)
	}
}

func TestDemoBurstUpdates(t *testing.T) {
	rec := &recorder{}
	if err := fastDemo().Execute(context.Background(), request("burst 250", 1), rec); err != nil {
		t.Fatal(err)
	}
	if n := rec.count("status: "); n != 250 {
		t.Fatalf("%d status updates, want 250", n)
	}
	if state, reason := rec.outcome(); state != "completed" || reason != "burst of 250 updates" {
		t.Fatalf("outcome = %s %q", state, reason)
	}
}

func TestDemoAskAnswer(t *testing.T) {
	first := request("ask", 1)
	answer := a2a.Message{ID: "m2", Role: a2a.RoleUser, TaskID: "t1", ContextID: "c1", Parts: []a2a.Part{a2a.TextPart("2030-01-31")}}
	req := &engine.Request{Task: first.Task, Message: &answer, Attempt: 1}
	rec := &recorder{}
	if err := fastDemo().Execute(context.Background(), req, rec); err != nil {
		t.Fatal(err)
	}
	if state, reason := rec.outcome(); state != "completed" || reason != "Target date recorded: 2030-01-31" {
		t.Fatalf("outcome = %s %q", state, reason)
	}
	if got := rec.artifactText("answer"); got != "Target date recorded: 2030-01-31" {
		t.Fatalf("artifact = %q", got)
	}

	// An empty answer is asked again.
	empty := a2a.Message{ID: "m3", Role: a2a.RoleUser, TaskID: "t1", Parts: []a2a.Part{a2a.TextPart("  ")}}
	rec = &recorder{}
	if err := fastDemo().Execute(context.Background(), &engine.Request{Task: first.Task, Message: &empty, Attempt: 1}, rec); err != nil {
		t.Fatal(err)
	}
	if state, _ := rec.outcome(); state != "input-required" {
		t.Fatalf("empty answer: outcome %s", state)
	}

	// A follow-up to a command that asks nothing is refused.
	echo := request("echo hi", 1)
	rec = &recorder{}
	if err := fastDemo().Execute(context.Background(), &engine.Request{Task: echo.Task, Message: &answer, Attempt: 1}, rec); err != nil {
		t.Fatal(err)
	}
	if state, reason := rec.outcome(); state != "rejected" || !strings.Contains(reason, "does not ask") {
		t.Fatalf("follow-up to echo: %s %q", state, reason)
	}
}

func TestDemoFlakyAttempts(t *testing.T) {
	for attempt := 1; attempt <= 2; attempt++ {
		rec := &recorder{}
		err := fastDemo().Execute(context.Background(), request("flaky 2", attempt), rec)
		if !engine.IsRetryable(err) {
			t.Fatalf("attempt %d: err = %v, want retryable", attempt, err)
		}
		if len(rec.events) != 0 {
			t.Fatalf("attempt %d published %q", attempt, rec.events)
		}
	}
	rec := &recorder{}
	if err := fastDemo().Execute(context.Background(), request("flaky 2", 3), rec); err != nil {
		t.Fatal(err)
	}
	if state, reason := rec.outcome(); state != "completed" || !strings.Contains(reason, "attempt 3") {
		t.Fatalf("attempt 3: %s %q", state, reason)
	}
}

func TestDemoForeverStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	rec := &recorder{}
	done := make(chan error, 1)
	go func() { done <- fastDemo().Execute(ctx, request("forever", 1), rec) }()
	deadline := time.Now().Add(10 * time.Second)
	for rec.count("status: tick") < 3 {
		if time.Now().After(deadline) {
			t.Fatal("no ticks")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("forever did not stop after cancel")
	}
}

func TestDemoDataArtifacts(t *testing.T) {
	rec := &recorder{}
	if err := fastDemo().Execute(context.Background(), request("data", 1), rec); err != nil {
		t.Fatal(err)
	}
	data := rec.arts["weather"]
	if len(data) != 1 || data[0].Kind != a2a.PartData || !strings.Contains(string(data[0].Data), `"city":"Lisbon"`) {
		t.Fatalf("data artifact = %+v", data)
	}
	file := rec.arts["notes.txt"]
	if len(file) != 1 || file[0].File == nil || len(file[0].File.Bytes) == 0 {
		t.Fatalf("bytes artifact = %+v", file)
	}
	uri := rec.arts["spec"]
	if len(uri) != 1 || uri[0].File == nil || !strings.HasPrefix(uri[0].File.URI, "https://") {
		t.Fatalf("uri artifact = %+v", uri)
	}
}

func TestDemoCard(t *testing.T) {
	card := NewDemo().Card()
	if card.Name == "" || len(card.Skills) != len(demoCommands) {
		t.Fatalf("card = %+v", card)
	}
}
