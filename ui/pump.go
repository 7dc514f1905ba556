package ui

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/a2atop/a2atop/a2a"
)

// eventsMsg is a batch of live events from the Watch stream: the pump
// coalesces whatever arrives within one frame into one message, so the
// screen redraws at most frameRate times a second whatever the event rate.
type eventsMsg struct {
	agent  int // index in the fleet
	events []a2a.StreamEvent
}

// watchStateMsg reports the Watch stream's health: err is nil once events
// flow (again); retryIn is the wait before the next attempt.
type watchStateMsg struct {
	agent   int
	err     error
	retryIn time.Duration
	// paused: the agent refused (it needs credentials); Watch waits for
	// the user's r instead of asking again and again.
	paused bool
}

// connMsg carries an agent's connection state.
type connMsg struct {
	agent int
	state ConnState
}

const (
	frameRate     = 30
	frameInterval = time.Second / frameRate
	// maxBatch bounds one message; a larger burst is sent as several.
	maxBatch = 20000
)

// pumps owns the goroutines that turn the service's streams into
// messages. Stop cancels them and waits for them to end.
type pumps struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newPumps(parent context.Context) *pumps {
	ctx, cancel := context.WithCancel(parent)
	return &pumps{ctx: ctx, cancel: cancel}
}

func (p *pumps) goSafe(agent int, name string, send func(tea.Msg), f func()) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer func() {
			if r := recover(); r != nil {
				send(watchStateMsg{agent: agent, err: fmt.Errorf("%s stopped: panic: %v\n%s", name, r, debug.Stack())})
			}
		}()
		f()
	}()
}

func (p *pumps) Stop() {
	p.cancel()
	p.wg.Wait()
}

// watch follows svc.Watch from now on, resuming from the last cursor after
// an error (with backoff), and sends batches of at most one per frame.
// wake (r in the dashboard) makes a paused Watch try again.
func (p *pumps) watch(agent int, svc a2a.Service, send func(tea.Msg), wake <-chan struct{}) {
	p.goSafe(agent, "watch", send, func() { watchLoop(p.ctx, agent, svc, send, wake) })
}

func watchLoop(ctx context.Context, agent int, svc a2a.Service, send func(tea.Msg), wake <-chan struct{}) {
	cursor := ""
	backoff := 250 * time.Millisecond
	for ctx.Err() == nil {
		stream, err := svc.Watch(ctx, cursor)
		if err == nil {
			send(watchStateMsg{agent: agent})
			var last string
			last, err = pumpStream(ctx, agent, stream, send)
			if last != "" {
				cursor = last
				backoff = 250 * time.Millisecond
			}
			_ = stream.Close()
		}
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, a2a.ErrLagged) {
			// Nothing lost: Watch again from the last cursor at once.
			continue
		}
		if errors.Is(err, a2a.ErrUnauthenticated) {
			// Asking again without credentials cannot succeed: wait
			// for the user (who may fix the token elsewhere) to say r.
			send(watchStateMsg{agent: agent, err: err, paused: true})
			select {
			case <-ctx.Done():
				return
			case <-wake:
			}
			backoff = 250 * time.Millisecond
			continue
		}
		send(watchStateMsg{agent: agent, err: err, retryIn: backoff})
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

// pumpStream reads stream until it fails, coalescing events into one
// eventsMsg per frame. It returns the cursor of the last event delivered.
func pumpStream(ctx context.Context, agent int, stream a2a.Stream, send func(tea.Msg)) (string, error) {
	type item struct {
		ev  a2a.StreamEvent
		err error
	}
	items := make(chan item, 1024)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			ev, err := stream.Recv()
			select {
			case items <- item{ev, err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	// The reader goroutine above ends when done closes or Recv fails;
	// the caller's Close makes a blocked Recv return.
	defer stream.Close()

	ticker := time.NewTicker(frameInterval)
	defer ticker.Stop()
	var batch []a2a.StreamEvent
	cursor := ""
	flush := func() {
		if len(batch) == 0 {
			return
		}
		send(eventsMsg{agent: agent, events: batch})
		cursor = batch[len(batch)-1].Cursor
		batch = nil
	}
	for {
		select {
		case <-ctx.Done():
			flush()
			return cursor, ctx.Err()
		case it := <-items:
			if it.err != nil {
				flush()
				return cursor, it.err
			}
			batch = append(batch, it.ev)
			if len(batch) >= maxBatch {
				flush()
			}
		case <-ticker.C:
			flush()
		}
	}
}

// conn forwards an agent's connection states from ch until it closes.
func (p *pumps) conn(agent int, ch <-chan ConnState, send func(tea.Msg)) {
	if ch == nil {
		return
	}
	p.goSafe(agent, "connection state", send, func() {
		for {
			select {
			case <-p.ctx.Done():
				return
			case s, ok := <-ch:
				if !ok {
					return
				}
				send(connMsg{agent: agent, state: s})
			}
		}
	})
}

// agent runs one agent of a fleet in its own goroutines: open it (retrying
// with backoff, each failure reported to its strip entry), then forward its
// connection state and follow its Watch stream. An agent opened here is
// closed when the pumps stop.
func (p *pumps) agent(i int, a Agent, send func(tea.Msg), wake <-chan struct{}) {
	if a.Service != nil {
		p.conn(i, a.Conn, send)
		p.watch(i, a.Service, send, wake)
		return
	}
	if a.Open == nil {
		return
	}
	p.goSafe(i, "open", send, func() {
		op, ok := openLoop(p.ctx, i, a.Open, send)
		if !ok {
			return
		}
		if op.Close != nil {
			defer func() { _ = op.Close() }()
		}
		send(agentOpenedMsg{agent: i, svc: op.Service, target: op.Target})
		p.conn(i, op.Conn, send)
		watchLoop(p.ctx, i, op.Service, send, wake)
	})
}

// openLoop calls open until it succeeds or ctx ends.
func openLoop(ctx context.Context, agent int, open func(context.Context) (OpenedAgent, error), send func(tea.Msg)) (OpenedAgent, bool) {
	backoff := time.Second
	for {
		op, err := open(ctx)
		if err == nil && op.Service != nil {
			return op, true
		}
		if op.Close != nil {
			_ = op.Close()
		}
		if ctx.Err() != nil {
			return OpenedAgent{}, false
		}
		if err == nil {
			err = errors.New("opened without a service")
		}
		send(agentDownMsg{agent: agent, err: err, retryIn: backoff})
		select {
		case <-ctx.Done():
			return OpenedAgent{}, false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}
