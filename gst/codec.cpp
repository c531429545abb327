// The per-mode codecs (codec.hpp). Each class below is one mode in one or
// both directions and holds only the state that mode needs; make_codec() at
// the end is the only switch on the mode.
#include "codec.hpp"
#include "gcmfile.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>

namespace aesstream {

namespace {

using Kind = Problem::Kind;

Problem
problem (Kind kind, std::string message)
{
  return Problem::make (kind, std::move (message));
}

// The counter block `blocks` blocks after `iv`: a 128-bit big-endian
// addition that wraps like CTR's own increment (NIST SP 800-38A, B.1 with
// the whole block as the counter, as OpenSSL and `openssl enc` count).
std::array<uint8_t, kBlockSize>
counter_at (const std::array<uint8_t, kBlockSize> &iv, uint64_t blocks)
{
  std::array<uint8_t, kBlockSize> out = iv;
  unsigned carry = 0;
  for (size_t i = 0; i < kBlockSize; i++) {
    size_t pos = kBlockSize - 1 - i;
    unsigned add = i < 8 ? static_cast<uint8_t> (blocks >> (8 * i)) : 0;
    unsigned sum = out[pos] + add + carry;
    out[pos] = static_cast<uint8_t> (sum);
    carry = sum >> 8;
  }
  return out;
}

// Drops up to `*drop` bytes from the front of an output (after a seek to a
// position inside a block, the block is decrypted whole and its leading
// bytes are not wanted).
void
drop_leading (size_t *drop, size_t *offset, size_t *size)
{
  size_t d = std::min (*drop, *size);
  *offset += d;
  *size -= d;
  *drop -= d;
}

// Collects a fixed-size prefix (stream header, serialized IV, CBC's chain
// block after a seek) from the front of the input, across calls.
class PrefixReader {
public:
  void expect (size_t size)
  {
    size_ = size;
    have_ = 0;
  }
  // Asks for more bytes without dropping those already read (a header
  // whose first bytes say how long it is).
  void extend (size_t size) { size_ = std::min (size, buf_.size ()); }
  void done () { size_ = have_ = 0; }
  bool pending () const { return have_ < size_; }
  size_t size () const { return size_; }
  size_t have () const { return have_; }
  const uint8_t *data () const { return buf_.data (); }
  // Takes what it still needs from in[0, n); returns how many bytes.
  size_t take (const uint8_t *in, size_t n)
  {
    size_t t = std::min (n, size_ - have_);
    if (t > 0) // an empty input may be a null pointer
      std::memcpy (buf_.data () + have_, in, t);
    have_ += t;
    return t;
  }

private:
  std::array<uint8_t, format::kHeaderMaxSize> buf_{};
  size_t size_ = 0, have_ = 0;
};

std::unique_ptr<Cipher>
make_cipher (Mode mode, bool encrypt, const SecureBytes &key, const uint8_t *iv,
    bool per_chunk, Problem *p)
{
  std::string error;
  auto c = Cipher::create (mode, encrypt, key, iv, &error, per_chunk);
  if (!c)
    *p = problem (Kind::kLibrary, error);
  return c;
}

Problem
update (
    Cipher &cipher, const uint8_t *in, size_t n, uint8_t *out, size_t *written)
{
  std::string error;
  if (!cipher.update (in, n, out, written, &error))
    return problem (Kind::kCorrupt, error);
  return Problem::none ();
}

Problem
finish_cipher (Cipher &cipher, uint8_t *out, size_t *written)
{
  std::string error;
  if (!cipher.finish (out, written, &error))
    return problem (Kind::kCorrupt, error);
  return Problem::none ();
}

Problem
restart_failed ()
{
  return problem (Kind::kLibrary, "OpenSSL failed to set the iv");
}

// ---------------------------------------------------------------------------
// CTR: raw (fixed iv, identical to `openssl enc -aes-*-ctr`) or with the
// aesstream header (random IV per stream, written by the encoder, read and
// checked by the decoder). Length-preserving, so positioning is arithmetic:
// plaintext byte x is keystream block iv + floor(x / 16), byte x mod 16.
class CtrCodec : public StreamCodec {
public:
  // With a header, the prefix is the version-2 header that aesenc writes;
  // a decoder corrects it once it has read the stream's header (version 1
  // is shorter).
  CtrCodec (bool encrypt, bool header)
      : StreamCodec (Mode::kCtr, encrypt, header ? format::kHeaderV2Size : 0),
        header_ (header)
  {}

