// mode=gcm-file: Google Tink's AES-GCM-HKDF streaming AEAD inside the
// 32-byte aesstream preamble (docs/format.md, "gcm-file"). GStreamer-free.
//
// Two layers:
//  - TinkEncoder / TinkDecoder: a Tink AES-GCM-HKDF streaming ciphertext
//    (header, then segments), with the associated data and HKDF hash as
//    parameters, so that Tink's own published test vectors run through the
//    very code that aesenc/aesdec use;
//  - FileEncoder / FileDecoder: the gcm-file stream P || T, where T is a Tink
//    ciphertext with associated data P and HKDF-SHA256, and P carries the
//    segment size and the key id.
//
// Problems come back as values (codec.hpp's Problem): a kind, and a message
// that says what was detected, for the user.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "aescore.hpp"
#include "codec.hpp"
#include "format.hpp"

namespace aesstream {
namespace gcmfile {

// Format facts (format.hpp), under short names.
constexpr std::array<uint8_t, 4> kMagic = format::kStreamMagic;
constexpr uint8_t kVersion = format::kGcmFileVersion;
constexpr uint8_t kModeByte = static_cast<uint8_t> (Mode::kGcmFile);
constexpr size_t kPreambleSize = format::kGcmFilePreambleSize;
constexpr size_t kNoncePrefixSize = format::kGcmFileNoncePrefixSize;
constexpr size_t kTagSize = format::kGcmTagSize;
constexpr uint32_t kDefaultSegmentSize = format::kGcmFileDefaultSegmentSize;
constexpr uint32_t kMinSegmentSize = format::kGcmFileMinSegmentSize;
constexpr uint32_t kMaxSegmentSize = format::kGcmFileMaxSegmentSize;
// Segment numbers are 32 bits in the nonce.
constexpr uint64_t kMaxSegments = uint64_t{1} << 32;
// Named in the messages about truncated or damaged streams.
constexpr const char *kSkipPropertyHint
    = "skip-damaged-segments=true makes aesdec skip failing segments and "
      "output what is readable";

// DerivedKeySize D: 32 for AES-256 keys, 16 for AES-128 and AES-192 keys
// (Tink derives only 16- or 32-byte AES-GCM keys).
constexpr size_t
derived_key_size (size_t key_length)
{
  return format::gcm_file_derived_key_size (key_length);
}
// len(H) = 1 + D + 7.
constexpr size_t
header_size (size_t derived_key_size)
{
  return 1 + derived_key_size + kNoncePrefixSize;
}
// Smallest S Tink accepts for a derived key size: len(H) + 17.
constexpr uint32_t
min_segment_size (size_t derived_key_size)
{
  return static_cast<uint32_t> (header_size (derived_key_size) + kTagSize + 1);
}

// Segment arithmetic of a Tink ciphertext (header + segments), first segment
// offset 0. Offsets here are relative to the start of Tink's header.
struct Layout
{
  size_t derived_key_size = 16;
  uint32_t segment_size = kDefaultSegmentSize; // S

