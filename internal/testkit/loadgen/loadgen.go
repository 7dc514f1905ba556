// Package loadgen drives an A2A server with v1.0 JSON-RPC over HTTP and
// measures it: per-request latency, throughput, streamed events, and the
// resident memory of the server's process. It speaks the wire format
// directly (no SDK client), so the same requests, bytes and client costs
// reach every server it is compared against.
package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// StateCompleted is the v1.0 wire name of the completed state.
const StateCompleted = "TASK_STATE_COMPLETED"

// Client sends v1.0 JSON-RPC requests to one endpoint over keep-alive
// connections. Its methods are safe for concurrent use.
type Client struct {
	url string
	hc  *http.Client
	ids atomic.Int64
}

// New returns a client for the JSON-RPC endpoint url that keeps up to
// conns idle connections, so that conns concurrent callers never open a
// new connection per request.
func New(url string, conns int) *Client {
	conns = max(conns, 1)
	tr := &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &Client{url: url, hc: &http.Client{Transport: tr}}
}

// Close drops the idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// rpcError is a JSON-RPC error object.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("JSON-RPC error %d: %s", e.Code, e.Message) }

// taskHead is the part of a task the generator checks.
type taskHead struct {
	ID     string `json:"id"`
	Status struct {
		State string `json:"state"`
	} `json:"status"`
}

// TaskResult is what a send answered.
type TaskResult struct {
	// TaskID and State are the task's; both are empty when the server
	// answered with a Message.
	TaskID, State string
}

type sendParams struct {
	Message struct {
		MessageID string `json:"messageId"`
		Role      string `json:"role"`
		Parts     []struct {
			Text string `json:"text"`
		} `json:"parts"`
	} `json:"message"`
	Configuration *struct {
		ReturnImmediately bool `json:"returnImmediately"`
	} `json:"configuration,omitempty"`
}

func (c *Client) sendBody(method, text string, returnImmediately bool) ([]byte, error) {
	var p sendParams
	p.Message.MessageID = uuid.NewString()
	p.Message.Role = "ROLE_USER"
	p.Message.Parts = []struct {
		Text string `json:"text"`
	}{{Text: text}}
	if returnImmediately {
		p.Configuration = &struct {
			ReturnImmediately bool `json:"returnImmediately"`
		}{true}
	}
	return c.body(method, p)
}

func (c *Client) body(method string, params any) ([]byte, error) {
	b, err := json.Marshal(struct {
		JSONRPC string `json:"jsonrpc"`
		ID      int64  `json:"id"`
		Method  string `json:"method"`
		Params  any    `json:"params"`
	}{"2.0", c.ids.Add(1), method, params})
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", method, err)
	}
	return b, nil
}

// post sends one request and returns the response for the caller to read
// and close; a status other than 200 is an error.
func (c *Client) post(ctx context.Context, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("A2A-Version", "1.0")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, fmt.Errorf("HTTP %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	return resp, nil
}

// call sends one unary request and decodes its result into out.
func (c *Client) call(ctx context.Context, method string, params, out any) error {
	body, err := c.body(method, params)
	if err != nil {
		return err
	}
	return c.callBody(ctx, method, body, out)
}

func (c *Client) callBody(ctx context.Context, method string, body []byte, out any) error {
	resp, err := c.post(ctx, body)
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	defer resp.Body.Close()
	var env struct {
		Result json.RawMessage `json:"result"`
		Error  *rpcError       `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return fmt.Errorf("%s: decode the response: %w", method, err)
	}
	// Drain, so the connection goes back to the pool.
	_, _ = io.Copy(io.Discard, resp.Body)
	if env.Error != nil {
		return fmt.Errorf("%s: %w", method, env.Error)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(env.Result, out); err != nil {
		return fmt.Errorf("%s: decode the result: %w", method, err)
	}
	return nil
}

// Send sends one message with SendMessage. A blocking send (the default
// of the protocol) answers when the task is done; with returnImmediately
// the server answers once the task is created.
func (c *Client) Send(ctx context.Context, text string, returnImmediately bool) (TaskResult, error) {
	body, err := c.sendBody("SendMessage", text, returnImmediately)
	if err != nil {
		return TaskResult{}, err
	}
	var res struct {
		Task *taskHead `json:"task"`
	}
	if err := c.callBody(ctx, "SendMessage", body, &res); err != nil {
		return TaskResult{}, err
	}
	if res.Task == nil {
		return TaskResult{}, nil
	}
	return TaskResult{TaskID: res.Task.ID, State: res.Task.Status.State}, nil
}

// SendCompleted is a blocking Send that fails unless the task completed.
func (c *Client) SendCompleted(ctx context.Context, text string) error {
	r, err := c.Send(ctx, text, false)
	if err != nil {
		return err
	}
	if r.State != StateCompleted {
		return fmt.Errorf("SendMessage %q: task %q ended %q, want %s", text, r.TaskID, r.State, StateCompleted)
	}
	return nil
}

// ListFirstPage asks ListTasks for the first page of pageSize tasks and
// returns how many it held.
func (c *Client) ListFirstPage(ctx context.Context, pageSize int) (int, error) {
	var res struct {
		Tasks []json.RawMessage `json:"tasks"`
	}
	if err := c.call(ctx, "ListTasks", map[string]any{"pageSize": pageSize}, &res); err != nil {
		return 0, err
	}
	return len(res.Tasks), nil
}

// maxEventBytes bounds one SSE line.
const maxEventBytes = 16 << 20

// Stream sends one message with SendStreamingMessage and reads the SSE
// response to its end. It returns the number of events (data lines)
// received; the stream must end with the task completed.
func (c *Client) Stream(ctx context.Context, text string) (int, error) {
	body, err := c.sendBody("SendStreamingMessage", text, false)
	if err != nil {
		return 0, err
	}
	resp, err := c.post(ctx, body)
	if err != nil {
		return 0, fmt.Errorf("SendStreamingMessage: %w", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxEventBytes)
	events := 0
	var last []byte
	for sc.Scan() {
		line := sc.Bytes()
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			continue
		}
		events++
		last = append(last[:0], data...)
	}
	if err := sc.Err(); err != nil {
		return events, fmt.Errorf("SendStreamingMessage: after %d events: %w", events, err)
	}
	if err := checkFinal(last); err != nil {
		return events, fmt.Errorf("SendStreamingMessage: after %d events: %w", events, err)
	}
	return events, nil
}

// checkFinal checks that a stream's last event says the task completed.
func checkFinal(data []byte) error {
	if data == nil {
		return errors.New("the stream held no event")
	}
	var env struct {
		Result struct {
			StatusUpdate *struct {
				Status struct {
					State string `json:"state"`
				} `json:"status"`
			} `json:"statusUpdate"`
			Task *taskHead `json:"task"`
		} `json:"result"`
		Error *rpcError `json:"error"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return fmt.Errorf("decode the last event: %w", err)
	}
	switch {
	case env.Error != nil:
		return env.Error
	case env.Result.StatusUpdate != nil && env.Result.StatusUpdate.Status.State == StateCompleted:
		return nil
	case env.Result.Task != nil && env.Result.Task.Status.State == StateCompleted:
		return nil
	}
	return fmt.Errorf("the last event is not the task's completion: %.200s", data)
}

// Stats are the results of one Run.
type Stats struct {
	// Ops is the number of operations that succeeded.
	Ops int
	// Elapsed is the wall time of the whole run.
	Elapsed time.Duration
	// Latencies of the successful operations, shortest first.
	Latencies []time.Duration
}

// Rate is operations per second.
func (s Stats) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Ops) / s.Elapsed.Seconds()
}

