// Facts about the bytes on the wire (docs/format.md), stated once. The
// codecs, the typefinder and the tests all read them from here, so a magic,
// a size or a mode byte cannot differ between the writer and a reader.
// Nothing here depends on OpenSSL or GStreamer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace aesstream {

constexpr size_t kBlockSize = 16;

// The modes. The numeric values appear on the wire (the stream header's mode
// byte): never renumber them.
enum class Mode : uint8_t
{
  kCtr = 1,
  kEcb = 2,
  kCbc = 3,
  kGcm = 4,     // live records (GcmRecord)
  kGcmFile = 5, // Tink streaming AEAD segments in a preamble (gcmfile.hpp)
};

namespace format {

// AES key lengths in bytes (AES-128/192/256).
constexpr std::array<size_t, 3> kKeyLengths = {16, 24, 32};
constexpr bool
is_key_length (size_t n)
{
  return n == 16 || n == 24 || n == 32;
}

// The key id (HMAC-SHA256(key, kKeyIdLabel), first kKeyIdSize bytes).
constexpr size_t kKeyIdSize = 16;
constexpr char kKeyIdLabel[] = "aesstream key id";

// The aesstream stream header (version 1): written in front of CTR
// ciphertext when no iv was configured.
//   0  4  magic "AESs"
//   4  1  version (1)
//   5  1  mode byte (Mode)
//   6  1  key length in bytes
//   7  1  header length (32)
//   8 16  IV (initial counter block)
//  24  8  key check: HMAC-SHA256(key, kKeyCheckLabel || IV), first 8 bytes
constexpr std::array<uint8_t, 4> kStreamMagic = {'A', 'E', 'S', 's'};
constexpr uint8_t kHeaderVersion = 1;
constexpr size_t kHeaderSize = 32;
constexpr size_t kHeaderVersionOffset = 4;
constexpr size_t kHeaderModeOffset = 5;
constexpr size_t kHeaderKeyLengthOffset = 6;
constexpr size_t kHeaderLengthOffset = 7;
constexpr size_t kHeaderIvOffset = 8;
constexpr size_t kHeaderKeyCheckOffset = 24;
constexpr size_t kKeyCheckSize = 8;
constexpr char kKeyCheckLabel[] = "aesstream key check";

// Version 2 of the header (what aesenc writes): the key id instead of the
// key check, so that a reader can look the key up (docs/keys.md). The first
// 8 bytes are laid out as in version 1, and as in the gcm-file preamble,
// which is version 2 with mode byte kModeGcmFile: the version and header
// length bytes tell a reader how long the header is.
//   0  4  magic "AESs"
//   4  1  version (2)
//   5  1  mode byte (1 = CTR)
//   6  1  key length in bytes
//   7  1  header length (48)
//   8  8  reserved, zero
//  16 16  key id
//  32 16  IV (initial counter block)
constexpr uint8_t kHeaderVersion2 = 2;
constexpr size_t kHeaderV2Size = 48;
constexpr size_t kHeaderV2ReservedOffset = 8;
constexpr size_t kHeaderV2ReservedSize = 8;
constexpr size_t kHeaderV2KeyIdOffset = 16;
constexpr size_t kHeaderV2IvOffset = 32;
// Bytes that tell a header's version and length; the longest header.
constexpr size_t kHeaderFixedSize = 8;
constexpr size_t kHeaderMaxSize = kHeaderV2Size;
// The gcm-file preamble's mode byte (issue 9; a version-2 header of 32
// bytes: segment size, reserved, key id).
constexpr uint8_t kModeGcmFile = 5;
constexpr size_t kGcmFilePreambleSize = 32;

// CBC with serialize-iv: the bare IV in front of the ciphertext.
constexpr size_t kSerializedIvSize = kBlockSize;

// The GCM record (mode=gcm):
//   0  2  magic "Ag"
//   2  1  version (1)
//   3  1  flags (kRecordFlagFinal)
//   4  4  payload length, big-endian
//   8  6  sequence number, big-endian
//  14 10  salt (per stream)
//  24  n  ciphertext
//  24+n 16 tag
// The 24 header bytes are the associated data.
constexpr uint8_t kRecordMagic0 = 'A';
constexpr uint8_t kRecordMagic1 = 'g';
constexpr uint8_t kRecordVersion = 1;
constexpr uint8_t kRecordFlagFinal = 0x01;
constexpr size_t kRecordHeaderSize = 24;
constexpr size_t kRecordTagSize = 16;
constexpr size_t kRecordOverhead = kRecordHeaderSize + kRecordTagSize;
constexpr size_t kRecordSaltSize = 10;
constexpr size_t kRecordLengthOffset = 4;
constexpr size_t kRecordSeqOffset = 8;
constexpr size_t kRecordSaltOffset = 14;
constexpr uint64_t kRecordMaxSeq = (uint64_t{1} << 48) - 1;
constexpr uint32_t kRecordMaxLength = 64u << 20;
// HKDF info of the per-stream subkey.
constexpr char kRecordKdfInfo[] = "aesstream gcm v1";

// The gcm-file stream (mode=gcm-file): the preamble P, then a Tink
// AES-GCM-HKDF streaming ciphertext with associated data P (gcmfile.hpp):
//   0  4  magic "AESs"
//   4  1  version (2)
//   5  1  mode byte (Mode::kGcmFile)
//   6  1  key length in bytes
//   7  1  preamble length (32)
//   8  4  segment size S (Tink's CiphertextSegmentSize), big-endian
//  12  4  reserved, zero
//  16 16  key id
constexpr uint8_t kGcmFileVersion = 2;
// kGcmFilePreambleSize (32) and kModeGcmFile are stated above.
constexpr size_t kGcmFileSegmentSizeOffset = 8;
constexpr size_t kGcmFileReservedOffset = 12;
constexpr size_t kGcmFileKeyIdOffset = 16;
// Tink's header: len(H) || Salt (DerivedKeySize bytes) || NoncePrefix.
constexpr size_t kGcmFileNoncePrefixSize = 7;
// S: the default bounds latency and memory to 64 KiB; Tink's minimum is
// len(H) + 17 (41 for AES-128/192 keys, 57 for AES-256); both sides hold
// one segment, and a reader refuses larger ones.
constexpr uint32_t kGcmFileDefaultSegmentSize = 65536;
constexpr uint32_t kGcmFileMinSegmentSize = 41;
constexpr uint32_t kGcmFileMaxSegmentSize = 64u << 20;
// GCM nonce and tag sizes (96-bit nonces, 128-bit tags).
constexpr size_t kGcmNonceSize = 12;
constexpr size_t kGcmTagSize = 16;
// Tink's DerivedKeySize D for a key length: 32 for AES-256 keys, 16 for
// AES-128 and AES-192 keys (Tink derives only 16- or 32-byte AES-GCM keys).
constexpr size_t
gcm_file_derived_key_size (size_t key_length)
{
  return key_length == 32 ? 32 : 16;
}
// The smallest S for a key length: Tink's header (len(H) = 1 + D + 7) and
// a tag must fit in segment 0 with a byte to spare (41 or 57). The probe
// (typefinder, format detection) and the codec check the same bounds.
constexpr uint32_t
gcm_file_min_segment_size (size_t key_length)
{
  return static_cast<uint32_t> (1 + gcm_file_derived_key_size (key_length)
                                + kGcmFileNoncePrefixSize + kGcmTagSize + 1);
}
static_assert (gcm_file_min_segment_size (16) == kGcmFileMinSegmentSize,
    "the smallest segment size is that of 16-byte derived keys");

} // namespace format
} // namespace aesstream