  static std::unique_ptr<StreamCodec> create (const CodecConfig &c, Problem *p)
  {
    bool header = !c.iv;
    std::unique_ptr<CtrCodec> codec (new CtrCodec (c.encrypt, header));
    if (header) {
      // The key stays for the header's key check (decoder) and the next
      // header after a restart (encoder); wiped with the codec.
      codec->key_ = c.key->clone ();
      codec->key_id_ = key_id (codec->key_);
      if (!c.encrypt && c.header) {
        *p = codec->accept_header (*c.header);
        if (!p->ok ())
          return nullptr;
      }
    } else {
      codec->iv_ = *c.iv;
      codec->iv_known_ = true;
    }
    codec->cipher_ = make_cipher (
        Mode::kCtr, c.encrypt, *c.key, codec->iv_.data (), false, p);
    if (!codec->cipher_)
      return nullptr;
    *p = codec->restart ();
    if (!p->ok ())
      return nullptr;
    return codec;
  }

  size_t max_output (size_t n) const override { return n; }
  bool in_place_ok () const override { return true; }
  bool one_output_per_input () const override { return !reader_.pending (); }

  Problem process (
      const uint8_t *in, size_t n, uint8_t *out, Output *r) override
  {
    *r = Output ();
    if (reader_.pending ()) {
      Problem p = take_header (in, n, r);
      if (!p.ok () || reader_.pending ())
        return p;
    }
    // Every buffer after the header: straight to EVP (Cipher::update_ctr).
    const size_t m = n - r->offset;
    if (!cipher_->update_ctr (in + r->offset, m, out + r->offset))
      return problem (Kind::kCorrupt, "OpenSSL failed to process the data");
    r->size = m;
    return Problem::none ();
  }

  Problem finish (uint8_t *, size_t *written) override
  {
    *written = 0;
    if (reader_.pending ())
      return problem (Kind::kTruncated,
          "The stream ended before its "
              + std::to_string (std::max (reader_.size (), format::kHeaderSize))
              + "-byte aesstream header was complete (got "
              + std::to_string (reader_.have ())
              + " bytes): it is truncated, or it was encrypted with a fixed "
                "iv (then set mode=ctr and the same iv on aesdec).");
    return Problem::none ();
  }

  ByteView take_prefix (size_t) override
  {
    if (!prefix_due_)
      return ByteView ();
    prefix_due_ = false;
    return ByteView{header_bytes_.data (), format::kHeaderV2Size};
  }

  Problem restart () override
  {
    if (header_ && encrypting ()) {
      if (!random_bytes (iv_.data (), iv_.size ()))
        return problem (Kind::kLibrary,
            "OpenSSL's random generator failed; refusing to encrypt with a "
            "predictable IV.");
      // Version 2: the key id lets readers find the key (docs/keys.md).
      StreamHeader h;
      h.version = format::kHeaderVersion2;
      h.mode = Mode::kCtr;
      h.key_length = static_cast<uint8_t> (key_.size ());
      h.iv = iv_;
      h.key_id = key_id_;
      header_bytes_ = h.serialize_any ();
      prefix_due_ = true;
      iv_known_ = true;
    } else if (header_) {
      // The next header may differ (a new stream after a flush); until it
      // is read, an IV learnt earlier still serves a seek.
      reader_.expect (format::kHeaderFixedSize);
    }
    return cipher_->restart (iv_.data ()) ? Problem::none ()
                                          : restart_failed ();
  }

  bool can_seek () const override { return true; }

  Problem seek (uint64_t plain, Position *at) override
  {
    if (!iv_known_)
      return problem (Kind::kUnsupported,
          "cannot position a CTR stream before its aesstream header has "
          "been read");
    auto counter = counter_at (iv_, plain / kBlockSize);
    if (!cipher_->restart (counter.data ()))
      return restart_failed ();
    // Use up the keystream bytes before `plain` inside its block.
    uint8_t scratch[kBlockSize] = {};
    size_t w = 0;
    Problem p = update (*cipher_, scratch, plain % kBlockSize, scratch, &w);
    OPENSSL_cleanse (scratch, sizeof (scratch));
    if (!p.ok ())
      return p;
    reader_.done ();
    at->input = encrypting () ? plain : stream_offset (plain);
    at->output = encrypting () ? stream_offset (plain) : plain;
    return Problem::none ();
  }

  std::optional<uint64_t> plain_size (uint64_t stream_size) const override
  {
    return stream_size > prefix_size () ? stream_size - prefix_size () : 0;
  }

private:
  // Reads header bytes from the start of in[0, n) into the reader while
  // one is expected; r->offset counts them. The reader is still pending
  // when the input ended first (or on a problem).
  Problem take_header (const uint8_t *in, size_t n, Output *r)
  {
    while (reader_.pending ()) {
      // The first bytes say how long the header is; read_header() then
      // extends the reader, and what follows in this input may complete it.
      size_t before = reader_.have ();
      r->offset += reader_.take (in + r->offset, n - r->offset);
      Problem p = read_header ();
      if (!p.ok ())
        return p;
      if (reader_.pending () && (r->offset == n || reader_.have () == before))
        return p;
    }
    return Problem::none ();
  }

