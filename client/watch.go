package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/a2atop/a2atop/a2a"
)

// maxWatchSubscriptions bounds the live per-task streams Watch keeps open;
// tasks beyond it are followed by polling alone.
const maxWatchSubscriptions = 32

// Watch follows every task of the agent.
//
// When the agent card advertises a2atop's Watch feed (Discovery.WatchFeed,
// an "a2atop serve"), Watch reads it: one SSE connection with every task's
// events as they happen, resumed after drops with Last-Event-ID from the
// last event returned, so nothing is missed or repeated. Cursors are then
// the server's own event-log cursors, passed verbatim: "" starts from now,
// a2a.CursorStart from the oldest event the server keeps, any other cursor
// right after that event (a cursor ahead of the server's log is an error).
// Such a cursor also resumes the server's engine directly, or another
// client of the same server. (A Watch from now that drops before its first
// event resumes from now: the feed has named no cursor yet.)
//
// Otherwise (no feed on the card, Options.NoWatchFeed, or the feed URL
// answers 404 or 405) Watch polls: on v1.0 ListTasks (statusTimestampAfter
// the newest change seen), on v0.3 GetTask for the tasks this client has
// seen; active tasks also get a live Subscribe stream. Each change comes
// once: a snapshot is passed on only when its state or status time differs
// from the last one passed on. Polling cursors are journal sequence
// numbers, local to this client and not interchangeable with feed
// cursors: "" starts from now (tasks already known are not replayed);
// CursorStart replays the latest snapshot of every task the journal holds
// (or, without a journal, of every task the first poll finds); any other
// cursor replays the tasks that changed after that journal sequence. With
// the journal, changes seen by an earlier run are not passed on again.
//
// Either way every task the watch reveals is remembered (SeenTasks, and
// the journal the first time the task is seen).
func (c *Client) Watch(ctx context.Context, cursor string) (a2a.Stream, error) {
	if c.LiveFeed() {
		s, err := c.watchFeed(ctx, cursor)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, errFeedAbsent) {
			if !strings.Contains(err.Error(), c.disc.WatchFeed) {
				err = fmt.Errorf("watch feed %s: %w", c.disc.WatchFeed, err)
			}
			return nil, err
		}
		// The card promised a feed the server does not serve: poll, and
		// do not ask again.
		c.feedAbsent.Store(true)
	}
	return c.watchPolling(ctx, cursor)
}

// LiveFeed reports whether Watch follows the agent's live feed (the card
// advertises it and it has not turned out missing) rather than polling.
func (c *Client) LiveFeed() bool {
	return c.disc.WatchFeed != "" && !c.opts.NoWatchFeed && !c.feedAbsent.Load()
}

// watchPolling is Watch by polling; see Watch.
func (c *Client) watchPolling(ctx context.Context, cursor string) (a2a.Stream, error) {
	ctx, cancel := context.WithCancel(ctx)
	w := &watchStream{
		c:      c,
		ctx:    ctx,
		cancel: cancel,
		out:    make(chan a2a.StreamEvent, 256),
		last:   make(map[string]statusKey),
		subs:   make(map[string]bool),
		replay: cursor != "",
	}
	w.j = c.journalIfOpen()
	if w.j != nil && cursor != "" {
		after, err := strconv.ParseUint(cursor, 10, 64)
		if err != nil {
			cancel()
			return nil, a2a.NewError(a2a.ErrInvalidParams, "watch cursor %q: want a journal sequence number", cursor)
		}
		old, err := w.j.after(after)
		if err != nil {
			cancel()
			return nil, err
		}
		for _, jt := range old {
			w.last[jt.Task.ID] = keyOf(jt.Task.Status)
			w.first = append(w.first, a2a.StreamEvent{Event: jt.Task, Cursor: strconv.FormatUint(jt.Seq, 10), Time: eventTime(jt.Task)})
		}
	}
	if c.ListsFromJournal() {
		w.seedFromJournal()
	}
	// The first poll runs here so that an agent that refuses to list (a2a-go
	// without auth: -31401) fails Watch at once instead of silently. On
	// v0.3 the journal is the list, so Watch opens anyway and says Offline.
	if err := w.pollOnce(); err != nil {
		if !c.ListsFromJournal() {
			cancel()
			return nil, err
		}
		c.conn.set(ConnState{Kind: Offline, Err: err})
		w.mu.Lock()
		w.replay, w.started = true, true
		w.mu.Unlock()
	}
	w.wg.Add(1)
	go w.loop()
	return w, nil
}

