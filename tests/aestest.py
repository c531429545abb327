"""Shared helpers for the Python tests: run gst-launch-1.0 and openssl on
files, and build references with pycryptodome (an independent AES).

The tests are started by `meson test`, which points GStreamer at the build
tree's plugin with its own registry (see tests/meson.build), so that this
project's aesenc wins over gst-plugins-bad's."""
import os
import random
import shlex
import subprocess
import tempfile
import threading
import time
import unittest

from Cryptodome.Cipher import AES

# Files the tests write (keys among them) are private, as a user's key files
# must be: aesenc/aesdec refuse key files that others can read and keyrings
# that anyone but their owner can access (docs/keys.md). Tests of that
# refusal chmod their files explicitly.
os.umask(0o077)

NIST_KEYS = {
    128: "2b7e151628aed2a6abf7158809cf4f3c",
    192: "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
    256: "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
}
IV = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"


# gst-launch-1.0 1.22 sometimes never exits after an element error during
# preroll (about 1 run in 10, with any element: `identity error-after=1`
# does it too). So no test waits for it to exit on its own after an error:
# once it has printed an ERROR line it gets ERROR_GRACE seconds, then it is
# killed and the run counts as failed with the error it printed. A run that
# hangs without an error is retried (every pipeline here reads and
# (over)writes its own files, so running it again is safe).
ERROR_GRACE = 5.0
HANG_NOTE = ("[aestest: gst-launch-1.0 did not exit %.0f s after printing an "
             "error; killed it (GStreamer 1.22 hang)]")


def _run_launch(cmd, timeout):
    """Runs cmd once. Returns (CompletedProcess, timed_out): stdout and
    stderr merged; returncode nonzero if it was killed after an error."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace")
    lines = []
    error_seen = threading.Event()

    def reader():
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("ERROR:"):
                error_seen.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    deadline = time.monotonic() + timeout
    killed_after_error = timed_out = False
    while proc.poll() is None:
        if error_seen.is_set():
            try:
                proc.wait(ERROR_GRACE)
            except subprocess.TimeoutExpired:
                killed_after_error = True
            break
        if time.monotonic() > deadline:
            timed_out = True
            break
        time.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    t.join(5)
    proc.stdout.close()
    out = "".join(lines)
    rc = proc.returncode
    if killed_after_error:
        out += HANG_NOTE % ERROR_GRACE + "\n"
        rc = 1
    return subprocess.CompletedProcess(cmd, rc, out, None), timed_out


def gst_launch(pipeline, check=True, timeout=60, verbose=False, attempts=3):
    """Runs a gst-launch-1.0 pipeline given as one string; returns the
    CompletedProcess (stdout and stderr merged). verbose=True prints the
    negotiated caps (-v). Never waits on gst-launch-1.0 to exit after an
    error (see ERROR_GRACE); retries a run that hangs without one."""
    cmd = ["gst-launch-1.0", "-v" if verbose else "-q"] + shlex.split(pipeline)
    for _ in range(attempts):
        proc, timed_out = _run_launch(cmd, timeout)
        if not timed_out:
            break
    else:
        raise AssertionError("gst-launch-1.0 hung %d times without an error "
                             "(%d s each): %s\n%s" % (attempts, timeout,
                                                       pipeline, proc.stdout))
    if check and proc.returncode != 0:
        raise AssertionError("pipeline failed (%d): %s\n%s" %
                             (proc.returncode, pipeline, proc.stdout))
    return proc


def openssl_enc(cipher, key, iv, data, decrypt=False, nopad=False):
    cmd = ["openssl", "enc", "-" + cipher, "-K", key]
    if iv is not None:
        cmd += ["-iv", iv]
    if decrypt:
        cmd.append("-d")
    if nopad:
        cmd.append("-nopad")
    return subprocess.run(cmd, input=data, stdout=subprocess.PIPE,
                          check=True).stdout


def recipe_ecb_encrypt(key, data):
    """The original recipe: 16 bytes at a time, AES-ECB, the last block
    zero-padded. Written with pycryptodome, independently of our code."""
    cipher = AES.new(bytes.fromhex(key), AES.MODE_ECB)
    out = b""
    for i in range(0, len(data), 16):
        block = data[i:i + 16]
        if len(block) < 16:
            block += b"\0" * (16 - len(block))
        out += cipher.encrypt(block)
    return out


def split_ctr_stream(data):
    """(IV as hex, ciphertext) of an aesstream CTR-header stream, read as
    docs/format.md describes the header: version 1 (32 bytes, IV at 8) or
    version 2 (48 bytes, key id at 16, IV at 32)."""
    assert data[:4] == b"AESs", data[:8]
    version, length = data[4], data[7]
    if version == 1:
        assert length == 32
        return data[8:24].hex(), data[32:]
    assert version == 2 and length == 48 and data[8:16] == bytes(8), data[:16]
    return data[32:48].hex(), data[48:]


def ctr_reference(key, iv, data):
    return AES.new(bytes.fromhex(key), AES.MODE_CTR, nonce=b"",
                   initial_value=bytes.fromhex(iv)).encrypt(data)


class TempDirTestCase(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="aesstream-test-")
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp, name)

    def write(self, name, data):
        with open(self.path(name), "wb") as f:
            f.write(data)
        return self.path(name)

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()


def random_data(n, seed):
    return random.Random(seed).randbytes(n)


def plugin_build_dir():
    """The build tree's plugin directory (meson test puts it last on
    GST_PLUGIN_SYSTEM_PATH_1_0, see tests/meson.build)."""
    return os.environ["GST_PLUGIN_SYSTEM_PATH_1_0"].split(":")[-1]


def bad_wins_env(tmpdir):
    """An environment where gst-plugins-bad's aesenc/aesdec win although
    ours is installed: ours found through GST_PLUGIN_PATH_1_0 (scanned
    before the system directory, so the system's same-named elements are
    registered later and replace ours), with a fresh registry."""
    env = dict(os.environ)
    for var in ("GST_PLUGIN_SYSTEM_PATH_1_0", "GST_PLUGIN_SYSTEM_PATH", "GST_PLUGIN_PATH"):
        env.pop(var, None)
    env["GST_PLUGIN_PATH_1_0"] = plugin_build_dir()
    env["GST_REGISTRY_1_0"] = os.path.join(tmpdir, "bad-wins-registry.bin")
    return env


def element_filename(env, name):
    """The plugin file gst-inspect-1.0 names for element `name` under `env`."""
    out = subprocess.run(["gst-inspect-1.0", name], env=env, capture_output=True,
                         text=True, timeout=120).stdout
    for line in out.splitlines():
        if line.strip().startswith("Filename"):
            return line.split()[-1]
    return None