  Problem read_header ()
  {
    // The magic is checked as soon as it is complete, so that input that is
    // not ours fails on its first bytes instead of waiting for a header.
    bool magic_ok
        = reader_.have () < format::kStreamMagic.size ()
          || std::memcmp (reader_.data (), format::kStreamMagic.data (),
                 format::kStreamMagic.size ())
                 == 0;
    if (magic_ok && reader_.pending ())
      return Problem::none ();
    std::string error;
    if (magic_ok && reader_.size () == format::kHeaderFixedSize) {
      size_t size = StreamHeader::size_from_prefix (
          reader_.data (), reader_.have (), &error);
      if (size == 0)
        return problem (Kind::kFormat, error);
      reader_.extend (size);
      if (reader_.pending ())
        return Problem::none ();
    }
    StreamHeader h;
    if (!StreamHeader::parse (reader_.data (), reader_.have (), &h, &error))
      return problem (Kind::kFormat, error);
    Problem p = accept_header (h);
    if (!p.ok ())
      return p;
    reader_.done ();
    return cipher_->restart (iv_.data ()) ? Problem::none ()
                                          : restart_failed ();
  }

  Problem accept_header (const StreamHeader &h)
  {
    if (h.mode != Mode::kCtr)
      return problem (Kind::kFormat,
          std::string ("The stream was encrypted with mode=")
              + mode_name (h.mode) + " but aesdec has mode=ctr.");
    const std::string sizes = "AES-" + std::to_string (h.key_length * 8)
                              + " stream, AES-"
                              + std::to_string (key_.size () * 8) + " key";
    if (h.version != 1
        && CRYPTO_memcmp (h.key_id.data (), key_id_.data (), kKeyIdSize) != 0) {
      // Key ids are not secret (aesstream-info prints them): naming both
      // tells the user which key to look for.
      return problem (Kind::kWrongKey,
          "Wrong key: the stream needs the key with key id "
              + to_hex (h.key_id.data (), kKeyIdSize)
              + ", the key given to aesdec has key id "
              + to_hex (key_id_.data (), kKeyIdSize) + " (" + sizes + ").");
    }
    if (h.key_length != key_.size ())
      return problem (Kind::kWrongKey,
          "The stream was encrypted with AES-"
              + std::to_string (h.key_length * 8)
              + " but the key given to aesdec is AES-"
              + std::to_string (key_.size () * 8) + ": wrong key.");
    if (h.version == 1) {
      auto check = StreamHeader::compute_key_check (key_, h.iv);
      if (CRYPTO_memcmp (h.key_check.data (), check.data (), check.size ())
          != 0)
        return problem (Kind::kWrongKey,
            "Wrong key: the stream header's key check does not match the key "
            "given to aesdec.");
    }
    set_prefix_size (h.size ());
    iv_ = h.iv;
    iv_known_ = true;
    return Problem::none ();
  }

  bool header_;
  SecureBytes key_;
  std::unique_ptr<Cipher> cipher_;
  std::array<uint8_t, kBlockSize> iv_{};
  bool iv_known_ = false;
  std::array<uint8_t, kKeyIdSize> key_id_{};
  // Encoder: the header of the current stream, and whether it is still due.
  std::array<uint8_t, format::kHeaderMaxSize> header_bytes_{};
  bool prefix_due_ = false;
  // Decoder: the header being read.
  PrefixReader reader_;
};

// ---------------------------------------------------------------------------
// What ECB and CBC share: a Cipher that carries partial blocks (so output
// may lag input by a block, and arrives when a block completes), and, for a
// decoder positioned inside a block, the leading output bytes to drop.
class BlockCodec : public StreamCodec {
public:
  size_t max_output (size_t n) const override
  {
    return cipher_->max_update_output (n);
  }
  bool one_output_per_input () const override { return false; }

protected:
  using StreamCodec::StreamCodec;

  // Runs the cipher over in[r->offset, n) into out + r->offset and drops
  // what precedes the seek target.
  Problem update_dropping (const uint8_t *in, size_t n, uint8_t *out, Output *r)
  {
    Problem p = update (
        *cipher_, in + r->offset, n - r->offset, out + r->offset, &r->size);
    drop_leading (&drop_, &r->offset, &r->size);
    return p;
  }
  Problem finish_dropping (uint8_t *out, size_t *written)
  {
    Problem p = finish_cipher (*cipher_, out, written);
    size_t offset = 0;
    drop_leading (&drop_, &offset, written);
    if (offset > 0)
      std::memmove (out, out + offset, *written);
    return p;
  }
  // A decoder positioned at `plain` decrypts its block whole: returns the
  // block's start and remembers how much of it to drop.
  uint64_t block_start (uint64_t plain)
  {
    drop_ = plain % kBlockSize;
    return plain - drop_;
  }

