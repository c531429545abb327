#!/usr/bin/env python3
"""Example: encrypt or decrypt with aesenc/aesdec from Python (PyGObject).

    aesstream_stream.py encrypt KEYFILE IN OUT
    aesstream_stream.py decrypt KEYFILE IN OUT

AESSTREAM_ELEMENTS=aesstream selects the unambiguous element names
aesstreamenc/aesstreamdec instead of aesenc/aesdec.

The data goes through appsrc ! aesenc|aesdec ! appsink in 4 KiB pieces, as an
application that produces or consumes bytes itself would feed it. Errors
(bad key, wrong key, not an aesstream file) end with the element's message
and exit status 1. Run by tests/test_examples.py, which checks the output
with pycryptodome.
"""
import os
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402


def run(element, keyfile, data):
    pipeline = Gst.parse_launch(
        f"appsrc name=src format=bytes ! {element} name=cipher ! "
        "appsink name=sink sync=false emit-signals=true")
    cipher = pipeline.get_by_name("cipher")
    # gst-plugins-bad also has an aesenc/aesdec (no key-file: it would
    # encrypt under an all-zero key). Never use an element that is not ours.
    plugin = cipher.get_factory().get_plugin_name()
    if plugin != "aesstream":
        raise RuntimeError(f"{element} here is from plugin '{plugin}', not aesstream: "
                           "use aesstreamenc/aesstreamdec, or see README "
                           "\"Which aesenc do I get?\"")
    cipher.set_property("key-file", keyfile)
    out = bytearray()

    def on_sample(sink):
        buf = sink.emit("pull-sample").get_buffer()
        out.extend(buf.extract_dup(0, buf.get_size()))
        return Gst.FlowReturn.OK

    pipeline.get_by_name("sink").connect("new-sample", on_sample)
    src = pipeline.get_by_name("src")
    bus = pipeline.get_bus()
    try:
        if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            msg = bus.pop_filtered(Gst.MessageType.ERROR)
            raise RuntimeError(msg.parse_error()[0].message if msg else "cannot start")
        for i in range(0, len(data), 4096):
            if src.emit("push-buffer", Gst.Buffer.new_wrapped(data[i:i + 4096])) \
                    != Gst.FlowReturn.OK:
                break
        src.emit("end-of-stream")
        msg = bus.timed_pop_filtered(Gst.CLOCK_TIME_NONE,
                                     Gst.MessageType.EOS | Gst.MessageType.ERROR)
        if msg.type == Gst.MessageType.ERROR:
            raise RuntimeError(msg.parse_error()[0].message)
    finally:
        pipeline.set_state(Gst.State.NULL)
    return bytes(out)


def main(argv):
    if len(argv) != 5 or argv[1] not in ("encrypt", "decrypt"):
        print(__doc__, file=sys.stderr)
        return 2
    Gst.init(None)
    # gst-plugins-bad has elements with the same names: load ours last.
    if Gst.Plugin.load_by_name("aesstream") is None:
        print("the aesstream plugin was not found", file=sys.stderr)
        return 1
    with open(argv[3], "rb") as f:
        data = f.read()
    try:
        # aesstreamenc/aesstreamdec are always this plugin's elements;
        # aesenc/aesdec are too once load_by_name() above has run.
        prefix = "aesstream" if os.environ.get("AESSTREAM_ELEMENTS") == "aesstream" else "aes"
        element = prefix + ("enc" if argv[1] == "encrypt" else "dec")
        result = run(element, argv[2], data)
    except RuntimeError as e:
        print(f"{argv[1]} failed: {e}", file=sys.stderr)
        return 1
    with open(argv[4], "wb") as f:
        f.write(result)
    print(f"{argv[1]}ed {len(data)} bytes -> {len(result)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
