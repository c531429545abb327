// The cipher core: AES over OpenSSL's EVP interface, with no GStreamer in
// sight. Everything here works on plain byte ranges so that it can be tested
// against published vectors on its own (tests/test_core.cpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "format.hpp"

namespace aesstream {

const char *mode_name (Mode mode);

// A byte vector that is wiped with OPENSSL_cleanse before its memory is
// released, for keys and anything derived from them. Copying is disabled so
// that key material is never duplicated by accident.
class SecureBytes {
public:
  SecureBytes () = default;
  explicit SecureBytes (size_t n) : bytes_ (n) {}
  SecureBytes (const uint8_t *data, size_t n) : bytes_ (data, data + n) {}
  SecureBytes (const SecureBytes &) = delete;
  SecureBytes &operator= (const SecureBytes &) = delete;
  SecureBytes (SecureBytes &&other) noexcept;
  SecureBytes &operator= (SecureBytes &&other) noexcept;
  ~SecureBytes () { clear (); }

  void clear ();
  SecureBytes clone () const { return SecureBytes (data (), size ()); }

  uint8_t *data () { return bytes_.data (); }
  const uint8_t *data () const { return bytes_.data (); }
  size_t size () const { return bytes_.size (); }
  bool empty () const { return bytes_.empty (); }

private:
  std::vector<uint8_t> bytes_;
};

// Parses hex text into bytes. `what` names the value in error messages ("key",
// "iv"); the messages never contain the text itself, which may be a secret.
// Accepted lengths (in bytes) are listed in `allowed_lengths`.
bool parse_hex (std::string_view text, std::string_view what,
    const std::vector<size_t> &allowed_lengths, SecureBytes *out,
    std::string *error);

// Parses an AES key given as 32, 48 or 64 hex digits.
bool parse_key_hex (
    std::string_view text, SecureBytes *out, std::string *error);
// Reads a key file holding hex text; surrounding whitespace is ignored.
// Only a regular file is read (a FIFO or device is refused without
// blocking), and at most 4 KiB of it.
bool read_key_file (
    const std::string &path, SecureBytes *out, std::string *error);
// Parses a 128-bit IV / initial counter block given as 32 hex digits.
bool parse_iv_hex (std::string_view text, std::array<uint8_t, kBlockSize> *out,
    std::string *error);
std::string to_hex (const uint8_t *data, size_t n);
// The value of one hex digit (either case), or -1.
int hex_value (char c);

// The key id of a key (docs/format.md): the first 16 bytes of
// HMAC-SHA256(key, ASCII "aesstream key id"). Self-describing formats carry
// it so that a reader can tell which key a stream needs (and find it in a
// keyring) without trying keys. A PRF output reveals nothing about the key;
// it does reveal that two streams share a key.
constexpr size_t kKeyIdSize = format::kKeyIdSize;
std::array<uint8_t, kKeyIdSize> key_id (const SecureBytes &key);

// Fills `out` from OpenSSL's CSPRNG. Returns false if the generator failed.
bool random_bytes (uint8_t *out, size_t n);

struct EvpCtxDeleter
{
  void operator() (void *ctx) const;
};

// A streaming AES cipher in one direction.
//
// update() may be called with any number of bytes, including zero; block
// modes carry incomplete blocks across calls (inside EVP) so that the output
// never depends on how the input was split. finish() ends the stream:
//  - CTR: nothing to do, output is always exactly as long as the input;
//  - ECB (zero padding, the original recipe): encrypting pads the last
//    partial block with zero bytes; decrypting fails if bytes are left over;
//  - CBC: PKCS#7 padding is added when encrypting and checked and removed when
//    decrypting (EVP's own padding).
// CBC with `pkcs7_per_chunk` instead pads every update() chunk on its own
// while the CBC chain continues across chunks (gst-plugins-bad's
// per-buffer-padding): decrypting then needs the chunks exactly as they
// were produced, each a multiple of 16 bytes.
class Cipher {
public:
  // Returns nullptr and sets `error` on failure (bad key size, EVP failure).
  static std::unique_ptr<Cipher> create (Mode mode, bool encrypt,
      const SecureBytes &key, const uint8_t *iv, std::string *error,
      bool pkcs7_per_chunk = false);
  ~Cipher ();

