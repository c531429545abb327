"""How users meet the elements: gst-launch-1.0 pipelines with real media,
gst-inspect-1.0, and a PyGObject application with appsrc/appsink."""
import os
import random
import re
import subprocess
import unittest

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

from aestest import (IV, NIST_KEYS, TempDirTestCase, ctr_reference,  # noqa: E402
                     gst_launch, recipe_ecb_encrypt)

Gst.init(None)
KEY = NIST_KEYS[256]


class Registry(unittest.TestCase):
    def test_gst_inspect_names_our_library(self):
        """gst-plugins-bad registers aesenc/aesdec too: ours must win."""
        for name in ("aesenc", "aesdec"):
            out = subprocess.run(["gst-inspect-1.0", name], stdout=subprocess.PIPE,
                                 text=True, check=True).stdout
            self.assertRegex(out, r"Filename\s+\S*/libgstaesstream\.so")
            self.assertRegex(out, r"Name\s+aesstream")
            self.assertNotIn("GstAesEnc\n", out)


class EndToEnd(TempDirTestCase):
    def make_video(self):
        plain = self.path("plain.mkv")
        gst_launch("videotestsrc num-buffers=60 ! video/x-raw,width=320,height=240 "
                   "! vp8enc deadline=1 ! matroskamux ! filesink "
                   f"location={plain}")
        return plain

    def test_encrypted_video_file_decrypts_identically_and_plays(self):
        plain = self.make_video()
        enc, dec = self.path("video.mkv.aes"), self.path("dec.mkv")
        gst_launch(f"filesrc location={plain} ! aesenc key={KEY} ! "
                   f"filesink location={enc}")
        gst_launch(f"filesrc location={enc} ! aesdec key={KEY} ! "
                   f"filesink location={dec}")
        with open(plain, "rb") as a, open(dec, "rb") as b, open(enc, "rb") as c:
            plain_bytes, enc_bytes = a.read(), c.read()
            self.assertEqual(b.read(), plain_bytes)
            self.assertNotEqual(enc_bytes[32:], plain_bytes)
        # Playable: decodebin finds the video in the decrypted file, and
        # straight out of aesdec by typefinding.
        gst_launch(f"filesrc location={dec} ! decodebin ! videoconvert ! fakesink")
        out = gst_launch(f"filesrc location={enc} ! aesdec key={KEY} ! decodebin "
                         "! video/x-raw ! fakesink", verbose=True).stdout
        self.assertIn("video/x-raw", out)

    def test_recording_through_a_buffering_filesink_loses_nothing(self):
        """GStreamer 1.22's filesink loses bytes when the 1024 memories it
        writes at once end inside a buffer of several memories. aesenc's
        buffers are one memory each (mode=gcm sealed records of 8 KiB and
        more in place, as header, payload and tag memories: 16 KiB of this
        file went missing without an error); every mode, recorded with a
        large filesink buffer, decrypts to the input. The ciphertext is
        checked by aesdec here, against pycryptodome elsewhere."""
        plain = random.Random(3).randbytes(10_000_000)
        src = self.write("plain.bin", plain)
        for mode in ("gcm", "gcm-file", "ctr", f"cbc iv={IV} per-buffer-padding=false"):
            with self.subTest(mode=mode):
                name = mode.split()[0]
                enc, out = self.path(name + ".aes"), self.path(name + ".out")
                gst_launch(f"filesrc location={src} blocksize=8192 ! aesenc mode={mode} "
                           f"key={KEY} ! filesink buffer-size=8388608 location={enc}")
                gst_launch(f"filesrc location={enc} ! aesdec mode={mode} key={KEY} "
                           f"! filesink location={out}")
                with open(out, "rb") as f:
                    self.assertEqual(f.read(), plain)

    def test_decodebin_never_plugs_our_elements_by_itself(self):
        """aesdec accepts any caps and is a Decryptor: if it had a rank,
        decodebin would try it on every stream. It must not."""
        plain = self.make_video()
        pipeline = Gst.parse_launch(f"filesrc location={plain} ! decodebin ! fakesink")
        added = []
        pipeline.connect("deep-element-added",
                         lambda _bin, _sub, el: added.append(el.get_factory().get_name()
                                                             if el.get_factory() else ""))
        pipeline.set_state(Gst.State.PLAYING)
        msg = pipeline.get_bus().timed_pop_filtered(
            30 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
        pipeline.set_state(Gst.State.NULL)
        self.assertEqual(msg.type, Gst.MessageType.EOS)
        self.assertIn("matroskademux", added)
        self.assertNotIn("aesdec", added)
        self.assertNotIn("aesenc", added)

    def test_typefind_recognises_our_formats(self):
        plain = self.make_video()
        for mode in ("ctr", "gcm"):
            with self.subTest(mode=mode):
                enc = self.path(f"v.{mode}")
                gst_launch(f"filesrc location={plain} ! aesenc mode={mode} key={KEY} "
                           f"! filesink location={enc}")
                out = gst_launch(f"filesrc location={enc} ! typefind ! fakesink",
                                 verbose=True).stdout
                self.assertIn(f"application/x-aes-encrypted, mode=(string){mode}", out)
        # ... and plain media stays what it is.
        out = gst_launch(f"filesrc location={plain} ! typefind ! fakesink",
                         verbose=True).stdout
        self.assertIn("video/x-matroska", out)
        self.assertNotIn("x-aes-encrypted", out)

    def test_encrypting_while_muxing_in_one_pipeline(self):
        enc, dec = self.path("live.aes"), self.path("live.mkv")
        gst_launch("videotestsrc num-buffers=30 ! vp8enc deadline=1 ! matroskamux "
                   f"! aesenc key={KEY} ! filesink location={enc}")
        gst_launch(f"filesrc location={enc} ! aesdec key={KEY} ! "
                   f"filesink location={dec}")
        gst_launch(f"filesrc location={dec} ! matroskademux ! vp8dec ! fakesink")

    def test_raw_video_through_aesenc_and_aesdec_negotiates(self):
        for mode in ("ctr", "ecb"):
            with self.subTest(mode=mode):
                out = gst_launch("videotestsrc num-buffers=20 ! "
                                 "video/x-raw,format=I420,width=320,height=240 ! "
                                 f"aesenc mode={mode} key={KEY} ! aesdec mode={mode} "
                                 f"key={KEY} ! videoconvert ! fakesink", verbose=True).stdout
                self.assertIn("application/x-aes-encrypted", out)
                self.assertIn("original-caps", out)

    def test_key_file(self):
        plain = self.make_video()
        keyfile = self.write("my.key", ("  " + KEY + "\n").encode())
        os.chmod(keyfile, 0o600)
        enc, dec = self.path("e"), self.path("d")
        gst_launch(f"filesrc location={plain} ! aesenc key-file={keyfile} ! "
                   f"filesink location={enc}")
        gst_launch(f"filesrc location={enc} ! aesdec key={KEY} ! filesink location={dec}")
        with open(plain, "rb") as a, open(dec, "rb") as b:
            self.assertEqual(a.read(), b.read())


class BadInputFromTheCommandLine(TempDirTestCase):
    def fails_with(self, pipeline, message):
        # gst-launch-1.0 sometimes never exits after an element error during
        # preroll (GUIDE.md, known hazards): give each try a bounded time.
        for attempt in range(3):
            try:
                proc = gst_launch(pipeline, check=False, timeout=30)
                break
            except subprocess.TimeoutExpired:
                if attempt == 2:
                    raise
        self.assertNotEqual(proc.returncode, 0, proc.stdout)
        self.assertIn(message, proc.stdout)
        return proc

    def test_missing_and_malformed_keys(self):
        src = self.write("in", b"x" * 100)
        out = f"filesink location={self.path('out')}"
        self.fails_with(f"filesrc location={src} ! aesenc ! {out}", "No key set")
        self.fails_with(f"filesrc location={src} ! aesenc key=abc ! {out}", "got 3")
        self.fails_with(f"filesrc location={src} ! aesenc key=nothex ! {out}",
                        "not a hex digit")
        self.fails_with(f"filesrc location={src} ! aesenc key-file=/nonexistent ! {out}",
                        "cannot open key-file")
        # Nothing was written under a key the user did not give.
        self.assertEqual(os.path.getsize(self.path("out")) if
                         os.path.exists(self.path("out")) else 0, 0)

    def error_in_process(self, pipeline):
        """Runs a pipeline in this process until ERROR or EOS (30 s at most)
        and returns the error message, or None. For errors that come with
        the data, which gst-launch-1.0 1.22 sometimes never exits after
        (GUIDE.md, known hazards: measured 2 runs in 10 here)."""
        p = Gst.parse_launch(pipeline)
        try:
            p.set_state(Gst.State.PLAYING)
            msg = p.get_bus().timed_pop_filtered(
                30 * Gst.SECOND, Gst.MessageType.ERROR | Gst.MessageType.EOS)
            self.assertIsNotNone(msg, "neither EOS nor an error in 30 s")
            return msg.parse_error()[0].message \
                if msg.type == Gst.MessageType.ERROR else None
        finally:
            p.set_state(Gst.State.NULL)

    def test_no_key_with_gst_plugins_bad_properties(self):
        # A program may set the key until the first buffer; gst-launch-1.0
        # cannot, so there it fails the state change at once.
        src = self.write("in", b"x" * 100)
        out = self.path("out")
        self.fails_with(f"filesrc location={src} ! aesenc iv={IV} ! filesink location={out}",
                        "No key set")
        self.assertEqual(os.path.getsize(out) if os.path.exists(out) else 0, 0)

    def test_aesdec_the_gst_plugins_bad_way_refuses_aesstream_streams(self):
        src = self.write("in", b"secret" * 100)
        enc = self.path("enc")
        key = NIST_KEYS[128]
        gst_launch(f"filesrc location={src} ! aesenc key={key} ! filesink location={enc}")
        err = self.error_in_process(f"filesrc location={enc} ! aesdec key={key} iv={IV} "
                                    "! fakesink")
        self.assertIn("Set mode=ctr (without iv", err or "")
        gst_launch(f"filesrc location={src} ! aesenc mode=ctr key={key} iv={IV} ! "
                   f"filesink location={enc}")
        err = self.error_in_process(f"filesrc location={enc} ! aesdec key={key} iv={IV} "
                                    "! fakesink")
        self.assertIn("set mode=ctr on aesdec", err or "")

    def test_plaintext_given_to_aesdec(self):
        src = self.write("in", b"just some plain text, not encrypted" * 10)
        err = self.error_in_process(f"filesrc location={src} ! aesdec key={KEY} ! fakesink")
        self.assertIn("does not start with an aesstream header", err or "")

    def test_wrong_key(self):
        src = self.write("in", b"secret" * 100)
        enc = self.path("enc")
        gst_launch(f"filesrc location={src} ! aesenc key={KEY} ! filesink location={enc}")
        wrong = "00" * 32
        err = self.error_in_process(f"filesrc location={enc} ! aesdec key={wrong} ! fakesink")
        self.assertIn("Wrong key", err or "")

    def test_truncated_ecb(self):
        src = self.write("in", b"y" * 40)
        err = self.error_in_process(
            f"filesrc location={src} ! aesdec mode=ecb key={KEY} ! fakesink")
        self.assertIn("not a multiple of 16", err or "")


class LaunchHarness(TempDirTestCase):
    """Finding 8: gst-launch-1.0 1.22 sometimes never exits after an error
    during preroll; no test may depend on it exiting."""

    def fake_launch(self, body):
        """Puts a fake gst-launch-1.0 first on PATH for this test."""
        bindir = os.path.join(self.tmp, "bin")
        os.makedirs(bindir, exist_ok=True)
        exe = os.path.join(bindir, "gst-launch-1.0")
        with open(exe, "w") as f:
            f.write("#!/usr/bin/python3\nimport os, sys, time\n" + body)
        os.chmod(exe, 0o755)
        old = os.environ["PATH"]
        os.environ["PATH"] = bindir + os.pathsep + old
        self.addCleanup(os.environ.__setitem__, "PATH", old)

    def test_a_launch_that_hangs_after_its_error_is_killed_and_reported(self):
        self.fake_launch(
            'print("ERROR: from element /GstPipeline:pipeline0/'
            'GstAesStreamDec:aesdec0: Wrong key", flush=True)\n'
            "time.sleep(600)\n")
        proc = gst_launch("fakesrc ! aesdec key=00 ! fakesink", check=False,
                          timeout=30)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("Wrong key", proc.stdout)

    def test_a_launch_that_hangs_without_an_error_is_retried(self):
        count = os.path.join(self.tmp, "count")
        self.fake_launch(
            f"p = {count!r}\n"
            "n = int(open(p).read()) + 1 if os.path.exists(p) else 1\n"
            "open(p, 'w').write(str(n))\n"
            "time.sleep(600 if n == 1 else 0)\n")
        proc = gst_launch("fakesrc ! fakesink", timeout=2)
        self.assertEqual(proc.returncode, 0)
        with open(count) as f:
            self.assertEqual(f.read(), "2")

    def test_preroll_errors_always_end(self):
        # The real thing: this pipeline makes gst-launch-1.0 hang about one
        # run in ten on 1.22 (not our elements: identity does it).
        for _ in range(10):
            proc = gst_launch("fakesrc num-buffers=3 ! identity error-after=1 "
                              "! fakesink", check=False)
            self.assertNotEqual(proc.returncode, 0)
            self.assertIn("Failed after iterations as requested", proc.stdout)


class PythonApplication(unittest.TestCase):
    """appsrc ! aesenc ! appsink from PyGObject, in random chunks, checked
    against pycryptodome."""

    def run_appsrc(self, props, chunks):
        pipeline = Gst.parse_launch(
            "appsrc name=src format=bytes ! aesenc name=enc ! "
            "appsink name=sink sync=false")
        enc = pipeline.get_by_name("enc")
        for k, v in props.items():
            Gst.util_set_object_arg(enc, k, v)
        src, sink = pipeline.get_by_name("src"), pipeline.get_by_name("sink")
        out = bytearray()

        def on_sample(appsink):
            buf = appsink.emit("pull-sample").get_buffer()
            out.extend(buf.extract_dup(0, buf.get_size()))
            return Gst.FlowReturn.OK

        sink.set_property("emit-signals", True)
        sink.connect("new-sample", on_sample)
        self.assertNotEqual(pipeline.set_state(Gst.State.PLAYING),
                            Gst.StateChangeReturn.FAILURE)
        for c in chunks:
            self.assertEqual(src.emit("push-buffer", Gst.Buffer.new_wrapped(c)),
                             Gst.FlowReturn.OK)
        src.emit("end-of-stream")
        msg = pipeline.get_bus().timed_pop_filtered(
            30 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
        pipeline.set_state(Gst.State.NULL)
        self.assertIsNotNone(msg)
        self.assertEqual(msg.type, Gst.MessageType.EOS,
                         msg.parse_error() if msg.type == Gst.MessageType.ERROR else "")
        return bytes(out)

    def chunks(self, data, seed):
        rng, pos, out = random.Random(seed), 0, []
        while pos < len(data):
            n = rng.randint(1, 500)
            out.append(data[pos:pos + n])
            pos += n
        return out

    def test_ctr_from_python_matches_pycryptodome(self):
        data = random.Random(9).randbytes(20_000)
        for seed in range(3):
            got = self.run_appsrc({"key": KEY, "mode": "ctr", "iv": IV}, self.chunks(data, seed))
            self.assertEqual(got, ctr_reference(KEY, IV, data))

    def test_ecb_from_python_matches_the_recipe(self):
        data = random.Random(10).randbytes(10_001)
        got = self.run_appsrc({"key": KEY, "mode": "ecb"}, self.chunks(data, 1))
        self.assertEqual(got, recipe_ecb_encrypt(KEY, data))

    def test_key_cannot_be_read_back(self):
        enc = Gst.ElementFactory.make("aesenc", None)
        enc.set_property("key", KEY)
        pspec = enc.find_property("key")
        self.assertFalse(pspec.flags & gi.repository.GObject.ParamFlags.READABLE)
        with self.assertRaises(TypeError):
            enc.get_property("key")


if __name__ == "__main__":
    unittest.main(verbosity=2)