  size_t header () const { return header_size (derived_key_size); }
  // Ciphertext bytes of segment i: S - len(H) for segment 0, S for others.
  size_t segment_ciphertext (uint64_t i) const
  {
    return i == 0 ? segment_size - header () : segment_size;
  }
  size_t segment_plaintext (uint64_t i) const
  {
    return segment_ciphertext (i) - kTagSize;
  }
  // Where segment i starts: len(H) + (S - len(H)) + (i - 1) S = i S for i > 0.
  uint64_t segment_offset (uint64_t i) const
  {
    return i == 0 ? header () : i * uint64_t{segment_size};
  }
  uint64_t plaintext_offset (uint64_t i) const
  {
    return i == 0 ? 0
                  : segment_plaintext (0)
                        + (i - 1) * uint64_t{segment_plaintext (1)};
  }
  // The segment holding plaintext byte x, and x's offset inside it.
  void locate (uint64_t x, uint64_t *segment, uint64_t *within) const;
  // Total ciphertext (header included) for a plaintext of `n` bytes.
  uint64_t ciphertext_size (uint64_t n) const;
  // Plaintext size of a complete ciphertext of `n` bytes (header included);
  // false if no complete ciphertext has that size.
  bool plaintext_size (uint64_t n, uint64_t *out) const;
  // Whether the parameters are valid for Tink.
  bool valid () const
  {
    return (derived_key_size == 16 || derived_key_size == 32)
           && segment_size >= min_segment_size (derived_key_size)
           && segment_size <= kMaxSegmentSize;
  }
};

// What a Tink AES-GCM-HKDF streaming key holds, beyond the layout.
struct TinkParams
{
  Layout layout;
  const char *hkdf_digest = "SHA256"; // OpenSSL digest name
  std::vector<uint8_t> associated_data;
  // Bytes in front of the Tink header in the file (the preamble), so that
  // messages give file offsets.
  uint64_t base_offset = 0;
};

// Seals and opens segment i of one Tink ciphertext (one DerivedKey, one
// NoncePrefix) with the core's AES-GCM: nonce = NoncePrefix || uint32_be(i)
// || last, no associated data. A segment may lie in several pieces (held
// bytes, then the input's part), each encrypted or decrypted where it lies.
class SegmentCipher {
public:
  static std::unique_ptr<SegmentCipher> create (const SecureBytes &derived_key,
      const uint8_t *nonce_prefix, bool encrypt, Problem *problem);
  // Plaintext pieces in order; `out` receives their ciphertext, then the
  // 16-byte tag. `out` may equal the only piece (in place).
  bool seal (uint64_t i, bool last, const ByteView *pieces, size_t count,
      uint8_t *out);
  // Ciphertext and tag in pieces (16 bytes or more in all); writes the
  // plaintext to `out`. On failure `out` is wiped (it held unauthenticated
  // bytes).
  bool open (uint64_t i, bool last, const ByteView *pieces, size_t count,
      uint8_t *out);

private:
  SegmentCipher () = default;
  std::unique_ptr<Gcm> gcm_;
  std::array<uint8_t, Gcm::kNonceSize> nonce_{};
  bool set_nonce (uint64_t i, bool last);
};

// The bytes of the segment being gathered (plaintext when encrypting,
// ciphertext when decrypting). The newest input's pieces (up to kMaxRefs of
// them: the memories of one buffer, given with the same owner) are held by
// reference when their owner is given, so that a segment cut between two
// buffers or memories is not copied; older pieces are copied into our own
// storage when a newer input comes, so that at most one of the caller's
// buffers is pinned (a source with a small buffer pool never starves) and
// memory stays one segment. Copies are wiped when dropped.
class HeldBytes {
public:
  static constexpr size_t kMaxRefs = 2;
  // What pieces() gives at most.
  static constexpr size_t kMaxPieces = 1 + kMaxRefs;

  HeldBytes () = default;
  ~HeldBytes () { clear (); }
  void set_capacity (size_t n) { own_.resize (n); }
  HeldBytes (const HeldBytes &) = delete;
  HeldBytes &operator= (const HeldBytes &) = delete;

  size_t size () const { return size_; }
  // Adds n bytes (size () + n <= capacity); `owner`, when not null, keeps
  // `p` valid and lets it be held by reference.
  void append (const uint8_t *p, size_t n, const InputOwner *owner);
  // The held bytes as up to kMaxPieces pieces in order; returns how many.
  size_t pieces (ByteView *out) const;
  void clear ();

private:
  std::vector<uint8_t> own_;
  size_t own_len_ = 0;
  std::array<ByteView, kMaxRefs> refs_{};
  size_t ref_count_ = 0;
  size_t size_ = 0;
  InputOwner ref_owner_;

  void copy_refs ();
};

// Pieces a segment may lie in: what HeldBytes holds, and the input's part.
constexpr size_t kMaxSegmentPieces = HeldBytes::kMaxPieces + 1;

// Encrypts a byte stream into a Tink ciphertext, whatever the input chunking.
// A full segment is sealed only once the next byte has arrived (only then is
// it known not to be the last one), so output trails input by at most one
// segment. The first output is the header.
class TinkEncoder {
public:
  // salt (D bytes) and nonce_prefix (7 bytes) null: drawn from the CSPRNG.
  static std::unique_ptr<TinkEncoder> create (const SecureBytes &key,
      const TinkParams &params, Problem *problem, const uint8_t *salt = nullptr,
      const uint8_t *nonce_prefix = nullptr);

