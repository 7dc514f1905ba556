package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/a2atop/a2atop/a2a"
)

// The task commands: send, get, list, cancel, subscribe. Each opens its
// target from the same targetFlags (local engine or remote agent).

// maxStdinText bounds a message read from stdin (`send -`).
const maxStdinText = 64 << 20

// withTarget opens the target and runs fn on its service, then shuts it
// down; a failure to shut down cleanly is reported and turns success into 1.
func (c *cli) withTarget(ctx context.Context, t target, fn func(a2a.Service) (int, error)) (int, error) {
	op, err := c.openTarget(ctx, t, openHooks{})
	if err != nil {
		return 0, err
	}
	code, err := fn(op.svc)
	err = explainDamage(err, op.path)
	if cerr := op.close(); cerr != nil {
		fmt.Fprintf(c.stderr, "a2atop: closing the task store: %s\n", oneLine(cerr.Error()))
		if err == nil && code == exitOK {
			code = exitTaskFailed
		}
	}
	return code, err
}

// waitErr turns an error from a wait into errInterrupted when the user
// interrupted it.
func waitErr(ctx context.Context, err error) error {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, ctx.Err())) {
		return errInterrupted
	}
	return err
}

// stateCode is the exit status for a task's state.
func stateCode(s a2a.TaskState) int {
	switch s {
	case a2a.StateFailed, a2a.StateCanceled, a2a.StateRejected:
		return exitTaskFailed
	}
	return exitOK
}

// metaFlag collects repeated --meta k=v.
type metaFlag struct{ m a2a.Metadata }

func (f *metaFlag) String() string { return "" }
func (f *metaFlag) Type() string   { return "meta" }

func (f *metaFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", clean(s, 80))
	}
	if f.m == nil {
		f.m = a2a.Metadata{}
	}
	f.m[k] = v
	return nil
}

func (c *cli) sendCommand(status *int) *cobra.Command {
	cmd := &cobra.Command{Use: "send [flags] TEXT|-", Short: "send a message: start a task, or answer one with --task"}
	fs := cmd.Flags()
	// TEXT is the rest of the arguments, flags included: `send slow -3`.
	fs.SetInterspersed(false)
	tf := addTargetFlags(fs, localKind|remoteKind)
	stream := fs.Bool("stream", false, "print every event as it happens")
	noWait := fs.Bool("no-wait", false, "return as soon as the task exists")
	jsonOut := fs.Bool("json", false, "print A2A v1.0 JSON, one object per line")
	taskID := fs.String("task", "", "answer the input-required task `ID` (or a unique prefix) instead of starting a new one")
	contextID := fs.String("context", "", "start the task in the conversation `ID` (a contextId, as `get` prints it)")
	var meta metaFlag
	fs.Var(&meta, "meta", "message metadata `KEY=VALUE` (repeatable; priority=high|normal|low orders the queue)")
	parts, dataFlag, fileFlag := newPartsFlags()
	fs.Var(dataFlag, "data", "add a data part: `JSON` or @FILE (repeatable, kept in order with --file; TEXT follows them)")
	fs.Var(fileFlag, "file", "add a file part: the bytes of `PATH`, its name and media type (repeatable, at most 4 MiB each)")
	cmd.RunE = c.action(status, func(ctx context.Context, args []string) (int, error) {
		if *stream && *noWait {
			return 0, usageErr("send: --stream and --no-wait do not go together")
		}
		t, err := tf.resolve("", c.getenv)
		if err != nil {
			return 0, err
		}
		msgParts := parts.parts
		if len(args) > 0 || len(msgParts) == 0 { // TEXT is optional with --data/--file
			text, err := c.messageText(args)
			if err != nil {
				return 0, err
			}
			msgParts = append(msgParts, a2a.TextPart(text))
		}
		msg := a2a.Message{
			ID:        uuid.NewString(),
			Role:      a2a.RoleUser,
			TaskID:    strings.TrimSpace(*taskID),
			ContextID: strings.TrimSpace(*contextID),
			Parts:     msgParts,
		}
		req := &a2a.SendRequest{Message: msg, Config: a2a.SendConfig{ReturnImmediately: *noWait}, Metadata: meta.m}
		out := c.printerFor(*jsonOut, tf)
		return c.withTarget(ctx, t, func(svc a2a.Service) (int, error) {
			if id := req.Message.TaskID; id != "" {
				full, err := resolveID(ctx, svc, id)
				if err != nil {
					return 0, err
				}
				req.Message.TaskID = full
			}
			if *stream {
				s, err := svc.Stream(ctx, req)
				if err != nil {
					return 0, waitErr(ctx, err)
				}
				return c.follow(ctx, svc, s, out)
			}
			if t.kind == localKind && !req.Config.ReturnImmediately {
				return c.sendLocalAndPrint(ctx, svc, req, out, tf.repeat())
			}
			return c.sendAndPrint(ctx, svc, req, out)
		})
	})
	return cmd
}

