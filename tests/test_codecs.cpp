// Tests of the per-mode codecs (gst/codec.hpp), without GStreamer. Expected
// bytes come from NIST SP 800-38A or from one-shot encryption with OpenSSL's
// EVP API called directly here, never from the code under test.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "codec.hpp"
#include "coretest.hpp"
#include "testutil.hpp"

using namespace aesstream;
using namespace nist;

namespace {

std::array<uint8_t, kBlockSize>
iv_of (const std::string &s)
{
  Bytes b = hex (s);
  std::array<uint8_t, kBlockSize> iv{};
  std::copy (b.begin (), b.end (), iv.begin ());
  return iv;
}

// One-shot encryption or decryption with OpenSSL: the reference. No
// padding: callers pass whole blocks for ECB/CBC, or ask for PKCS#7.
Bytes
one_shot (const char *mode, bool encrypt, const SecureBytes &key,
    const std::array<uint8_t, kBlockSize> *iv, const Bytes &in,
    bool pkcs7 = false)
{
  std::string name = "AES-" + std::to_string (key.size () * 8) + "-" + mode;
  EVP_CIPHER *cipher = EVP_CIPHER_fetch (nullptr, name.c_str (), nullptr);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  EVP_CipherInit_ex (ctx, cipher, nullptr, key.data (),
      iv ? iv->data () : nullptr, encrypt ? 1 : 0);
  EVP_CIPHER_CTX_set_padding (ctx, pkcs7 ? 1 : 0);
  Bytes out (in.size () + 32);
  int n = 0, m = 0;
  EXPECT_EQ (EVP_CipherUpdate (ctx, out.data (), &n, in.data (),
                 static_cast<int> (in.size ())),
      1);
  EXPECT_EQ (EVP_CipherFinal_ex (ctx, out.data () + n, &m), 1);
  out.resize (n + m);
  EVP_CIPHER_CTX_free (ctx);
  EVP_CIPHER_free (cipher);
  return out;
}

Codec
make (const CodecConfig &c)
{
  Codec codec;
  Problem p = make_codec (c, &codec);
  EXPECT_TRUE (p.ok ()) << p.message;
  return codec;
}

CodecConfig
config (Mode mode, bool encrypt, const SecureBytes &key, const char *iv)
{
  CodecConfig c;
  c.mode = mode;
  c.encrypt = encrypt;
  c.key = &key;
  if (iv != nullptr)
    c.iv = iv_of (iv);
  return c;
}

// `plain` sealed as one record (header, ciphertext, tag) into *rec.
bool
seal_record (GcmRecordSealer &sealer, const Bytes &plain, Bytes *rec)
{
  const size_t n = plain.size ();
  rec->resize (n + format::kRecordOverhead);
  uint8_t *r = rec->data ();
  return sealer
      .seal (plain.data (), n, r, r + format::kRecordHeaderSize,
          r + format::kRecordHeaderSize + n)
      .ok ();
}

// Feeds `in` to the codec in random chunks (up to max_chunk, some empty),
// in place when the codec allows it, then finishes; returns the output,
// prefix included.
Bytes
feed (StreamCodec &codec, const Bytes &in, unsigned seed, size_t max_chunk,
    Problem *problem = nullptr)
{
  std::mt19937 rng (seed);
  Bytes out;
  auto emit = [&] (const uint8_t *d, size_t n) {
    ByteView prefix = codec.take_prefix (n);
    out.insert (out.end (), prefix.data, prefix.data + prefix.size);
    out.insert (out.end (), d, d + n);
  };
  for (size_t pos = 0; pos <= in.size ();) {
    size_t n = std::min<size_t> (rng () % (max_chunk + 1), in.size () - pos);
    Bytes chunk (in.begin () + pos, in.begin () + pos + n);
    bool in_place = codec.in_place_ok () && rng () % 2;
    Bytes dst (in_place ? 0 : codec.max_output (n) + 1);
    uint8_t *o = in_place ? chunk.data () : dst.data ();
    StreamCodec::Output r;
    Problem p = codec.process (chunk.data (), n, o, &r);
    if (!p.ok ()) {
      if (problem)
        *problem = p;
      else
        ADD_FAILURE () << p.message;
      return out;
    }
    EXPECT_LE (r.offset + r.size, in_place ? n : codec.max_output (n));
    emit (o + r.offset, r.size);
    pos += n;
    if (pos == in.size ())
      break;
  }
  uint8_t tail[StreamCodec::kMaxFinishOutput];
  size_t w = 0;
  Problem p = codec.finish (tail, &w);
  if (!p.ok ()) {
    if (problem)
      *problem = p;
    else
      ADD_FAILURE () << p.message;
    return out;
  }
  emit (tail, w);
  return out;
}

// Positions `codec` at plaintext offset x and feeds it the rest of `stream`
// (the encoder: plaintext; the decoder: the encrypted stream) from where
// it asks.
Bytes
feed_from (StreamCodec &codec, const Bytes &stream, uint64_t x, unsigned seed,
    Position *at_out = nullptr)
{
  Position at;
  Problem p = codec.seek (x, &at);
  EXPECT_TRUE (p.ok ()) << p.message;
  if (at_out)
    *at_out = at;
  EXPECT_LE (at.input, stream.size ());
  return feed (
      codec, Bytes (stream.begin () + at.input, stream.end ()), seed, 37);
}

Bytes
tail (const Bytes &b, size_t from)
{
  return Bytes (b.begin () + std::min (from, b.size ()), b.end ());
}

} // namespace

TEST (Codecs, nist_sp800_38a_vectors_in_both_directions)
{
  for (const Vector &v : kVectors) {
    SecureBytes key = key_of (v.key);
    for (bool encrypt : {true, false}) {
      Codec c = make (config (v.mode, encrypt, key, v.iv));
      ASSERT_TRUE (c.stream) << v.name;
      Bytes in = hex (encrypt ? kPlain : v.cipher);
      // CBC: the vectors are whole blocks and PKCS#7 (as openssl enc)
      // adds a block after them; decrypting needs that block, so CBC
      // decryption is checked against OpenSSL in the test below.
      if (v.mode == Mode::kCbc && !encrypt)
        continue;
      Bytes want = hex (encrypt ? v.cipher : kPlain);
      Bytes got = feed (*c.stream, in, 1, 23);
      if (v.mode == Mode::kCbc)
        got.resize (want.size ());
      EXPECT_EQ (got, want) << v.name << (encrypt ? " encrypt" : " decrypt");
    }
  }
}

