#!/usr/bin/env python3
"""Example: play an encrypted file with playbin, giving keys from the
application through the decryptor's `request-key` signal (no keyring, no
environment variables).

    aesstream_play.py [--fake-sinks] [--seconds N] KEYFILE... FILE|URI

playbin plugs `aesstreamdecryptor` by itself for aesstream files (CTR
header version 2, gcm-file); playbin's `element-setup` signal hands us
every element it creates, and we connect `request-key` on the decryptor.
The handler gets the stream's key id (32 lowercase hex digits) and returns
the key whose id that is, or None. Key ids are computed here from the keys
(first 16 bytes of HMAC-SHA256(key, "aesstream key id"), docs/keys.md).

Prints the duration and the position reached; exit status 0 at the end of
the stream, 1 on an error (e.g. "No key for this stream (key id ...)").
Run by tests/test_players.py with --fake-sinks.
"""
import argparse
import hashlib
import hmac
import os
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402


def load_keys(paths):
    """key id (hex) -> key (hex), from key files."""
    keys = {}
    for path in paths:
        with open(path) as f:
            key = f.read().strip()
        kid = hmac.new(bytes.fromhex(key), b"aesstream key id", hashlib.sha256).hexdigest()[:32]
        keys[kid] = key
    return keys


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fake-sinks", action="store_true", help="no window, no sound")
    ap.add_argument("--seconds", type=float, default=0, help="stop after N seconds")
    ap.add_argument("keyfiles", nargs="+")
    ap.add_argument("media")
    args = ap.parse_args(argv[1:])

    Gst.init(None)
    keys = load_keys(args.keyfiles)
    asked = []

    def request_key(element, key_id):
        asked.append(key_id)
        return keys.get(key_id)  # None: "not mine", the keyring is tried next

    def element_setup(playbin, element):
        factory = element.get_factory()
        if factory is not None and factory.get_name() == "aesstreamdecryptor":
            element.connect("request-key", request_key)

    uri = args.media if Gst.uri_is_valid(args.media) else Gst.filename_to_uri(
        os.path.abspath(args.media))
    playbin = Gst.ElementFactory.make("playbin", None)
    playbin.set_property("uri", uri)
    if args.fake_sinks:
        playbin.set_property("video-sink", Gst.ElementFactory.make("fakesink", None))
        playbin.set_property("audio-sink", Gst.ElementFactory.make("fakesink", None))
    playbin.connect("element-setup", element_setup)

    bus = playbin.get_bus()
    playbin.set_state(Gst.State.PLAYING)
    timeout = int(args.seconds * Gst.SECOND) if args.seconds else Gst.CLOCK_TIME_NONE
    msg = bus.timed_pop_filtered(timeout, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    ok, duration = playbin.query_duration(Gst.Format.TIME)
    _, position = playbin.query_position(Gst.Format.TIME)
    playbin.set_state(Gst.State.NULL)
    print(f"key ids asked: {' '.join(asked) or '-'}")
    if ok:
        print(f"duration: {duration / Gst.SECOND:.3f} s")
    if msg is not None and msg.type == Gst.MessageType.ERROR:
        # The first error is not always the one that explains (a source's
        # "Internal data stream error" may come first): print them all.
        while msg is not None:
            print(f"error: {msg.parse_error()[0].message}", file=sys.stderr)
            msg = bus.pop_filtered(Gst.MessageType.ERROR)
        return 1
    print(f"played to: {'end' if msg is not None else f'{position / Gst.SECOND:.3f} s'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