  std::unique_ptr<Cipher> cipher_;
  size_t drop_ = 0; // decoder: output bytes before the seek target
};

// ---------------------------------------------------------------------------
// ECB with zero padding (the original recipe). Blocks are independent, so a
// decoder is positioned by feeding from the block that holds the target and
// dropping the bytes before it. The decoder keeps the zero padding (the
// format does not say how much there is).
class EcbCodec : public BlockCodec {
public:
  explicit EcbCodec (bool encrypt) : BlockCodec (Mode::kEcb, encrypt, 0) {}

  static std::unique_ptr<StreamCodec> create (const CodecConfig &c, Problem *p)
  {
    std::unique_ptr<EcbCodec> codec (new EcbCodec (c.encrypt));
    codec->cipher_
        = make_cipher (Mode::kEcb, c.encrypt, *c.key, nullptr, false, p);
    if (!codec->cipher_)
      return nullptr;
    return codec;
  }

  bool in_place_ok () const override { return cipher_->can_update_in_place (); }

  Problem process (
      const uint8_t *in, size_t n, uint8_t *out, Output *r) override
  {
    *r = Output ();
    return update_dropping (in, n, out, r);
  }

  Problem finish (uint8_t *out, size_t *written) override
  {
    return finish_dropping (out, written);
  }

  Problem restart () override
  {
    drop_ = 0;
    return cipher_->restart (nullptr) ? Problem::none () : restart_failed ();
  }

  bool can_seek () const override { return !encrypting (); }

  Problem seek (uint64_t plain, Position *at) override
  {
    if (encrypting ())
      return problem (Kind::kUnsupported,
          "mode=ecb encryption cannot continue at another position: it pads "
          "the last block of the stream, so only a stream written from start "
          "to end is correct");
    Problem p = restart ();
    at->input = block_start (plain);
    at->output = plain;
    return p;
  }

  std::optional<uint64_t> plain_size (uint64_t stream_size) const override
  {
    return stream_size;
  }
};

// ---------------------------------------------------------------------------
// CBC, gst-plugins-bad compatible: PKCS#7 at the end (as `openssl enc`) or
// on every buffer, IV configured or serialized in front of the stream. A
// decoder is positioned at a block by taking the ciphertext block before it
// as the IV (CBC decryption of a block needs only that block and the one
// before); with per-buffer padding, offsets do not map to blocks.
class CbcCodec : public BlockCodec {
public:
  CbcCodec (bool encrypt, bool serialize_iv, bool per_chunk)
      : BlockCodec (
          Mode::kCbc, encrypt, serialize_iv ? format::kSerializedIvSize : 0),
        serialize_iv_ (serialize_iv), per_chunk_ (per_chunk)
  {}

  static std::unique_ptr<StreamCodec> create (const CodecConfig &c, Problem *p)
  {
    std::unique_ptr<CbcCodec> codec (
        new CbcCodec (c.encrypt, c.serialize_iv, c.per_buffer_padding));
    if (c.iv)
      codec->iv_ = *c.iv;
    codec->cipher_ = make_cipher (Mode::kCbc, c.encrypt, *c.key,
        codec->iv_.data (), c.per_buffer_padding, p);
    if (!codec->cipher_)
      return nullptr;
    *p = codec->restart ();
    if (!p->ok ())
      return nullptr;
    return codec;
  }

  bool in_place_ok () const override
  {
    return !reader_.pending () && cipher_->can_update_in_place ();
  }

  Problem process (
      const uint8_t *in, size_t n, uint8_t *out, Output *r) override
  {
    *r = Output ();
    if (reader_.pending ()) {
      r->offset = reader_.take (in, n);
      if (reader_.pending ())
        return Problem::none ();
      reader_.done ();
      if (!cipher_->restart (reader_.data ()))
        return restart_failed ();
    }
    return update_dropping (in, n, out, r);
  }

  Problem finish (uint8_t *out, size_t *written) override
  {
    *written = 0;
    if (reader_.pending ()) {
      if (reader_.have () == 0)
        return Problem::none (); // an empty stream
      return problem (Kind::kTruncated,
          "The stream ended inside its 16-byte serialized IV (got "
              + std::to_string (reader_.have ()) + " bytes): it is truncated.");
    }
    return finish_dropping (out, written);
  }

  ByteView take_prefix (size_t output_size) override
  {
    if (!prefix_due_ || output_size == 0)
      return ByteView ();
    prefix_due_ = false;
    return ByteView{iv_.data (), iv_.size ()};
  }

  Problem restart () override
  {
    drop_ = 0;
    prefix_due_ = serialize_iv_ && encrypting ();
    if (serialize_iv_ && !encrypting ())
      reader_.expect (format::kSerializedIvSize);
    else
      reader_.done ();
    return cipher_->restart (iv_.data ()) ? Problem::none ()
                                          : restart_failed ();
  }

