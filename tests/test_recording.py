"""Recording through real muxers with aesenc right before filesink. Muxers
that finish a file by going back (matroskamux/webmmux: duration, cues, seek
head; mp4mux/qtmux: mdat size, moov) send a BYTES segment with an earlier
start: in CTR, aesenc must encrypt the patch at that offset and shift the
segment by its header, so that the file decrypts to exactly what the muxer
meant. The input is pre-encoded media, demuxed and remuxed, so every run
sees the same frames; the muxer output is teed, so the unencrypted file and
the encrypted one come from the same muxer run (Matroska's UIDs and Ogg's
serials are random, mp4mux writes the time) and can be compared byte by
byte. Decryption here is pycryptodome from docs/format.md, not aesdec."""
import os
import unittest

from mediatest import (CONFIGS, KEY, Player, decrypt_reference, fixtures, read,
                       run)

MATROSKA_IN = "filesrc location={mkv} ! matroskademux"
H264_IN = "filesrc location={mp4} ! qtdemux ! h264parse"
THEORA_IN = "filesrc location={ogg} ! oggdemux ! theoraparse"

MUXERS = {
    "matroskamux": (MATROSKA_IN, "matroskamux"),
    "matroskamux_streamable": (MATROSKA_IN, "matroskamux streamable=true"),
    "webmmux": (MATROSKA_IN, "webmmux"),
    "mp4mux": (H264_IN, "mp4mux"),
    "qtmux": (H264_IN, "qtmux"),
    "mp4mux_fragmented": (H264_IN, "mp4mux fragment-duration=500"),
    "mpegtsmux": (H264_IN, "mpegtsmux"),
    "oggmux": (THEORA_IN, "oggmux"),
}
# Muxers that go back to patch what they wrote (with default settings).
REWRITING = {"matroskamux", "webmmux", "mp4mux", "qtmux", "mp4mux_fragmented"}
RECORD_CONFIGS = ("ctr-header", "ctr-iv")


def source(name):
    f = fixtures()
    demux, mux = MUXERS[name]
    return demux.format(mkv=f.vp8_mkv(), mp4=f.h264_mp4(), ogg=f.theora_ogg()), mux


def decoded_frames(src):
    with Player(src) as p:
        p.pause()
        return p.play_to_eos()


class Recording(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.dir = fixtures().dir

    def out(self, name):
        return os.path.join(self.dir, name)

    def record_teed(self, muxer, config):
        """One muxer run, written plain and through aesenc."""
        demux, mux = source(muxer)
        plain, enc = self.out(f"{muxer}-{config}.plain"), self.out(f"{muxer}-{config}.aes")
        run(f"{demux} ! {mux} ! tee name=t "
            f"t. ! queue ! aesenc {CONFIGS[config]} ! filesink location={enc} "
            f"t. ! queue ! filesink location={plain}")
        return read(plain), read(enc)

    def check_teed(self, muxer, config):
        plain, enc = self.record_teed(muxer, config)
        self.assertGreater(len(plain), 20_000)
        dec = decrypt_reference(enc, config)
        self.assertEqual(len(dec), len(plain))
        if dec != plain:
            first = next(i for i in range(len(plain)) if dec[i] != plain[i])
            self.fail(f"decrypted {muxer} recording differs from the muxer's output "
                      f"at byte {first} of {len(plain)}")

    def test_direct_recording_plays_and_seeks_like_the_plain_one(self):
        """`mux ! aesenc ! filesink` alone (the muxer talks to aesenc only):
        the decrypted file has the plain recording's size and frames, and
        seeks through its cues / moov."""
        for muxer in ("matroskamux", "mp4mux"):
            with self.subTest(muxer=muxer):
                demux, mux = source(muxer)
                plain, enc = self.out(f"{muxer}.direct.plain"), self.out(f"{muxer}.direct.aes")
                dec = self.out(f"{muxer}.direct.dec")
                run(f"{demux} ! {mux} ! filesink location={plain}")
                run(f"{demux} ! {mux} ! aesenc key={KEY} ! filesink location={enc}")
                with open(dec, "wb") as f:
                    f.write(decrypt_reference(read(enc), "ctr-header"))
                self.assertEqual(os.path.getsize(dec), os.path.getsize(plain))
                want = decoded_frames(f"filesrc location={plain}")
                self.assertEqual(len(want), fixtures().FRAMES)
                self.assertEqual(decoded_frames(f"filesrc location={dec}"), want)
                for src in (plain, dec):
                    with Player(f"filesrc location={src}") as p:
                        p.pause()
                        self.assertAlmostEqual(p.duration() / 1e9, 5.0, delta=0.1)
                        got = p.seek(3.3)
                    if src == plain:
                        want_seek = got
                self.assertEqual(got, want_seek)

    def check_refused(self, muxer, config):
        """ECB, CBC and GCM cannot re-encrypt a patch at an earlier offset.
        aesenc tells the muxer the stream is not seekable (matroskamux then
        writes a streamable file by itself; mp4mux stops), says what would
        work, and never writes a silently corrupt file."""
        demux, mux = source(muxer)
        enc = self.out(f"{muxer}-{config}.refused")
        error, warnings = run(f"{demux} ! {mux} ! aesenc {CONFIGS[config]} ! "
                              f"filesink location={enc}", expect_error=True)
        text = " ".join(warnings + [error or ""])
        self.assertIn("mode=ctr", text)
        if error is None:
            # The muxer adapted: the result must be a complete, playable file.
            dec = self.out(f"{muxer}-{config}.refused.dec")
            with open(dec, "wb") as f:
                f.write(decrypt_reference(read(enc), config))
            self.assertEqual(len(decoded_frames(f"filesrc location={dec}")),
                             fixtures().FRAMES)

    def test_ecb_with_matroskamux_is_refused_or_streamable(self):
        self.check_refused("matroskamux", "ecb")

    def test_cbc_with_mp4mux_is_refused(self):
        self.check_refused("mp4mux", "cbc")

    def test_ecb_with_a_muxer_that_never_rewrites_is_exact(self):
        for muxer in ("mpegtsmux", "matroskamux_streamable"):
            with self.subTest(muxer=muxer):
                plain, enc = self.record_teed(muxer, "ecb")
                dec = decrypt_reference(enc, "ecb")
                self.assertEqual(dec[:len(plain)], plain)
                self.assertEqual(dec[len(plain):], b"\0" * (len(dec) - len(plain)))


for _muxer in MUXERS:
    for _config in RECORD_CONFIGS:
        def _t(self, m=_muxer, c=_config):
            self.check_teed(m, c)
        _t.__name__ = f"test_{_muxer}_{_config.replace('-', '_')}_decrypts_to_the_muxer_output"
        setattr(Recording, _t.__name__, _t)


if __name__ == "__main__":
    unittest.main(verbosity=2)
