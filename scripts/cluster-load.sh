#!/usr/bin/env bash
# cluster-load.sh runs three presenced nodes on one redis-server, all on
# loopback, loads them from several `presencectl load` processes, and
# measures what docs/cluster.md reports: cross-node change -> subscriber
# latency, Redis CPU and ops/s, each node's CPU and RSS, the pub/sub fan-in,
# and, with one node killed (kill -9) and restarted under load, the time
# until its users read offline on another node and until they are back.
#
#   scripts/cluster-load.sh                      # 3 x 19,800 = 59,400 connections
#   PER_NODE=2000 VICTIMS=200 scripts/cluster-load.sh   # a small run
#
# Knobs (environment):
#   PER_NODE   connections per node (19800: its open-file limit, 20,000, less 100 spare, less slack)
#   VICTIMS    of those, on each node, users connected to that node only (1000)
#   PROBE      of those, on each node, the probe's connections (500)
#   K          subscriptions per connection       (100)
#   CHURN      share of users changing per second  (0.01)
#   RATE       connects started per second, per load process (300: nine
#              processes at once on 2 cores; faster only queues them)
#   STEADY_S   seconds of the measured steady window (30)
#   KILL       1 kills node 3 after the steady window and restarts it (1)
#   NODE_TTL   the nodes' -node-ttl (8s, the default)
#   REDIS_PORT, BASE_PORT  ports of the redis-server and of the nodes (6430, 18600)
#   OUT_DIR    raw outputs (a new folder under /tmp)
#
# Layout: node k (1..3) holds four load processes. "churn-k" connects
# (PER_NODE - VICTIMS)/2 users n<k>-*, each changing status at CHURN per
# second; "watch-k" connects the same users again (less PROBE), on node
# k+1 (once the others are connected), and changes nothing. "victims-k"
# connects VICTIMS users v<k>-* to node k only. Once all of that is up and
# settled, "probe-k" connects PROBE more of the users n<k>-* to node k+1:
# every change it sees crossed nodes, and it counts only changes sent after
# its own connects (-warmup), so its latency is that of the steady window.
# Each process subscribes every connection to the K users after its own.
# Every process binds its own loopback source address (127.0.0.2 on). The
# load processes run until the script stops them (SIGTERM: each prints its
# summary).
set -euo pipefail

cd "$(dirname "$0")/.."
PER_NODE=${PER_NODE:-19800}
VICTIMS=${VICTIMS:-1000}
PROBE=${PROBE:-500}
K=${K:-100}
CHURN=${CHURN:-0.01}
RATE=${RATE:-300}
STEADY_S=${STEADY_S:-30}
KILL=${KILL:-1}
NODE_TTL=${NODE_TTL:-8s}
REDIS_PORT=${REDIS_PORT:-6430}
BASE_PORT=${BASE_PORT:-18600}
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/presenced-cluster-load.XXXXXX)}
SECRET=cluster-load-secret-$$
TCK=$(getconf CLK_TCK)
PAIR=$(((PER_NODE - VICTIMS) / 2))
mkdir -p "$OUT_DIR"

log() { echo "cluster-load: $(date -u +%T) $*" >&2; }

BIN=$OUT_DIR/bin
mkdir -p "$BIN"
go build -o "$BIN/presenced" ./cmd/presenced
go build -o "$BIN/presencectl" ./cmd/presencectl

declare -A PID
cleanup() {
	for p in "${PID[@]}"; do kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
	redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
}
trap cleanup EXIT

# Redis as docs/redis.md advises: AOF, fsync every second.
mkdir -p "$OUT_DIR/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$OUT_DIR/redis" --save '' \
	--appendonly yes --appendfsync everysec --daemonize yes --pidfile "$OUT_DIR/redis/redis.pid" \
	--logfile "$OUT_DIR/redis/redis.log" --maxclients 10000
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
PID[redis]=$(cat "$OUT_DIR/redis/redis.pid")

port() { echo $((BASE_PORT + $1)); }
url() { echo "ws://127.0.0.1:$(port "$1")/ws"; }

# start_node K: node K on port BASE_PORT+K, admin (metrics) on +10.
start_node() {
	local k=$1
	(
		ulimit -n "$(ulimit -Hn)"
		exec "$BIN/presenced" -addr "127.0.0.1:$(port "$k")" -admin-addr "127.0.0.1:$(($(port "$k") + 10))" \
			-edition enterprise -jwt-secret "$SECRET" -redis "redis://127.0.0.1:$REDIS_PORT/0" \
			-node-name "node-$k" -node-ttl "$NODE_TTL"
	) 2>>"$OUT_DIR/node-$k.log" &
	PID[node$k]=$!
	for _ in $(seq 100); do
		curl -fs "http://127.0.0.1:$(port "$k")/readyz" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	log "node $k did not become ready"
	return 1
}

