"""gcm-file against an independent implementation (tests/gcmfile_ref.py):
the reference itself against Tink's published test vectors, then files it
writes read by our core and files our core writes read by it, for every key
size, several segment sizes, sizes around each segment boundary, several
MB, random chunking of both input and ciphertext; and the docs' example.

Our core is driven through a small test CLI (GCMFILE_TOOL, built from
tests/gcmfile_tool.cpp) so this needs no pipeline."""
import os
import random
import re
import subprocess
import unittest

import gcmfile_ref as ref

TOOL = os.environ.get("GCMFILE_TOOL")
DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs",
                    "format.md")
KEYS = {
    128: bytes(range(16)),
    192: bytes(range(24)),
    256: bytes(range(32)),
}

# Tink's AES-GCM-HKDF streaming test vectors (tink-java
# AesGcmHkdfStreamingTestUtil, from Tink's cross-language tests):
# (hash, derived key size, segment size, key, plaintext, aad, ciphertext)
K16 = "6eb56cdc726dfbe5d57f2fcdc6e9345b"
K32 = "00112233445566778899aabbccddeeff6eb56cdc726dfbe5d57f2fcdc6e9345b"
EMPTY32 = ("28fae780c70a82d1256c8303a1261ac6a98cf557b4e173967a62f3c149517ba5b2431da9"
           "3b3c6e90f508b34dc14bfda59bab05681c6ad3fa")
TINK_VECTORS = [
    ("sha1", 16, 64, K16,
     b"This is a fairly long plaintext. It is of the exact length to create three "
     b"output blocks. ", b"aad",
     "1893b3af5e14ab378d065addfc8484da642c0862877baea8"
     "db92d9c77406a406168478821c4298eab3e6d531277f4c1a051714faebcaefcbca7b7be05e9445ea"
     "a0bb2904153398a25084dd80ae0edcd1c3079fcea2cd3770630ee36f7539207b8ec9d754956d486b"
     "71cdf989f0ed6fba6779b63558be0a66e668df14e1603cd2"
     "af8944844078345286d0b292e772e7190775c51a0f83e40c0b75821027e7e538e111"),
    ("sha1", 16, 64, K16, b"", b"",
     "18ec99b2c3884194023bd41bb9bff309205354c750fa0cb3c0d02609abf71f88eaeaa48d7deca27f"),
    ("sha256", 16, 64, K16, b"", b"",
     "18be78bce0cab6fd38a9041eea8ab0ffc4cf17e3c00b661d3927f5f79069f41a210fedc40b25648c"),
    ("sha512", 16, 64, K16, b"", b"",
     "18fec8139ccb406e0f140d7e2bcc41e1b899bc1b121574cc31d1c78ed2ca1cdf324665b8dce21095"),
    ("sha1", 16, 64, K32, b"", b"",
     "180880e85a24207a7b72cefde26306ed09d7d76e58104b751d005a3ffd72dd6151f0d9c8ccf163f7"),
    ("sha1", 32, 64, K32, b"", b"", EMPTY32),
    ("sha1", 32, 128, K32, b"", b"", EMPTY32),
    ("sha1", 32, 120, K32,
     b"BLOCK 1.BLOCK 2.BLOCK 3.BLOCK 4.BLOCK 5.BLOCK 6.BLOCK 7.BLOCK 8.", bytes([0, 1, 2, 3]),
     "28782994617714a80fa085e15051a16854522330d6d0f26c049b2192f09cdd98b2eb90c753bfff27"
     "7a29e54fa4afb15d648c28477eb07f012535c767f5fdce24ffffae318480c1d37357d6d3c5111593"
     "18afa09ef38aa3f5456fd7817c5c02dd6e1a7fef174c8bd24e38b5982ac105497c0101ac5581fe5b"),
]

# The docs' worked example (docs/format.md, gcm-file): fixed Salt and prefix.
EXAMPLE_KEY = bytes(range(16))
EXAMPLE_S = 64
EXAMPLE_SALT = bytes(range(0xa0, 0xb0))
EXAMPLE_PREFIX = bytes(range(0xc0, 0xc7))
EXAMPLE_PLAIN = (b"gcm-file: Tink's AES-GCM-HKDF streaming AEAD inside the 32-byte "
                 b"aesstream preamble.")


