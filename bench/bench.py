#!/usr/bin/env python3
"""Throughput benchmark: raw OpenSSL EVP (the ceiling), an identity pipeline
(the GStreamer floor), our aesenc/aesdec, and gst-plugins-bad's aesenc (in a
process of its own), for every mode and buffer size, in one run.

Prints a Markdown table and writes OUT/results.json, OUT/results.md and
OUT/throughput.png (gnuplot). Every figure is the median of --repeats runs,
each in its own process (for its peak RSS). The ratios (% raw, element %
raw, x identity, ns beyond AES) are medians of ratios taken within one set
of back-to-back runs (identity, raw, pipeline), so that a burst of load on a
shared machine hits both sides of a ratio alike. Absolute numbers depend on
the machine; compare the ratios, which come from the same run.

Usage: bench/run.sh [--repeats N] [--quick] [--out DIR]
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

KEY = "000102030405060708090a0b0c0d0e0f"   # AES-128 everywhere
IV = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
SIZES = [188, 1400, 16384, 65536, 1048576]
MODES = ["ctr", "ecb", "cbc", "gcm", "gcm-file"]
GCM_SIZES = [188, 1400, 65536]
GCM_FILE_SIZES = [16384, 65536, 1048576]


def total_bytes(size, quick):
    """Enough data that each figure takes a measurable time (~0.1-0.5 s)."""
    base = {188: 48, 1400: 192, 16384: 1024, 65536: 2048, 1048576: 2048}[size]
    return (base // 16 if quick else base) * 1024 * 1024


def element(mode, enc):
    name = "aesenc" if enc else "aesdec"
    if mode == "ctr":
        return f"{name} mode=ctr key={KEY} iv={IV}"
    if mode == "ecb":
        return f"{name} mode=ecb key={KEY}"
    if mode == "cbc":
        # End-of-stream padding: what openssl enc (the raw ceiling) does.
        return f"{name} mode=cbc key={KEY} iv={IV} per-buffer-padding=false"
    if mode == "gcm-file":
        if enc:
            return f"aesenc mode=gcm-file key={KEY}"
        # Like gcm: aesdec needs a real stream, so the round trip, against
        # raw seal + open of 64 KiB segments.
        return (f"aesenc mode=gcm-file key={KEY} ! aesdec mode=gcm-file key={KEY}")
    if mode == "gcm":
        if enc:
            return f"aesenc mode=gcm key={KEY}"
        # aesdec needs real records: measured as the round trip
        # aesenc ! aesdec, against raw seal + open.
        return (f"aesenc mode=gcm key={KEY} ! aesdec mode=gcm key={KEY} "
                "invalid-records=error")
    raise ValueError(mode)


def measure(exe, args, env):
    """Runs one measurement; returns (seconds, peak RSS in KiB)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.dup2(w, 1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        try:
            os.execve(exe, [exe] + args, env)
        finally:
            os._exit(127)
    os.close(w)
    with os.fdopen(r) as f:
        out = f.read()
    _, status, rusage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"benchmark failed: {args}")
    fields = out.split()
    if len(fields) == 2:  # wall and CPU time: the CPU time counts
        return float(fields[1]), rusage.ru_maxrss
    return float(fields[0]), rusage.ru_maxrss


def median_of(exe, args, env, repeats):
    runs = [measure(exe, args, env) for _ in range(repeats)]
    return statistics.median(t for t, _ in runs), max(r for _, r in runs)


def paired(exe, env, repeats, *argsets):
    """Runs the commands one after the other, `repeats` times, so that a
    burst of load on a shared machine hits a whole set alike; ratios are then
    taken within a set and their median reported. Returns, per command, the
    list of (seconds, peak RSS KiB)."""
    runs = [[] for _ in argsets]
    for _ in range(repeats):
        for i, a in enumerate(argsets):
            runs[i].append(measure(exe, a, env))
    return runs


def med(values):
    return statistics.median(list(values))


