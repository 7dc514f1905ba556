package cli

import (
	"strings"
	"testing"

	"github.com/a2atop/a2atop/internal/localshare"
)

func TestRoleStateWords(t *testing.T) {
	cases := []struct {
		role              localshare.Role
		wantAgent, wantIn string
		want, not         string
	}{
		{localshare.Role{Kind: localshare.Host, Agent: "demo", Socket: "/x.sock"}, "demo", "", "hosting the engine · demo agent", "not shared"},
		{localshare.Role{Kind: localshare.Host, Agent: "demo"}, "demo", "", "not shared", ""},
		{localshare.Role{Kind: localshare.Client, PID: 42, Agent: "demo"}, "demo", "", "engine of a2atop pid 42 · demo agent", "not your"},
		{localshare.Role{Kind: localshare.Client, PID: 42, Agent: "demo"}, "exec", "/w", "(not your --agent exec (in /w))", ""},
		{localshare.Role{Kind: localshare.Client, PID: 42, Agent: "exec", Workdir: "/a"}, "exec", "/b", "exec (in /a) agent (not your --agent exec (in /b))", ""},
	}
	for _, tc := range cases {
		got := roleState(tc.role, tc.wantAgent, tc.wantIn)
		if !strings.Contains(got.Text, tc.want) || (tc.not != "" && strings.Contains(got.Text, tc.not)) || !got.OK {
			t.Errorf("roleState(%+v, %s, %s) = %+v, want %q without %q", tc.role, tc.wantAgent, tc.wantIn, got, tc.want, tc.not)
		}
	}
}
