#!/usr/bin/env bash
# The benchmark in one command: installs what it needs, builds, runs
# bench/bench.py (see its --help), writes bench-out/{results.md,throughput.png}.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
aesstream_install_deps gnuplot-nox
[[ -d build ]] || meson setup build >/dev/null
ninja -C build >/dev/null
exec /usr/bin/python3 bench/bench.py --builddir build "$@"