TEST (Codecs, decoders_positioned_at_every_offset_of_the_nist_vectors)
{
  for (const Vector &v : kVectors) {
    if (v.mode == Mode::kCbc)
      continue; // the NIST CBC vectors have no padding block; see below
    SecureBytes key = key_of (v.key);
    Bytes plain = hex (kPlain), cipher = hex (v.cipher);
    for (uint64_t x = 0; x <= plain.size (); x++) {
      Codec c = make (config (v.mode, false, key, v.iv));
      Position at;
      Bytes got = feed_from (*c.stream, cipher, x, unsigned (x), &at);
      EXPECT_EQ (got, tail (plain, x)) << v.name << " at " << x;
      EXPECT_EQ (at.output, x);
      EXPECT_EQ (at.input, v.mode == Mode::kCtr ? x : x - x % 16);
    }
  }
}

TEST (Codecs, cbc_decoder_positioned_at_every_offset_uses_the_block_before)
{
  // The NIST F.2 vectors with the PKCS#7 block openssl enc appends.
  for (const char *key_hex : {kKey128, kKey256}) {
    SecureBytes key = key_of (key_hex);
    auto iv = iv_of (kCbcIv);
    Bytes plain = hex (kPlain);
    Bytes cipher = one_shot ("CBC", true, key, &iv, plain, true);
    ASSERT_EQ (cipher.size (), 80u);
    for (uint64_t x = 0; x <= plain.size (); x++) {
      Codec c = make (config (Mode::kCbc, false, key, kCbcIv));
      Position at;
      Bytes got = feed_from (*c.stream, cipher, x, unsigned (x), &at);
      EXPECT_EQ (got, tail (plain, x)) << "at " << x;
      uint64_t block = x - x % 16;
      EXPECT_EQ (at.input, block == 0 ? 0 : block - 16) << "at " << x;
    }
  }
}

TEST (Codecs, ctr_encoder_positioned_anywhere_matches_the_nist_vectors)
{
  for (const Vector &v : kVectors) {
    if (v.mode != Mode::kCtr)
      continue;
    SecureBytes key = key_of (v.key);
    Bytes plain = hex (kPlain), cipher = hex (v.cipher);
    for (uint64_t x = 0; x <= plain.size (); x++) {
      Codec c = make (config (Mode::kCtr, true, key, v.iv));
      Position at;
      EXPECT_EQ (
          feed_from (*c.stream, plain, x, unsigned (x), &at), tail (cipher, x))
          << v.name << " at " << x;
      EXPECT_EQ (at.input, x);
      EXPECT_EQ (at.output, x);
    }
  }
}

TEST (Codecs, positioned_decoders_match_one_shot_openssl_at_random_offsets)
{
  std::mt19937 rng (7);
  for (const char *key_hex : {kKey128, kKey192, kKey256}) {
    SecureBytes key = key_of (key_hex);
    auto iv = iv_of (kCtrIv);
    Bytes plain = random_bytes (4000 + rng () % 64, rng ());
    Bytes whole = plain;
    whole.resize (plain.size () + 15 - (plain.size () + 15) % 16, 0);
    Bytes ctr = one_shot ("CTR", true, key, &iv, plain);
    Bytes ecb = one_shot ("ECB", true, key, nullptr, whole);
    Bytes cbc = one_shot ("CBC", true, key, &iv, plain, true);
    for (int i = 0; i < 40; i++) {
      uint64_t x = rng () % (plain.size () + 1);
      Codec c1 = make (config (Mode::kCtr, false, key, kCtrIv));
      EXPECT_EQ (feed_from (*c1.stream, ctr, x, rng ()), tail (plain, x))
          << "ctr at " << x;
      Codec c2 = make (config (Mode::kEcb, false, key, nullptr));
      EXPECT_EQ (feed_from (*c2.stream, ecb, x, rng ()), tail (whole, x))
          << "ecb at " << x;
      Codec c3 = make (config (Mode::kCbc, false, key, kCtrIv));
      EXPECT_EQ (feed_from (*c3.stream, cbc, x, rng ()), tail (plain, x))
          << "cbc at " << x;
    }
  }
}

TEST (Codecs, ctr_positioned_around_the_128_bit_counter_wrap)
{
  // The counter block is all 128 bits (as OpenSSL counts): from
  // ff..fd the keystream runs through ff..ff into 00..00.
  const char *iv_hex = "fffffffffffffffffffffffffffffffd";
  SecureBytes key = key_of (kKey128);
  auto iv = iv_of (iv_hex);
  Bytes plain = random_bytes (16 * 8, 3);
  Bytes cipher = one_shot ("CTR", true, key, &iv, plain);
  // The reference itself wraps: block 3 is E(00..00).
  Bytes zero (16, 0);
  Bytes e0 = one_shot ("ECB", true, key, nullptr, zero);
  for (size_t i = 0; i < 16; i++)
    EXPECT_EQ (cipher[48 + i] ^ plain[48 + i], e0[i]);
  for (uint64_t x = 0; x <= plain.size (); x++) {
    for (bool encrypt : {true, false}) {
      Codec c = make (config (Mode::kCtr, encrypt, key, iv_hex));
      EXPECT_EQ (feed_from (*c.stream, encrypt ? plain : cipher, x, 9),
          tail (encrypt ? cipher : plain, x))
          << (encrypt ? "encrypt" : "decrypt") << " at " << x;
    }
  }
  // And a carry that ripples out of the low 64 bits.
  const char *iv2 = "0000000000000000fffffffffffffffe";
  auto iv2b = iv_of (iv2);
  Bytes c2 = one_shot ("CTR", true, key, &iv2b, plain);
  for (uint64_t x : {0, 17, 32, 33, 47, 100}) {
    Codec c = make (config (Mode::kCtr, false, key, iv2));
    EXPECT_EQ (feed_from (*c.stream, c2, x, 5), tail (plain, x)) << x;
  }
}

