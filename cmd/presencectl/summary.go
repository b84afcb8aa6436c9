package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/presenced/presenced/web/wire"
)

// loadSummary is what a load run measured. -json prints it as is.
type loadSummary struct {
	URLs        []string `json:"urls"`
	SourceIPs   []string `json:"source_ips"` // empty: the kernel's choice
	Connections int      `json:"connections"`
	Users       int      `json:"users"`
	DurationS   float64  `json:"duration_s"`

	Connected      int64          `json:"connected"`
	OpenAtEnd      int            `json:"open_at_end"`
	Failed         int64          `json:"failed"`
	FailedBy       map[string]int `json:"failed_by_reason"`
	Cancelled      int64          `json:"cancelled"`    // connects the end of the run cut short or never started
	ConnectRate    float64        `json:"connect_rate"` // connect+hello+subscribe per second
	ConnectLatency latencySummary `json:"connect_latency"`

	ChangesSent     int64          `json:"changes_sent"`
	ChangesAcked    int64          `json:"changes_acked"`
	ChangesRefused  map[string]int `json:"changes_refused"`
	PresenceLatency latencySummary `json:"presence_latency"`
	AckLatency      latencySummary `json:"ack_latency"` // set_status sent to its ok read

	Service      []serviceSeen    `json:"service_states"` // in the order first seen
	ServiceFinal *serviceSeen     `json:"service_final"`  // the one the connections were told last (finalService)
	Frames       int64            `json:"frames_received"`
	FramesLean   int64            `json:"frames_read_lean"` // of them, read without decoding them whole
	Events       map[string]int64 `json:"events_by_type"`   // frames that were not replies to hello or subscribe
	Closes       map[string]int   `json:"closes_by_code"`   // connections the server ended, by close code ("none": no close frame)
}

// summary gathers the counters, before the loader closes its connections.
func (l *loader) summary() *loadSummary {
	s := &loadSummary{
		URLs:            l.cfg.URLs,
		SourceIPs:       []string{},
		Connections:     l.cfg.N,
		Users:           l.cfg.Users,
		DurationS:       time.Since(l.start).Seconds(),
		Connected:       l.connected.Load(),
		Failed:          l.failed.Load(),
		Cancelled:       l.cancelled.Load(),
		ConnectLatency:  l.connectLat.summary(),
		ChangesSent:     l.sent.Load(),
		ChangesAcked:    l.acked.Load(),
		PresenceLatency: l.presenceLat.summary(),
		AckLatency:      l.ackLat.summary(),
		Events:          make(map[string]int64),
		Closes:          make(map[string]int),
	}
	for _, a := range l.sources {
		if a.IsValid() {
			s.SourceIPs = append(s.SourceIPs, a.String())
		}
	}
	if first, last := l.firstConnect.Load(), l.lastConnect.Load(); s.Connected > 0 && last > first {
		s.ConnectRate = float64(s.Connected) / time.Duration(last-first).Seconds()
	}
	for i := range l.conns {
		c := l.conns[i].Load()
		if c == nil {
			continue
		}
		s.Frames += c.frames.Load()
		s.FramesLean += c.lean.Load()
		ended, byServer, code := c.ended()
		switch {
		case !ended:
			s.OpenAtEnd++
		case byServer && code == -1:
			s.Closes["none"]++
		case byServer:
			s.Closes[strconv.Itoa(int(code))]++
		}
	}
	for i, t := range eventTypes {
		if n := l.events[i].Load(); n > 0 {
			s.Events[t] = n
		}
	}
	l.mu.Lock()
	s.FailedBy = maps.Clone(l.failures)
	s.ChangesRefused = maps.Clone(l.refusals)
	s.Service = slices.Clone(l.services)
	l.mu.Unlock()
	s.ServiceFinal = l.finalService()
	if s.Service == nil {
		s.Service = []serviceSeen{}
	}
	return s
}

