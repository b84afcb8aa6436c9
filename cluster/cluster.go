package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/presence"
	"github.com/presenced/presenced/store"
	"github.com/presenced/presenced/store/redisstore"
)

// Config configures a Node. The zero value of each field means its default.
type Config struct {
	// Redis is the shared Redis: one server, Sentinel's master, or Redis
	// Cluster, on which the node uses sharded pub/sub. Required.
	Redis redis.UniversalClient
	// Store is the durable state, read on a resync. Required.
	Store store.Store
	// Prefix starts every key and the channel. Default: "{presence}:". Its
	// hash tag puts every key and the channel in one Redis Cluster slot, so
	// that scripts and transactions touching several keys run there; on
	// Redis Cluster a prefix without one is an error of Run.
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
	cfg     Config
	rdb     redis.UniversalClient
	sharded bool // Redis Cluster: SPUBLISH and SSUBSCRIBE
	log     zerolog.Logger
	h       *hub.Hub

	wake chan struct{}
	mu   sync.Mutex
	outq []hub.ClusterEvent
	// conns coalesces ConnsChanged by user: only the latest is sent.
	conns map[string]hub.ConnsChanged
	dirty bool // a publish failed: the others must resync from us
	seq   uint64
	// pubMu holds from a message's seq to its publish, so that the
	// publish loop and the heartbeat's republish send their messages in
	// seq order: a receiver takes a gap for lost messages and resyncs.
	pubMu   sync.Mutex
	lastSeq map[string]uint64 // by node: the last sequence number applied
	counts  counts            // for metrics

	// held is this node's connection count as the hub told it through
	// AddConns, whether Redis heard each call or not. The heartbeat writes
	// it back, repairing calls that failed; countMu keeps any AddConns
	// from running while it does, so the write cannot undo one.
	countMu sync.RWMutex
	held    atomic.Int64

	// Of the heartbeat goroutine: whether this node has registered, until
	// when it takes no other node for dead (after an outage), and the
	// nodes whose recorded seq was past lastSeq at the last beat, with
	// that seq (checkSeqs).
	registered bool
	sweepFrom  time.Time
	behind     map[string]uint64
}

