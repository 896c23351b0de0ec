#!/usr/bin/env bash
# Real-window smoke test of anatomy-viz: starts redis-anatomy on a free
# port, freezes a rehash half way (activerehashing no, DEBUG REHASH-STEP),
# opens anatomy-viz under Xvfb (Mesa's software GL) and saves a screenshot
# of the rehash view. Fails if the window cannot open, no snapshot
# arrives, or the PNG is missing. Usage: viz/app/smoke.sh [out.png]
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-target/anatomy-viz-smoke.png}"
port="${ANATOMY_SMOKE_PORT:-16395}"

cargo build --quiet --bin redis-anatomy
cargo build --quiet -p anatomy-viz

server_pid=""
cleanup() { if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi; }
trap cleanup EXIT
./target/debug/redis-anatomy --port "$port" --save "" --enable-debug-command local \
  --activerehashing no >target/anatomy-viz-smoke-server.log 2>&1 &
server_pid=$!
for _ in $(seq 50); do
  redis-cli -p "$port" ping >/dev/null 2>&1 && break
  sleep 0.1
done

# 1024 keys fill a 1024-bucket table; the 1025th starts the move to 2048
# buckets, and 340 steps take it a third of the way.
{
  printf 'MSET'
  for i in $(seq 0 1023); do printf ' key:%d %d' "$i" "$i"; done
  printf '\n'
} | redis-cli -p "$port" >/dev/null
redis-cli -p "$port" set key:1024 1024 >/dev/null
redis-cli -p "$port" debug rehash-step 340

rm -f "$out"
export LIBGL_ALWAYS_SOFTWARE=1
timeout 120 xvfb-run -a -s "-screen 0 1400x900x24" \
  ./target/debug/anatomy-viz --connect "127.0.0.1:$port" --screenshot "$out" --screenshot-timeout 60
test -s "$out"
echo "smoke test: screenshot saved to $out"
