#!/usr/bin/env bash
# bench.sh measures presenced: the Go benchmarks, then load runs of a real
# node on loopback driven by `presencectl load`, and writes a markdown
# table of the figures (docs/performance.md explains each one).
#
#   scripts/bench.sh                    # everything, N = 1000 10000 19000
#   NS="1000" GO_BENCH=0 scripts/bench.sh
#
# Knobs (environment):
#   NS         connection counts to run           (1000 10000 19000)
#   K          subscriptions per connection        (100)
#   RATE       connects started per second         (5000: the tool's pace, above what the node takes)
#   IDLE_S     seconds of the idle CPU window      (30)
#   CHURN_S    seconds of the churn window         (30)
#   CHURN      share of users changing per second  (0.01)
#   CALM       share for the latency when not bursting (0.001)
#   PROBE      connections of the latency probe, at most N/2 (500)
#   LATENCY_RUNS  which runs with status changes to make ("calm churn"; "" for none)
#   GO_BENCH   1 runs the Go benchmarks (count 6) into OUT_DIR/go-bench.txt (1)
#   CAPACITY   1 checks the open-file cap (HTTP 503) with a node at ulimit -n 2100 (1)
#   SERVER     a prebuilt presenced binary to measure (default: built from this tree)
#   OUT        the markdown table                  (OUT_DIR/results.md)
#   OUT_DIR    raw outputs                         (a new folder under /tmp)
#
# Every run is bounded in time, targets 127.0.0.1 only, connects from
# 127.0.0.2-127.0.0.5 (one address per 15,000 connections is needed), and
# raises `ulimit -n` to the hard limit in the shell of each process. The
# node and the load tool are separate processes.
set -euo pipefail

cd "$(dirname "$0")/.."
NS=${NS-"1000 10000 19000"} # "" for none
K=${K:-100}
RATE=${RATE:-5000}
IDLE_S=${IDLE_S:-30}
CHURN_S=${CHURN_S:-30}
CHURN=${CHURN:-0.01}
CALM=${CALM:-0.001}
PROBE=${PROBE:-500}
LATENCY_RUNS=${LATENCY_RUNS-calm churn}
GO_BENCH=${GO_BENCH:-1}
CAPACITY=${CAPACITY:-1}
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/presenced-bench.XXXXXX)}
OUT=${OUT:-$OUT_DIR/results.md}
PORT=${PORT:-18480}
ADMIN_PORT=${ADMIN_PORT:-19490}
SECRET=bench-secret-$$
SOURCES=127.0.0.2-127.0.0.5
TCK=$(getconf CLK_TCK)
mkdir -p "$OUT_DIR"

log() { echo "bench: $*" >&2; }

BIN=$OUT_DIR/bin
mkdir -p "$BIN"
if [[ -n "${SERVER:-}" ]]; then
	cp "$SERVER" "$BIN/presenced"
else
	go build -o "$BIN/presenced" ./cmd/presenced
fi
go build -o "$BIN/presencectl" ./cmd/presencectl

if [[ $GO_BENCH == 1 ]]; then
	log "Go benchmarks (count 6) -> $OUT_DIR/go-bench.txt"
	go test -run '^$' -bench . -benchmem -count 6 -cpu 1,2 ./presence ./hub ./web ./web/wire >"$OUT_DIR/go-bench.txt"
fi

SERVER_PID=
stop_server() {
	if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID"
		for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$SERVER_PID" 2>/dev/null || true
	fi
	SERVER_PID=
}
trap stop_server EXIT