// sendAndPrint sends without streaming and prints the answer.
func (c *cli) sendAndPrint(ctx context.Context, svc a2a.Service, req *a2a.SendRequest, out printer) (int, error) {
	res, err := svc.Send(ctx, req)
	if err != nil {
		return 0, waitErr(ctx, err)
	}
	if res.Message != nil {
		return exitOK, out.message(res.Message)
	}
	if res.Task == nil {
		return 0, errors.New("the service returned neither a task nor a message")
	}
	if err := out.task(res.Task); err != nil {
		return 0, err
	}
	if req.Config.ReturnImmediately {
		return exitOK, nil
	}
	return stateCode(res.Task.Status.State), nil
}

// sendLocalAndPrint is sendAndPrint for the local engine: when Ctrl-C
// stops the wait, it looks the task up (read only: nothing is sent again)
// so the line can say which task keeps running.
func (c *cli) sendLocalAndPrint(ctx context.Context, svc a2a.Service, req *a2a.SendRequest, out printer, targetArgs string) (int, error) {
	code, err := c.sendAndPrint(ctx, svc, req, out)
	if !errors.Is(err, errInterrupted) {
		return code, err
	}
	lookup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	// The engine may still be storing the task the interrupted call
	// created: look a few times, briefly.
	id := ""
	for try := 0; try < 5 && id == "" && lookup.Err() == nil; try++ {
		if try > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		id = taskOfMessage(lookup, svc, req.Message.ID)
	}
	if id != "" {
		id = clean(id, 200)
		return 0, fmt.Errorf("%w; task %s keeps running: a2atop get %s%s, a2atop cancel %s%s", err, id, targetArgs, id, targetArgs, id)
	}
	return code, err
}

// taskOfMessage finds the task a message started among the most recently
// changed tasks, or "".
func taskOfMessage(ctx context.Context, svc a2a.Service, messageID string) string {
	page, err := svc.List(ctx, a2a.ListRequest{PageSize: a2a.MaxPageSize})
	if err != nil {
		return ""
	}
	for _, t := range page.Tasks {
		for _, m := range t.History {
			if m.ID == messageID {
				return t.ID
			}
		}
	}
	return ""
}

func (c *cli) messageText(args []string) (string, error) {
	if len(args) == 0 {
		return "", usageErr("send: missing TEXT (the message to send; `-` reads it from stdin)")
	}
	text := strings.Join(args, " ")
	if len(args) == 1 && args[0] == "-" {
		b, err := io.ReadAll(io.LimitReader(c.stdin, maxStdinText+1))
		if err != nil {
			return "", usageErr("send: read the message from stdin: %v", err)
		}
		if len(b) > maxStdinText {
			return "", usageErr("send: the message on stdin is larger than %d MiB", maxStdinText>>20)
		}
		text = string(b)
	}
	if strings.TrimSpace(text) == "" {
		return "", usageErr("send: the message text is empty")
	}
	if !utf8.ValidString(text) {
		return "", usageErr("send: the message text is not valid UTF-8")
	}
	return text, nil
}

// maxResyncs bounds how often follow re-subscribes after falling behind.
const maxResyncs = 5