  const Layout &layout () const { return params_.layout; }
  // Exactly what update() writes for `n` more input bytes.
  size_t update_output_size (size_t n) const;
  // Exactly what finish() writes.
  size_t finish_output_size () const;
  // `owner`, when not null, keeps `in` valid after the call: input held
  // back for the next segment is then held by reference, not copied.
  // `units`, when not null, receives the size of each segment written.
  Problem update (const uint8_t *in, size_t n, uint8_t *out, size_t *written,
      const InputOwner *owner = nullptr, std::vector<size_t> *units = nullptr);
  Problem finish (uint8_t *out, size_t *written);
  // The header, for a caller that sends it itself; header_sent() then keeps
  // update()/finish() from writing it.
  const std::vector<uint8_t> &header () const { return header_; }
  void header_sent () { header_pending_ = false; }

private:
  TinkEncoder () = default;
  TinkParams params_;
  std::unique_ptr<SegmentCipher> cipher_;
  std::vector<uint8_t> header_;
  bool header_pending_ = true;
  bool finished_ = false;
  HeldBytes carry_; // plaintext of the segment being filled
  uint64_t segment_ = 0;

  // Seals the carried bytes and `n` more of `in` as the next segment.
  Problem seal (const uint8_t *in, size_t n, bool last, uint8_t *out);
};

// Decrypts a Tink ciphertext, whatever the input chunking, and outputs only
// plaintext of segments that authenticated. Can be positioned at any
// plaintext offset once the header is read.
class TinkDecoder {
public:
  static std::unique_ptr<TinkDecoder> create (
      const SecureBytes &key, const TinkParams &params, Problem *problem);

  const Layout &layout () const { return params_.layout; }
  // Skip segments that fail (counted, reported by take_warnings()) instead
  // of stopping; for recovering damaged recordings.
  void set_skip_damaged (bool skip) { skip_damaged_ = skip; }
  // An upper bound of what update() writes for `n` more input bytes.
  size_t max_update_output (size_t n) const;
  size_t max_finish_output () const;
  // On a problem, nothing of the failing segment is written; `written`
  // counts the authenticated plaintext written before it. `owner`, when not
  // null, keeps `in` valid after the call (see TinkEncoder::update).
  Problem update (const uint8_t *in, size_t n, uint8_t *out, size_t *written,
      const InputOwner *owner = nullptr);
  Problem finish (uint8_t *out, size_t *written);

  bool header_done () const { return cipher_ != nullptr; }
  // Random access: the next input is the ciphertext starting at the
  // returned offset (relative to the Tink header); output starts at
  // plaintext offset x. An x at a segment boundary maps to the end of the
  // previous segment, so that a stream that ends there is still checked for
  // its final segment. Before the header is read, input goes on where it
  // is (the answer is the offset reached): the decoder reads the header,
  // then drops input up to x's segment itself.
  uint64_t seek (uint64_t x);
  uint64_t segments_skipped () const { return skipped_; }
  std::vector<Problem> take_warnings ();

private:
  enum class State
  {
    kHeader,
    kSegments,
    kDone,
    kFailed,
  };
  TinkDecoder () = default;
  TinkParams params_;
  SecureBytes key_;
  std::unique_ptr<SegmentCipher> cipher_;
  State state_ = State::kHeader;
  Problem failure_;
  std::vector<uint8_t> header_; // the Tink header, as it comes
  size_t header_len_ = 0;
  HeldBytes carry_; // a segment's ciphertext
  uint64_t segment_ = 0;
  uint64_t drop_ = 0; // plaintext bytes to drop after a seek
  bool seek_pending_ = false;
  uint64_t seek_target_ = 0;
  uint64_t skip_input_ = 0; // ciphertext bytes to drop (seek before header)
  bool skip_damaged_ = false;
  uint64_t skipped_ = 0;
  std::vector<Problem> warnings_;