def mbps(nbytes, seconds):
    return nbytes / seconds / 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--builddir", default="build")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true",
                    help="1/16 of the data, for a smoke run")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)),
                    help="buffer sizes of the throughput section")
    ap.add_argument("--out", default="bench-out")
    ap.add_argument("--sections", default="throughput,live",
                    help="throughput (modes x sizes), live (RTP packets: GCM vs "
                         "libsrtp, concurrent streams)")
    args = ap.parse_args()
    sections = args.sections.split(",")

    exe = os.path.join(args.builddir, "bench", "aesstream-bench")
    sysdir = subprocess.run(["pkg-config", "--variable=pluginsdir", "gstreamer-1.0"],
                            capture_output=True, text=True, check=True).stdout.strip()
    os.makedirs(args.out, exist_ok=True)
    ours_env = dict(os.environ,
                    GST_PLUGIN_SYSTEM_PATH_1_0=f"{sysdir}:{os.path.abspath(args.builddir)}/gst",
                    GST_REGISTRY_1_0=os.path.abspath(os.path.join(args.out, "ours.bin")))
    theirs_env = dict(os.environ, GST_PLUGIN_SYSTEM_PATH_1_0=sysdir,
                      GST_REGISTRY_1_0=os.path.abspath(os.path.join(args.out, "theirs.bin")))
    have_theirs = os.path.exists(os.path.join(sysdir, "libgstaes.so"))
    modes = args.modes.split(",")
    rep = args.repeats

    results = {"machine": {"cpu": cpu_name(), "cores": os.cpu_count(),
                           "kernel": platform.release(),
                           "openssl": subprocess.run(["openssl", "version"],
                                                     capture_output=True, text=True).stdout.strip(),
                           "gstreamer": subprocess.run(["gst-launch-1.0", "--version"],
                                                       capture_output=True, text=True).stdout.split("\n")[0]},
               "command": "bench/run.sh " + " ".join(sys.argv[1:]),
               "repeats": rep, "rows": [], "memory": None,
               "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    sizes = [int(x) for x in args.sizes.split(",")]
    for size in (sizes if "throughput" in sections else []):
        total = total_bytes(size, args.quick)
        n = str(size), str(total)
        identity = ["pipe", "identity", *n]
        t_id, rss_id = median_of(exe, identity, ours_env, rep)
        theirs = None
        if have_theirs:
            t, rss = median_of(exe, ["pipe", f"aesenc cipher=aes-128-cbc key={KEY} iv={IV} "
                                     "per-buffer-padding=false", *n], theirs_env, rep)
            theirs = {"mbps": mbps(total, t), "rss_kib": rss}
        buffers = total // size // 16 * 16
        for mode in modes:
            if mode == "gcm" and size not in GCM_SIZES:
                continue
            if mode == "gcm-file" and size not in GCM_FILE_SIZES:
                continue
            # gcm-file's ceiling is raw AES-GCM, one seal/open a buffer.
            raw_mode = "gcm" if mode == "gcm-file" else mode
            row = {"mode": mode, "size": size, "bytes": total,
                   "identity_mbps": mbps(total, t_id), "identity_rss_kib": rss_id,
                   "theirs_cbc_enc": theirs}
            raw_enc = None
            for direction in ("enc", "dec"):
                # identity, raw and the pipeline in turn, each repeat: the
                # ratios below are medians of ratios within one set.
                ids, raws, pipes = paired(
                    exe, ours_env, rep, identity,
                    ["raw", raw_mode, direction, "128", *n],
                    ["pipe", element(mode, direction == "enc"), *n])
                i_t = [t for t, _ in ids]
                r_t = [t for t, _ in raws]
                p_t = [t for t, _ in pipes]
                if direction == "enc":
                    raw_enc = r_t
                elif raw_mode == "gcm":
                    # The round trip against raw seal + open.
                    r_t = [a + b for a, b in zip(r_t, raw_enc)]
                t_raw, t = med(r_t), med(p_t)
                row[direction] = {
                    "raw_seconds": t_raw,
                    "raw_mbps": mbps(total, t_raw), "mbps": mbps(total, t),
                    "ratio_raw": med(r / p for r, p in zip(r_t, p_t)),
                    # The element's own cost: the pipeline minus the
                    # identity pipeline's, against raw EVP.
                    "element_ratio_raw": med(r / max(p - i, 1e-9)
                                             for r, p, i in zip(r_t, p_t, i_t)),
                    "time_vs_identity": med(p / i for p, i in zip(p_t, i_t)),
                    "rss_kib": max(r for _, r in pipes),
                    # What the element costs per buffer beyond AES itself:
                    # (pipeline - identity - raw) / buffers, in ns.
                    "ns_beyond_aes": med((p - i - r) / buffers * 1e9
                                         for r, p, i in zip(r_t, p_t, i_t))}
            results["rows"].append(row)
            print(format_row(row), flush=True)

    if "live" in sections:
        results["live"] = live(exe, ours_env, theirs_env, rep, args.quick)
    # gcm-file's codec alone against raw AES-GCM (one seal/open per 64 KiB),
    # in the same run: the format's own cost (segment framing, carry copies
    # for segments that straddle buffers, the held-back last segment).
    if "gcm-file" in modes:
        size = 65536
        total = total_bytes(size, args.quick)
        n = str(size), str(total)
        core = {}
        for direction in ("enc", "dec", "dec-file"):
            t_raw, _ = median_of(exe, ["raw", "gcm", direction[:3], "128", *n], ours_env, rep)
            t, rss = median_of(exe, ["core", "gcm-file", direction, *n], ours_env, rep)
            core[direction] = {"raw_mbps": mbps(total, t_raw), "mbps": mbps(total, t),
                               "ratio_raw": t_raw / t, "rss_kib": rss}
            print(f"gcm-file core 64 KiB {direction}: {core[direction]['mbps']:.0f} MB/s "
                  f"({100 * t_raw / t:.0f}% of raw AES-GCM {core[direction]['raw_mbps']:.0f})",
                  flush=True)
        results["gcm_file_core"] = core

    # Memory stays flat: 100 MB vs 10 GB through aesenc (CTR, 64 KiB).
    mem = {}
    for label, total in ((("100MB", 100 * 10**6), ("10GB", 10 * 10**9))
                         if "throughput" in sections else ()):
        if args.quick and label == "10GB":
            total = 10**9
            label = "1GB"
        t, rss = measure(exe, ["pipe", element("ctr", True), "65536", str(total)], ours_env)
        mem[label] = {"seconds": t, "rss_kib": rss}
    results["memory"] = mem

    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    md = markdown(results)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(md)
    print()
    print(md)
    if results["rows"]:
        plot(results, args.out)


SRTP_KEY = KEY + "000102030405060708091011"   # AES-128-GCM: 16-byte key + 12-byte salt
SRTP_CIPHERS = ("rtp-cipher=aes-128-gcm rtp-auth=null "
                "rtcp-cipher=aes-128-gcm rtcp-auth=null")
LIVE_STREAMS = [1, 4, 16, 64]


def live_elements():
    """The live round trips on RTP packets: ours (aesenc mode=gcm ! aesdec)
    and libsrtp2's AES-128-GCM (srtpenc ! srtpdec from gst-plugins-bad, run
    in a process without our plugin). srtpdec learns the key of a stream
    from its caps; @SSRC@ is the branch's SSRC (aesstream-bench rtp)."""
    ours = (f"aesenc mode=gcm key={KEY} ! "
            f"aesdec mode=gcm key={KEY} invalid-records=error")
    srtp = (f"srtpenc key={SRTP_KEY} {SRTP_CIPHERS} ! "
            f"application/x-srtp,ssrc=(uint)@SSRC@,srtp-key=(buffer){SRTP_KEY},"
            "srtp-cipher=aes-128-gcm,srtp-auth=null,srtcp-cipher=aes-128-gcm,"
            "srtcp-auth=null ! srtpdec")
    return ours, srtp


def live(exe, ours_env, theirs_env, rep, quick):
    """Per-packet cost of the GCM round trip at 1400-byte RTP packets above
    an identity pipeline, against libsrtp2's, for 1..64 concurrent streams
    in one pipeline; and the peak RSS each extra stream adds."""
    ours, srtp = live_elements()
    total_packets = 16000 if quick else 64000
    # Build both registries first: the first run in an environment scans
    # the plugins, which would count as its time and memory.
    measure(exe, ["rtp", "identity", "1400", "10", "1"], ours_env)
    measure(exe, ["rtp", "identity", "1400", "10", "1"], theirs_env)
    rows = []
    for streams in LIVE_STREAMS:
        count = str(total_packets // streams)
        args = ["1400", count, str(streams)]
        n = total_packets // streams * streams
        t_id, rss_id = median_of(exe, ["rtp", "identity", *args], ours_env, rep)
        t_ours, rss_ours = median_of(exe, ["rtp", ours, *args], ours_env, rep)
        t_srtp, rss_srtp = median_of(exe, ["rtp", srtp, *args], theirs_env, rep)
        row = {"streams": streams, "packets": n,
               "identity_ns": t_id / n * 1e9,
               "ours_ns_above_identity": (t_ours - t_id) / n * 1e9,
               "srtp_ns_above_identity": (t_srtp - t_id) / n * 1e9,
               "rss_kib": {"identity": rss_id, "ours": rss_ours, "srtp": rss_srtp}}
        row["ours_vs_srtp"] = row["ours_ns_above_identity"] / row["srtp_ns_above_identity"]
        rows.append(row)
        print(f"live {streams:2} streams: identity {row['identity_ns']:.0f} CPU ns/packet, "
              f"GCM round trip +{row['ours_ns_above_identity']:.0f} ns, "
              f"srtp +{row['srtp_ns_above_identity']:.0f} ns "
              f"(ours/srtp {row['ours_vs_srtp']:.2f}); peak RSS ours "
              f"{rss_ours / 1024:.1f} MiB, srtp {rss_srtp / 1024:.1f} MiB", flush=True)
    first, last = rows[0], rows[-1]
    extra = last["streams"] - first["streams"]
    per_stream = {k: (last["rss_kib"][k] - first["rss_kib"][k]) / extra
                  for k in ("identity", "ours", "srtp")}
    return {"size": 1400, "rows": rows, "rss_kib_per_stream": per_stream}


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def format_row(r):
    return (f"{r['mode']:4} {r['size']:>8} B: enc {r['enc']['mbps']:8.0f} MB/s "
            f"({100 * r['enc']['ratio_raw']:3.0f}% of raw, element "
            f"{100 * r['enc']['element_ratio_raw']:3.0f}%, "
            f"{r['enc']['time_vs_identity']:.2f}x identity)  dec {r['dec']['mbps']:8.0f} MB/s "
            f"({100 * r['dec']['ratio_raw']:3.0f}% of raw)")


def markdown(res):
    m = res["machine"]
    lines = [f"Run {res['date']} on {m['cpu']} ({m['cores']} cores), "
             f"{m['openssl']}, {m['gstreamer']}; median of {res['repeats']} runs; "
             f"command: `{res['command']}`.", "",
             "Throughput in MB/s (10^6 bytes/s) of the process's CPU time (all threads; "
             "on a quiet machine it equals wall time, on a shared one it is far less "
             "disturbed). Ratios are medians of the ratios within sets of back-to-back "
             "runs (identity, raw, pipeline). *raw*: OpenSSL EVP alone, one context, "
             "in place (the ceiling). *% raw*: pipeline throughput / raw. *element % raw*: "
             "raw time / (pipeline time - identity pipeline time), i.e. what our element "
             "itself costs compared with AES alone. *x identity*: pipeline time / "
             "`fakesrc ! identity ! fakesink` time (the GStreamer floor). *bad CBC*: "
             "gst-plugins-bad's aesenc (AES-128-CBC), same shape, own process. "
             "GCM: one record per buffer; its *aesdec* column is the round trip "
             "`aesenc ! aesdec` against raw seal + open (aesdec needs real records).", "",
             "| mode | buffer | raw enc | aesenc | % raw | element % raw | x identity | raw dec "
             "| aesdec | % raw | element % raw | identity | bad CBC enc | peak RSS |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
             "| ---: | ---: | ---: |"]
    for r in res["rows"]:
        e, d = r["enc"], r["dec"]
        theirs = f"{r['theirs_cbc_enc']['mbps']:.0f}" if r["theirs_cbc_enc"] else "-"
        lines.append(
            f"| {r['mode']} | {r['size']} | {e['raw_mbps']:.0f} | {e['mbps']:.0f} "
            f"| {100 * e['ratio_raw']:.0f}% | {100 * e['element_ratio_raw']:.0f}% "
            f"| {e['time_vs_identity']:.2f} | {d['raw_mbps']:.0f} | {d['mbps']:.0f} "
            f"| {100 * d['ratio_raw']:.0f}% | {100 * d['element_ratio_raw']:.0f}% "
            f"| {r['identity_mbps']:.0f} | {theirs} "
            f"| {max(e['rss_kib'], d['rss_kib']) / 1024:.1f} MiB |")
    core = res.get("gcm_file_core")
    if core:
        lines += ["", "gcm-file codec alone (no GStreamer, `aesstream-bench core gcm-file`), "
                  "64 KiB calls, S = 65536: " + ", ".join(
                      f"{d} {core[d]['mbps']:.0f} MB/s = {100 * core[d]['ratio_raw']:.0f}% of "
                      f"raw AES-GCM ({core[d]['raw_mbps']:.0f})" for d in core) + ". "
                  "*dec*: one segment a call, as aesenc sends them; *dec-file*: 64 KiB "
                  "reads of a file, which cut every segment (its pieces held by reference, no copy)."]
    mem = res["memory"]
    if mem:
        lines += ["", "Peak RSS of `aesenc mode=ctr` at 64 KiB buffers: " + ", ".join(
            f"{k}: {v['rss_kib'] / 1024:.1f} MiB" for k, v in mem.items()) + "."]
    beyond = [r for r in res["rows"] if r["size"] == 1400]
    if beyond:
        lines += ["", "Cost beyond AES per 1400-byte buffer, in ns: (pipeline time "
                  "- identity time - raw EVP time) / buffers.", "",
                  "| mode | aesenc | aesdec |", "| --- | ---: | ---: |"]
        for r in beyond:
            lines.append(f"| {r['mode']} | {r['enc']['ns_beyond_aes']:.0f} "
                         f"| {r['dec']['ns_beyond_aes']:.0f} |")
    lv = res.get("live")
    if lv:
        lines += ["", "Live: 1400-byte RTP packets, N concurrent streams in one "
                  "pipeline (one branch each), CPU ns per packet (process CPU time, "
                  "all threads) above the same pipeline with `identity`. *GCM*: `aesenc mode=gcm ! aesdec mode=gcm`; "
                  "*srtp*: `srtpenc ! srtpdec` (libsrtp2, AES-128-GCM, gst-plugins-bad, "
                  "own process).", "",
                  "| streams | identity ns/packet | GCM round trip | srtp round trip "
                  "| GCM / srtp | peak RSS GCM | peak RSS srtp |",
                  "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in lv["rows"]:
            lines.append(f"| {r['streams']} | {r['identity_ns']:.0f} "
                         f"| {r['ours_ns_above_identity']:.0f} "
                         f"| {r['srtp_ns_above_identity']:.0f} | {r['ours_vs_srtp']:.2f} "
                         f"| {r['rss_kib']['ours'] / 1024:.1f} MiB "
                         f"| {r['rss_kib']['srtp'] / 1024:.1f} MiB |")
        ps = lv["rss_kib_per_stream"]
        lines += ["", "Peak RSS each extra stream adds (from 1 to 64 streams): "
                  f"identity {ps['identity']:.0f} KiB, GCM round trip {ps['ours']:.0f} KiB, "
                  f"srtp {ps['srtp']:.0f} KiB."]
    return "\n".join(lines) + "\n"


def plot(res, out):
    if not shutil.which("gnuplot"):
        print("gnuplot not found: no plot (apt-get install gnuplot-nox)")
        return
    modes = sorted({r["mode"] for r in res["rows"]}, key=MODES.index
                   if all(m in MODES for m in {r["mode"] for r in res["rows"]}) else str)
    data = os.path.join(out, "throughput.dat")
    with open(data, "w") as f:
        for mode in modes:
            f.write(f"# {mode}\n")
            for r in res["rows"]:
                if r["mode"] == mode:
                    t = r["theirs_cbc_enc"]["mbps"] if r["theirs_cbc_enc"] else float("nan")
                    f.write(f"{r['size']} {r['enc']['mbps']:.1f} {r['enc']['raw_mbps']:.1f} "
                            f"{r['dec']['mbps']:.1f} {r['identity_mbps']:.1f} {t:.1f}\n")
            f.write("\n\n")
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
    plots = []
    for i, mode in enumerate(modes):
        c = colors[i % len(colors)]
        plots.append(f"'{data}' index {i} using 1:2 with linespoints lw 2 lc rgb '{c}' "
                     f"title 'aesenc {mode}'")
        plots.append(f"'{data}' index {i} using 1:3 with lines dt 2 lw 2 lc rgb '{c}' "
                     f"title 'raw EVP {mode}'")
    plots.append(f"'{data}' index 0 using 1:6 with linespoints lw 2 lc rgb '#7f7f7f' "
                 "pt 6 title 'gst-plugins-bad aesenc (CBC)'")
    script = f"""
set terminal pngcairo size 1000,650 font ',11'
set output '{os.path.join(out, 'throughput.png')}'
set title 'AES throughput against buffer size (AES-128, {res['machine']['cpu']})'
set xlabel 'buffer size (bytes)'
set ylabel 'throughput (MB/s)'
set logscale x 2
set logscale y 10
set grid
set key outside right
set xtics ({", ".join(f'"{s}" {s}' for s in SIZES)})
plot {", ".join(plots)}
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    print(f"plot: {os.path.join(out, 'throughput.png')}")


if __name__ == "__main__":
    main()
