package cluster

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/status"
	"github.com/presenced/presenced/store"
)

// TestWireRoundTrip checks that every event a node publishes arrives as the
// same event.
func TestWireRoundTrip(t *testing.T) {
	seen := time.UnixMilli(1_700_000_000_123)
	sent := []hub.ClusterEvent{
		hub.UserChanged{User: store.User{ID: "u1", Manual: presence.Busy, Text: "focus", Custom: "c1", IdleLimit: 90 * time.Second, AutoAway: true, LastSeen: seen}},
		hub.CatalogChanged{Op: "created", Status: status.Custom{ID: "c1", Name: "Lunch", Presence: presence.Away}},
		hub.ServiceSwitched{Service: store.Service{Enabled: false, Reason: "admin", Since: seen}},
		hub.SettingsChanged{Settings: store.Settings{IdleLimit: 2 * time.Minute}},
	}
	m := message{Node: "n1", Seq: 7, Kind: kindChanges, Conns: []connsRecord{{User: "u1", Online: 2, Away: 1}}}
	for _, ev := range sent {
		m.addEvent(ev)
	}
	got, err := decode(encode(m))
	if err != nil {
		t.Fatal(err)
	}
	evs, err := got.events()
	if err != nil {
		t.Fatal(err)
	}
	want := append([]hub.ClusterEvent{hub.ConnsChanged{Node: "n1", User: "u1", Conns: presence.Conns{Online: 2, Away: 1}}}, sent...)
	if !reflect.DeepEqual(evs, want) {
		t.Errorf("events after a round trip:\n got %+v\nwant %+v", evs, want)
	}
}

func TestWireRejects(t *testing.T) {
	for _, tt := range []struct{ payload, want string }{
		{`{`, "unreadable"},
		{`{"n":"n1","k":"changes"}`, "wire version 0"},
		{`{"v":2,"n":"n1","k":"changes"}`, "wire version 2"},
		{`{"v":1,"k":"changes"}`, "without a sender"},
		{`{"v":1,"n":"n1","k":"shout"}`, "unknown kind"},
		{`{"v":1,"n":"n1","k":"gone"}`, "names no node"},
		{`{"v":1,"n":"n1","k":"changes","c":[["u1",1,0]]}`, "unreadable"}, // wave 1's arrays
		{`{"v":1,"n":"n1","k":"changes","c":[{"u":"u1","o":-1,"a":0}]}`, "bad connections"},
		{`{"v":1,"n":"n1","k":"changes","u":[{"id":"u1","m":"napping"}]}`, "unknown presence"},
		{`{"v":1,"n":"n1","k":"changes","cat":[{"op":"created","id":"c1","name":"x","p":"nope"}]}`, "unknown presence"},
		{`{"v":1,"n":"n1","k":"changes","cat":[{"op":"renamed","id":"c1","name":"x","p":"busy"}]}`, "unknown op"},
	} {
		m, err := decode([]byte(tt.payload))
		if err == nil {
			_, err = m.events()
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want it to say %q", tt.payload, err, tt.want)
		}
	}
}

func TestParseConns(t *testing.T) {
	if c, err := parseConns(formatConns(presence.Conns{Online: 3, Away: 2})); err != nil || c != (presence.Conns{Online: 3, Away: 2}) {
		t.Errorf("round trip = %+v, %v", c, err)
	}
	for _, bad := range []string{"", "3", "3,", "a,1", "1,-1", "1,2,3"} {
		if _, err := parseConns(bad); err == nil {
			t.Errorf("parseConns(%q) succeeded", bad)
		}
	}
}

// A resync says whether only the sender's connections need reloading; one
// from a node that does not say (an older release) means everything.
func TestResyncSaysWhatToReload(t *testing.T) {
	got, err := decode(encode(message{Node: "n1", Seq: 3, Kind: kindResync, ConnsOnly: true}))
	if err != nil || !got.ConnsOnly {
		t.Errorf("a conns-only resync reads back as %+v, %v", got, err)
	}
	got, err = decode([]byte(`{"v":1,"n":"old","s":9,"k":"resync"}`))
	if err != nil || got.ConnsOnly {
		t.Errorf("a resync without the field reads back as %+v, %v; want a full one", got, err)
	}
}
