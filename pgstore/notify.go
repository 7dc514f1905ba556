package pgstore

import (
	"context"
	"sync"
	"time"
)

// Notification channels. Every notification only says "look again": the
// state it announces is in tables (the log by cursor, the requests of
// cluster.go), so a notification lost while the listener reconnects loses
// nothing; the listener wakes every subscriber after reconnecting.
const (
	// logChannel carries the log's new head after each commit with events.
	logChannel = "a2atop_log"
)

var channels = []string{logChannel, takeoverChannel, cancelChannel, slotChannel}

// notifier owns one connection that LISTENs on every channel, started on
// the first subscription, and wakes subscribers of each channel. A wake is
// a buffered signal of one: bursts coalesce, and a slow subscriber never
// blocks the others. Idle, it blocks in WaitForNotification: no polling.
type notifier struct {
	s *Store

	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
	// payloads: subscribers that want each notification's payload
	// (cancelChannel's task ids), dropped when their buffer is full.
	payloads map[string]map[chan string]struct{}
	started  bool
	closed   bool
	stop     context.CancelFunc
	done     chan struct{}
}

func newNotifier(s *Store) *notifier {
	return &notifier{s: s, subs: map[string]map[chan struct{}]struct{}{},
		payloads: map[string]map[chan string]struct{}{}, done: make(chan struct{})}
}

// subscribe returns a channel woken after each notification on channel
// (and after every reconnection), and a function that ends the
// subscription.
func (n *notifier) subscribe(channel string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		close(ch)
		return ch, func() {}
	}
	if n.subs[channel] == nil {
		n.subs[channel] = map[chan struct{}]struct{}{}
	}
	n.subs[channel][ch] = struct{}{}
	n.startLocked()
	return ch, func() {
		n.mu.Lock()
		delete(n.subs[channel], ch)
		n.mu.Unlock()
	}
}

// subscribePayload returns a channel of the payloads notified on channel.
func (n *notifier) subscribePayload(channel string) (<-chan string, func()) {
	ch := make(chan string, 256)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		close(ch)
		return ch, func() {}
	}
	if n.payloads[channel] == nil {
		n.payloads[channel] = map[chan string]struct{}{}
	}
	n.payloads[channel][ch] = struct{}{}
	n.startLocked()
	return ch, func() {
		n.mu.Lock()
		delete(n.payloads[channel], ch)
		n.mu.Unlock()
	}
}

func (n *notifier) startLocked() {
	if !n.started {
		n.started = true
		ctx, cancel := context.WithCancel(context.Background())
		n.stop = cancel
		go n.run(ctx)
	}
}

func (n *notifier) deliver(channel, payload string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for ch := range n.payloads[channel] {
		select {
		case ch <- payload:
		default:
		}
	}
}

func (n *notifier) wake(channel string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for ch := range n.subs[channel] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (n *notifier) wakeAll() {
	for _, c := range channels {
		n.wake(c)
	}
}

func (n *notifier) run(ctx context.Context) {
	defer close(n.done)
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		err := n.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		// Whatever was announced while the connection was down is in the
		// tables: wake everyone to look.
		n.wakeAll()
		_ = err
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// listen holds one connection until it fails.
func (n *notifier) listen(ctx context.Context) error {
	pooled, err := n.s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A listening connection is never handed back to the pool.
	conn := pooled.Hijack()
	defer conn.Close(context.Background())
	for _, c := range channels {
		if _, err := conn.Exec(ctx, "LISTEN "+c); err != nil {
			return err
		}
	}
	// Listening now: anything committed before is in the tables.
	n.wakeAll()
	for {
		nt, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		n.wake(nt.Channel)
		n.deliver(nt.Channel, nt.Payload)
	}
}

func (n *notifier) close() {
	n.mu.Lock()
	n.closed = true
	started := n.started
	for _, subs := range n.subs {
		for ch := range subs {
			close(ch)
		}
	}
	n.subs = nil
	for _, subs := range n.payloads {
		for ch := range subs {
			close(ch)
		}
	}
	n.payloads = nil
	n.mu.Unlock()
	if started {
		n.stop()
		<-n.done
	}
}

// WatchLog implements engine.SharedLog: it wakes after every commit with
// events, by any process, and after the listener reconnects.
func (s *Store) WatchLog() (<-chan struct{}, func()) { return s.notify.subscribe(logChannel) }
