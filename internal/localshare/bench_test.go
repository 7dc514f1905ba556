package localshare

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/a2atop/a2atop/a2a"
)

// BenchmarkSend: one blocking echo send at a time on a bbolt store (fsync
// on), from the process hosting the engine and from another Local using
// it through the unix socket (both in this process: the socket path is
// the same as between processes).
func BenchmarkSend(b *testing.B) {
	for _, side := range []string{"host", "socket"} {
		b.Run(side, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "tasks.db")
			opts := demoOptions(b)
			host, err := Open(context.Background(), path, opts)
			if err != nil {
				b.Fatal(err)
			}
			defer host.Close()
			l := host
			if side == "socket" {
				if l, err = Open(context.Background(), path, opts); err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				if l.Role().Kind != Client {
					b.Fatalf("role %+v", l.Role())
				}
			}
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				res, err := l.Send(ctx, sendReq("echo bench"))
				if err != nil || res.Task.Status.State != a2a.StateCompleted {
					b.Fatalf("send: %+v, %v", res, err)
				}
			}
		})
	}
}

// BenchmarkWatchSeesSend: a blocking echo send on the host, then the wait
// until a Watch sees the task end: on the host's engine, and through the
// socket from another Local (the dashboard of another process). The
// difference is what the socket adds to live updates.
func BenchmarkWatchSeesSend(b *testing.B) {
	for _, side := range []string{"host", "socket"} {
		b.Run(side, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "tasks.db")
			opts := demoOptions(b)
			host, err := Open(context.Background(), path, opts)
			if err != nil {
				b.Fatal(err)
			}
			defer host.Close()
			watcher := host
			if side == "socket" {
				if watcher, err = Open(context.Background(), path, opts); err != nil {
					b.Fatal(err)
				}
				defer watcher.Close()
			}
			ctx := context.Background()
			w, err := watcher.Watch(ctx, "")
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			b.ResetTimer()
			for b.Loop() {
				res, err := host.Send(ctx, sendReq("echo watched"))
				if err != nil {
					b.Fatal(err)
				}
				for {
					ev, err := w.Recv()
					if err != nil {
						b.Fatal(err)
					}
					if st, ok := ev.Event.(*a2a.StatusUpdateEvent); ok && st.TaskID == res.Task.ID && st.Status.State.Terminal() {
						break
					}
				}
			}
		})
	}
}
