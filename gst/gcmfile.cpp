// mode=gcm-file: see gcmfile.hpp and docs/format.md ("gcm-file").
#include "gcmfile.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

namespace aesstream {
namespace gcmfile {

namespace {

SecureBytes
derive_key (
    const SecureBytes &key, const TinkParams &params, const uint8_t *salt)
{
  const size_t d = params.layout.derived_key_size;
  SecureBytes out (d);
  if (!aesstream::hkdf (params.hkdf_digest, key.data (), key.size (), salt, d,
          params.associated_data.data (), params.associated_data.size (),
          out.data (), d))
    out.clear ();
  return out;
}

Problem
check_params (const SecureBytes &key, const TinkParams &params)
{
  const Layout &l = params.layout;
  if (l.derived_key_size != 16 && l.derived_key_size != 32)
    return Problem::make (
        Problem::Kind::kSettings, "derived key size must be 16 or 32 bytes");
  if (key.size () < l.derived_key_size)
    return Problem::make (Problem::Kind::kSettings,
        "key shorter than the derived key (" + std::to_string (key.size ())
            + " < " + std::to_string (l.derived_key_size) + " bytes)");
  if (!l.valid ())
    return Problem::make (Problem::Kind::kSettings,
        "segment size " + std::to_string (l.segment_size)
            + " is outside the allowed range ["
            + std::to_string (min_segment_size (l.derived_key_size)) + ", "
            + std::to_string (kMaxSegmentSize) + "] for "
            + std::to_string (l.derived_key_size) + "-byte derived keys");
  return Problem::none ();
}

// Bytes written in front of the first segment of a call (a header) belong
// to that segment's unit, or are a unit of their own.
void
add_to_first_unit (std::vector<size_t> *units, size_t first, size_t bytes)
{
  if (units == nullptr || bytes == 0)
    return;
  if (units->size () > first)
    (*units)[first] += bytes;
  else
    units->push_back (bytes);
}

std::string
range_text (uint64_t from, uint64_t to)
{
  return "bytes " + std::to_string (from) + ".." + std::to_string (to);
}

} // namespace

// ---- Layout ----

void
Layout::locate (uint64_t x, uint64_t *segment, uint64_t *within) const
{
  const uint64_t first = segment_plaintext (0);
  if (x < first) {
    *segment = 0;
    *within = x;
    return;
  }
  const uint64_t per = segment_plaintext (1);
  *segment = 1 + (x - first) / per;
  *within = (x - first) % per;
}

uint64_t
Layout::ciphertext_size (uint64_t n) const
{
  const uint64_t first = segment_plaintext (0);
  const uint64_t per = segment_plaintext (1);
  const uint64_t segments = n <= first ? 1 : 1 + (n - first + per - 1) / per;
  return header () + n + segments * kTagSize;
}

bool
Layout::plaintext_size (uint64_t n, uint64_t *out) const
{
  if (n < header () + kTagSize)
    return false;
  const uint64_t body = n - header ();
  const uint64_t first = segment_ciphertext (0);
  if (body <= first) {
    *out = body - kTagSize;
    return true;
  }
  const uint64_t rest = body - first;
  const uint64_t full = rest / segment_size;
  const uint64_t rem = rest % segment_size;
  if (rem != 0 && rem < kTagSize)
    return false; // a last segment shorter than its tag
  *out = segment_plaintext (0) + full * segment_plaintext (1)
         + (rem == 0 ? 0 : rem - kTagSize);
  return true;
}

// ---- SegmentCipher ----

std::unique_ptr<SegmentCipher>
SegmentCipher::create (const SecureBytes &derived_key,
    const uint8_t *nonce_prefix, bool encrypt, Problem *problem)
{
  std::unique_ptr<SegmentCipher> c (new SegmentCipher ());
  std::string error;
  c->gcm_ = Gcm::create (derived_key, encrypt, &error);
  if (!c->gcm_) {
    *problem = Problem::make (Problem::Kind::kLibrary, error);
    return nullptr;
  }
  std::memcpy (c->nonce_.data (), nonce_prefix, kNoncePrefixSize);
  return c;
}

bool
SegmentCipher::set_nonce (uint64_t i, bool last)
{
  if (i >= kMaxSegments)
    return false;
  for (int b = 0; b < 4; b++)
    nonce_[kNoncePrefixSize + b] = static_cast<uint8_t> (i >> (24 - 8 * b));
  nonce_[11] = last ? 1 : 0;
  return true;
}

namespace {

// Pieces of text in, the same pieces out, one after the other from `out`:
// what Gcm's piece-wise seal and open take. At most kMaxSegmentPieces
// (held copy, held references, the input's part); the tag is not among
// them.
size_t
to_gcm_pieces (const ByteView *in, size_t count, uint8_t *out,
    std::array<Gcm::Piece, kMaxSegmentPieces> *pieces)
{
  size_t k = 0, at = 0;
  for (size_t i = 0; i < count && k < pieces->size (); i++) {
    if (in[i].size == 0)
      continue;
    (*pieces)[k++] = Gcm::Piece{in[i].data, out + at, in[i].size};
    at += in[i].size;
  }
  return k;
}

} // namespace

bool
SegmentCipher::seal (
    uint64_t i, bool last, const ByteView *pieces, size_t count, uint8_t *out)
{
  std::array<Gcm::Piece, kMaxSegmentPieces> p;
  size_t total = 0;
  for (size_t k = 0; k < count; k++)
    total += pieces[k].size;
  if (count > p.size () || !set_nonce (i, last))
    return false;
  const size_t n = to_gcm_pieces (pieces, count, out, &p);
  return gcm_->seal (nonce_.data (), nullptr, 0, p.data (), n, out + total);
}

bool
SegmentCipher::open (
    uint64_t i, bool last, const ByteView *pieces, size_t count, uint8_t *out)
{
  size_t total = 0;
  for (size_t k = 0; k < count; k++)
    total += pieces[k].size;
  if (total < kTagSize || count > kMaxSegmentPieces || !set_nonce (i, last))
    return false;
  // The tag is the last 16 bytes of the pieces, wherever the cuts fall;
  // the body is what comes before it.
  const size_t body = total - kTagSize;
  uint8_t tag[kTagSize];
  std::array<ByteView, kMaxSegmentPieces> text{};
  size_t at = 0;
  for (size_t k = 0; k < count; k++) {
    const ByteView &v = pieces[k];
    const size_t from = std::max (at, body), to = at + v.size;
    if (from < to)
      std::memcpy (tag + (from - body), v.data + (from - at), to - from);
    text[k] = ByteView{v.data, at >= body ? 0 : std::min (v.size, body - at)};
    at += v.size;
  }
  std::array<Gcm::Piece, kMaxSegmentPieces> p;
  const size_t n = to_gcm_pieces (text.data (), count, out, &p);
  if (gcm_->open (nonce_.data (), nullptr, 0, p.data (), n, tag))
    return true;
  // EVP wrote plaintext before it could check the tag: never leave
  // unauthenticated bytes where a caller might pick them up.
  if (body > 0)
    OPENSSL_cleanse (out, body);
  return false;
}

// ---- HeldBytes ----

void
HeldBytes::append (const uint8_t *p, size_t n, const InputOwner *owner)
{
  if (n == 0)
    return;
  const bool by_ref = owner != nullptr && *owner;
  // Pieces of an older input are copied when a newer one comes (or when
  // no more references fit), so that only one of the caller's inputs is
  // ever pinned; copied bytes stay in order in front of the references.
  if (ref_count_ > 0
      && (!by_ref || *owner != ref_owner_ || ref_count_ == kMaxRefs))
    copy_refs ();
  size_ += n;
  if (by_ref) {
    refs_[ref_count_++] = ByteView{p, n};
    ref_owner_ = *owner;
    return;
  }
  std::memcpy (own_.data () + own_len_, p, n);
  own_len_ += n;
}

void
HeldBytes::copy_refs ()
{
  for (size_t i = 0; i < ref_count_; i++) {
    std::memcpy (own_.data () + own_len_, refs_[i].data, refs_[i].size);
    own_len_ += refs_[i].size;
    refs_[i] = ByteView ();
  }
  ref_count_ = 0;
  ref_owner_.reset ();
}

size_t
HeldBytes::pieces (ByteView *out) const
{
  size_t k = 0;
  if (own_len_ > 0)
    out[k++] = ByteView{own_.data (), own_len_};
  for (size_t i = 0; i < ref_count_; i++)
    out[k++] = refs_[i];
  return k;
}

void
HeldBytes::clear ()
{
  if (own_len_ > 0)
    OPENSSL_cleanse (own_.data (), own_len_);
  own_len_ = 0;
  size_ = 0;
  refs_.fill (ByteView ());
  ref_count_ = 0;
  ref_owner_.reset ();
}

// ---- TinkEncoder ----

std::unique_ptr<TinkEncoder>
TinkEncoder::create (const SecureBytes &key, const TinkParams &params,
    Problem *problem, const uint8_t *salt, const uint8_t *nonce_prefix)
{
  *problem = check_params (key, params);
  if (!problem->ok ())
    return nullptr;
  std::unique_ptr<TinkEncoder> e (new TinkEncoder ());
  e->params_ = params;
  const Layout &l = e->params_.layout;
  const size_t d = l.derived_key_size;
  // Header = len(H) || Salt || NoncePrefix.
  e->header_.resize (l.header ());
  e->header_[0] = static_cast<uint8_t> (l.header ());
  uint8_t *h_salt = e->header_.data () + 1;
  uint8_t *h_prefix = h_salt + d;
  if (salt != nullptr && nonce_prefix != nullptr) {
    std::memcpy (h_salt, salt, d);
    std::memcpy (h_prefix, nonce_prefix, kNoncePrefixSize);
  } else if (!random_bytes (h_salt, d + kNoncePrefixSize)) {
    *problem = Problem::make (
        Problem::Kind::kLibrary, "OpenSSL's random generator failed");
    return nullptr;
  }
  SecureBytes derived = derive_key (key, e->params_, h_salt);
  if (derived.empty ()) {
    *problem = Problem::make (Problem::Kind::kLibrary, "HKDF failed");
    return nullptr;
  }
  e->cipher_ = SegmentCipher::create (derived, h_prefix, true, problem);
  if (!e->cipher_)
    return nullptr;
  e->carry_.set_capacity (
      std::max (l.segment_plaintext (0), l.segment_plaintext (1)));
  return e;
}

size_t
TinkEncoder::update_output_size (size_t n) const
{
  const Layout &l = params_.layout;
  size_t out = header_pending_ && n > 0 ? header_.size () : 0;
  size_t carry = carry_.size ();
  uint64_t seg = segment_;
  while (n > 0) {
    const size_t cap = l.segment_plaintext (seg);
    if (carry == cap) {
      out += cap + kTagSize;
      carry = 0;
      seg++;
      continue;
    }
    const size_t take = std::min (cap - carry, n);
    carry += take;
    n -= take;
  }
  return out;
}

size_t
TinkEncoder::finish_output_size () const
{
  if (finished_)
    return 0;
  return (header_pending_ ? header_.size () : 0) + carry_.size () + kTagSize;
}

Problem
TinkEncoder::seal (const uint8_t *in, size_t n, bool last, uint8_t *out)
{
  if (segment_ >= kMaxSegments)
    return Problem::make (Problem::Kind::kLimit,
        "stream too long: Tink's segment numbers (32 bits) are used up; "
        "restart the stream or use a larger segment-size");
  ByteView pieces[kMaxSegmentPieces];
  size_t count = carry_.pieces (pieces);
  pieces[count++] = ByteView{in, n};
  if (!cipher_->seal (segment_, last, pieces, count, out))
    return Problem::make (Problem::Kind::kLibrary, "AES-GCM sealing failed");
  carry_.clear ();
  segment_++;
  return Problem::none ();
}

Problem
TinkEncoder::update (const uint8_t *in, size_t n, uint8_t *out, size_t *written,
    const InputOwner *owner, std::vector<size_t> *units)
{
  *written = 0;
  if (finished_)
    return Problem::make (
        Problem::Kind::kLibrary, "data after the end of the stream");
  size_t w = 0;
  if (header_pending_ && n > 0) {
    std::memcpy (out, header_.data (), header_.size ());
    w += header_.size ();
    header_pending_ = false;
  }
  const Layout &l = params_.layout;
  const size_t first = units != nullptr ? units->size () : 0;
  const size_t header = w;
  while (n > 0) {
    const size_t cap = l.segment_plaintext (segment_);
    const size_t have = carry_.size ();
    if (have + n <= cap) {
      // Not known yet whether this is the last segment (only the next byte
      // tells): hold it, by reference when the caller lets us.
      carry_.append (in, n, owner);
      break;
    }
    // The segment completes and more follows: it is not the last one. Seal
    // what was held and the input's part where they lie.
    const size_t take = cap - have;
    Problem p = seal (in, take, false, out + w);
    if (!p.ok ())
      return p;
    w += cap + kTagSize;
    if (units != nullptr)
      units->push_back (cap + kTagSize);
    in += take;
    n -= take;
  }
  add_to_first_unit (units, first, header);
  *written = w;
  return Problem::none ();
}

Problem
TinkEncoder::finish (uint8_t *out, size_t *written)
{
  *written = 0;
  if (finished_)
    return Problem::none ();
  size_t w = 0;
  if (header_pending_) {
    std::memcpy (out, header_.data (), header_.size ());
    w += header_.size ();
    header_pending_ = false;
  }
  // The final segment carries the last flag; it is empty only when the
  // whole plaintext is (Tink's rule: a full segment waits for the next byte).
  const size_t n = carry_.size ();
  Problem p = seal (nullptr, 0, true, out + w);
  if (!p.ok ())
    return p;
  w += n + kTagSize;
  finished_ = true;
  *written = w;
  return Problem::none ();
}

// ---- TinkDecoder ----

std::unique_ptr<TinkDecoder>
TinkDecoder::create (
    const SecureBytes &key, const TinkParams &params, Problem *problem)
{
  *problem = check_params (key, params);
  if (!problem->ok ())
    return nullptr;
  std::unique_ptr<TinkDecoder> d (new TinkDecoder ());
  d->params_ = params;
  d->key_ = key.clone ();
  d->header_.resize (params.layout.header ());
  d->carry_.set_capacity (params.layout.segment_size);
  return d;
}

Problem
TinkDecoder::fail (Problem p)
{
  state_ = State::kFailed;
  failure_ = p;
  carry_.clear ();
  return p;
}

Problem
TinkDecoder::damaged (Problem p)
{
  if (!skip_damaged_)
    return fail (p);
  skipped_++;
  p.message += " (skipped; " + std::to_string (skipped_)
               + " segment(s) skipped so far)";
  warnings_.push_back (std::move (p));
  return Problem::none ();
}

std::vector<Problem>
TinkDecoder::take_warnings ()
{
  std::vector<Problem> w;
  w.swap (warnings_);
  return w;
}

Problem
TinkDecoder::read_header ()
{
  const Layout &l = params_.layout;
  if (header_[0] != l.header ())
    return Problem::make (Problem::Kind::kFormat,
        "the Tink header's length byte is " + std::to_string (header_[0])
            + ", expected " + std::to_string (l.header ())
            + ": the header is damaged, or the stream uses another key size");
  const uint8_t *salt = header_.data () + 1;
  SecureBytes derived = derive_key (key_, params_, salt);
  key_.clear (); // the segment key is all that is needed from now on
  if (derived.empty ())
    return Problem::make (Problem::Kind::kLibrary, "HKDF failed");
  Problem p;
  cipher_
      = SegmentCipher::create (derived, salt + l.derived_key_size, false, &p);
  return p;
}

Problem
TinkDecoder::open_segment (const uint8_t *in, size_t n_in, bool short_final,
    uint8_t *out, size_t *written)
{
  const Layout &l = params_.layout;
  ByteView pieces[kMaxSegmentPieces];
  size_t count = carry_.pieces (pieces);
  pieces[count++] = ByteView{in, n_in};
  const size_t n = carry_.size () + n_in;
  const size_t plain = n - kTagSize;
  bool last = short_final;
  bool ok = false;
  if (short_final) {
    ok = cipher_->open (segment_, true, pieces, count, out);
  } else {
    // A full-size segment is the last one only if nothing follows it. Rather
    // than hold it back until the next byte (or the end) shows which, try
    // both nonces: exactly one can authenticate it, and the output does not
    // wait a segment. (Two tries per segment cost one bit of the 128-bit
    // forgery bound.)
    ok = cipher_->open (segment_, false, pieces, count, out);
    if (!ok) {
      last = true;
      ok = cipher_->open (segment_, true, pieces, count, out);
    }
  }
  carry_.clear ();
  const uint64_t at = params_.base_offset + l.segment_offset (segment_);
  if (!ok) {
    std::string what = "segment " + std::to_string (segment_) + " ("
                       + range_text (at, at + n) + ")";
    Problem p;
    if (short_final) {
      p = Problem::make (Problem::Kind::kTruncated,
          "the stream ends inside " + what
              + ", or its final segment was modified or had bytes "
                "appended: the last "
              + std::to_string (n) + " bytes fail authentication. "
              + kSkipPropertyHint);
    } else {
      p = Problem::make (Problem::Kind::kCorrupt,
          what
              + " fails authentication: it was modified, or segments were "
                "dropped, reordered or spliced in from another stream"
              + (segment_ == 0
                      ? std::string (", or the preamble or header was changed")
                      : std::string ()));
    }
    segment_++;
    if (short_final)
      state_ = State::kDone;
    return damaged (std::move (p));
  }
  size_t out_len = plain;
  if (drop_ > 0) {
    // Positioned inside this segment: it was authenticated whole, only its
    // tail is output.
    const size_t drop = static_cast<size_t> (std::min<uint64_t> (drop_, plain));
    std::memmove (out, out + drop, plain - drop);
    OPENSSL_cleanse (out + plain - drop, drop);
    out_len = plain - drop;
    drop_ = 0;
  }
  *written += out_len;
  segment_++;
  if (last)
    state_ = State::kDone;
  return Problem::none ();
}

size_t
TinkDecoder::max_update_output (size_t n) const
{
  return n + carry_.size ();
}

size_t
TinkDecoder::max_finish_output () const
{
  return carry_.size ();
}

Problem
TinkDecoder::update (const uint8_t *in, size_t n, uint8_t *out, size_t *written,
    const InputOwner *owner)
{
  *written = 0;
  if (state_ == State::kFailed)
    return failure_;
  const Layout &l = params_.layout;
  while (n > 0) {
    if (state_ == State::kHeader) {
      const size_t take = std::min (l.header () - header_len_, n);
      std::memcpy (header_.data () + header_len_, in, take);
      header_len_ += take;
      in += take;
      n -= take;
      if (header_len_ == l.header ()) {
        Problem p = read_header ();
        if (!p.ok ())
          return fail (p);
        state_ = State::kSegments;
        if (seek_pending_) {
          // Seeked before the header was known: the input goes on from
          // the header; drop it up to the target's segment.
          seek_pending_ = false;
          skip_input_ = seek (seek_target_) - l.header ();
        }
      }
      continue;
    }
    if (skip_input_ > 0) {
      const size_t take
          = static_cast<size_t> (std::min<uint64_t> (skip_input_, n));
      skip_input_ -= take;
      in += take;
      n -= take;
      continue;
    }
    if (state_ == State::kDone) {
      return fail (Problem::make (Problem::Kind::kCorrupt,
          "data follows the final segment (segment "
              + std::to_string (segment_ - 1)
              + "): bytes were appended, or segments spliced in after the "
                "end"));
    }
    const size_t need = l.segment_ciphertext (segment_);
    const size_t have = carry_.size ();
    if (have + n < need) {
      // Hold the start of the segment until the rest comes, by reference
      // when the caller lets us.
      carry_.append (in, n, owner);
      break;
    }
    // The segment is complete: decrypt what was held and the input's part
    // where they lie, straight into the output.
    const size_t take = need - have;
    Problem p = open_segment (in, take, false, out + *written, written);
    if (!p.ok ())
      return p;
    in += take;
    n -= take;
  }
  return Problem::none ();
}

Problem
TinkDecoder::finish (uint8_t *out, size_t *written)
{
  *written = 0;
  if (state_ == State::kFailed)
    return failure_;
  const Layout &l = params_.layout;
  if (state_ == State::kHeader)
    return fail (Problem::make (Problem::Kind::kTruncated,
        "the stream ends inside the Tink header ("
            + std::to_string (header_len_) + " of "
            + std::to_string (l.header ()) + " bytes)"));
  if (state_ == State::kDone)
    return Problem::none ();
  if (skip_input_ > 0)
    return fail (Problem::make (Problem::Kind::kTruncated,
        "the stream ends before the segment that was seeked to: the file "
        "was truncated"));
  const size_t held = carry_.size ();
  if (held == 0) {
    Problem p = Problem::make (Problem::Kind::kTruncated,
        "the stream ends after segment " + std::to_string (segment_ - 1)
            + " without a final segment: the file was truncated at a "
              "segment boundary, or its last segment removed. "
            + kSkipPropertyHint);
    if (segment_ == 0)
      p.message = "the stream ends right after the Tink header, without "
                  "any segment: the file was truncated. "
                  + std::string (kSkipPropertyHint);
    state_ = State::kDone;
    return damaged (std::move (p));
  }
  if (held < kTagSize) {
    const uint64_t at = params_.base_offset + l.segment_offset (segment_);
    Problem p = Problem::make (Problem::Kind::kTruncated,
        "the stream ends inside segment " + std::to_string (segment_) + " ("
            + std::to_string (held) + " bytes from byte " + std::to_string (at)
            + ", shorter than a tag): the file was truncated. "
            + kSkipPropertyHint);
    carry_.clear ();
    state_ = State::kDone;
    return damaged (std::move (p));
  }
  return open_segment (nullptr, 0, true, out, written);
}

uint64_t
TinkDecoder::seek (uint64_t x)
{
  const Layout &l = params_.layout;
  if (!cipher_) {
    // Input goes on where it is; the header comes first.
    seek_pending_ = true;
    seek_target_ = x;
    return header_len_;
  }
  skip_input_ = 0;
  uint64_t seg = 0, within = 0;
  l.locate (x, &seg, &within);
  if (within == 0 && seg > 0) {
    // Decrypt the previous (full) segment and drop it all: the reader then
    // learns whether it was the last, instead of trusting the offset.
    seg--;
    within = l.segment_plaintext (seg);
  }
  segment_ = seg;
  drop_ = within;
  carry_.clear ();
  failure_ = Problem::none ();
  state_ = State::kSegments;
  return l.segment_offset (seg);
}

// ---- Preamble ----

std::array<uint8_t, kPreambleSize>
Preamble::serialize () const
{
  std::array<uint8_t, kPreambleSize> p{};
  std::memcpy (p.data (), kMagic.data (), kMagic.size ());
  p[4] = kVersion;
  p[5] = kModeByte;
  p[6] = key_length;
  p[7] = static_cast<uint8_t> (kPreambleSize);
  for (int b = 0; b < 4; b++)
    p[8 + b] = static_cast<uint8_t> (segment_size >> (24 - 8 * b));
  // 12..15 reserved, zero
  std::memcpy (p.data () + 16, key_id.data (), key_id.size ());
  return p;
}

bool
Preamble::detect (const uint8_t *data, size_t n)
{
  return n >= 6 && std::memcmp (data, kMagic.data (), kMagic.size ()) == 0
         && data[4] == kVersion && data[5] == kModeByte;
}

Problem
Preamble::parse (const uint8_t *p, size_t n, Preamble *out)
{
  using K = Problem::Kind;
  if (n < kPreambleSize)
    return Problem::make (
        K::kTruncated, "the stream ends inside the gcm-file preamble ("
                           + std::to_string (n) + " of 32 bytes)");
  if (std::memcmp (p, kMagic.data (), kMagic.size ()) != 0)
    return Problem::make (K::kFormat,
        "input does not start with an aesstream preamble (AESs): it is not "
        "a gcm-file stream, or not encrypted at all");
  if (p[4] != kVersion || p[5] != kModeByte)
    return Problem::make (K::kFormat,
        "input is an aesstream stream of version " + std::to_string (p[4])
            + ", mode byte " + std::to_string (p[5])
            + ", not gcm-file (version 2, mode 5): decrypt it with the mode "
              "it was written in");
  const uint8_t key_length = p[6];
  if (key_length != 16 && key_length != 24 && key_length != 32)
    return Problem::make (K::kFormat,
        "the gcm-file preamble's key length is " + std::to_string (key_length)
            + " (must be 16, 24 or 32): the preamble is damaged");
  if (p[7] != kPreambleSize)
    return Problem::make (K::kFormat,
        "the gcm-file preamble's length byte is " + std::to_string (p[7])
            + " (must be 32): the preamble is damaged");
  uint32_t s = 0;
  for (int b = 0; b < 4; b++)
    s = (s << 8) | p[8 + b];
  const uint32_t min = min_segment_size (derived_key_size (key_length));
  if (s < min || s > kMaxSegmentSize)
    return Problem::make (K::kFormat,
        "the gcm-file preamble's segment size " + std::to_string (s)
            + " is outside [" + std::to_string (min) + ", "
            + std::to_string (kMaxSegmentSize) + "]: the preamble is damaged");
  if (p[12] != 0 || p[13] != 0 || p[14] != 0 || p[15] != 0)
    return Problem::make (K::kFormat,
        "the gcm-file preamble's reserved bytes 12..15 are not zero: the "
        "preamble is damaged, or was written by a newer version");
  out->key_length = key_length;
  out->segment_size = s;
  std::memcpy (out->key_id.data (), p + 16, kKeyIdSize);
  return Problem::none ();
}

// ---- FileEncoder ----

std::unique_ptr<FileEncoder>
FileEncoder::create (const SecureBytes &key, uint32_t segment_size,
    Problem *problem, const uint8_t *salt, const uint8_t *nonce_prefix)
{
  if (key.size () != 16 && key.size () != 24 && key.size () != 32) {
    *problem = Problem::make (Problem::Kind::kSettings,
        "key must be 16, 24 or 32 bytes (AES-128/192/256); got "
            + std::to_string (key.size ()));
    return nullptr;
  }
  const size_t d = derived_key_size (key.size ());
  if (segment_size < min_segment_size (d) || segment_size > kMaxSegmentSize) {
    *problem = Problem::make (Problem::Kind::kSettings,
        "segment-size " + std::to_string (segment_size) + " is outside ["
            + std::to_string (min_segment_size (d)) + ", "
            + std::to_string (kMaxSegmentSize) + "] for AES-"
            + std::to_string (key.size () * 8) + " keys");
    return nullptr;
  }
  std::unique_ptr<FileEncoder> f (new FileEncoder ());
  f->preamble_.key_length = static_cast<uint8_t> (key.size ());
  f->preamble_.segment_size = segment_size;
  f->preamble_.key_id = key_id (key);
  TinkParams params;
  params.layout.derived_key_size = d;
  params.layout.segment_size = segment_size;
  params.hkdf_digest = "SHA256";
  const auto p = f->preamble_.serialize ();
  params.associated_data.assign (p.begin (), p.end ());
  f->tink_ = TinkEncoder::create (key, params, problem, salt, nonce_prefix);
  if (!f->tink_)
    return nullptr;
  return f;
}

size_t
FileEncoder::update_output_size (size_t n) const
{
  return (preamble_pending_ && n > 0 ? kPreambleSize : 0)
         + tink_->update_output_size (n);
}

size_t
FileEncoder::finish_output_size () const
{
  return (preamble_pending_ ? kPreambleSize : 0) + tink_->finish_output_size ();
}

std::vector<uint8_t>
FileEncoder::take_prefix ()
{
  if (!preamble_pending_)
    return {};
  const auto p = preamble_.serialize ();
  std::vector<uint8_t> out (p.begin (), p.end ());
  out.insert (out.end (), tink_->header ().begin (), tink_->header ().end ());
  preamble_pending_ = false;
  tink_->header_sent ();
  return out;
}

Problem
FileEncoder::update (const uint8_t *in, size_t n, uint8_t *out, size_t *written,
    const InputOwner *owner, std::vector<size_t> *units)
{
  *written = 0;
  size_t w = 0;
  if (preamble_pending_ && n > 0) {
    const auto p = preamble_.serialize ();
    std::memcpy (out, p.data (), p.size ());
    w = p.size ();
    preamble_pending_ = false;
  }
  size_t t = 0;
  const size_t first = units != nullptr ? units->size () : 0;
  Problem problem = tink_->update (in, n, out + w, &t, owner, units);
  add_to_first_unit (units, first, w);
  *written = w + t;
  return problem;
}

Problem
FileEncoder::finish (uint8_t *out, size_t *written)
{
  *written = 0;
  size_t w = 0;
  if (preamble_pending_) {
    const auto p = preamble_.serialize ();
    std::memcpy (out, p.data (), p.size ());
    w = p.size ();
    preamble_pending_ = false;
  }
  size_t t = 0;
  Problem problem = tink_->finish (out + w, &t);
  *written = w + t;
  return problem;
}

// ---- FileDecoder ----

std::unique_ptr<FileDecoder>
FileDecoder::create (const SecureBytes &key, Problem *problem)
{
  if (key.size () != 16 && key.size () != 24 && key.size () != 32) {
    *problem = Problem::make (Problem::Kind::kSettings,
        "key must be 16, 24 or 32 bytes (AES-128/192/256); got "
            + std::to_string (key.size ()));
    return nullptr;
  }
  std::unique_ptr<FileDecoder> f (new FileDecoder ());
  f->key_ = key.clone ();
  return f;
}

void
FileDecoder::set_skip_damaged (bool skip)
{
  skip_damaged_ = skip;
  if (tink_)
    tink_->set_skip_damaged (skip);
}

Problem
FileDecoder::read_preamble ()
{
  Problem p = Preamble::parse (head_.data (), head_.size (), &preamble_);
  if (!p.ok ())
    return p;
  const auto id = key_id (key_);
  if (id != preamble_.key_id)
    return Problem::make (Problem::Kind::kWrongKey,
        "this stream was encrypted with another key: its key id is "
            + to_hex (preamble_.key_id.data (), kKeyIdSize)
            + ", the given key's id is " + to_hex (id.data (), kKeyIdSize)
            + " (or the preamble's key id was damaged)");
  if (preamble_.key_length != key_.size ())
    return Problem::make (Problem::Kind::kFormat,
        "the gcm-file preamble says AES-"
            + std::to_string (preamble_.key_length * 8)
            + " but carries the key id of the given AES-"
            + std::to_string (key_.size () * 8)
            + " key: the preamble was modified");
  TinkParams params;
  params.layout.derived_key_size = derived_key_size (preamble_.key_length);
  params.layout.segment_size = preamble_.segment_size;
  params.hkdf_digest = "SHA256";
  params.base_offset = kPreambleSize;
  // P is Tink's associated data: every preamble field is authenticated
  // through the key derivation (a changed P yields another DerivedKey).
  params.associated_data.assign (head_.begin (), head_.end ());
  tink_ = TinkDecoder::create (key_, params, &p);
  key_.clear ();
  if (!tink_)
    return p;
  tink_->set_skip_damaged (skip_damaged_);
  if (seek_pending_) {
    seek_pending_ = false;
    tink_->seek (seek_target_); // before its header: it skips ahead itself
  }
  return Problem::none ();
}

size_t
FileDecoder::max_update_output (size_t n) const
{
  return tink_ ? tink_->max_update_output (n) : n;
}

size_t
FileDecoder::max_finish_output () const
{
  return tink_ ? tink_->max_finish_output () : 0;
}

Problem
FileDecoder::update (const uint8_t *in, size_t n, uint8_t *out, size_t *written,
    const InputOwner *owner)
{
  *written = 0;
  if (!failure_.ok ())
    return failure_;
  if (!tink_) {
    const size_t take = std::min (kPreambleSize - head_len_, n);
    if (take > 0) // an empty buffer's data may be a null pointer
      std::memcpy (head_.data () + head_len_, in, take);
    head_len_ += take;
    in += take;
    n -= take;
    if (head_len_ < kPreambleSize)
      return Problem::none ();
    failure_ = read_preamble ();
    if (!failure_.ok ())
      return failure_;
  }
  return tink_->update (in, n, out, written, owner);
}

Problem
FileDecoder::finish (uint8_t *out, size_t *written)
{
  *written = 0;
  if (!failure_.ok ())
    return failure_;
  if (!tink_) {
    failure_ = head_len_ == 0
                   ? Problem::make (Problem::Kind::kTruncated,
                       "the stream is empty: no gcm-file preamble")
                   : Problem::make (Problem::Kind::kTruncated,
                       "the stream ends inside the gcm-file preamble ("
                           + std::to_string (head_len_) + " of 32 bytes)");
    return failure_;
  }
  return tink_->finish (out, written);
}

uint64_t
FileDecoder::seek (uint64_t x)
{
  if (!tink_) {
    // Input goes on where it is: the preamble and header come first.
    seek_pending_ = true;
    seek_target_ = x;
    return head_len_;
  }
  return kPreambleSize + tink_->seek (x);
}

bool
FileDecoder::plaintext_size (uint64_t n, uint64_t *out) const
{
  if (!tink_ || n < kPreambleSize)
    return false;
  return tink_->layout ().plaintext_size (n - kPreambleSize, out);
}

std::vector<Problem>
FileDecoder::take_warnings ()
{
  return tink_ ? tink_->take_warnings () : std::vector<Problem>{};
}

// ---- StreamCodecs ----

namespace {

// Bytes before the first segment: the preamble and Tink's header, whose
// size follows from the key size (the derived key's).
size_t
stream_prefix_size (const SecureBytes &key)
{
  return kPreambleSize + header_size (derived_key_size (key.size ()));
}

class EncoderCodec : public StreamCodec {
public:
  EncoderCodec (const SecureBytes &key, uint32_t s)
      : StreamCodec (Mode::kGcmFile, true, stream_prefix_size (key)),
        key_ (key.clone ()), segment_size_ (s)
  {}

