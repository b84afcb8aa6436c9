package main

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestParseSourceIPs(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "127.0.0.2", want: []string{"127.0.0.2"}},
		{in: "127.0.0.2-127.0.0.4", want: []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}},
		{in: "127.0.0.9, 127.0.0.2-127.0.0.3", want: []string{"127.0.0.9", "127.0.0.2", "127.0.0.3"}},
		{in: "127.0.0.255-127.0.1.1", want: []string{"127.0.0.255", "127.0.1.0", "127.0.1.1"}},
		{in: "::1", want: []string{"::1"}},
		{in: "", wantErr: "no source address"},
		{in: "127.0.0.5-127.0.0.2", wantErr: "before the start"},
		{in: "127.0.0.1-::2", wantErr: "before the start"},
		{in: "localhost", wantErr: "source address"},
		{in: "127.0.0.2-127.1.0.0", wantErr: "more than 4096"},
	}
	for _, tt := range tests {
		got, err := parseSourceIPs(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseSourceIPs(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseSourceIPs(%q): %v", tt.in, err)
			continue
		}
		if s := addrStrings(got); !slices.Equal(s, tt.want) {
			t.Errorf("parseSourceIPs(%q) = %v, want %v", tt.in, s, tt.want)
		}
	}
}

func TestAutoSourceIPs(t *testing.T) {
	tests := []struct {
		n    int
		want []string
	}{
		{1, []string{"127.0.0.2"}},
		{15000, []string{"127.0.0.2"}},
		{15001, []string{"127.0.0.2", "127.0.0.3"}},
		{19000, []string{"127.0.0.2", "127.0.0.3"}},
		{45000, []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}},
	}
	for _, tt := range tests {
		if got := addrStrings(autoSourceIPs(tt.n)); !slices.Equal(got, tt.want) {
			t.Errorf("autoSourceIPs(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
}

func TestLoadSources(t *testing.T) {
	tests := []struct {
		urls []string
		flag string
		n    int
		want []string
	}{
		{[]string{"ws://127.0.0.1:8080/ws"}, "", 100, []string{"127.0.0.2"}},
		{[]string{"ws://localhost:8080/ws", "ws://[::1]:8081/ws"}, "", 20000, []string{"127.0.0.2", "127.0.0.3"}},
		{[]string{"ws://127.0.0.1:8080/ws", "ws://10.0.0.1:8080/ws"}, "", 100, []string{"invalid IP"}},
		{[]string{"ws://127.0.0.1:8080/ws"}, "none", 100, []string{"invalid IP"}},
		{[]string{"ws://127.0.0.1:8080/ws"}, "127.0.0.7-127.0.0.8", 100, []string{"127.0.0.7", "127.0.0.8"}},
	}
	for _, tt := range tests {
		cfg := loadConfig{URLs: tt.urls, SourceIPs: tt.flag, N: tt.n}
		if got := addrStrings(cfg.sources()); !slices.Equal(got, tt.want) {
			t.Errorf("sources(%v, %q) = %v, want %v", tt.urls, tt.flag, got, tt.want)
		}
	}
}

func addrStrings(as []netip.Addr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}
