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
            out.sendto(data, self.to)
            self.forwarded += 1
            if fault == "dup":
                self.duplicated += 1
                out.sendto(data, self.to)
        out.close()
        self.sock.close()


class LiveUdp(unittest.TestCase):
    def run_live(self, seed, buffers=150, faults=True):
        tmp = tempfile.mkdtemp(prefix="aesstream-live-")
        key = os.path.join(tmp, "key")
        with open(key, "w") as f:
            f.write("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4\n")
        os.chmod(key, 0o600)  # aesenc refuses key files others can read
        recv_port, relay_port = free_udp_port(), free_udp_port()
        relay = Relay(relay_port, recv_port, seed, last=100 if faults else 0)
        relay.start()
        receiver = subprocess.Popen(
            [PY, LIVE, "receiver", "--key-file", key, "--port", str(recv_port),
             "--dump", os.path.join(tmp, "recv"), "--idle", "2"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)  # let the receiver bind
        sender = subprocess.run(
            [PY, LIVE, "sender", "--key-file", key, "--port", str(relay_port),
             "--buffers", str(buffers), "--dump", os.path.join(tmp, "sent")],
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


if __name__ == "__main__":
    unittest.main(verbosity=2)
