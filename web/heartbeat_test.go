package web

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"runtime"
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
		var pings atomic.Int64
		c, cli := pipeConn(t, Config{Heartbeat: hb}, &websocket.DialOptions{
			OnPingReceived: func(context.Context, []byte) bool { pings.Add(1); return true },
		})
		tick := c.srv.beats.tick
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

// appendFrame appends a frame of opcode op (with FIN) and n payload bytes
// of x, masked if mask, in the header form its length needs.
func appendFrame(b []byte, op byte, n int, mask bool, x byte) []byte {
	var m byte
	if mask {
		m = 0x80
	}
	b = append(b, 0x80|op)
	switch {
	case n < 126:
		b = append(b, m|byte(n))
	case n < 1<<16:
		b = append(b, m|126, byte(n>>8), byte(n))
	default:
		b = append(b, m|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	if mask {
		b = append(b, 1, 2, 3, 4)
	}
	for range n {
		b = append(b, x)
	}
	return b
}

// inPieces feeds b to f in pieces of n bytes.
func inPieces(b []byte, n int, f func([]byte)) {
	for len(b) > 0 {
		k := min(n, len(b))
		f(b[:k])
		b = b[k:]
	}
}

var pieceSizes = []int{1, 2, 3, 7, 1024, 1 << 20}

// follow finds the frame boundaries of every header form in a stream cut
// into pieces of any size.
func TestFrameScanFollowsFrames(t *testing.T) {
	var stream []byte
	for _, n := range []int{0, 1, 125, 126, 1000, 65535, 65536, 70000} {
		stream = appendFrame(stream, 0x1, n, false, 'x')
	}
	for _, piece := range pieceSizes {
		var f frameScan
		inPieces(stream, piece, f.follow)
		if !f.between() {
			t.Errorf("pieces of %d: header %d bytes in, %d payload bytes to come, want a boundary", piece, f.hdrLen, f.rest)
		}
	}
	var f frameScan
	f.follow(stream[:len(stream)-1])
	if f.rest != 1 {
		t.Errorf("one byte short: %d payload bytes to come, want 1", f.rest)
	}
}

// The client's stream reaches coder/websocket without its pongs, whatever
// the pieces it comes in, and each pong counts as hearing from the client;
// a pong longer than a control frame is an error.
func TestPingerStripsPongs(t *testing.T) {
	var stream, want []byte
	for i, n := range []int{0, 10, 125, 126, 5000, 70000} {
		pong := appendFrame(nil, 0xa, i*20, true, 'p')
		text := appendFrame(nil, 0x1, n, true, 't')
		stream = append(append(stream, pong...), text...)
		want = append(want, text...)
	}
	stream = appendFrame(stream, 0xa, 0, true, 0) // a pong last
	for _, piece := range pieceSizes {
		var p pinger
		var got []byte
		inPieces(stream, piece, func(b []byte) {
			b = bytes.Clone(b)
			n, err := p.strip(b)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, b[:n]...)
		})
		if !bytes.Equal(got, want) {
			t.Errorf("pieces of %d: %d bytes out, want the %d without pongs", piece, len(got), len(want))
		}
		if p.heard.Load() == 0 {
			t.Errorf("pieces of %d: the pongs were not noted", piece)
		}
	}
	var p pinger
	if _, err := p.strip(appendFrame(nil, 0xa, 126, true, 'p')); err == nil {
		t.Error("a pong of 126 bytes was taken")
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

// signalReader is a reader that says when each read returned.
type signalReader struct {
	r    io.Reader
	read chan<- struct{}
}

func (r signalReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	select {
	case r.read <- struct{}{}:
	default:
	}
	return n, err
}

// BenchmarkHeartbeat is one heartbeat round trip over loopback TCP: the
// server's beat of one connection, its ping, the client's pong and the
// server's read loop taking it. The client is raw bytes, so what is
// counted is the server's.
func BenchmarkHeartbeat(b *testing.B) {
	const hb = 10 * time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	p := new(pinger)
	accepted := make(chan *websocket.Conn, 1)
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(smallBuffers{w, p}, r, nil)
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
	// The read loop's reads tell the benchmark they returned, so that it
	// can block until the pong is in rather than spin.
	reads := make(chan struct{}, 1)
	p.src = signalReader{p.src, reads}
	s := New(Config{Hub: hub.New(hub.Config{}), Secret: testSecret, Heartbeat: hb})
	c := &conn{srv: s, ws: ws, pinger: p}
	go rawPonger(nc, br)
	read := make(chan struct{})
	go func() { defer close(read); readLoop(c) }()
	defer func() { ws.CloseNow(); <-read }()

	b.ReportAllocs()
	for b.Loop() {
		heard := p.heard.Load()
		// A beat one heartbeat after the last pong: a ping is due. (A
		// busy socket, on a loaded machine, is tried again.)
		for {
			d := c.beat(time.Unix(0, heard).Add(hb), hb, s.beats.tick)
			if d == hb {
				break
			}
			if d != s.beats.tick {
				b.Fatalf("next beat in %v, want %v", d, hb)
			}
		}
		<-reads                       // the pong's read returned...
		for p.heard.Load() == heard { // ...and the pong is noted
			runtime.Gosched()
		}
	}
}
