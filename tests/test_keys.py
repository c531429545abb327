"""Key ids, key-file permissions and aesstream-info, as a user meets them.

Expected key ids come from Python's hmac (docs/keys.md), and the headers
described by aesstream-info are built here byte by byte from
docs/format.md, not with our code."""
import hashlib
import hmac
import os
import subprocess
import unittest

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

from aestest import NIST_KEYS, TempDirTestCase, random_data  # noqa: E402

INFO = os.environ["AESSTREAM_INFO"]
KEY = NIST_KEYS[256]


def key_id(key_hex):
    return hmac.new(bytes.fromhex(key_hex), b"aesstream key id",
                    hashlib.sha256).hexdigest()[:32]


def run_pipeline(description, timeout_s=30):
    """Runs a pipeline in this process to EOS or ERROR (never hangs, unlike
    gst-launch-1.0 after a preroll error); returns the error message or
    None."""
    pipeline = Gst.parse_launch(description)
    bus = pipeline.get_bus()
    try:
        pipeline.set_state(Gst.State.PLAYING)
        msg = bus.timed_pop_filtered(timeout_s * Gst.SECOND,
                                     Gst.MessageType.EOS | Gst.MessageType.ERROR)
        if msg is None:
            raise AssertionError("pipeline timed out: " + description)
        if msg.type == Gst.MessageType.ERROR:
            return msg.parse_error()[0].message
        return None
    finally:
        pipeline.set_state(Gst.State.NULL)


class KeyFilePermissions(TempDirTestCase):
    def test_key_file_readable_by_others_is_refused_before_any_output(self):
        src = self.write("in", b"x" * 1000)
        out = self.path("out")
        for element in ("aesenc", "aesdec mode=ctr iv=" + "00" * 16):
            for mode in (0o644, 0o604, 0o660):
                with self.subTest(element=element, mode=oct(mode)):
                    key = self.write("k", (KEY + "\n").encode())
                    os.chmod(key, mode)
                    err = run_pipeline(f"filesrc location={src} ! {element} "
                                       f"key-file={key} ! filesink location={out}")
                    self.assertIsNotNone(err)
                    self.assertIn(f"chmod 600 '{key}'", err)
                    self.assertEqual(os.path.getsize(out), 0)

    def test_key_file_shared_with_the_group_read_only_is_accepted(self):
        src = self.write("in", random_data(1000, 1))
        key = self.write("k", (KEY + "\n").encode())
        os.chmod(key, 0o640)
        err = run_pipeline(f"filesrc location={src} ! aesenc key-file={key} ! "
                           f"filesink location={self.path('out')}")
        self.assertIsNone(err)