def core(*args, data, check=True):
    proc = subprocess.run([TOOL, *map(str, args)], input=data,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError("gcmfile_tool %s failed: %s" % (args, proc.stderr.decode()))
    return proc


def first_segment_plain(key, s):
    return s - (1 + ref.derived_key_size(key) + 7) - 16


def sizes_around_boundaries(key, s):
    f, p = first_segment_plain(key, s), s - 16
    sizes = {0, 1}
    for i in range(3):
        b = f + i * p
        sizes |= {b - 1, b, b + 1}
    return sorted(sizes)


class ReferenceMatchesTink(unittest.TestCase):
    def test_reference_reads_and_writes_tinks_vectors(self):
        for (h, d, s, key, plain, aad, ct) in TINK_VECTORS:
            key, ct = bytes.fromhex(key), bytes.fromhex(ct)
            with self.subTest(hash=h, d=d, s=s, n=len(plain)):
                self.assertEqual(ref.tink_decrypt(key, ct, aad, s, d, h), plain)
                salt, prefix = ct[1:1 + d], ct[1 + d:1 + d + 7]
                self.assertEqual(ref.tink_encrypt(key, plain, aad, s, d, h, salt, prefix), ct)


@unittest.skipUnless(TOOL, "GCMFILE_TOOL not set")
class CrossCheck(unittest.TestCase):
    def test_reference_files_read_by_our_core(self):
        for bits, key in KEYS.items():
            for s in (57 if bits == 256 else 41, 100, 4096, 65536):
                for n in sizes_around_boundaries(key, s):
                    plain = random.Random(n + s).randbytes(n)
                    with self.subTest(bits=bits, s=s, n=n):
                        f = ref.encrypt(key, plain, s)
                        out = core("dec", key.hex(), n % 5, data=f)
                        self.assertEqual(out.stdout, plain)

    def test_our_core_files_read_by_reference(self):
        for bits, key in KEYS.items():
            for s in (57, 100, 4096, 65536):
                for n in sizes_around_boundaries(key, s):
                    plain = random.Random(n * s).randbytes(n)
                    with self.subTest(bits=bits, s=s, n=n):
                        f = core("enc", key.hex(), s, n % 5, data=plain).stdout
                        self.assertEqual(len(f), len(ref.encrypt(key, plain, s)))
                        self.assertEqual(f[:32], ref.preamble(key, s))
                        self.assertEqual(ref.decrypt(key, f), plain)

    def test_several_megabytes_both_ways_random_chunking(self):
        key = KEYS[256]
        plain = random.Random(1).randbytes(6 * 1024 * 1024 + 77)
        f = core("enc", key.hex(), 65536, 3, data=plain).stdout
        self.assertEqual(ref.decrypt(key, f), plain)
        f = ref.encrypt(key, plain, 65536)
        self.assertEqual(core("dec", key.hex(), 4, data=f).stdout, plain)

    def test_positioned_reads_of_reference_files(self):
        key = KEYS[192]
        plain = random.Random(2).randbytes(50_000)
        f = ref.encrypt(key, plain, 1000)
        rng = random.Random(3)
        offsets = [0, 1, 983 - 1, 983, 984, 49_999, 50_000] + [rng.randrange(50_000) for _ in range(10)]
        for x in offsets:
            with self.subTest(x=x):
                out = core("dec", key.hex(), x % 3, "from=%d" % x, data=f)
                self.assertEqual(out.stdout, plain[x:])

    def test_reference_manipulations_fail_in_our_core_with_a_prefix_out(self):
        key = KEYS[128]
        s = 300
        plain = random.Random(4).randbytes(3000)
        f = ref.encrypt(key, plain, s)
        seg = lambda i: 32 + (i * s if i else 24)
        other = ref.encrypt(key, plain, s)
        cases = {
            "flip": f[:500] + bytes([f[500] ^ 4]) + f[501:],
            "drop": f[:seg(2)] + f[seg(3):],
            "swap": f[:seg(2)] + f[seg(3):seg(4)] + f[seg(2):seg(3)] + f[seg(4):],
            "splice": f[:seg(3)] + other[seg(3):seg(4)] + f[seg(4):],
            "cut at boundary": f[:seg(5)],
            "cut inside": f[:seg(5) + 100],
            "other final segment": f[:seg(4)] + ref.encrypt(key, b"", s)[-16:],
            "appended": f + b"\0" * 40,
            "preamble": f[:9] + b"\x02" + f[10:],
        }
        for name, bad in cases.items():
            with self.subTest(name):
                out = core("dec", key.hex(), 7, data=bad, check=False)
                self.assertEqual(out.returncode, 1, out.stderr)
                self.assertTrue(plain.startswith(out.stdout))
                boundaries = [0] + [first_segment_plain(key, s) + i * (s - 16) for i in range(12)]
                self.assertIn(len(out.stdout), boundaries)
                if name.startswith("cut"):
                    self.assertIn(b"skip-damaged-segments", out.stderr)

    def test_docs_example_is_what_the_reference_writes_and_our_core_reads(self):
        with open(DOCS, encoding="utf-8") as f:
            text = f.read()
        section = text[text.index("### Worked example"):]
        block = section[section.index("```") + 3:]
        block = block[:block.index("```")]
        doc_bytes = bytes.fromhex("".join(re.findall(r"\b[0-9a-f]{2}\b", block)))
        f = ref.encrypt(EXAMPLE_KEY, EXAMPLE_PLAIN, EXAMPLE_S, EXAMPLE_SALT, EXAMPLE_PREFIX)
        self.assertEqual(doc_bytes, f)
        self.assertIn(ref.key_id(EXAMPLE_KEY).hex(), section)
        self.assertEqual(core("dec", EXAMPLE_KEY.hex(), 0, data=doc_bytes).stdout,
                         EXAMPLE_PLAIN)


def example_markdown():
    """Prints the docs' example block (used once to write docs/format.md)."""
    f = ref.encrypt(EXAMPLE_KEY, EXAMPLE_PLAIN, EXAMPLE_S, EXAMPLE_SALT, EXAMPLE_PREFIX)
    parts = [("P", f[:32]), ("H", f[32:56])]
    pos, i = 56, 0
    while pos < len(f):
        n = (EXAMPLE_S - 24) if i == 0 else EXAMPLE_S
        parts.append(("segment %d" % i, f[pos:pos + n]))
        pos += n
        i += 1
    for name, b in parts:
        for j in range(0, len(b), 16):
            print("%-10s %s" % (name if j == 0 else "", " ".join("%02x" % x for x in b[j:j + 16])))


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["--example"]:
        example_markdown()
    else:
        unittest.main(verbosity=2)
