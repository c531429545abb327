#!/usr/bin/env python3
"""CTR's cost beyond AES at 1400-byte buffers, in ns per buffer.

Pinned to one core, SETS back-to-back runs of each command below; the
minimum of each command over the sets is its least disturbed run (this
host's speed is bimodal). Every pipeline prerolls before its clock starts
(aesstream-bench pipe), so setup is not counted as per-buffer cost.

Two baselines for "AES itself", both raw OpenSSL EVP AES-128-CTR, in place:
  hot loop     `raw`: EVP_CipherUpdate again and again on one buffer, its
               data, the key schedule and the AES code always in the
               first-level caches (the issue's baseline);
  in pipeline  `evp-probe`: the same call from a probe in the identity
               pipeline, on fakesrc's buffers (ctr probe minus map-only
               probe): AES as it meets a pipeline's buffers, no aesstream
               code involved.
beyond = (element pipeline - identity pipeline - AES) / buffers.

Usage: bench/ctr_beyond_aes.py [SETS] [BUILDDIR]   after `ninja -C build`."""
import os
import subprocess
import sys

SETS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
BUILD = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else "build")
EXE = os.path.join(BUILD, "bench", "aesstream-bench")
KEY = "000102030405060708090a0b0c0d0e0f"
SIZE = "1400"
TOTAL = "201326592"
BUFFERS = int(TOTAL) // int(SIZE) // 16 * 16  # what aesstream-bench pipe pushes
ENV = dict(os.environ,
           GST_PLUGIN_SYSTEM_PATH_1_0="/usr/lib/x86_64-linux-gnu/gstreamer-1.0:"
           + os.path.join(BUILD, "gst"),
           GST_REGISTRY_1_0=os.path.join(BUILD, "bench-registry.bin"))
COMMANDS = {
    "identity": ["pipe", "identity", SIZE, TOTAL],
    "raw enc": ["raw", "ctr", "enc", "128", SIZE, TOTAL],
    "raw dec": ["raw", "ctr", "dec", "128", SIZE, TOTAL],
    "probe map": ["evp-probe", "map", "enc", SIZE, TOTAL],
    "probe enc": ["evp-probe", "ctr", "enc", SIZE, TOTAL],
    "probe dec": ["evp-probe", "ctr", "dec", SIZE, TOTAL],
    "aesenc": ["pipe", f"aesenc mode=ctr key={KEY} iv={KEY}", SIZE, TOTAL],
    "aesdec": ["pipe", f"aesdec mode=ctr key={KEY} iv={KEY}", SIZE, TOTAL],
}


def main():
    best = {k: float("inf") for k in COMMANDS}
    for _ in range(SETS):
        for name, args in COMMANDS.items():
            out = subprocess.run(["taskset", "-c", "1", EXE] + args, env=ENV,
                                 capture_output=True, text=True, check=True)
            best[name] = min(best[name], float(out.stdout.split()[-1]))  # CPU s
    ns = {k: t / BUFFERS * 1e9 for k, t in best.items()}
    for name, t in ns.items():
        print(f"{name:9s} {t:7.1f} ns per buffer")
    for el, d in (("aesenc", "enc"), ("aesdec", "dec")):
        hot = ns[f"raw {d}"]
        piped = ns[f"probe {d}"] - ns["probe map"]
        print(f"{el}: beyond AES in a hot loop ({hot:.0f} ns): "
              f"{ns[el] - ns['identity'] - hot:.0f} ns; beyond AES in the "
              f"pipeline ({piped:.0f} ns): {ns[el] - ns['identity'] - piped:.0f} ns")


if __name__ == "__main__":
    main()
