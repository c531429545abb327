#!/usr/bin/env python3
"""CTR's cost beyond AES at 1400-byte buffers, in ns per buffer: pinned to
one core, SETS back-to-back runs of identity, raw AES-CTR (both directions)
and aesenc/aesdec mode=ctr, then (pipeline - identity - raw) / buffers from
the minimum of each command over the sets (the least disturbed run: this
host's speed is bimodal). Usage: bench/ctr_beyond_aes.py [SETS] [BUILDDIR]
after `ninja -C build`."""
import os
import subprocess
import sys

SETS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
BUILD = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else "build")
EXE = os.path.join(BUILD, "bench", "aesstream-bench")
KEY = "000102030405060708090a0b0c0d0e0f"
TOTAL = "201326592"
BUFFERS = int(TOTAL) // 1400 // 16 * 16  # what aesstream-bench pipe pushes
ENV = dict(os.environ,
           GST_PLUGIN_SYSTEM_PATH_1_0="/usr/lib/x86_64-linux-gnu/gstreamer-1.0:"
           + os.path.join(BUILD, "gst"),
           GST_REGISTRY_1_0=os.path.join(BUILD, "bench-registry.bin"))
COMMANDS = {
    "identity": ["pipe", "identity", "1400", TOTAL],
    "raw enc": ["raw", "ctr", "enc", "128", "1400", TOTAL],
    "raw dec": ["raw", "ctr", "dec", "128", "1400", TOTAL],
    "aesenc": ["pipe", f"aesenc mode=ctr key={KEY} iv={KEY}", "1400", TOTAL],
    "aesdec": ["pipe", f"aesdec mode=ctr key={KEY} iv={KEY}", "1400", TOTAL],
}


def main():
    best = {k: float("inf") for k in COMMANDS}
    for _ in range(SETS):
        for name, args in COMMANDS.items():
            out = subprocess.run(["taskset", "-c", "1", EXE] + args, env=ENV,
                                 capture_output=True, text=True, check=True)
            best[name] = min(best[name], float(out.stdout.split()[-1]))  # CPU s
    for name, t in best.items():
        print(f"{name:9s} {t:.4f} s")
    for el, raw in (("aesenc", "raw enc"), ("aesdec", "raw dec")):
        ns = (best[el] - best["identity"] - best[raw]) / BUFFERS * 1e9
        print(f"{el}: {ns:.0f} ns per buffer beyond AES")


if __name__ == "__main__":
    main()