class AesstreamInfo(TempDirTestCase):
    def info(self, *args, env=None):
        e = dict(os.environ)
        e["AESSTREAM_KEYRING"] = self.path("keyring")
        e.update(env or {})
        return subprocess.run([INFO] + list(args), capture_output=True,
                              text=True, timeout=30, env=e)

    def test_key_file_prints_its_key_id(self):
        for bits, key in NIST_KEYS.items():
            path = self.write("k", ("  " + key + "\n").encode())
            r = self.info(path)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(f"key id: {key_id(key)}", r.stdout)
            self.assertIn(f"AES-{bits}", r.stdout)
            self.assertNotIn(key, r.stdout + r.stderr)

    def test_gcm_file_preamble_from_the_issue_table(self):
        kid = key_id(KEY)
        pre = (b"AESs" + bytes([2, 5, 32, 0x20]) + (4096).to_bytes(4, "big")
               + bytes(4) + bytes.fromhex(kid))
        path = self.write("x.aes", pre + random_data(100, 2))
        r = self.info(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        for line in ("mode: gcm-file", "key length: 32 bytes (AES-256)",
                     f"key id: {kid}", "segment size: 4096 bytes",
                     "keyring: keyring '%s' does not exist" % self.path("keyring")):
            self.assertIn(line, r.stdout)
        # With the key in the keyring, it says so.
        ring = self.write("keyring", (KEY + "\n").encode())
        r = self.info(path)
        self.assertIn(f"keyring: has this key ({ring})", r.stdout)
        os.chmod(ring, 0o644)
        r = self.info(path)
        self.assertIn("chmod 600", r.stdout)

    def test_ctr_header_version_2_from_the_docs(self):
        kid = key_id(NIST_KEYS[128])
        hdr = (b"AESs" + bytes([2, 1, 16, 0x30]) + bytes(8) + bytes.fromhex(kid)
               + bytes(range(16)))
        path = self.write("x.aes", hdr)
        r = self.info(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("format: CTR header, version 2", r.stdout)
        self.assertIn("mode: ctr", r.stdout)
        self.assertIn(f"key id: {kid}", r.stdout)

    def test_file_written_by_aesenc(self):
        src = self.write("in", random_data(5000, 3))
        out = self.path("x.aes")
        self.assertIsNone(run_pipeline(f"filesrc location={src} ! aesenc key={KEY} ! "
                                       f"filesink location={out}"))
        r = self.info(out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("mode: ctr", r.stdout)
        self.assertIn("key length: 32 bytes (AES-256)", r.stdout)

    def test_gcm_records_written_by_aesenc(self):
        src = self.write("in", random_data(5000, 3))
        out = self.path("x.aes")
        self.assertIsNone(run_pipeline(f"filesrc location={src} ! aesenc mode=gcm key={KEY} "
                                       f"! filesink location={out}"))
        r = self.info(out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("format: GCM records", r.stdout)
        self.assertIn("key id: not recorded", r.stdout)

    def test_unknown_and_damaged_files_fail_with_a_reason(self):
        cases = {
            b"\x1aE\xdf\xa3" + bytes(100): "not an aesstream stream",
            b"AESs\x07\x01\x10\x20" + bytes(40): "version",
            b"AESs\x02\x05\x20\x20" + bytes(8): "truncated",
            b"AESs\x02\x05\x20\x20" + bytes(3) + b"\x40" + b"\x00\x00\x00\x01"
            + bytes(16): "reserved",
        }
        for data, message in cases.items():
            with self.subTest(message=message):
                r = self.info(self.write("f", data))
                self.assertEqual(r.returncode, 1)
                self.assertIn(message, r.stderr)
        r = self.info(self.path("missing"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("No such file", r.stderr)
        self.assertEqual(self.info().returncode, 2)

    def test_loose_key_file_is_reported(self):
        path = self.write("k", (KEY + "\n").encode())
        os.chmod(path, 0o644)
        r = self.info(path)
        self.assertEqual(r.returncode, 1)
        self.assertIn("chmod 600", r.stderr)

    def test_keyring_listing(self):
        r = self.info("--keyring")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"keyring: {self.path('keyring')} (from $AESSTREAM_KEYRING)",
                      r.stdout)
        self.write("keyring", ("# mine\n%s\n%s:%s\n" % (
            NIST_KEYS[128], "ab" * 16, NIST_KEYS[192])).encode())
        r = self.info("--keyring")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("2 keys", r.stdout)
        self.assertIn(f"key id: {key_id(NIST_KEYS[128])}", r.stdout)
        self.assertIn("key id: " + "ab" * 16, r.stdout)
        for k in NIST_KEYS.values():
            self.assertNotIn(k, r.stdout)
        # The XDG location when AESSTREAM_KEYRING is unset.
        r = self.info("--keyring", env={"AESSTREAM_KEYRING": "",
                                        "XDG_CONFIG_HOME": self.tmp})
        self.assertIn(f"keyring: {self.tmp}/aesstream/keyring", r.stdout)


if __name__ == "__main__":
    Gst.init(None)
    unittest.main(verbosity=2)
