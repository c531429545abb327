// Tests of the gcm-file core (gst/gcmfile.{hpp,cpp}) without GStreamer.
// Known answers come from Tink's own published AES-GCM-HKDF streaming
// vectors (tink-java AesGcmHkdfStreamingTestUtil, also used by Tink's
// cross-language tests); round trips check the plaintext; every
// manipulation is checked to fail with the right kind and to output only a
// prefix of the plaintext that ends at a segment boundary.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gcmfile.hpp"
#include "testutil.hpp"

using namespace aesstream;
using namespace aesstream::gcmfile;
using Kind = Problem::Kind;

namespace {

SecureBytes
key_of (const Bytes &b)
{
  return SecureBytes (b.data (), b.size ());
}

Bytes
text (const char *s)
{
  return Bytes (s, s + std::strlen (s));
}

// Splits [0, n) into random chunks (sizes 0..max, zero-length chunks
// included on purpose).
std::vector<size_t>
chunking (size_t n, size_t max, unsigned seed)
{
  std::mt19937 rng (seed);
  max = std::max<size_t> (max, 1);
  std::vector<size_t> sizes;
  size_t done = 0;
  while (done < n) {
    size_t c = std::min<size_t> (n - done, rng () % (max + 1));
    sizes.push_back (c);
    done += c;
  }
  return sizes;
}

// Feeds one chunk from an allocation of its own, as the elements do. Even
// seeds pass an owner and drop the caller's reference right after the call
// (a codec that kept the bytes without keeping the owner reads freed memory,
// which ASan reports); odd seeds pass no owner and scribble over the chunk
// after the call (a codec that kept a pointer instead of a copy outputs
// wrong bytes, which the vectors catch).
template <typename Call>
Problem
feed (const uint8_t *data, size_t c, unsigned seed, Call &&call)
{
  auto chunk = std::make_shared<Bytes> (data, data + c);
  if (seed % 2 == 0) {
    const InputOwner owner = chunk;
    Problem p = call (chunk->data (), &owner);
    chunk.reset ();
    return p;
  }
  Problem p = call (chunk->data (), nullptr);
  std::fill (chunk->begin (), chunk->end (), 0xEE);
  return p;
}

struct Decoded
{
  Bytes plain;
  Problem problem;
  std::vector<Problem> warnings;
};

template <typename Dec>
Decoded
run_decoder (Dec &dec, const Bytes &in, size_t max_chunk, unsigned seed)
{
  Decoded r;
  size_t pos = 0;
  for (size_t c : chunking (in.size (), max_chunk, seed)) {
    if (seed % 4 == 2 && c >= 3) {
      // A buffer of three memories (as aesdec gets them from elements
      // that assemble buffers from pieces): fed piece by piece under one
      // owner, which the decoder may hold by reference together; dropped
      // after the last piece.
      auto chunk = std::make_shared<Bytes> (in.begin () + pos,
          in.begin () + static_cast<std::ptrdiff_t> (pos + c));
      InputOwner owner = chunk;
      const size_t cut[4] = {0, c / 3, 2 * c / 3, c};
      for (int k = 0; k < 3 && r.problem.ok (); k++) {
        const size_t len = cut[k + 1] - cut[k];
        Bytes out (dec.max_update_output (len));
        size_t w = 0;
        r.problem = dec.update (
            chunk->data () + cut[k], len, out.data (), &w, &owner);
        EXPECT_LE (w, out.size ());
        r.plain.insert (r.plain.end (), out.begin (), out.begin () + w);
      }
      owner.reset ();
      chunk.reset ();
      pos += c;
      for (auto &p : dec.take_warnings ())
        r.warnings.push_back (p);
      if (!r.problem.ok ())
        return r;
      continue;
    }
    Bytes out (dec.max_update_output (c));
    size_t w = 0;
    r.problem = feed (in.data () + pos, c, seed,
        [&] (const uint8_t *chunk, const InputOwner *owner) {
          return dec.update (chunk, c, out.data (), &w, owner);
        });
    EXPECT_LE (w, out.size ());
    r.plain.insert (r.plain.end (), out.begin (), out.begin () + w);
    pos += c;
    for (auto &p : dec.take_warnings ())
      r.warnings.push_back (p);
    if (!r.problem.ok ())
      return r;
  }
  Bytes out (dec.max_finish_output ());
  size_t w = 0;
  r.problem = dec.finish (out.data (), &w);
  r.plain.insert (r.plain.end (), out.begin (), out.begin () + w);
  for (auto &p : dec.take_warnings ())
    r.warnings.push_back (p);
  return r;
}

template <typename Enc>
Bytes
run_encoder (Enc &enc, const Bytes &in, size_t max_chunk, unsigned seed)
{
  Bytes ct;
  size_t pos = 0;
  for (size_t c : chunking (in.size (), max_chunk, seed)) {
    const size_t expect = enc.update_output_size (c);
    Bytes out (expect);
    size_t w = 0;
    Problem p = feed (in.data () + pos, c, seed,
        [&] (const uint8_t *chunk, const InputOwner *owner) {
          return enc.update (chunk, c, out.data (), &w, owner);
        });
    EXPECT_TRUE (p.ok ()) << p.message;
    EXPECT_EQ (w, expect);
    ct.insert (ct.end (), out.begin (), out.begin () + w);
    pos += c;
  }
  const size_t expect = enc.finish_output_size ();
  Bytes out (expect);
  size_t w = 0;
  Problem p = enc.finish (out.data (), &w);
  EXPECT_TRUE (p.ok ()) << p.message;
  EXPECT_EQ (w, expect);
  ct.insert (ct.end (), out.begin (), out.begin () + w);
  return ct;
}

// ---- Tink's published vectors ----

struct TinkVector
{
  const char *name;
  const char *digest;
  size_t derived;
  uint32_t segment_size;
  const char *key;
  Bytes plaintext;
  Bytes aad;
  const char *ciphertext;
};

std::vector<TinkVector>
tink_vectors ()
{
  const char *k16 = "6eb56cdc726dfbe5d57f2fcdc6e9345b";
  const char *k32
      = "00112233445566778899aabbccddeeff6eb56cdc726dfbe5d57f2fcdc6e9345b";
  const char *empty32
      = "28fae780c70a82d1256c8303a1261ac6a98cf557b4e173967a62f3c149517ba5b243"
        "1da93b3c6e90f508b34dc14bfda59bab05681c6ad3fa";
  return {
      {"0: three segments", "SHA1", 16, 64, k16,
          text ("This is a fairly long plaintext. It is of the exact length "
                "to create three output blocks. "),
          text ("aad"),
          "1893b3af5e14ab378d065addfc8484da642c0862877baea8"
          "db92d9c77406a406168478821c4298eab3e6d531277f4c1a051714faebcaefcb"
          "ca7b7be05e9445ea"
          "a0bb2904153398a25084dd80ae0edcd1c3079fcea2cd3770630ee36f7539207b"
          "8ec9d754956d486b71cdf989f0ed6fba6779b63558be0a66e668df14e1603cd2"
          "af8944844078345286d0b292e772e7190775c51a0f83e40c0b75821027e7e538"
          "e111"},
      {"1: empty", "SHA1", 16, 64, k16, {}, {},
          "18ec99b2c3884194023bd41bb9bff309205354c750fa0cb3c0d02609abf71f88"
          "eaeaa48d7deca27f"},
      {"2: SHA256", "SHA256", 16, 64, k16, {}, {},
          "18be78bce0cab6fd38a9041eea8ab0ffc4cf17e3c00b661d3927f5f79069f41a"
          "210fedc40b25648c"},
      {"3: SHA512", "SHA512", 16, 64, k16, {}, {},
          "18fec8139ccb406e0f140d7e2bcc41e1b899bc1b121574cc31d1c78ed2ca1cdf"
          "324665b8dce21095"},
      {"4: 32-byte key", "SHA1", 16, 64, k32, {}, {},
          "180880e85a24207a7b72cefde26306ed09d7d76e58104b751d005a3ffd72dd61"
          "51f0d9c8ccf163f7"},
      {"5: derived 32", "SHA1", 32, 64, k32, {}, {}, empty32},
      {"6: segment 128", "SHA1", 32, 128, k32, {}, {}, empty32},
      {"7: one full first segment", "SHA1", 32, 120, k32,
          text ("BLOCK 1.BLOCK 2.BLOCK 3.BLOCK 4.BLOCK 5.BLOCK 6.BLOCK 7."
                "BLOCK 8."),
          Bytes{0, 1, 2, 3},
          "28782994617714a80fa085e15051a16854522330d6d0f26c049b2192f09cdd98"
          "b2eb90c753bfff277a29e54fa4afb15d648c28477eb07f012535c767f5fdce24"
          "ffffae318480c1d37357d6d3c511159318afa09ef38aa3f5456fd7817c5c02dd"
          "6e1a7fef174c8bd24e38b5982ac105497c0101ac5581fe5b"},
  };
}

TinkParams
params_of (const TinkVector &v)
{
  TinkParams p;
  p.layout.derived_key_size = v.derived;
  p.layout.segment_size = v.segment_size;
  p.hkdf_digest = v.digest;
  p.associated_data = v.aad;
  return p;
}

TEST (TinkVectors, decoder_reads_tinks_ciphertexts_in_any_chunking)
{
  for (const auto &v : tink_vectors ()) {
    for (unsigned seed = 0; seed < 20; seed++) {
      Problem p;
      auto dec = TinkDecoder::create (key_of (hex (v.key)), params_of (v), &p);
      ASSERT_TRUE (dec) << p.message;
      Decoded r = run_decoder (*dec, hex (v.ciphertext), seed % 70, seed);
      EXPECT_TRUE (r.problem.ok ()) << v.name << ": " << r.problem.message;
      EXPECT_EQ (r.plain, v.plaintext) << v.name;
    }
  }
}

TEST (TinkVectors, encoder_writes_tinks_bytes_given_its_salt_and_nonce_prefix)
{
  for (const auto &v : tink_vectors ()) {
    const Bytes ct = hex (v.ciphertext);
    const uint8_t *salt = ct.data () + 1;
    const uint8_t *prefix = salt + v.derived;
    for (unsigned seed = 0; seed < 20; seed++) {
      Problem p;
      auto enc = TinkEncoder::create (
          key_of (hex (v.key)), params_of (v), &p, salt, prefix);
      ASSERT_TRUE (enc) << p.message;
      EXPECT_EQ (run_encoder (*enc, v.plaintext, seed % 50, seed), ct)
          << v.name;
    }
  }
}

TEST (TinkVectors, vector_with_wrong_associated_data_fails_in_segment_0)
{
  const auto v = tink_vectors ()[0];
  TinkParams params = params_of (v);
  params.associated_data = text ("aae");
  Problem p;
  auto dec = TinkDecoder::create (key_of (hex (v.key)), params, &p);
  Decoded r = run_decoder (*dec, hex (v.ciphertext), 1000, 1);
  EXPECT_EQ (r.problem.kind, Kind::kCorrupt);
  EXPECT_NE (r.problem.message.find ("segment 0"), std::string::npos);
  EXPECT_TRUE (r.plain.empty ());
}

// ---- layout arithmetic ----

TEST (Layout, segment_offsets_sizes_and_inverse_agree)
{
  for (size_t d : {16, 32}) {
    for (uint32_t s : {min_segment_size (d), 64u, 100u, 4096u, 65536u}) {
      Layout l{d, s};
      EXPECT_EQ (l.segment_offset (0), l.header ());
      EXPECT_EQ (l.segment_offset (1), l.header () + l.segment_ciphertext (0));
      EXPECT_EQ (l.segment_offset (5), l.segment_offset (4) + s);
      for (uint64_t i = 0; i < 6; i++) {
        // plaintext offsets of segment starts locate to (i, 0)
        uint64_t seg = 99, within = 99;
        l.locate (l.plaintext_offset (i), &seg, &within);
        EXPECT_EQ (seg, i);
        EXPECT_EQ (within, 0u);
        l.locate (l.plaintext_offset (i) + l.segment_plaintext (i) - 1, &seg,
            &within);
        EXPECT_EQ (seg, i);
        EXPECT_EQ (within, l.segment_plaintext (i) - 1);
      }
      for (uint64_t n = 0; n < 5 * s; n += 1 + n / 7) {
        uint64_t back = 0;
        ASSERT_TRUE (l.plaintext_size (l.ciphertext_size (n), &back));
        EXPECT_EQ (back, n);
      }
      uint64_t out = 0;
      EXPECT_FALSE (l.plaintext_size (l.header () + 15, &out));
      // a last segment of 1..15 bytes cannot exist
      EXPECT_FALSE (l.plaintext_size (l.segment_offset (2) + 7, &out));
    }
  }
}

// ---- gcm-file round trips ----

const char *kKeys[] = {
    "000102030405060708090a0b0c0d0e0f",
    "000102030405060708090a0b0c0d0e0f1011121314151617",
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
};

std::vector<size_t>
interesting_sizes (const Layout &l)
{
  std::vector<size_t> sizes = {0, 1};
  for (uint64_t i = 1; i <= 3; i++) {
    const size_t b = l.plaintext_offset (i);
    sizes.insert (sizes.end (), {b - 1, b, b + 1});
  }
  return sizes;
}

Bytes
encrypt_file (const SecureBytes &key, uint32_t s, const Bytes &plain,
    size_t max_chunk = 5000, unsigned seed = 7)
{
  Problem p;
  auto enc = FileEncoder::create (key, s, &p);
  EXPECT_TRUE (enc) << p.message;
  return run_encoder (*enc, plain, max_chunk, seed);
}

Decoded
decrypt_file (const SecureBytes &key, const Bytes &ct, size_t max_chunk = 5000,
    unsigned seed = 3, bool skip = false)
{
  Problem p;
  auto dec = FileDecoder::create (key, &p);
  EXPECT_TRUE (dec) << p.message;
  dec->set_skip_damaged (skip);
  return run_decoder (*dec, ct, max_chunk, seed);
}

TEST (GcmFile, round_trip_all_key_sizes_segment_sizes_and_boundaries)
{
  for (const char *k : kKeys) {
    const SecureBytes key = key_of (hex (k));
    const size_t d = derived_key_size (key.size ());
    for (uint32_t s : {min_segment_size (d), 64u, 1000u, 65536u}) {
      Layout l{d, s};
      for (size_t n : interesting_sizes (l)) {
        const Bytes plain = random_bytes (n, static_cast<unsigned> (n + s));
        const size_t max_chunk[] = {13, 3001, 100000};
        for (unsigned seed = 0; seed < 3; seed++) {
          const Bytes ct = encrypt_file (key, s, plain, max_chunk[seed], seed);
          ASSERT_EQ (ct.size (), kPreambleSize + l.ciphertext_size (n))
              << "n=" << n << " s=" << s;
          Decoded r = decrypt_file (key, ct, max_chunk[2 - seed], seed + 11);
          ASSERT_TRUE (r.problem.ok ())
              << "n=" << n << " s=" << s << ": " << r.problem.message;
          ASSERT_EQ (r.plain, plain) << "n=" << n << " s=" << s;
        }
      }
    }
  }
}

TEST (GcmFile, several_megabytes_in_random_chunkings)
{
  const SecureBytes key = key_of (hex (kKeys[2]));
  const Bytes plain = random_bytes (5 * 1024 * 1024 + 123, 5);
  const Bytes ct = encrypt_file (key, 65536, plain, 200000, 1);
  Decoded r = decrypt_file (key, ct, 150000, 2);
  ASSERT_TRUE (r.problem.ok ()) << r.problem.message;
  EXPECT_EQ (r.plain, plain);
}

TEST (GcmFile, preamble_bytes_are_the_documented_layout)
{
  const SecureBytes key = key_of (hex (kKeys[0]));
  const Bytes ct = encrypt_file (key, 4096, text ("hello"));
  const auto id = key_id (key);
  Bytes expect = {'A', 'E', 'S', 's', 2, 5, 16, 32, 0, 0, 0x10, 0, 0, 0, 0, 0};
  expect.insert (expect.end (), id.begin (), id.end ());
  EXPECT_EQ (Bytes (ct.begin (), ct.begin () + 32), expect);
  EXPECT_EQ (ct[32], 24); // Tink header length for D = 16
  EXPECT_TRUE (Preamble::detect (ct.data (), ct.size ()));
  // two encryptions draw different salts and nonce prefixes
  const Bytes ct2 = encrypt_file (key, 4096, text ("hello"));
  EXPECT_NE (Bytes (ct.begin () + 33, ct.begin () + 56),
      Bytes (ct2.begin () + 33, ct2.begin () + 56));
}

TEST (GcmFile, encoder_outputs_a_full_segment_as_soon_as_the_next_byte_arrives)
{
  const SecureBytes key = key_of (hex (kKeys[0]));
  Problem p;
  auto enc = FileEncoder::create (key, 100, &p);
  const Layout l = enc->layout ();
  Bytes in (l.segment_plaintext (0), 1);
  Bytes out (enc->update_output_size (in.size ()));
  size_t w = 0;
  ASSERT_TRUE (enc->update (in.data (), in.size (), out.data (), &w).ok ());
  EXPECT_EQ (w, kPreambleSize + l.header ()); // segment 0 held back
  uint8_t one = 2;
  out.resize (enc->update_output_size (1));
  ASSERT_TRUE (enc->update (&one, 1, out.data (), &w).ok ());
  EXPECT_EQ (w, l.segment_ciphertext (0));
}

TEST (GcmFile, decoder_outputs_each_segment_as_soon_as_it_is_complete)
{
  const SecureBytes key = key_of (hex (kKeys[1]));
  const Bytes plain = random_bytes (1000, 1);
  const Bytes ct = encrypt_file (key, 100, plain);
  Problem p;
  auto dec = FileDecoder::create (key, &p);
  const Layout l{16, 100};
  const size_t upto = kPreambleSize + l.segment_offset (2);
  Bytes out (dec->max_update_output (upto));
  size_t w = 0;
  ASSERT_TRUE (dec->update (ct.data (), upto, out.data (), &w).ok ());
  EXPECT_EQ (w, l.plaintext_offset (2));
  EXPECT_TRUE (std::equal (out.begin (), out.begin () + w, plain.begin ()));
}

TEST (GcmFile, settings_errors)
{
  Problem p;
  EXPECT_FALSE (FileEncoder::create (key_of (Bytes (20, 1)), 4096, &p));
  EXPECT_EQ (p.kind, Kind::kSettings);
  EXPECT_FALSE (FileEncoder::create (key_of (Bytes (32, 1)), 56, &p));
  EXPECT_EQ (p.kind, Kind::kSettings);
  EXPECT_NE (p.message.find ("AES-256"), std::string::npos);
  EXPECT_TRUE (FileEncoder::create (key_of (Bytes (32, 1)), 57, &p));
  EXPECT_TRUE (FileEncoder::create (key_of (Bytes (16, 1)), 41, &p));
  EXPECT_FALSE (FileEncoder::create (key_of (Bytes (16, 1)), 40, &p));
  EXPECT_FALSE (
      FileEncoder::create (key_of (Bytes (16, 1)), kMaxSegmentSize + 1, &p));
}

// ---- manipulations ----

// The plaintext, its file, and what a failing decode may output: a prefix
// of the plaintext that ends at a segment boundary.
struct Fixture
{
  SecureBytes key = key_of (hex (kKeys[2]));
  uint32_t s = 200;
  Layout l{32, 200};
  Bytes plain = random_bytes (2000, 9); // segments: 144, 184 x 10, 16
  Bytes ct = encrypt_file (key, s, plain);

