//go:build unix

package agents

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
)

// ExecOptions tunes Exec; zero fields take the defaults.
type ExecOptions struct {
	// Shell runs the command as `Shell -c TEXT` (default "sh").
	Shell string
	// Grace is how long a canceled command has between SIGTERM and SIGKILL
	// (default 1 s: shorter than the engine's default CancelGrace of 2 s, so
	// that the kill happens before the engine gives up waiting on Close).
	Grace time.Duration
	// StatusEvery throttles status updates and artifact flushes (default 250 ms).
	StatusEvery time.Duration
	// ChunkSize bounds one artifact chunk in bytes (default 16 KiB).
	ChunkSize int
	// MaxOutput caps the output kept in the artifact (default 1 MiB); the
	// rest is dropped with a note.
	MaxOutput int
}

// Exec runs the message text as a shell command in a fixed directory. It is
// powerful by design, so a2atop only uses it when asked (`--agent exec`).
type Exec struct {
	dir  string
	opts ExecOptions
}

var _ engine.Executor = (*Exec)(nil)
var _ engine.Describer = (*Exec)(nil)

// outputArtifactID names the one artifact an exec task streams into.
const outputArtifactID = "output"

// NewExec returns an executor running commands in dir, which must be an
// existing directory.
func NewExec(dir string, opts ExecOptions) (*Exec, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("exec agent: working directory %q: %w", dir, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("exec agent: working directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("exec agent: working directory %s is not a directory", abs)
	}
	if opts.Shell == "" {
		opts.Shell = "sh"
	}
	if opts.Grace <= 0 {
		opts.Grace = time.Second
	}
	if opts.StatusEvery <= 0 {
		opts.StatusEvery = 250 * time.Millisecond
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = 16 << 10
	}
	if opts.MaxOutput <= 0 {
		opts.MaxOutput = 1 << 20
	}
	return &Exec{dir: abs, opts: opts}, nil
}

// Dir is the directory commands run in.
func (e *Exec) Dir() string { return e.dir }

// Card describes the exec agent.
func (e *Exec) Card() a2a.AgentCard {
	return a2a.AgentCard{
		Name:               "a2atop exec agent",
		Description:        "Runs each message as a shell command (" + e.opts.Shell + " -c) in " + e.dir + ".",
		Version:            "1.0.0",
		Capabilities:       a2a.AgentCapabilities{Streaming: true},
		DefaultInputModes:  []string{"text/plain"},
		DefaultOutputModes: []string{"text/plain"},
		Skills: []a2a.AgentSkill{{
			ID:          "exec-shell",
			Name:        "shell command",
			Description: "Runs the message text with " + e.opts.Shell + " -c; output streams into the artifact `output`; exit 0 completes, anything else fails.",
			Tags:        []string{"exec", "shell"},
			Examples:    []string{"ls -la", "make test", "sleep 5; echo done"},
		}},
	}
}

// outputChunk is a piece of the command's output as the OS delivered it.
type outputChunk struct {
	stderr bool
	data   []byte
}

// chanWriter hands each write to the executor's loop; os/exec's copying
// goroutine calls it.
type chanWriter struct {
	stderr bool
	ch     chan<- outputChunk
}

func (w chanWriter) Write(p []byte) (int, error) {
	w.ch <- outputChunk{stderr: w.stderr, data: bytes.Clone(p)}
	return len(p), nil
}

// Execute runs the command until it exits or ctx is canceled.
func (e *Exec) Execute(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
	if req == nil || req.Message == nil {
		return errors.New("exec: request has no message")
	}
	command := strings.TrimSpace(req.Message.Text())
	if command == "" {
		return pub.Reject(ctx, "exec: the message has no text; send a shell command")
	}
	if strings.ContainsRune(command, 0) {
		return pub.Reject(ctx, "exec: the command contains a NUL byte")
	}
	// A shell command is not known to be safe to run twice: after a
	// restart, a retry, or a2atop stopping it part-way (quit, or handing
	// the store to another a2atop), say so instead of running it again.
	if req.Attempt > 1 {
		return pub.Fail(ctx, fmt.Sprintf("exec: not running the command again (attempt %d): it was interrupted; send it again to re-run it", req.Attempt))
	}
	if req.Resumed {
		return pub.Fail(ctx, "exec: not running the command again: a2atop stopped while it ran; send it again to re-run it")
	}

	chunks := make(chan outputChunk)
	cmd := exec.Command(e.opts.Shell, "-c", command)
	cmd.Dir = e.dir
	cmd.Stdin = nil // /dev/null
	cmd.Env = append(os.Environ(), "A2ATOP_TASK_ID="+taskID(req))
	cmd.Stdout = chanWriter{ch: chunks}
	cmd.Stderr = chanWriter{stderr: true, ch: chunks}
	cmd.SysProcAttr = commandProcAttr()
	// A background process that keeps the output pipes open must not hold
	// the task forever once the shell itself has exited.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return pub.Fail(ctx, fmt.Sprintf("exec: cannot start %s: %v", e.opts.Shell, err))
	}
	pgid := cmd.Process.Pid
	// Whatever happens below, nothing the command started outlives the task.
	defer func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) }()

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	if err := pub.Status(ctx, "running: "+truncate(command, 200)); err != nil {
		e.stop(pgid, done, chunks)
		return err
	}

	out := newOutputStream(pub, e.opts)
	ticker := time.NewTicker(e.opts.StatusEvery)
	defer ticker.Stop()
	for {
		select {
		case c := <-chunks:
			if err := out.add(ctx, c); err != nil {
				e.stop(pgid, done, chunks)
				return err
			}
		case <-ticker.C:
			if err := out.tick(ctx); err != nil {
				e.stop(pgid, done, chunks)
				return err
			}
		case <-ctx.Done():
			e.stop(pgid, done, chunks)
			return ctx.Err()
		case werr := <-done:
			return e.finish(ctx, out, werr)
		}
	}
}

