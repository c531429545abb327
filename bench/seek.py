#!/usr/bin/env python3
"""Seek latency: the time from a flushing ACCURATE seek to the first decoded
frame (the new preroll), on a large encrypted file, against the same seek on
the unencrypted file, through decodebin in pull mode (`filesrc ! aesdec !
decodebin`) and push mode (`filesrc ! queue ! aesdec ! decodebin`).

Media: VP8 in WebM and H.264 in MP4 with moov at the end (made once and kept
in OUT), encrypted after muxing with aesenc's default (CTR with header).
Seeks go to the same pseudo-random positions on both files, alternating
plain and encrypted runs so that drift hits both alike. Figures are medians
over all seeks of all repeats; the ratio is encrypted / plain (target 1.2).

Usage: /usr/bin/python3 bench/seek.py --builddir build [--repeats N]
           [--seeks N] [--quick] [--out DIR]
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time

KEY = "000102030405060708090a0b0c0d0e0f"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--builddir", default="build")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seeks", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="a short file, for a smoke run")
    ap.add_argument("--out", default="bench-out")
    args = ap.parse_args()

    here = os.path.dirname(os.path.abspath(__file__))
    sysdir = subprocess.run(["pkg-config", "--variable=pluginsdir", "gstreamer-1.0"],
                            capture_output=True, text=True, check=True).stdout.strip()
    os.makedirs(args.out, exist_ok=True)
    os.environ["GST_PLUGIN_SYSTEM_PATH_1_0"] = f"{sysdir}:{os.path.abspath(args.builddir)}/gst"
    os.environ["GST_REGISTRY_1_0"] = os.path.abspath(os.path.join(args.out, "ours.bin"))
    sys.path.insert(0, os.path.join(here, "..", "tests"))
    from mediatest import Player, run

    seconds = 20 if args.quick else 120
    frames = seconds * 30
    raw = (f"videotestsrc num-buffers={frames} pattern=snow ! "
           "video/x-raw,width=640,height=360,framerate=30/1")
    media = {
        "webm-vp8": f"{raw} ! vp8enc deadline=1 cpu-used=8 target-bitrate=4000000 "
                    "keyframe-max-dist=60 ! webmmux",
        "mp4-h264": f"{raw} ! openh264enc bitrate=4000000 gop-size=60 complexity=low "
                    "! h264parse ! mp4mux",
    }
    results = {"command": "bench/seek.py " + " ".join(sys.argv[1:]), "seconds": seconds,
               "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "rows": []}
    for name, desc in media.items():
        plain = os.path.join(args.out, f"seek-{seconds}s.{name}")
        enc = plain + ".aes"
        if not os.path.exists(plain):
            print(f"making {plain} ...", flush=True)
            run(f"{desc} ! filesink location={plain}.tmp", timeout=3600)
            os.rename(plain + ".tmp", plain)
        if not os.path.exists(enc) or os.path.getmtime(enc) < os.path.getmtime(plain):
            run(f"filesrc location={plain} ! aesenc key={KEY} ! filesink location={enc}")
        rng = random.Random(name)
        positions = [rng.uniform(0, seconds - 1) for _ in range(args.seeks)]
        for sched, glue in (("pull", ""), ("push", " ! queue")):
            sources = {"plain": f"filesrc location={plain}{glue}",
                       "aes": f"filesrc location={enc}{glue} ! aesdec key={KEY}"}
            times = {"plain": [], "aes": []}
            for rep in range(args.repeats):
                for which in (("plain", "aes") if rep % 2 == 0 else ("aes", "plain")):
                    with Player(sources[which], timeout=60) as p:
                        p.pause()
                        for pos in positions:
                            t0 = time.perf_counter()
                            p.seek(pos)
                            times[which].append(time.perf_counter() - t0)
            row = {"media": name, "scheduling": sched,
                   "bytes": os.path.getsize(plain),
                   "plain_ms": 1000 * statistics.median(times["plain"]),
                   "aes_ms": 1000 * statistics.median(times["aes"])}
            row["ratio"] = row["aes_ms"] / row["plain_ms"]
            results["rows"].append(row)
            print(f"{name:9} {sched:4}  {row['bytes'] / 1e6:6.1f} MB  "
                  f"plain {row['plain_ms']:7.2f} ms  aesdec {row['aes_ms']:7.2f} ms  "
                  f"ratio {row['ratio']:.3f}", flush=True)
    with open(os.path.join(args.out, "seek.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