// print writes the summary readably.
func (s *loadSummary) print(w io.Writer) {
	fmt.Fprintf(w, "load: %d connections of %d users to %s over %.1fs\n",
		s.Connections, s.Users, strings.Join(s.URLs, ", "), s.DurationS)
	if len(s.SourceIPs) > 0 {
		fmt.Fprintf(w, "  from             %s\n", rangeString(s.SourceIPs))
	}
	fmt.Fprintf(w, "  connected        %d (open at the end %d, not attempted or cut short %d)\n",
		s.Connected, s.OpenAtEnd, s.Cancelled)
	fmt.Fprintf(w, "  failed           %d", s.Failed)
	if s.Failed > 0 {
		fmt.Fprintf(w, " (%s)", countsString(s.FailedBy))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  connect rate     %.1f/s (connect+hello+subscribe p50 %.1fms, p99 %.1fms)\n",
		s.ConnectRate, s.ConnectLatency.P50ms, s.ConnectLatency.P99ms)
	if s.ChangesSent > 0 || s.PresenceLatency.Samples > 0 {
		fmt.Fprintf(w, "  status changes   %d sent, %d acknowledged", s.ChangesSent, s.ChangesAcked)
		if len(s.ChangesRefused) > 0 {
			fmt.Fprintf(w, ", refused %s", countsString(s.ChangesRefused))
		}
		fmt.Fprintln(w)
		p := s.PresenceLatency
		fmt.Fprintf(w, "  presence latency %d samples, p50 %.2fms, p90 %.2fms, p99 %.2fms, max %.2fms\n",
			p.Samples, p.P50ms, p.P90ms, p.P99ms, p.MaxMS)
		a := s.AckLatency
		fmt.Fprintf(w, "  reply latency    %d samples, p50 %.2fms, p90 %.2fms, p99 %.2fms, max %.2fms\n",
			a.Samples, a.P50ms, a.P90ms, a.P99ms, a.MaxMS)
	}
	fmt.Fprintf(w, "  service          ")
	if len(s.Service) == 0 {
		fmt.Fprint(w, "never told")
	}
	for i, sv := range s.Service {
		if i > 0 {
			fmt.Fprint(w, "; ")
		}
		fmt.Fprintf(w, "%s first at %.2fs, told %d times", serviceString(sv.State, sv.Reason), sv.FirstSeenS, sv.Seen)
	}
	fmt.Fprintln(w)
	if f := s.ServiceFinal; f != nil {
		fmt.Fprintf(w, "  service at end   %s, up to %d connections told, limit %s\n",
			serviceString(f.State, f.Reason), f.Connections, limitString(f.Limit))
	}
	fmt.Fprintf(w, "  frames received  %d (read lean %d", s.Frames, s.FramesLean)
	if len(s.Events) > 0 {
		fmt.Fprintf(w, "; events %s", countsString(s.Events))
	}
	fmt.Fprint(w, ")")
	fmt.Fprintln(w)
	if len(s.Closes) == 0 {
		fmt.Fprintln(w, "  closed by server none")
	} else {
		fmt.Fprintf(w, "  closed by server %s\n", countsString(s.Closes))
	}
}

// countsString says "a 3, b 1", largest first.
func countsString[N int | int64](m map[string]N) string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return int(m[b] - m[a])
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// rangeString shortens a list of consecutive addresses to "first-last".
func rangeString(ips []string) string {
	if len(ips) <= 2 {
		return strings.Join(ips, ", ")
	}
	return ips[0] + "-" + ips[len(ips)-1]
}

// failReason names why a connect failed, for the summary's counts: the
// server's error code, "close CODE", "http STATUS", or what the network
// said.
func failReason(err error) string {
	var we *wire.Error
	var he *handshakeError
	switch {
	case errors.As(err, &we):
		return we.Code
	case websocket.CloseStatus(err) != -1:
		return "close " + strconv.Itoa(int(websocket.CloseStatus(err)))
	case errors.As(err, &he):
		return "http " + strconv.Itoa(he.Status)
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EADDRINUSE):
		return "no local port"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too many open files"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	}
	return "other"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