  size_t seg_start (uint64_t i) const
  {
    return kPreambleSize + l.segment_offset (i);
  }
  size_t segments () const { return 12; }
  void expect_prefix_at_boundary (const Decoded &r, const std::string &what)
  {
    ASSERT_LE (r.plain.size (), plain.size ()) << what;
    EXPECT_TRUE (std::equal (r.plain.begin (), r.plain.end (), plain.begin ()))
        << what;
    bool boundary = false;
    for (uint64_t i = 0; i <= segments (); i++)
      boundary |= r.plain.size () == l.plaintext_offset (i);
    EXPECT_TRUE (boundary) << what << ": " << r.plain.size ();
  }
};

TEST (GcmFileTamper, fixture_has_the_expected_segments)
{
  Fixture f;
  EXPECT_EQ (f.ct.size (), f.seg_start (11) + 16 + 16);
  EXPECT_EQ (f.l.plaintext_offset (11), 144u + 10 * 184);
}

TEST (GcmFileTamper, every_bit_flip_anywhere_is_an_error_with_a_prefix_out)
{
  Fixture f;
  std::mt19937 rng (4);
  for (size_t pos = 0; pos < f.ct.size (); pos++) {
    Bytes bad = f.ct;
    bad[pos] ^= static_cast<uint8_t> (1u << (rng () % 8));
    Decoded r = decrypt_file (f.key, bad, 1 + rng () % 500, rng ());
    ASSERT_FALSE (r.problem.ok ()) << "flip at " << pos;
    f.expect_prefix_at_boundary (r, "flip at " + std::to_string (pos));
    if (pos < 32) {
      // the preamble: no output at all; only a segment size that is still
      // valid gets as far as segment 0 (P is authenticated through HKDF)
      EXPECT_TRUE (r.plain.empty ()) << pos;
      if (pos < 8 || pos > 11) {
        EXPECT_NE (r.problem.kind, Kind::kCorrupt) << pos;
      }
    } else if (pos >= f.seg_start (1)) {
      EXPECT_TRUE (r.problem.kind == Kind::kCorrupt
                   || r.problem.kind == Kind::kTruncated)
          << pos << ": " << r.problem.message;
    }
  }
}

TEST (GcmFileTamper, preamble_changes_are_named)
{
  Fixture f;
  auto decode_with = [&] (size_t pos, uint8_t value) {
    Bytes bad = f.ct;
    bad[pos] = value;
    return decrypt_file (f.key, bad);
  };
  Decoded r = decode_with (0, 'X');
  EXPECT_EQ (r.problem.kind, Kind::kFormat);
  r = decode_with (5, 1);
  EXPECT_EQ (r.problem.kind, Kind::kFormat);
  EXPECT_NE (r.problem.message.find ("mode byte 1"), std::string::npos);
  r = decode_with (6, 16);
  EXPECT_EQ (r.problem.kind, Kind::kFormat);
  EXPECT_NE (r.problem.message.find ("modified"), std::string::npos);
  r = decode_with (13, 1);
  EXPECT_EQ (r.problem.kind, Kind::kFormat);
  EXPECT_NE (r.problem.message.find ("reserved"), std::string::npos);
  r = decode_with (20, f.ct[20] ^ 1);
  EXPECT_EQ (r.problem.kind, Kind::kWrongKey);
  // a segment size that is valid but not the one used: P is Tink's
  // associated data, so segment 0 fails
  r = decode_with (11, 100);
  EXPECT_EQ (r.problem.kind, Kind::kCorrupt);
  EXPECT_NE (r.problem.message.find ("preamble"), std::string::npos);
  EXPECT_TRUE (r.plain.empty ());
}

TEST (GcmFileTamper, wrong_key_is_an_error_before_any_output)
{
  Fixture f;
  Problem p;
  auto dec = FileDecoder::create (key_of (hex (kKeys[0])), &p);
  Bytes out (dec->max_update_output (f.ct.size ()));
  size_t w = 0;
  p = dec->update (f.ct.data (), 32, out.data (), &w);
  EXPECT_EQ (p.kind, Kind::kWrongKey);
  EXPECT_NE (p.message.find ("another key"), std::string::npos);
  EXPECT_NE (
      p.message.find (to_hex (key_id (f.key).data (), 16)), std::string::npos);
  // and it stays failed
  p = dec->update (f.ct.data () + 32, 100, out.data (), &w);
  EXPECT_EQ (p.kind, Kind::kWrongKey);
  EXPECT_EQ (w, 0u);
}

Bytes
cut (const Bytes &b, size_t from, size_t to)
{
  Bytes out (b.begin (), b.begin () + from);
  out.insert (out.end (), b.begin () + to, b.end ());
  return out;
}

TEST (GcmFileTamper, dropped_swapped_and_duplicated_segments_fail_there)
{
  Fixture f;
  // drop segment 3
  Decoded r
      = decrypt_file (f.key, cut (f.ct, f.seg_start (3), f.seg_start (4)));
  EXPECT_EQ (r.problem.kind, Kind::kCorrupt);
  EXPECT_NE (r.problem.message.find ("segment 3"), std::string::npos);
  EXPECT_EQ (r.plain.size (), f.l.plaintext_offset (3));
  f.expect_prefix_at_boundary (r, "drop");
  // drop the first segment: segment 1 then sits where segment 0 was (and is
  // too long for it)
  r = decrypt_file (f.key, cut (f.ct, f.seg_start (0), f.seg_start (1)));
  EXPECT_FALSE (r.problem.ok ());
  EXPECT_TRUE (r.plain.empty ());
  // swap segments 4 and 5
  Bytes sw = f.ct;
  std::swap_ranges (sw.begin () + f.seg_start (4),
      sw.begin () + f.seg_start (5), sw.begin () + f.seg_start (5));
  r = decrypt_file (f.key, sw);
  EXPECT_EQ (r.problem.kind, Kind::kCorrupt);
  EXPECT_NE (r.problem.message.find ("segment 4"), std::string::npos);
  EXPECT_EQ (r.plain.size (), f.l.plaintext_offset (4));
  // segment 6 repeated
  Bytes dup = f.ct;
  dup.insert (dup.begin () + f.seg_start (7), f.ct.begin () + f.seg_start (6),
      f.ct.begin () + f.seg_start (7));
  r = decrypt_file (f.key, dup);
  EXPECT_EQ (r.problem.kind, Kind::kCorrupt);
  EXPECT_EQ (r.plain.size (), f.l.plaintext_offset (7));
}

TEST (GcmFileTamper, segments_spliced_from_another_file_under_the_same_key_fail)
{
  Fixture f;
  const Bytes other = encrypt_file (f.key, f.s, f.plain); // same plaintext!
  Bytes mixed = f.ct;
  std::copy (other.begin () + f.seg_start (5), other.begin () + f.seg_start (6),
      mixed.begin () + f.seg_start (5));
  Decoded r = decrypt_file (f.key, mixed);
  EXPECT_EQ (r.problem.kind, Kind::kCorrupt);
  EXPECT_NE (r.problem.message.find ("segment 5"), std::string::npos);
  EXPECT_EQ (r.plain.size (), f.l.plaintext_offset (5));
  // the attack: cut the tail and append the final segment of any
  // other recording under the same key (an empty one will do)
  const Bytes empty = encrypt_file (f.key, f.s, {});
  Bytes forged (f.ct.begin (), f.ct.begin () + f.seg_start (4));
  forged.insert (forged.end (), empty.end () - 16, empty.end ());
  r = decrypt_file (f.key, forged);
  EXPECT_FALSE (r.problem.ok ());
  EXPECT_EQ (r.plain.size (), f.l.plaintext_offset (4));
  // whole other file's segments after ours
  Bytes appended = f.ct;
  appended.insert (appended.end (), other.begin () + f.seg_start (1),
      other.begin () + f.seg_start (3));
  r = decrypt_file (f.key, appended);
  EXPECT_FALSE (r.problem.ok ());
  f.expect_prefix_at_boundary (r, "append");
}

TEST (GcmFileTamper, truncation_anywhere_is_an_error_naming_the_skip_property)
{
  Fixture f;
  for (size_t len = 0; len < f.ct.size (); len++) {
    Bytes t (f.ct.begin (), f.ct.begin () + len);
    Decoded r
        = decrypt_file (f.key, t, 1 + len % 300, static_cast<unsigned> (len));
    ASSERT_EQ (r.problem.kind, Kind::kTruncated)
        << len << ": " << r.problem.message;
    f.expect_prefix_at_boundary (r, "cut at " + std::to_string (len));
    if (len >= f.seg_start (0)) {
      EXPECT_NE (
          r.problem.message.find ("skip-damaged-segments"), std::string::npos);
    }
  }
  // cut at a boundary: the last segment removed
  Decoded r = decrypt_file (
      f.key, Bytes (f.ct.begin (), f.ct.begin () + f.seg_start (11)));
  EXPECT_NE (
      r.problem.message.find ("without a final segment"), std::string::npos);
  EXPECT_EQ (r.plain.size (), f.l.plaintext_offset (11));
}

TEST (GcmFileTamper, data_after_the_final_segment_is_an_error)
{
  Fixture f;
  // after a short final segment, appended bytes make it look longer: it
  // fails as the final segment
  Bytes more = f.ct;
  more.push_back (0);
  Decoded r = decrypt_file (f.key, more);
  EXPECT_EQ (r.problem.kind, Kind::kTruncated);
  EXPECT_NE (r.problem.message.find ("appended"), std::string::npos);
  EXPECT_EQ (r.plain.size (), f.l.plaintext_offset (11));
  // a final segment that is full-size (plaintext ends on a boundary)
  const Bytes plain (f.l.plaintext_offset (3), 7);
  Bytes ct = encrypt_file (f.key, f.s, plain);
  ct.insert (ct.end (), f.ct.begin () + 100, f.ct.begin () + 400);
  r = decrypt_file (f.key, ct);
  EXPECT_EQ (r.problem.kind, Kind::kCorrupt);
  EXPECT_EQ (r.plain, plain);
}

TEST (GcmFileTamper, skip_damaged_segments_goes_on_and_counts)
{
  Fixture f;
  Bytes bad = f.ct;
  bad[f.seg_start (2) + 5] ^= 1;
  bad[f.seg_start (7) + 50] ^= 1;
  Decoded r = decrypt_file (f.key, bad, 333, 1, true);
  ASSERT_TRUE (r.problem.ok ()) << r.problem.message;
  ASSERT_EQ (r.warnings.size (), 2u);
  EXPECT_NE (r.warnings[0].message.find ("segment 2"), std::string::npos);
  Bytes expect = f.plain;
  expect.erase (expect.begin () + f.l.plaintext_offset (7),
      expect.begin () + f.l.plaintext_offset (8));
  expect.erase (expect.begin () + f.l.plaintext_offset (2),
      expect.begin () + f.l.plaintext_offset (3));
  EXPECT_EQ (r.plain, expect);
  // a truncated file: everything readable, one warning
  r = decrypt_file (
      f.key, Bytes (f.ct.begin (), f.ct.end () - 5), 500, 2, true);
  ASSERT_TRUE (r.problem.ok ()) << r.problem.message;
  EXPECT_EQ (r.warnings.size (), 1u);
  EXPECT_EQ (r.plain.size (), f.l.plaintext_offset (11));
}

// ---- random access ----

TEST (GcmFileSeek, any_offset_decrypts_the_rest_of_the_file)
{
  for (const char *k : kKeys) {
    const SecureBytes key = key_of (hex (k));
    const Layout l{derived_key_size (key.size ()), 150};
    const Bytes plain = random_bytes (3000, 2);
    const Bytes ct = encrypt_file (key, 150, plain);
    std::mt19937 rng (8);
    std::vector<uint64_t> offsets = {0, 1, plain.size () - 1, plain.size ()};
    for (uint64_t i = 1; i < 4; i++)
      offsets.insert (
          offsets.end (), {l.plaintext_offset (i) - 1, l.plaintext_offset (i),
                              l.plaintext_offset (i) + 1});
    for (int j = 0; j < 30; j++)
      offsets.push_back (rng () % plain.size ());
    for (uint64_t x : offsets) {
      Problem p;
      auto dec = FileDecoder::create (key, &p);
      // read the preamble and the header, as a reader does at offset 0
      const size_t head = kPreambleSize + l.header ();
      Bytes out (dec->max_update_output (head));
      size_t w = 0;
      ASSERT_TRUE (dec->update (ct.data (), head, out.data (), &w).ok ());
      ASSERT_TRUE (dec->ready ());
      uint64_t from = dec->seek (x);
      ASSERT_LE (from, ct.size ());
      Bytes rest (ct.begin () + from, ct.end ());
      Decoded r = run_decoder (*dec, rest, 97, static_cast<unsigned> (x));
      ASSERT_TRUE (r.problem.ok ()) << "x=" << x << ": " << r.problem.message;
      EXPECT_EQ (r.plain, Bytes (plain.begin () + x, plain.end ())) << x;
    }
  }
}

TEST (GcmFileSeek, seek_before_the_header_skips_ahead_by_itself)
{
  const SecureBytes key = key_of (hex (kKeys[2]));
  const Bytes plain = random_bytes (5000, 3);
  const Bytes ct = encrypt_file (key, 300, plain);
  for (uint64_t x : {0u, 1u, 199u, 200u, 201u, 2222u, 4999u, 5000u}) {
    for (size_t fed : {0u, 10u, 32u, 50u}) {
      Problem p;
      auto dec = FileDecoder::create (key, &p);
      Bytes out (100);
      size_t w = 0;
      ASSERT_TRUE (dec->update (ct.data (), fed, out.data (), &w).ok ());
      // not ready yet: input goes on where it is
      ASSERT_EQ (dec->seek (x), fed);
      Decoded r
          = run_decoder (*dec, Bytes (ct.begin () + fed, ct.end ()), 333, 1);
      ASSERT_TRUE (r.problem.ok ()) << x << ": " << r.problem.message;
      EXPECT_EQ (r.plain, Bytes (plain.begin () + x, plain.end ()))
          << x << " " << fed;
    }
  }
}

TEST (GcmFile, prefix_taken_by_the_caller_gives_the_same_stream)
{
  const SecureBytes key = key_of (hex (kKeys[0]));
  const Bytes plain = random_bytes (1000, 4);
  Problem p;
  auto enc = FileEncoder::create (key, 100, &p);
  Bytes file = enc->take_prefix ();
  EXPECT_EQ (file.size (), enc->prefix_size ());
  EXPECT_TRUE (enc->take_prefix ().empty ());
  const Bytes rest = run_encoder (*enc, plain, 77, 2);
  file.insert (file.end (), rest.begin (), rest.end ());
  Decoded r = decrypt_file (key, file);
  ASSERT_TRUE (r.problem.ok ()) << r.problem.message;
  EXPECT_EQ (r.plain, plain);
}

TEST (GcmFileSeek, seek_to_the_end_of_a_truncated_file_still_fails)
{
  Fixture f;
  // the file cut after segment 5; a reader positioned at that boundary
  const Bytes t (f.ct.begin (), f.ct.begin () + f.seg_start (6));
  Problem p;
  auto dec = FileDecoder::create (f.key, &p);
  Bytes out (4096);
  size_t w = 0;
  ASSERT_TRUE (
      dec->update (t.data (), 32 + f.l.header (), out.data (), &w).ok ());
  uint64_t from = dec->seek (f.l.plaintext_offset (6));
  Bytes rest (t.begin () + from, t.end ());
  Decoded r = run_decoder (*dec, rest, 1000, 1);
  EXPECT_EQ (r.problem.kind, Kind::kTruncated);
  EXPECT_TRUE (r.plain.empty ());
}

TEST (GcmFileSeek, plaintext_size_of_a_file)
{
  Fixture f;
  Problem p;
  auto dec = FileDecoder::create (f.key, &p);
  Bytes out (4096);
  size_t w = 0;
  ASSERT_TRUE (dec->update (f.ct.data (), 100, out.data (), &w).ok ());
  uint64_t n = 0;
  ASSERT_TRUE (dec->plaintext_size (f.ct.size (), &n));
  EXPECT_EQ (n, f.plain.size ());
  EXPECT_FALSE (dec->plaintext_size (f.ct.size () - 20, &n));
}

} // namespace

