package client

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
	bolt "go.etcd.io/bbolt"
)

// The journal remembers, per agent, every task the client has seen and the
// timeline of each (state transitions with times), in a bbolt file, so that
// Watch can show them again after a2atop restarts: v0.3 agents cannot list
// their tasks, and A2A keeps no history of transitions at all.
//
// Layout (all keys bytes, sequences 8-byte big-endian):
//
//	tasks    id            → latest snapshot (v1.0 task JSON)
//	last     id            → journalLast{Seq, State, Time}
//	timeline id 0x00 seq   → TimelineEntry JSON
//	order    seq           → id        (the Watch cursor walks this)
//	first    id            → RFC 3339 time the client first saw the task
//
// (first was added later: a journal written before it has none, and a
// task's first timeline entry stands in.)
//
// Invariant: a task's last.Seq is the largest seq under its timeline and the
// one order key that still names it as "latest"; older order keys stay, and
// replay skips those whose seq is not the task's last.Seq.
type journal struct {
	db    *bolt.DB
	codec wire.Codec
}

var (
	bucketTasks    = []byte("tasks")
	bucketLast     = []byte("last")
	bucketTimeline = []byte("timeline")
	bucketOrder    = []byte("order")
	bucketFirst    = []byte("first")
)

// TimelineEntry is one state transition of a task as the client saw it.
type TimelineEntry struct {
	Seq   uint64        `json:"seq"`
	State a2a.TaskState `json:"state"`
	// Time is the agent's status timestamp, or when the client saw the
	// change when the agent sent none.
	Time time.Time `json:"time"`
	Text string    `json:"text,omitempty"`
}

type journalLast struct {
	Seq   uint64        `json:"seq"`
	State a2a.TaskState `json:"state"`
	Time  time.Time     `json:"time"`
}

// stale says st is older than the status recorded last: a snapshot or
// event that arrived late (a poll answered before a stream event, a
// retried request) must neither roll the task back nor add a step to its
// timeline. A finished task never works again, and the agent's own
// timestamps order the rest; a status without one is taken as new.
func (l journalLast) stale(st a2a.TaskStatus) bool {
	if l.State.Terminal() && !st.State.Terminal() {
		return true
	}
	return !st.Timestamp.IsZero() && st.Timestamp.Before(l.Time)
}

// JournalPath is the default journal file for an agent URL:
// <user data dir>/a2atop/remote/<first 16 hex of sha256(url)>.db, where the
// data dir is $XDG_DATA_HOME or $HOME/.local/share, read through getenv
// (the run's environment).
func JournalPath(agentURL string, getenv func(string) string) (string, error) {
	dir := getenv("XDG_DATA_HOME")
	if dir == "" {
		home := getenv("HOME")
		if home == "" {
			return "", fmt.Errorf("journal: no data directory: set XDG_DATA_HOME or HOME")
		}
		dir = filepath.Join(home, ".local", "share")
	}
	sum := sha256.Sum256([]byte(agentURL))
	return filepath.Join(dir, "a2atop", "remote", hex.EncodeToString(sum[:])[:16]+".db"), nil
}

func openJournal(path string) (*journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 500 * time.Millisecond})
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketTasks, bucketLast, bucketTimeline, bucketOrder, bucketFirst} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	return &journal{db: db, codec: wire.V10()}, nil
}

func (j *journal) close() error { return j.db.Close() }

func seqKey(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}

func timelineKey(id string, seq uint64) []byte {
	k := make([]byte, 0, len(id)+9)
	k = append(k, id...)
	k = append(k, 0)
	return append(k, seqKey(seq)...)
}

// record stores a task snapshot; when its state or status time changed it
// appends a timeline entry and returns the new sequence, else changed is
// false and seq is the task's current one.
func (j *journal) record(t *a2a.Task) (seq uint64, changed bool, err error) {
	snap, err := j.codec.EncodeTask(t)
	if err != nil {
		return 0, false, err
	}
	err = j.db.Update(func(tx *bolt.Tx) error {
		seq, changed, err = j.recordTx(tx, t.ID, t.Status, snap)
		return err
	})
	return seq, changed, err
}

// recordAll records many snapshots in one transaction.
func (j *journal) recordAll(tasks []*a2a.Task) (seqs []uint64, changed []bool, err error) {
	snaps := make([][]byte, len(tasks))
	for i, t := range tasks {
		if snaps[i], err = j.codec.EncodeTask(t); err != nil {
			return nil, nil, err
		}
	}
	seqs, changed = make([]uint64, len(tasks)), make([]bool, len(tasks))
	err = j.db.Update(func(tx *bolt.Tx) error {
		for i, t := range tasks {
			var err error
			if seqs[i], changed[i], err = j.recordTx(tx, t.ID, t.Status, snaps[i]); err != nil {
				return err
			}
		}
		return nil
	})
	return seqs, changed, err
}

