// Package agents holds a2atop's built-in executors: Demo, a scripted agent
// that shows every behaviour a task can have, and Exec, which runs shell
// commands as tasks.
package agents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
)

// Limits on the demo's numeric arguments, so that `slow 1e9` is refused
// rather than occupying a queue slot for years.
const (
	MaxSlowSteps = 600
	MaxFlaky     = 20
	MaxBurst     = 100_000
	MaxAuthWait  = 600
)

// The texts of `auth`, `login` and `choose`.
const (
	authText     = "Authorization needed: sign in at https://example.invalid/login (demo: credentials arrive by themselves in %ds, or send a message)"
	loginText    = "Sign in to continue: reply with your user name (demo: any text is accepted)"
	chooseText   = "Which colour should the report use?"
	chooseFormat = "choose [data]"
)

// chooseOptions are what `choose` offers.
var chooseOptions = []map[string]string{
	{"value": "red", "label": "Red", "description": "warm and loud"},
	{"value": "green", "label": "Green", "description": "calm"},
	{"value": "blue", "label": "Blue", "description": "the default"},
}

// The question `ask` puts to the user.
const askQuestion = "What is the target date?"

// Demo is a scripted agent: the first word of the task's first message picks
// the behaviour. It exists so that every state, event kind and failure mode
// of the engine and the dashboard can be seen without a real agent.
type Demo struct {
	// StepInterval is the pause between `slow` steps (default 200 ms).
	StepInterval time.Duration
	// TickInterval is the pause between `forever` ticks (default 500 ms).
	TickInterval time.Duration
	// AuthWait, when set, replaces the seconds `auth` waits for its
	// out-of-band credentials (tests).
	AuthWait time.Duration
}

// NewDemo returns the demo agent with its documented timings.
func NewDemo() *Demo {
	return &Demo{StepInterval: 200 * time.Millisecond, TickInterval: 500 * time.Millisecond}
}

var _ engine.Executor = (*Demo)(nil)
var _ engine.Describer = (*Demo)(nil)
var _ engine.ConcurrencyLimiter = (*Demo)(nil)

// DemoConcurrency is how many demo executions run at once by default:
// they only wait and publish, so the engine's default of 4, meant for
// agents that run processes, would queue load tests (64 concurrent sends)
// behind a handful of slots.
const DemoConcurrency = 64

// ConcurrencyLimit is DemoConcurrency.
func (d *Demo) ConcurrencyLimit() int { return DemoConcurrency }

// demoCommands is the help text of Reply and the skills of the card.
var demoCommands = []struct{ name, usage, description string }{
	{"echo", "echo <text>", "returns the text as an artifact"},
	{"slow", "slow <n>", fmt.Sprintf("n progress steps, 200 ms apart, then an artifact in 3 chunks (1 <= n <= %d)", MaxSlowSteps)},
	{"ask", "ask", "asks for a target date (input-required), then records the answer"},
	{"fail", "fail", "fails with a reason"},
	{"forever", "forever", "a status tick every 500 ms until canceled"},
	{"data", "data", "a JSON data artifact, a file artifact with bytes and one by URL"},
	{"flaky", "flaky <k>", fmt.Sprintf("a retryable failure on the first k attempts, then success (0 <= k <= %d, and k below the engine's attempt limit: 3 unless configured)", MaxFlaky)},
	{"burst", "burst <n>", fmt.Sprintf("n working status updates as fast as they can be published, then completed: a load test (1 <= n <= %d)", MaxBurst)},
	{"auth", "auth [s]", fmt.Sprintf("auth-required, then carries on in the same run when credentials arrive out of band after s seconds (default 3, at most %d); a message ends the wait at once", MaxAuthWait)},
	{"login", "login", "ends its run in auth-required; a message (the user name) resumes it"},
	{"choose", chooseFormat, "input-required with options in a data part; `choose data` wants the answer as data {\"colour\": …}"},
}

// Card describes the demo agent and its commands as skills.
func (d *Demo) Card() a2a.AgentCard {
	card := a2a.AgentCard{
		Name:               "a2atop demo agent",
		Description:        "A scripted agent: the first word of the message picks a behaviour (" + commandNames() + ").",
		Version:            "1.0.0",
		Capabilities:       a2a.AgentCapabilities{Streaming: true},
		DefaultInputModes:  []string{"text/plain"},
		DefaultOutputModes: []string{"text/plain", "application/json"},
	}
	for _, c := range demoCommands {
		card.Skills = append(card.Skills, a2a.AgentSkill{
			ID:          "demo-" + c.name,
			Name:        c.name,
			Description: c.description,
			Tags:        []string{"demo"},
			Examples:    []string{c.usage},
		})
	}
	return card
}