// ---- the codec of make_codec() ----

namespace {

Bytes
codec_run (StreamCodec &c, const Bytes &in, size_t chunk, Problem *problem)
{
  Bytes out;
  for (size_t pos = 0; pos <= in.size (); pos += chunk) {
    const size_t n = std::min (chunk, in.size () - pos);
    Bytes buf (c.max_output (n));
    StreamCodec::Output r;
    *problem = c.process (in.data () + pos, n, buf.data (), &r);
    if (c.encrypting ()) {
      ByteView pre = c.take_prefix (r.size);
      out.insert (out.end (), pre.data, pre.data + pre.size);
    }
    out.insert (
        out.end (), buf.begin () + r.offset, buf.begin () + r.offset + r.size);
    if (!problem->ok ())
      return out;
    if (n == 0)
      break;
  }
  Bytes buf (c.max_finish_output ());
  size_t w = 0;
  *problem = c.finish (buf.data (), &w);
  if (c.encrypting ()) {
    ByteView pre = c.take_prefix (w);
    out.insert (out.end (), pre.data, pre.data + pre.size);
  }
  out.insert (out.end (), buf.begin (), buf.begin () + w);
  return out;
}

Codec
gcm_file_codec (
    const SecureBytes &key, bool encrypt, uint32_t s = 65536, bool skip = false)
{
  CodecConfig config;
  config.mode = Mode::kGcmFile;
  config.encrypt = encrypt;
  config.key = &key;
  config.segment_size = s;
  config.skip_damaged_segments = skip;
  Codec codec;
  Problem p = make_codec (config, &codec);
  EXPECT_TRUE (p.ok ()) << p.message;
  return codec;
}

} // namespace

