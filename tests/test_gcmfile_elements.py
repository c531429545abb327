"""aesenc/aesdec mode=gcm-file against the independent implementation
(tests/gcmfile_ref.py): our files read by it, its files read by aesdec, every
key size, several segment sizes, sizes around each segment boundary, several
MB, random re-chunking of plaintext and ciphertext; every manipulation an
error with only a prefix (ending at a segment boundary) output.

Pipelines run as `appsrc ! element ! appsink` in a process of their own
(tests/chunkrun.py), with a timeout, so that an error during preroll cannot
hang the test (gst-launch-1.0 sometimes does)."""
import json
import os
import random
import subprocess
import sys
import unittest

import gcmfile_ref as ref

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = {128: bytes(range(16)), 192: bytes(range(24)), 256: bytes(range(32))}


def run(element, props, chunks):
    """Pushes `chunks` through `element`; returns (output buffers, error)."""
    req = {"element": element, "props": props, "chunks": [c.hex() for c in chunks]}
    proc = subprocess.run([sys.executable, os.path.join(HERE, "chunkrun.py")],
                          input=json.dumps(req), capture_output=True, text=True,
                          timeout=180)
    if proc.returncode != 0:
        raise AssertionError("chunkrun failed: " + proc.stderr)
    out = json.loads(proc.stdout)
    assert out["plugin"] == "aesstream", out["plugin"]
    r = out["runs"][0]
    return [bytes.fromhex(c) for c in r["chunks"]], r["error"]


def rechunk(data, seed, maximum=70000):
    rng = random.Random(seed)
    out, pos = [], 0
    while pos < len(data):
        n = rng.randint(1, maximum)  # appsrc cannot push an empty buffer
        out.append(data[pos:pos + n])
        pos += n
    return out


def encrypt(key, plain, s, seed=1):
    bufs, err = run("aesenc", {"mode": "gcm-file", "key": key.hex(), "segment-size": s},
                    rechunk(plain, seed))
    assert err is None, err
    return b"".join(bufs)


def decrypt(key, data, seed=2, **props):
    p = {"mode": "gcm-file", "key": key.hex()}
    p.update(props)
    bufs, err = run("aesdec", p, rechunk(data, seed))
    return b"".join(bufs), err


def first_plain(key, s):
    return s - (1 + ref.derived_key_size(key) + 7) - 16


def boundaries(key, s, n=40):
    return [0] + [first_plain(key, s) + i * (s - 16) for i in range(n)]