  size_t max_output (size_t n) const override
  {
    return enc_->update_output_size (n);
  }
  bool in_place_ok () const override { return false; }
  bool one_output_per_input () const override { return false; }
  Problem process (
      const uint8_t *in, size_t n, uint8_t *out, Output *r) override
  {
    return process_owned (in, n, InputOwner (), out, r);
  }
  bool holds_input () const override { return true; }
  Problem process_owned (const uint8_t *in, size_t n, const InputOwner &owner,
      uint8_t *out, Output *r) override
  {
    *r = Output ();
    units_.clear ();
    return enc_->update (in, n, out, &r->size, &owner, &units_);
  }
  const std::vector<size_t> &output_units () const override { return units_; }
  size_t max_finish_output () const override
  {
    return enc_->finish_output_size ();
  }
  Problem finish (uint8_t *out, size_t *written) override
  {
    return enc_->finish (out, written);
  }
  ByteView take_prefix (size_t) override
  {
    std::vector<uint8_t> p = enc_->take_prefix ();
    if (p.empty ())
      return ByteView ();
    prefix_ = std::move (p);
    return ByteView{prefix_.data (), prefix_.size ()};
  }
  Problem restart () override
  {
    // A new stream: a new Salt (so a new DerivedKey) and NoncePrefix.
    Problem p;
    enc_ = FileEncoder::create (key_, segment_size_, &p);
    return p;
  }
  Problem seek (uint64_t, Position *) override
  {
    return Problem::make (Problem::Kind::kUnsupported,
        "mode=gcm-file cannot rewrite bytes it has already encrypted: each "
        "segment is sealed once, and sealing changed bytes again under the "
        "same nonce would break AES-GCM. Use a muxer setting that never goes "
        "back (matroskamux/webmmux streamable=true, mp4mux/qtmux "
        "fragment-duration=N streamable=true, mpegtsmux, oggmux), or "
        "mode=ctr.");
  }
  uint64_t stream_offset (uint64_t plain) const override
  {
    return kPreambleSize + file_offset (enc_->layout (), plain);
  }
  std::optional<uint64_t> plain_size (uint64_t stream_size) const override
  {
    uint64_t n = 0;
    if (stream_size < kPreambleSize
        || !enc_->layout ().plaintext_size (stream_size - kPreambleSize, &n))
      return std::nullopt;
    return n;
  }

