package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/status"
	"github.com/presenced/presenced/store"
)

// wireVersion is the version of the messages between nodes. A node drops
// (and resyncs after) a message of another version, so every node of a
// cluster must run the same release; docs/cluster.md says so.
const wireVersion = 1

// kind says what a message asks of its receivers.
type kind string

const (
	kindChanges kind = "changes" // apply the records it carries
	kindResync  kind = "resync"  // reload everything (or, with ConnsOnly, the sender's connections): the sender republished its state
	kindGone    kind = "gone"    // drop the connections of the node it names
)

// message is what crosses the channel: one node's batch of changes. Its
// JSON names are short because every presence change of the cluster is one.
type message struct {
	V     int           `json:"v"`
	Node  string        `json:"n"`
	Seq   uint64        `json:"s"`
	Kind  kind          `json:"k"`
	Conns []connsRecord `json:"c,omitempty"`
	Users []userRecord  `json:"u,omitempty"`
	Cat   []catalogMsg  `json:"cat,omitempty"`
	Svc   *serviceMsg   `json:"svc,omitempty"`
	Set   *settingsMsg  `json:"set,omitempty"`
	Gone  string        `json:"gone,omitempty"`
	Out   []string      `json:"out,omitempty"` // users signed out (the HTTP API's bye)
	// ConnsOnly, on a resync: only the sender's connections were
	// rewritten (its heartbeat key had expired), none of its messages
	// lost, so its hash is all there is to reload. A node of an older
	// release ignores it and reloads everything.
	ConnsOnly bool `json:"co,omitempty"`
}

// connsRecord is one user's connections on the sending node.
type connsRecord struct {
	User   string `json:"u"`
	Online int    `json:"o"`
	Away   int    `json:"a"`
	Reason string `json:"r,omitempty"` // why they changed: a presence.Reason
}

type userRecord struct {
	ID        string `json:"id"`
	Manual    string `json:"m"`
	Text      string `json:"t,omitempty"`
	Custom    string `json:"c,omitempty"`
	IdleLimit int64  `json:"i,omitempty"` // ms
	AutoAway  bool   `json:"a"`
	LastSeen  int64  `json:"l,omitempty"`  // unix ms
	Until     int64  `json:"un,omitempty"` // unix ms: when the chosen status expires
}

type catalogMsg struct {
	Op       string `json:"op"`
	ID       string `json:"id"`
	Name     string `json:"name"`
	Presence string `json:"p"`
	Duration int64  `json:"d,omitempty"` // ms: the default lifetime of a pick
}

type serviceMsg struct {
	Enabled bool   `json:"e"`
	Reason  string `json:"r,omitempty"`
	Since   int64  `json:"since,omitempty"`
}

type settingsMsg struct {
	IdleLimit int64 `json:"i"` // ms
}

// encode returns m as sent, version stamped.
func encode(m message) []byte {
	m.V = wireVersion
	b, err := json.Marshal(m)
	if err != nil {
		// Every field is a string, number or bool: this cannot happen.
		panic(fmt.Sprintf("cluster: encode message: %v", err))
	}
	return b
}

// decode parses one message and checks its envelope; events checks the
// records.
func decode(payload []byte) (message, error) {
	var m message
	if err := json.Unmarshal(payload, &m); err != nil {
		return message{}, fmt.Errorf("unreadable message: %w", err)
	}
	switch {
	case m.V != wireVersion:
		return message{}, fmt.Errorf("message of wire version %d from node %q, want %d: every node must run the same release", m.V, m.Node, wireVersion)
	case m.Node == "":
		return message{}, errors.New("message without a sender")
	}
	switch m.Kind {
	case kindChanges, kindResync:
	case kindGone:
		if m.Gone == "" {
			return message{}, fmt.Errorf("gone message from %q names no node", m.Node)
		}
	default:
		return message{}, fmt.Errorf("message of unknown kind %q from %q", m.Kind, m.Node)
	}
	return m, nil
}