// New returns a node for cfg.
func New(cfg Config) *Node {
	if cfg.Prefix == "" {
		cfg.Prefix = redisstore.DefaultPrefix // the store's keys and the node's side by side
	}
	if cfg.Name == "" {
		cfg.Name = cfg.ID
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 8 * time.Second
	}
	_, sharded := cfg.Redis.(*redis.ClusterClient)
	return &Node{
		cfg:     cfg,
		rdb:     cfg.Redis,
		sharded: sharded,
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
func (n *Node) keySeqs() string             { return n.cfg.Prefix + "seqs" }

// subscribe subscribes to the channel: on Redis Cluster with SSUBSCRIBE, on
// the master of the channel's slot (the prefix's hash tag), so that a
// message crosses one shard instead of every node of the Redis cluster.
func (n *Node) subscribe(ctx context.Context) *redis.PubSub {
	if n.sharded {
		return n.rdb.SSubscribe(ctx, n.channel())
	}
	return n.rdb.Subscribe(ctx, n.channel())
}

// publish queues b on p for the channel, sharded on Redis Cluster.
func (n *Node) publish(ctx context.Context, p redis.Pipeliner, b []byte) {
	if n.sharded {
		p.SPublish(ctx, n.channel(), b)
	} else {
		p.Publish(ctx, n.channel(), b)
	}
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
	if n.sharded && !redisstore.HasHashTag(n.cfg.Prefix) {
		return fmt.Errorf("cluster: prefix %q has no hash tag, which Redis Cluster needs (e.g. {presence}:)", n.cfg.Prefix)
	}
	n.h = h
	pubsub := n.subscribe(ctx)
	defer pubsub.Close()
	var wg sync.WaitGroup
	wg.Go(func() { n.publishLoop(ctx) })
	wg.Go(func() { n.heartbeatLoop(ctx) })
	wg.Go(func() { n.subscribeLoop(ctx, pubsub) })
	n.log.Info().Dur("ttl", n.cfg.TTL).Bool("sharded_pubsub", n.sharded).Msg("joined the cluster")
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
	b := encode(message{Node: n.cfg.ID, Kind: kindGone, Gone: node})
	_, err := n.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, n.keyUsers(node), n.keyAlive(node))
		p.HDel(ctx, n.keyCounts(), node)
		p.HDel(ctx, n.keySeqs(), node)
		p.SRem(ctx, n.keyNodes(), node)
		n.publish(ctx, p, b)
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
	n.pubMu.Lock()
	defer n.pubMu.Unlock()
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
	m := message{Node: n.cfg.ID, Seq: seq, Kind: kindChanges}
	for u, c := range conns {
		m.Conns = append(m.Conns, connsRecord{User: u, Online: c.Conns.Online, Away: c.Conns.Away, Reason: c.Reason.String()})
	}
	for _, ev := range evs {
		m.addEvent(ev)
	}
	b := encode(m)
	_, err := n.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for u, cc := range conns {
			if c := cc.Conns; c.Live() {
				p.HSet(ctx, n.keyUsers(n.cfg.ID), u, formatConns(c))
			} else {
				p.HDel(ctx, n.keyUsers(n.cfg.ID), u)
			}
		}
		p.HSet(ctx, n.keySeqs(), n.cfg.ID, seq)
		n.publish(ctx, p, b)
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
	// The key first: a hub busy with a connect burst must not keep this
	// node's heartbeat from Redis, or its key expires and every node
	// reloads it.
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
		users, local, ok := n.h.LocalConns(ctx)
		if !ok {
			n.markDirty()
			return ctx.Err()
		}
		if err := n.republish(ctx, users, !dirty); err != nil {
			n.mu.Lock()
			n.dirty = true
			n.mu.Unlock()
			return err
		}
		if fresh && prev == "" {
			n.log.Info().Int("connections", local).Msg("cluster: registered this node's state")
		}
		if fresh && n.registered {
			// Our own key expired: Redis was out of reach (or lost its
			// data) for longer than the TTL, and so, most likely, were
			// the others' keys. Until they have had a TTL to beat again,
			// a missing key says nothing of a node, and removing its
			// users would make them blink offline here.
			n.sweepFrom = time.Now().Add(n.cfg.TTL)
			n.log.Warn().Dur("for", n.cfg.TTL).Msg("cluster: this node's heartbeat had expired (Redis out of reach past the TTL?): no node is taken for dead until the others have beaten again")
		}
		n.registered = true
		if dirty {
			if err := n.resyncAll(ctx); err != nil {
				n.markDirty()
				return err
			}
		}
	} else if err := n.writeCount(ctx); err != nil {
		return fmt.Errorf("refresh count: %w", err)
	}
	if !time.Now().Before(n.sweepFrom) {
		if err := n.sweep(ctx); err != nil {
			return err
		}
	}
	if err := n.checkSeqs(ctx); err != nil {
		return err
	}
	total, err := n.total(ctx)
	if err != nil {
		return err
	}
	n.h.Apply(hub.CountChanged{Count: total})
	return nil
}

// checkSeqs finds the messages lost with no later one to show the gap: a
// node's last before it went quiet (a subscription on a dead master during
// a failover, say). Each node records its latest seq beside its messages;
// one that this node has still not received a beat after seeing it
// recorded was lost, and this node resyncs. A node first seen here sets
// the baseline.
func (n *Node) checkSeqs(ctx context.Context) error {
	stored, err := n.rdb.HGetAll(ctx, n.keySeqs()).Result()
	if err != nil {
		return fmt.Errorf("read seqs: %w", err)
	}
	behind := map[string]uint64{}
	lost := ""
	n.mu.Lock()
	for node, v := range stored {
		seq, err := strconv.ParseUint(v, 10, 64)
		if node == n.cfg.ID || err != nil {
			continue
		}
		last, known := n.lastSeq[node]
		switch {
		case !known:
			n.lastSeq[node] = seq
		case seq > last:
			behind[node] = seq
			if was, ok := n.behind[node]; ok && last < was {
				lost = node
			}
		}
	}
	n.mu.Unlock()
	n.behind = behind
	if lost != "" {
		n.log.Warn().Str("from", lost).Msg("cluster: messages were lost (none came after them): resyncing")
		n.behind = nil
		n.resync(ctx)
	}
	return nil
}

// writeCount writes this node's count to Redis, with no AddConns running.
func (n *Node) writeCount(ctx context.Context) error {
	n.countMu.Lock()
	defer n.countMu.Unlock()
	return n.rdb.HSet(ctx, n.keyCounts(), n.cfg.ID, n.held.Load()).Err()
}

