"""Playback in ordinary players with the key found by its id: gst-play-1.0,
gst-discoverer-1.0, playbin (with a seek where the decoder allows one) and
the example application that answers request-key (fake sinks, bounded
time); for the CTR header and for a mode=gcm-file recording, whose preamble
carries the key id as well."""
import os
import subprocess
import unittest

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

from aestest import NIST_KEYS, TempDirTestCase, gst_launch  # noqa: E402
from test_players import KEY, key_id, plugged  # noqa: E402


EXAMPLE_PLAY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "examples", "aesstream_play.py")


class Players(TempDirTestCase):
    """gst-play-1.0, gst-discoverer-1.0, playbin and the example application,
    with the key found by its id (fake sinks, bounded time)."""

    # aesenc's settings for the recording (the CTR header by default).
    ENC_PROPS = ""
    HEAD = b"AESs\x02\x01\x20\x30"

    def setUp(self):
        super().setUp()
        self.mkv = self.path("plain.mkv")
        # 2 s of VP8 at 30 fps in Matroska.
        gst_launch("videotestsrc num-buffers=60 ! video/x-raw,width=160,height=120,"
                   f"framerate=30/1 ! vp8enc deadline=1 ! matroskamux ! filesink location={self.mkv}")
        self.enc = self.path("x.mkv.aes")
        gst_launch(f"filesrc location={self.mkv} ! aesenc key={KEY} {self.ENC_PROPS} "
                   f"! filesink location={self.enc}")
        self.ring = self.path("keyring")
        self.env = dict(os.environ, AESSTREAM_KEYRING=self.ring)

    def with_keyring(self):
        self.write("keyring", ("# test keys\n" + NIST_KEYS[128] + "\n" + KEY + "\n").encode())
        return self.env

    def run_cmd(self, cmd, env):
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)

    def test_the_header_carries_the_key_id(self):
        with open(self.enc, "rb") as f:
            head = f.read(48)
        self.assertEqual(head[:8], self.HEAD)
        self.assertEqual(head[16:32], key_id(KEY))

    def test_aesdec_with_the_key_and_no_mode_gives_back_the_file(self):
        out = self.path("out.mkv")
        gst_launch(f"filesrc location={self.enc} ! aesdec key={KEY} ! filesink location={out}")
        with open(out, "rb") as got, open(self.mkv, "rb") as want:
            self.assertEqual(got.read(), want.read())

    def test_decodebin_plugs_the_decryptor_with_the_key_from_the_keyring(self):
        self.with_keyring()
        os.environ["AESSTREAM_KEYRING"] = self.ring
        self.addCleanup(os.environ.pop, "AESSTREAM_KEYRING", None)
        added, err = plugged(f"filesrc location={self.enc} ! decodebin ! fakesink")
        self.assertIsNone(err)
        self.assertIn("aesstreamdecryptor", added)
        self.assertIn("matroskademux", added)
        self.assertIn("vp8dec", added)

    def test_gst_play_plays_to_the_end(self):
        r = self.run_cmd(["gst-play-1.0", "--no-interactive", "--videosink=fakesink",
                          "--audiosink=fakesink", self.enc], self.with_keyring())
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Reached end of play list", r.stdout)
        self.assertNotIn("ERROR", r.stdout + r.stderr)

    def test_gst_discoverer_reports_duration_and_streams(self):
        r = self.run_cmd(["gst-discoverer-1.0", self.enc], self.with_keyring())
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        plain = self.run_cmd(["gst-discoverer-1.0", self.mkv], self.env)
        duration = [l for l in plain.stdout.splitlines() if "Duration:" in l]
        self.assertTrue(duration)
        self.assertIn(duration[0].strip(), r.stdout)
        # Pull mode (aesdec serves ranges): the file is seekable. (The
        # Matroska container is then not listed as its own topology level
        # under application/x-aes-encrypted; the streams are.)
        self.assertIn("Seekable: yes", r.stdout)
        self.assertRegex(r.stdout, r"video #\d+: VP8")

    def test_gst_play_without_the_key_names_the_key_id_and_the_keyring(self):
        r = self.run_cmd(["gst-play-1.0", "--no-interactive", "--videosink=fakesink",
                          "--audiosink=fakesink", self.enc], self.env)
        out = r.stdout + r.stderr
        self.assertIn(f"key id {key_id(KEY).hex()}", out)
        self.assertIn(f"keyring '{self.ring}' does not exist", out)

    def playbin(self):
        """A playbin over the encrypted file with fake sinks, prerolled, the
        key in the keyring (found through AESSTREAM_KEYRING, which GStreamer
        reads in this process)."""
        self.with_keyring()
        os.environ["AESSTREAM_KEYRING"] = self.ring
        self.addCleanup(os.environ.pop, "AESSTREAM_KEYRING", None)
        playbin = Gst.ElementFactory.make("playbin", None)
        playbin.set_property("uri", Gst.filename_to_uri(self.enc))
        playbin.set_property("video-sink", Gst.ElementFactory.make("fakesink", None))
        playbin.set_property("audio-sink", Gst.ElementFactory.make("fakesink", None))
        self.addCleanup(playbin.set_state, Gst.State.NULL)
        playbin.set_state(Gst.State.PAUSED)
        ret, _, _ = playbin.get_state(30 * Gst.SECOND)
        self.assertEqual(ret, Gst.StateChangeReturn.SUCCESS,
                         playbin.get_bus().pop_filtered(Gst.MessageType.ERROR))
        return playbin

    def test_playbin_reports_the_duration_and_plays_to_the_end(self):
        playbin = self.playbin()
        ok, duration = playbin.query_duration(Gst.Format.TIME)
        self.assertTrue(ok)
        self.assertAlmostEqual(duration / Gst.SECOND, 2.0, delta=0.1)
        playbin.set_state(Gst.State.PLAYING)
        msg = playbin.get_bus().timed_pop_filtered(
            30 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
        self.assertIsNotNone(msg)
        self.assertEqual(msg.type, Gst.MessageType.EOS,
                         msg.parse_error() if msg.type == Gst.MessageType.ERROR else "")

    # aesdec serves playbin in pull mode (ranges decrypted where asked).
    def test_playbin_seeks(self):
        playbin = self.playbin()
        self.assertTrue(playbin.seek_simple(
            Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.ACCURATE, 1 * Gst.SECOND))
        ret, _, _ = playbin.get_state(30 * Gst.SECOND)
        self.assertEqual(ret, Gst.StateChangeReturn.SUCCESS)
        ok, pos = playbin.query_position(Gst.Format.TIME)
        self.assertTrue(ok)
        self.assertAlmostEqual(pos / Gst.SECOND, 1.0, delta=0.1)

    def test_example_application_supplies_the_key_through_request_key(self):
        keyfile = self.write("my.key", (KEY + "\n").encode())
        other = self.write("other.key", (NIST_KEYS[128] + "\n").encode())
        # No keyring at all: only the application knows the key.
        r = self.run_cmd(["/usr/bin/python3", EXAMPLE_PLAY, "--fake-sinks", other, keyfile,
                          self.enc], self.env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"key ids asked: {key_id(KEY).hex()}", r.stdout)
        self.assertIn("played to: end", r.stdout)
        # Without the right key: the error names the id.
        r = self.run_cmd(["/usr/bin/python3", EXAMPLE_PLAY, "--fake-sinks", other, self.enc],
                         self.env)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"key id {key_id(KEY).hex()}", r.stderr)


class GcmFilePlayers(Players):
    """The same players over a mode=gcm-file recording: the preamble carries
    the key id too, so aesdec without mode, decodebin, playbin, gst-play and
    the request-key application find format and key by themselves."""
    ENC_PROPS = "mode=gcm-file segment-size=4096"
    HEAD = b"AESs\x02\x05\x20\x20"


if __name__ == "__main__":
    unittest.main(verbosity=2)
