"""Runs the examples in examples/ as a user would, and checks their output
with pycryptodome."""
import os
import subprocess
import sys
import unittest

from aestest import (TempDirTestCase, bad_wins_env, ctr_reference, element_filename,
                     random_data, split_ctr_stream)

EXAMPLE_C = os.environ["AESSTREAM_EXAMPLE_C"]
EXAMPLE_PY = os.environ["AESSTREAM_EXAMPLE_PY"]
KEY = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"


class Examples(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.data = random_data(100_000, 42)
        self.src = self.write("plain", self.data)
        self.key = self.write("key", (KEY + "\n").encode())

    def run_example(self, cmd, *args, env=None):
        return subprocess.run(cmd + list(args), capture_output=True, text=True,
                              timeout=120, env=env)

    def check_round_trip(self, cmd, env=None):
        if env is not None:
            enc, dec = self.path("enc"), self.path("dec")
            r = self.run_example(cmd, "encrypt", self.key, self.src, enc, env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            ct = self.read("enc")
            self.assertEqual(ct[:4], b"AESs")
            self.assertEqual(ctr_reference(KEY, *split_ctr_stream(ct)), self.data)
            r = self.run_example(cmd, "decrypt", self.key, enc, dec, env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(self.read("dec"), self.data)
            return
        enc, dec = self.path("enc"), self.path("dec")
        r = self.run_example(cmd, "encrypt", self.key, self.src, enc)
        self.assertEqual(r.returncode, 0, r.stderr)
        ct = self.read("enc")
        # An aesstream header stream: pycryptodome decrypts the body with
        # the IV from the header (docs/format.md).
        self.assertEqual(ct[:4], b"AESs")
        self.assertEqual(ctr_reference(KEY, *split_ctr_stream(ct)), self.data)
        r = self.run_example(cmd, "decrypt", self.key, enc, dec)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.read("dec"), self.data)
        # Errors are reported, with the element's message.
        wrong = self.write("wrong", b"00" * 32)
        r = self.run_example(cmd, "decrypt", wrong, enc, dec)
        self.assertEqual(r.returncode, 1)
        self.assertIn("Wrong key", r.stderr)
        r = self.run_example(cmd, "encrypt", self.path("missing-key"), self.src, enc)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot open key-file", r.stderr)

    def test_c_example(self):
        self.check_round_trip([EXAMPLE_C])

    def test_python_example(self):
        self.check_round_trip(["/usr/bin/python3", EXAMPLE_PY])

    def test_examples_use_ours_where_gst_plugins_bad_wins(self):
        # Where a plain gst_element_factory_make("aesenc") gives
        # gst-plugins-bad's element, the examples still get ours (they load
        # the aesstream plugin last and check), under both names.
        env = bad_wins_env(self.tmp)
        self.assertTrue(element_filename(env, "aesenc").endswith("/libgstaes.so"),
                        "precondition: gst-plugins-bad's aesenc wins here")
        for names in ("aes", "aesstream"):
            for cmd in ([EXAMPLE_C], ["/usr/bin/python3", EXAMPLE_PY]):
                with self.subTest(names=names, cmd=cmd[-1]):
                    self.check_round_trip(cmd, env=dict(env, AESSTREAM_ELEMENTS=names))


if __name__ == "__main__":
    unittest.main(verbosity=2)
