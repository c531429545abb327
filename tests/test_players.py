"""Encrypted files in ordinary players: the typefinder, decodebin/playbin
plugging aesstreamdecryptor for our formats and for nothing else.

Headers of formats that aesenc may not write yet are built here byte by
byte from docs/format.md."""
import hashlib
import hmac
import os
import subprocess
import unittest

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

from aestest import NIST_KEYS, TempDirTestCase, gst_launch, random_data  # noqa: E402

Gst.init(None)
KEY = NIST_KEYS[256]


def key_id(key_hex):
    return hmac.new(bytes.fromhex(key_hex), b"aesstream key id",
                    hashlib.sha256).digest()[:16]


def ctr_v2_header(key_hex, iv):
    return (b"AESs" + bytes([2, 1, len(key_hex) // 2, 0x30]) + bytes(8) + key_id(key_hex)
            + iv)


def gcm_file_preamble(key_hex, segment_size=65536):
    return (b"AESs" + bytes([2, 5, len(key_hex) // 2, 0x20])
            + segment_size.to_bytes(4, "big") + bytes(4) + key_id(key_hex))


def typefind(path):
    pipeline = Gst.parse_launch(f"filesrc location={path} ! typefind name=tf ! fakesink")
    found = []
    pipeline.get_by_name("tf").connect(
        "have-type", lambda _tf, prob, caps: found.append((caps.to_string(), prob)))
    pipeline.set_state(Gst.State.PAUSED)
    pipeline.get_state(10 * Gst.SECOND)
    pipeline.set_state(Gst.State.NULL)
    return found[0] if found else (None, 0)


def plugged(description, timeout_s=30):
    """Runs a pipeline to EOS/ERROR/timeout; returns (factory names of every
    element added anywhere, the error message or None)."""
    pipeline = Gst.parse_launch(description)
    added = []
    pipeline.connect("deep-element-added", lambda _b, _s, el: added.append(
        el.get_factory().get_name() if el.get_factory() else ""))
    pipeline.set_state(Gst.State.PLAYING)
    msg = pipeline.get_bus().timed_pop_filtered(
        timeout_s * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    err = None
    if msg is None:
        err = "timeout"
    elif msg.type == Gst.MessageType.ERROR:
        err = msg.parse_error()[0].message
    return added, err


class TypeFinder(TempDirTestCase):
    def test_every_self_describing_format_is_recognised(self):
        body = random_data(8192, 1)
        kid = key_id(KEY).hex()
        with_id = f", key-id=(string){kid}"
        cases = {
            "ctr v2": (ctr_v2_header(KEY, bytes(16)) + body, "ctr" + with_id),
            "ctr v2 empty": (ctr_v2_header(KEY, bytes(16)), "ctr" + with_id),
            "ctr v1": (b"AESs\x01\x01\x20\x20" + bytes(24) + body, "ctr"),
            "ctr v1 empty": (b"AESs\x01\x01\x20\x20" + bytes(24), "ctr"),
            "gcm-file": (gcm_file_preamble(KEY) + body, "gcm-file" + with_id),
        }
        for name, (data, fields) in cases.items():
            with self.subTest(name):
                caps, prob = typefind(self.write("f", data))
                self.assertEqual(caps, f"application/x-aes-encrypted, mode=(string){fields}")
                self.assertEqual(prob, Gst.TypeFindProbability.MAXIMUM)

    def test_damaged_headers_and_other_data_are_not_claimed(self):
        body = random_data(8192, 2)
        for name, data in {
            "reserved bytes set": ctr_v2_header(KEY, bytes(16))[:9] + b"\x01"
            + ctr_v2_header(KEY, bytes(16))[10:] + body,
            "unknown version": b"AESs\x09\x01\x20\x20" + bytes(40) + body,
            "random": body,
        }.items():
            with self.subTest(name):
                caps, _ = typefind(self.write("f", data))
                self.assertNotEqual((caps or "").split(",")[0], "application/x-aes-encrypted")


class Autoplugging(TempDirTestCase):
    def make_mkv(self):
        path = self.path("plain.mkv")
        gst_launch("videotestsrc num-buffers=30 ! video/x-raw,width=160,height=120 "
                   f"! vp8enc deadline=1 ! matroskamux ! filesink location={path}")
        return path

    def test_ordinary_files_never_meet_an_aesstream_element(self):
        mkv = self.make_mkv()
        for description in (f"filesrc location={mkv} ! decodebin ! fakesink",
                            f"uridecodebin uri={Gst.filename_to_uri(mkv)} ! fakesink",
                            f"playbin uri={Gst.filename_to_uri(mkv)} "
                            "video-sink=fakesink audio-sink=fakesink"):
            with self.subTest(description.split()[0]):
                added, err = plugged(description)
                self.assertIsNone(err)
                self.assertIn("matroskademux", added)
                ours = [f for f in added if f.startswith("aes")]
                self.assertEqual(ours, [])

    def test_decodebin_plugs_the_decryptor_for_our_formats(self):
        mkv = self.make_mkv()
        enc = self.path("x.mkv.aes")
        gst_launch(f"filesrc location={mkv} ! aesenc key={KEY} ! filesink location={enc}")
        added, _ = plugged(f"filesrc location={enc} ! decodebin ! fakesink")
        self.assertIn("aesstreamdecryptor", added)
        self.assertNotIn("aesdec", added)



if __name__ == "__main__":
    unittest.main(verbosity=2)
