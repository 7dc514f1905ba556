package a2a

import "testing"

func TestParseState(t *testing.T) {
	for in, want := range map[string]TaskState{
		"submitted": StateSubmitted, "TASK_STATE_SUBMITTED": StateSubmitted,
		"working": StateWorking, "Working": StateWorking, " working ": StateWorking,
		"input-required": StateInputRequired, "TASK_STATE_INPUT_REQUIRED": StateInputRequired, "input_required": StateInputRequired,
		"auth-required": StateAuthRequired, "TASK_STATE_AUTH_REQUIRED": StateAuthRequired,
		"completed": StateCompleted, "COMPLETED": StateCompleted,
		"failed": StateFailed, "TASK_STATE_FAILED": StateFailed,
		"canceled": StateCanceled, "cancelled": StateCanceled, "TASK_STATE_CANCELED": StateCanceled,
		"TASK_STATE_CANCELLED": StateCanceled, "Cancelled": StateCanceled,
		"rejected": StateRejected, "task_state_rejected": StateRejected,
		"unknown": StateUnknown, "TASK_STATE_UNSPECIFIED": StateUnknown, "": StateUnknown,
		"junk": StateUnknown, "TASK_STATE_": StateUnknown, "completed!": StateUnknown,
	} {
		if got := ParseState(in); got != want {
			t.Errorf("ParseState(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStateClasses(t *testing.T) {
	terminal := map[TaskState]bool{StateCompleted: true, StateFailed: true, StateCanceled: true, StateRejected: true}
	interrupted := map[TaskState]bool{StateInputRequired: true, StateAuthRequired: true}
	active := map[TaskState]bool{StateSubmitted: true, StateWorking: true}
	for _, s := range append(States(), "") {
		if s.Terminal() != terminal[s] || s.Interrupted() != interrupted[s] || s.Active() != active[s] {
			t.Errorf("%q: terminal %v interrupted %v active %v", s, s.Terminal(), s.Interrupted(), s.Active())
		}
		if s.Known() == (s == StateUnknown || s == "") {
			t.Errorf("%q: Known() = %v", s, s.Known())
		}
	}
	if TaskState("").String() != "unknown" || StateInputRequired.String() != "input-required" {
		t.Error("String spelling")
	}
	if len(States()) != 9 {
		t.Errorf("States() has %d states, want 9", len(States()))
	}
}

func TestParseRole(t *testing.T) {
	for in, want := range map[string]Role{"user": RoleUser, "ROLE_USER": RoleUser, "agent": RoleAgent, "ROLE_AGENT": RoleAgent, "ROLE_UNSPECIFIED": RoleUnspecified, "x": RoleUnspecified} {
		if got := ParseRole(in); got != want {
			t.Errorf("ParseRole(%q) = %q, want %q", in, got, want)
		}
	}
}
