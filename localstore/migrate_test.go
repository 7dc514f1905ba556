package localstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
)

// dumpStore renders everything a store answers through engine.Store, as
// indented JSON: every task (Get), its timeline (Events), every List page
// of a few queries, the global log, the last cursor, the unfinished tasks
// and the message ids' tasks. Two stores with the same dump are the same
// to the engine.
func dumpStore(t *testing.T, s engine.Store, messageIDs []string) string {
	t.Helper()
	ctx := context.Background()
	type event struct {
		Task   string          `json:"task"`
		Seq    uint64          `json:"seq"`
		Cursor uint64          `json:"cursor"`
		Time   string          `json:"time"`
		Event  json.RawMessage `json:"event"`
	}
	type record struct {
		Task     json.RawMessage `json:"task"`
		Created  string          `json:"created"`
		Updated  string          `json:"updated"`
		Attempts int             `json:"attempts"`
		Priority int             `json:"priority"`
		LastSeq  uint64          `json:"lastSeq"`
		Running  bool            `json:"running"`
		Stopped  bool            `json:"stopped"`
		Events   []event         `json:"events"`
	}
	type page struct {
		IDs   []string `json:"ids"`
		Total int      `json:"total"`
	}
	out := struct {
		Tasks      []record          `json:"tasks"`
		Lists      map[string][]page `json:"lists"`
		Log        []event           `json:"log"`
		LastCursor uint64            `json:"lastCursor"`
		Unfinished []string          `json:"unfinished"`
		Messages   map[string]string `json:"messages"`
	}{Lists: map[string][]page{}, Messages: map[string]string{}}
	ev := func(l engine.LoggedEvent) event {
		b, err := v10.EncodeEvent(l.Event)
		if err != nil {
			t.Fatal(err)
		}
		return event{l.TaskID, l.Seq, l.Cursor, l.Time.UTC().Format("2006-01-02T15:04:05.000000000Z"), b}
	}
	ts := func(tm interface{ IsZero() bool }) string { return fmt.Sprint(tm) }
	_ = ts
	queries := map[string]engine.ListQuery{
		"all":              {PageSize: 7},
		"completed":        {PageSize: 5, State: a2a.StateCompleted},
		"ctx-03":           {PageSize: 2, ContextID: "ctx-03"},
		"ctx-03/completed": {PageSize: 2, ContextID: "ctx-03", State: a2a.StateCompleted},
		"text":             {PageSize: 3, Text: "number 1"},
	}
	for name, q := range queries {
		for {
			res, err := s.List(ctx, q)
			if err != nil {
				t.Fatalf("list %s: %v", name, err)
			}
			p := page{Total: res.TotalSize}
			for _, r := range res.Records {
				p.IDs = append(p.IDs, r.Task.ID)
			}
			out.Lists[name] = append(out.Lists[name], p)
			if res.NextPageToken == "" {
				break
			}
			q.PageToken = res.NextPageToken
		}
	}
	all, err := s.List(ctx, engine.ListQuery{PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all.Records {
		got, err := s.Get(ctx, r.Task.ID)
		if err != nil {
			t.Fatal(err)
		}
		tb, err := v10.EncodeTask(got.Task)
		if err != nil {
			t.Fatal(err)
		}
		rec := record{Task: tb, Created: got.Created.UTC().String(), Updated: got.Updated.UTC().String(), Attempts: got.Attempts,
			Priority: int(got.Priority), LastSeq: got.LastSeq, Running: got.Running, Stopped: got.Stopped}
		evs, err := s.Events(ctx, r.Task.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range evs {
			rec.Events = append(rec.Events, ev(l))
		}
		out.Tasks = append(out.Tasks, rec)
	}
	log, err := s.Log(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range log {
		out.Log = append(out.Log, ev(l))
	}
	if out.LastCursor, err = s.LastCursor(ctx); err != nil {
		t.Fatal(err)
	}
	un, err := s.Unfinished(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range un {
		out.Unfinished = append(out.Unfinished, r.Task.ID)
	}
	for _, m := range messageIDs {
		id, ok, err := s.TaskForMessage(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			out.Messages[m] = id
		}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b)) + "\n"
}
