package localshare

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/localstore"
	"github.com/a2atop/a2atop/server"
)

// HostPath is the socket's own endpoint, next to the A2A ones: GET returns
// the host's HostInfo; with ?follow=1 the response then stays open until
// the host begins to close, so a client learns at once that it must take
// over.
const HostPath = "/.a2atop/host"

// TimelinePath serves a task's whole event log (?task=ID), which the
// dashboard's timeline shows and A2A has no method for.
const TimelinePath = "/.a2atop/timeline"

// HostInfo describes the process hosting a store's engine.
type HostInfo struct {
	PID int `json:"pid"`
	// Instance is new for every hosting: a client tells a successor at the
	// same socket from the host it knew.
	Instance string `json:"instance"`
	Agent    string `json:"agent"`
	Workdir  string `json:"workdir,omitempty"`
	DB       string `json:"db"`
	// Cursor is the store's last event cursor when the host answered: a
	// Watch from "now" that is carried over resumes after it.
	Cursor uint64 `json:"cursor"`
}

// hostShutdownGrace bounds how long the socket's in-flight requests get
// to finish once the engine is closed (they end at once: the engine's
// waits fail when it closes).
const hostShutdownGrace = 2 * time.Second

// host is this process holding the store: the engine, and the socket it
// is shared on (ln nil when it is not shared).
type host struct {
	store *localstore.Store
	eng   *engine.Engine
	info  HostInfo

	srv     *server.Server
	hs      *http.Server
	ln      *net.UnixListener
	sock    string
	sockFI  os.FileInfo
	serving chan struct{} // closed when hs.Serve returned

	closing   chan struct{} // closed when Close begins: monitors end, probes get 503
	closeOnce sync.Once
	closeErr  error
}

// startHost starts the engine on a store this process holds, and shares it
// on sock ("" or a failure to listen: not shared, warned).
func (l *Local) startHost(st *localstore.Store, sock string) (*host, error) {
	exec, err := l.opts.NewExecutor()
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	eng, err := engine.New(st, exec, l.opts.Engine)
	if err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("start the engine on %s: %w", l.path, err)
	}
	h := &host{
		store:   st,
		eng:     eng,
		closing: make(chan struct{}),
		serving: make(chan struct{}),
		info: HostInfo{
			PID:      os.Getpid(),
			Instance: uuid.NewString(),
			Agent:    l.opts.Agent,
			Workdir:  l.opts.Workdir,
			DB:       l.path,
		},
	}
	if sock == "" {
		close(h.serving)
		return h, nil
	}
	ln, fi, err := listenPrivate(sock)
	if err != nil {
		close(h.serving)
		if errors.Is(err, errNotSocket) {
			_ = h.close()
			return nil, err
		}
		l.warn(fmt.Sprintf("other a2atop processes cannot share this engine: %v", err))
		return h, nil
	}
	h.ln, h.sock, h.sockFI = ln, sock, fi
	h.srv = server.New(eng, server.Options{Logger: l.opts.Logger})
	mux := http.NewServeMux()
	mux.HandleFunc(HostPath, h.serveHost)
	mux.HandleFunc(TimelinePath, h.serveTimeline)
	mux.Handle("/", h.srv)
	h.hs = server.HTTPServer(mux, l.opts.Logger)
	go func() {
		defer close(h.serving)
		_ = h.hs.Serve(peerListener{ln})
	}()
	return h, nil
}

func (h *host) serveHost(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	select {
	case <-h.closing:
		http.Error(w, "closing", http.StatusServiceUnavailable)
		return
	default:
	}
	info := h.info
	cursor, err := h.store.LastCursor(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	info.Cursor = cursor
	w.Header().Set("Content-Type", "application/json")
	b, _ := json.Marshal(info)
	_, _ = w.Write(append(b, '\n'))
	if r.URL.Query().Get("follow") == "" {
		return
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	select {
	case <-h.closing:
	case <-r.Context().Done():
	}
}

// close stops sharing first (monitors see the end, new connections are
// refused, the socket file goes), then ends the streams, closes the engine
// (running tasks go back to the queue, blocking waits fail, so clients
// retry on their successor), lets in-flight requests finish, and releases
// the store last: only then can a successor take the lock.
func (h *host) close() error {
	h.closeOnce.Do(func() {
		close(h.closing)
		if h.ln != nil {
			removeIfSame(h.sock, h.sockFI)
			_ = h.ln.Close()
			_ = h.srv.Close()
		}
		errs := []error{h.eng.Close()}
		if h.hs != nil {
			ctx, cancel := context.WithTimeout(context.Background(), hostShutdownGrace)
			if err := h.hs.Shutdown(ctx); err != nil {
				_ = h.hs.Close()
			}
			cancel()
		}
		<-h.serving
		errs = append(errs, h.store.Close())
		h.closeErr = errors.Join(errs...)
	})
	return h.closeErr
}
