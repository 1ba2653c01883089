#!/usr/bin/env bash
# Ingest throughput: wrk posts one Alertmanager alert per request (each a new incident) to a
# release `klaxon serve` on loopback; every 202 is sent only after its group commit's fsync.
# Usage: benches/ingest.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install -y wrk)"; exit 1; }
cargo build --release --quiet
binary=${CARGO_TARGET_DIR:-target}/release/klaxon
work=$(mktemp -d)
port=9899
key=bench-key-00000000000000000000
cat > "$work/klaxon.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
data_dir = "$work/data"

[[integrations]]
name = "prometheus"
source = "alertmanager"
key = "$key"
rate_limit = 0
TOML

run() {
  local connections=$1 threads=$2
  rm -rf "$work/data"
  "$binary" serve --config "$work/klaxon.toml" >"$work/out" 2>"$work/err" &
  local pid=$!
  for _ in $(seq 100); do grep -q listening "$work/out" 2>/dev/null && break; sleep 0.1; done
  echo "== $connections connection(s), ${seconds}s"
  wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency -s benches/alertmanager.lua \
    "http://127.0.0.1:$port/v1/integrations/$key" | grep -E "Requests/sec|Latency |99%|Non-2xx|Socket errors|requests in"
  echo "resident memory: $(grep VmRSS /proc/$pid/status | awk '{print $2/1024 " MiB"}')"
  curl -s "http://127.0.0.1:$port/metrics" | grep -E "^klaxon_commit_batch_commands_(sum|count)|^klaxon_store_flush_seconds_(sum|count)" | tr '\n' ' '
  echo
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

run 64 2
run 1 1
rm -rf "$work"