  Problem fail (Problem p);
  Problem read_header ();
  // Opens one complete segment: the carried bytes and `n` more of `in`;
  // short_final: shorter than a full segment, so it can only be the last.
  Problem open_segment (const uint8_t *in, size_t n, bool short_final,
      uint8_t *out, size_t *written);
  Problem damaged (Problem p);
};

// The aesstream preamble P of a gcm-file stream.
struct Preamble
{
  uint8_t key_length = 16;
  uint32_t segment_size = kDefaultSegmentSize;
  std::array<uint8_t, kKeyIdSize> key_id{};

  std::array<uint8_t, kPreambleSize> serialize () const;
  // Checks every field but the key id (which needs the key).
  static Problem parse (const uint8_t *data, size_t n, Preamble *out);
  // Whether `data` starts like a gcm-file preamble (magic, version, mode).
  static bool detect (const uint8_t *data, size_t n);
};

// P || T, the gcm-file stream, writing side.
class FileEncoder {
public:
  static std::unique_ptr<FileEncoder> create (const SecureBytes &key,
      uint32_t segment_size, Problem *problem, const uint8_t *salt = nullptr,
      const uint8_t *nonce_prefix = nullptr);

  const Layout &layout () const { return tink_->layout (); }
  const Preamble &preamble () const { return preamble_; }
  // Exactly what update()/finish() write (the first output includes P).
  size_t update_output_size (size_t n) const;
  size_t finish_output_size () const;
  // `owner`, `units`: as TinkEncoder::update.
  Problem update (const uint8_t *in, size_t n, uint8_t *out, size_t *written,
      const InputOwner *owner = nullptr, std::vector<size_t> *units = nullptr);
  Problem finish (uint8_t *out, size_t *written);
  // P || H, for a caller that sends them itself (once); update()/finish()
  // then write segments only. Empty once sent.
  std::vector<uint8_t> take_prefix ();
  size_t prefix_size () const
  {
    return kPreambleSize + tink_->layout ().header ();
  }

private:
  FileEncoder () = default;
  Preamble preamble_;
  bool preamble_pending_ = true;
  std::unique_ptr<TinkEncoder> tink_;
};

// P || T, reading side: checks P (a wrong key is an error before any
// output), then decrypts T with P as associated data.
class FileDecoder {
public:
  static std::unique_ptr<FileDecoder> create (
      const SecureBytes &key, Problem *problem);

  void set_skip_damaged (bool skip);
  size_t max_update_output (size_t n) const;
  size_t max_finish_output () const;
  // `owner`: as TinkDecoder::update.
  Problem update (const uint8_t *in, size_t n, uint8_t *out, size_t *written,
      const InputOwner *owner = nullptr);
  Problem finish (uint8_t *out, size_t *written);

  // Known once the preamble is read.
  const Preamble *preamble () const { return tink_ ? &preamble_ : nullptr; }
  // Position at plaintext offset x; returns the file offset (from the
  // start of P) of the ciphertext to feed next. Before the preamble and
  // Tink header are read (ready()), input goes on where it is (the answer
  // is the offset reached): the decoder reads them, then drops input up to
  // x's segment itself.
  bool ready () const { return tink_ && tink_->header_done (); }
  uint64_t seek (uint64_t x);
  // Plaintext size of a whole file of `n` bytes; false if no complete
  // gcm-file stream has that size (it is truncated or damaged).
  bool plaintext_size (uint64_t n, uint64_t *out) const;
  uint64_t segments_skipped () const
  {
    return tink_ ? tink_->segments_skipped () : 0;
  }
  std::vector<Problem> take_warnings ();

private:
  FileDecoder () = default;
  SecureBytes key_;
  std::array<uint8_t, kPreambleSize> head_{};
  size_t head_len_ = 0;
  Preamble preamble_;
  bool skip_damaged_ = false;
  bool seek_pending_ = false;
  uint64_t seek_target_ = 0;
  Problem failure_;
  std::unique_ptr<TinkDecoder> tink_;

  Problem read_preamble ();
};

// The gcm-file codec of make_codec() (codec.hpp): FileEncoder/FileDecoder
// as StreamCodecs. Encoders cannot be positioned (a segment is sealed once;
// sealing changed bytes again under its nonce would break GCM), decoders
// can, anywhere.
std::unique_ptr<StreamCodec> make_codec (
    const CodecConfig &config, Problem *problem);

} // namespace gcmfile
} // namespace aesstream
