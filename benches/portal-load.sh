#!/usr/bin/env bash
# Load on the portal's plan and indicator pages: a release `planledger serve` on a fresh data dir loaded with the
# seed plans, then wrk against each page (current and past views). Needs wrk (`apt-get install -y wrk`).
# Usage: benches/portal-load.sh [seconds] [connections] [threads]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-8}
threads=${3:-2}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
cargo build --release --quiet
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
./target/release/planledger --data "$data/ledger" serve --addr "127.0.0.1:$port" >"$data/serve.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/api/plans" >/dev/null 2>&1 && break
  sleep 0.1
done
base="http://127.0.0.1:$port"
for path in \
  /plans/shinagawa-jisshi-4 \
  "/plans/shinagawa-jisshi-4?at=150" \
  /indicators/shinagawa-jisshi-4.6-1-1-2-r3.kpi1 \
  "/indicators/shinagawa-jisshi-4.6-1-1-2-r3.kpi1?effective=2017"; do
  test "$(curl -s -o /dev/null -w '%{http_code}' "$base$path")" = 200
  echo "== $path ($(curl -s "$base$path" | wc -c) bytes)"
  wrk -t"$threads" -c"$conns" -d"${secs}s" --latency "$base$path" | grep -E 'Requests/sec|Latency|50%|99%|requests in'
done