# start_server NOFILE LOGNAME: a fresh node on an empty store.
start_server() {
	local nofile=$1 name=$2
	local data=$OUT_DIR/data-$name
	rm -rf "$data"
	(
		ulimit -n "$nofile"
		# The load tool is one client on a few addresses: no per-source cap.
		exec "$BIN/presenced" -addr 127.0.0.1:$PORT -admin-addr 127.0.0.1:$ADMIN_PORT \
			-edition enterprise -jwt-secret "$SECRET" -data "$data" -max-pending-per-source 0
	) 2>"$OUT_DIR/server-$name.log" &
	SERVER_PID=$!
	for _ in $(seq 100); do
		curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
		sleep 0.1
	done
	curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null
	sleep 2 # let start-up garbage settle before the baseline
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
conns_now() {
	curl -fs "http://127.0.0.1:$ADMIN_PORT/metrics" 2>/dev/null | awk '$1 == "presence_connections" {print $2}'
}
memstat() { # memstat NAME: a runtime.MemStats figure from the heap profile, in KiB
	curl -fs "http://127.0.0.1:$ADMIN_PORT/debug/pprof/heap?debug=1" |
		awk -v k="$1" '$1 == "#" && $2 == k && $3 == "=" {v = int($4 / 1024)} END {print v + 0}'
}
goroutines() { curl -fs "http://127.0.0.1:$ADMIN_PORT/debug/pprof/goroutine?debug=1" | awk 'NR==1 {print $4}'; }

# load N CHURN SECONDS NAME [PREFIX SOURCES]: presencectl load in the
# background; its pid is LOAD_PID.
load() {
	local n=$1 churn=$2 secs=$3 name=$4 prefix=${5:-load-} sources=${6:-$SOURCES}
	(
		ulimit -n "$(ulimit -Hn)"
		exec "$BIN/presencectl" load -url ws://127.0.0.1:$PORT/ws -secret "$SECRET" -n "$n" -subscribe "$K" \
			-rate "$RATE" -churn "$churn" -duration "${secs}s" -source-ips "$sources" -user-prefix "$prefix" -json
	) >"$OUT_DIR/load-$name.json" 2>"$OUT_DIR/load-$name.log" &
	LOAD_PID=$!
}

# wait_connected N: until the node counts N connections or the load ended.
wait_connected() {
	local n=$1 c
	for _ in $(seq 1200); do
		c=$(conns_now || true)
		[[ "${c:-0}" -ge "$n" ]] && return 0
		kill -0 "$LOAD_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# cpu_pct SECONDS: the node's CPU (utime+stime) over a window, in % of one core.
cpu_pct() {
	local s=$1 a b
	a=$(cpu_ticks)
	sleep "$s"
	b=$(cpu_ticks)
	awk -v a="$a" -v b="$b" -v s="$s" -v t="$TCK" 'BEGIN {printf "%.1f", (b - a) / t / s * 100}'
}

jq_load() { jq -r "$1" "$OUT_DIR/load-$2.json"; }

declare -A R
for n in $NS; do
	connect_s=$(((n + RATE - 1) / RATE * 3 + 10))

	log "N=$n idle run"
	start_server "$(ulimit -Hn)" "idle-$n"
	rss0=$(rss_kib)
	load "$n" 0 $((connect_s + 10 + IDLE_S + 25)) "idle-$n"
	wait_connected "$n" || log "N=$n: not all connected"
	sleep 10 # handshake garbage collected, heartbeats under way
	rss1=$(rss_kib)
	R[$n,rss0]=$rss0
	R[$n,rss]=$rss1
	R[$n,per]=$(awk -v a="$rss0" -v b="$rss1" -v n="$n" 'BEGIN {printf "%.1f", (b - a) / n}')
	R[$n,heap]=$(memstat HeapInuse)
	R[$n,stack]=$(memstat Stack) # "# Stack = inuse / sys"
	R[$n,goroutines]=$(goroutines)
	R[$n,idle_cpu]=$(cpu_pct "$IDLE_S")
	# An idle Go process collects its garbage only at the GC the runtime
	# forces every 2 minutes; pprof's gc=1 runs that GC now, and the
	# scavenger returns the freed pages within seconds.
	curl -fs "http://127.0.0.1:$ADMIN_PORT/debug/pprof/heap?gc=1" >/dev/null
	sleep 10
	rss2=$(rss_kib)
	R[$n,per_gc]=$(awk -v a="$rss0" -v b="$rss2" -v n="$n" 'BEGIN {printf "%.1f", (b - a) / n}')
	R[$n,heap_gc]=$(memstat HeapInuse)
	R[$n,stack_gc]=$(memstat Stack)
	log "N=$n after a GC: RSS ${rss2} KiB (${R[$n,per_gc]} KiB/conn), heap ${R[$n,heap_gc]} KiB, stacks ${R[$n,stack_gc]} KiB"
	log "N=$n RSS ${rss0} -> ${rss1} KiB (${R[$n,per]} KiB/conn), heap ${R[$n,heap]} KiB, stacks ${R[$n,stack]} KiB, ${R[$n,goroutines]} goroutines, idle CPU ${R[$n,idle_cpu]} %"
	wait "$LOAD_PID" || true
	stop_server
	R[$n,connected]=$(jq_load .connected "idle-$n")
	R[$n,failed]=$(jq_load .failed "idle-$n")
	R[$n,rate]=$(jq_load '.connect_rate | floor' "idle-$n")
	R[$n,conn_p99]=$(jq_load '.connect_latency.p99_ms' "idle-$n")

	# Latency and CPU with status changes. presencectl churns from its
	# first connect, while the node is busy with handshakes, so the
	# latency comes from a probe: a second presencectl with M users of its
	# own (K subscribers each, the same share changing per second), started
	# once the other N-M connections are up and churning.
	m=$((n / 2 < PROBE ? n / 2 : PROBE))
	for kind in $LATENCY_RUNS; do
		rate=$CALM
		[[ $kind == churn ]] && rate=$CHURN
		log "N=$n $kind run (churn $rate; probe of $m)"
		start_server "$(ulimit -Hn)" "$kind-$n"
		load $((n - m)) "$rate" $((connect_s + 5 + CHURN_S + 10)) "$kind-$n"
		main_pid=$LOAD_PID
		wait_connected $((n - m)) || log "N=$n: not all connected"
		sleep 3
		load "$m" "$rate" $((CHURN_S + 3)) "$kind-$n-probe" probe- 127.0.0.6
		sleep 2 # the probe's connects
		R[$n,${kind}_cpu]=$(cpu_pct "$CHURN_S")
		wait "$LOAD_PID" || true
		wait "$main_pid" || true
		stop_server
		R[$n,${kind}_p50]=$(jq_load '.presence_latency.p50_ms' "$kind-$n-probe")
		R[$n,${kind}_p99]=$(jq_load '.presence_latency.p99_ms' "$kind-$n-probe")
		R[$n,${kind}_samples]=$(jq_load '.presence_latency.samples' "$kind-$n-probe")
		log "N=$n $kind: CPU ${R[$n,${kind}_cpu]} %, latency p50 ${R[$n,${kind}_p50]} ms p99 ${R[$n,${kind}_p99]} ms (${R[$n,${kind}_samples]} samples)"
	done
done

if [[ $CAPACITY == 1 ]]; then
	# A node whose open-file limit is 2,100 caps itself at 2,000
	# connections (100 spare); 2,100 connects must see 100 refused with 503.
	log "capacity run: node at ulimit -n 2100, 2100 connects"
	start_server 2100 capacity
	load 2100 0 25 capacity
	wait "$LOAD_PID" || true
	cap_refused=$(curl -fs "http://127.0.0.1:$ADMIN_PORT/metrics" | awk '/^presence_connections_refused_total\{/ {n += $2} END {print n + 0}')
	stop_server
	cap_connected=$(jq_load .connected capacity)
	cap_503=$(jq_load '.failed_by_reason["http 503"] // 0' capacity)
fi

{
	echo "Measured $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(go version | awk '{print $3}'), K=$K subscriptions per connection, heartbeat 10 s, flush window 1 ms."
	echo
	echo "| N | connected | connects/s | connect p99 ms | RSS base MiB | RSS MiB | RSS/conn KiB | heap / stacks MiB | RSS/conn after GC KiB | heap / stacks after GC MiB | idle CPU % | calm p50/p99 ms | calm CPU % | churn ${CHURN} p50/p99 ms | churn CPU % |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	for n in $NS; do
		echo "| $n | ${R[$n,connected]} (${R[$n,failed]} failed) | ${R[$n,rate]} | ${R[$n,conn_p99]} | $((R[$n,rss0] / 1024)) | $((R[$n,rss] / 1024)) | ${R[$n,per]} | $((R[$n,heap] / 1024)) / $((R[$n,stack] / 1024)) | ${R[$n,per_gc]} | $((R[$n,heap_gc] / 1024)) / $((R[$n,stack_gc] / 1024)) | ${R[$n,idle_cpu]} | ${R[$n,calm_p50]:--} / ${R[$n,calm_p99]:--} | ${R[$n,calm_cpu]:--} | ${R[$n,churn_p50]:--} / ${R[$n,churn_p99]:--} | ${R[$n,churn_cpu]:--} |"
	done
	if [[ $CAPACITY == 1 ]]; then
		echo
		echo "Open-file cap: node at \`ulimit -n 2100\` (capacity 2,000), 2,100 connects: $cap_connected connected, $cap_503 refused with HTTP 503 (node counted $cap_refused in presence_connections_refused_total)."
	fi
	if [[ $GO_BENCH == 1 ]]; then
		echo
		echo '```'
		benchstat "$OUT_DIR/go-bench.txt" 2>/dev/null || "$(go env GOPATH)/bin/benchstat" "$OUT_DIR/go-bench.txt"
		echo '```'
	fi
} >"$OUT"
log "wrote $OUT (raw outputs in $OUT_DIR)"
cat "$OUT"
