package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/status"
	"github.com/presenced/presenced/store"
)

// Config configures a Node. The zero value of each field means its default.
type Config struct {
	// Redis is the shared Redis. Required.
	Redis *redis.Client
	// Store is the durable state, read on a resync. Required.
	Store store.Store
	// Prefix starts every key and the channel. Default: "presence:".
	Prefix string
	// ID names the node in keys; unique per process. Required.
	ID string
	// Name is the node's advertised name, for logs. Default: ID.
	Name string
	// TTL is how long a node's heartbeat key lives: a node silent that long
	// is dead, and the others remove its connections. It is refreshed every
	// TTL/4. Default: 8 s, so a dead node is dropped within 10 s.
	TTL time.Duration
	// Log receives the backplane's logs. Default: none.
	Log zerolog.Logger
}

// Node is this process's part of the cluster.
type Node struct {
	cfg Config
	rdb *redis.Client
	log zerolog.Logger
	h   *hub.Hub

	wake chan struct{}
	mu   sync.Mutex
	outq []hub.ClusterEvent
	// conns coalesces ConnsChanged by user: only the latest is sent.
	conns   map[string]hub.ConnsChanged
	dirty   bool // a publish failed: the others must resync from us
	seq     uint64
	lastSeq map[string]uint64 // by node: the last sequence number applied
	counts  counts            // for metrics

	// held is this node's connection count as the hub told it through
	// AddConns, whether Redis heard each call or not. The heartbeat writes
	// it back, repairing calls that failed; countMu keeps any AddConns
	// from running while it does, so the write cannot undo one.
	countMu sync.RWMutex
	held    atomic.Int64
}

// New returns a node for cfg.
func New(cfg Config) *Node {
	if cfg.Prefix == "" {
		cfg.Prefix = "presence:"
	}
	if cfg.Name == "" {
		cfg.Name = cfg.ID
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 8 * time.Second
	}
	return &Node{
		cfg:     cfg,
		rdb:     cfg.Redis,
		log:     cfg.Log.With().Str("node", cfg.Name).Logger(),
		wake:    make(chan struct{}, 1),
		conns:   map[string]hub.ConnsChanged{},
		lastSeq: map[string]uint64{},
	}
}

// Keys, documented in docs/redis.md.
func (n *Node) keyNodes() string            { return n.cfg.Prefix + "nodes" }
func (n *Node) keyCounts() string           { return n.cfg.Prefix + "conns" }
func (n *Node) keyAlive(node string) string { return n.cfg.Prefix + "node:" + node }
func (n *Node) keyUsers(node string) string { return n.cfg.Prefix + "node:" + node + ":users" }
func (n *Node) channel() string             { return n.cfg.Prefix + "events" }

// message is what crosses the channel: one node's batch of changes.
type message struct {
	Node  string       `json:"n"`
	Seq   uint64       `json:"s"`
	Kind  string       `json:"k"`           // "changes", "resync" (reload me), "gone"
	Conns [][4]any     `json:"c,omitempty"` // [user, online, away, reason]
	Users []userRecord `json:"u,omitempty"`
	Cat   []catalogMsg `json:"cat,omitempty"`
	Svc   *serviceMsg  `json:"svc,omitempty"`
	Set   *settingsMsg `json:"set,omitempty"`
	Gone  string       `json:"gone,omitempty"`
	Out   []string     `json:"out,omitempty"` // users signed out
}

type userRecord struct {
	ID        string `json:"id"`
	Manual    string `json:"m"`
	Text      string `json:"t,omitempty"`
	Custom    string `json:"c,omitempty"`
	IdleLimit int64  `json:"i,omitempty"` // ms
	AutoAway  bool   `json:"a"`
	LastSeen  int64  `json:"l,omitempty"`  // unix ms
	Until     int64  `json:"un,omitempty"` // unix ms
}

type catalogMsg struct {
	Op       string `json:"op"`
	ID       string `json:"id"`
	Name     string `json:"name"`
	Presence string `json:"p"`
	Duration int64  `json:"d,omitempty"` // ms
}