// finish publishes the remaining output and the outcome.
func (e *Exec) finish(ctx context.Context, out *outputStream, werr error) error {
	if err := out.close(ctx); err != nil {
		return err
	}
	if werr == nil {
		return out.pub.Complete(ctx, "exit status 0")
	}
	var exitErr *exec.ExitError
	if !errors.As(werr, &exitErr) {
		if errors.Is(werr, exec.ErrWaitDelay) {
			// The shell exited 0 but left something holding its output open.
			return out.pub.Complete(ctx, "exit status 0 (a background process kept the output open; it was stopped)")
		}
		return out.pub.Fail(ctx, "exec: "+werr.Error())
	}
	reason := exitReason(exitErr)
	if line := out.lastStderr(); line != "" {
		reason += ": " + line
	}
	return out.pub.Fail(ctx, reason)
}

func taskID(req *engine.Request) string {
	if req.Task != nil {
		return req.Task.ID
	}
	return req.Message.TaskID
}

func exitReason(err *exec.ExitError) string {
	if ws, ok := err.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Sprintf("killed by signal %d (%s)", int(ws.Signal()), ws.Signal())
	}
	return fmt.Sprintf("exit status %d", err.ExitCode())
}

// stop ends the process group: SIGTERM, then SIGKILL after the grace
// period; it returns once the shell has been reaped. Output arriving
// meanwhile is discarded so the copying goroutines never block.
func (e *Exec) stop(pgid int, done <-chan error, chunks <-chan outputChunk) {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	grace := time.NewTimer(e.opts.Grace)
	defer grace.Stop()
	for {
		select {
		case <-chunks:
		case <-grace.C:
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		case <-done:
			return
		}
	}
}

// outputStream turns raw output into throttled status lines and bounded
// artifact chunks.
type outputStream struct {
	pub  engine.Publisher
	opts ExecOptions

	pending   []byte // output not yet published as a chunk
	published int    // bytes already kept in the artifact
	truncated bool
	started   bool // the artifact exists

	partial    [2][]byte // an unfinished line per stream (stdout, stderr)
	lastLine   string    // the latest complete line, for the status
	lastErr    string    // the latest complete stderr line, for failures
	statusSent string
}

