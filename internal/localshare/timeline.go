package localshare

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
)

// maxTimelineBytes bounds a timeline response a client reads.
const maxTimelineBytes = 256 << 20

// timelineEntry is one logged event on the wire: the event in A2A v1.0
// StreamResponse JSON. (Hosts before a2a.TimelineEvent also sent the
// event's global "cursor"; no reader used it, and decoding ignores it.)
type timelineEntry struct {
	TaskID string          `json:"taskId"`
	Seq    uint64          `json:"seq"`
	Time   time.Time       `json:"time"`
	Event  json.RawMessage `json:"event"`
}

func (h *host) serveTimeline(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	taskID := r.URL.Query().Get("task")
	evs, err := h.eng.Timeline(r.Context(), taskID)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, a2a.ErrTaskNotFound) {
			status = http.StatusNotFound
		}
		http.Error(w, err.Error(), status)
		return
	}
	codec := wire.V10()
	out := make([]timelineEntry, 0, len(evs))
	for _, ev := range evs {
		b, err := codec.EncodeEvent(ev.Event)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		out = append(out, timelineEntry{TaskID: taskID, Seq: ev.Seq, Time: ev.Time, Event: b})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// fetchTimeline reads a task's event log from the host at the other end
// of hc.
func fetchTimeline(ctx context.Context, hc *http.Client, taskID string) ([]a2a.TimelineEvent, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+TimelinePath[1:]+"?task="+url.QueryEscape(taskID), nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("timeline of %s: %w", taskID, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTimelineBytes))
	if err != nil {
		return nil, fmt.Errorf("timeline of %s: %w", taskID, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, a2a.NewError(a2a.ErrTaskNotFound, "task %s not found", taskID)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("timeline of %s: %s: %s", taskID, resp.Status, oneLine(string(body)))
	}
	var in []timelineEntry
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("timeline of %s: %w", taskID, err)
	}
	codec := wire.V10()
	out := make([]a2a.TimelineEvent, 0, len(in))
	for _, e := range in {
		ev, err := codec.DecodeEvent(e.Event)
		if err != nil {
			return nil, fmt.Errorf("timeline of %s: event %d: %w", taskID, e.Seq, err)
		}
		out = append(out, a2a.TimelineEvent{Seq: e.Seq, Time: e.Time, Event: ev})
	}
	return out, nil
}
