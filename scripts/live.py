#!/usr/bin/env python3
"""Live encrypted video over UDP: the sender and the receiver of the
mode=gcm demo (scripts/live-demo.sh) and of tests/test_live.py.

    live.py sender   --key-file K --port 5004 [--buffers 300] [--dump F]
                     [--rotate-key-file K2 --rotate-after N] [--dump-records F]
    live.py receiver --key-file K --port 5004 [--dump F] [--idle 2]
                     [--add-key-file K2]

sender:   videotestsrc is-live=true ! vp8enc ! rtpvp8pay ! aesenc mode=gcm ! udpsink
receiver: udpsrc ! aesdec mode=gcm ! rtpjitterbuffer ! rtpvp8depay ! vp8dec ! fakesink

The receiver stops when no packet came for --idle seconds, then prints a
JSON summary: frames decoded, packets out of aesdec, aesdec's record
counters, bus errors and warnings. --dump writes the plaintext RTP packets
(sent, or received from aesdec) as hex lines, so a test can check that every
packet that reached the depayloader is one the sender sent.

Key rotation (issue 11): with --rotate-key-file the sender sets aesenc's
key-file to K2 while PLAYING, from the application thread, after N packets;
--dump-records writes the records it sent (after aesenc) as hex lines. With
--add-key-file the receiver gives aesdec K2 while PLAYING, once its stream
runs (at its first packet), so that it holds the old and the new key.
"""
import argparse
import json
import sys
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

RTP_CAPS = "application/x-rtp,media=video,clock-rate=90000,encoding-name=VP8,payload=96"


def sender(args):
    return (f"videotestsrc is-live=true num-buffers={args.buffers} pattern=ball "
            "! video/x-raw,width=320,height=240,framerate=30/1 "
            "! vp8enc deadline=1 keyframe-max-dist=10 "
            "! rtpvp8pay pt=96 mtu=1200 ! identity name=tap "
            f"! aesenc name=enc mode=gcm key-file={args.key_file} "
            "! identity name=rtap "
            f"! udpsink host=127.0.0.1 port={args.port}")


def receiver(args):
    return (f"udpsrc port={args.port} buffer-size=8388608 "
            f"! aesdec name=dec mode=gcm key-file={args.key_file} "
            f"! identity name=tap ! {RTP_CAPS} "
            "! rtpjitterbuffer latency=200 ! rtpvp8depay ! vp8dec "
            "! fakesink name=sink signal-handoffs=true sync=false")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("role", choices=["sender", "receiver"])
    ap.add_argument("--key-file", required=True)
    ap.add_argument("--port", type=int, default=5004)
    ap.add_argument("--buffers", type=int, default=300)
    ap.add_argument("--dump")
    ap.add_argument("--idle", type=float, default=2.0)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--rotate-key-file")
    ap.add_argument("--rotate-after", type=int, default=0)
    ap.add_argument("--dump-records")
    ap.add_argument("--add-key-file")
    args = ap.parse_args()

    Gst.init(None)
    # gst-plugins-bad also has elements named aesenc/aesdec: load ours last.
    if Gst.Plugin.load_by_name("aesstream") is None:
        print("the aesstream plugin was not found", file=sys.stderr)
        return 1
    desc = sender(args) if args.role == "sender" else receiver(args)
    print(f"{args.role}: gst-launch-1.0 {desc}", file=sys.stderr)
    pipeline = Gst.parse_launch(desc)
    packets, frames = [], [0]
    last_data = [None]

    rotated = [False]

    def set_key_file(name, path):
        # From the main loop: the application's thread, as a real
        # application would change the key.
        pipeline.get_by_name(name).set_property("key-file", path)
        print(f"{args.role}: {name} key-file set to {path} while playing",
              file=sys.stderr)
        return False

    def on_packet(_identity, buf):
        last_data[0] = time.monotonic()
        packets.append(buf.extract_dup(0, buf.get_size()))
        if rotated[0]:
            return
        if args.role == "sender" and args.rotate_key_file \
                and len(packets) == args.rotate_after:
            rotated[0] = True
            GLib.idle_add(set_key_file, "enc", args.rotate_key_file)
        elif args.role == "receiver" and args.add_key_file:
            rotated[0] = True
            GLib.idle_add(set_key_file, "dec", args.add_key_file)

    pipeline.get_by_name("tap").connect("handoff", on_packet)
    records = []
    if args.role == "sender":
        pipeline.get_by_name("rtap").connect(
            "handoff", lambda _i, buf: records.append(buf.extract_dup(0, buf.get_size())))
    if args.role == "receiver":
        def on_frame(*_):
            frames[0] += 1
        pipeline.get_by_name("sink").connect("handoff", on_frame)

    summary = {"role": args.role, "errors": [], "warnings": 0}
    loop = GLib.MainLoop()
    bus = pipeline.get_bus()
    bus.add_signal_watch()

    def on_message(_bus, msg):
        if msg.type == Gst.MessageType.EOS:
            loop.quit()
        elif msg.type == Gst.MessageType.ERROR:
            summary["errors"].append(msg.parse_error()[0].message)
            loop.quit()
        elif msg.type == Gst.MessageType.WARNING:
            summary["warnings"] += 1

    bus.connect("message", on_message)
    start = time.monotonic()

    def tick():
        now = time.monotonic()
        idle = last_data[0] is not None and now - last_data[0] > args.idle
        if idle or now - start > args.timeout:
            pipeline.send_event(Gst.Event.new_eos())
            return False
        return True

    if args.role == "receiver":
        GLib.timeout_add(100, tick)
    pipeline.set_state(Gst.State.PLAYING)
    loop.run()
    if args.role == "receiver":
        dec = pipeline.get_by_name("dec")
        for name in ("accepted", "lost", "replayed", "rejected", "other-streams"):
            summary[name.replace("-", "_")] = dec.get_property(f"records-{name}")
        summary["frames"] = frames[0]
    pipeline.set_state(Gst.State.NULL)
    summary["packets"] = len(packets)
    if args.dump:
        with open(args.dump, "w") as f:
            f.write("\n".join(p.hex() for p in packets) + "\n")
    if args.dump_records:
        with open(args.dump_records, "w") as f:
            f.write("\n".join(r.hex() for r in records) + "\n")
    print(json.dumps(summary))
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