type serviceMsg struct {
	Enabled bool   `json:"e"`
	Reason  string `json:"r,omitempty"`
	Since   int64  `json:"since,omitempty"`
}

type settingsMsg struct {
	IdleLimit int64 `json:"i"` // ms
}

// Publish queues ev for the other nodes. It never blocks.
func (n *Node) Publish(ev hub.ClusterEvent) {
	n.mu.Lock()
	if c, ok := ev.(hub.ConnsChanged); ok {
		n.conns[c.User] = c
	} else {
		n.outq = append(n.outq, ev)
	}
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// addScript adds to this node's count and returns the sum over every node.
var addScript = redis.NewScript(`
redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
local total = 0
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do total = total + tonumber(v) end
return total`)

// AddConns adds delta to this node's connection count and returns the
// workspace's (hub.Backplane).
func (n *Node) AddConns(ctx context.Context, delta int) (int, error) {
	n.countMu.RLock()
	defer n.countMu.RUnlock()
	n.held.Add(int64(delta))
	v, err := addScript.Run(ctx, n.rdb, []string{n.keyCounts()}, n.cfg.ID, delta).Int()
	if err != nil {
		return 0, fmt.Errorf("cluster: count connections: %w", err)
	}
	return v, nil
}

// Run joins the cluster and links it with h until ctx is done; then it
// leaves cleanly (its connections leave the count and the others drop them
// at once). It returns when every goroutine it started has ended.
func (n *Node) Run(ctx context.Context, h *hub.Hub) error {
	n.h = h
	pubsub := n.rdb.Subscribe(ctx, n.channel())
	defer pubsub.Close()
	var wg sync.WaitGroup
	wg.Go(func() { n.publishLoop(ctx) })
	wg.Go(func() { n.heartbeatLoop(ctx) })
	wg.Go(func() { n.subscribeLoop(ctx, pubsub) })
	n.log.Info().Dur("ttl", n.cfg.TTL).Msg("joined the cluster")
	wg.Wait()
	n.leave()
	return nil
}

// leave removes this node's keys and tells the others.
func (n *Node) leave() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := n.remove(ctx, n.cfg.ID); err != nil {
		n.log.Warn().Err(err).Msg("could not leave the cluster cleanly: the others will drop this node after its TTL")
		return
	}
	n.log.Info().Msg("left the cluster")
}

// remove deletes node's keys and announces that it is gone.
func (n *Node) remove(ctx context.Context, node string) error {
	b, _ := json.Marshal(message{Node: n.cfg.ID, Kind: "gone", Gone: node})
	_, err := n.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, n.keyUsers(node), n.keyAlive(node))
		p.HDel(ctx, n.keyCounts(), node)
		p.SRem(ctx, n.keyNodes(), node)
		p.Publish(ctx, n.channel(), b)
		return nil
	})
	return err
}

// publishLoop sends what Publish queued, one message a round, and keeps
// this node's connection hash in step in the same transaction.
func (n *Node) publishLoop(ctx context.Context) {
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		case <-retry.C:
		}
		if err := n.flush(ctx); err != nil && ctx.Err() == nil {
			retry.Reset(250 * time.Millisecond)
		}
	}
}

func (n *Node) flush(ctx context.Context) error {
	n.mu.Lock()
	conns, evs := n.conns, n.outq
	n.conns, n.outq = map[string]hub.ConnsChanged{}, nil
	if len(conns) == 0 && len(evs) == 0 {
		n.mu.Unlock()
		return nil
	}
	n.seq++
	seq := n.seq
	n.mu.Unlock()
	m := message{Node: n.cfg.ID, Seq: seq, Kind: "changes"}
	for u, c := range conns {
		m.Conns = append(m.Conns, [4]any{u, c.Conns.Online, c.Conns.Away, c.Reason.String()})
	}
	for _, ev := range evs {
		encodeEvent(&m, ev)
	}
	b, _ := json.Marshal(m)
	_, err := n.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for u, cc := range conns {
			if c := cc.Conns; c.Live() {
				p.HSet(ctx, n.keyUsers(n.cfg.ID), u, fmt.Sprintf("%d,%d", c.Online, c.Away))
			} else {
				p.HDel(ctx, n.keyUsers(n.cfg.ID), u)
			}
		}
		p.Publish(ctx, n.channel(), b)
		return nil
	})
	if err != nil {
		n.mu.Lock()
		if !n.dirty {
			n.log.Error().Err(err).Msg("cluster: cannot publish: presence goes on here, the others resync when Redis is back")
		}
		n.dirty = true // the heartbeat republishes everything and asks for a resync
		n.mu.Unlock()
		return err
	}
	n.counts.published.Add(1)
	return nil
}

