package localshare

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/a2atop/a2atop/client"
)

// baseURL is the agent URL the socket's client uses: the host name is
// never resolved, every connection goes to the socket.
const baseURL = "http://a2atop-local/"

// probeTimeout bounds the question "is the host I knew still serving?".
const probeTimeout = 2 * time.Second

// remote is this process using the engine another process hosts.
type remote struct {
	sock string
	hc   *http.Client
	cl   *client.Client
	info HostInfo
	peer peer

	// monitor is the open ?follow=1 response; it ends when the host
	// begins to close (or dies), and then ended is closed.
	monitor io.Closer
	ended   chan struct{}
}

// socketClient is an HTTP client whose every connection dials sock.
func socketClient(sock string, keepAlive bool) *http.Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			c, _, err := dialPrivate(ctx, sock)
			return c, err
		},
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		DisableKeepAlives:   !keepAlive,
	}
	return &http.Client{Transport: tr}
}

// dialHost connects to the host serving sock: its HostInfo first (which
// also keeps a connection open to tell when it goes), then an A2A client.
func dialHost(ctx context.Context, sock string, copts client.Options) (*remote, error) {
	c, pc, err := dialPrivate(ctx, sock)
	if err != nil {
		return nil, err
	}
	r := &remote{sock: sock, peer: pc, ended: make(chan struct{})}
	// The monitor has its own connection, never pooled.
	mon := &http.Client{Transport: &http.Transport{
		DialContext:       func(context.Context, string, string) (net.Conn, error) { return c, nil },
		DisableKeepAlives: true,
	}}
	req, err := http.NewRequest(http.MethodGet, baseURL+HostPath[1:]+"?follow=1", nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	// The monitor lives as long as the host: no deadline once it answered.
	answered := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		select {
		case <-answered:
		default:
			c.Close()
		}
	})
	resp, err := mon.Do(req)
	close(answered)
	stop()
	if err != nil {
		c.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("socket %s: the process serving it accepted but did not answer (stopped?)", sock)
		}
		return nil, fmt.Errorf("socket %s: %w", sock, err)
	}
	br := bufio.NewReader(io.LimitReader(resp.Body, 64<<10))
	line, err := br.ReadBytes('\n')
	if resp.StatusCode != http.StatusOK || err != nil {
		resp.Body.Close()
		return nil, fmt.Errorf("socket %s: the host is not serving (%s)", sock, resp.Status)
	}
	if err := json.Unmarshal(line, &r.info); err != nil || r.info.Instance == "" {
		resp.Body.Close()
		return nil, fmt.Errorf("socket %s: unreadable host description", sock)
	}
	if pc.known {
		r.info.PID = pc.pid // the kernel's word over the host's
	}
	r.monitor = resp.Body
	go func() {
		defer close(r.ended)
		_, _ = io.Copy(io.Discard, br)
	}()

	r.hc = socketClient(sock, true)
	copts.HTTPClient = r.hc
	copts.NoJournal = true
	copts.OwnPeer = true // the host is a2atop: it lists in the order asked
	cl, err := client.New(ctx, baseURL, copts)
	if err != nil {
		r.close()
		return nil, fmt.Errorf("socket %s: %w", sock, err)
	}
	r.cl = cl
	return r, nil
}

// alive asks the host, on a fresh connection, whether it is still the one
// this remote knew and still serving. A host that is closing answers 503
// or refuses the connection.
func (r *remote) alive(ctx context.Context) bool {
	select {
	case <-r.ended:
		return false
	default:
	}
	info, err := r.ask(ctx, socketClient(r.sock, false))
	return err == nil && info.Instance == r.info.Instance
}

// ask gets the host's HostInfo through hc.
func (r *remote) ask(ctx context.Context, hc *http.Client) (HostInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var info HostInfo
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+HostPath[1:], nil)
	if err != nil {
		return info, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return info, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return info, fmt.Errorf("socket %s: the host answered %s", r.sock, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&info); err != nil {
		return info, fmt.Errorf("socket %s: unreadable host description: %w", r.sock, err)
	}
	return info, nil
}

func (r *remote) close() error {
	if r.monitor != nil {
		_ = r.monitor.Close()
		<-r.ended
	}
	var err error
	if r.cl != nil {
		err = r.cl.Close()
	}
	if r.hc != nil {
		r.hc.CloseIdleConnections()
	}
	return err
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}