type watchStream struct {
	c      *Client
	ctx    context.Context
	cancel context.CancelFunc
	out    chan a2a.StreamEvent
	wg     sync.WaitGroup
	j      *journal // nil without a journal: cursors are then local

	mu      sync.Mutex
	seq     uint64
	last    map[string]statusKey // task id → status last passed on
	subs    map[string]bool      // tasks with a live stream
	since   time.Time            // newest status time a poll returned (v1.0 list filter)
	mark    watermark            // where the next v1.0 list starts
	news    bool                 // the last poll passed something on
	replay  bool                 // emit known tasks on the first poll
	started bool                 // Watch has returned; events go to out
	first   []a2a.StreamEvent    // first poll's events, queued before out
}

func (w *watchStream) Recv() (a2a.StreamEvent, error) {
	w.mu.Lock()
	if len(w.first) > 0 {
		ev := w.first[0]
		w.first = w.first[1:]
		w.mu.Unlock()
		return ev, nil
	}
	w.mu.Unlock()
	select {
	case ev := <-w.out:
		return ev, nil
	case <-w.ctx.Done():
		return a2a.StreamEvent{}, w.ctx.Err()
	}
}

func (w *watchStream) Close() error {
	w.cancel()
	w.wg.Wait()
	return nil
}

// loop polls until the watch ends: every WatchInterval while polls find
// news, backing off to WatchIdleMax while they find none.
func (w *watchStream) loop() {
	defer w.wg.Done()
	wait := w.c.opts.WatchInterval
	for sleepCtx(w.ctx, wait) {
		err := w.pollOnce()
		if err != nil && w.ctx.Err() == nil {
			w.c.conn.set(ConnState{Kind: Offline, Err: err})
		}
		w.mu.Lock()
		news := w.news || err != nil
		w.mu.Unlock()
		wait = idleBackoff(w.c.opts.WatchInterval, w.c.opts.WatchIdleMax, wait, news)
	}
}

// pollOnce lists (or gets) the tasks and passes on what changed.
func (w *watchStream) pollOnce() error {
	tasks, err := w.fetch()
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.news = false
	w.mu.Unlock()
	w.offerAll(tasks, true)
	w.mu.Lock()
	w.mark.observe(w.since, time.Now())
	w.mu.Unlock()
	for _, t := range tasks {
		if t.Status.State.Active() {
			w.follow(t.ID)
		}
	}
	w.mu.Lock()
	w.replay = true // after the first poll every change is news
	w.started = true
	w.mu.Unlock()
	return nil
}

func (w *watchStream) fetch() ([]*a2a.Task, error) {
	if w.c.disc.Version != a2a.Version10 {
		var out []*a2a.Task
		for _, id := range w.c.SeenTasks() {
			w.mu.Lock()
			key := w.last[id]
			w.mu.Unlock()
			if key.state.Terminal() {
				continue // nothing can change any more
			}
			t, err := w.c.getTask(w.ctx, id)
			if errors.Is(err, a2a.ErrTaskNotFound) {
				continue
			}
			if err != nil {
				return out, err
			}
			out = append(out, t)
		}
		return out, nil
	}
	w.mu.Lock()
	after := w.mark.after(time.Now())
	w.mu.Unlock()
	var out []*a2a.Task
	req := a2a.ListRequest{PageSize: a2a.MaxPageSize, IncludeArtifacts: true, StatusTimestampAfter: after}
	for {
		page, err := w.c.List(w.ctx, req)
		if err != nil {
			return out, err
		}
		out = append(out, page.Tasks...)
		if page.NextPageToken == "" || len(page.Tasks) == 0 {
			break
		}
		req.PageToken = page.NextPageToken
	}
	return out, nil
}

// statusKey is what dedupe compares: a status's state and time.
type statusKey struct {
	state a2a.TaskState
	at    time.Time
}

func keyOf(st a2a.TaskStatus) statusKey { return statusKey{st.State, st.Timestamp} }