// follow prints a stream's events until it ends and returns the exit status
// of the task they add up to. A reader that falls behind (a slow pipe) is
// told so by the stream; follow then subscribes again, which starts with
// the task's current snapshot, so nothing printed at the end is stale.
func (c *cli) follow(ctx context.Context, svc a2a.Service, s a2a.Stream, out printer) (int, error) {
	defer func() { s.Close() }()
	var task *a2a.Task
	var reply *a2a.Message
	resyncs := 0
	for {
		ev, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, a2a.ErrLagged) && task != nil && resyncs < maxResyncs {
			resyncs++
			s.Close()
			fmt.Fprintf(c.stderr, "a2atop: fell behind the event stream; following task %s again from its current state\n", oneLine(clean(task.ID, 200)))
			if s, err = svc.Subscribe(ctx, task.ID); err != nil {
				return 0, waitErr(ctx, err)
			}
			continue
		}
		if err != nil {
			return 0, waitErr(ctx, err)
		}
		if err := out.event(ev); err != nil {
			return 0, err
		}
		if m, ok := ev.Event.(*a2a.Message); ok && (m.TaskID == "" || task == nil) {
			// An answer without a task: nothing more comes.
			reply = m
			continue
		}
		if next, err := a2a.Apply(task, ev.Event); err == nil {
			task = next
		}
	}
	if task == nil {
		if reply != nil {
			return exitOK, out.doneMessage(reply)
		}
		return exitOK, nil
	}
	return stateCode(task.Status.State), out.done(task)
}

// idCommand is a command on one task ID (get, cancel, subscribe): the
// target flags, --json, and run on the opened service.
func (c *cli) idCommand(status *int, name, short, jsonHelp string, readOnly bool,
	run func(ctx context.Context, svc a2a.Service, id string, out printer) (int, error)) *cobra.Command {
	cmd := &cobra.Command{Use: name + " [flags] ID", Short: short}
	fs := cmd.Flags()
	tf := addTargetFlags(fs, localKind|remoteKind)
	tf.local.readOnly = readOnly
	if readOnly {
		hideAgentFlags(fs)
	}
	jsonOut := fs.Bool("json", false, jsonHelp)
	cmd.RunE = c.action(status, func(ctx context.Context, args []string) (int, error) {
		if readOnly {
			if err := refuseAgentFlags(name, fs); err != nil {
				return 0, err
			}
		}
		id, err := oneID(name, args)
		if err != nil {
			return 0, err
		}
		t, err := tf.resolve("", c.getenv)
		if err != nil {
			return 0, err
		}
		out := c.printerFor(*jsonOut, tf)
		return c.withTarget(ctx, t, func(svc a2a.Service) (int, error) {
			full, err := resolveID(ctx, svc, id)
			if err != nil {
				return 0, err
			}
			return run(ctx, svc, full, out)
		})
	})
	return cmd
}

// Bounds on the search for an abbreviated task id: a store of a million
// tasks is not read whole to expand one.
const (
	minIDPart   = 4
	maxIDScan   = 200_000
	fullIDChars = 36 // a UUID; longer ids are never abbreviations
)

// resolveID expands an abbreviated task id, as git expands a commit: an
// id the service knows is used as given; otherwise a unique prefix, or a
// unique suffix (the dashboard's ID column shows the tail of UUIDs), of
// at least minIDPart characters names the task.
func resolveID(ctx context.Context, svc a2a.Service, id string) (string, error) {
	if len(id) < minIDPart || len(id) >= fullIDChars {
		return id, nil
	}
	zero := 0
	if _, err := svc.Get(ctx, a2a.GetRequest{ID: id, HistoryLength: &zero}); !errors.Is(err, a2a.ErrTaskNotFound) {
		return id, nil // found, or an error the command will meet again
	}
	var matches []string
	req := a2a.ListRequest{PageSize: a2a.MaxPageSize, HistoryLength: &zero}
	for scanned := 0; scanned < maxIDScan; {
		page, err := svc.List(ctx, req)
		if err != nil {
			return "", waitErr(ctx, fmt.Errorf("expand task ID %q: %w", clean(id, 80), err))
		}
		for _, t := range page.Tasks {
			if strings.HasPrefix(t.ID, id) || strings.HasSuffix(t.ID, id) {
				matches = append(matches, t.ID)
			}
		}
		scanned += len(page.Tasks)
		if page.NextPageToken == "" || page.NextPageToken == req.PageToken || len(matches) > 1 {
			break
		}
		req.PageToken = page.NextPageToken
	}
	switch len(matches) {
	case 0:
		return id, nil // the command reports the task as not found
	case 1:
		return matches[0], nil
	}
	return "", fmt.Errorf("task ID %q is ambiguous: it matches %s and %s; give more characters", clean(id, 80), clean(matches[0], 80), clean(matches[1], 80))
}