TEST (Codecs, header_stream_decoder_positions_after_the_header)
{
  SecureBytes key = key_of (kKey256);
  Codec enc = make (config (Mode::kCtr, true, key, nullptr));
  Bytes plain = random_bytes (1000, 11);
  Bytes stream = feed (*enc.stream, plain, 2, 50);
  ASSERT_EQ (stream.size (), format::kHeaderV2Size + plain.size ());
  EXPECT_EQ (enc.stream->prefix_size (), format::kHeaderV2Size);
  EXPECT_EQ (enc.stream->stream_offset (10), format::kHeaderV2Size + 10);
  EXPECT_EQ (enc.stream->plain_size (stream.size ()), plain.size ());

  // The body is raw CTR under the header's IV.
  StreamHeader h;
  std::string error;
  ASSERT_TRUE (
      StreamHeader::parse (stream.data (), stream.size (), &h, &error));
  Bytes body = tail (stream, format::kHeaderV2Size);
  EXPECT_EQ (one_shot ("CTR", true, key, &h.iv, plain), body);

  // Linear: the decoder reads the header itself.
  Codec dec = make (config (Mode::kCtr, false, key, nullptr));
  EXPECT_EQ (feed (*dec.stream, stream, 3, 40), plain);

  // A decoder cannot be positioned before it knows the IV (though it says
  // it can seek, so that an element offers random access up front)...
  Codec blind = make (config (Mode::kCtr, false, key, nullptr));
  Position at;
  EXPECT_TRUE (blind.stream->can_seek ());
  EXPECT_EQ (blind.stream->seek (5, &at).kind, Problem::Kind::kUnsupported);

  // ...but it can once the header was peeked (pull mode, format detection).
  for (uint64_t x : {0, 1, 15, 16, 17, 500, 999, 1000}) {
    CodecConfig c = config (Mode::kCtr, false, key, nullptr);
    c.header = h;
    Codec d = make (c);
    EXPECT_EQ (
        feed_from (*d.stream, stream, x, unsigned (x), &at), tail (plain, x));
    EXPECT_EQ (at.input, format::kHeaderV2Size + x);
    // Or after it read the header linearly and was flushed.
    Codec d2 = make (config (Mode::kCtr, false, key, nullptr));
    feed (*d2.stream, Bytes (stream.begin (), stream.begin () + 56), 1, 9);
    ASSERT_TRUE (d2.stream->restart ().ok ());
    EXPECT_EQ (feed_from (*d2.stream, stream, x, 4), tail (plain, x));
  }

  // An encoder positioned (a muxer rewrite) writes where the bytes belong.
  Codec enc2 = make (config (Mode::kCtr, true, key, nullptr));
  Bytes first = feed (*enc2.stream, plain, 1, 100);
  StreamHeader h2;
  ASSERT_TRUE (StreamHeader::parse (first.data (), first.size (), &h2, &error));
  ASSERT_TRUE (enc2.stream->seek (100, &at).ok ());
  EXPECT_EQ (at.input, 100u);
  EXPECT_EQ (at.output, format::kHeaderV2Size + 100);
  Bytes patch = feed (
      *enc2.stream, Bytes (plain.begin () + 100, plain.begin () + 200), 1, 30);
  EXPECT_EQ (patch, Bytes (first.begin () + 148, first.begin () + 248));
}

TEST (Codecs, header_problems_are_reported_as_values)
{
  SecureBytes key = key_of (kKey128), other = key_of (kKey256);
  Codec enc = make (config (Mode::kCtr, true, key, nullptr));
  Bytes stream = feed (*enc.stream, random_bytes (100, 1), 1, 100);

  Problem p;
  Codec wrong = make (config (Mode::kCtr, false, other, nullptr));
  feed (*wrong.stream, stream, 1, 100, &p);
  EXPECT_EQ (p.kind, Problem::Kind::kWrongKey);
  EXPECT_NE (p.message.find ("AES-128"), std::string::npos) << p.message;

  Codec wrong2 = make (
      config (Mode::kCtr, false, key_of (kKey128 + std::string ()), nullptr));
  Bytes flipped = stream;
  flipped[30] ^= 1; // the key check
  p = Problem ();
  feed (*wrong2.stream, flipped, 1, 100, &p);
  EXPECT_EQ (p.kind, Problem::Kind::kWrongKey);

  Codec garbage = make (config (Mode::kCtr, false, key, nullptr));
  p = Problem ();
  Bytes out = feed (*garbage.stream, Bytes (100, 'x'), 1, 3, &p);
  EXPECT_EQ (p.kind, Problem::Kind::kFormat);
  EXPECT_TRUE (out.empty ());

  Codec shorter = make (config (Mode::kCtr, false, key, nullptr));
  p = Problem ();
  feed (
      *shorter.stream, Bytes (stream.begin (), stream.begin () + 20), 1, 7, &p);
  EXPECT_EQ (p.kind, Problem::Kind::kTruncated);
}

TEST (Codecs, prefixes_are_due_once_in_front_of_the_output)
{
  SecureBytes key = key_of (kKey128);
  // A header is due even in front of an empty output (an empty stream is
  // still a stream)...
  Codec ctr = make (config (Mode::kCtr, true, key, nullptr));
  EXPECT_EQ (ctr.stream->take_prefix (0).size, format::kHeaderV2Size);
  EXPECT_TRUE (ctr.stream->take_prefix (10).empty ());
  ASSERT_TRUE (ctr.stream->restart ().ok ());
  EXPECT_EQ (ctr.stream->take_prefix (0).size, format::kHeaderV2Size);
  // ...a serialized IV waits for ciphertext.
  CodecConfig c = config (Mode::kCbc, true, key, kCbcIv);
  c.serialize_iv = true;
  Codec cbc = make (c);
  EXPECT_TRUE (cbc.stream->take_prefix (0).empty ());
  ByteView iv = cbc.stream->take_prefix (16);
  EXPECT_EQ (Bytes (iv.data, iv.data + iv.size), hex (kCbcIv));
  EXPECT_TRUE (cbc.stream->take_prefix (16).empty ());
  // Raw modes and decoders have none.
  Codec raw = make (config (Mode::kCtr, true, key, kCtrIv));
  EXPECT_TRUE (raw.stream->take_prefix (0).empty ());
  EXPECT_EQ (raw.stream->prefix_size (), 0u);
}