  size_t key_length () const { return key_length_; }

  // Upper bound of what update() writes for `n` input bytes.
  size_t max_update_output (size_t n) const
  {
    return mode_ == Mode::kCtr ? n : n + kBlockSize;
  }
  // Upper bound of what finish() writes, whatever the mode.
  static constexpr size_t kMaxFinishOutput = 2 * kBlockSize;

  // Processes `n` bytes from `in` into `out` and sets how many bytes were
  // written. `out` may equal `in` (in place) but must not partially overlap
  // it. Fails (with a message for the user in `error`) only on invalid
  // per-chunk padding when decrypting, or if EVP fails.
  bool update (const uint8_t *in, size_t n, uint8_t *out, size_t *written,
      std::string *error);
  // update() for a CTR cipher (the mode it was created with; no padding):
  // writes exactly `n` bytes. The per-buffer path of CTR streams: one EVP
  // call when `n` fits EVP's int (any buffer a pipeline carries), without
  // update()'s layers and error text. False if EVP fails.
  bool update_ctr (const uint8_t *in, size_t n, uint8_t *out);
  bool finish (uint8_t *out, size_t *written, std::string *error);

  // Restarts the stream with the same key and a new IV (may be null for ECB):
  // carried bytes are dropped.
  bool restart (const uint8_t *iv);

  // Whether update() may write over its own input right now, without the
  // output running ahead of what has been read: CTR always; ECB, and CBC
  // encryption with end-of-stream padding, while no partial block is
  // carried. (Decrypting CBC with padding holds a block back, and per-chunk
  // padding makes the output longer than the input.) The output is then at
  // most as long as the input.
  bool can_update_in_place () const
  {
    switch (mode_) {
      case Mode::kCtr:
        return true;
      case Mode::kEcb:
        return carried_ == 0;
      case Mode::kCbc:
        return encrypt_ && !per_chunk_ && carried_ == 0;
      case Mode::kGcm:
      case Mode::kGcmFile:
        return false;
    }
    return false;
  }

  // Bytes carried over (not yet output) because they do not complete a block.
  size_t carried () const { return carried_; }

private:
  Cipher () = default;

  std::unique_ptr<void, EvpCtxDeleter> ctx_;
  Mode mode_ = Mode::kCtr;
  bool encrypt_ = true;
  size_t key_length_ = 0;
  size_t carried_ = 0;
  bool per_chunk_ = false;

  bool evp_update (const uint8_t *in, size_t n, uint8_t *out, size_t *written);
  bool update_per_chunk (const uint8_t *in, size_t n, uint8_t *out,
      size_t *written, std::string *error);
};

// The aesstream stream header (docs/format.md), written in front of the
// ciphertext when no IV was configured, so that the receiver learns the
// random IV and can check that it was given a stream it understands.
// Version 2 (written by aesenc) carries the key id; version 1 (still read)
// carries a key check instead.
struct StreamHeader
{
  static constexpr size_t kSize = format::kHeaderSize; // version 1
  static constexpr size_t kMaxSize = format::kHeaderMaxSize;
  static constexpr size_t kKeyCheckSize = format::kKeyCheckSize;
  static constexpr uint8_t kVersion = format::kHeaderVersion;
  static constexpr std::array<uint8_t, 4> kMagic = format::kStreamMagic;

  uint8_t version = format::kHeaderVersion2;
  Mode mode = Mode::kCtr;
  uint8_t key_length = 16;
  std::array<uint8_t, kBlockSize> iv{};
  // Version 1: lets aesdec tell a wrong key from a right one before it
  // outputs a byte: HMAC-SHA256(key, "aesstream key check" || iv), first 8
  // bytes. A PRF output reveals nothing about the key, and with the random
  // iv in it the value differs from stream to stream.
  std::array<uint8_t, kKeyCheckSize> key_check{};
  // Version 2: key_id(key). Also rejects a wrong key before any output, and
  // lets a reader find the key by it; the same for every stream under one
  // key (docs/keys.md says what that reveals).
  std::array<uint8_t, kKeyIdSize> key_id{};

