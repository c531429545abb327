"""Helpers for the recording and seeking suites: media fixtures made once per
test process, pipelines run from Python with their own timeouts (never
gst-launch-1.0, which can hang after an error during preroll), a player that
seeks and reports the first decoded frame, and independent decryption of
our formats written from docs/format.md with pycryptodome."""
import hashlib
import os
import tempfile
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

from Cryptodome.Cipher import AES  # noqa: E402

Gst.init(None)

KEY = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"
IV = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
# Near the top of the 128-bit counter space: a file of a few hundred KiB
# wraps from ff..ff to 00..00 inside, so positioned decryption is tested
# across the wrap too.
WRAP_IV = "fffffffffffffffffffffffffffffc00"

# aesenc/aesdec properties of each positionable configuration. Raw CTR is
# always written `mode=ctr iv=...`: `iv` alone means gst-plugins-bad's CBC.
CONFIGS = {
    "ctr-header": f"key={KEY}",
    "ctr-iv": f"mode=ctr iv={IV} key={KEY}",
    "ctr-iv-wrap": f"mode=ctr iv={WRAP_IV} key={KEY}",
    "ecb": f"mode=ecb key={KEY}",
    "cbc": f"mode=cbc iv={IV} per-buffer-padding=false key={KEY}",
    "cbc-siv": f"mode=cbc iv={IV} serialize-iv=true per-buffer-padding=false key={KEY}",
    "gcm-file": f"mode=gcm-file key={KEY}",
}
# Encoder-only settings: small gcm-file segments, so that seeks and ranges
# land inside, between and across many of them.
ENC_ONLY = {"gcm-file": " segment-size=4096"}


class PipelineError(AssertionError):
    pass


def run(desc, timeout=60, expect_error=False):
    """Runs a pipeline to EOS (or to its first error) with a timeout.
    Returns (error text or None, list of warning texts)."""
    pipeline = Gst.parse_launch(desc)
    bus = pipeline.get_bus()
    warnings = []
    error = None
    try:
        if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            msg = bus.pop_filtered(Gst.MessageType.ERROR)
            error = format_error(msg) if msg else "state change failed"
        else:
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise PipelineError(f"timeout after {timeout} s: {desc}")
                msg = bus.timed_pop_filtered(
                    int(left * Gst.SECOND),
                    Gst.MessageType.EOS | Gst.MessageType.ERROR | Gst.MessageType.WARNING)
                if msg is None:
                    continue
                if msg.type == Gst.MessageType.WARNING:
                    warnings.append(format_error(msg))
                    continue
                if msg.type == Gst.MessageType.ERROR:
                    error = format_error(msg)
                break
    finally:
        pipeline.set_state(Gst.State.NULL)
    if error and not expect_error:
        raise PipelineError(f"{desc}\n-> {error}")
    return error, warnings


def format_error(msg):
    if msg.type == Gst.MessageType.ERROR:
        err, dbg = msg.parse_error()
    else:
        err, dbg = msg.parse_warning()
    return f"{msg.src.get_name()}: {err.message} ({dbg})"