TEST (Codecs, cbc_with_serialized_iv_round_trips_and_positions)
{
  SecureBytes key = key_of (kKey128);
  auto iv = iv_of (kCbcIv);
  Bytes plain = random_bytes (333, 8);
  CodecConfig ec = config (Mode::kCbc, true, key, kCbcIv);
  ec.serialize_iv = true;
  ec.per_buffer_padding = false;
  Codec enc = make (ec);
  Bytes stream = feed (*enc.stream, plain, 4, 50);
  Bytes want = hex (kCbcIv);
  Bytes body = one_shot ("CBC", true, key, &iv, plain, true);
  want.insert (want.end (), body.begin (), body.end ());
  EXPECT_EQ (stream, want);

  CodecConfig dc = config (Mode::kCbc, false, key, nullptr);
  dc.serialize_iv = true;
  for (uint64_t x : {0, 1, 15, 16, 17, 31, 32, 100, 320, 332, 333}) {
    Codec dec = make (dc);
    Position at;
    EXPECT_EQ (
        feed_from (*dec.stream, stream, x, unsigned (x), &at), tail (plain, x))
        << x;
    uint64_t block = x - x % 16;
    EXPECT_EQ (at.input, block == 0 ? 0 : 16 + block - 16) << x;
  }
}

TEST (Codecs, modes_that_cannot_be_positioned_say_why)
{
  SecureBytes key = key_of (kKey128);
  Position at;
  CodecConfig per_chunk = config (Mode::kCbc, false, key, kCbcIv);
  per_chunk.per_buffer_padding = true;
  EXPECT_FALSE (make (per_chunk).stream->can_seek ());
  Problem p = make (per_chunk).stream->seek (16, &at);
  EXPECT_EQ (p.kind, Problem::Kind::kUnsupported);
  EXPECT_NE (p.message.find ("per-buffer-padding"), std::string::npos);
  EXPECT_EQ (
      make (config (Mode::kCbc, true, key, kCbcIv)).stream->seek (16, &at).kind,
      Problem::Kind::kUnsupported);
  EXPECT_EQ (make (config (Mode::kEcb, true, key, nullptr))
                 .stream->seek (16, &at)
                 .kind,
      Problem::Kind::kUnsupported);
  EXPECT_FALSE (
      make (config (Mode::kCbc, true, key, kCbcIv)).stream->can_seek ());
  EXPECT_FALSE (
      make (config (Mode::kEcb, true, key, nullptr)).stream->can_seek ());
  // ...and those that can, say so.
  EXPECT_TRUE (
      make (config (Mode::kEcb, false, key, nullptr)).stream->can_seek ());
  EXPECT_TRUE (
      make (config (Mode::kCbc, false, key, kCbcIv)).stream->can_seek ());
  EXPECT_TRUE (
      make (config (Mode::kCtr, true, key, kCbcIv)).stream->can_seek ());
  // GCM records are not a byte stream at all.
  Codec gcm = make (config (Mode::kGcm, false, key, nullptr));
  EXPECT_FALSE (gcm.stream);
  EXPECT_TRUE (gcm.opener);
}

TEST (Codecs, factory_refuses_combinations_that_cannot_work)
{
  SecureBytes key = key_of (kKey128);
  struct Case
  {
    CodecConfig c;
    const char *says;
  };
  CodecConfig gcm_iv = config (Mode::kGcm, true, key, kCtrIv);
  CodecConfig ecb_iv = config (Mode::kEcb, true, key, kCtrIv);
  CodecConfig ctr_ser = config (Mode::kCtr, true, key, nullptr);
  ctr_ser.serialize_iv = true;
  CodecConfig cbc_no_iv = config (Mode::kCbc, true, key, nullptr);
  CodecConfig no_key = config (Mode::kCtr, true, key, nullptr);
  SecureBytes empty;
  no_key.key = &empty;
  for (const Case &k : {Case{gcm_iv, "unset iv"}, Case{ecb_iv, "mode=ecb"},
           Case{ctr_ser, "serialize-iv"}, Case{cbc_no_iv, "needs an iv"},
           Case{no_key, "key"}}) {
    Codec out;
    Problem p = make_codec (k.c, &out);
    EXPECT_EQ (p.kind, Problem::Kind::kSettings) << k.says;
    EXPECT_NE (p.message.find (k.says), std::string::npos) << p.message;
    EXPECT_FALSE (out.stream);
  }
  // A CBC decoder may read its IV from the stream.
  CodecConfig cbc_ser = config (Mode::kCbc, false, key, nullptr);
  cbc_ser.serialize_iv = true;
  Codec out;
  EXPECT_TRUE (make_codec (cbc_ser, &out).ok ());
}

TEST (Codecs, size_mapping_per_mode)
{
  SecureBytes key = key_of (kKey128);
  Codec raw = make (config (Mode::kCtr, false, key, kCtrIv));
  EXPECT_EQ (raw.stream->plain_size (1000), 1000u);
  EXPECT_EQ (raw.stream->stream_offset (7), 7u);
  Codec hdr = make (config (Mode::kCtr, false, key, nullptr));
  // Before it has read a header, a decoder assumes the version aesenc
  // writes (2, 48 bytes); a version-1 header corrects it (see
  // ctr_header_version_1_streams_stay_readable).
  EXPECT_EQ (hdr.stream->plain_size (1048), 1000u);
  EXPECT_EQ (hdr.stream->plain_size (10), 0u);
  Codec ecb = make (config (Mode::kEcb, false, key, nullptr));
  EXPECT_EQ (ecb.stream->plain_size (1024), 1024u);
  Codec cbc = make (config (Mode::kCbc, false, key, kCbcIv));
  EXPECT_FALSE (cbc.stream->plain_size (1024)); // padding known at the end
}