TEST (GcmFileCodec, factory_codecs_round_trip_and_read_the_reference_layout)
{
  for (const char *k : kKeys) {
    const SecureBytes key = key_of (hex (k));
    for (size_t n : {0u, 1u, 5000u, 70000u}) {
      const Bytes plain = random_bytes (n, 6);
      Codec enc = gcm_file_codec (key, true, 1000);
      ASSERT_TRUE (enc.stream);
      EXPECT_EQ (enc.stream->mode (), Mode::kGcmFile);
      Problem p;
      const Bytes ct = codec_run (*enc.stream, plain, 4096, &p);
      ASSERT_TRUE (p.ok ()) << p.message;
      const Layout l{derived_key_size (key.size ()), 1000};
      EXPECT_EQ (ct.size (), kPreambleSize + l.ciphertext_size (n));
      EXPECT_EQ (enc.stream->plain_size (ct.size ()), n);
      // the core's FileDecoder and the codec agree
      Decoded r = decrypt_file (key, ct);
      ASSERT_TRUE (r.problem.ok ()) << r.problem.message;
      EXPECT_EQ (r.plain, plain);
      Codec dec = gcm_file_codec (key, false);
      EXPECT_EQ (codec_run (*dec.stream, ct, 999, &p), plain);
      EXPECT_TRUE (p.ok ()) << p.message;
      // a restarted encoder is a new stream: new salt and nonce prefix
      ASSERT_TRUE (enc.stream->restart ().ok ());
      const Bytes ct2 = codec_run (*enc.stream, plain, 4096, &p);
      EXPECT_NE (Bytes (ct.begin () + 32, ct.begin () + 56),
          Bytes (ct2.begin () + 32, ct2.begin () + 56));
    }
  }
}