  bool can_seek () const override { return !encrypting () && !per_chunk_; }

  Problem seek (uint64_t plain, Position *at) override
  {
    if (encrypting ())
      return problem (Kind::kUnsupported,
          "mode=cbc encryption cannot continue at another position: every "
          "block is chained to all the blocks before it");
    if (per_chunk_)
      return problem (Kind::kUnsupported,
          "mode=cbc with per-buffer-padding=true pads every buffer on its "
          "own, so a plaintext position cannot be found from a byte offset; "
          "random access needs per-buffer-padding=false");
    Problem p = restart ();
    if (!p.ok ())
      return p;
    uint64_t block = block_start (plain);
    if (block > 0) {
      // Feed from the ciphertext block before: it is the IV of the next.
      reader_.expect (kBlockSize);
      at->input = stream_offset (block) - kBlockSize;
    } else {
      at->input = 0; // the stream's own start (with its serialized IV)
    }
    at->output = plain;
    return Problem::none ();
  }

private:
  bool serialize_iv_, per_chunk_;
  std::array<uint8_t, kBlockSize> iv_{};
  bool prefix_due_ = false; // encoder: the serialized IV is still due
  PrefixReader reader_;     // decoder: a serialized IV or chain block
};

} // namespace

Problem
StreamCodec::seek (uint64_t, Position *)
{
  return problem (Kind::kUnsupported,
      std::string ("mode=") + mode_name (mode_) + " cannot be positioned");
}

std::optional<uint64_t>
StreamCodec::plain_size (uint64_t) const
{
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// GCM records

std::unique_ptr<GcmRecordSealer>
GcmRecordSealer::create (const SecureBytes &key, Problem *p)
{
  std::unique_ptr<GcmRecordSealer> s (new GcmRecordSealer ());
  // Every new stream derives its subkey from the key: keep it (wiped with
  // the sealer).
  s->key_ = key.clone ();
  *p = s->restart ();
  if (!p->ok ())
    return nullptr;
  return s;
}

Problem
GcmRecordSealer::restart ()
{
  // A fresh random salt gives a fresh subkey, so record numbers start at 0
  // again: a (subkey, nonce) pair repeats only if two streams draw the same
  // 80-bit salt (docs/format.md).
  if (!random_bytes (salt_.data (), salt_.size ()))
    return problem (Kind::kLibrary,
        "OpenSSL's random generator failed; refusing to encrypt.");
  SecureBytes subkey = GcmRecord::derive_key (key_, salt_);
  std::string error = "could not derive the subkey";
  gcm_ = subkey.empty () ? nullptr : Gcm::create (subkey, true, &error);
  if (!gcm_)
    return problem (Kind::kLibrary, "Could not set up AES-GCM: " + error);
  seq_ = 0;
  return Problem::none ();
}

Problem
GcmRecordSealer::rekey (const SecureBytes &key)
{
  const bool same
      = key.size () == key_.size ()
        && CRYPTO_memcmp (key.data (), key_.data (), key.size ()) == 0;
  key_ = key.clone (); // the old key's bytes are wiped by SecureBytes
  if (!same)
    records_under_key_ = 0;
  return restart ();
}

Problem
GcmRecordSealer::seal (
    const uint8_t *in, size_t n, uint8_t *header, uint8_t *out, uint8_t *tag)
{
  // Data records may use numbers 0 .. 2^48 - 2: the last number is kept
  // for the final record, so a stream can always be ended properly.
  if (seq_ >= kMaxRecordsPerStream)
    return problem (Kind::kLimit,
        "This stream has used all the record numbers of the format (2^48 - "
        "1 records and its final record); set a new key (key or key-file, "
        "allowed while playing) or restart the element to begin a new "
        "stream.");
  if (records_under_key_ >= max_records_)
    return problem (Kind::kLimit,
        std::to_string (records_under_key_)
            + " records were sealed under this key, the hard limit "
              "(max-records-per-key); refusing to seal more. Set a new key "
              "(key or key-file, allowed while playing) before the limit; "
              "aesenc posts an aesenc-rotate-key message when "
              "rotate-after-records is reached.");
  if (n > format::kRecordMaxLength)
    return problem (Kind::kLimit,
        "A buffer of " + std::to_string (n)
            + " bytes is larger than a GCM record may be ("
            + std::to_string (format::kRecordMaxLength) + " bytes).");
  GcmRecord r;
  r.length = static_cast<uint32_t> (n);
  r.seq = seq_;
  r.salt = salt_;
  r.serialize (header);
  auto nonce = GcmRecord::nonce (seq_);
  if (!gcm_->seal (
          nonce.data (), header, format::kRecordHeaderSize, in, n, out, tag))
    return problem (Kind::kLibrary, "OpenSSL failed to encrypt a record");
  seq_++;
  records_under_key_++;
  return Problem::none ();
}

Problem
GcmRecordSealer::seal_final (uint8_t *rec)
{
  GcmRecord r;
  r.flags = format::kRecordFlagFinal;
  r.seq = seq_;
  r.salt = salt_;
  r.serialize (rec);
  auto nonce = GcmRecord::nonce (r.seq);
  uint8_t *tag = rec + format::kRecordHeaderSize;
  if (r.seq > format::kRecordMaxSeq
      || !gcm_->seal (
          nonce.data (), rec, format::kRecordHeaderSize, rec, 0, tag, tag))
    return problem (Kind::kLibrary, "Could not write the final record");
  seq_++;
  records_under_key_++;
  return Problem::none ();
}

std::unique_ptr<GcmRecordOpener>
GcmRecordOpener::create (
    const SecureBytes &key, Problem *p, StreamPolicy policy)
{
  std::unique_ptr<GcmRecordOpener> o (new GcmRecordOpener ());
  // Each sender's stream has its own subkey, derived when it first appears.
  o->add_key (key);
  o->policy_ = policy;
  *p = Problem::none ();
  return o;
}

size_t
GcmRecordOpener::add_key (const SecureBytes &key)
{
  for (const HeldKey &k : keys_)
    if (k.key.size () == key.size ()
        && CRYPTO_memcmp (k.key.data (), key.data (), key.size ()) == 0)
      return 0;
  HeldKey fresh;
  fresh.key = key.clone ();
  fresh.gen = next_gen_++;
  keys_.insert (keys_.begin (), std::move (fresh));
  return retire_beyond_max ();
}

size_t
GcmRecordOpener::set_max_keys (size_t n)
{
  max_keys_ = n < 1 ? 1 : n > kMaxKeys ? kMaxKeys : n;
  return retire_beyond_max ();
}

// Retiring a key also forgets the streams opened under it: their records
// must not be accepted any more (a retired key may be one that leaked).
size_t
GcmRecordOpener::retire_beyond_max ()
{
  size_t retired = 0;
  while (keys_.size () > max_keys_) {
    const uint64_t gen = keys_.back ().gen;
    keys_.pop_back (); // SecureBytes wipes it
    retired++;
    for (size_t i = sessions_.size (); i-- > 0;) {
      if (sessions_[i].key_gen != gen)
        continue;
      if (following_ && sessions_[i].salt == followed_salt_)
        following_ = false;
      sessions_.erase (sessions_.begin () + i);
    }
  }
  return retired;
}

size_t
GcmRecordOpener::candidate_keys (const uint8_t *header) const
{
  const uint8_t *salt = header + format::kRecordSaltOffset;
  for (const Session &s : sessions_)
    if (std::memcmp (s.salt.data (), salt, s.salt.size ()) == 0)
      return 1;
  return keys_.size ();
}

const GcmRecordOpener::Session *
GcmRecordOpener::followed () const
{
  for (const Session &s : sessions_)
    if (following_ && s.salt == followed_salt_)
      return &s;
  return nullptr;
}

// Keeps a stream that has just authenticated, forgetting the least
// recently heard one beyond kMaxSessions (never the one followed). Only
// authentic streams get here, so forged salts cannot push real ones out.
void
GcmRecordOpener::remember (Session fresh)
{
  sessions_.insert (sessions_.begin (), std::move (fresh));
  while (sessions_.size () > kMaxSessions) {
    size_t victim = sessions_.size () - 1;
    if (following_ && sessions_[victim].salt == followed_salt_)
      victim--;
    sessions_.erase (sessions_.begin () + victim);
  }
}

GcmRecordOpener::Verdict
GcmRecordOpener::open (
    const uint8_t *rec, size_t n, uint8_t *plain, int64_t now_us)
{
  if (n < format::kRecordOverhead) {
    Verdict v;
    GcmRecord r;
    if (n < format::kRecordHeaderSize || !GcmRecord::parse (rec, &r, &v.why)) {
      if (v.why.empty ())
        v.why = "a record shorter than its header";
      return v;
    }
    v.seq = r.seq;
    v.why = "record " + std::to_string (r.seq) + " has " + std::to_string (n)
            + " bytes, its header says "
            + std::to_string (r.length + format::kRecordOverhead);
    return v;
  }
  const size_t length = n - format::kRecordOverhead;
  const Gcm::Piece piece{rec + format::kRecordHeaderSize, plain, length};
  return open (rec, &piece, length > 0 ? 1 : 0,
      rec + format::kRecordHeaderSize + length, now_us);
}

namespace {
// A rejected record must leave no unauthenticated plaintext behind.
void
wipe (const Gcm::Piece *payload, size_t count)
{
  for (size_t i = 0; i < count; i++)
    if (payload[i].out != nullptr && payload[i].size > 0)
      OPENSSL_cleanse (payload[i].out, payload[i].size);
}
} // namespace

GcmRecordOpener::Verdict
GcmRecordOpener::open (const uint8_t *header, const Gcm::Piece *payload,
    size_t count, const uint8_t *tag, int64_t now_us)
{
  Verdict v;
  GcmRecord r;
  if (!GcmRecord::parse (header, &r, &v.why))
    return v;
  v.seq = r.seq;
  size_t n = 0;
  for (size_t i = 0; i < count; i++)
    n += payload[i].size;
  if (n != r.length) {
    v.why = "record " + std::to_string (r.seq) + " has "
            + std::to_string (n + format::kRecordOverhead)
            + " bytes, its header says "
            + std::to_string (r.length + format::kRecordOverhead);
    return v;
  }
  // The stream's session, most recent first (at most kMaxSessions to
  // look at), or a new one that is kept only if this record authenticates.
  size_t index = sessions_.size ();
  for (size_t i = 0; i < sessions_.size (); i++)
    if (sessions_[i].salt == r.salt)
      index = i;
  Session fresh;
  Session *session;
  auto nonce = GcmRecord::nonce (r.seq);
  if (index < sessions_.size ()) {
    session = &sessions_[index];
    ReplayWindow::Verdict seen = session->window.check (r.seq);
    if (seen != ReplayWindow::Verdict::kNew) {
      v.kind = Verdict::Kind::kReplayed;
      v.why = seen == ReplayWindow::Verdict::kDuplicate
                  ? "record " + std::to_string (r.seq)
                        + " was already received (duplicate or replay)"
                  : "record " + std::to_string (r.seq)
                        + " is older than the replay window";
      return v;
    }
    if (!session->gcm->open (nonce.data (), header, format::kRecordHeaderSize,
            payload, count, tag)) {
      wipe (payload, count); // never let it out
      v.failed_attempts = 1;
      v.why = "record " + std::to_string (r.seq)
              + " failed authentication: the record was modified or damaged";
      return v;
    }
  } else {
    // A stream not seen before: which key? Newest first (after a rotation
    // the new key is the likely one). With several keys, a failed attempt
    // must not destroy the ciphertext the next key needs (decryption in
    // place writes before the tag is checked): decrypt into a scratch copy,
    // piece by piece, and copy it out once one key authenticates.
    fresh.salt = r.salt;
    const bool several = keys_.size () > 1;
    std::vector<uint8_t> scratch;
    std::vector<Gcm::Piece> scratch_pieces;
    const Gcm::Piece *pieces = payload;
    if (several && n > 0) {
      scratch.resize (n);
      size_t at = 0;
      for (size_t i = 0; i < count; i++) {
        scratch_pieces.push_back (
            Gcm::Piece{payload[i].in, scratch.data () + at, payload[i].size});
        at += payload[i].size;
      }
      pieces = scratch_pieces.data ();
    }
    bool opened = false;
    for (const HeldKey &k : keys_) {
      std::string error;
      SecureBytes subkey = GcmRecord::derive_key (k.key, r.salt);
      fresh.gcm
          = subkey.empty () ? nullptr : Gcm::create (subkey, false, &error);
      if (!fresh.gcm) {
        v.library_failure = true;
        v.why = "Could not derive a GCM subkey";
        return v;
      }
      if (fresh.gcm->open (nonce.data (), header, format::kRecordHeaderSize,
              pieces, count, tag)) {
        fresh.key_gen = k.gen;
        opened = true;
        break;
      }
      v.failed_attempts++;
    }
    if (!scratch.empty ()) {
      if (opened) {
        size_t at = 0;
        for (size_t i = 0; i < count; i++) {
          if (payload[i].out != nullptr && payload[i].size > 0)
            std::memcpy (payload[i].out, scratch.data () + at, payload[i].size);
          at += payload[i].size;
        }
      }
      OPENSSL_cleanse (scratch.data (), scratch.size ());
    }
    if (!opened) {
      if (!several)
        wipe (payload, count); // never let it out
      v.why = "record " + std::to_string (r.seq)
              + " of a stream not seen before failed authentication under "
              + (several ? "each of the " + std::to_string (keys_.size ())
                               + " keys aesdec holds"
                         : std::string ("the key aesdec holds"))
              + ": the sender may have rotated to a key aesdec was not given "
                "(set it with key or key-file, allowed while playing), or "
                "the record was modified";
      return v;
    }
    session = &fresh;
  }

  // Authentic. Is it the stream we output?
  const bool is_followed = following_ && r.salt == followed_salt_;
  if (following_ && !is_followed && policy_ != StreamPolicy::kAll) {
    bool take_over;
    const Session *f = followed ();
    if (policy_ == StreamPolicy::kNewest) {
      take_over = session == &fresh; // a stream never seen before
    } else {
      bool ended = f == nullptr || f->final_seen;
      bool silent = now_us - (f ? f->last_us : 0) >= kSilenceUs;
      // The sender rotated its key: its old stream's final record may have
      // been lost, and waiting for the silence would drop a second of the
      // new stream. Only a key given to aesdec later can do this, so a
      // replayed stream under the old key never takes over.
      bool rotated = f != nullptr && session->key_gen > f->key_gen;
      take_over = ended || silent || rotated; // a restarted sender
    }
    if (take_over && f != nullptr && session->key_gen > f->key_gen)
      v.new_key = true;
    if (!take_over) {
      wipe (payload, count);
      v.kind = Verdict::Kind::kOtherStream;
      v.why = "record " + std::to_string (r.seq)
              + " belongs to a second stream while another one is followed "
                "(two senders on one port?)";
      // Its session is kept (bounded): its records need no new subkey.
      if (session == &fresh)
        remember (std::move (fresh));
      return v;
    }
    followed_salt_ = r.salt;
    v.new_stream = true;
  } else if (!following_) {
    followed_salt_ = r.salt;
    following_ = true;
    v.new_stream = true;
  }
  if (session == &fresh) {
    remember (std::move (fresh));
    session = &sessions_[0];
  } else if (index > 0) {
    std::rotate (sessions_.begin (), sessions_.begin () + index,
        sessions_.begin () + index + 1);
    session = &sessions_[0];
  }
  v.kind = Verdict::Kind::kAccepted;
  v.length = r.length;
  v.lost = session->window.accept (r.seq);
  session->last_us = now_us;
  v.final = (r.flags & format::kRecordFlagFinal) != 0;
  if (v.final)
    session->final_seen = true;
  return v;
}

// ---------------------------------------------------------------------------

namespace {

Problem
settings (std::string message)
{
  return problem (Kind::kSettings, std::move (message));
}

// The combinations a mode cannot work with, in the words of the properties.
Problem
check_config (const CodecConfig &c)
{
  if (c.key == nullptr || !format::is_key_length (c.key->size ()))
    return settings ("No valid key: the key must be 16, 24 or 32 bytes "
                     "(AES-128/192/256).");
  if (c.mode == Mode::kGcm && c.iv)
    return settings ("mode=gcm makes its own nonces (a random salt per "
                     "stream and a record counter); unset iv.");
  if (c.mode == Mode::kGcmFile && c.iv)
    return settings ("mode=gcm-file makes its own nonces (a random salt and "
                     "nonce prefix per stream, then segment numbers); unset "
                     "iv.");
  if (c.mode == Mode::kEcb && c.iv)
    return settings ("mode=ecb does not use an iv; unset iv, or use "
                     "mode=ctr.");
  if (c.mode != Mode::kCbc && c.serialize_iv)
    return settings (
        std::string ("serialize-iv applies to mode=cbc only (gst-plugins-bad "
                     "compatibility); mode=")
        + mode_name (c.mode) + " "
        + (c.mode == Mode::kCtr ? "writes its random IV in the aesstream "
                                  "header when iv is unset"
                                : "has no IV")
        + ".");
  // CBC has no IV unless one is given, except for a decoder that reads it
  // from the stream. (gst-plugins-bad used zeros.)
  if (c.mode == Mode::kCbc && !c.iv && (c.encrypt || !c.serialize_iv))
    return settings (c.encrypt
                         ? "mode=cbc needs an iv: set iv (32 hex digits), and "
                           "serialize-iv=true to send it in front of the "
                           "stream."
                         : "mode=cbc needs an iv: set the iv the stream was "
                           "encrypted with, or serialize-iv=true if the "
                           "stream starts with it.");
  if (c.header && (c.encrypt || c.mode != Mode::kCtr || c.iv))
    return settings ("a stream header only configures a CTR decoder without "
                     "iv");
  return Problem::none ();
}

} // namespace

Problem
make_codec (const CodecConfig &config, Codec *out)
{
  *out = Codec ();
  Problem p = check_config (config);
  if (!p.ok ())
    return p;
  switch (config.mode) {
    case Mode::kCtr:
      out->stream = CtrCodec::create (config, &p);
      break;
    case Mode::kEcb:
      out->stream = EcbCodec::create (config, &p);
      break;
    case Mode::kCbc:
      out->stream = CbcCodec::create (config, &p);
      break;
    case Mode::kGcmFile:
      out->stream = gcmfile::make_codec (config, &p);
      break;
    case Mode::kGcm:
      if (config.encrypt)
        out->sealer = GcmRecordSealer::create (*config.key, &p);
      else
        out->opener = GcmRecordOpener::create (*config.key, &p);
      break;
  }
  if (p.ok () && !out->stream && !out->sealer && !out->opener)
    p = problem (Kind::kSettings, "unknown mode");
  return p;
}

} // namespace aesstream