  // The header's size in bytes: 32 (version 1) or 48 (version 2).
  size_t size () const
  {
    return version == 1 ? format::kHeaderSize : format::kHeaderV2Size;
  }

  static std::array<uint8_t, kKeyCheckSize> compute_key_check (
      const SecureBytes &key, const std::array<uint8_t, kBlockSize> &iv);

  // Version 1 only (the pre-codec elements write it).
  std::array<uint8_t, kSize> serialize () const;
  // Any version: the first size() bytes of the result.
  std::array<uint8_t, kMaxSize> serialize_any () const;

  // From the first kHeaderFixedSize bytes of a stream that starts with the
  // magic: how long its header is, or 0 with `error` set (an unknown
  // version, a header length that does not fit its version).
  static size_t size_from_prefix (
      const uint8_t *data, size_t n, std::string *error);
  // Parses and checks a header of either version; `error` says what is
  // wrong in words a user can act on.
  static bool parse (
      const uint8_t *data, size_t n, StreamHeader *out, std::string *error);
};

} // namespace aesstream

namespace aesstream {

// HKDF (RFC 5869) through OpenSSL's EVP_KDF, with the digest OpenSSL
// names `digest` ("SHA256"; gcm-file's Tink vectors also use "SHA1").
bool hkdf (const char *digest, const uint8_t *ikm, size_t ikm_len,
    const uint8_t *salt, size_t salt_len, const uint8_t *info, size_t info_len,
    uint8_t *out, size_t out_len);

// HKDF-SHA256, the key derivation of GCM records and gcm-file.
inline bool
hkdf_sha256 (const uint8_t *ikm, size_t ikm_len, const uint8_t *salt,
    size_t salt_len, const uint8_t *info, size_t info_len, uint8_t *out,
    size_t out_len)
{
  return hkdf (
      "SHA256", ikm, ikm_len, salt, salt_len, info, info_len, out, out_len);
}

// AES-GCM with one key: seal/open with an explicit 96-bit nonce and
// associated data, 16-byte tags. One EVP context, re-keyed never; each call
// only sets the nonce.
class Gcm {
public:
  static constexpr size_t kNonceSize = format::kGcmNonceSize;
  static constexpr size_t kTagSize = format::kGcmTagSize;

  static std::unique_ptr<Gcm> create (
      const SecureBytes &key, bool encrypt, std::string *error);
  ~Gcm ();

  // Encrypts `n` bytes (out may equal in) and writes the tag.
  bool seal (const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
      const uint8_t *in, size_t n, uint8_t *out, uint8_t *tag);
  // Decrypts and verifies; false if the tag does not match (then `out`
  // holds unauthenticated bytes that must not be used).
  bool open (const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
      const uint8_t *in, size_t n, uint8_t *out, const uint8_t *tag);

  // A ciphertext that lies in several places (the memories of a buffer):
  // each piece decrypts to its own `out` (which may equal `in`).
  struct Piece
  {
    const uint8_t *in;
    uint8_t *out;
    size_t size;
  };
  // As open(), over the pieces in order with EVP's incremental update, so
  // that a scattered ciphertext is never gathered into one copy first.
  bool open (const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
      const Piece *pieces, size_t count, const uint8_t *tag);
  // As seal(), over pieces in order: a plaintext held in several places (the
  // end of one buffer, the start of the next) is encrypted where it lies.
  bool seal (const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
      const Piece *pieces, size_t count, uint8_t *tag);

