"""Seeking in encrypted files, the way players meet it: decodebin over
`filesrc ! aesdec` (pull: aesdec serves getrange) and over
`filesrc ! queue ! aesdec` (push: demuxers seek upstream in BYTES). Every
answer is compared with the same pipeline over the unencrypted file: the
first decoded frame after each flushing seek (timestamp and bytes), the
duration, and the frames of a play to the end."""
import unittest

from gi.repository import Gst

from mediatest import CONFIGS, KEY, Player, PipelineError, fixtures

# Seek targets in seconds: forward, backward, between key frames, the start,
# near the end.
POSITIONS = [1.0, 3.2, 0.4, 2.55, 4.6, 0.0, 1.7]
SCRUB = [0.1 + 0.3 * i for i in range(16)]

MEDIA = {
    "mkv": lambda f: f.vp8_mkv(),
    "webm": lambda f: f.vp8_webm(),
    "mp4": lambda f: f.h264_mp4(),
}
SCHEDULING = {"pull": "", "push": " ! queue"}

_reference = {}


def plain_source(media, sched):
    return f"filesrc location={MEDIA[media](fixtures())}{SCHEDULING[sched]}"


def encrypted_source(media, config, sched):
    enc = fixtures().encrypted(MEDIA[media](fixtures()), config)
    return (f"filesrc location={enc}{SCHEDULING[sched]} ! "
            f"aesdec name=dec {CONFIGS[config]}")


def seek_all(source, positions, flags=Gst.SeekFlags.ACCURATE):
    with Player(source) as p:
        first = p.pause()
        frames = [p.seek(pos, flags) for pos in positions]
        return {"first": first, "duration": p.duration(), "seeks": frames}


def scheduling_of(source):
    """The mode aesdec's src pad was activated in by decodebin."""
    with Player(source) as p:
        p.pause()
        return p.pipeline.get_by_name("dec").get_static_pad("src").mode


def reference(kind, media, sched, *args):
    key = (kind, media, sched) + args
    if key not in _reference:
        _reference[key] = kind(plain_source(media, sched), *args)
    return _reference[key]


def scrub(source):
    """Many key-unit seeks in PAUSED, each waited for, then a burst of
    seeks sent without waiting (as a dragged slider does): the frame shown
    at the end is the last target's."""
    with Player(source) as p:
        p.pause()
        waited = [p.seek(pos, Gst.SeekFlags.KEY_UNIT) for pos in SCRUB]
        for pos in reversed(SCRUB):
            if not p.pipeline.seek_simple(Gst.Format.TIME,
                                          Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT,
                                          int(pos * Gst.SECOND)):
                raise PipelineError(f"scrub seek to {pos} refused")
        # The last seek's preroll is what the user sees.
        p.set_state(Gst.State.PAUSED)
        return {"waited": waited, "last": p.preroll()}


def play_from(source, pos):
    with Player(source) as p:
        p.pause()
        p.seek(pos)
        return p.play_to_eos()


def state_changes(source):
    """Intensive state changes with seeks in between; the frames seen at
    each step, which must be the plain file's."""
    seen = []
    with Player(source) as p:
        for round_ in range(4):
            seen.append(p.pause())
            seen.append(p.seek(0.5 + round_))
            p.set_state(Gst.State.PLAYING)
            p.set_state(Gst.State.PAUSED)
            seen.append(p.seek(3.0 - 0.5 * round_))
            p.set_state(Gst.State.READY if round_ % 2 else Gst.State.NULL)
        frames = p.play_to_eos()
        seen.append(len(frames))
        seen.append(frames[-1])
    return seen