TEST (Codecs, gcm_records_seal_open_and_refuse_replays_and_tampering)
{
  SecureBytes key = key_of (kKey128);
  Codec enc = make (config (Mode::kGcm, true, key, nullptr));
  Codec dec = make (config (Mode::kGcm, false, key, nullptr));
  ASSERT_TRUE (enc.sealer && dec.opener);
  std::vector<Bytes> records;
  for (size_t n : {0, 1, 100, 5000}) {
    Bytes plain = random_bytes (n, unsigned (n));
    Bytes rec;
    ASSERT_TRUE (seal_record (*enc.sealer, plain, &rec));
    Bytes out (n + 1);
    auto v = dec.opener->open (rec.data (), rec.size (), out.data ());
    EXPECT_EQ (v.kind, GcmRecordOpener::Verdict::Kind::kAccepted) << v.why;
    EXPECT_EQ (Bytes (out.begin (), out.begin () + v.length), plain);
    records.push_back (rec);
  }
  Bytes scratch (6000);
  auto again = dec.opener->open (
      records[2].data (), records[2].size (), scratch.data ());
  EXPECT_EQ (again.kind, GcmRecordOpener::Verdict::Kind::kReplayed);
  Bytes bad = records[3];
  bad[bad.size () - 1] ^= 1;
  // (a fresh record number, so the replay window does not answer first)
  Bytes fresh;
  ASSERT_TRUE (seal_record (
      *enc.sealer, Bytes (scratch.begin (), scratch.begin () + 100), &fresh));
  fresh[50] ^= 1;
  auto rejected
      = dec.opener->open (fresh.data (), fresh.size (), scratch.data ());
  EXPECT_EQ (rejected.kind, GcmRecordOpener::Verdict::Kind::kRejected);
  EXPECT_FALSE (dec.opener->final_seen ());
  Bytes fin (format::kRecordOverhead);
  ASSERT_TRUE (enc.sealer->seal_final (fin.data ()).ok ());
  auto last = dec.opener->open (fin.data (), fin.size (), scratch.data ());
  EXPECT_EQ (last.kind, GcmRecordOpener::Verdict::Kind::kAccepted);
  EXPECT_TRUE (last.final);
  EXPECT_EQ (last.lost, 1); // the tampered record is missing
  EXPECT_TRUE (dec.opener->final_seen ());
}

TEST (Codecs, gcm_record_opens_the_same_from_pieces_and_wipes_them_on_failure)
{
  SecureBytes key = key_of (kKey128);
  Codec enc = make (config (Mode::kGcm, true, key, nullptr));
  Codec dec = make (config (Mode::kGcm, false, key, nullptr));
  const size_t n = 1400;
  Bytes plain = random_bytes (n, 77);
  for (int round = 0; round < 2; round++) { // accepted, then tampered
    Bytes rec;
    ASSERT_TRUE (seal_record (*enc.sealer, plain, &rec));
    if (round == 1)
      rec[format::kRecordHeaderSize + 900] ^= 4;
    // Two payload pieces, one in place, one into another buffer.
    Bytes other (n - 500);
    uint8_t *ct = rec.data () + format::kRecordHeaderSize;
    const Gcm::Piece pieces[]
        = {{ct, ct, 500}, {ct + 500, other.data (), n - 500}};
    auto v = dec.opener->open (rec.data (), pieces, 2, ct + n);
    if (round == 0) {
      EXPECT_EQ (v.kind, GcmRecordOpener::Verdict::Kind::kAccepted) << v.why;
      EXPECT_EQ (
          Bytes (ct, ct + 500), Bytes (plain.begin (), plain.begin () + 500));
      EXPECT_EQ (other, Bytes (plain.begin () + 500, plain.end ()));
    } else {
      EXPECT_EQ (v.kind, GcmRecordOpener::Verdict::Kind::kRejected);
      EXPECT_EQ (Bytes (ct, ct + 500), Bytes (500, 0)) << "plaintext left";
      EXPECT_EQ (other, Bytes (n - 500, 0)) << "plaintext left";
    }
  }
  // Pieces that do not add up to the header's length are refused.
  Bytes rec;
  ASSERT_TRUE (seal_record (*enc.sealer, plain, &rec));
  uint8_t *ct = rec.data () + format::kRecordHeaderSize;
  const Gcm::Piece short_piece{ct, ct, n - 1};
  auto v = dec.opener->open (rec.data (), &short_piece, 1, ct + n);
  EXPECT_EQ (v.kind, GcmRecordOpener::Verdict::Kind::kRejected);
  EXPECT_NE (v.why.find ("its header says"), std::string::npos) << v.why;
}

namespace {

// One sender: a sealer with its own salt, sealing small records.
struct Sender
{
  std::unique_ptr<GcmRecordSealer> sealer;
  explicit Sender (const SecureBytes &key)
  {
    Problem p;
    sealer = GcmRecordSealer::create (key, &p);
  }
  Bytes record (uint8_t fill, bool final = false)
  {
    if (final) {
      Bytes fin (format::kRecordOverhead);
      EXPECT_TRUE (sealer->seal_final (fin.data ()).ok ());
      return fin;
    }
    Bytes rec;
    EXPECT_TRUE (seal_record (*sealer, Bytes (16, fill), &rec));
    return rec;
  }
};

using Kind = GcmRecordOpener::Verdict::Kind;

Kind
open_kind (GcmRecordOpener &o, const Bytes &rec, int64_t now_us)
{
  Bytes out (rec.size ());
  return o.open (rec.data (), rec.size (), out.data (), now_us).kind;
}

// The rows of the first markdown table after `heading` in docs/format.md:
// field name -> (offset, size, value column).
struct Row
{
  std::string offset, size, value;
};

std::map<std::string, Row>
format_table (const std::string &heading)
{
  std::ifstream f (AESSTREAM_DOCS_DIR "/format.md");
  EXPECT_TRUE (f.good ()) << "docs/format.md not found";
  std::map<std::string, Row> rows;
  std::string line;
  bool in_section = false;
  auto cell = [] (std::string s) {
    s.erase (0, s.find_first_not_of (" "));
    s.erase (s.find_last_not_of (" ") + 1);
    return s;
  };
  while (std::getline (f, line)) {
    if (line.rfind ("#", 0) == 0) {
      if (in_section && !rows.empty ())
        break;
      in_section = line.find (heading) != std::string::npos;
      continue;
    }
    if (!in_section || line.rfind ("|", 0) != 0)
      continue;
    std::vector<std::string> cells;
    std::stringstream ss (line.substr (1));
    std::string c;
    while (std::getline (ss, c, '|'))
      cells.push_back (cell (c));
    if (cells.size () >= 4)
      rows[cells[2]] = Row{cells[0], cells[1], cells[3]};
  }
  return rows;
}

std::string
hex_bytes (const uint8_t *d, size_t n)
{
  std::string s = "`";
  for (size_t i = 0; i < n; i++) {
    char b[4];
    std::snprintf (b, sizeof b, i ? " %02x" : "%02x", d[i]);
    s += b;
  }
  return s + "`";
}

void
expect_row (std::map<std::string, Row> &rows, const std::string &field,
    size_t offset, size_t size)
{
  ASSERT_TRUE (rows.count (field)) << field;
  EXPECT_EQ (rows[field].offset, std::to_string (offset)) << field;
  EXPECT_EQ (rows[field].size, std::to_string (size)) << field;
}

} // namespace

