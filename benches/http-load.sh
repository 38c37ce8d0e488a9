#!/usr/bin/env bash
# Load benchmark of the HTTP API: a release `planledger serve` on the seed ledger, driven by wrk (installed from
# Debian's packages when absent) with reads, appends, and both at once. Prints wrk's reports; nothing is asserted.
#   DURATION=10s CONNECTIONS=32 benches/http-load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
PLAN=shinagawa-jisshi-4
INDICATOR=shinagawa-jisshi-4.6-1-1-2-r3.kpi1
export NODE=shinagawa-jisshi-4.6-1-1-2-r3

if ! command -v wrk >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
cargo build --release -q
BIN=target/release/planledger
DATA=$(mktemp -d)
SERVER=
cleanup() {
  [ -n "$SERVER" ] && kill -TERM "$SERVER" 2>/dev/null && wait "$SERVER" || true
  rm -rf "$DATA"
}
trap cleanup EXIT

"$BIN" --data "$DATA/ledger" init --origin planledger.bench/http >/dev/null
"$BIN" --data "$DATA/ledger" import events/0*.jsonl >/dev/null
TOKEN=$("$BIN" --data "$DATA/ledger" token create --name bench-admin --role admin 2>/dev/null)
export TOKEN
"$BIN" --data "$DATA/ledger" serve --addr 127.0.0.1:0 >"$DATA/out" 2>"$DATA/err" &
SERVER=$!
for _ in $(seq 1 100); do
  URL=$(grep -o 'http://[^ ]*' "$DATA/out" | head -1 || true)
  [ -n "$URL" ] && break
  sleep 0.1
done
[ -n "$URL" ] || { echo "the server did not start:"; cat "$DATA/err"; exit 1; }
BASE=${URL%%/api*}
BASE=${BASE%/}
echo "server: $BASE ($(nproc) cores shared by the server and wrk)"

run() {
  echo
  echo "== $1"
  shift
  wrk --latency "$@"
}
run "plan read: GET /api/plans/$PLAN" -t2 -c"$CONNECTIONS" -d"$DURATION" "$BASE/api/plans/$PLAN"
run "indicator read: GET /api/indicators/$INDICATOR" -t2 -c"$CONNECTIONS" -d"$DURATION" "$BASE/api/indicators/$INDICATOR"
run "appends: POST /api/nodes/$NODE/text" -t2 -c"$CONNECTIONS" -d"$DURATION" -s benches/wrk-append.lua "$BASE"
echo
echo "== appends and plan reads at once (two wrk processes, $CONNECTIONS connections each)"
wrk --latency -t1 -c"$CONNECTIONS" -d"$DURATION" -s benches/wrk-append.lua "$BASE" >"$DATA/mixed-append" &
W=$!
wrk --latency -t1 -c"$CONNECTIONS" -d"$DURATION" "$BASE/api/plans/$PLAN" >"$DATA/mixed-read"
wait $W
echo "-- appends"; cat "$DATA/mixed-append"
echo "-- plan reads"; cat "$DATA/mixed-read"

kill -TERM "$SERVER"; wait "$SERVER" || true; SERVER=
echo
"$BIN" --data "$DATA/ledger" verify | tail -3