# load NAME NODE PREFIX N CHURN SOURCE SECONDS [WARMUP]: presencectl load in
# the background; its latency counts changes sent WARMUP seconds after its start.
load() {
	local name=$1 node=$2 prefix=$3 n=$4 churn=$5 source=$6 secs=$7 warmup=${8:-0}
	(
		ulimit -n "$(ulimit -Hn)"
		exec "$BIN/presencectl" load -url "$(url "$node")" -secret "$SECRET" -n "$n" -subscribe "$K" \
			-rate "$RATE" -churn "$churn" -duration "${secs}s" -warmup "${warmup}s" -source-ips "$source" -user-prefix "$prefix" \
			-connect-timeout 60s -json
	) >"$OUT_DIR/load-$name.json" 2>"$OUT_DIR/load-$name.log" &
	PID[load-$name]=$!
}

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_mib() { awk '/^VmRSS:/ {printf "%d", $2 / 1024}' "/proc/$1/status"; }
# metric K NAME: the value of NAME on node K's /metrics (every metric is
# labelled with the node's name); empty when the node does not answer.
metric() {
	curl -fs --max-time 10 "http://127.0.0.1:$(($(port "$1") + 10))/metrics" |
		awk -v m="$2" '{split($1, name, "{")} name[1] == m {printf "%d", $2}' || true
}
# conns K: node K's authenticated connections; "?" when its hub does not
# answer the scrape within its 2 s (a finding in itself, under load).
conns() {
	local c
	c=$(metric "$1" presence_connections)
	echo "${c:-?}"
}
# sockets K: established TCP connections to node K, from the kernel: what
# the waits count, since it needs nothing of a busy node.
sockets() { ss -Htn state established "( sport = :$(port "$1") )" | wc -l; }
resyncs() { metric "$1" presence_cluster_resyncs_total; }
online() { "$BIN/presencectl" stats -url "$(url "$1")" -secret "$SECRET" -json 2>/dev/null | jq -r .users_online; }
redis_stat() { redis-cli -p "$REDIS_PORT" info "$1" | tr -d '\r'; }
commands() { redis_stat stats | awk -F: '$1 == "total_commands_processed" {print $2}'; }
publishes() { redis_stat commandstats | awk -F'[:=,]' '$1 == "cmdstat_publish" {print $3}'; }
ms_now() { date +%s%3N; }

for k in 1 2 3; do start_node "$k"; done
log "3 nodes up; loading $((3 * PER_NODE)) connections ($PAIR + $PAIR + $VICTIMS per node), K=$K, churn $CHURN"

# wait_connected N: until the three nodes hold N sockets, or their sum has
# not grown for 30 s (connects that failed are in the load logs).
wait_connected() {
	local want=$1 sum last=-1 still=0
	while :; do
		sum=0
		for k in 1 2 3; do sum=$((sum + $(sockets "$k"))); done
		[[ $sum -ge $want ]] && break
		if [[ $sum -eq $last ]]; then
			still=$((still + 1))
			[[ $still -ge 30 ]] && { log "stuck at $sum of $want sockets for 30 s"; break; }
		else
			still=0
		fi
		last=$sum
		sleep 1
	done
	echo "$sum"
}

stop_load() { kill -TERM "${PID[load-$1]}" 2>/dev/null; wait "${PID[load-$1]}" 2>/dev/null || true; }

# The churners and victims first; the watchers once those are up; the
# probes once everything is up and settled.
forever=$((4 * 3600)) # the script stops them
src=2
began=$(date +%s)
for k in 1 2 3; do
	load "churn-$k" "$k" "n$k-" "$PAIR" "$CHURN" "127.0.0.$src" "$forever"
	load "victims-$k" "$k" "v$k-" "$VICTIMS" 0 "127.0.0.$((src + 1))" "$forever"
	src=$((src + 2))
done
sum=$(wait_connected $((3 * (PAIR + VICTIMS))))
log "churners and victims connected: $sum after $(($(date +%s) - began)) s"
for k in 1 2 3; do
	load "watch-$k" "$((k % 3 + 1))" "n$k-" "$((PAIR - PROBE))" 0 "127.0.0.$src" "$forever"
	src=$((src + 1))
done
sum=$(wait_connected $((3 * (PER_NODE - PROBE))))
log "connected: $sum of $((3 * (PER_NODE - PROBE))) sockets after $(($(date +%s) - began)) s; settling 15 s"
sleep 15
warm_s=$((PROBE / RATE + 5))
for k in 1 2 3; do
	load "probe-$k" "$((k % 3 + 1))" "n$k-" "$PROBE" 0 "127.0.0.$src" "$((warm_s + STEADY_S + 10))" "$warm_s"
	src=$((src + 1))