// Percentile is the latency below which the fraction p (0..1) of the
// operations fell (nearest rank); 0 without operations.
func (s Stats) Percentile(p float64) time.Duration {
	n := len(s.Latencies)
	if n == 0 {
		return 0
	}
	i := int(p*float64(n)+0.5) - 1
	return s.Latencies[min(max(i, 0), n-1)]
}

// Millis is a duration in milliseconds, for reports.
func Millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Run performs n operations with op from concurrency workers and times
// each. It stops at the first error and returns it with the stats so far.
func Run(ctx context.Context, concurrency, n int, op func(ctx context.Context) error) (Stats, error) {
	concurrency = max(1, min(concurrency, n))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		mu       sync.Mutex
		lat      = make([]time.Duration, 0, n)
		firstErr error
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			mine := make([]time.Duration, 0, n/concurrency+1)
			defer func() {
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
			for next.Add(1) <= int64(n) {
				t0 := time.Now()
				err := op(ctx)
				d := time.Since(t0)
				if err != nil {
					mu.Lock()
					if firstErr == nil && ctx.Err() == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					return
				}
				mine = append(mine, d)
			}
		})
	}
	wg.Wait()
	s := Stats{Ops: len(lat), Elapsed: time.Since(start), Latencies: lat}
	slices.Sort(s.Latencies)
	if firstErr == nil {
		firstErr = context.Cause(ctx)
		if errors.Is(firstErr, context.Canceled) && s.Ops == n {
			firstErr = nil
		}
	}
	return s, firstErr
}

// Memory is a process's resident memory, from /proc/<pid>/status.
type Memory struct {
	// RSS is VmRSS: every resident page.
	RSS int64
	// Anon is RssAnon: the heap and stacks.
	Anon int64
	// File is RssFile: resident pages of mapped files (a bbolt store's
	// mapping among them).
	File int64
}

// ParseStatus reads the memory figures from the text of a
// /proc/<pid>/status file.
func ParseStatus(status []byte) (Memory, error) {
	var m Memory
	found := false
	for line := range bytes.Lines(status) {
		key, rest, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		var dst *int64
		switch string(key) {
		case "VmRSS":
			dst, found = &m.RSS, true
		case "RssAnon":
			dst = &m.Anon
		case "RssFile":
			dst = &m.File
		default:
			continue
		}
		fields := bytes.Fields(rest)
		if len(fields) != 2 || string(fields[1]) != "kB" {
			return Memory{}, fmt.Errorf("status line %q: want \"<n> kB\"", bytes.TrimSpace(line))
		}
		kb, err := strconv.ParseInt(string(fields[0]), 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("status line %q: %w", bytes.TrimSpace(line), err)
		}
		*dst = kb << 10
	}
	if !found {
		return Memory{}, errors.New("no VmRSS line in the status")
	}
	return m, nil
}
