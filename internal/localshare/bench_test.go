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
