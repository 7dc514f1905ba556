package client

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// A card fetch that gets no answer within its timeout is not tried again:
// a blackholed agent is reported after one timeout, not four (a fleet
// dashboard showed it "connecting" for two minutes).
func TestSilentCardFetchIsNotRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			accepted.Add(1)
			held = append(held, c) // never answered
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = Discover(ctx, "http://"+ln.Addr().String()+"/", Options{Timeout: 200 * time.Millisecond})
	if err == nil {
		t.Fatal("a silent agent's card was found")
	}
	if n := accepted.Load(); n != 1 {
		t.Errorf("the silent card fetch was tried %d times, want 1", n)
	}
	ln.Close()
	<-done
}
