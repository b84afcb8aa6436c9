package web

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"

	"github.com/presenced/presenced/hub"
)

// readLoop reads c as serve does, noting the client heard, until the
// connection ends.
func readLoop(c *conn) {
	for {
		if _, _, err := c.ws.Read(context.Background()); err != nil {
			return
		}
		c.pinger.noteHeard()
	}
}

func (c *conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// A connection that answers is pinged once per heartbeat, and not at all
// while it sends frames of its own; one that answers nothing is closed
// 2.5 heartbeats after it was last heard from, within a tick.
func TestHeartbeats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const hb = 10 * time.Second
		tick := hb / wheelSlots
		var pings atomic.Int64
		c, cli := pipeConn(t, Config{Heartbeat: hb}, &websocket.DialOptions{
			OnPingReceived: func(context.Context, []byte) bool { pings.Add(1); return true },
		})
		go readLoop(c)
		go func() { // the client reads, which answers pings
			for {
				if _, _, err := cli.Read(context.Background()); err != nil {
					return
				}
			}
		}()
		c.pinger.noteHeard()
		c.srv.beats.add(c)

		time.Sleep(3*hb + tick)
		synctest.Wait()
		if n := pings.Load(); n != 3 {
			t.Errorf("%d pings in 3 heartbeats, want 3", n)
		}
		for range 6 { // 30 s of frames every 5 s
			if err := cli.Write(context.Background(), websocket.MessageText, []byte(`{"type":"activity"}`)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(hb / 2)
		}
		synctest.Wait()
		if n := pings.Load(); n != 3 {
			t.Errorf("%d pings while the client sent frames, want none", n-3)
		}
		if c.isClosed() {
			t.Fatal("a connection that answers was closed")
		}

		// silent answers nothing: it reads nothing at all.
		silent, _ := pipeConn(t, Config{Heartbeat: hb}, nil)
		go readLoop(silent)
		silent.pinger.noteHeard()
		heard := time.Now()
		silent.srv.beats.add(silent)
		time.Sleep(hb*5/2 - tick)
		synctest.Wait()
		if silent.isClosed() {
			t.Fatalf("closed %v after it was last heard from, before 2.5 heartbeats", time.Since(heard))
		}
		time.Sleep(2 * tick)
		synctest.Wait()
		if !silent.isClosed() {
			t.Errorf("still open %v after it was last heard from", time.Since(heard))
		}
		if c.isClosed() {
			t.Error("the connection that answers was closed")
		}
	})
}

// The wheel files a connection for its next beat and lets go of one that
// ended: its goroutine ends when no connection is left.
func TestHeartbeatsEndWithTheirConnections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _ := pipeConn(t, Config{Heartbeat: time.Second}, nil)
		c.pinger.noteHeard()
		c.srv.beats.add(c)
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		time.Sleep(time.Second + c.srv.beats.tick)
		synctest.Wait()
		c.srv.beats.mu.Lock()
		running, filed := c.srv.beats.running, c.srv.beats.filed
		c.srv.beats.mu.Unlock()
		if running || filed != 0 {
			t.Errorf("running %v with %d connections filed, want it ended with none", running, filed)
		}
	})
}

// follow finds the frame boundaries of every header form in a stream cut
// into pieces of any size.
func TestPingerFollowsFrames(t *testing.T) {
	var stream []byte
	frame := func(n int) {
		stream = append(stream, 0x81)
		switch {
		case n < 126:
			stream = append(stream, byte(n))
		case n < 1<<16:
			stream = append(stream, 126, byte(n>>8), byte(n))
		default:
			stream = append(stream, 127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
		}
		stream = append(stream, strings.Repeat("x", n)...)
	}
	for _, n := range []int{0, 1, 125, 126, 1000, 65535, 65536, 70000} {
		frame(n)
	}
	for _, piece := range []int{1, 2, 3, 7, 1024, len(stream)} {
		var p pinger
		for b := stream; len(b) > 0; {
			k := min(piece, len(b))
			p.follow(b[:k])
			b = b[k:]
		}
		if p.hdrLen != 0 || p.rest != 0 {
			t.Errorf("pieces of %d: header %d bytes in, %d payload bytes to come, want a boundary", piece, p.hdrLen, p.rest)
		}
	}
	var p pinger
	p.follow(stream[:len(stream)-1])
	if p.rest != 1 {
		t.Errorf("one byte short: %d payload bytes to come, want 1", p.rest)
	}
}

// rawPonger is the client end of a WebSocket as bytes: it answers each
// ping with a pong carrying its payload, masked with a zero key, and
// allocates nothing.
func rawPonger(nc net.Conn, br *bufio.Reader) {
	var hdr [2]byte
	var pong [6 + 125]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return
		}
		n := int(hdr[1] & 0x7f)
		pong[0], pong[1] = 0x8a, 0x80|byte(n)
		if _, err := io.ReadFull(br, pong[6:6+n]); err != nil {
			return
		}
		if hdr[0] != 0x89 {
			continue
		}
		if _, err := nc.Write(pong[:6+n]); err != nil {
			return
		}
	}
}

// BenchmarkHeartbeat is one heartbeat round trip over loopback TCP: the
// server's beat of one connection, its ping, the client's pong and the
// server reading it. The client is raw bytes, so what is counted is the
// server's. "pinger" is how connections are pinged; "websocket.Ping" the
// goroutine and coder/websocket Ping per beat that it replaced.
func BenchmarkHeartbeat(b *testing.B) {
	const hb = 10 * time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	pongs := make(chan struct{}, 1)
	p := new(pinger)
	accepted := make(chan *websocket.Conn, 1)
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(smallBuffers{w, p}, r, &websocket.AcceptOptions{
			OnPongReceived: func(context.Context, []byte) { p.noteHeard(); pongs <- struct{}{} },
		})
		if err != nil {
			b.Error(err)
		}
		accepted <- ws
	})}
	go hs.Serve(ln)
	defer hs.Close()

	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	io.WriteString(nc, "GET /ws HTTP/1.1\r\nHost: bench\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		b.Fatalf("upgrade: %v %v", resp, err)
	}
	ws := <-accepted
	defer ws.CloseNow()
	s := New(Config{Hub: hub.New(hub.Config{}), Secret: testSecret, Heartbeat: hb})
	c := &conn{srv: s, ws: ws, pinger: p}
	go rawPonger(nc, br)
	read := make(chan struct{})
	go func() { defer close(read); readLoop(c) }()
	defer func() { ws.CloseNow(); <-read }()

	b.Run("pinger", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			// A beat one heartbeat after the last pong: a ping is due.
			// (A busy socket, on a loaded machine, is tried again.)
			for {
				d := c.beat(p.lastHeard().Add(hb), hb, s.beats.tick)
				if d == hb {
					break
				}
				if d != s.beats.tick {
					b.Fatalf("next beat in %v, want %v", d, hb)
				}
			}
			<-pongs
		}
	})
	b.Run("websocket.Ping", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			done := make(chan struct{})
			go func() {
				defer close(done)
				ctx, cancel := context.WithTimeout(context.Background(), hb)
				defer cancel()
				ws.Ping(ctx)
			}()
			<-pongs
			<-done
		}
	})
}