TEST (GcmFileCodec, decoder_seeks_and_encoder_refuses_rewrites)
{
  const SecureBytes key = key_of (hex (kKeys[1]));
  const Bytes plain = random_bytes (10000, 7);
  Codec enc = gcm_file_codec (key, true, 500);
  Problem p;
  const Bytes ct = codec_run (*enc.stream, plain, 3000, &p);
  Position at;
  p = enc.stream->seek (0, &at);
  EXPECT_EQ (p.kind, Problem::Kind::kUnsupported);
  EXPECT_NE (p.message.find ("streamable=true"), std::string::npos);
  for (uint64_t x : {0u, 1u, 459u, 460u, 461u, 9999u, 10000u, 5555u}) {
    Codec dec = gcm_file_codec (key, false);
    // the head first, as a reader does, then the seek
    Bytes out (dec.stream->max_output (100));
    StreamCodec::Output r;
    ASSERT_TRUE (dec.stream->process (ct.data (), 100, out.data (), &r).ok ());
    ASSERT_TRUE (dec.stream->seek (x, &at).ok ());
    EXPECT_EQ (at.output, x);
    const Bytes rest (ct.begin () + at.input, ct.end ());
    EXPECT_EQ (codec_run (*dec.stream, rest, 777, &p),
        Bytes (plain.begin () + x, plain.end ()))
        << x;
    EXPECT_TRUE (p.ok ()) << p.message;
    // stream offsets point into the segment holding the byte
    EXPECT_LE (dec.stream->stream_offset (x), at.input + 500);
  }
}