class Seeking(unittest.TestCase):
    maxDiff = None

    def test_decodebin_pulls_from_aesdec_when_upstream_can_be_pulled(self):
        """Pull mode is what makes MP4 with moov at the end playable from
        `filesrc ! aesdec ! decodebin`; behind a queue it is push."""
        for sched, mode in (("pull", Gst.PadMode.PULL), ("push", Gst.PadMode.PUSH)):
            with self.subTest(sched=sched):
                self.assertEqual(scheduling_of(encrypted_source("mp4", "ctr-header", sched)),
                                 mode)

    def check_seeks(self, media, config, sched):
        got = seek_all(encrypted_source(media, config, sched), POSITIONS)
        want = reference(seek_all, media, sched, tuple(POSITIONS))
        self.assertEqual(got["duration"], want["duration"])
        self.assertEqual(got["first"], want["first"])
        self.assertEqual(got["seeks"], want["seeks"])


def _add(name, fn):
    fn.__name__ = name
    setattr(Seeking, name, fn)


for _media in MEDIA:
    for _config in CONFIGS:
        for _sched in SCHEDULING:
            def _t(self, m=_media, c=_config, s=_sched):
                self.check_seeks(m, c, s)
            _add(f"test_accurate_seeks_{_media}_{_config.replace('-', '_')}_{_sched}", _t)

for _media in ("mkv", "mp4"):
    for _sched in SCHEDULING:
        def _scrub(self, m=_media, s=_sched):
            self.assertEqual(scrub(encrypted_source(m, "ctr-header", s)),
                             reference(scrub, m, s))
        _add(f"test_scrub_{_media}_{_sched}", _scrub)

        def _play(self, m=_media, s=_sched):
            got = play_from(encrypted_source(m, "ctr-header", s), 2.0)
            self.assertGreater(len(got), 10)
            self.assertEqual(got, reference(play_from, m, s, 2.0))
        _add(f"test_play_to_end_after_seek_{_media}_{_sched}", _play)

        def _states(self, m=_media, s=_sched):
            self.assertEqual(state_changes(encrypted_source(m, "ctr-header", s)),
                             reference(state_changes, m, s))
        _add(f"test_intensive_state_changes_{_media}_{_sched}", _states)


class Unseekable(unittest.TestCase):
    """GCM records and CBC with per-buffer padding cannot be entered at an
    offset: aesdec says so to the seeking query, and a seek is refused with
    a message that names the mode, not the input."""

    UNSEEKABLE = {
        "gcm": f"mode=gcm key={KEY}",
        "cbc-per-buffer": f"mode=cbc iv={CONFIGS['cbc'].split('iv=')[1].split()[0]} "
                          f"key={KEY}",
    }

    def encrypted(self, name):
        f = fixtures()
        return f._make(f"vp8.mkv.{name}.aes",
                       f"filesrc location={f.vp8_mkv()} ! aesenc {self.UNSEEKABLE[name]} "
                       "! filesink location={out}")

    def check(self, name, sched):
        # With per-buffer padding the decoder needs aesenc's buffers as they
        # were: filesrc's 4096-byte reads came out 4112 bytes long.
        blocksize = " blocksize=4112" if name == "cbc-per-buffer" else ""
        src = (f"filesrc location={self.encrypted(name)}{blocksize}{SCHEDULING[sched]} ! "
               f"aesdec name=dec {self.UNSEEKABLE[name]}")
        with Player(src) as p:
            first = p.pause()
            self.assertEqual(first, reference(seek_all, "mkv", sched, tuple())["first"])
            q = Gst.Query.new_seeking(Gst.Format.BYTES)
            dec = p.pipeline.get_by_name("dec")
            self.assertTrue(dec.get_static_pad("src").query(q))
            self.assertFalse(q.parse_seeking()[1], "aesdec claims to be seekable")
            self.assertFalse(p.pipeline.seek_simple(
                Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.ACCURATE,
                2 * Gst.SECOND))
            # A byte seek reaching aesdec itself (as a demuxer would send
            # it) is refused with a warning that says why.
            self.assertFalse(dec.get_static_pad("src").send_event(Gst.Event.new_seek(
                1.0, Gst.Format.BYTES, Gst.SeekFlags.FLUSH, Gst.SeekType.SET, 4096,
                Gst.SeekType.NONE, -1)))
            # It still plays from where it is to the end.
            frames = p.play_to_eos()
            self.assertEqual(len(frames), 150)
            text = " ".join(p.collect_warnings())
            self.assertIn("cannot seek", text)
            self.assertIn("mode=gcm" if name == "gcm" else "per-buffer-padding", text)

    def test_gcm_refuses_seeks_pull(self):
        self.check("gcm", "pull")

    def test_gcm_refuses_seeks_push(self):
        self.check("gcm", "push")

    def test_cbc_per_buffer_padding_refuses_seeks_push(self):
        self.check("cbc-per-buffer", "push")

    def test_detected_gcm_records_fall_back_to_push(self):
        # Without `mode`, aesdec offers pull mode before it has seen the
        # stream; at activation it reads the first bytes, finds GCM records
        # (which cannot be read at offsets) and refuses pull mode, so that
        # decodebin's typefind falls back to push and the file plays.
        src = (f"filesrc location={self.encrypted('gcm')} ! "
               f"aesdec name=dec key={KEY}")
        self.assertEqual(scheduling_of(src), Gst.PadMode.PUSH)
        with Player(src) as p:
            self.assertEqual(p.pause(), reference(seek_all, "mkv", "pull", tuple())["first"])
            self.assertEqual(len(p.play_to_eos()), 150)