// republish writes this node's whole state and asks every node to resync:
// only this node's connections when connsOnly (its key had expired, no
// message of it was lost), else everything.
func (n *Node) republish(ctx context.Context, users map[string]presence.Conns, connsOnly bool) error {
	n.countMu.Lock() // the count it writes must not undo an AddConns
	defer n.countMu.Unlock()
	n.pubMu.Lock()
	defer n.pubMu.Unlock()
	n.mu.Lock()
	n.seq++
	seq := n.seq
	n.mu.Unlock()
	b := encode(message{Node: n.cfg.ID, Seq: seq, Kind: kindResync, ConnsOnly: connsOnly})
	_, err := n.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SAdd(ctx, n.keyNodes(), n.cfg.ID)
		p.Del(ctx, n.keyUsers(n.cfg.ID))
		for u, c := range users {
			p.HSet(ctx, n.keyUsers(n.cfg.ID), u, formatConns(c))
		}
		p.HSet(ctx, n.keyCounts(), n.cfg.ID, n.held.Load())
		p.HSet(ctx, n.keySeqs(), n.cfg.ID, seq)
		n.publish(ctx, p, b)
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
				n.resync(ctx)
			case *redis.Message:
				n.handle(ctx, msg.Payload)
			}
		}
	}
}

// handle applies one message. A message it cannot read counts as lost:
// the node resyncs.
func (n *Node) handle(ctx context.Context, payload string) {
	m, err := decode([]byte(payload))
	if err != nil {
		n.log.Warn().Err(err).Msg("cluster: message dropped: resyncing")
		n.resync(ctx)
		return
	}
	if m.Node == n.cfg.ID {
		return
	}
	n.counts.received.Add(1)
	switch m.Kind {
	case kindGone:
		n.mu.Lock()
		delete(n.lastSeq, m.Gone)
		n.mu.Unlock()
		// A node that announces its own leaving stopped cleanly; one
		// announced by another was found dead.
		n.h.Apply(hub.NodeGone{Node: m.Gone, Clean: m.Gone == m.Node})
		return
	case kindResync:
		if n.setSeq(m.Node, m.Seq) && m.ConnsOnly {
			n.reloadNode(ctx, m.Node)
		} else {
			n.resync(ctx)
		}
		return
	}
	if !n.setSeq(m.Node, m.Seq) {
		n.log.Warn().Str("from", m.Node).Msg("cluster: messages were lost: resyncing")
		n.resync(ctx)
		return
	}
	evs, err := m.events()
	if err != nil {
		n.log.Warn().Err(err).Str("from", m.Node).Msg("cluster: message dropped: resyncing")
		n.resync(ctx)
		return
	}
	n.h.Apply(evs...)
}

// resync reloads everything, logging a failure: the next heartbeat retries.
func (n *Node) resync(ctx context.Context) {
	if err := n.resyncAll(ctx); err != nil && ctx.Err() == nil {
		n.log.Error().Err(err).Msg("cluster: resync failed; the next heartbeat retries")
		n.markDirty()
	}
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
		snap, err := n.loadNode(ctx, node)
		if err != nil {
			return err
		}
		n.h.Apply(snap)
	}
	return nil
}

// reloadNode replaces what the hub knows of node's connections with its
// hash; a failure makes the next heartbeat resync everything.
func (n *Node) reloadNode(ctx context.Context, node string) {
	snap, err := n.loadNode(ctx, node)
	if err != nil {
		if ctx.Err() == nil {
			n.log.Error().Err(err).Msg("cluster: reload failed; the next heartbeat resyncs")
			n.markDirty()
		}
		return
	}
	n.h.Apply(snap)
}

// loadNode reads node's connections from its hash.
func (n *Node) loadNode(ctx context.Context, node string) (hub.NodeSnapshot, error) {
	raw, err := n.rdb.HGetAll(ctx, n.keyUsers(node)).Result()
	if err != nil {
		return hub.NodeSnapshot{}, fmt.Errorf("read node %s: %w", node, err)
	}
	users := make(map[string]presence.Conns, len(raw))
	for u, v := range raw {
		c, err := parseConns(v)
		if err != nil {
			// One bad field must not stop every later resync.
			n.log.Warn().Err(err).Str("of_node", node).Str("user", u).Msg("cluster: unreadable connections left out")
			continue
		}
		users[u] = c
	}
	return hub.NodeSnapshot{Node: node, Users: users}, nil
}

// markDirty makes the next heartbeat republish this node's state and ask
// every node, this one included, to resync.
func (n *Node) markDirty() {
	n.mu.Lock()
	n.dirty = true
	n.mu.Unlock()
}