  // How each record's nonce reaches OpenSSL (aescore.cpp, gcm_set_nonce):
  // true when the one-call way passed its known-answer check in this
  // process, false when the EVP_CipherInit_ex fallback is in use.
  static bool fast_nonce_in_use ();
  // For tests: forces the fallback (true) or restores the checked choice.
  static void force_nonce_fallback (bool on);

private:
  Gcm () = default;
  std::unique_ptr<void, EvpCtxDeleter> ctx_;
  bool encrypt_ = true;
};

// The aesstream GCM record (docs/format.md): a 24-byte header, authenticated
// as associated data, then the ciphertext and a 16-byte tag.
struct GcmRecord
{
  static constexpr size_t kHeaderSize = format::kRecordHeaderSize;
  static constexpr size_t kTagSize = format::kRecordTagSize;
  static constexpr size_t kOverhead = format::kRecordOverhead;
  static constexpr size_t kSaltSize = format::kRecordSaltSize;
  static constexpr uint8_t kMagic0 = format::kRecordMagic0;
  static constexpr uint8_t kMagic1 = format::kRecordMagic1;
  static constexpr uint8_t kVersion = format::kRecordVersion;
  // Last record of the stream.
  static constexpr uint8_t kFlagFinal = format::kRecordFlagFinal;
  static constexpr uint64_t kMaxSeq = format::kRecordMaxSeq;
  static constexpr uint32_t kMaxLength = format::kRecordMaxLength;

  uint8_t flags = 0;
  uint32_t length = 0;
  uint64_t seq = 0;
  std::array<uint8_t, kSaltSize> salt{};

  void serialize (uint8_t *out) const;
  // Checks magic, version, flags and length; `error` says which is wrong.
  static bool parse (const uint8_t *in, GcmRecord *out, std::string *error);
  // The 96-bit nonce of record `seq`: 6 zero bytes, then seq big-endian.
  static std::array<uint8_t, Gcm::kNonceSize> nonce (uint64_t seq);
  // The per-stream subkey: HKDF-SHA256(key, salt, "aesstream gcm v1"),
  // as long as the key.
  static SecureBytes derive_key (
      const SecureBytes &key, const std::array<uint8_t, kSaltSize> &salt);
};

// A sliding replay window over 64 sequence numbers, as SRTP keeps one
// (RFC 3711, 3.3.2). check() before authenticating; accept() only after.
class ReplayWindow {
public:
  static constexpr uint64_t kSize = 64;
  enum class Verdict
  {
    kNew,
    kDuplicate,
    kTooOld
  };

  Verdict check (uint64_t seq) const;
  // Marks `seq` received; returns the change in the number of records
  // counted as lost (a gap adds, a late arrival inside the window subtracts).
  int64_t accept (uint64_t seq);
  bool started () const { return started_; }

private:
  bool started_ = false;
  uint64_t highest_ = 0;
  uint64_t bitmap_ = 0; // bit i: record highest_ - i was received
};

} // namespace aesstream

namespace aesstream {

// Bounds the work a GCM record reader spends on candidates that fail to
// authenticate (issue 11, finding 1). A reader that resynchronises after
// damage tries every plausible record header it finds; crafted input with
// a header every 24 bytes, each claiming a huge length, made that
// quadratic (each candidate waited for, copied and opened in full, then
// the reader moved on by one byte). With a budget, each input byte earns
// kFactor bytes of opening work; a failed candidate spends its size, and a
// candidate the budget cannot pay for is skipped as damaged without being
// copied or opened. Authentic records spend nothing, and a record's own
// bytes earn more than it costs, so a clean stream never runs short; under
// attack the total work stays below kFactor times the input.
class OpenBudget {
public:
  static constexpr uint64_t kFactor = 4;
  // What a reader may spend before any input: one maximal record.
  static constexpr uint64_t kInitial = 64u << 20;

  void earn (size_t input_bytes)
  {
    balance_ += kFactor * static_cast<uint64_t> (input_bytes);
    if (balance_ > kCap)
      balance_ = kCap;
  }
  bool can_open (size_t record_bytes) const { return record_bytes <= balance_; }
  void charge (size_t record_bytes)
  {
    balance_ = record_bytes >= balance_ ? 0 : balance_ - record_bytes;
  }
  uint64_t balance () const { return balance_; }

private:
  // Saving up is limited, so that a long clean stream does not buy an
  // attacker a long run of expensive candidates afterwards.
  static constexpr uint64_t kCap = 2 * kInitial;
  uint64_t balance_ = kInitial;
};

} // namespace aesstream