done
sleep "$warm_s"
sum=0
for k in 1 2 3; do sum=$((sum + $(sockets "$k"))); done
log "with the probes: $sum of $((3 * PER_NODE)) sockets after $(($(date +%s) - began)) s"

# The steady window.
declare -A T0 T1
for p in redis node1 node2 node3; do T0[$p]=$(ticks "${PID[$p]}"); done
c0=$(commands)
p0=$(publishes)
sleep "$STEADY_S"
for p in redis node1 node2 node3; do T1[$p]=$(ticks "${PID[$p]}"); done
c1=$(commands)
p1=$(publishes)
cpu() { awk -v a="${T0[$1]}" -v b="${T1[$1]}" -v s="$STEADY_S" -v t="$TCK" 'BEGIN {printf "%.0f", (b - a) / t / s * 100}'; }
ops=$(((c1 - c0) / STEADY_S))
pubs=$(((p1 - p0) / STEADY_S))
redis_mem=$(redis_stat memory | awk -F: '$1 == "used_memory_human" {print $2}')
{
	echo "steady window: ${STEADY_S} s, $sum connections"
	echo "redis: CPU $(cpu redis) %, ${ops} commands/s, ${pubs} PUBLISH/s (each node receives the other two nodes' share), used memory $redis_mem"
	for k in 1 2 3; do
		echo "node $k: $(conns "$k") connections ($(sockets "$k") sockets), CPU $(cpu "node$k") %, RSS $(rss_mib "${PID[node$k]}") MiB, $(resyncs "$k") resyncs since start"
	done
} | tee "$OUT_DIR/steady.txt" >&2

# Cross-node latency over the steady window: the probes end with it.
for k in 1 2 3; do wait "${PID[load-probe-$k]}" || true; done
for k in 1 2 3; do stop_load "watch-$k"; done
for k in 1 2 3; do
	jq -r --arg k "$k" '"probe-\($k) (cross-node): \(.presence_latency.samples) samples, p50 \(.presence_latency.p50_ms) ms, p90 \(.presence_latency.p90_ms) ms, p99 \(.presence_latency.p99_ms) ms, max \(.presence_latency.max_ms) ms; connected \(.connected), failed \(.failed)"' \
		"$OUT_DIR/load-probe-$k.json"
done | tee -a "$OUT_DIR/steady.txt" >&2

if [[ $KILL == 1 ]]; then
	# With the watchers and probes gone, node 3 alone holds the users of
	# churn-3 and victims-3; only the victims reconnect after the restart.
	alone=$((PAIR + VICTIMS))
	before=$(online 1)
	log "kill -9 node 3 (users online seen on node 1: $before; node 3 alone holds $alone)"
	kill -KILL "${PID[node3]}"
	killed=$(ms_now)
	wait "${PID[node3]}" 2>/dev/null || true
	while :; do
		now=$(online 1 || echo "$before")
		[[ $now -le $((before - alone)) ]] && break
		[[ $(($(ms_now) - killed)) -gt 60000 ]] && { log "node 3's users still online after 60 s"; break; }
		sleep 0.1
	done
	offline_ms=$(($(ms_now) - killed))
	gone=$(online 1 || echo 0)
	log "node 3's users read offline on node 1 after $offline_ms ms ($gone online there now)"
	stop_load victims-3
	start_node 3
	restarted=$(ms_now)
	load victims-3-again 3 v3- "$VICTIMS" 0 "127.0.0.$src" 60
	while :; do
		now=$(online 1 || echo 0)
		[[ $now -ge $((gone + VICTIMS)) ]] && break
		[[ $(($(ms_now) - restarted)) -gt 60000 ]] && { log "node 3's users not back after 60 s"; break; }
		sleep 0.1
	done
	back_ms=$(($(ms_now) - restarted))
	{
		echo "kill -9 of node 3 (-node-ttl $NODE_TTL): its $alone users read offline on node 1 after $offline_ms ms"
		echo "node 3 restarted, its $VICTIMS users reconnecting at $RATE/s: back online on node 1 after $back_ms ms"
	} | tee "$OUT_DIR/kill.txt" >&2
fi
for k in 1 2 3; do
	f=$OUT_DIR/node-$k.log
	echo "node $k log: $(grep -c 'messages were lost' "$f") 'messages were lost', $(grep -c 'message dropped' "$f") 'message dropped', $(grep -c 'channel is full' "$f") 'channel is full', $(grep -c 'heartbeat had expired' "$f") 'heartbeat had expired', $(grep -c 'resync failed' "$f") 'resync failed', $(grep -c 'unreachable' "$f") 'unreachable'"
done | tee -a "$OUT_DIR/steady.txt" >&2
log "raw outputs in $OUT_DIR"
