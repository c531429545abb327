"""Live GCM over loopback UDP, two processes (scripts/live.py), with a relay
between them that drops, duplicates and corrupts packets. The receiver must
decode to the end, its counters must match what the relay did, and every
packet that leaves aesdec must be one the sender sent."""
import json
import os
import random
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from Cryptodome.Cipher import AES
from Cryptodome.Hash import SHA256
from Cryptodome.Protocol.KDF import HKDF

HERE = os.path.dirname(os.path.abspath(__file__))
LIVE = os.path.join(HERE, "..", "scripts", "live.py")
PY = "/usr/bin/python3"


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Relay(threading.Thread):
    """Forwards datagrams from the sender to the receiver, on 127.0.0.1
    only, and injects faults into packets first..last-1 (never the last ones,
    so that the receiver can see every gap)."""

    def __init__(self, listen_port, to_port, seed, first=3, last=100):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", listen_port))
        self.sock.settimeout(0.2)
        self.to = ("127.0.0.1", to_port)
        self.rng = random.Random(seed)
        self.first, self.last = first, last
        self.dropped = self.duplicated = self.flipped = self.forwarded = 0
        self.delivered = []  # the datagrams forwarded intact (once each)
        self.stop = threading.Event()

    def run(self):
        out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        index = 0
        deadline = time.monotonic() + 120
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                data, _ = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            fault = None
            if self.first <= index < self.last:
                r = self.rng.random()
                fault = "drop" if r < 0.06 else "dup" if r < 0.12 else \
                    "flip" if r < 0.18 else None
            index += 1
            if fault == "drop":
                self.dropped += 1
                continue
            if fault == "flip":
                self.flipped += 1
                b = bytearray(data)
                pos = self.rng.randrange(len(b))
                b[pos] ^= 1 << self.rng.randrange(8)
                data = bytes(b)
            else:
                self.delivered.append(data)
            out.sendto(data, self.to)
            self.forwarded += 1
            if fault == "dup":
                self.duplicated += 1
                out.sendto(data, self.to)
        out.close()
        self.sock.close()


KEY = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"
NEW_KEY = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"


def open_record(rec, key_hex):
    """Opens one GCM record as docs/format.md defines it, with pycryptodome
    (not our code): (flags, seq, salt, plaintext), or None if the tag fails
    under this key."""
    assert rec[:3] == b"Ag\x01" and len(rec) >= 40
    length = int.from_bytes(rec[4:8], "big")
    seq = int.from_bytes(rec[8:14], "big")
    salt = rec[14:24]
    assert len(rec) == 24 + length + 16
    key = bytes.fromhex(key_hex)
    subkey = HKDF(key, len(key), salt, SHA256, context=b"aesstream gcm v1")
    cipher = AES.new(subkey, AES.MODE_GCM, nonce=bytes(6) + rec[8:14])
    cipher.update(rec[:24])
    try:
        plain = cipher.decrypt_and_verify(rec[24:24 + length], rec[24 + length:])
    except ValueError:
        return None
    return rec[3], seq, salt, plain


