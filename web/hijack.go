package web

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
)

// Buffer sizes of an upgraded connection. Client frames are small (a hello
// is under 1 KiB) and most server frames too; a larger frame is read or
// written straight through the buffer. net/http's own are 4 KiB each, and
// an idle connection keeps its buffers for life: 19,000 of them hold 150
// MiB of it.
const (
	wsReadBuffer  = 1 << 10
	wsWriteBuffer = 1 << 10
)

// smallBuffers is a ResponseWriter whose Hijack hands the connection over
// with buffers of its own, smaller than net/http's, which it leaves behind
// once the handler has returned. The connection it hands over is the
// pinger, so heartbeats can put pings between frames and take the pongs
// out.
type smallBuffers struct {
	http.ResponseWriter
	pinger *pinger
}

func (w smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	p := w.pinger
	p.Conn, p.src = nc, nc
	if n := brw.Reader.Buffered(); n > 0 {
		// Bytes the client sent after its request, already read (at
		// least the byte net/http's background read took): they come
		// first.
		b, _ := brw.Reader.Peek(n)
		p.src = io.MultiReader(bytes.NewReader(bytes.Clone(b)), nc)
	}
	return p, bufio.NewReadWriter(bufio.NewReaderSize(p, wsReadBuffer), bufio.NewWriterSize(p, wsWriteBuffer)), nil
}