// Finding 2: every authentic salt used to add a session, kept forever and
// looked up linearly (1,000 one-record streams: 14.7 MB). At most
// kMaxSessions are kept, whatever the policy.
TEST (Codecs, gcm_opener_keeps_a_bounded_number_of_streams)
{
  SecureBytes key = key_of (kKey128);
  for (auto policy : {GcmRecordOpener::StreamPolicy::kAll,
           GcmRecordOpener::StreamPolicy::kFollowOne,
           GcmRecordOpener::StreamPolicy::kNewest}) {
    Problem p;
    auto opener = GcmRecordOpener::create (key, &p, policy);
    for (int i = 0; i < 1000; i++) {
      Sender s (key);
      Kind k = open_kind (*opener, s.record (1), i * 10);
      EXPECT_NE (k, Kind::kRejected);
      ASSERT_LE (opener->stream_count (), GcmRecordOpener::kMaxSessions);
    }
  }
}

// Finding 3: two senders on one port were interleaved into one output.
TEST (Codecs, gcm_opener_follows_one_stream_and_a_restarted_sender)
{
  SecureBytes key = key_of (kKey128);
  Problem p;
  auto o = GcmRecordOpener::create (key, &p);
  Sender a (key), b (key);
  const int64_t ms = 1000;
  EXPECT_EQ (open_kind (*o, a.record (1), 0), Kind::kAccepted);
  // A concurrent second stream: authentic, dropped.
  EXPECT_EQ (open_kind (*o, b.record (2), 10 * ms), Kind::kOtherStream);
  EXPECT_EQ (open_kind (*o, a.record (3), 20 * ms), Kind::kAccepted);
  EXPECT_EQ (open_kind (*o, b.record (4), 30 * ms), Kind::kOtherStream);
  // A ends with its final record: B (a restarted sender) is followed at
  // once, no loss beyond the gap.
  EXPECT_EQ (open_kind (*o, a.record (0, true), 40 * ms), Kind::kAccepted);
  EXPECT_EQ (open_kind (*o, b.record (5), 41 * ms), Kind::kAccepted);
  // Now A is the other stream (a replay of it, too).
  EXPECT_NE (open_kind (*o, a.record (6), 42 * ms), Kind::kAccepted);
  // B goes silent without a final record (a crashed sender); C starts.
  Sender c (key);
  EXPECT_EQ (open_kind (*o, c.record (7), 500 * ms), Kind::kOtherStream);
  EXPECT_EQ (
      open_kind (*o, c.record (8), 41 * ms + GcmRecordOpener::kSilenceUs),
      Kind::kAccepted);
  EXPECT_EQ (open_kind (*o, b.record (9), 1200 * ms), Kind::kOtherStream);
}

TEST (Codecs, gcm_opener_other_stream_policies)
{
  SecureBytes key = key_of (kKey128);
  Problem p;
  // kAll: the old behaviour, every authentic stream interleaved.
  auto all
      = GcmRecordOpener::create (key, &p, GcmRecordOpener::StreamPolicy::kAll);
  Sender a (key), b (key);
  EXPECT_EQ (open_kind (*all, a.record (1), 0), Kind::kAccepted);
  EXPECT_EQ (open_kind (*all, b.record (2), 0), Kind::kAccepted);
  EXPECT_EQ (open_kind (*all, a.record (3), 0), Kind::kAccepted);
  // kNewest: a stream never seen before takes over at once; the one it
  // replaced is then the other stream.
  auto newest = GcmRecordOpener::create (
      key, &p, GcmRecordOpener::StreamPolicy::kNewest);
  Sender c (key), d (key);
  EXPECT_EQ (open_kind (*newest, c.record (1), 0), Kind::kAccepted);
  EXPECT_EQ (open_kind (*newest, d.record (2), 0), Kind::kAccepted);
  EXPECT_EQ (open_kind (*newest, c.record (3), 0), Kind::kOtherStream);
  EXPECT_EQ (open_kind (*newest, d.record (4), 0), Kind::kAccepted);
}

TEST (Codecs, format_doc_tables_match_the_format_constants)
{
  auto h = format_table ("The aesstream stream header (version 1)");
  expect_row (h, "magic", 0, format::kStreamMagic.size ());
  EXPECT_EQ (h["magic"].value.rfind (hex_bytes (format::kStreamMagic.data (),
                                         format::kStreamMagic.size ()),
                 0),
      0u)
      << h["magic"].value;
  expect_row (h, "version", format::kHeaderVersionOffset, 1);
  EXPECT_EQ (h["version"].value, "`01`");
  expect_row (h, "mode", format::kHeaderModeOffset, 1);
  expect_row (h, "key length", format::kHeaderKeyLengthOffset, 1);
  expect_row (h, "header length", format::kHeaderLengthOffset, 1);
  EXPECT_NE (h["header length"].value.find (
                 "(" + std::to_string (format::kHeaderSize) + ")"),
      std::string::npos);
  expect_row (h, "IV", format::kHeaderIvOffset, kBlockSize);
  expect_row (
      h, "key check", format::kHeaderKeyCheckOffset, format::kKeyCheckSize);
  EXPECT_EQ (h["ciphertext"].offset, std::to_string (format::kHeaderSize));

  auto g = format_table ("GCM records");
  const uint8_t magic[] = {format::kRecordMagic0, format::kRecordMagic1};
  expect_row (g, "magic", 0, 2);
  EXPECT_EQ (g["magic"].value.rfind (hex_bytes (magic, 2), 0), 0u);
  expect_row (g, "version", 2, 1);
  expect_row (g, "flags", 3, 1);
  expect_row (g, "length", format::kRecordLengthOffset, 4);
  expect_row (g, "sequence number", format::kRecordSeqOffset, 6);
  expect_row (g, "salt", format::kRecordSaltOffset, format::kRecordSaltSize);
  EXPECT_EQ (
      g["ciphertext"].offset, std::to_string (format::kRecordHeaderSize));
  EXPECT_EQ (
      g["tag"].offset, std::to_string (format::kRecordHeaderSize) + "+N");
  EXPECT_EQ (g["tag"].size, std::to_string (format::kRecordTagSize));
}