class Fixtures:
    """Pre-encoded media, made once per test process in a directory that
    lives as long as the process. Small (320x240, 5 s at 30 fps) with a key
    frame every half second, so that seeks land between key frames."""

    FRAMES = 150
    RAW = ("videotestsrc num-buffers=150 pattern=ball ! "
           "video/x-raw,width=320,height=240,framerate=30/1")

    def __init__(self):
        self._dir = tempfile.TemporaryDirectory(prefix="aesstream-media-")
        self.dir = self._dir.name
        self._made = {}

    def path(self, name):
        return os.path.join(self.dir, name)

    def _make(self, name, desc):
        if name not in self._made:
            path = self.path(name)
            run(desc.format(out=path), timeout=120)
            self._made[name] = path
        return self._made[name]

    def vp8_mkv(self):
        """VP8 in Matroska (matroskamux default settings: cues, seek head,
        duration written at EOS by rewriting)."""
        return self._make("vp8.mkv", f"{self.RAW} ! vp8enc deadline=1 keyframe-max-dist=15 "
                          "! matroskamux ! filesink location={out}")

    def vp8_webm(self):
        return self._make("vp8.webm", f"{self.RAW} ! vp8enc deadline=1 keyframe-max-dist=15 "
                          "! webmmux ! filesink location={out}")

    def h264_mp4(self):
        """H.264 (openh264enc) in MP4 with moov at the end (mp4mux's
        default): pull mode must read the end first, push mode must seek."""
        return self._make("h264.mp4", f"{self.RAW} ! openh264enc gop-size=15 ! h264parse "
                          "! mp4mux ! filesink location={out}")

    def h264_ts(self):
        return self._make("h264.ts", f"filesrc location={self.h264_mp4()} ! qtdemux "
                          "! h264parse ! mpegtsmux ! filesink location={out}")

    def theora_ogg(self):
        return self._make("theora.ogg", f"{self.RAW} ! theoraenc keyframe-freq=15 "
                          "! oggmux ! filesink location={out}")

    def encrypted(self, plain, config):
        """`plain` encrypted after muxing by aesenc with CONFIGS[config]."""
        name = os.path.basename(plain) + "." + config + ".aes"
        return self._make(name, f"filesrc location={plain} ! "
                          f"aesenc {CONFIGS[config]}{ENC_ONLY.get(config, '')} "
                          "! filesink location={out}")


_fixtures = None


def fixtures():
    global _fixtures
    if _fixtures is None:
        _fixtures = Fixtures()
    return _fixtures


def read(path):
    with open(path, "rb") as f:
        return f.read()


def decrypt_reference(data, config):
    """Decrypts a whole file written by aesenc with CONFIGS[config], from the
    formats in docs/format.md and elements.md, with pycryptodome."""
    key = bytes.fromhex(KEY)
    if config == "ctr-header":
        # docs/format.md: version 1 (32 bytes, IV at 8) or version 2
        # (48 bytes, key id at 16, IV at 32); mode byte 1 = CTR.
        if data[:4] != b"AESs" or data[4] not in (1, 2) or data[5] != 1:
            raise ValueError("no aesstream CTR header")
        hlen = data[7]
        iv = data[8:24] if data[4] == 1 else data[32:48]
        return AES.new(key, AES.MODE_CTR, nonce=b"",
                       initial_value=iv).decrypt(data[hlen:])
    if config in ("ctr-iv", "ctr-iv-wrap"):
        iv = IV if config == "ctr-iv" else WRAP_IV
        return AES.new(key, AES.MODE_CTR, nonce=b"",
                       initial_value=bytes.fromhex(iv)).decrypt(data)
    if config == "ecb":
        return AES.new(key, AES.MODE_ECB).decrypt(data)  # keeps zero padding
    if config in ("cbc", "cbc-siv"):
        if config == "cbc-siv":
            iv, data = data[:16], data[16:]
        else:
            iv = bytes.fromhex(IV)
        plain = AES.new(key, AES.MODE_CBC, iv=iv).decrypt(data)
        pad = plain[-1]
        if not 1 <= pad <= 16 or plain[-pad:] != bytes([pad]) * pad:
            raise ValueError("bad PKCS#7 padding")
        return plain[:-pad]
    if config == "gcm-file":
        import gcmfile_ref  # written from docs/format.md, not from our code
        return gcmfile_ref.decrypt(key, data)
    raise KeyError(config)


def frame_id(sample):
    buf = sample.get_buffer()
    data = buf.extract_dup(0, buf.get_size())
    return (buf.pts, hashlib.sha1(data).hexdigest()[:16])


