package web

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/store/boltstore"
	"github.com/presenced/presenced/web/wire"
)

func benchEntry(i int) hub.Entry {
	since := time.Date(2026, 3, 1, 9, 30, 0, 123e6, time.UTC)
	if i%2 == 0 {
		return hub.Entry{User: fmt.Sprintf("user-%d", i), Status: presence.Busy, Text: "In a meeting",
			Custom: "6f1c2a8e-5d1b-4c36-9f0e-2b7d5a9c1e42", Since: since, LastSeen: since.Add(time.Hour)}
	}
	return hub.Entry{User: fmt.Sprintf("user-%d", i), Status: presence.Online, Since: since, LastSeen: since.Add(time.Hour)}
}

// BenchmarkEncodePresence is the presence frame one flush writes, from the
// hub's entries to JSON bytes.
func BenchmarkEncodePresence(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			es := make([]hub.Entry, n)
			for i := range es {
				es[i] = benchEntry(i)
			}
			b.ReportAllocs()
			for b.Loop() {
				encodePresence(nil, es)
			}
		})
	}
}

// BenchmarkOutboxPresence is the hub's side of the outbox: one Presence
// call, coalescing with the unsent state of the same user. A flush is
// under way, so nothing is written; every 100 calls (20 users) the batch
// is taken as a flush takes it.
func BenchmarkOutboxPresence(b *testing.B) {
	s := New(Config{Hub: hub.New(hub.Config{}), Secret: []byte("x")})
	c := &conn{srv: s, writing: true}
	es := make([]hub.Entry, 20)
	for i := range es {
		es[i] = benchEntry(i)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c.Presence(es[i%len(es)])
		if i%100 == 99 {
			c.mu.Lock()
			c.queue, c.pending, c.pendingAt = nil, nil, nil
			c.mu.Unlock()
		}
	}
}

// BenchmarkFanOut is one status change reaching 100 subscribers over real
// WebSockets on loopback: set_status from one client, until every
// subscriber has read the presence frame. The flush window is 1 ns, so no
// change waits to coalesce: this is the path's cost, not the window.
func BenchmarkFanOut(b *testing.B) {
	const subscribers = 100
	st, err := boltstore.Open(b.TempDir(), boltstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	h := hub.New(hub.Config{Store: st, Edition: hub.Enterprise})
	ctx, cancel := context.WithCancel(context.Background())
	hubCtx, stopHub := context.WithCancel(context.Background())
	hubDone := make(chan error, 1)
	go func() { hubDone <- h.Run(hubCtx) }()
	defer func() { stopHub(); <-hubDone }()
	<-h.Ready()
	srv := New(Config{Hub: h, Secret: testSecret, Log: zerolog.Nop(), FlushWindow: time.Nanosecond,
		RateLimit: 1e9, RateBurst: 1e9})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	stop := sync.OnceFunc(func() { cancel(); <-served })
	defer stop()
	url := "ws://" + ln.Addr().String() + "/ws"

	dial := func(user string) *websocket.Conn {
		dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer dcancel()
		ws, _, err := websocket.Dial(dctx, url, &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}})
		if err != nil {
			b.Fatal(err)
		}
		tok, err := Mint(testSecret, user, "", false, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		ws.Write(dctx, websocket.MessageText, []byte(`{"type":"hello","token":"`+tok+`"}`))
		if _, _, err := ws.Read(dctx); err != nil { // welcome
			b.Fatal(err)
		}
		return ws
	}
	got := make(chan struct{}, subscribers)
	readers := make(chan struct{}, subscribers)
	for i := range subscribers {
		ws := dial(fmt.Sprintf("sub-%d", i))
		defer ws.CloseNow()
		ws.Write(context.Background(), websocket.MessageText, []byte(`{"type":"subscribe","id":"s","users":["pub"]}`))
		if _, _, err := ws.Read(context.Background()); err != nil { // the snapshot result
			b.Fatal(err)
		}
		go func() {
			defer func() { readers <- struct{}{} }()
			for {
				if _, _, err := ws.Read(context.Background()); err != nil {
					return
				}
				got <- struct{}{}
			}
		}()
	}
	pub := dial("pub")
	defer pub.CloseNow()
	go func() {
		for {
			if _, _, err := pub.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	// The publisher's own connect reached the subscribers as "online".
	for range subscribers {
		<-got
	}
	frames := [][]byte{
		[]byte(`{"type":"set_status","status":"busy","text":"x"}`),
		[]byte(`{"type":"set_status","status":"away","text":"y"}`),
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := pub.Write(context.Background(), websocket.MessageText, frames[i%2]); err != nil {
			b.Fatal(err)
		}
		for range subscribers {
			<-got
		}
	}
	b.StopTimer()
	stop()
	for range subscribers {
		<-readers
	}
}
