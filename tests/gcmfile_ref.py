"""An independent implementation of the gcm-file format.

Written from docs/format.md ("gcm-file") and Tink's public description of
AES-GCM-HKDF Streaming AEAD, never from our C++: it splits whole byte strings
(it does not stream), does HKDF with the standard library's hmac, and AES-GCM
with pycryptodome. The tests use it to write files that aesstream must read,
and to read the files aesstream writes.
"""

import hashlib
import hmac
import os
import struct

from Cryptodome.Cipher import AES

MAGIC = b"AESs"
VERSION = 2
MODE_GCM_FILE = 5
PREAMBLE_SIZE = 32
TAG = 16
NONCE_PREFIX = 7


class GcmFileError(Exception):
    """A decryption failure; `plaintext` holds what authenticated before it."""

    def __init__(self, kind, message, plaintext=b""):
        super().__init__(message)
        self.kind = kind
        self.plaintext = plaintext


def hkdf(hash_name, ikm, salt, info, length):
    """RFC 5869: extract, then expand."""
    prk = hmac.new(salt, ikm, hash_name).digest()
    okm, block, counter = b"", b"", 1
    while len(okm) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hash_name).digest()
        okm += block
        counter += 1
    return okm[:length]


def key_id(key):
    return hmac.new(key, b"aesstream key id", hashlib.sha256).digest()[:16]


def derived_key_size(key):
    return 32 if len(key) == 32 else 16


def _nonce(prefix, i, last):
    return prefix + struct.pack(">I", i) + (b"\x01" if last else b"\x00")


def tink_encrypt(key, plaintext, aad, segment_size, dkey_size,
                 hash_name="sha256", salt=None, nonce_prefix=None):
    """Tink AES-GCM-HKDF streaming ciphertext, first segment offset 0."""
    salt = os.urandom(dkey_size) if salt is None else salt
    nonce_prefix = os.urandom(NONCE_PREFIX) if nonce_prefix is None else nonce_prefix
    header = bytes([1 + dkey_size + NONCE_PREFIX]) + salt + nonce_prefix
    dkey = hkdf(hash_name, key, salt, aad, dkey_size)
    first = segment_size - len(header) - TAG
    rest = segment_size - TAG
    # M_0 takes up to `first` bytes, the others up to `rest`; all but the
    # last are full, and the last is empty only if the plaintext is.
    pieces = [plaintext[:first]]
    pos = first
    while pos < len(plaintext):
        pieces.append(plaintext[pos:pos + rest])
        pos += rest
    out = [header]
    for i, m in enumerate(pieces):
        c = AES.new(dkey, AES.MODE_GCM, nonce=_nonce(nonce_prefix, i, i == len(pieces) - 1),
                    mac_len=TAG)
        ct, tag = c.encrypt_and_digest(m)
        out.append(ct + tag)
    return b"".join(out)


def tink_decrypt(key, ciphertext, aad, segment_size, dkey_size,
                 hash_name="sha256", base=0):
    hlen = 1 + dkey_size + NONCE_PREFIX
    if len(ciphertext) < hlen:
        raise GcmFileError("truncated", "ends inside the Tink header")
    if ciphertext[0] != hlen:
        raise GcmFileError("format", "bad Tink header length byte")
    salt = ciphertext[1:1 + dkey_size]
    prefix = ciphertext[1 + dkey_size:hlen]
    dkey = hkdf(hash_name, key, salt, aad, dkey_size)
    body = ciphertext[hlen:]
    # Cut the body at the known segment sizes; the last piece is the last
    # segment, whatever its size.
    bounds = [0, segment_size - hlen]
    while bounds[-1] < len(body):
        bounds.append(bounds[-1] + segment_size)
    bounds[-1] = min(bounds[-1], len(body))
    segments = [body[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]
    if not segments:
        raise GcmFileError("truncated", "no segment after the header")
    plain = []
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if len(seg) < TAG:
            raise GcmFileError("truncated", "segment %d shorter than a tag" % i,
                               b"".join(plain))
        c = AES.new(dkey, AES.MODE_GCM, nonce=_nonce(prefix, i, last), mac_len=TAG)
        try:
            plain.append(c.decrypt_and_verify(seg[:-TAG], seg[-TAG:]))
        except ValueError:
            raise GcmFileError("authentication", "segment %d fails authentication" % i,
                               b"".join(plain)) from None
    return b"".join(plain)


def preamble(key, segment_size):
    return (MAGIC + bytes([VERSION, MODE_GCM_FILE, len(key), PREAMBLE_SIZE])
            + struct.pack(">I", segment_size) + bytes(4) + key_id(key))


def encrypt(key, plaintext, segment_size=65536, salt=None, nonce_prefix=None):
    p = preamble(key, segment_size)
    return p + tink_encrypt(key, plaintext, p, segment_size, derived_key_size(key),
                            "sha256", salt, nonce_prefix)


def decrypt(key, data):
    if len(data) < PREAMBLE_SIZE:
        raise GcmFileError("truncated", "ends inside the preamble")
    p = data[:PREAMBLE_SIZE]
    if p[:4] != MAGIC or p[4] != VERSION or p[5] != MODE_GCM_FILE:
        raise GcmFileError("not-gcm-file", "not a gcm-file stream")
    if p[16:32] != key_id(key):
        raise GcmFileError("wrong-key", "key id differs")
    if p[6] != len(key) or p[7] != PREAMBLE_SIZE or p[12:16] != bytes(4):
        raise GcmFileError("format", "bad preamble")
    (segment_size,) = struct.unpack(">I", p[8:12])
    dks = derived_key_size(key)
    if segment_size < 1 + dks + NONCE_PREFIX + TAG + 1:
        raise GcmFileError("format", "segment size too small")
    return tink_decrypt(key, data[PREAMBLE_SIZE:], p, segment_size, dks, "sha256")
