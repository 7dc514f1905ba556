package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
)

// damageRecord overwrites the stored record of task id with bytes no
// a2atop can decode, the way a bad disk block or a stray write would.
func damageRecord(t *testing.T, db, id string) {
	t.Helper()
	u, err := uuid.Parse(id)
	if err != nil {
		t.Fatal(err)
	}
	bdb, err := bolt.Open(db, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	err = bdb.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket([]byte("tasks")).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if bytes.Contains(k, u[:]) {
				return tx.Bucket([]byte("tasks")).Put(bytes.Clone(k), []byte{0xee, 1, 2, 3})
			}
		}
		t.Fatalf("no record of %s", id)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// One damaged record: list prints the rest and names it on stderr, then
// exits 3; get of it says which and how to check; check reports it and
// exits 1, and 0 on a sound store.
func TestDamagedRecord(t *testing.T) {
	db := tempDB(t)
	var ids []string
	for _, word := range []string{"one", "two", "three"} {
		ids = append(ids, decodeTask(t, mustRun(t, db, exitOK, "send", "--json", "echo", word).stdout).ID)
	}
	r := mustRun(t, db, exitOK, "check")
	if !strings.Contains(r.stdout, "no damage found") || !strings.Contains(r.stdout, "3 task(s)") {
		t.Fatalf("check of a sound store:\n%s", r.stdout)
	}
	damageRecord(t, db, ids[1])

	r = mustRun(t, db, exitUnreachable, "list")
	if !strings.Contains(r.stdout, ids[0]) || !strings.Contains(r.stdout, ids[2]) || strings.Contains(r.stdout, ids[1]) {
		t.Errorf("list must print the sound tasks only:\n%s", r.stdout)
	}
	oneErrorLine(t, r, ids[1])
	oneErrorLine(t, r, "a2atop check")
	r = mustRun(t, db, exitUnreachable, "list", "--json")
	if n := strings.Count(r.stdout, "\n"); n != 2 {
		t.Errorf("list --json printed %d lines, want 2:\n%s", n, r.stdout)
	}

	r = mustRun(t, db, exitUnreachable, "get", ids[1])
	oneErrorLine(t, r, "damaged")
	oneErrorLine(t, r, "a2atop check --db "+db)
	mustRun(t, db, exitOK, "get", ids[0])

	r = mustRun(t, db, exitTaskFailed, "check")
	if !strings.Contains(r.stdout, ids[1]) {
		t.Errorf("check does not name the damaged task:\n%s\n%s", r.stdout, r.stderr)
	}
	mustRun(t, tempDB(t), exitUnreachable, "check") // no store there: nothing to check, nothing created
}

// An engine does not start on a store whose unfinished tasks it cannot
// all read, unless told to with --allow-damaged; it then runs the rest.
func TestAllowDamaged(t *testing.T) {
	db := tempDB(t)
	stuck := decodeTask(t, mustRun(t, db, exitOK, "send", "--no-wait", "--json", "forever").stdout)
	waiting := decodeTask(t, mustRun(t, db, exitOK, "send", "--json", "ask").stdout)
	damageRecord(t, db, stuck.ID)

	r := mustRun(t, db, exitUnreachable, "send", "echo", "x")
	oneErrorLine(t, r, stuck.ID)
	oneErrorLine(t, r, "--allow-damaged")
	oneErrorLine(t, r, "a2atop check --db "+db)

	mustRun(t, db, exitOK, "send", "--allow-damaged", "echo", "x")
	r = mustRun(t, db, exitOK, "send", "--allow-damaged", "--json", "--task", waiting.ID, "2030-01-31")
	if decodeTask(t, r.stdout).Status.State != "completed" {
		t.Errorf("answer on a damaged store: %s", r.stdout)
	}
	oneErrorLine(t, mustRun(t, db, exitUnreachable, "list"), stuck.ID)
}

// A list through the socket of the a2atop that holds the store names the
// damaged tasks as one that opens the store itself does (the host sends
// them as a2atop's own ListTasks member).
func TestDamagedRecordThroughHost(t *testing.T) {
	db := tempDB(t)
	var ids []string
	for _, word := range []string{"one", "two"} {
		ids = append(ids, decodeTask(t, mustRun(t, db, exitOK, "send", "--json", "echo", word).stdout).ID)
	}
	damageRecord(t, db, ids[1])
	serveInProcess(t, nil, "--db", db) // holds the store and shares its engine

	r := mustRun(t, db, exitUnreachable, "list")
	if !strings.Contains(r.stdout, ids[0]) || strings.Contains(r.stdout, ids[1]) {
		t.Errorf("list through the host must print the sound task only:\n%s", r.stdout)
	}
	oneErrorLine(t, r, ids[1])
}
