package faultproxy

import (
	"bytes"
	"io"
	"net"
	"runtime"
	"testing"
)

// startServer answers every connection with payload, then closes it.
func startServer(t *testing.T, payload []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = c.Write(payload)
			}()
		}
	}()
	return ln.Addr().String()
}

func fetch(t *testing.T, addr string) []byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, _ := io.ReadAll(c)
	return b
}

func TestCutAfterForwardsExactlyNBytesOnce(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789"), 10000)
	p := Start(t, startServer(t, payload))
	if got := fetch(t, p.Addr()); !bytes.Equal(got, payload) {
		t.Fatalf("unarmed: got %d bytes, want %d", len(got), len(payload))
	}
	p.CutAfter(54321)
	if got := fetch(t, p.Addr()); !bytes.Equal(got, payload[:54321]) {
		t.Fatalf("armed: got %d bytes, want the first 54321", len(got))
	}
	if got := fetch(t, p.Addr()); !bytes.Equal(got, payload) {
		t.Fatalf("after the cut: got %d bytes, want all %d", len(got), len(payload))
	}
	if s := p.Stats(); s.Cuts != 1 || s.Accepted != 3 {
		t.Fatalf("stats %+v, want 1 cut of 3 connections", s)
	}
}

func TestBlackholeHoldsTrafficUntilResume(t *testing.T) {
	payload := []byte("hello")
	p := Start(t, startServer(t, payload))
	p.Blackhole()
	got := make(chan []byte, 1)
	go func() { got <- fetch(t, p.Addr()) }()
	// The connection is accepted and held: wait until the proxy has it,
	// then check nothing went through before letting it flow.
	for p.Stats().Accepted == 0 {
		select {
		case b := <-got:
			t.Fatalf("answered through a blackhole: %q", b)
		default:
		}
		runtimeGosched()
	}
	if s := p.Stats(); s.Downstream != 0 {
		t.Fatalf("forwarded %d bytes while blackholed", s.Downstream)
	}
	p.Resume()
	if b := <-got; !bytes.Equal(b, payload) {
		t.Fatalf("after resume got %q", b)
	}
}

func runtimeGosched() { runtime.Gosched() }
