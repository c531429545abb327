#!/usr/bin/env bash
# Live demo of mode=gcm: a VP8/RTP sender and a receiver over loopback UDP,
# in two processes, with a fresh AES-256 key. The receiver prints how many
# frames it decoded and aesdec's record counters.
# Usage: scripts/live-demo.sh [seconds]   (installs its packages if needed)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
aesstream_build_with_env

seconds=${1:-5}
out=demo-out
mkdir -p "$out"
umask 077
openssl rand -out "$out/live.key" -hex 32
port=5004

echo "== receiver (background)"
/usr/bin/python3 scripts/live.py receiver --key-file "$out/live.key" --port $port \
  > "$out/live-receiver.json" &
receiver=$!
sleep 1
echo "== sender: $((seconds * 30)) frames at 30 fps"
/usr/bin/python3 scripts/live.py sender --key-file "$out/live.key" --port $port \
  --buffers $((seconds * 30)) >/dev/null
wait $receiver
echo "== receiver summary"
cat "$out/live-receiver.json"