func encodeEvent(m *message, ev hub.ClusterEvent) {
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

// heartbeatLoop refreshes this node's heartbeat key and its count, removes
// nodes whose key expired, and tells the hub the workspace's count. When
// its key was missing (first start, an outage longer than the TTL, a Redis
// restart) or a publish failed, it republishes its whole state and asks the
// others to resync.
func (n *Node) heartbeatLoop(ctx context.Context) {
	tick := time.NewTicker(n.cfg.TTL / 4)
	defer tick.Stop()
	down := false
	for {
		err := n.beat(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !down:
			down = true
			n.log.Error().Err(err).Msg("cluster: Redis unreachable: this node's users stay as they are here; the others drop them if it lasts past the TTL")
		case err == nil && down:
			down = false
			n.log.Info().Msg("cluster: Redis reachable again")
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (n *Node) beat(ctx context.Context) error {
	users, local, ok := n.h.LocalConns(ctx)
	if !ok {
		return ctx.Err()
	}
	prev, err := n.rdb.SetArgs(ctx, n.keyAlive(n.cfg.ID), n.cfg.Name, redis.SetArgs{TTL: n.cfg.TTL, Get: true}).Result()
	fresh := errors.Is(err, redis.Nil)
	if err != nil && !fresh {
		return fmt.Errorf("refresh heartbeat: %w", err)
	}
	n.mu.Lock()
	dirty := n.dirty
	n.dirty = false
	n.mu.Unlock()
	if fresh || dirty {
		if err := n.republish(ctx, users); err != nil {
			n.mu.Lock()
			n.dirty = true
			n.mu.Unlock()
			return err
		}
		if fresh && prev == "" {
			n.log.Info().Int("connections", local).Msg("cluster: registered this node's state")
		}
		if dirty {
			if err := n.resyncAll(ctx); err != nil {
				n.markDirty()
				return err
			}
		}
	} else if err := n.writeCount(ctx); err != nil {
		return fmt.Errorf("refresh count: %w", err)
	}
	if err := n.sweep(ctx); err != nil {
		return err
	}
	total, err := n.total(ctx)
	if err != nil {
		return err
	}
	n.h.Apply(hub.CountChanged{Count: total})
	return nil
}

// writeCount writes this node's count to Redis, with no AddConns running.
func (n *Node) writeCount(ctx context.Context) error {
	n.countMu.Lock()
	defer n.countMu.Unlock()
	return n.rdb.HSet(ctx, n.keyCounts(), n.cfg.ID, n.held.Load()).Err()
}

// republish writes this node's whole state and asks every node to resync.
func (n *Node) republish(ctx context.Context, users map[string]presence.Conns) error {
	n.countMu.Lock() // the count it writes must not undo an AddConns
	defer n.countMu.Unlock()
	n.mu.Lock()
	n.seq++
	seq := n.seq
	n.mu.Unlock()
	b, _ := json.Marshal(message{Node: n.cfg.ID, Seq: seq, Kind: "resync"})
	_, err := n.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SAdd(ctx, n.keyNodes(), n.cfg.ID)
		p.Del(ctx, n.keyUsers(n.cfg.ID))
		for u, c := range users {
			p.HSet(ctx, n.keyUsers(n.cfg.ID), u, fmt.Sprintf("%d,%d", c.Online, c.Away))
		}
		p.HSet(ctx, n.keyCounts(), n.cfg.ID, n.held.Load())
		p.Publish(ctx, n.channel(), b)
		return nil
	})
	if err != nil {
		return fmt.Errorf("republish state: %w", err)
	}
	return nil
}

// sweep removes nodes whose heartbeat key expired.
func (n *Node) sweep(ctx context.Context) error {
	nodes, err := n.rdb.SMembers(ctx, n.keyNodes()).Result()
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	// Counts of nodes that never registered in the set (or were removed)
	// are dropped too, so the sum stays honest.
	counted, err := n.rdb.HKeys(ctx, n.keyCounts()).Result()
	if err != nil {
		return fmt.Errorf("list counts: %w", err)
	}
	seen := map[string]bool{}
	for _, node := range append(nodes, counted...) {
		if node == n.cfg.ID || seen[node] {
			continue
		}
		seen[node] = true
		alive, err := n.rdb.Exists(ctx, n.keyAlive(node)).Result()
		if err != nil {
			return fmt.Errorf("check node %s: %w", node, err)
		}
		if alive == 0 {
			n.log.Warn().Str("dead_node", node).Msg("cluster: a node's heartbeat expired: removing its connections")
			if err := n.remove(ctx, node); err != nil {
				return fmt.Errorf("remove node %s: %w", node, err)
			}
			n.h.Apply(hub.NodeGone{Node: node})
		}
	}
	return nil
}

var _ hub.Backplane = (*Node)(nil)

// Count returns the workspace's connection count (hub.Backplane).
func (n *Node) Count(ctx context.Context) (int, error) { return n.total(ctx) }

func (n *Node) total(ctx context.Context) (int, error) {
	vals, err := n.rdb.HVals(ctx, n.keyCounts()).Result()
	if err != nil {
		return 0, fmt.Errorf("sum counts: %w", err)
	}
	total := 0
	for _, v := range vals {
		i, _ := strconv.Atoi(v)
		total += i
	}
	return total, nil
}

// subscribeLoop applies the others' messages. go-redis resubscribes by
// itself after a lost connection; each (re)subscription starts with a
// full resync, since messages sent meanwhile are lost.
func (n *Node) subscribeLoop(ctx context.Context, ps *redis.PubSub) {
	ch := ps.ChannelWithSubscriptions(redis.WithChannelSize(4096), redis.WithChannelSendTimeout(time.Second))
	for {
		select {
		case <-ctx.Done():
			return
		case msg, ok := <-ch:
			if !ok {
				return
			}
			switch msg := msg.(type) {
			case *redis.Subscription:
				// Subscribed, at start or after a reconnection.
				if err := n.resyncAll(ctx); err != nil && ctx.Err() == nil {
					n.log.Error().Err(err).Msg("cluster: resync failed; the next heartbeat retries")
					n.markDirty()
				}
			case *redis.Message:
				n.handle(ctx, msg.Payload)
			}
		}
	}
}

// handle applies one message.
func (n *Node) handle(ctx context.Context, payload string) {
	var m message
	if err := json.Unmarshal([]byte(payload), &m); err != nil {
		n.log.Warn().Err(err).Msg("cluster: unreadable message ignored")
		return
	}
	if m.Node == n.cfg.ID {
		return
	}
	n.counts.received.Add(1)
	switch m.Kind {
	case "gone":
		n.mu.Lock()
		delete(n.lastSeq, m.Gone)
		n.mu.Unlock()
		// A node that announces its own leaving stopped cleanly; one
		// announced by another was found dead.
		n.h.Apply(hub.NodeGone{Node: m.Gone, Clean: m.Gone == m.Node})
		return
	case "resync":
		n.setSeq(m.Node, m.Seq)
		if err := n.resyncAll(ctx); err != nil {
			n.log.Error().Err(err).Msg("cluster: resync failed")
		}
		return
	}
	if !n.setSeq(m.Node, m.Seq) {
		n.log.Warn().Str("from", m.Node).Msg("cluster: messages were lost: resyncing")
		if err := n.resyncAll(ctx); err != nil {
			n.log.Error().Err(err).Msg("cluster: resync failed")
		}
		return
	}
	n.apply(m)
}

// setSeq records seq as node's latest and reports whether it follows the
// one before without a gap (or is the first seen).
func (n *Node) setSeq(node string, seq uint64) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	last, known := n.lastSeq[node]
	n.lastSeq[node] = seq
	return !known || seq == last+1 || seq <= last
}

func (n *Node) apply(m message) {
	for _, c := range m.Conns {
		user, _ := c[0].(string)
		on, _ := c[1].(float64)
		aw, _ := c[2].(float64)
		why, _ := c[3].(string) // absent from older nodes: NoReason
		reason, _ := presence.ParseReason(why)
		n.h.Apply(hub.ConnsChanged{Node: m.Node, User: user, Conns: presence.Conns{Online: int(on), Away: int(aw)}, Reason: reason})
	}
	for _, r := range m.Users {
		n.h.Apply(hub.UserChanged{User: decodeUser(r)})
	}
	for _, c := range m.Cat {
		p, _ := presence.ParseStatus(c.Presence)
		n.h.Apply(hub.CatalogChanged{Op: hub.CatalogOp(c.Op), Status: status.Custom{ID: c.ID, Name: c.Name, Presence: p,
			Duration: time.Duration(c.Duration) * time.Millisecond}})
	}
	if s := m.Svc; s != nil {
		n.h.Apply(hub.ServiceSwitched{Service: store.Service{Enabled: s.Enabled, Reason: s.Reason, Since: time.UnixMilli(s.Since)}})
	}
	if s := m.Set; s != nil {
		n.h.Apply(hub.SettingsChanged{Settings: store.Settings{IdleLimit: time.Duration(s.IdleLimit) * time.Millisecond}})
	}
	for _, u := range m.Out {
		n.h.Apply(hub.SignedOut{User: u})
	}
}

func decodeUser(r userRecord) store.User {
	m, _ := presence.ParseStatus(r.Manual)
	u := store.User{ID: r.ID, Manual: m, Text: r.Text, Custom: r.Custom,
		IdleLimit: time.Duration(r.IdleLimit) * time.Millisecond, AutoAway: r.AutoAway}
	if r.LastSeen != 0 {
		u.LastSeen = time.UnixMilli(r.LastSeen)
	}
	if r.Until != 0 {
		u.Until = time.UnixMilli(r.Until)
	}
	return u
}

// resyncAll reloads the durable state from the store and every other
// node's connections from its hash.
func (n *Node) resyncAll(ctx context.Context) error {
	n.counts.resyncs.Add(1)
	st := n.cfg.Store
	var rs hub.Resync
	var err error
	if rs.Statuses, err = st.CustomStatuses(ctx); err != nil {
		return err
	}
	if rs.Users, err = st.Users(ctx); err != nil {
		return err
	}
	if rs.Service, err = st.Service(ctx); err != nil {
		return err
	}
	if rs.Settings, err = st.Settings(ctx); err != nil {
		return err
	}
	nodes, err := n.rdb.SMembers(ctx, n.keyNodes()).Result()
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	rs.Nodes = nodes
	n.h.Apply(rs)
	for _, node := range nodes {
		if node == n.cfg.ID {
			continue
		}
		raw, err := n.rdb.HGetAll(ctx, n.keyUsers(node)).Result()
		if err != nil {
			return fmt.Errorf("read node %s: %w", node, err)
		}
		users := make(map[string]presence.Conns, len(raw))
		for u, v := range raw {
			on, aw, _ := strings.Cut(v, ",")
			o, _ := strconv.Atoi(on)
			a, _ := strconv.Atoi(aw)
			users[u] = presence.Conns{Online: o, Away: a}
		}
		n.h.Apply(hub.NodeSnapshot{Node: node, Users: users})
	}
	return nil
}

// markDirty makes the next heartbeat republish this node's state and ask
// every node, this one included, to resync.
func (n *Node) markDirty() {
	n.mu.Lock()
	n.dirty = true
	n.mu.Unlock()
}
