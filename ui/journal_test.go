package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
)

// journalService is a v0.3 agent's client: its list is the journal, and it
// knows when it first saw each task.
type journalService struct {
	*fakeService
	seen map[string]time.Time
}

func (j journalService) ListsFromJournal() bool { return true }

func (j journalService) FirstSeen(id string) (time.Time, bool) {
	at, ok := j.seen[id]
	return at, ok
}

var (
	_ a2a.JournalLister = journalService{}
	_ a2a.FirstSeer     = journalService{}
)

func TestJournalAgentSaysSoAndKeepsFirstSeen(t *testing.T) {
	f := newFakeService()
	running := task("task-working-1", a2a.StateWorking, "step 3/5", 2*time.Second)
	f.tasks[running.ID] = running
	firstSeen := running.Status.Timestamp.Add(-6 * time.Hour)
	svc := journalService{fakeService: f, seen: map[string]time.Time{running.ID: firstSeen}}
	m := newTestModel(t, svc, 120, 24)
	drain(t, m, m.Init(), nil)

	if h := m.headerLine(); !strings.Contains(h, journalNote) {
		t.Errorf("the header does not say the list is the journal: %q", h)
	}
	r := m.table.rows.byKey[rowKey{id: running.ID}]
	if r == nil {
		t.Fatal("the journal's task is not listed")
	}
	if !r.created.Equal(firstSeen) {
		t.Errorf("created %s, want the first-seen time %s (a reopened dashboard must not reset it)", r.created, firstSeen)
	}
}

func TestOwnListSaysNothingOfAJournal(t *testing.T) {
	_, m := seeded(t, 120, 24)
	if h := m.headerLine(); strings.Contains(h, journalNote) {
		t.Errorf("a service with its own list is said to list a journal: %q", h)
	}
}