  static uint64_t file_offset (const Layout &l, uint64_t plain)
  {
    uint64_t seg = 0, within = 0;
    l.locate (plain, &seg, &within);
    return l.segment_offset (seg) + within;
  }

private:
  SecureBytes key_;
  uint32_t segment_size_;
  std::unique_ptr<FileEncoder> enc_;
  std::vector<uint8_t> prefix_;
  std::vector<size_t> units_; // segments written by the last process()
};

class DecoderCodec : public StreamCodec {
public:
  DecoderCodec (const SecureBytes &key, bool skip)
      : StreamCodec (Mode::kGcmFile, false, stream_prefix_size (key)),
        key_ (key.clone ()), skip_ (skip)
  {}

  size_t max_output (size_t n) const override
  {
    return dec_->max_update_output (n);
  }
  bool in_place_ok () const override { return false; }
  bool one_output_per_input () const override { return false; }
  Problem process (
      const uint8_t *in, size_t n, uint8_t *out, Output *r) override
  {
    return process_owned (in, n, InputOwner (), out, r);
  }
  bool holds_input () const override { return true; }
  Problem process_owned (const uint8_t *in, size_t n, const InputOwner &owner,
      uint8_t *out, Output *r) override
  {
    *r = Output ();
    // Keep the stream's prefix (preamble, Tink header: no secret) so that a
    // seek after a restart (a flushing seek) can position at once.
    const size_t take
        = std::min (n, prefix_size () - std::min (prefix_size (), fed_));
    if (take > 0 && prefix_.size () < prefix_size ())
      prefix_.insert (prefix_.end (), in, in + take);
    fed_ += n;
    return dec_->update (in, n, out, &r->size, &owner);
  }
  size_t max_finish_output () const override
  {
    return dec_->max_finish_output ();
  }
  Problem finish (uint8_t *out, size_t *written) override
  {
    return dec_->finish (out, written);
  }
  std::vector<Problem> take_warnings () override
  {
    return dec_->take_warnings ();
  }
  Problem restart () override
  {
    Problem p;
    dec_ = FileDecoder::create (key_, &p);
    if (dec_)
      dec_->set_skip_damaged (skip_);
    fed_ = 0;
    return p;
  }
  // Any plaintext offset: its segment is read and authenticated whole.
  bool can_seek () const override { return true; }
  Problem seek (uint64_t plain, Position *at) override
  {
    if (!dec_->ready () && fed_ == 0 && prefix_.size () == prefix_size ()) {
      // Restarted (a flush) with the prefix read before: read it again
      // from memory, so that input resumes at the segment of `plain`.
      std::vector<uint8_t> none (dec_->max_update_output (prefix_.size ()) + 1);
      size_t w = 0;
      Problem p
          = dec_->update (prefix_.data (), prefix_.size (), none.data (), &w);
      if (!p.ok ())
        return p;
    }
    at->input = dec_->seek (plain);
    at->output = plain;
    return Problem::none ();
  }
  uint64_t stream_offset (uint64_t plain) const override
  {
    const Preamble *p = dec_->preamble ();
    if (p == nullptr)
      return prefix_size () + plain; // not known yet: a lower bound
    Layout l{derived_key_size (p->key_length), p->segment_size};
    return kPreambleSize + EncoderCodec::file_offset (l, plain);
  }
  std::optional<uint64_t> plain_size (uint64_t stream_size) const override
  {
    uint64_t n = 0;
    if (!dec_->plaintext_size (stream_size, &n))
      return std::nullopt;
    return n;
  }

private:
  SecureBytes key_;
  bool skip_;
  std::unique_ptr<FileDecoder> dec_;
  std::vector<uint8_t> prefix_; // the first prefix_size () bytes read
  uint64_t fed_ = 0;            // input bytes since the last restart
};

} // namespace

std::unique_ptr<StreamCodec>
make_codec (const CodecConfig &config, Problem *problem)
{
  std::unique_ptr<StreamCodec> codec;
  if (config.encrypt) {
    // Checked here as well as by FileEncoder, so that a bad segment-size
    // is a settings error at start, before the first buffer.
    const size_t d = derived_key_size (config.key->size ());
    if (config.segment_size < min_segment_size (d)
        || config.segment_size > kMaxSegmentSize) {
      *problem = Problem::make (Problem::Kind::kSettings,
          "segment-size " + std::to_string (config.segment_size)
              + " is outside [" + std::to_string (min_segment_size (d)) + ", "
              + std::to_string (kMaxSegmentSize) + "] for AES-"
              + std::to_string (config.key->size () * 8) + " keys");
      return nullptr;
    }
    codec.reset (new EncoderCodec (*config.key, config.segment_size));
  } else {
    codec.reset (new DecoderCodec (*config.key, config.skip_damaged_segments));
  }
  *problem = codec->restart ();
  if (!problem->ok ())
    return nullptr;
  return codec;
}

} // namespace gcmfile
} // namespace aesstream
