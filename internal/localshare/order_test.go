package localshare

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/a2atop/a2atop/a2a"
)

// A second a2atop on the same store lists through the host's socket in
// the order it asks: oldest first (Reverse) and by creation (ByCreated),
// paging with the host's tokens, as the host's engine lists them. Before,
// the socket's client refused both, so G on the second dashboard paged
// forward through every task.
func TestSocketListsInTheOrderAsked(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tasks.db")
	host := open(t, path, demoOptions(t))
	var ids []string // in creation order
	for _, text := range []string{"ask", "echo two", "echo three"} {
		res, err := host.Send(ctx, sendReq(text))
		if err != nil || res.Task == nil {
			t.Fatalf("send %q: %+v, %v", text, res, err)
		}
		ids = append(ids, res.Task.ID)
	}
	// The first task changes last: the newest change, the oldest created.
	if _, err := host.Cancel(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	cl := open(t, path, demoOptions(t))
	if r := cl.Role(); r.Kind != Client {
		t.Fatalf("second Open: role %+v, want a client of the host's socket", r)
	}
	listAll := func(svc a2a.Service, q a2a.ListRequest) []string {
		t.Helper()
		var out []string
		for range 10 {
			page, err := svc.List(ctx, q)
			if err != nil {
				t.Fatalf("list %+v: %v", q, err)
			}
			for _, tk := range page.Tasks {
				out = append(out, tk.ID)
			}
			if page.NextPageToken == "" {
				return out
			}
			q.PageToken = page.NextPageToken
		}
		t.Fatalf("list %+v does not end", q)
		return nil
	}
	newestCreated := slices.Clone(ids)
	slices.Reverse(newestCreated)
	for _, tc := range []struct {
		q    a2a.ListRequest
		want []string
	}{
		{a2a.ListRequest{PageSize: 1}, []string{ids[0], ids[2], ids[1]}},
		{a2a.ListRequest{PageSize: 1, Reverse: true}, []string{ids[1], ids[2], ids[0]}},
		{a2a.ListRequest{PageSize: 1, ByCreated: true}, newestCreated},
		{a2a.ListRequest{PageSize: 2, ByCreated: true, Reverse: true}, ids},
		{a2a.ListRequest{PageSize: 1, ByCreated: true, State: a2a.StateCompleted}, []string{ids[2], ids[1]}},
	} {
		if got := listAll(host, tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("host %+v = %v, want %v", tc.q, got, tc.want)
		}
		if got := listAll(cl, tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("through the socket %+v = %v, want %v", tc.q, got, tc.want)
		}
	}
	// A bad token still says what was wrong, through the socket too.
	if _, err := cl.List(ctx, a2a.ListRequest{ByCreated: true, PageToken: "garbage"}); !errors.Is(err, a2a.ErrInvalidParams) {
		t.Errorf("a bad created-order token through the socket: %v, want invalid params", err)
	}
}