// oneID checks that args is exactly one task id.
func oneID(name string, args []string) (string, error) {
	switch {
	case len(args) == 0:
		return "", usageErr("%s: missing the task ID", name)
	case len(args) > 1:
		return "", usageErr("%s: one task ID expected, got %d arguments", name, len(args))
	case strings.TrimSpace(args[0]) == "":
		return "", usageErr("%s: the task ID is empty", name)
	}
	return strings.TrimSpace(args[0]), nil
}

func (c *cli) cancelCommand(status *int) *cobra.Command {
	return c.idCommand(status, "cancel", "cancel a task", "print the task as A2A v1.0 JSON", false,
		func(ctx context.Context, svc a2a.Service, id string, out printer) (int, error) {
			t, err := svc.Cancel(ctx, id)
			if err != nil {
				return 0, waitErr(ctx, err)
			}
			return exitOK, out.task(t)
		})
}

func (c *cli) subscribeCommand(status *int) *cobra.Command {
	return c.idCommand(status, "subscribe", "follow a task's events until it ends or waits for input", "print one A2A v1.0 StreamResponse per event", false,
		func(ctx context.Context, svc a2a.Service, id string, out printer) (int, error) {
			s, err := svc.Subscribe(ctx, id)
			if err != nil {
				return 0, waitErr(ctx, err)
			}
			return c.follow(ctx, svc, s, out)
		})
}

func (c *cli) listCommand(status *int) *cobra.Command {
	cmd := &cobra.Command{Use: "list [flags] [URL | local | NAME]...", Short: "list tasks, newest first (of each target given, or every agent with -A)"}
	fs := cmd.Flags()
	tf := addTargetFlags(fs, localKind|remoteKind)
	tf.local.readOnly = true
	hideAgentFlags(fs)
	var lf listFlags
	lf.register(fs)
	all := fs.BoolP("all-agents", "A", false, "list every agent of the config file, with an AGENT column")
	cmd.RunE = c.action(status, func(ctx context.Context, args []string) (int, error) {
		if err := refuseAgentFlags("list", fs); err != nil {
			return 0, err
		}
		req, err := lf.request()
		if err != nil {
			return 0, err
		}
		format, err := lf.format()
		if err != nil {
			return 0, err
		}
		out := c.listPrinter(format, tf)
		if len(args) > 0 || *all {
			targets, err := c.fleetTargets("list", args, *all, tf)
			if err != nil {
				return 0, err
			}
			if len(targets) > 1 || *all {
				if format == "ids" || format == "wide" {
					return 0, usageErr("list: -o %s lists one target; over several use the table or -o json", format)
				}
				return c.listFleet(ctx, targets, req, format == "json")
			}
			return c.withTarget(ctx, targets[0].t, func(svc a2a.Service) (int, error) {
				return listAll(ctx, svc, req, lf.limit, out, c.stderr)
			})
		}
		t, err := tf.resolve("", c.getenv)
		if err != nil {
			return 0, err
		}
		return c.withTarget(ctx, t, func(svc a2a.Service) (int, error) { return listAll(ctx, svc, req, lf.limit, out, c.stderr) })
	})
	return cmd
}

// listFlags are list's filters and output format.
type listFlags struct {
	jsonOut   bool
	output    string
	state     string
	contextID string
	since     time.Duration
	limit     int
}

func (lf *listFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&lf.jsonOut, "json", false, "print one A2A v1.0 Task per line, same as -o json (over several targets: {\"agent\": NAME, \"task\": Task})")
	fs.StringVarP(&lf.output, "output", "o", "", "output `FORMAT`: ids (one ID per line), json, wide (context and first message too)")
	fs.StringVar(&lf.state, "state", "", "only tasks in `STATE` ("+stateNames()+")")
	fs.StringVar(&lf.contextID, "context", "", "only tasks of the conversation `ID`")
	fs.DurationVar(&lf.since, "since", 0, "only tasks updated in the last `DURATION` (e.g. 90s, 15m, 2h)")
	fs.IntVar(&lf.limit, "limit", 0, "print at most `N` tasks (0: all)")
}

// format is the output format named by -o and --json: table, json, wide
// or ids.
func (lf *listFlags) format() (string, error) {
	switch f := lf.output; {
	case f == "" && lf.jsonOut:
		return "json", nil
	case f == "":
		return "table", nil
	case lf.jsonOut && f != "json":
		return "", usageErr("list: --json and -o %s do not go together", clean(f, 20))
	case f == "json" || f == "wide" || f == "ids":
		return f, nil
	default:
		return "", usageErr("list: unknown -o %q: use ids, json or wide", clean(f, 20))
	}
}

