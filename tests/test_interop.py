"""Byte-for-byte interop of aesenc/aesdec (run by gst-launch-1.0) with the
openssl enc CLI and pycryptodome."""
import hashlib
import hmac
import unittest

from Cryptodome.Cipher import AES
from Cryptodome.Util.Padding import pad

from aestest import (IV, NIST_KEYS, TempDirTestCase, ctr_reference, gst_launch,
                     openssl_enc, random_data, recipe_ecb_encrypt)


class CtrInterop(TempDirTestCase):
    def test_ctr_matches_openssl_cli_all_key_sizes(self):
        data = random_data(100_003, 1)
        src = self.write("plain", data)
        for bits, key in NIST_KEYS.items():
            with self.subTest(bits=bits):
                gst_launch(f"filesrc location={src} blocksize=4093 ! "
                           f"aesenc mode=ctr key={key} iv={IV} ! "
                           f"filesink location={self.path('enc')}")
                expected = openssl_enc(f"aes-{bits}-ctr", key, IV, data)
                self.assertEqual(self.read("enc"), expected)
                # And back: what openssl encrypted, aesdec decrypts.
                self.write("ossl", expected)
                gst_launch(f"filesrc location={self.path('ossl')} blocksize=777 ! "
                           f"aesdec mode=ctr key={key} iv={IV} ! "
                           f"filesink location={self.path('dec')}")
                self.assertEqual(self.read("dec"), data)

    def test_ctr_counter_wraps_like_openssl(self):
        data = random_data(4000, 2)
        src = self.write("plain", data)
        iv = "ff" * 16
        key = NIST_KEYS[128]
        gst_launch(f"filesrc location={src} blocksize=100 ! aesenc mode=ctr key={key} "
                   f"iv={iv} ! filesink location={self.path('enc')}")
        self.assertEqual(self.read("enc"), openssl_enc("aes-128-ctr", key, iv, data))

    def test_ctr_matches_pycryptodome(self):
        data = random_data(65_536 + 5, 3)
        src = self.write("plain", data)
        key = NIST_KEYS[256]
        gst_launch(f"filesrc location={src} blocksize=1000 ! aesenc mode=ctr key={key} "
                   f"iv={IV} ! filesink location={self.path('enc')}")
        self.assertEqual(self.read("enc"), ctr_reference(key, IV, data))

    def test_header_stream_decrypts_with_pycryptodome(self):
        """The on-disk format (docs/format.md) read by independent code:
        header version 2, the key id (Python's hmac) at bytes 16..31, the IV
        at bytes 32..47, the ciphertext from byte 48."""
        data = random_data(50_000, 4)
        src = self.write("plain", data)
        key = NIST_KEYS[192]
        gst_launch(f"filesrc location={src} ! aesenc key={key} ! "
                   f"filesink location={self.path('enc')}")
        enc = self.read("enc")
        self.assertEqual(enc[:16], b"AESs\x02\x01\x18\x30" + bytes(8))
        self.assertEqual(enc[16:32], hmac.new(bytes.fromhex(key), b"aesstream key id",
                                              hashlib.sha256).digest()[:16])
        iv = enc[32:48].hex()
        self.assertEqual(ctr_reference(key, iv, enc[48:]), data)

    def test_version_1_streams_stay_readable(self):
        """A version-1 stream built here from docs/format.md (IV at 8, key
        check HMAC-SHA256(key, "aesstream key check" || IV)[:8] at 24)."""
        data = random_data(10_000, 5)
        key, iv = NIST_KEYS[128], bytes(range(16))
        check = hmac.new(bytes.fromhex(key), b"aesstream key check" + iv,
                         hashlib.sha256).digest()[:8]
        stream = b"AESs\x01\x01\x10\x20" + iv + check + ctr_reference(key, iv.hex(), data)
        src = self.write("v1", stream)
        gst_launch(f"filesrc location={src} ! aesdec key={key} ! "
                   f"filesink location={self.path('dec')}")
        self.assertEqual(self.read("dec"), data)


class CbcInterop(TempDirTestCase):
    def test_cbc_matches_openssl_cli_all_key_sizes(self):
        data = random_data(50_001, 6)
        src = self.write("plain", data)
        for bits, key in NIST_KEYS.items():
            with self.subTest(bits=bits):
                props = f"mode=cbc key={key} iv={IV} per-buffer-padding=false"
                gst_launch(f"filesrc location={src} blocksize=1111 ! aesenc {props} ! "
                           f"filesink location={self.path('enc')}")
                expected = openssl_enc(f"aes-{bits}-cbc", key, IV, data)
                self.assertEqual(self.read("enc"), expected)
                self.write("ossl", expected)
                gst_launch(f"filesrc location={self.path('ossl')} blocksize=100 ! "
                           f"aesdec {props} ! filesink location={self.path('dec')}")
                self.assertEqual(self.read("dec"), data)

    def test_cbc_per_buffer_padding_matches_pycryptodome(self):
        data = random_data(10_500, 7)
        src = self.write("plain", data)
        key = NIST_KEYS[192]
        gst_launch(f"filesrc location={src} blocksize=1000 ! aesenc mode=cbc key={key} "
                   f"iv={IV} ! filesink location={self.path('enc')}")
        cipher = AES.new(bytes.fromhex(key), AES.MODE_CBC, iv=bytes.fromhex(IV))
        expected = b"".join(cipher.encrypt(pad(data[i:i + 1000], 16))
                            for i in range(0, len(data), 1000))
        self.assertEqual(self.read("enc"), expected)
        # Each 1000-byte buffer became 1008 bytes: read them back as such.
        gst_launch(f"filesrc location={self.path('enc')} blocksize=1008 ! aesdec "
                   f"mode=cbc key={key} iv={IV} ! filesink location={self.path('dec')}")
        self.assertEqual(self.read("dec"), data)


class EcbInterop(TempDirTestCase):
    def test_ecb_matches_openssl_nopad_on_zero_padded_input(self):
        data = random_data(10_007, 5)
        src = self.write("plain", data)
        padded = data + b"\0" * (-len(data) % 16)
        for bits, key in NIST_KEYS.items():
            with self.subTest(bits=bits):
                gst_launch(f"filesrc location={src} blocksize=333 ! aesenc "
                           f"mode=ecb key={key} ! filesink location={self.path('enc')}")
                self.assertEqual(self.read("enc"),
                                 openssl_enc(f"aes-{bits}-ecb", key, None, padded,
                                             nopad=True))

    def test_ecb_matches_the_pycryptodome_recipe_both_ways(self):
        key = NIST_KEYS[128]
        for n in (0, 1, 16, 31, 4096, 4097):
            with self.subTest(n=n):
                data = random_data(n, n)
                src = self.write("plain", data)
                gst_launch(f"filesrc location={src} blocksize=7 ! aesenc mode=ecb "
                           f"key={key} ! filesink location={self.path('enc')}")
                recipe = recipe_ecb_encrypt(key, data)
                self.assertEqual(self.read("enc"), recipe)
                self.write("recipe", recipe)
                gst_launch(f"filesrc location={self.path('recipe')} ! aesdec "
                           f"mode=ecb key={key} ! filesink location={self.path('dec')}")
                # Zero padding stays: the recipe cannot be undone exactly.
                self.assertEqual(self.read("dec"), data + b"\0" * (-n % 16))


if __name__ == "__main__":
    unittest.main(verbosity=2)
