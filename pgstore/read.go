package pgstore

import (
	"context"
	"errors"
	"fmt"
	"github.com/a2atop/a2atop/internal/taskcodec"
	"strconv"
	"strings"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/jackc/pgx/v5"
)

const recordColumns = `id, created_ns, updated_ns, attempts, priority, last_seq, running, stopped, task`

func scanRecord(row pgx.Row) (*engine.Record, error) {
	var (
		id                        string
		created, updated, lastSeq int64
		attempts, priority        int32
		running, stopped          bool
		body                      []byte
	)
	if err := row.Scan(&id, &created, &updated, &attempts, &priority, &lastSeq, &running, &stopped, &body); err != nil {
		return nil, err
	}
	t, err := taskcodec.DecodeTask(body)
	if err != nil {
		return nil, fmt.Errorf("task %q: %w", id, err)
	}
	return &engine.Record{Task: t, Created: time.Unix(0, created), Updated: time.Unix(0, updated),
		Attempts: int(attempts), Priority: engine.Priority(priority), LastSeq: uint64(lastSeq),
		Running: running, Stopped: stopped}, nil
}

func (s *Store) readErr(what string, err error) error {
	return s.wrapConnErr(what+" from", err)
}

func (s *Store) Get(ctx context.Context, taskID string) (*engine.Record, error) {
	rec, err := scanRecord(s.pool.QueryRow(ctx, `SELECT `+recordColumns+` FROM a2atop_tasks WHERE id = $1`, taskID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, a2a.NewError(a2a.ErrTaskNotFound, "task %q not found", taskID)
	}
	if err != nil {
		return nil, s.readErr("read task "+taskID, err)
	}
	return rec, nil
}

func scanEvents(rows pgx.Rows) ([]engine.LoggedEvent, error) {
	defer rows.Close()
	var out []engine.LoggedEvent
	for rows.Next() {
		var (
			cursor, seq, at int64
			taskID          string
			body            []byte
		)
		if err := rows.Scan(&cursor, &taskID, &seq, &at, &body); err != nil {
			return nil, err
		}
		ev, err := taskcodec.DecodeEvent(body)
		if err != nil {
			return nil, fmt.Errorf("event %d of task %q: %w", seq, taskID, err)
		}
		out = append(out, engine.LoggedEvent{TaskID: taskID, Seq: uint64(seq), Cursor: uint64(cursor), Time: time.Unix(0, at), Event: ev})
	}
	return out, rows.Err()
}

func (s *Store) Events(ctx context.Context, taskID string, afterSeq uint64) ([]engine.LoggedEvent, error) {
	rows, err := s.pool.Query(ctx, `SELECT cursor, task_id, seq, at_ns, event FROM a2atop_events
		WHERE task_id = $1 AND seq > $2 ORDER BY seq`, taskID, int64(afterSeq))
	if err != nil {
		return nil, s.readErr("read events of task "+taskID, err)
	}
	evs, err := scanEvents(rows)
	if err != nil {
		return nil, s.readErr("read events of task "+taskID, err)
	}
	if len(evs) == 0 {
		// Tell an unknown task from one without newer events.
		var one int
		err := s.pool.QueryRow(ctx, `SELECT 1 FROM a2atop_tasks WHERE id = $1`, taskID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, a2a.NewError(a2a.ErrTaskNotFound, "task %q not found", taskID)
		}
		if err != nil {
			return nil, s.readErr("read task "+taskID, err)
		}
	}
	return evs, nil
}

func (s *Store) Log(ctx context.Context, after uint64, limit int) ([]engine.LoggedEvent, error) {
	q := `SELECT cursor, task_id, seq, at_ns, event FROM a2atop_events WHERE cursor > $1 ORDER BY cursor`
	args := []any{int64(after)}
	if limit > 0 {
		q += ` LIMIT $2`
		args = append(args, limit)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, s.readErr("read the event log", err)
	}
	evs, err := scanEvents(rows)
	if err != nil {
		return nil, s.readErr("read the event log", err)
	}
	return evs, nil
}

func (s *Store) LastCursor(ctx context.Context) (uint64, error) {
	var last int64
	if err := s.pool.QueryRow(ctx, `SELECT last FROM a2atop_log_head WHERE id = 1`).Scan(&last); err != nil {
		return 0, s.readErr("read the event log's head", err)
	}
	return uint64(last), nil
}

func (s *Store) TaskForMessage(ctx context.Context, messageID string) (string, bool, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT task_id FROM a2atop_messages WHERE message_id = $1`, messageID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, s.readErr("look up the message", err) // the caller names it
	}
	return id, true, nil
}

func (s *Store) Unfinished(ctx context.Context) ([]*engine.Record, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+recordColumns+` FROM a2atop_tasks WHERE NOT terminal ORDER BY created_ns, id`)
	if err != nil {
		return nil, s.readErr("read unfinished tasks", err)
	}
	defer rows.Close()
	var out []*engine.Record
	for rows.Next() {
		rec, err := scanRecord(rows)
		if err != nil {
			return nil, s.readErr("read unfinished tasks", err)
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, s.readErr("read unfinished tasks", err)
	}
	return out, nil
}

// A page token is "<updated unix nanos>.<task id>" of a page's last task,
// as the memory store's: the next page starts below that key.
func encodeToken(updatedNs int64, id string) string {
	return strconv.FormatInt(updatedNs, 10) + "." + id
}

func decodeToken(tok string) (int64, string, error) {
	ns, id, ok := strings.Cut(tok, ".")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || id == "" {
		return 0, "", a2a.NewError(a2a.ErrInvalidParams, "invalid page token %q", tok)
	}
	return n, id, nil
}

// createdToken starts a created-order page token, followed by the id of
// the page's last task; an updated-order token starts with its time's
// digits, so neither order takes the other's tokens.
const createdToken = "c."

// listKeyRange is where a List walk starts and its ORDER BY: past the
// newest key (or with Reverse before the oldest) and, after a page token,
// past its key. The updated order walks (updated_ns, id), served by
// a2atop_tasks_by_updated; the created order (q.ByCreated) walks id, the
// primary key: the engine's UUIDv7 ids, canonical lower-case text of one
// shape, are in creation order by id under any collation that orders
// digits before letters (C's byte order, or a locale's); other ids rank by
// the column's collation.
func listKeyRange(q engine.ListQuery) (where []string, args []any, order string, err error) {
	dir, cmpOp := "DESC", boundOp(q)
	if q.Reverse {
		dir = "ASC"
	}
	if q.ByCreated {
		if q.PageToken == "" {
			// No bound yet: List adds "id < $1" ($1 kept for it) when it
			// reads on past a first batch.
			return []string{"$1::text IS NULL"}, []any{nil}, "id " + dir, nil
		}
		id, ok := strings.CutPrefix(q.PageToken, createdToken)
		if !ok || id == "" {
			return nil, nil, "", a2a.NewError(a2a.ErrInvalidParams, "invalid page token %q: not one of a created-order listing", q.PageToken)
		}
		return []string{"id " + cmpOp + " $1"}, []any{id}, "id " + dir, nil
	}
	keyNs, keyID := int64(1<<63-1), "\U0010FFFF"
	if q.Reverse {
		keyNs, keyID = -1<<63, ""
	}
	if q.PageToken != "" {
		if keyNs, keyID, err = decodeToken(q.PageToken); err != nil {
			return nil, nil, "", err
		}
	}
	return []string{"(updated_ns, id) " + cmpOp + " ($1, $2)"}, []any{keyNs, keyID}, "updated_ns " + dir + ", id " + dir, nil
}

// boundOp compares a row's key with the key a walk goes on from.
func boundOp(q engine.ListQuery) string {
	if q.Reverse {
		return ">"
	}
	return "<"
}

// listScanBatch is how many rows a List with a Text filter reads at a time
// while it looks for a page of matches.
const listScanBatch = 256

func (s *Store) List(ctx context.Context, q engine.ListQuery) (*engine.ListResult, error) {
	size := q.PageSize
	if size <= 0 {
		size = a2a.DefaultPageSize
	}
	where, args, order, err := listKeyRange(q)
	if err != nil {
		return nil, err
	}
	// The filters SQL applies; Text is applied here, with the engine's
	// matcher, so that every store filters text the same way.
	if q.State != "" {
		args = append(args, string(q.State))
		where = append(where, "state = $"+strconv.Itoa(len(args)))
	}
	if q.ContextID != "" {
		args = append(args, q.ContextID)
		where = append(where, "context_id = $"+strconv.Itoa(len(args)))
	}
	if !q.UpdatedAfter.IsZero() {
		args = append(args, q.UpdatedAfter.UnixNano())
		where = append(where, "updated_ns > $"+strconv.Itoa(len(args)))
	}
	batch := size + 1
	text := strings.ToLower(q.Text)
	if text != "" {
		batch = max(batch, listScanBatch)
	}
	args = append(args, batch)
	limit := ` ORDER BY ` + order + ` LIMIT $` + strconv.Itoa(len(args))
	query := `SELECT ` + recordColumns + ` FROM a2atop_tasks WHERE ` + strings.Join(where, " AND ") + limit

	res := &engine.ListResult{Records: make([]*engine.Record, 0, min(size, 64))}
	for {
		rows, err := s.pool.Query(ctx, query, args...)
		if err != nil {
			return nil, s.readErr("list tasks", err)
		}
		n := 0
		full := false
		for rows.Next() {
			n++
			rec, err := scanRecord(rows)
			if err != nil {
				rows.Close()
				return nil, s.readErr("list tasks", err)
			}
			if q.ByCreated {
				args[0] = rec.Task.ID
			} else {
				args[0], args[1] = rec.Updated.UnixNano(), rec.Task.ID
			}
			if text != "" && !engine.TaskContainsText(rec.Task, text) {
				continue
			}
			if len(res.Records) == size {
				last := res.Records[size-1]
				res.NextPageToken = encodeToken(last.Updated.UnixNano(), last.Task.ID)
				if q.ByCreated {
					res.NextPageToken = createdToken + last.Task.ID
				}
				full = true
				break
			}
			res.Records = append(res.Records, rec)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.readErr("list tasks", err)
		}
		if full || n < batch {
			break
		}
		if q.ByCreated && where[0] != "id "+boundOp(q)+" $1" {
			where[0] = "id " + boundOp(q) + " $1"
			query = `SELECT ` + recordColumns + ` FROM a2atop_tasks WHERE ` + strings.Join(where, " AND ") + limit
		}
	}
	total, err := s.total(ctx, q)
	if err != nil {
		return nil, err
	}
	res.TotalSize = total
	return res, nil
}

// total reads a counter when one answers the query, else -1.
func (s *Store) total(ctx context.Context, q engine.ListQuery) (int, error) {
	if !q.UpdatedAfter.IsZero() || q.Text != "" || (q.State != "" && q.ContextID != "") {
		return -1, nil
	}
	scope, key := "all", ""
	switch {
	case q.State != "":
		scope, key = "state", string(q.State)
	case q.ContextID != "":
		scope, key = "context", q.ContextID
	}
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT n FROM a2atop_counts WHERE scope = $1 AND key = $2`, scope, key).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, s.readErr("count tasks", err)
	}
	return int(n), nil
}