func commandNames() string {
	names := make([]string, len(demoCommands))
	for i, c := range demoCommands {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

// usageText lists the commands, for Reply and for argument errors.
func usageText() string {
	var b strings.Builder
	b.WriteString("I am the a2atop demo agent. Start a message with one of:\n")
	for _, c := range demoCommands {
		fmt.Fprintf(&b, "  %-12s %s\n", c.usage, c.description)
	}
	return strings.TrimRight(b.String(), "\n")
}

// Execute runs one execution of a demo task.
func (d *Demo) Execute(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
	if req == nil || req.Message == nil {
		return errors.New("demo: request has no message")
	}
	first := originalMessage(req)
	cmd, args := splitCommand(first.Text())
	// An execution started by a message other than the task's first one is
	// the user's answer to a question.
	if first.ID != "" && req.Message.ID != first.ID {
		switch cmd {
		case "ask":
			return d.answer(ctx, req, pub)
		case "auth", "login":
			return d.signedIn(ctx, req, pub)
		case "choose":
			return d.chosen(ctx, args, req, pub)
		}
		return pub.Reject(ctx, fmt.Sprintf("demo: %q does not ask questions; the follow-up message was not expected", cmd))
	}
	switch cmd {
	case "echo":
		return d.echo(ctx, args, pub)
	case "slow":
		return d.slow(ctx, args, pub)
	case "ask":
		return pub.InputRequired(ctx, askQuestion)
	case "fail":
		return pub.Fail(ctx, "demo: failing on purpose, as `fail` asks")
	case "forever":
		return d.forever(ctx, pub)
	case "data":
		return d.data(ctx, pub)
	case "flaky":
		return d.flaky(ctx, args, req.Attempt, req.MaxAttempts, pub)
	case "burst":
		return d.burst(ctx, args, pub)
	case "auth":
		return d.auth(ctx, args, pub)
	case "login":
		return pub.AuthRequired(ctx, loginText)
	case "choose":
		return d.choose(ctx, args, "", pub)
	default:
		return pub.Reply(ctx, a2a.TextPart(usageText()))
	}
}

// originalMessage is the task's first user message, which names the
// command; the request's own message when the history does not have one.
func originalMessage(req *engine.Request) *a2a.Message {
	if req.Task != nil {
		for i := range req.Task.History {
			if req.Task.History[i].Role == a2a.RoleUser {
				return &req.Task.History[i]
			}
		}
	}
	return req.Message
}

// splitCommand returns the lower-cased first word and the rest, trimmed.
func splitCommand(text string) (cmd, args string) {
	text = strings.TrimSpace(text)
	i := strings.IndexFunc(text, isSpace)
	if i < 0 {
		return strings.ToLower(text), ""
	}
	return strings.ToLower(text[:i]), strings.TrimSpace(text[i:])
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

func (d *Demo) echo(ctx context.Context, text string, pub engine.Publisher) error {
	if text == "" {
		return pub.Reject(ctx, "demo: echo needs text, e.g. `echo hello`")
	}
	if err := pub.Artifact(ctx, a2a.Artifact{Name: "echo", Parts: []a2a.Part{a2a.TextPart(text)}}); err != nil {
		return err
	}
	return pub.Complete(ctx, "echoed")
}

func (d *Demo) slow(ctx context.Context, arg string, pub engine.Publisher) error {
	n, err := parseCount(arg, 1, MaxSlowSteps)
	if err != nil {
		return pub.Reject(ctx, "demo: slow <n>: "+err.Error())
	}
	interval := d.StepInterval
	if interval <= 0 {
		interval = 200 * time.Millisecond
	}
	for i := 1; i <= n; i++ {
		if err := pub.Status(ctx, fmt.Sprintf("step %d/%d", i, n)); err != nil {
			return err
		}
		if err := wait(ctx, interval); err != nil {
			return err
		}
	}
	art := a2a.Artifact{ID: "slow-result", Name: "result"}
	chunks := []string{
		fmt.Sprintf("slow finished %d steps.\n", n),
		"This artifact arrived in three chunks;\n",
		"this is the last one.\n",
	}
	for i, c := range chunks {
		art.Parts = []a2a.Part{a2a.TextPart(c)}
		if err := pub.ArtifactChunk(ctx, art, i == len(chunks)-1); err != nil {
			return err
		}
	}
	return pub.Complete(ctx, fmt.Sprintf("done after %d steps", n))
}

func (d *Demo) answer(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
	answer := strings.TrimSpace(req.Message.Text())
	if answer == "" {
		// Nothing usable: ask again rather than record an empty date.
		return pub.InputRequired(ctx, askQuestion+" (the answer was empty)")
	}
	text := "Target date recorded: " + answer
	if err := pub.Artifact(ctx, a2a.Artifact{Name: "answer", Parts: []a2a.Part{a2a.TextPart(text)}}); err != nil {
		return err
	}
	return pub.Complete(ctx, text)
}

func (d *Demo) forever(ctx context.Context, pub engine.Publisher) error {
	interval := d.TickInterval
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	for tick := 1; ; tick++ {
		if err := pub.Status(ctx, fmt.Sprintf("tick %d (runs until canceled)", tick)); err != nil {
			return err
		}
		if err := wait(ctx, interval); err != nil {
			return err
		}
	}
}

func (d *Demo) data(ctx context.Context, pub engine.Publisher) error {
	data, err := a2a.DataPart(map[string]any{
		"city":        "Lisbon",
		"temperature": 21.5,
		"unit":        "celsius",
		"forecast":    []string{"sun", "sun", "clouds"},
	})
	if err != nil {
		return fmt.Errorf("demo: data part: %w", err)
	}
	data.MediaType = "application/json"
	arts := []a2a.Artifact{
		{Name: "weather", Description: "a JSON data part", Parts: []a2a.Part{data}},
		{Name: "notes.txt", Description: "a file given inline", Parts: []a2a.Part{
			a2a.FileBytesPart("notes.txt", "text/plain", []byte("These bytes travelled inside the task.\n")),
		}},
		{Name: "spec", Description: "a file given by URL", Parts: []a2a.Part{
			a2a.FileURIPart("specification.md", "text/markdown", "https://a2a-protocol.org/latest/specification/"),
		}},
	}
	for _, art := range arts {
		if err := pub.Artifact(ctx, art); err != nil {
			return err
		}
	}
	return pub.Complete(ctx, "three artifacts: data, file bytes, file URL")
}

func (d *Demo) flaky(ctx context.Context, arg string, attempt, maxAttempts int, pub engine.Publisher) error {
	k, err := parseCount(arg, 0, MaxFlaky)
	if err != nil {
		return pub.Reject(ctx, "demo: flaky <k>: "+err.Error())
	}
	// k planned failures need k+1 attempts: say so at once rather than
	// fail k times and then fail the task, which contradicts the skill.
	if maxAttempts > 0 && k >= maxAttempts {
		return pub.Reject(ctx, fmt.Sprintf("demo: flaky %d needs %d attempts but the engine allows %d: use k <= %d", k, k+1, maxAttempts, maxAttempts-1))
	}
	if attempt <= k {
		return engine.Retryable(fmt.Errorf("demo: flaky attempt %d of %d fails on purpose", attempt, k))
	}
	text := fmt.Sprintf("succeeded on attempt %d after %d planned failures", attempt, k)
	if err := pub.Artifact(ctx, a2a.Artifact{Name: "flaky", Parts: []a2a.Part{a2a.TextPart(text)}}); err != nil {
		return err
	}
	return pub.Complete(ctx, text)
}

// burst publishes n bare working updates back to back, the same work as
// the a2a-go test peer's `burst <n>`, so load tests can compare the two and
// the dashboard can be shown a task that changes faster than it redraws.
func (d *Demo) burst(ctx context.Context, arg string, pub engine.Publisher) error {
	n, err := parseCount(arg, 1, MaxBurst)
	if err != nil {
		return pub.Reject(ctx, "demo: burst <n>: "+err.Error())
	}
	for range n {
		if err := pub.Status(ctx, ""); err != nil {
			return err
		}
	}
	return pub.Complete(ctx, fmt.Sprintf("burst of %d updates", n))
}

// auth shows auth-required as A2A v1.0 §7.6.1 allows it: the execution
// asks, keeps running while credentials arrive out of band (here: after a
// wait), then carries on in the same run. A message to the task meanwhile
// cancels this execution (the engine starts a new one with the message,
// see signedIn).
func (d *Demo) auth(ctx context.Context, arg string, pub engine.Publisher) error {
	secs := 3
	if arg != "" {
		n, err := parseCount(arg, 1, MaxAuthWait)
		if err != nil {
			return pub.Reject(ctx, "demo: auth [s]: "+err.Error())
		}
		secs = n
	}
	if err := pub.AuthRequired(ctx, fmt.Sprintf(authText, secs)); err != nil {
		return err
	}
	interval := d.AuthWait
	if interval <= 0 {
		interval = time.Duration(secs) * time.Second
	}
	if err := wait(ctx, interval); err != nil {
		return err
	}
	if err := pub.Status(ctx, "credentials arrived out of band; continuing"); err != nil {
		return err
	}
	art := a2a.Artifact{Name: "auth", Parts: []a2a.Part{a2a.TextPart("work done with the credentials that arrived out of band")}}
	if err := pub.Artifact(ctx, art); err != nil {
		return err
	}
	return pub.Complete(ctx, "authorized out of band; done")
}

// signedIn is the answer to `auth` or `login`: the message stands for the
// credentials (or names the user).
func (d *Demo) signedIn(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
	who := strings.TrimSpace(req.Message.Text())
	if who == "" && len(req.Message.Parts) == 0 {
		return pub.AuthRequired(ctx, loginText+" (the message was empty)")
	}
	if who == "" {
		who = "(a non-text answer)"
	}
	text := "signed in as " + truncate(who, 80)
	if err := pub.Artifact(ctx, a2a.Artifact{Name: "login", Parts: []a2a.Part{a2a.TextPart(text)}}); err != nil {
		return err
	}
	return pub.Complete(ctx, text)
}

// choose asks with a data part listing options (see internal/choice for
// the shape); `choose data` wants the answer as a data part.
func (d *Demo) choose(ctx context.Context, args, note string, pub engine.Publisher) error {
	asker, ok := pub.(engine.PartsAsker)
	if !ok {
		return pub.InputRequired(ctx, chooseText+" (red, green or blue)")
	}
	form := map[string]any{"question": chooseText, "options": chooseOptions, "answer": "text"}
	if strings.EqualFold(args, "data") {
		form["answer"], form["field"] = "data", "colour"
	}
	data, err := a2a.DataPart(form)
	if err != nil {
		return fmt.Errorf("demo: choose: %w", err)
	}
	data.MediaType = "application/json"
	return asker.Ask(ctx, a2a.StateInputRequired, a2a.TextPart(chooseText+note), data)
}

// chosen reads the answer to `choose`: a text naming an option, or a data
// part {"colour": …} (or {"choice": …}); anything else asks again.
func (d *Demo) chosen(ctx context.Context, args string, req *engine.Request, pub engine.Publisher) error {
	picked := ""
	for _, p := range req.Message.Parts {
		switch p.Kind {
		case a2a.PartText:
			if picked == "" {
				picked = strings.TrimSpace(p.Text)
			}
		case a2a.PartData:
			var v map[string]any
			if json.Unmarshal(p.Data, &v) == nil {
				for _, k := range []string{"colour", "color", "choice"} {
					if s, ok := v[k].(string); ok {
						picked = s
					}
				}
			}
		}
	}
	for _, o := range chooseOptions {
		if strings.EqualFold(picked, o["value"]) || strings.EqualFold(picked, o["label"]) {
			text := "colour chosen: " + o["value"]
			if err := pub.Artifact(ctx, a2a.Artifact{Name: "choice", Parts: []a2a.Part{a2a.TextPart(text)}}); err != nil {
				return err
			}
			return pub.Complete(ctx, text)
		}
	}
	return d.choose(ctx, args, fmt.Sprintf(" (%q is not one of the options)", truncate(picked, 40)), pub)
}

// parseCount reads a whole number in [lo, hi], with errors a user can act on.
func parseCount(s string, lo, hi int) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("a number from %d to %d is required", lo, hi)
	}
	if i := strings.IndexFunc(s, isSpace); i >= 0 {
		s = s[:i]
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number from %d to %d", truncate(s, 40), lo, hi)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%d is out of range: use a number from %d to %d", n, lo, hi)
	}
	return n, nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// wait pauses for d or until ctx ends, whichever comes first.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