// isNews reports whether status next tells more than last: a later time,
// or a new state at the same (or an unknown) time. A poll fetched before a
// live event arrived is stale, and a terminal state is final.
func isNews(last, next statusKey, known bool) bool {
	switch {
	case !known:
		return true
	case last.state.Terminal():
		return false
	case !next.at.IsZero() && !last.at.IsZero():
		return next.at.After(last.at) || (next.at.Equal(last.at) && next.state != last.state)
	default:
		return next.state != last.state
	}
}

// offer passes a task snapshot on unless it says nothing new.
func (w *watchStream) offer(t *a2a.Task, fromPoll bool) {
	w.offerAll([]*a2a.Task{t}, fromPoll)
}

// offerAll passes on the snapshots that say something new, recording them
// in the journal in one transaction (one sync for a whole poll).
func (w *watchStream) offerAll(tasks []*a2a.Task, fromPoll bool) {
	var fresh []*a2a.Task
	var emits []bool
	w.mu.Lock()
	for _, t := range tasks {
		key := keyOf(t.Status)
		// Only a poll's own results may move the list watermark: a live
		// event says nothing about tasks the poll has not seen yet, and
		// moving it would hide their changes from the next poll.
		if fromPoll && t.Status.Timestamp.After(w.since) {
			w.since = t.Status.Timestamp
		}
		if last, known := w.last[t.ID]; !isNews(last, key, known) {
			continue
		}
		w.last[t.ID] = key
		w.news = true
		fresh = append(fresh, t)
		emits = append(emits, w.replay || !fromPoll)
	}
	started := w.started
	w.mu.Unlock()
	if len(fresh) == 0 {
		return
	}
	seqs := make([]uint64, len(fresh))
	var changed []bool
	if w.j != nil {
		if s, ch, err := w.j.recordAll(fresh); err == nil {
			seqs, changed = s, ch
		}
	}
	for i, t := range fresh {
		w.c.rememberID(t.ID)
		// After the first poll w.last alone decides what is news (Send
		// writes the journal too). In the first poll, a state the journal
		// already held was before the cursor, or was replayed from it.
		if changed != nil && !changed[i] && !started {
			continue
		}
		if emits[i] {
			w.emit(t, seqs[i])
		}
	}
}

// emit passes an event on with its cursor: the journal sequence when there
// is one (seq > 0; events that change no state resume after the last one),
// else a sequence local to this watch.
func (w *watchStream) emit(ev a2a.Event, seq uint64) {
	w.mu.Lock()
	if seq == 0 {
		if w.j != nil {
			seq = w.seq
		} else {
			w.seq++
			seq = w.seq
		}
	} else if seq > w.seq {
		w.seq = seq
	}
	sev := a2a.StreamEvent{Event: ev, Cursor: strconv.FormatUint(seq, 10), Time: eventTime(ev)}
	if !w.started {
		// Still inside Watch's first poll: nobody reads out yet.
		w.first = append(w.first, sev)
		w.mu.Unlock()
		return
	}
	w.mu.Unlock()
	select {
	case w.out <- sev:
	case <-w.ctx.Done():
	}
}

// follow opens a live stream for an active task, once, within the bound.
func (w *watchStream) follow(id string) {
	w.mu.Lock()
	if w.subs[id] || len(w.subs) >= maxWatchSubscriptions {
		w.mu.Unlock()
		return
	}
	w.subs[id] = true
	w.mu.Unlock()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer func() {
			w.mu.Lock()
			delete(w.subs, id)
			w.mu.Unlock()
		}()
		s, err := w.c.Subscribe(w.ctx, id)
		if err != nil {
			return // polling still covers it
		}
		defer s.Close()
		for {
			ev, err := s.Recv()
			if err != nil {
				if !errors.Is(err, io.EOF) && w.ctx.Err() == nil {
					w.c.conn.set(ConnState{Kind: Offline, Err: err})
				}
				return
			}
			switch e := ev.Event.(type) {
			case *a2a.Task:
				w.offer(e, false)
			case *a2a.StatusUpdateEvent:
				key := keyOf(e.Status)
				w.mu.Lock()
				last, known := w.last[id]
				dup := !isNews(last, key, known)
				if !dup {
					w.last[id] = key
				}
				w.mu.Unlock()
				if dup {
					continue
				}
				var seq uint64
				if w.j != nil {
					if s, _, err := w.j.recordStatus(e); err == nil {
						seq = s
					}
				}
				w.emit(e, seq)
			default:
				w.emit(e, 0)
			}
		}
	}()
}
