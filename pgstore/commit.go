package pgstore

import (
	"context"
	"errors"
	"fmt"
	"github.com/a2atop/a2atop/internal/taskcodec"
	"slices"
	"sort"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/jackc/pgx/v5"
)

// Commits: one writer goroutine per Store takes every commit waiting and
// writes them in one transaction (a group commit: one round of statements
// and one WAL flush for all of them).
//
// The transaction, in this order (a fixed lock order, so that writers in
// different processes cannot deadlock):
//  1. lock the batch's existing task rows (SELECT … ORDER BY id FOR
//     UPDATE) and check each commit against the stored task: its first
//     event must follow the stored last_seq. A commit built on a version
//     another writer has changed meanwhile is refused with ErrConflict
//     (the others in the batch go on): two writers racing on one task are
//     serialised by the row lock, and the loser learns it, never a lost
//     update;
//  2. upsert the task rows and message ids;
//  3. assign the events' cursors from a2atop_log_head (whose row lock is
//     held until commit: cursors follow commit order across processes)
//     and insert the events; NOTIFY a2atop_log with the new head, which
//     PostgreSQL delivers at commit, in commit order;
//  4. adjust the counters (serialised by the head's lock, so never
//     deadlocking on them).
//
// A commit that queues a task under a limit (engine.Commit.QueueLimit)
// needs the cluster's queued count to hold still from its check to its
// commit: the transaction then takes the head's lock before anything else
// is written, and reads the submitted counter under it (every change of
// that counter is a commit's, under the same lock). Other batches do not
// pay for it. The lock order is unchanged (task rows, claims, head,
// counters), and the head's lock is held a little longer, from the check
// instead of from the events' insert.
//
// If the transaction fails as a whole (a dropped connection, a deadlock
// with a sweep), each of its commits is tried again alone, so one bad
// commit cannot fail its neighbours.

// maxBatch caps the commits of one transaction.
const maxBatch = 256

type commitRequest struct {
	id       string
	firstSeq uint64 // the seq the stored task must be at, +1
	rec      taskRow
	events   []eventRow
	msgIDs   []string
	// queueLimit: engine.Commit.QueueLimit (see queuedBefore).
	queueLimit int
	done       chan error
}

type taskRow struct {
	id, contextID, state string
	terminal             bool
	createdNs, updatedNs int64
	attempts, priority   int32
	lastSeq              int64
	running, stopped     bool
	task                 []byte
}

type eventRow struct {
	taskID string
	seq    int64
	atNs   int64
	body   []byte
}

// Commit stores c in the next group transaction. The cursors of c.Events
// are ignored: the database assigns them, in commit order (see
// engine.SharedLog).
func (s *Store) Commit(ctx context.Context, c *engine.Commit) error {
	if s.opts.Observer {
		return ErrObserver
	}
	req, err := newCommitRequest(c)
	if err != nil {
		return err
	}
	select {
	case s.commits <- req:
	case <-s.closing:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Taken by the writer: it always answers.
	return <-req.done
}

func newCommitRequest(c *engine.Commit) (*commitRequest, error) {
	if c == nil || c.Record == nil || c.Record.Task == nil || c.Record.Task.ID == "" {
		return nil, errors.New("pgstore: commit needs a record with a task id")
	}
	r := c.Record
	id := r.Task.ID
	if uint64(len(c.Events)) > r.LastSeq {
		return nil, fmt.Errorf("pgstore: task %s: %d events but last seq %d", id, len(c.Events), r.LastSeq)
	}
	body, err := taskcodec.EncodeTask(r.Task)
	if err != nil {
		return nil, fmt.Errorf("pgstore: encode task %s: %w", id, err)
	}
	state := r.Task.Status.State
	req := &commitRequest{
		id:       id,
		firstSeq: r.LastSeq - uint64(len(c.Events)) + 1,
		rec: taskRow{id: id, contextID: r.Task.ContextID, state: string(state), terminal: state.Terminal(),
			createdNs: r.Created.UnixNano(), updatedNs: r.Updated.UnixNano(),
			attempts: int32(r.Attempts), priority: int32(r.Priority), lastSeq: int64(r.LastSeq),
			running: r.Running, stopped: r.Stopped, task: body},
		msgIDs:     c.MessageIDs,
		queueLimit: c.QueueLimit,
		done:       make(chan error, 1),
	}
	for i, ev := range c.Events {
		if ev.TaskID != id || ev.Seq != req.firstSeq+uint64(i) {
			return nil, fmt.Errorf("pgstore: task %s: event %d is task %s seq %d, want seq %d", id, i, ev.TaskID, ev.Seq, req.firstSeq+uint64(i))
		}
		b, err := taskcodec.EncodeEvent(ev.Event)
		if err != nil {
			return nil, fmt.Errorf("pgstore: encode event %d of task %s: %w", ev.Seq, id, err)
		}
		req.events = append(req.events, eventRow{taskID: id, seq: int64(ev.Seq), atNs: ev.Time.UnixNano(), body: b})
	}
	return req, nil
}

func (s *Store) writer() {
	defer close(s.writerDone)
	for {
		var first *commitRequest
		select {
		case first = <-s.commits:
		case <-s.closing:
			return
		}
		batch := []*commitRequest{first}
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-s.commits:
				batch = append(batch, r)
			default:
				break more
			}
		}
		s.writeBatch(batch)
	}
}