// recordStatus notes a status update for a task already known (its snapshot
// is folded forward so that a replay shows the newest state).
func (j *journal) recordStatus(ev *a2a.StatusUpdateEvent) (seq uint64, changed bool, err error) {
	err = j.db.Update(func(tx *bolt.Tx) error {
		var t *a2a.Task
		if raw := tx.Bucket(bucketTasks).Get([]byte(ev.TaskID)); raw != nil {
			if t, err = j.codec.DecodeTask(raw); err != nil {
				return err
			}
		}
		t, err = a2a.Apply(t, ev)
		if err != nil {
			return err
		}
		snap, err := j.codec.EncodeTask(t)
		if err != nil {
			return err
		}
		seq, changed, err = j.recordTx(tx, t.ID, t.Status, snap)
		return err
	})
	return seq, changed, err
}

func (j *journal) recordTx(tx *bolt.Tx, id string, st a2a.TaskStatus, snap []byte) (uint64, bool, error) {
	if id == "" {
		return 0, false, errors.New("journal: task without id")
	}
	lastB := tx.Bucket(bucketLast)
	var last journalLast
	raw := lastB.Get([]byte(id))
	if raw != nil {
		if err := json.Unmarshal(raw, &last); err != nil {
			return 0, false, fmt.Errorf("journal: task %s: %w", id, err)
		}
		if last.stale(st) {
			return last.Seq, false, nil
		}
	}
	if err := tx.Bucket(bucketTasks).Put([]byte(id), snap); err != nil {
		return 0, false, err
	}
	if err := noteFirstSeen(tx, id); err != nil {
		return 0, false, err
	}
	if raw != nil && last.State == st.State && last.Time.Equal(st.Timestamp) {
		return last.Seq, false, nil
	}
	order := tx.Bucket(bucketOrder)
	seq, err := order.NextSequence()
	if err != nil {
		return 0, false, err
	}
	when := st.Timestamp
	if when.IsZero() {
		when = time.Now().UTC()
	}
	entry, _ := json.Marshal(TimelineEntry{Seq: seq, State: st.State, Time: when, Text: st.Message.Text()})
	if err := tx.Bucket(bucketTimeline).Put(timelineKey(id, seq), entry); err != nil {
		return 0, false, err
	}
	lastRaw, _ := json.Marshal(journalLast{Seq: seq, State: st.State, Time: st.Timestamp})
	if err := lastB.Put([]byte(id), lastRaw); err != nil {
		return 0, false, err
	}
	if err := order.Put(seqKey(seq), []byte(id)); err != nil {
		return 0, false, err
	}
	return seq, true, nil
}

// journalTask is a task snapshot with the sequence of its latest change.
type journalTask struct {
	Seq  uint64
	Task *a2a.Task
}

// after returns the latest snapshot of every task that changed after seq,
// in sequence order.
func (j *journal) after(seq uint64) ([]journalTask, error) {
	var out []journalTask
	err := j.db.View(func(tx *bolt.Tx) error {
		tasks, lastB := tx.Bucket(bucketTasks), tx.Bucket(bucketLast)
		c := tx.Bucket(bucketOrder).Cursor()
		for k, v := c.Seek(seqKey(seq + 1)); k != nil; k, v = c.Next() {
			s := binary.BigEndian.Uint64(k)
			var last journalLast
			if err := json.Unmarshal(lastB.Get(v), &last); err != nil || last.Seq != s {
				continue // not this task's latest change
			}
			t, err := j.codec.DecodeTask(tasks.Get(v))
			if err != nil {
				return fmt.Errorf("journal: task %s: %w", v, err)
			}
			out = append(out, journalTask{Seq: s, Task: t})
		}
		return nil
	})
	return out, err
}

// ids lists every task id in the journal.
func (j *journal) ids() ([]string, error) {
	var out []string
	err := j.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLast).ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	return out, err
}

// timeline returns a task's transitions, oldest first.
func (j *journal) timeline(id string) ([]TimelineEntry, error) {
	var out []TimelineEntry
	prefix := append([]byte(id), 0)
	err := j.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketTimeline).Cursor()
		for k, v := c.Seek(prefix); k != nil && len(k) == len(prefix)+8 && string(k[:len(prefix)]) == string(prefix); k, v = c.Next() {
			var e TimelineEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("journal: timeline of %s: %w", id, err)
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}