func newOutputStream(pub engine.Publisher, opts ExecOptions) *outputStream {
	return &outputStream{pub: pub, opts: opts}
}

// maxLine bounds a line kept for the status text.
const maxLine = 512

func (o *outputStream) add(ctx context.Context, c outputChunk) error {
	o.trackLines(c)
	if o.truncated {
		return nil
	}
	room := o.opts.MaxOutput - o.published - len(o.pending)
	data := c.data
	if len(data) > room {
		data = data[:max(room, 0)]
		o.truncated = true
	}
	o.pending = append(o.pending, data...)
	for len(o.pending) >= o.opts.ChunkSize {
		if err := o.flush(ctx, o.opts.ChunkSize, false); err != nil {
			return err
		}
	}
	if o.truncated {
		return o.flush(ctx, len(o.pending), false)
	}
	return nil
}

func (o *outputStream) trackLines(c outputChunk) {
	i := 0
	if c.stderr {
		i = 1
	}
	buf := append(o.partial[i], c.data...)
	for {
		nl := bytes.IndexByte(buf, '\n')
		if nl < 0 {
			break
		}
		o.line(c.stderr, buf[:nl])
		buf = buf[nl+1:]
	}
	if len(buf) > maxLine {
		// An endless line still shows progress, cut to size.
		o.line(c.stderr, buf[:maxLine])
		buf = nil
	}
	o.partial[i] = append([]byte(nil), buf...)
}

func (o *outputStream) line(stderr bool, b []byte) {
	s := strings.TrimRight(strings.ToValidUTF8(string(b), "\uFFFD"), "\r")
	if len(s) > maxLine {
		s = truncate(s, maxLine)
	}
	if strings.TrimSpace(s) == "" {
		return
	}
	o.lastLine = s
	if stderr {
		o.lastErr = s
	}
}

// tick publishes the latest line as the status and flushes pending output,
// at most once per StatusEvery.
func (o *outputStream) tick(ctx context.Context) error {
	if o.lastLine != "" && o.lastLine != o.statusSent {
		if err := o.pub.Status(ctx, o.lastLine); err != nil {
			return err
		}
		o.statusSent = o.lastLine
	}
	if len(o.pending) > 0 {
		return o.flush(ctx, len(o.pending), false)
	}
	return nil
}

// flush publishes up to n pending bytes as one chunk, ending on a rune
// boundary so that no chunk carries half a character.
func (o *outputStream) flush(ctx context.Context, n int, last bool) error {
	if n > len(o.pending) {
		n = len(o.pending)
	}
	cut := n
	if !last && n > 0 {
		// Step back over a character whose bytes are not all here yet.
		start := n - 1
		for start > 0 && n-start < utf8.UTFMax && !utf8.RuneStart(o.pending[start]) {
			start--
		}
		if start > 0 && !utf8.FullRune(o.pending[start:n]) {
			cut = start
		}
	}
	text := strings.ToValidUTF8(string(o.pending[:cut]), "\uFFFD")
	o.pending = append(o.pending[:0], o.pending[cut:]...)
	o.published += cut
	if text == "" && !last {
		return nil
	}
	o.started = true
	art := a2a.Artifact{ID: outputArtifactID, Name: "output", Parts: []a2a.Part{a2a.TextPart(text)}}
	return o.pub.ArtifactChunk(ctx, art, last)
}

// close publishes what is left, the truncation note, and the last chunk mark.
func (o *outputStream) close(ctx context.Context) error {
	for i := range o.partial {
		if len(o.partial[i]) > 0 {
			o.line(i == 1, o.partial[i])
		}
	}
	if o.truncated {
		o.pending = append(o.pending, fmt.Sprintf("\n[output truncated: only the first %d bytes were kept]\n", o.opts.MaxOutput)...)
	}
	if len(o.pending) == 0 && !o.started {
		return nil
	}
	return o.flush(ctx, len(o.pending), true)
}

func (o *outputStream) lastStderr() string { return o.lastErr }