class GcmFileElements(unittest.TestCase):
    def test_our_files_read_by_the_reference_and_its_files_by_aesdec(self):
        for bits, key in KEYS.items():
            for s in (100, 4096, 65536):
                f, p = first_plain(key, s), s - 16
                for n in sorted({0, 1, f - 1, f, f + 1, f + p - 1, f + p, f + p + 1}):
                    plain = random.Random(n + s + bits).randbytes(n)
                    with self.subTest(bits=bits, s=s, n=n):
                        ours = encrypt(key, plain, s, seed=n)
                        self.assertEqual(ours[:32], ref.preamble(key, s))
                        self.assertEqual(ref.decrypt(key, ours), plain)
                        out, err = decrypt(key, ref.encrypt(key, plain, s), seed=n + 1)
                        self.assertIsNone(err)
                        self.assertEqual(out, plain)

    def test_several_megabytes_both_ways(self):
        key = KEYS[256]
        plain = random.Random(7).randbytes(5 * 1024 * 1024 + 11)
        self.assertEqual(ref.decrypt(key, encrypt(key, plain, 65536, seed=3)), plain)
        out, err = decrypt(key, ref.encrypt(key, plain, 65536), seed=4)
        self.assertIsNone(err)
        self.assertEqual(out, plain)

    def test_one_segment_per_output_buffer(self):
        # Inputs much larger than a segment: each output buffer is one
        # segment (the first with the preamble and Tink header in front),
        # whatever the input's size, so a segment bounds the latency.
        for bits, key in KEYS.items():
            s = 4096
            plain = random.Random(bits).randbytes(1_000_003)
            chunks = [plain[i:i + 300_001] for i in range(0, len(plain), 300_001)]
            with self.subTest(bits=bits):
                bufs, err = run("aesenc", {"mode": "gcm-file", "key": key.hex(),
                                           "segment-size": s}, chunks)
                self.assertIsNone(err)
                self.assertEqual(ref.decrypt(key, b"".join(bufs)), plain)
                sizes = [len(b) for b in bufs]
                self.assertEqual(sizes[0], 32 + s)  # P, H and segment 0
                self.assertTrue(all(n == s for n in sizes[1:-1]), sorted(set(sizes)))
                self.assertTrue(16 < sizes[-1] <= s, sizes[-1])

    def test_every_manipulation_is_an_error_with_a_prefix_out(self):
        key, s = KEYS[128], 400
        plain = random.Random(5).randbytes(6000)
        f = ref.encrypt(key, plain, s)
        other = ref.encrypt(key, plain, s)
        seg = lambda i: 32 + (i * s if i else 24)
        cases = {
            "bit flip": (f[:1000] + bytes([f[1000] ^ 1]) + f[1001:], "fails authentication"),
            "dropped segment": (f[:seg(3)] + f[seg(4):], "segment 3"),
            "swapped segments": (f[:seg(2)] + f[seg(3):seg(4)] + f[seg(2):seg(3)] + f[seg(4):],
                                 "segment 2"),
            "spliced segment": (f[:seg(5)] + other[seg(5):seg(6)] + f[seg(6):], "segment 5"),
            "last segment removed": (f[:seg(15)], "without a final segment"),
            "cut inside a segment": (f[:seg(7) + 50], "ends inside segment 7"),
            "other file's final segment": (f[:seg(4)] + ref.encrypt(key, b"", s)[-16:],
                                           "segment 4"),
            "changed preamble": (f[:11] + b"\x80" + f[12:], "segment 0"),
            "appended data": (f + other[seg(1):seg(2)], "segment 15"),
        }
        for name, (bad, words) in cases.items():
            with self.subTest(name):
                out, err = decrypt(key, bad, seed=len(name))
                self.assertIsNotNone(err)
                self.assertIn(words, err)
                self.assertTrue(plain.startswith(out))
                self.assertIn(len(out), boundaries(key, s))
                if name.startswith(("last", "cut")):
                    self.assertIn("skip-damaged-segments", err)

    def test_aesdec_without_mode_detects_the_preamble(self):
        key = KEYS[256]
        plain = random.Random(9).randbytes(200_000)
        bufs, err = run("aesdec", {"key": key.hex()}, rechunk(ref.encrypt(key, plain, 4096), 3))
        self.assertIsNone(err)
        self.assertEqual(b"".join(bufs), plain)
        # and a manipulation is still found
        bad = bytearray(ref.encrypt(key, plain, 4096))
        bad[5000] ^= 1
        bufs, err = run("aesdec", {"key": key.hex()}, rechunk(bytes(bad), 4))
        self.assertIn("fails authentication", err)

    def test_a_preamble_rewritten_into_a_ctr_header(self):
        """docs/format.md: with mode=gcm-file a preamble rewritten into a CTR
        header (same key id, same offset) is refused before any output;
        without mode, detection believes it and decrypts CTR garbage (the
        documented reason to set mode=gcm-file)."""
        key = KEYS[128]
        plain = random.Random(11).randbytes(20_000)
        f = bytearray(ref.encrypt(key, plain, 4096))
        f[5], f[7], f[8:16] = 1, 0x30, bytes(8)
        out, err = decrypt(key, bytes(f))
        self.assertEqual(out, b"")
        self.assertIn("not gcm-file", err)
        bufs, err = run("aesdec", {"key": key.hex()}, rechunk(bytes(f), 5))
        self.assertIsNone(err)
        self.assertEqual(len(b"".join(bufs)), len(f) - 48)
        self.assertNotIn(plain[:64], b"".join(bufs))
        # require-authentication=true closes it also without mode.
        bufs, err = run("aesdec", {"key": key.hex(), "require-authentication": "true"},
                        rechunk(bytes(f), 5))
        self.assertEqual(bufs, [])
        self.assertIn("require-authentication=true, but this stream (CTR header", err)
        # and the genuine file still decrypts with it, detected or not
        good = ref.encrypt(key, plain, 4096)
        for props in ({}, {"mode": "gcm-file"}):
            with self.subTest(props=props):
                bufs, err = run("aesdec", {"key": key.hex(), "require-authentication": "true",
                                           **props}, rechunk(good, 6))
                self.assertIsNone(err)
                self.assertEqual(b"".join(bufs), plain)

    def test_require_authentication_refuses_every_unauthenticated_mode(self):
        data = bytes(4096)
        for props, what in (({"mode": "ctr", "iv": "00" * 16}, "mode=ctr"),
                            ({"mode": "ecb"}, "mode=ecb"),
                            ({"mode": "cbc", "iv": "00" * 16}, "mode=cbc"),
                            ({"iv": "00" * 16}, "gst-plugins-bad's AES-CBC")):
            with self.subTest(what=what):
                bufs, err = run("aesdec", {"key": KEYS[128].hex(),
                                           "require-authentication": "true", **props}, [data])
                self.assertEqual(bufs, [])
                self.assertIn(f"require-authentication=true, but {what}", err)

    def test_wrong_key_is_an_error_before_any_output(self):
        f = ref.encrypt(KEYS[128], b"x" * 5000, 1000)
        out, err = decrypt(bytes(16), f)
        self.assertEqual(out, b"")
        self.assertIn("another key", err)

    def test_skip_damaged_segments_recovers_the_rest(self):
        key, s = KEYS[192], 300
        plain = random.Random(6).randbytes(5000)
        f = bytearray(ref.encrypt(key, plain, s))
        f[32 + 3 * s + 10] ^= 1
        out, err = decrypt(key, bytes(f), **{"skip-damaged-segments": "true"})
        self.assertIsNone(err)
        b = boundaries(key, s)
        self.assertEqual(out, plain[:b[3]] + plain[b[4]:])
        # a truncated recording: what is there comes out
        out, err = decrypt(key, ref.encrypt(key, plain, s)[:-7],
                           **{"skip-damaged-segments": "true"})
        self.assertIsNone(err)
        self.assertEqual(out, plain[:b[17]])

    def test_skip_damaged_segments_without_mode(self):
        """The codec made from the detected preamble gets aesdec's
        skip-damaged-segments like the mode=gcm-file one; segments-skipped
        counts per stream (a second run of the same element starts at 0)."""
        import gi
        gi.require_version("Gst", "1.0")
        from gi.repository import Gst
        Gst.init(None)
        key, s = KEYS[128], 300
        plain = random.Random(8).randbytes(5000)
        f = bytearray(ref.encrypt(key, plain, s))
        f[32 + 5 * s + 10] ^= 1
        b = boundaries(key, s)
        pipeline = Gst.parse_launch(
            f"appsrc name=src format=bytes ! aesdec name=dec key={key.hex()} "
            "skip-damaged-segments=true ! appsink name=sink sync=false emit-signals=true")
        dec, src, sink = (pipeline.get_by_name(n) for n in ("dec", "src", "sink"))
        self.assertEqual(dec.get_factory().get_plugin().get_name(), "aesstream")
        out = []

        def on_sample(appsink):
            buf = appsink.emit("pull-sample").get_buffer()
            out.append(buf.extract_dup(0, buf.get_size()))
            return Gst.FlowReturn.OK

        sink.connect("new-sample", on_sample)
        for run_no in range(2):
            with self.subTest(run=run_no):
                out.clear()
                pipeline.set_state(Gst.State.PLAYING)
                for c in rechunk(bytes(f), run_no, 700):
                    src.emit("push-buffer", Gst.Buffer.new_wrapped(c))
                src.emit("end-of-stream")
                msg = pipeline.get_bus().timed_pop_filtered(
                    60 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
                skipped = dec.get_property("segments-skipped")
                pipeline.set_state(Gst.State.NULL)
                self.assertIsNotNone(msg)
                self.assertEqual(msg.type, Gst.MessageType.EOS,
                                 msg.parse_error() if msg.type == Gst.MessageType.ERROR else "")
                self.assertEqual(b"".join(out), plain[:b[5]] + plain[b[6]:])
                self.assertEqual(skipped, 1)

    def test_streamable_muxer_output_is_recorded_byte_for_byte(self):
        """What a muxer that never goes back writes, aesenc mode=gcm-file
        records exactly: the decrypted file equals the muxer's own output
        from the same run (a tee), for Matroska/WebM and Ogg."""
        from aestest import gst_launch
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            key = os.path.join(d, "k")
            with open(os.open(key, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
                f.write(KEYS[128].hex())
            for name, src, mux in (
                    ("webm", "videotestsrc num-buffers=30 ! video/x-raw,width=160,height=120 "
                             "! vp8enc deadline=1", "webmmux streamable=true"),
                    ("ogg", "audiotestsrc num-buffers=40 ! vorbisenc", "oggmux")):
                with self.subTest(name):
                    plain, enc = os.path.join(d, name), os.path.join(d, name + ".aes")
                    gst_launch(f"{src} ! {mux} ! tee name=t ! queue ! filesink location={plain} "
                               f"t. ! queue ! aesenc mode=gcm-file key-file={key} "
                               f"segment-size=4096 ! filesink location={enc}")
                    with open(plain, "rb") as f:
                        expected = f.read()
                    with open(enc, "rb") as f:
                        self.assertEqual(ref.decrypt(KEYS[128], f.read()), expected)

    def test_filesrc_aesenc_aesdec_round_trip(self):
        """`filesrc ! aesenc ! aesdec`: upstream knows the plaintext's size,
        which is not the ciphertext's; aesdec must not take it for where
        the stream ends (it did: a false truncation error whenever the last
        segment is shorter than the stream's overhead)."""
        from aestest import gst_launch
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            plain = random.Random(11).randbytes(3000001)
            src, out = os.path.join(d, "p"), os.path.join(d, "o")
            with open(src, "wb") as f:
                f.write(plain)
            k = KEYS[256].hex()
            for s in (4096, 100):
                with self.subTest(segment_size=s):
                    gst_launch(f"filesrc blocksize=4096 location={src} ! aesenc mode=gcm-file "
                               f"key={k} segment-size={s} ! aesdec key={k} "
                               f"! filesink buffer-mode=unbuffered location={out}")
                    with open(out, "rb") as f:
                        self.assertEqual(f.read(), plain)

    def test_filesrc_to_filesink_with_small_segments(self):
        """The simplest recording pipeline, with segments small enough that
        filesink gathers more than 1024 memories before it writes
        (GStreamer 1.22's filesink loses bytes when that count is cut
        inside a buffer of several memories)."""
        from aestest import gst_launch
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            plain = random.Random(12).randbytes(3000001)
            src, enc = os.path.join(d, "p"), os.path.join(d, "e")
            with open(src, "wb") as f:
                f.write(plain)
            for bs, s, sink in ((4096, 100, ""), (1000000, 4096, "buffer-size=8388608")):
                with self.subTest(blocksize=bs, segment_size=s):
                    gst_launch(f"filesrc blocksize={bs} location={src} ! aesenc mode=gcm-file "
                               f"key={KEYS[256].hex()} segment-size={s} "
                               f"! filesink {sink} location={enc}")
                    with open(enc, "rb") as f:
                        self.assertEqual(ref.decrypt(KEYS[256], f.read()), plain)

    def test_segment_size_out_of_range_is_refused_at_start(self):
        _, err = run("aesenc", {"mode": "gcm-file", "key": KEYS[256].hex(),
                                "segment-size": 56}, [b"abc"])
        self.assertIn("segment-size", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