class PullRanges(unittest.TestCase):
    """aesdec's getrange driven directly, as a demuxer in pull mode drives
    it: random offsets and sizes (inside blocks, across the counter wrap,
    over the end) must give exactly the plaintext's bytes; past the end is
    EOS. Expected bytes are the plaintext file itself."""

    def pull_pad(self, enc, config):
        bin_ = Gst.parse_launch(f"filesrc location={enc} ! aesdec name=dec {CONFIGS[config]}")
        sink = Gst.Pad.new("sink", Gst.PadDirection.SINK)
        self.assertEqual(bin_.get_by_name("dec").get_static_pad("src").link(sink),
                         Gst.PadLinkReturn.OK)
        self.assertEqual(bin_.set_state(Gst.State.READY), Gst.StateChangeReturn.SUCCESS)
        self.assertTrue(sink.activate_mode(Gst.PadMode.PULL, True))
        self.addCleanup(bin_.set_state, Gst.State.NULL)
        self.addCleanup(sink.activate_mode, Gst.PadMode.PULL, False)
        return sink, bin_

    def check_ranges(self, config):
        import random
        from mediatest import read
        f = fixtures()
        plain = read(f.vp8_mkv())
        sink, _ = self.pull_pad(f.encrypted(f.vp8_mkv(), config), config)
        rng = random.Random(config)
        n = len(plain)
        ranges = [(0, 4096), (0, 1), (15, 2), (16, 16), (n - 1, 10), (n - 17, 100),
                  (n - 16, 16)]
        ranges += [(rng.randrange(n), rng.choice([1, 7, 16, 100, 4096, 65536]))
                   for _ in range(200)]
        for offset, size in ranges:
            ret, buf = sink.pull_range(offset, size)
            self.assertEqual(ret, Gst.FlowReturn.OK, (offset, size))
            self.assertEqual(buf.extract_dup(0, buf.get_size()), plain[offset:offset + size],
                             (offset, size))
            self.assertEqual(buf.offset, offset)
        for offset in (n, n + 1, n + 100_000):
            ret, _ = sink.pull_range(offset, 16)
            self.assertEqual(ret, Gst.FlowReturn.EOS, offset)
        # The plaintext size, not the encrypted file's.
        q = Gst.Query.new_duration(Gst.Format.BYTES)
        self.assertTrue(sink.peer_query(q))
        self.assertEqual(q.parse_duration()[1], n)

    def test_ctr_header(self):
        self.check_ranges("ctr-header")

    def test_ctr_iv(self):
        self.check_ranges("ctr-iv")

    def test_ctr_iv_across_the_counter_wrap(self):
        self.check_ranges("ctr-iv-wrap")

    def test_cbc(self):
        self.check_ranges("cbc")

    def test_cbc_with_serialized_iv(self):
        self.check_ranges("cbc-siv")

    def test_gcm_file(self):
        self.check_ranges("gcm-file")

    def test_ecb_keeps_the_zero_padding(self):
        import random
        from mediatest import read
        f = fixtures()
        plain = read(f.vp8_mkv())
        padded = plain + b"\0" * (-len(plain) % 16)
        sink, _ = self.pull_pad(f.encrypted(f.vp8_mkv(), "ecb"), "ecb")
        rng = random.Random(5)
        for _ in range(100):
            offset, size = rng.randrange(len(padded)), rng.choice([1, 33, 4096])
            ret, buf = sink.pull_range(offset, size)
            self.assertEqual(ret, Gst.FlowReturn.OK)
            self.assertEqual(buf.extract_dup(0, buf.get_size()),
                             padded[offset:offset + size])

    def test_wrong_key_is_an_error_before_any_byte(self):
        f = fixtures()
        enc = f.encrypted(f.vp8_mkv(), "ctr-header")
        wrong = "00" * 32
        bin_ = Gst.parse_launch(f"filesrc location={enc} ! aesdec name=dec key={wrong}")
        sink = Gst.Pad.new("sink", Gst.PadDirection.SINK)
        bin_.get_by_name("dec").get_static_pad("src").link(sink)
        bin_.set_state(Gst.State.READY)
        try:
            self.assertTrue(sink.activate_mode(Gst.PadMode.PULL, True))
            ret, _ = sink.pull_range(0, 4096)
            self.assertEqual(ret, Gst.FlowReturn.ERROR)
            msg = bin_.get_bus().pop_filtered(Gst.MessageType.ERROR)
            self.assertIsNotNone(msg)
            self.assertIn("Wrong key", msg.parse_error()[0].message)
        finally:
            sink.activate_mode(Gst.PadMode.PULL, False)
            bin_.set_state(Gst.State.NULL)



