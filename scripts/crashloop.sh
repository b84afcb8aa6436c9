#!/usr/bin/env bash
# crashloop.sh kills presenced with SIGKILL right after acknowledged writes,
# many times over, on bbolt and on Redis (a redis-server of the test's own,
# append-only with appendfsync always), and fails if any acknowledged write
# is missing after a restart. It runs cmd/presenced's TestCrashLoop, which
# does a few rounds in every `go test`.
#
#   scripts/crashloop.sh          # 40 rounds per store
#   LOOPS=200 scripts/crashloop.sh
#
# Needs redis-server on PATH for the Redis half (CI=true makes its absence
# a failure instead of a skip). Everything runs on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
LOOPS=${LOOPS:-40}
PRESENCE_CRASH_LOOPS=$LOOPS exec go test -count=1 -timeout 30m -run '^TestCrashLoop$' -v ./cmd/presenced