// The version-2 header byte by byte (docs/format.md): the key id expected
// here is from Python's hmac (tests/test_core.cpp), not from our code.
TEST (Codecs, ctr_header_version_2_carries_the_key_id)
{
  SecureBytes key = key_of (kKey256);
  Codec enc = make (config (Mode::kCtr, true, key, nullptr));
  Bytes stream = feed (*enc.stream, random_bytes (100, 3), 1, 100);
  ASSERT_EQ (stream.size (), 148u);
  EXPECT_EQ (Bytes (stream.begin (), stream.begin () + 8), hex ("414553730201"
                                                                "2030"));
  EXPECT_EQ (Bytes (stream.begin () + 8, stream.begin () + 16), Bytes (8, 0));
  EXPECT_EQ (Bytes (stream.begin () + 16, stream.begin () + 32),
      hex ("4959857e62fa8384c45249d86e3a7848"));
  // The body is raw CTR under the IV at offset 32.
  std::array<uint8_t, kBlockSize> iv{};
  std::copy (stream.begin () + 32, stream.begin () + 48, iv.begin ());
  Codec dec = make (config (Mode::kCtr, false, key, nullptr));
  EXPECT_EQ (dec.stream->plain_size (148), 100u);
  Bytes plain = feed (*dec.stream, stream, 1, 7);
  EXPECT_EQ (one_shot ("CTR", true, key, &iv, plain), tail (stream, 48));
}

TEST (Codecs, ctr_header_version_1_streams_stay_readable)
{
  SecureBytes key = key_of (kKey128);
  Bytes plain = random_bytes (1000, 4);
  StreamHeader h;
  h.version = 1;
  h.key_length = 16;
  h.iv = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  h.key_check = StreamHeader::compute_key_check (key, h.iv);
  auto bytes = h.serialize ();
  ASSERT_EQ (bytes[4], 1);
  ASSERT_EQ (bytes[7], 32);
  Bytes stream (bytes.begin (), bytes.end ());
  Bytes body = one_shot ("CTR", true, key, &h.iv, plain);
  stream.insert (stream.end (), body.begin (), body.end ());
  for (unsigned seed : {1u, 2u, 3u}) {
    Codec dec = make (config (Mode::kCtr, false, key, nullptr));
    EXPECT_EQ (feed (*dec.stream, stream, seed, 11), plain);
    EXPECT_EQ (dec.stream->prefix_size (), 32u);
    EXPECT_EQ (dec.stream->plain_size (1032), 1000u);
  }
  // The wrong key is refused by the key check, as before.
  Codec wrong = make (config (
      Mode::kCtr, false, key_of ("000102030405060708090a0b0c0d0e0f"), nullptr));
  Bytes out (stream.size () + 64);
  StreamCodec::Output r;
  EXPECT_EQ (
      wrong.stream->process (stream.data (), stream.size (), out.data (), &r)
          .kind,
      Problem::Kind::kWrongKey);
}

TEST (Codecs, a_wrong_key_for_a_version_2_header_names_both_key_ids)
{
  Codec enc = make (config (Mode::kCtr, true, key_of (kKey256), nullptr));
  Bytes stream = feed (*enc.stream, random_bytes (64, 5), 1, 64);
  Codec dec = make (config (Mode::kCtr, false, key_of (kKey128), nullptr));
  Bytes out (stream.size () + 64);
  StreamCodec::Output r;
  Problem p
      = dec.stream->process (stream.data (), stream.size (), out.data (), &r);
  EXPECT_EQ (p.kind, Problem::Kind::kWrongKey);
  EXPECT_NE (p.message.find ("key id 4959857e62fa8384c45249d86e3a7848"),
      std::string::npos)
      << p.message;
  EXPECT_NE (
      p.message.find ("24efab2a070e1c7693eb4ce6087932e0"), std::string::npos)
      << p.message;
  EXPECT_EQ (r.size, 0u);
}

// Key rotation (issue 11): a new key starts a new stream (new salt, record
// numbers from 0) that only the new key opens.
TEST (Codecs, gcm_sealer_rekey_starts_a_new_stream_under_the_new_key)
{
  SecureBytes old_key = key_of (kKey128), new_key = key_of (kKey256);
  Sender s (old_key);
  Bytes before = s.record (1);
  s.record (2);
  ASSERT_TRUE (s.sealer->rekey (new_key).ok ());
  EXPECT_EQ (s.sealer->records_under_key (), 0u);
  Bytes after = s.record (3);
  EXPECT_NE (Bytes (before.begin () + 14, before.begin () + 24),
      Bytes (after.begin () + 14, after.begin () + 24)); // a new salt
  EXPECT_EQ (Bytes (after.begin () + 8, after.begin () + 14), Bytes (6, 0));
  Problem p;
  auto only_old = GcmRecordOpener::create (old_key, &p);
  auto only_new = GcmRecordOpener::create (new_key, &p);
  EXPECT_EQ (open_kind (*only_old, after, 0), Kind::kRejected);
  EXPECT_EQ (open_kind (*only_new, after, 0), Kind::kAccepted);
  EXPECT_EQ (open_kind (*only_new, before, 0), Kind::kRejected);
  // The same key again: a new stream, but the count under it goes on.
  ASSERT_TRUE (s.sealer->rekey (new_key).ok ());
  EXPECT_EQ (s.sealer->records_under_key (), 1u);
}