class SegmentsLargerThanReads(unittest.TestCase):
    """gcm-file segments larger than filesrc's 4 KiB reads (the default
    segment is 64 KiB; these small files use 16 KiB): most reads complete no
    segment and give no output. That must not mark the next output DISCONT:
    demuxers in push mode drop what they gathered on DISCONT (matroskademux
    then fails to demultiplex)."""

    def test_push_mode_plays_to_the_end(self):
        import os
        f = fixtures()
        for media in ("mkv", "mp4"):
            plain = MEDIA[media](f)
            enc = f._make(os.path.basename(plain) + ".gcm-file-16k.aes",
                          f"filesrc location={plain} ! aesenc {CONFIGS['gcm-file']} "
                          "segment-size=16384 ! filesink location={out}")
            with self.subTest(media=media):
                with Player(f"filesrc location={enc} ! queue ! "
                            f"aesdec {CONFIGS['gcm-file']}") as p:
                    p.pause()
                    self.assertEqual(len(p.play_to_eos()), 150)

    def test_downstream_stopping_early_is_not_a_truncation(self):
        # A demuxer at the stop of its segment answers EOS to aesdec's
        # output; the queue upstream then sends EOS down in the middle of a
        # segment. Nothing was cut: no "stream ends inside segment" error.
        # (A file that is cut still is one: test_gcmfile_elements.)
        import os
        from mediatest import run
        f = fixtures()
        plain = MEDIA["mkv"](f)
        enc = f._make(os.path.basename(plain) + ".gcm-file-16k.aes",
                      f"filesrc location={plain} ! aesenc {CONFIGS['gcm-file']} "
                      "segment-size=16384 ! filesink location={out}")
        error, _ = run(f"filesrc location={enc} blocksize=1000 ! queue ! "
                       f"aesdec {CONFIGS['gcm-file']} ! identity eos-after=3 ! fakesink",
                       expect_error=True)
        self.assertIsNone(error)

if __name__ == "__main__":
    unittest.main(verbosity=2)