// request is the first page's query: the filters, and only what the
// format prints (artifacts for json, history for json and wide).
func (lf *listFlags) request() (a2a.ListRequest, error) {
	var state a2a.TaskState
	if lf.state != "" {
		if state = a2a.ParseState(lf.state); state == a2a.StateUnknown {
			return a2a.ListRequest{}, usageErr("list: unknown --state %q: use one of %s", clean(lf.state, 80), stateNames())
		}
	}
	if lf.limit < 0 || lf.since < 0 {
		return a2a.ListRequest{}, usageErr("list: --limit and --since must not be negative")
	}
	format, err := lf.format()
	if err != nil {
		return a2a.ListRequest{}, err
	}
	req := a2a.ListRequest{State: state, ContextID: strings.TrimSpace(lf.contextID), PageSize: a2a.MaxPageSize, IncludeArtifacts: format == "json"}
	if format != "json" && format != "wide" {
		zero := 0
		req.HistoryLength = &zero
	}
	if lf.since > 0 {
		req.StatusTimestampAfter = time.Now().Add(-lf.since)
	}
	if lf.limit > 0 && lf.limit < req.PageSize {
		req.PageSize = lf.limit
	}
	return req, nil
}

// listPrinter prints a single target's list in format.
func (c *cli) listPrinter(format string, tf *targetFlags) printer {
	switch format {
	case "json":
		return c.printer(true)
	case "wide":
		return &humanPrinter{w: c.stdout, wide: true}
	case "ids":
		return &idPrinter{humanPrinter{w: c.stdout}}
	default:
		return c.printerFor(false, tf)
	}
}

// journalNote tells a user why a v0.3 agent's list may be incomplete.
const journalNote = "note: this agent speaks A2A v0.3, which cannot list tasks: these are the tasks a2atop has seen (created here, fetched by id or streamed)"

// stateNames lists the states --state accepts.
func stateNames() string {
	names := make([]string, 0, 8)
	for _, s := range a2a.States() {
		names = append(names, string(s))
	}
	return strings.Join(names, ", ")
}

// engineOnlyFlags are the local flags that only matter to an engine that
// runs tasks: which agent runs them and the engine's limits.
func engineOnlyFlags() []string {
	return []string{"agent", "workdir", "max-running", "max-queued", "allow-damaged", "keep", "keep-count"}
}

// hideAgentFlags hides the engine-only flags on commands that only read
// the store (get, list): no agent runs there, so they do not apply.
func hideAgentFlags(fs *pflag.FlagSet) {
	for _, name := range engineOnlyFlags() {
		if fs.Lookup(name) != nil {
			_ = fs.MarkHidden(name)
		}
	}
}

// refuseAgentFlags fails when a hidden engine-only flag was given anyway.
func refuseAgentFlags(cmd string, fs *pflag.FlagSet) error {
	for _, name := range engineOnlyFlags() {
		if fs.Changed(name) {
			return usageErr("%s: --%s does not apply: %s only reads tasks, no agent runs", cmd, name, cmd)
		}
	}
	return nil
}

// listAll prints every page of a listing, or the first limit tasks
// (limit 0: all); a listing served from the client's journal is said so
// once on notes (stderr).
func listAll(ctx context.Context, svc a2a.Service, req a2a.ListRequest, limit int, out printer, notes io.Writer) (int, error) {
	seen := map[string]bool{}
	n := 0
	noted := false
	var damaged []string
	for limit == 0 || n < limit {
		page, err := svc.List(ctx, req)
		if err != nil {
			return 0, waitErr(ctx, err)
		}
		damaged = append(damaged, page.Damaged...)
		if page.FromJournal && !noted {
			fmt.Fprintln(notes, journalNote)
			noted = true
		}
		for _, t := range page.Tasks {
			if limit > 0 && n >= limit {
				break
			}
			if err := out.listed(t, n == 0); err != nil {
				return 0, err
			}
			n++
		}
		if page.NextPageToken == "" {
			break
		}
		if seen[page.NextPageToken] {
			return 0, errors.New("list: the service repeated a page token; stopping")
		}
		seen[page.NextPageToken] = true
		req.PageToken = page.NextPageToken
	}
	if err := out.listDone(n); err != nil {
		return 0, err
	}
	return exitOK, listedDamaged(damaged)
}