// addEvent adds a durable change to m.
func (m *message) addEvent(ev hub.ClusterEvent) {
	switch ev := ev.(type) {
	case hub.UserChanged:
		u := ev.User
		r := userRecord{ID: u.ID, Manual: u.Manual.String(), Text: u.Text, Custom: u.Custom,
			IdleLimit: u.IdleLimit.Milliseconds(), AutoAway: u.AutoAway}
		if !u.LastSeen.IsZero() {
			r.LastSeen = u.LastSeen.UnixMilli()
		}
		if !u.Until.IsZero() {
			r.Until = u.Until.UnixMilli()
		}
		m.Users = append(m.Users, r)
	case hub.CatalogChanged:
		m.Cat = append(m.Cat, catalogMsg{Op: string(ev.Op), ID: ev.Status.ID, Name: ev.Status.Name,
			Presence: ev.Status.Presence.String(), Duration: ev.Status.Duration.Milliseconds()})
	case hub.ServiceSwitched:
		m.Svc = &serviceMsg{Enabled: ev.Service.Enabled, Reason: ev.Service.Reason, Since: ev.Service.Since.UnixMilli()}
	case hub.SettingsChanged:
		m.Set = &settingsMsg{IdleLimit: ev.Settings.IdleLimit.Milliseconds()}
	case hub.SignedOut:
		m.Out = append(m.Out, ev.User)
	}
}

// events returns the hub events that a changes message carries, or an error
// naming the first bad record: a message is applied whole or not at all.
func (m message) events() ([]hub.ClusterEvent, error) {
	var evs []hub.ClusterEvent
	for _, c := range m.Conns {
		if c.User == "" || c.Online < 0 || c.Away < 0 {
			return nil, fmt.Errorf("bad connections record %+v", c)
		}
		reason, ok := presence.ParseReason(c.Reason)
		if !ok && c.Reason != "" {
			return nil, fmt.Errorf("connections of %q: unknown reason %q", c.User, c.Reason)
		}
		evs = append(evs, hub.ConnsChanged{Node: m.Node, User: c.User, Conns: presence.Conns{Online: c.Online, Away: c.Away}, Reason: reason})
	}
	for _, r := range m.Users {
		u, err := r.user()
		if err != nil {
			return nil, err
		}
		evs = append(evs, hub.UserChanged{User: u})
	}
	for _, c := range m.Cat {
		p, ok := presence.ParseStatus(c.Presence)
		if !ok {
			return nil, fmt.Errorf("custom status %q: unknown presence %q", c.ID, c.Presence)
		}
		switch c.Op {
		case "created", "updated", "deleted":
		default:
			return nil, fmt.Errorf("custom status %q: unknown op %q", c.ID, c.Op)
		}
		evs = append(evs, hub.CatalogChanged{Op: hub.CatalogOp(c.Op), Status: status.Custom{ID: c.ID, Name: c.Name, Presence: p,
			Duration: time.Duration(c.Duration) * time.Millisecond}})
	}
	if s := m.Svc; s != nil {
		evs = append(evs, hub.ServiceSwitched{Service: store.Service{Enabled: s.Enabled, Reason: s.Reason, Since: time.UnixMilli(s.Since)}})
	}
	if s := m.Set; s != nil {
		evs = append(evs, hub.SettingsChanged{Settings: store.Settings{IdleLimit: time.Duration(s.IdleLimit) * time.Millisecond}})
	}
	for _, u := range m.Out {
		evs = append(evs, hub.SignedOut{User: u})
	}
	return evs, nil
}

func (r userRecord) user() (store.User, error) {
	m, ok := presence.ParseStatus(r.Manual)
	if !ok {
		return store.User{}, fmt.Errorf("user %q: unknown presence %q", r.ID, r.Manual)
	}
	u := store.User{ID: r.ID, Manual: m, Text: r.Text, Custom: r.Custom,
		IdleLimit: time.Duration(r.IdleLimit) * time.Millisecond, AutoAway: r.AutoAway}
	if r.LastSeen != 0 {
		u.LastSeen = time.UnixMilli(r.LastSeen)
	}
	if r.Until != 0 {
		u.Until = time.UnixMilli(r.Until)
	}
	return u, nil
}

// formatConns is a user's field in a node's connection hash: "online,away".
func formatConns(c presence.Conns) string {
	return strconv.Itoa(c.Online) + "," + strconv.Itoa(c.Away)
}

// parseConns reads formatConns.
func parseConns(v string) (presence.Conns, error) {
	on, aw, ok := strings.Cut(v, ",")
	o, err1 := strconv.Atoi(on)
	a, err2 := strconv.Atoi(aw)
	if !ok || err1 != nil || err2 != nil || o < 0 || a < 0 {
		return presence.Conns{}, fmt.Errorf("connections %q are not online,away", v)
	}
	return presence.Conns{Online: o, Away: a}, nil
}
