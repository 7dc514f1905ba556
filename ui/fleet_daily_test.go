package ui

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The daily-driver habits in a fleet: marks hold the row's agent, so x
// on marks across agents cancels each task on its own agent.
func TestFleetMarksCancelOnEachRowsAgent(t *testing.T) {
	alpha, beta, m := twoAgents(t, false)
	selectKey(t, m, rowKey{0, "shared-1"})
	press(t, m, "space")
	selectKey(t, m, rowKey{1, "shared-1"})
	press(t, m, "space")
	selectKey(t, m, rowKey{1, "beta-only"})
	press(t, m, "space")
	press(t, m, "x")
	if m.dialogs.open != dialogConfirmCancel || m.dialogs.cancelPrompt != "cancel 3 marked task(s)? y/n" {
		t.Fatalf("dialog %v prompt %q", m.dialogs.open, m.dialogs.cancelPrompt)
	}
	press(t, m, "y")
	slices.Sort(beta.canceled)
	if !slices.Equal(alpha.canceled, []string{"shared-1"}) || !slices.Equal(beta.canceled, []string{"beta-only", "shared-1"}) {
		t.Fatalf("cancel: alpha %v beta %v", alpha.canceled, beta.canceled)
	}
	if len(m.table.marked) != 0 {
		t.Fatalf("marks left: %v", m.table.marked)
	}
}

// :agent is a command of the one registry, with completion of the
// agents' names; :agents opens the agents view.
func TestFleetAgentCommandInTheRegistry(t *testing.T) {
	_, _, m := twoAgents(t, false)
	press(t, m, ":")
	typeText(t, m, "agent b")
	press(t, m, "tab")
	if v := m.dialogs.command.input.Value(); v != "agent beta " {
		t.Fatalf("completion %q", v)
	}
	press(t, m, "enter")
	if m.table.rows.scope != 1 || len(m.table.rows.visible) != 2 {
		t.Fatalf("scope %d, %d visible", m.table.rows.scope, len(m.table.rows.visible))
	}
	typeCommand(t, m, "agent all")
	if m.table.rows.scope != allAgents || len(m.table.rows.visible) != 4 {
		t.Fatalf("scope %d, %d visible", m.table.rows.scope, len(m.table.rows.visible))
	}
	typeCommand(t, m, "sort id")
	if m.table.rows.order.order != sortID {
		t.Fatalf("sort %v", m.table.rows.order)
	}
	typeCommand(t, m, "agents")
	if m.dialogs.open != dialogAgents {
		t.Fatalf(":agents opened %v", m.dialogs.open)
	}
}

// c composes in the row's conversation and sends to the row's agent;
// describe asks the row's agent; in a fleet A is the agents view and C
// sorts by age.
func TestFleetReplyDescribeAndKeys(t *testing.T) {
	alpha, beta, m := twoAgents(t, false)
	selectKey(t, m, rowKey{1, "beta-only"})
	press(t, m, "c")
	typeText(t, m, "again")
	press(t, m, "enter")
	if len(beta.sent) != 1 || beta.sent[0].Message.ContextID != "ctx-beta-only" || len(alpha.sent) != 0 {
		t.Fatalf("reply: alpha %d beta %d", len(alpha.sent), len(beta.sent))
	}
	selectKey(t, m, rowKey{1, "beta-only"})
	alpha.gets, beta.gets = nil, nil
	press(t, m, "d")
	if m.dialogs.open != dialogDescribe || m.dialogs.describe.key != (rowKey{1, "beta-only"}) || len(alpha.gets) != 0 {
		t.Fatalf("describe: %v %+v alpha gets %v", m.dialogs.open, m.dialogs.describe.key, alpha.gets)
	}
	press(t, m, "esc", "A")
	if m.dialogs.open != dialogAgents {
		t.Fatalf("A opened %v", m.dialogs.open)
	}
	press(t, m, "esc", "U", "C")
	if m.table.rows.order.order != sortCreated {
		t.Fatalf("C sorted by %v", m.table.rows.order)
	}
}

// Lazy paging in a fleet: each agent lists its first page only; the
// header sums every agent's counts; G pages in every agent in scope and
// selects the oldest task of the fleet.
func TestFleetLazyPaging(t *testing.T) {
	const n = 2000
	alpha, beta := bigService(n), bigService(n)
	m := newFleetModel(t, []Agent{{Name: "alpha", Service: alpha}, {Name: "beta", Service: beta}}, 140, 30)
	if got := len(m.table.rows.byKey); got > 2*(listPageSize+prefetchRows) {
		t.Fatalf("first screen loaded %d tasks", got)
	}
	if v := screen(m); !strings.Contains(v, fmt.Sprintf("%d done", 2*(n-3))) || !strings.Contains(v, fmt.Sprintf("/%d shown", 2*n)) {
		t.Fatalf("header does not count every agent's tasks:\n%s", v)
	}
	press(t, m, "G")
	if r := m.table.selected(); r == nil || r.id != "t00000" || len(m.table.rows.byKey) > 2*(listPageSize+prefetchRows) {
		t.Fatalf("G: selected %v, %d loaded", r, len(m.table.rows.byKey))
	}
	// Scoped to beta, a reload lists beta only.
	press(t, m, "2")
	alpha.lists, beta.lists = nil, nil
	press(t, m, "r")
	if len(alpha.lists) != 0 || len(beta.lists) == 0 {
		t.Fatalf("reload in beta's scope: alpha %d lists, beta %d", len(alpha.lists), len(beta.lists))
	}
}