TEST (GcmFileCodec, settings_are_checked_by_the_factory)
{
  const SecureBytes key = key_of (hex (kKeys[2]));
  CodecConfig config;
  config.mode = Mode::kGcmFile;
  config.key = &key;
  config.segment_size = 56;
  Codec codec;
  Problem p = make_codec (config, &codec);
  EXPECT_EQ (p.kind, Problem::Kind::kSettings);
  EXPECT_NE (p.message.find ("segment-size 56"), std::string::npos);
  config.segment_size = 57;
  EXPECT_TRUE (make_codec (config, &codec).ok ());
  config.iv = std::array<uint8_t, kBlockSize>{};
  p = make_codec (config, &codec);
  EXPECT_EQ (p.kind, Problem::Kind::kSettings);
  EXPECT_NE (p.message.find ("unset iv"), std::string::npos);
}

TEST (GcmFileCodec, skipped_segments_come_back_as_warnings)
{
  Fixture f;
  Bytes bad = f.ct;
  bad[f.seg_start (4) + 9] ^= 0x80;
  Codec dec = gcm_file_codec (f.key, false, 65536, true);
  Problem p;
  const Bytes out = codec_run (*dec.stream, bad, 5000, &p);
  EXPECT_TRUE (p.ok ()) << p.message;
  auto warnings = dec.stream->take_warnings ();
  ASSERT_EQ (warnings.size (), 1u);
  EXPECT_EQ (warnings[0].kind, Problem::Kind::kCorrupt);
  EXPECT_NE (warnings[0].message.find ("segment 4"), std::string::npos);
  EXPECT_EQ (out.size (), f.plain.size () - 184);
}

TEST (GcmFileCodec, empty_inputs_with_null_data_are_fine)
{
  // An empty GstBuffer maps to a null pointer: no memcpy from it (UBSan).
  const SecureBytes key = key_of (hex (kKeys[0]));
  for (bool encrypt : {true, false}) {
    Codec c = gcm_file_codec (key, encrypt);
    StreamCodec::Output r;
    uint8_t out[1];
    EXPECT_TRUE (c.stream->process (nullptr, 0, out, &r).ok ());
    EXPECT_EQ (r.size, 0u);
  }
}