class Player:
    """`<source> ! decodebin ! videoconvert ! appsink`, driven by seeks and
    state changes; every wait has a timeout and every error fails."""

    def __init__(self, source, timeout=30):
        self.timeout = timeout
        self.pipeline = Gst.parse_launch(
            f"{source} ! decodebin name=decodebin videoconvert name=convert ! "
            "video/x-raw,format=I420 ! appsink name=sink sync=false max-buffers=1")
        self.sink = self.pipeline.get_by_name("sink")
        # Linked by hand on every pad-added: gst_parse_launch's delayed link
        # happens once, and decodebin makes new pads after READY or NULL.
        convert = self.pipeline.get_by_name("convert").get_static_pad("sink")

        def on_pad(_bin, pad):
            caps = pad.get_current_caps() or pad.query_caps(None)
            if caps.to_string().startswith("video/") and not convert.is_linked():
                pad.link(convert)

        self.pipeline.get_by_name("decodebin").connect("pad-added", on_pad)
        self.bus = self.pipeline.get_bus()
        self.warnings = []

    def close(self):
        self.pipeline.set_state(Gst.State.NULL)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def wait(self, types):
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise PipelineError("timeout waiting for %s" % types)
            msg = self.bus.timed_pop_filtered(
                int(left * Gst.SECOND),
                types | Gst.MessageType.ERROR | Gst.MessageType.WARNING)
            if msg is None:
                continue
            if msg.type == Gst.MessageType.ERROR:
                raise PipelineError(format_error(msg))
            if msg.type == Gst.MessageType.WARNING:
                self.warnings.append(format_error(msg))
                if not types & Gst.MessageType.WARNING:
                    continue
            return msg

    def collect_warnings(self):
        """Empties the bus: returns all warnings so far, raises on an error."""
        while True:
            msg = self.bus.pop()
            if msg is None:
                return self.warnings
            if msg.type == Gst.MessageType.WARNING:
                self.warnings.append(format_error(msg))
            elif msg.type == Gst.MessageType.ERROR:
                raise PipelineError(format_error(msg))

    def set_state(self, state):
        ret = self.pipeline.set_state(state)
        if ret == Gst.StateChangeReturn.FAILURE:
            msg = self.bus.pop_filtered(Gst.MessageType.ERROR)
            raise PipelineError(format_error(msg) if msg else f"set_state({state}) failed")
        if ret == Gst.StateChangeReturn.ASYNC:
            ret, cur, _ = self.pipeline.get_state(self.timeout * Gst.SECOND)
            if ret != Gst.StateChangeReturn.SUCCESS:
                msg = self.bus.pop_filtered(Gst.MessageType.ERROR)
                raise PipelineError(format_error(msg) if msg else f"no {state} ({ret})")
        # Drop the ASYNC_DONE of this state change (seeks wait for their
        # own), keeping warnings; pop_filtered() would discard them too.
        self.collect_warnings()

    def pause(self):
        self.set_state(Gst.State.PAUSED)
        return self.preroll()

    def preroll(self):
        sample = self.sink.emit("try-pull-preroll", self.timeout * Gst.SECOND)
        if sample is None:
            raise PipelineError("no preroll sample")
        return frame_id(sample)

    def duration(self):
        ok, dur = self.pipeline.query_duration(Gst.Format.TIME)
        return dur if ok else None

    def seek(self, seconds, flags=Gst.SeekFlags.ACCURATE):
        """Flushing seek in PAUSED; returns the first frame after it."""
        if not self.pipeline.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | flags,
                                         int(seconds * Gst.SECOND)):
            raise PipelineError(f"seek to {seconds} s refused; warnings: {self.warnings}")
        self.wait(Gst.MessageType.ASYNC_DONE)
        return self.preroll()

    def play_to_eos(self):
        """PLAYING to EOS; returns the ids of every frame decoded."""
        frames = []
        self.set_state(Gst.State.PLAYING)
        while True:
            sample = self.sink.emit("try-pull-sample", self.timeout * Gst.SECOND)
            if sample is None:
                if self.sink.get_property("eos"):
                    break
                msg = self.bus.pop_filtered(Gst.MessageType.ERROR)
                raise PipelineError(format_error(msg) if msg else "no sample and no EOS")
            frames.append(frame_id(sample))
        return frames