func (s *Store) writeBatch(batch []*commitRequest) {
	// Not canceled by Close: Close waits for this batch.
	ctx := context.Background()
	errs, err := s.writeTx(ctx, batch)
	if err != nil && len(batch) > 1 {
		for _, r := range batch {
			e, err := s.writeTx(ctx, []*commitRequest{r})
			if err == nil {
				err = e[0]
			}
			r.done <- err
		}
		return
	}
	for i, r := range batch {
		if err != nil {
			r.done <- err
		} else {
			r.done <- errs[i]
		}
	}
}

type storedTask struct {
	lastSeq   uint64
	state     string
	contextID string
	terminal  bool
	running   bool
}

// claim is a task's claim as the transaction found it.
type claim struct {
	replica string
	live    bool
}

type countKey struct{ scope, key string }

// writeTx writes a batch in one transaction. It returns each commit's own
// outcome (ErrConflict) and an error if the transaction failed.
func (s *Store) writeTx(ctx context.Context, batch []*commitRequest) ([]error, error) {
	errs := make([]error, len(batch))
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		ids := make([]string, 0, len(batch))
		seen := map[string]bool{}
		for _, r := range batch {
			if !seen[r.id] {
				seen[r.id] = true
				ids = append(ids, r.id)
			}
		}
		sort.Strings(ids)
		cur := make(map[string]*storedTask, len(ids))
		rows, err := tx.Query(ctx, `SELECT id, last_seq, state, context_id, terminal, running FROM a2atop_tasks
			WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			var st storedTask
			var last int64
			if err := rows.Scan(&id, &last, &st.state, &st.contextID, &st.terminal, &st.running); err != nil {
				rows.Close()
				return err
			}
			st.lastSeq = uint64(last)
			cur[id] = &st
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}

		claims, err := lockClaims(ctx, tx, ids)
		if err != nil {
			return err
		}
		queued, err := queuedBefore(ctx, tx, batch)
		if err != nil {
			return err
		}
		claimSet := map[string]bool{} // task id -> claim it (true) or release it (false)
		var canceled []string

		counts := map[countKey]int64{}
		latest := map[string]*taskRow{}
		var order []string // task ids in first-write order
		var evs []eventRow
		var msgIDs, msgTasks []string
		for i, r := range batch {
			prev := cur[r.id]
			have := uint64(0)
			if prev != nil {
				have = prev.lastSeq
			}
			if r.firstSeq != have+1 {
				errs[i] = fmt.Errorf("task %s: commit from seq %d, stored at %d: %w", r.id, r.firstSeq, have, ErrConflict)
				continue
			}
			if r.queueLimit > 0 && r.rec.state == submitted && (prev == nil || prev.state != submitted) {
				if n := queued + counts[countKey{"state", submitted}]; n >= int64(r.queueLimit) {
					errs[i] = fmt.Errorf("task %s: %d tasks are queued (limit %d): %w", r.id, n, r.queueLimit, engine.ErrQueueFull)
					continue
				}
			}
			held := claims[r.id]
			heldByOther := held != nil && held.live && held.replica != s.replica
			st := a2a.TaskState(r.rec.state)
			switch {
			case st.Terminal() || st.Interrupted():
				claimSet[r.id] = false
				delete(claims, r.id)
				if heldByOther && st == a2a.StateCanceled {
					canceled = append(canceled, r.id)
				}
			case prev == nil || (r.rec.running && !prev.running):
				if heldByOther {
					errs[i] = fmt.Errorf("task %s: %w (it runs on replica %s)", r.id, ErrConflict, held.replica)
					continue
				}
				claimSet[r.id] = true
				claims[r.id] = &claim{replica: s.replica, live: true}
			}
			if prev != nil {
				counts[countKey{"state", prev.state}]--
				counts[countKey{"context", prev.contextID}]--
				if prev.terminal {
					counts[countKey{"terminal", ""}]--
				}
			} else {
				counts[countKey{"all", ""}]++
			}
			counts[countKey{"state", r.rec.state}]++
			counts[countKey{"context", r.rec.contextID}]++
			if r.rec.terminal {
				counts[countKey{"terminal", ""}]++
			}
			cur[r.id] = &storedTask{lastSeq: uint64(r.rec.lastSeq), state: r.rec.state, contextID: r.rec.contextID, terminal: r.rec.terminal}
			if latest[r.id] == nil {
				order = append(order, r.id)
			}
			latest[r.id] = &r.rec
			evs = append(evs, r.events...)
			for _, m := range r.msgIDs {
				msgIDs = append(msgIDs, m)
				msgTasks = append(msgTasks, r.id)
			}
		}
		if len(order) == 0 {
			return nil // every commit conflicted
		}
		b := &pgx.Batch{}
		queueTaskUpsert(b, order, latest)
		if len(msgIDs) > 0 {
			b.Queue(`INSERT INTO a2atop_messages (message_id, task_id)
				SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (message_id) DO NOTHING`, msgIDs, msgTasks)
		}
		queueClaims(b, s.replica, claimSet, canceled)
		queueEvents(b, evs)
		queueCounts(b, counts)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, s.wrapConnErr("commit to", err)
	}
	return errs, nil
}

func queueTaskUpsert(b *pgx.Batch, order []string, latest map[string]*taskRow) {
	n := len(order)
	var (
		ctxIDs, states             = make([]string, n), make([]string, n)
		terminal, running, stopped = make([]bool, n), make([]bool, n), make([]bool, n)
		created, updated, lastSeq  = make([]int64, n), make([]int64, n), make([]int64, n)
		attempts, priority         = make([]int32, n), make([]int32, n)
		bodies                     = make([][]byte, n)
	)
	for i, id := range order {
		r := latest[id]
		ctxIDs[i], states[i] = r.contextID, r.state
		terminal[i], running[i], stopped[i] = r.terminal, r.running, r.stopped
		created[i], updated[i], lastSeq[i] = r.createdNs, r.updatedNs, r.lastSeq
		attempts[i], priority[i] = r.attempts, r.priority
		bodies[i] = r.task
	}
	b.Queue(`INSERT INTO a2atop_tasks (id, context_id, state, terminal, created_ns, updated_ns, attempts, priority,
			last_seq, running, stopped, task)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::bigint[], $6::bigint[],
			$7::int[], $8::int[], $9::bigint[], $10::bool[], $11::bool[], $12::bytea[])
		ON CONFLICT (id) DO UPDATE SET context_id = excluded.context_id, state = excluded.state,
			terminal = excluded.terminal, created_ns = excluded.created_ns, updated_ns = excluded.updated_ns,
			attempts = excluded.attempts, priority = excluded.priority, last_seq = excluded.last_seq,
			running = excluded.running, stopped = excluded.stopped, task = excluded.task`,
		order, ctxIDs, states, terminal, created, updated, attempts, priority, lastSeq, running, stopped, bodies)
}

// queueEvents assigns cursors and inserts the events; the head's row lock
// taken here is held until commit. It runs even for no events, so that
// every writing transaction takes the head's lock before the counters'.
func queueEvents(b *pgx.Batch, evs []eventRow) {
	n := len(evs)
	taskIDs, seqs, ats, bodies := make([]string, n), make([]int64, n), make([]int64, n), make([][]byte, n)
	for i, ev := range evs {
		taskIDs[i], seqs[i], ats[i], bodies[i] = ev.taskID, ev.seq, ev.atNs, ev.body
	}
	b.Queue(`WITH head AS (UPDATE a2atop_log_head SET last = last + $1 WHERE id = 1 RETURNING last - $1 AS base)
		INSERT INTO a2atop_events (cursor, task_id, seq, at_ns, event)
		SELECT head.base + e.ord, e.task_id, e.seq, e.at_ns, e.event
		FROM head, unnest($2::text[], $3::bigint[], $4::bigint[], $5::bytea[]) WITH ORDINALITY AS e(task_id, seq, at_ns, event, ord)`,
		int64(n), taskIDs, seqs, ats, bodies)
	if n > 0 {
		b.Queue(`SELECT pg_notify('` + logChannel + `', last::text) FROM a2atop_log_head WHERE id = 1`)
	}
}

func queueCounts(b *pgx.Batch, counts map[countKey]int64) {
	var scopes, keys []string
	var deltas []int64
	for k, d := range counts {
		if d != 0 {
			scopes, keys, deltas = append(scopes, k.scope), append(keys, k.key), append(deltas, d)
		}
	}
	if len(scopes) == 0 {
		return
	}
	b.Queue(`INSERT INTO a2atop_counts (scope, key, n) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
		ON CONFLICT (scope, key) DO UPDATE SET n = a2atop_counts.n + excluded.n`, scopes, keys, deltas)
	// A context's counter goes once its last task is swept or moved.
	b.Queue(`DELETE FROM a2atop_counts WHERE scope = 'context' AND key = ANY($1) AND n = 0`, keys)
}

// lockClaims reads and locks the batch's claims (after the task rows, in
// id order: the lock order of every writer), then reads which holders are
// live in a statement of its own: a join in the locking statement would be
// rechecked against the replica row it first read, not the one naming a
// claim a concurrent takeover has just moved.
func lockClaims(ctx context.Context, tx pgx.Tx, ids []string) (map[string]*claim, error) {
	rows, err := tx.Query(ctx, `SELECT task_id, replica FROM a2atop_claims
		WHERE task_id = ANY($1) ORDER BY task_id FOR UPDATE`, ids)
	if err != nil {
		return nil, err
	}
	out := map[string]*claim{}
	var holders []string
	for rows.Next() {
		var id string
		var c claim
		if err := rows.Scan(&id, &c.replica); err != nil {
			rows.Close()
			return nil, err
		}
		out[id] = &c
		holders = append(holders, c.replica)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(holders) == 0 {
		return out, err
	}
	rows, err = tx.Query(ctx, `SELECT id FROM a2atop_replicas WHERE id = ANY($1) AND expires_at > now()`, holders)
	if err != nil {
		return nil, err
	}
	live, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	for _, c := range out {
		c.live = slices.Contains(live, c.replica)
	}
	return out, nil
}

func queueClaims(b *pgx.Batch, replica string, set map[string]bool, canceled []string) {
	var take, drop []string
	for id, claim := range set {
		if claim {
			take = append(take, id)
		} else {
			drop = append(drop, id)
		}
	}
	if len(take) > 0 {
		sort.Strings(take)
		b.Queue(`INSERT INTO a2atop_claims (task_id, replica) SELECT unnest($1::text[]), $2
			ON CONFLICT (task_id) DO UPDATE SET replica = excluded.replica`, take, replica)
	}
	if len(drop) > 0 {
		b.Queue(`DELETE FROM a2atop_claims WHERE task_id = ANY($1)`, drop)
	}
	for _, id := range canceled {
		b.Queue(`SELECT pg_notify('`+cancelChannel+`', $1)`, id)
	}
}

const submitted = string(a2a.StateSubmitted)

// queuedBefore is the number of submitted tasks when some commit of batch
// queues a task under a limit, read under the head's lock, which the
// transaction then holds until it ends (see the comment at the top); 0
// otherwise, without locking.
func queuedBefore(ctx context.Context, tx pgx.Tx, batch []*commitRequest) (int64, error) {
	bounded := false
	for _, r := range batch {
		bounded = bounded || r.queueLimit > 0
	}
	if !bounded {
		return 0, nil
	}
	// Two statements (the count's snapshot is taken once the lock is
	// held), one round trip: the writer's transactions run one after the
	// other, so each round trip here delays every commit of the replica.
	b := &pgx.Batch{}
	b.Queue(`SELECT 1 FROM a2atop_log_head WHERE id = 1 FOR UPDATE`)
	b.Queue(`SELECT coalesce((SELECT n FROM a2atop_counts WHERE scope = 'state' AND key = $1), 0)`, submitted)
	br := tx.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return 0, err
	}
	var n int64
	if err := br.QueryRow().Scan(&n); err != nil {
		br.Close()
		return 0, err
	}
	return n, br.Close()
}