class LiveUdp(unittest.TestCase):
    def run_live(self, seed, buffers=150, faults=True, rotate_after=0):
        tmp = tempfile.mkdtemp(prefix="aesstream-live-")
        key = os.path.join(tmp, "key")
        with open(key, "w") as f:
            f.write(KEY + "\n")
        os.chmod(key, 0o600)  # aesenc refuses key files others can read
        new_key = os.path.join(tmp, "new-key")
        with open(new_key, "w") as f:
            f.write(NEW_KEY + "\n")
        os.chmod(new_key, 0o600)
        self.records_file = os.path.join(tmp, "records")
        rotation_s = ["--rotate-key-file", new_key, "--rotate-after",
                      str(rotate_after), "--dump-records", self.records_file] \
            if rotate_after else []
        rotation_r = ["--add-key-file", new_key] if rotate_after else []
        recv_port, relay_port = free_udp_port(), free_udp_port()
        relay = Relay(relay_port, recv_port, seed, last=100 if faults else 0)
        relay.start()
        receiver = subprocess.Popen(
            [PY, LIVE, "receiver", "--key-file", key, "--port", str(recv_port),
             "--dump", os.path.join(tmp, "recv"), "--idle", "2"] + rotation_r,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)  # let the receiver bind
        sender = subprocess.run(
            [PY, LIVE, "sender", "--key-file", key, "--port", str(relay_port),
             "--buffers", str(buffers), "--dump", os.path.join(tmp, "sent")]
            + rotation_s,
            capture_output=True, text=True, timeout=120)
        self.assertEqual(sender.returncode, 0, sender.stderr)
        out, err = receiver.communicate(timeout=120)
        relay.stop.set()
        relay.join()
        self.assertEqual(receiver.returncode, 0, err)
        summary = json.loads(out.strip().splitlines()[-1])
        with open(os.path.join(tmp, "sent")) as f:
            sent = f.read().split()
        with open(os.path.join(tmp, "recv")) as f:
            received = f.read().split()
        return relay, summary, sent, received

    def test_loss_duplication_and_tampering(self):
        relay, s, sent, received = self.run_live(seed=7)
        injected = relay.dropped + relay.duplicated + relay.flipped
        self.assertGreater(injected, 5, "the relay injected too few faults")
        self.assertGreater(relay.flipped, 0)
        self.assertEqual(s["errors"], [])   # auto: live input, so drop
        self.assertEqual(s["rejected"], relay.flipped)
        self.assertEqual(s["replayed"], relay.duplicated)
        self.assertEqual(s["lost"], relay.dropped + relay.flipped)
        # Everything else got through: the sender's packets, plus its final
        # record, minus what was dropped or corrupted.
        self.assertEqual(s["accepted"], len(sent) + 1 - relay.dropped - relay.flipped)
        self.assertGreater(s["warnings"], 0)
        # No tampered byte reaches the depayloader: every packet that left
        # aesdec is one the sender sent, in order.
        sent_set = set(sent)
        self.assertTrue(all(p in sent_set for p in received))
        self.assertEqual(len(received), len(sent) - relay.dropped - relay.flipped)
        self.assertEqual(received[-1], sent[-1])
        # ... and the decoder kept going to the end.
        self.assertGreater(s["frames"], 100)

    def test_clean_link_delivers_everything(self):
        relay, s, sent, received = self.run_live(seed=1, buffers=60, faults=False)
        self.assertEqual(relay.dropped + relay.duplicated + relay.flipped, 0)
        self.assertEqual((s["lost"], s["replayed"], s["rejected"]), (0, 0, 0))
        self.assertEqual(s["accepted"], len(sent) + 1)
        self.assertEqual(received, sent)
        self.assertEqual(s["frames"], 60)

    def test_key_rotation_while_playing_over_a_lossy_link(self):
        """The sender changes its key-file while PLAYING (issue 11); the
        receiver was given the new key while playing too, so it holds both.
        With loss, duplicates and tampering around the switch, every record
        that arrived intact is output, under either key, and nothing else."""
        relay, s, sent, received = self.run_live(seed=11, rotate_after=40)
        self.assertEqual(s["errors"], [])
        self.assertGreater(relay.dropped + relay.flipped, 3)
        with open(self.records_file) as f:
            records = [bytes.fromhex(line) for line in f.read().split()]
        # The records, read with pycryptodome from docs/format.md: the
        # first stream under the old key ends with its final record, then a
        # new stream (another salt, numbers from 0) under the new key.
        opened = []
        for rec in records:
            old, new = open_record(rec, KEY), open_record(rec, NEW_KEY)
            self.assertTrue((old is None) != (new is None))
            opened.append(("old", old) if old else ("new", new))
        keys = [k for k, _ in opened]
        switch = keys.index("new")
        self.assertGreaterEqual(switch, 40)
        self.assertEqual(keys, ["old"] * switch + ["new"] * (len(keys) - switch))
        flags, seq, old_salt, plain = opened[switch - 1][1]
        self.assertEqual((flags, plain), (1, b""))  # the old stream's final record
        self.assertEqual(seq, switch - 1)
        flags, seq, new_salt, _ = opened[switch][1]
        self.assertEqual((flags, seq), (0, 0))
        self.assertNotEqual(new_salt, old_salt)
        self.assertEqual([p for _, (_, _, _, p) in opened if p],
                         [bytes.fromhex(p) for p in sent])
        # What the receiver output: exactly the payloads of the records that
        # arrived intact, in order, under either key.
        expected = []
        for rec in relay.delivered:
            r = open_record(rec, KEY) or open_record(rec, NEW_KEY)
            self.assertIsNotNone(r)
            if r[3]:
                expected.append(r[3].hex())
        self.assertEqual(received, expected)
        self.assertEqual(s["other_streams"], 0)
        self.assertEqual(s["rejected"], relay.flipped)
        self.assertGreater(s["frames"], 100)


if __name__ == "__main__":
    unittest.main(verbosity=2)