TEST (Codecs, gcm_opener_holds_several_keys_and_retires_the_oldest)
{
  SecureBytes a_key = key_of (kKey128), b_key = key_of (kKey256);
  SecureBytes c_key = key_of ("000102030405060708090a0b0c0d0e0f");
  Problem p;
  auto o = GcmRecordOpener::create (a_key, &p);
  EXPECT_EQ (o->max_keys (), 2u);
  Sender a (a_key), b (b_key), c (c_key);
  EXPECT_EQ (open_kind (*o, a.record (1), 0), Kind::kAccepted);
  // A stream under a key aesdec does not hold: rejected, one try.
  Bytes rec = b.record (2);
  Bytes out (rec.size ());
  auto v = o->open (rec.data (), rec.size (), out.data (), 0);
  EXPECT_EQ (v.kind, Kind::kRejected);
  EXPECT_EQ (v.failed_attempts, 1u);
  EXPECT_NE (v.why.find ("rotated to a key"), std::string::npos) << v.why;
  // B joins: its new stream takes over at once (no final record from A,
  // no silence): a rotation. Tried newest first, so no failed attempt.
  EXPECT_EQ (o->add_key (b_key), 0u);
  EXPECT_EQ (o->key_count (), 2u);
  EXPECT_EQ (o->candidate_keys (rec.data ()), 2u);
  rec = b.record (3);
  v = o->open (rec.data (), rec.size (), out.data (), 1000);
  EXPECT_EQ (v.kind, Kind::kAccepted) << v.why;
  EXPECT_TRUE (v.new_stream);
  EXPECT_TRUE (v.new_key);
  EXPECT_EQ (v.failed_attempts, 0u);
  EXPECT_EQ (o->candidate_keys (rec.data ()), 1u); // a known stream
  // A late record of A's stream is still authentic but A is not followed.
  EXPECT_EQ (open_kind (*o, a.record (4), 2000), Kind::kOtherStream);
  // An older key's new stream never takes over from a newer key's.
  Sender a2 (a_key);
  rec = a2.record (5);
  v = o->open (rec.data (), rec.size (), out.data (), 3000);
  EXPECT_EQ (v.kind, Kind::kOtherStream);
  EXPECT_EQ (v.failed_attempts, 1u); // B was tried first
  // C joins: A is retired (max 2), and its streams with it.
  EXPECT_EQ (o->add_key (c_key), 1u);
  EXPECT_EQ (o->key_count (), 2u);
  EXPECT_EQ (open_kind (*o, a.record (6), 4000), Kind::kRejected);
  EXPECT_EQ (open_kind (*o, b.record (7), 5000), Kind::kAccepted);
  EXPECT_EQ (open_kind (*o, c.record (8), 6000), Kind::kAccepted);
  // A key already held changes nothing; max_keys is bounded.
  EXPECT_EQ (o->add_key (c_key), 0u);
  EXPECT_EQ (o->set_max_keys (1), 1u); // B retired
  EXPECT_EQ (open_kind (*o, b.record (9), 7000), Kind::kRejected);
  o->set_max_keys (1000);
  EXPECT_EQ (o->max_keys (), GcmRecordOpener::kMaxKeys);
}

// With several keys, a failed try must not destroy the ciphertext the next
// key needs when opening in place.
TEST (Codecs, gcm_opener_tries_keys_in_place_without_losing_the_record)
{
  SecureBytes a_key = key_of (kKey128), b_key = key_of (kKey256);
  Problem p;
  auto o = GcmRecordOpener::create (a_key, &p);
  o->add_key (b_key); // tried first
  Sender a (a_key);
  Bytes plain = random_bytes (100, 5);
  Bytes rec;
  ASSERT_TRUE (seal_record (*a.sealer, plain, &rec));
  auto v = o->open (rec.data (), rec.size (), rec.data () + 24, 0);
  ASSERT_EQ (v.kind, Kind::kAccepted) << v.why;
  EXPECT_EQ (v.failed_attempts, 1u);
  EXPECT_EQ (Bytes (rec.begin () + 24, rec.begin () + 124), plain);
}

// The hard limits: max-records-per-key (lowered for the test), and the
// format's 48-bit record numbers, whose last value is kept for the final
// record so that a stream at its end can still be closed properly.
TEST (Codecs, gcm_sealer_refuses_past_the_record_limits)
{
  SecureBytes key = key_of (kKey128);
  Sender s (key);
  s.sealer->set_max_records_per_key (3);
  Bytes plain (16, 1), rec (16 + format::kRecordOverhead);
  auto seal = [&] () {
    return s.sealer->seal (
        plain.data (), 16, rec.data (), rec.data () + 24, rec.data () + 40);
  };
  for (int i = 0; i < 3; i++)
    ASSERT_TRUE (seal ().ok ());
  Problem refused = seal ();
  EXPECT_EQ (refused.kind, Problem::Kind::kLimit);
  EXPECT_NE (refused.message.find ("max-records-per-key"), std::string::npos);
  ASSERT_TRUE (s.sealer->rekey (key_of (kKey256)).ok ());
  EXPECT_TRUE (seal ().ok ()); // a new key counts from 0

  // The format: 2^48 record numbers per stream.
  EXPECT_EQ (GcmRecordSealer::kMaxRecordsPerStream, (uint64_t{1} << 48) - 1);
  Sender t (key);
  t.sealer->skip_to_seq_for_testing (GcmRecordSealer::kMaxRecordsPerStream - 1);
  Bytes last = t.record (1); // number 2^48 - 2: the last data record
  EXPECT_EQ (Bytes (last.begin () + 8, last.begin () + 14),
      Bytes ({0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}));
  Problem over = t.sealer->seal (
      plain.data (), 16, rec.data (), rec.data () + 24, rec.data () + 40);
  EXPECT_EQ (over.kind, Problem::Kind::kLimit);
  EXPECT_NE (over.message.find ("2^48"), std::string::npos);
  Bytes fin = t.record (0, true); // number 2^48 - 1
  EXPECT_EQ (Bytes (fin.begin () + 8, fin.begin () + 14), Bytes (6, 0xff));
  Problem p;
  auto o = GcmRecordOpener::create (key, &p);
  EXPECT_EQ (open_kind (*o, last, 0), Kind::kAccepted);
  EXPECT_EQ (open_kind (*o, fin, 0), Kind::kAccepted);
}
