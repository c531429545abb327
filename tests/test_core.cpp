// Tests of the GStreamer-free cipher core against NIST SP 800-38A known
// answers. Where no published vector exists (padding, counter wrap), the
// expected bytes come from OpenSSL's raw ECB primitive used directly here,
// never from the code under test.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>

#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "aescore.hpp"
#include "coretest.hpp"
#include "testutil.hpp"

using namespace aesstream;
using namespace nist;

namespace {

// Runs the core over `in`, split at the given sizes (the remainder last), and
// returns everything update() and finish() wrote.
Bytes
run (Cipher &c, const Bytes &in, const std::vector<size_t> &splits,
    bool *finish_ok = nullptr, std::string *error = nullptr)
{
  Bytes out;
  size_t pos = 0;
  auto feed = [&] (size_t n) {
    Bytes chunk (c.max_update_output (n) + 1);
    size_t written = 0;
    std::string err;
    EXPECT_TRUE (c.update (in.data () + pos, n, chunk.data (), &written, &err))
        << err;
    EXPECT_LE (written, c.max_update_output (n));
    out.insert (out.end (), chunk.begin (), chunk.begin () + written);
    pos += n;
  };
  for (size_t s : splits)
    feed (std::min (s, in.size () - pos));
  feed (in.size () - pos);
  Bytes tail (Cipher::kMaxFinishOutput + 1);
  size_t written = 0;
  std::string err;
  bool ok = c.finish (tail.data (), &written, &err);
  if (finish_ok)
    *finish_ok = ok;
  if (error)
    *error = err;
  if (!finish_ok) {
    EXPECT_TRUE (ok) << err;
  }
  out.insert (out.end (), tail.begin (), tail.begin () + written);
  return out;
}

std::unique_ptr<Cipher>
make (Mode mode, bool encrypt, const char *key, const Bytes &iv)
{
  std::string error;
  auto c = Cipher::create (
      mode, encrypt, key_of (key), iv.empty () ? nullptr : iv.data (), &error);
  EXPECT_TRUE (c) << error;
  return c;
}

// AES-ECB of whole blocks straight from OpenSSL, as an independent reference.
Bytes
raw_ecb (const char *key_hex, const Bytes &in)
{
  Bytes key = hex (key_hex);
  const EVP_CIPHER *cipher = key.size () == 16   ? EVP_aes_128_ecb ()
                             : key.size () == 24 ? EVP_aes_192_ecb ()
                                                 : EVP_aes_256_ecb ();
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  EVP_EncryptInit_ex (ctx, cipher, nullptr, key.data (), nullptr);
  EVP_CIPHER_CTX_set_padding (ctx, 0);
  Bytes out (in.size () + 16);
  int n = 0, m = 0;
  EVP_EncryptUpdate (
      ctx, out.data (), &n, in.data (), static_cast<int> (in.size ()));
  EVP_EncryptFinal_ex (ctx, out.data () + n, &m);
  EVP_CIPHER_CTX_free (ctx);
  out.resize (n + m);
  return out;
}

} // namespace

TEST (Core, nist_sp800_38a_vectors_encrypt_and_decrypt)
{
  for (const Vector &v : kVectors) {
    SCOPED_TRACE (v.name);
    Bytes iv = v.iv ? hex (v.iv) : Bytes ();
    Bytes plain = hex (kPlain), cipher = hex (v.cipher);
    auto enc = make (v.mode, true, v.key, iv);
    Bytes got = run (*enc, plain, {});
    // CBC adds one block of PKCS#7 padding after the 64 vector bytes: a
    // block of 0x10 bytes chained to the last vector block, i.e.
    // AES(0x10.. XOR C4), computed here with raw OpenSSL ECB.
    if (v.mode == Mode::kCbc) {
      ASSERT_EQ (got.size (), 80u);
      Bytes pad_in (16);
      for (size_t i = 0; i < 16; i++)
        pad_in[i] = 0x10 ^ cipher[48 + i];
      EXPECT_EQ (
          Bytes (got.begin () + 64, got.end ()), raw_ecb (v.key, pad_in));
      cipher.insert (cipher.end (), got.begin () + 64, got.end ());
      got.resize (64);
      EXPECT_EQ (got, Bytes (cipher.begin (), cipher.begin () + 64));
    } else {
      EXPECT_EQ (got, cipher);
    }

    auto dec = make (v.mode, false, v.key, iv);
    EXPECT_EQ (run (*dec, cipher, {}), plain);
  }
}

TEST (Core, output_does_not_depend_on_chunking)
{
  std::mt19937 rng (1234);
  Bytes data (1000);
  for (auto &b : data)
    b = static_cast<uint8_t> (rng ());
  for (const Vector &v : kVectors) {
    SCOPED_TRACE (v.name);
    Bytes iv = v.iv ? hex (v.iv) : Bytes ();
    auto once = make (v.mode, true, v.key, iv);
    Bytes expected = run (*once, data, {});
    for (int seed = 0; seed < 50; seed++) {
      std::vector<size_t> splits;
      std::mt19937 r (seed);
      for (size_t total = 0; total < data.size ();) {
        size_t n = r () % 40; // includes empty chunks
        splits.push_back (n);
        total += n;
      }
      auto enc = make (v.mode, true, v.key, iv);
      ASSERT_EQ (run (*enc, data, splits), expected) << "seed " << seed;
      auto dec = make (v.mode, false, v.key, iv);
      Bytes back = run (*dec, expected, splits);
      back.resize (data.size ()); // ECB returns the zero padding
      ASSERT_EQ (back, data) << "seed " << seed;
    }
  }
}

TEST (Core, ctr_in_place_equals_out_of_place)
{
  Bytes plain = hex (kPlain);
  auto c = make (Mode::kCtr, true, kKey128, hex (kCtrIv));
  size_t written = 0;
  ASSERT_TRUE (c->update (
      plain.data (), plain.size (), plain.data (), &written, nullptr));
  EXPECT_EQ (written, plain.size ());
  EXPECT_EQ (plain, hex (kVectors[3].cipher));
}

namespace {

std::unique_ptr<Cipher>
make_per_chunk (bool encrypt, const char *key, const Bytes &iv)
{
  std::string error;
  auto c = Cipher::create (
      Mode::kCbc, encrypt, key_of (key), iv.data (), &error, true);
  EXPECT_TRUE (c) << error;
  return c;
}

// Raw OpenSSL CBC without padding, as the reference for per-chunk padding.
Bytes
raw_cbc (const char *key_hex, const Bytes &iv, const Bytes &in)
{
  Bytes key = hex (key_hex);
  const EVP_CIPHER *cipher = key.size () == 16   ? EVP_aes_128_cbc ()
                             : key.size () == 24 ? EVP_aes_192_cbc ()
                                                 : EVP_aes_256_cbc ();
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  EVP_EncryptInit_ex (ctx, cipher, nullptr, key.data (), iv.data ());
  EVP_CIPHER_CTX_set_padding (ctx, 0);
  Bytes out (in.size () + 16);
  int n = 0;
  EVP_EncryptUpdate (
      ctx, out.data (), &n, in.data (), static_cast<int> (in.size ()));
  EVP_CIPHER_CTX_free (ctx);
  out.resize (n);
  return out;
}

} // namespace

TEST (Core, cbc_per_chunk_padding_pads_each_chunk_and_chains)
{
  Bytes iv = hex (kCbcIv);
  Bytes data = hex (kPlain);
  std::vector<size_t> sizes = {5, 16, 0, 20, 23};
  // Reference: every chunk PKCS#7-padded on its own, then one CBC chain.
  Bytes padded;
  size_t pos = 0;
  for (size_t n : sizes) {
    padded.insert (padded.end (), data.begin () + pos, data.begin () + pos + n);
    size_t pad = 16 - n % 16;
    padded.insert (padded.end (), pad, static_cast<uint8_t> (pad));
    pos += n;
  }
  Bytes expected = raw_cbc (kKey256, iv, padded);

  auto enc = make_per_chunk (true, kKey256, iv);
  auto dec = make_per_chunk (false, kKey256, iv);
  Bytes got, back;
  pos = 0;
  for (size_t n : sizes) {
    Bytes out (n + 16);
    size_t w = 0;
    std::string err;
    ASSERT_TRUE (enc->update (data.data () + pos, n, out.data (), &w, &err));
    ASSERT_EQ (w, n + 16 - n % 16);
    Bytes plain (w + 16);
    size_t pw = 0;
    ASSERT_TRUE (dec->update (out.data (), w, plain.data (), &pw, &err)) << err;
    ASSERT_EQ (pw, n);
    got.insert (got.end (), out.begin (), out.begin () + w);
    back.insert (back.end (), plain.begin (), plain.begin () + pw);
    pos += n;
  }
  EXPECT_EQ (got, expected);
  EXPECT_EQ (back, Bytes (data.begin (), data.begin () + pos));
}

TEST (Core, cbc_per_chunk_decrypt_rejects_bad_padding_and_split_chunks)
{
  Bytes iv = hex (kCbcIv);
  Bytes data (40, 7);
  auto enc = make_per_chunk (true, kKey128, iv);
  Bytes ct (64);
  size_t w = 0;
  std::string err;
  ASSERT_TRUE (enc->update (data.data (), data.size (), ct.data (), &w, &err));
  ASSERT_EQ (w, 48u);

  Bytes out (64);
  size_t pw = 0;
  auto dec = make_per_chunk (false, kKey128, iv);
  EXPECT_FALSE (dec->update (ct.data (), 40, out.data (), &pw, &err));
  EXPECT_NE (err.find ("multiple of 16"), std::string::npos) << err;

  auto wrong = make_per_chunk (false, kKey256, iv);
  EXPECT_FALSE (wrong->update (ct.data (), 48, out.data (), &pw, &err));
  EXPECT_NE (err.find ("invalid PKCS#7 padding"), std::string::npos) << err;
}

TEST (Core, cbc_stream_padding_error_names_the_cause)
{
  Bytes iv = hex (kCbcIv);
  auto enc = make (Mode::kCbc, true, kKey128, iv);
  Bytes ct = run (*enc, Bytes (33, 1), {});
  ASSERT_EQ (ct.size (), 48u);
  auto dec = make (Mode::kCbc, false, kKey256, iv);
  bool ok = true;
  std::string error;
  run (*dec, ct, {}, &ok, &error);
  EXPECT_FALSE (ok);
  EXPECT_NE (error.find ("bad PKCS#7 padding"), std::string::npos) << error;
}

TEST (Core, ecb_pads_the_last_block_with_zeros)
{
  Bytes data = hex (kPlain);
  data.resize (37);
  Bytes padded = data;
  padded.resize (48, 0);
  auto c = make (Mode::kEcb, true, kKey128, {});
  Bytes got = run (*c, data, {5, 20});
  EXPECT_EQ (got.size (), 48u);
  EXPECT_EQ (got, raw_ecb (kKey128, padded));
}

TEST (Core, ecb_exact_multiple_gets_no_padding_block)
{
  Bytes data = hex (kPlain);
  auto c = make (Mode::kEcb, true, kKey128, {});
  EXPECT_EQ (run (*c, data, {}).size (), 64u);
}

TEST (Core, ecb_decrypt_of_truncated_ciphertext_fails_at_finish)
{
  Bytes cipher = hex (kVectors[0].cipher);
  cipher.resize (40);
  auto c = make (Mode::kEcb, false, kKey128, {});
  bool ok = true;
  std::string error;
  run (*c, cipher, {}, &ok, &error);
  EXPECT_FALSE (ok);
  EXPECT_NE (error.find ("not a multiple of 16"), std::string::npos) << error;
}

TEST (Core, ctr_counter_wraps_over_all_128_bits)
{
  // Counter blocks ff..ff, then 00..00, then 00..01: the keystream is the
  // raw AES encryption of those three blocks.
  Bytes iv (16, 0xff);
  Bytes counters (48, 0);
  std::memset (counters.data (), 0xff, 16);
  counters[47] = 1;
  Bytes keystream = raw_ecb (kKey256, counters);
  Bytes zeros (48, 0);
  auto c = make (Mode::kCtr, true, kKey256, iv);
  EXPECT_EQ (run (*c, zeros, {7, 16}), keystream);
}

TEST (Core, ctr_carry_ripples_from_the_low_64_bits)
{
  // 0000000000000000ffffffffffffffff + 1 = 00000000000000010000000000000000;
  // a 64-bit-only counter would wrap to all zeros instead.
  Bytes iv = hex ("0000000000000000ffffffffffffffff");
  Bytes counters = hex ("0000000000000000ffffffffffffffff"
                        "00000000000000010000000000000000");
  auto c = make (Mode::kCtr, true, kKey128, iv);
  EXPECT_EQ (run (*c, Bytes (32, 0), {}), raw_ecb (kKey128, counters));
}

TEST (Core, restart_reproduces_the_stream)
{
  Bytes plain = hex (kPlain);
  Bytes iv = hex (kCtrIv);
  auto c = make (Mode::kCtr, true, kKey128, iv);
  Bytes first = run (*c, plain, {3});
  ASSERT_TRUE (c->restart (iv.data ()));
  EXPECT_EQ (run (*c, plain, {}), first);
  auto e = make (Mode::kEcb, true, kKey128, {});
  Bytes partial (5, 1);
  size_t written = 0;
  Bytes out (64);
  ASSERT_TRUE (e->update (
      partial.data (), partial.size (), out.data (), &written, nullptr));
  ASSERT_TRUE (e->restart (nullptr)); // drops the 5 carried bytes
  EXPECT_EQ (e->carried (), 0u);
  EXPECT_EQ (run (*e, plain, {}), hex (kVectors[0].cipher));
}

TEST (Core, key_hex_parsing_accepts_three_sizes_and_explains_errors)
{
  SecureBytes key;
  std::string error;
  EXPECT_TRUE (parse_key_hex (kKey128, &key, &error));
  EXPECT_EQ (key.size (), 16u);
  EXPECT_TRUE (parse_key_hex (kKey192, &key, &error));
  EXPECT_EQ (key.size (), 24u);
  EXPECT_TRUE (parse_key_hex (
      "603DEB1015CA71BE2B73AEF0857D77811F352C073B6108D72D9810A30914DFF4", &key,
      &error));
  EXPECT_EQ (key.size (), 32u);

  EXPECT_FALSE (parse_key_hex (std::string (30, 'a'), &key, &error));
  EXPECT_EQ (
      error, "key must be 32, 48 or 64 hex digits (AES-128/192/256); got 30");
  EXPECT_FALSE (parse_key_hex (std::string (31, 'a'), &key, &error));
  EXPECT_NE (error.find ("got 31"), std::string::npos);
  EXPECT_FALSE (parse_key_hex (std::string (32, 'a') + "zz", &key, &error));
  EXPECT_EQ (
      error, "key must be hexadecimal digits; character 33 is not a hex digit");
  EXPECT_FALSE (parse_key_hex ("", &key, &error));
  EXPECT_FALSE (parse_key_hex (std::string (64, 'a') + "00", &key, &error));
  // An error message never contains the text given as a key.
  EXPECT_FALSE (
      parse_key_hex ("0123456789abcdef0123456789abcdeX", &key, &error));
  EXPECT_EQ (error.find ("0123456789"), std::string::npos);
}

TEST (Core, iv_parsing_needs_32_hex_digits)
{
  std::array<uint8_t, 16> iv{};
  std::string error;
  EXPECT_TRUE (parse_iv_hex (kCtrIv, &iv, &error));
  EXPECT_EQ (to_hex (iv.data (), 16), kCtrIv);
  EXPECT_FALSE (parse_iv_hex ("f0f1", &iv, &error));
  EXPECT_EQ (error, "iv must be 32 hex digits; got 4");
  EXPECT_FALSE (parse_iv_hex (std::string (32, 'g'), &iv, &error));
}

TEST (Core, key_file_is_read_with_whitespace_trimmed)
{
  char path[] = "/tmp/aesstream-keyXXXXXX";
  int fd = mkstemp (path);
  ASSERT_GE (fd, 0);
  std::string content = std::string ("  \n") + kKey256 + "\n\n";
  ASSERT_EQ (write (fd, content.data (), content.size ()),
      static_cast<ssize_t> (content.size ()));
  close (fd);
  SecureBytes key;
  std::string error;
  EXPECT_TRUE (read_key_file (path, &key, &error)) << error;
  EXPECT_EQ (to_hex (key.data (), key.size ()), kKey256);

  std::FILE *f = std::fopen (path, "w");
  std::fputs ("not a key\n", f);
  std::fclose (f);
  EXPECT_FALSE (read_key_file (path, &key, &error));
  EXPECT_NE (error.find ("not a hex digit"), std::string::npos) << error;
  unlink (path);

  EXPECT_FALSE (read_key_file ("/nonexistent/aes.key", &key, &error));
  EXPECT_NE (error.find ("No such file"), std::string::npos) << error;
}

// Finding 6: a FIFO named as key-file made start() wait for a writer
// forever. It must fail at once, without blocking.
TEST (Core, key_file_that_is_a_fifo_without_writer_fails_without_blocking)
{
  char dir[] = "/tmp/aesstream-fifoXXXXXX";
  ASSERT_NE (mkdtemp (dir), nullptr);
  std::string path = std::string (dir) + "/key";
  ASSERT_EQ (mkfifo (path.c_str (), 0600), 0);
  auto reader = std::async (std::launch::async, [&path] {
    SecureBytes key;
    std::string error;
    bool ok = read_key_file (path, &key, &error);
    return std::make_pair (ok, error);
  });
  bool returned = reader.wait_for (std::chrono::seconds (20))
                  == std::future_status::ready;
  if (!returned) {
    // Unblock the old behaviour so that the test can end (and fail).
    int fd = open (path.c_str (), O_WRONLY | O_NONBLOCK);
    if (fd >= 0)
      close (fd);
  }
  auto result = reader.get ();
  unlink (path.c_str ());
  rmdir (dir);
  ASSERT_TRUE (returned) << "read_key_file blocked on a FIFO";
  EXPECT_FALSE (result.first);
  EXPECT_NE (result.second.find ("not a regular file and delivered nothing"),
      std::string::npos)
      << result.second;
}

// A writer that holds the pipe open and never writes: bounded in time too.
TEST (Core, key_file_pipe_that_never_delivers_fails_after_a_deadline)
{
  int fds[2];
  ASSERT_EQ (pipe (fds), 0);
  auto reader = std::async (std::launch::async, [&fds] {
    SecureBytes key;
    std::string error;
    bool ok = read_key_file (
        "/proc/self/fd/" + std::to_string (fds[0]), &key, &error);
    return std::make_pair (ok, error);
  });
  bool returned = reader.wait_for (std::chrono::seconds (20))
                  == std::future_status::ready;
  close (fds[1]); // unblocks a reader without a deadline
  auto result = reader.get ();
  close (fds[0]);
  ASSERT_TRUE (returned) << "read_key_file waited for a silent pipe";
  EXPECT_FALSE (result.first);
  EXPECT_NE (result.second.find ("delivered no key within"), std::string::npos)
      << result.second;
}

TEST (Core, key_file_refuses_devices_and_directories)
{
  struct Case
  {
    const char *path, *message;
  } cases[] = {
      {"/dev/zero", "larger than 4096 bytes"},
      {"/dev/null", "delivered nothing"},
      {"/tmp", "not a regular file"},
  };
  for (const Case &c : cases) {
    SecureBytes key;
    std::string error;
    EXPECT_FALSE (read_key_file (c.path, &key, &error)) << c.path;
    EXPECT_NE (error.find (c.message), std::string::npos) << error;
  }
}

// Finding 5: an empty chunk (an empty GstBuffer maps to a null pointer) made
// the per-chunk CBC encryptor memcpy from null, which UBSan reports. The
// chunk still gets its block of padding (gst-plugins-bad's behaviour).
TEST (Core, cbc_per_chunk_encrypts_an_empty_chunk_given_as_null)
{
  Bytes iv = hex (kCbcIv);
  auto enc = make_per_chunk (true, kKey128, iv);
  Bytes out (32);
  size_t w = 0;
  std::string err;
  ASSERT_TRUE (enc->update (nullptr, 0, out.data (), &w, &err)) << err;
  ASSERT_EQ (w, 16u);
  out.resize (w);
  EXPECT_EQ (out, raw_cbc (kKey128, iv, Bytes (16, 16)));
}

TEST (Core, create_rejects_bad_key_sizes)
{
  std::string error;
  SecureBytes key (15);
  Bytes iv (16);
  EXPECT_FALSE (Cipher::create (Mode::kCtr, true, key, iv.data (), &error));
  EXPECT_NE (error.find ("got 15"), std::string::npos);
  EXPECT_FALSE (
      Cipher::create (Mode::kCtr, true, key_of (kKey128), nullptr, &error));
}

TEST (Core, header_round_trips_and_rejects_garbage)
{
  StreamHeader h;
  h.mode = Mode::kCtr;
  h.key_length = 32;
  for (size_t i = 0; i < 16; i++)
    h.iv[i] = static_cast<uint8_t> (i * 7);
  auto bytes = h.serialize ();
  // Layout from docs/format.md.
  EXPECT_EQ (to_hex (bytes.data (), 8), "414553730101"
                                        "2020");
  StreamHeader back;
  std::string error;
  ASSERT_TRUE (
      StreamHeader::parse (bytes.data (), bytes.size (), &back, &error));
  EXPECT_EQ (back.mode, Mode::kCtr);
  EXPECT_EQ (back.key_length, 32);
  EXPECT_EQ (back.iv, h.iv);

  auto bad = bytes;
  bad[0] = 'X';
  EXPECT_FALSE (StreamHeader::parse (bad.data (), bad.size (), &back, &error));
  EXPECT_NE (error.find ("does not start with an aesstream header"),
      std::string::npos);
  bad = bytes;
  bad[4] = 9;
  EXPECT_FALSE (StreamHeader::parse (bad.data (), bad.size (), &back, &error));
  EXPECT_NE (error.find ("version 9"), std::string::npos);
  bad = bytes;
  bad[5] = 77;
  EXPECT_FALSE (StreamHeader::parse (bad.data (), bad.size (), &back, &error));
  bad = bytes;
  bad[6] = 17;
  EXPECT_FALSE (StreamHeader::parse (bad.data (), bad.size (), &back, &error));
  EXPECT_FALSE (StreamHeader::parse (bytes.data (), 20, &back, &error));
}

TEST (Core, secure_bytes_move_leaves_source_empty)
{
  SecureBytes a = key_of (kKey128);
  SecureBytes b = std::move (a);
  EXPECT_TRUE (a.empty ());
  EXPECT_EQ (b.size (), 16u);
  EXPECT_EQ (to_hex (b.data (), 8), "2b7e151628aed2a6");
}

// Expected ids computed with Python's hmac module:
// hmac.new(key, b"aesstream key id", hashlib.sha256).hexdigest()[:32]
TEST (Core, key_id_is_truncated_hmac_sha256_of_the_label)
{
  struct
  {
    const char *key, *id;
  } cases[] = {
      {"000102030405060708090a0b0c0d0e0f", "fc7087789792436637e8955a364eb3d7"},
      {kKey128, "24efab2a070e1c7693eb4ce6087932e0"},
      {kKey256, "4959857e62fa8384c45249d86e3a7848"},
  };
  for (const auto &c : cases) {
    auto id = key_id (key_of (c.key));
    EXPECT_EQ (to_hex (id.data (), id.size ()), c.id) << c.key;
  }
}

// ---------------------------------------------------------------------------
// AES-GCM: the test cases of McGrew & Viega, "The Galois/Counter Mode of
// Operation (GCM)", which NIST SP 800-38D's validation refers to.

namespace {

struct GcmVector
{
  const char *name;
  const char *key, *iv, *plain, *aad, *cipher, *tag;
};

const char *kGcmP
    = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
const char *kGcmP60
    = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
const char *kGcmA = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
const char *kGcmIv = "cafebabefacedbaddecaf888";
const char *kGcmK = "feffe9928665731c6d6a8f9467308308";

const GcmVector kGcmVectors[] = {
    {"TC1 AES-128 empty", "00000000000000000000000000000000",
        "000000000000000000000000", "", "", "",
        "58e2fccefa7e3061367f1d57a4e7455a"},
    {"TC2 AES-128", "00000000000000000000000000000000",
        "000000000000000000000000", "00000000000000000000000000000000", "",
        "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf"},
    {"TC3 AES-128 no AAD", kGcmK, kGcmIv, kGcmP, "",
        "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
        "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
        "4d5c2af327cd64a62cf35abd2ba6fab4"},
    {"TC4 AES-128 with AAD", kGcmK, kGcmIv, kGcmP60, kGcmA,
        "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
        "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
        "5bc94fbc3221a5db94fae95ae7121a47"},
    {"TC8 AES-192", "000000000000000000000000000000000000000000000000",
        "000000000000000000000000", "00000000000000000000000000000000", "",
        "98e7247c07f0fe411c267e4384b0f600", "2ff58d80033927ab8ef4d4587514f0fb"},
    {"TC9 AES-192 no AAD", "feffe9928665731c6d6a8f9467308308feffe9928665731c",
        kGcmIv, kGcmP, "",
        "3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c"
        "7d773d00c144c525ac619d18c84a3f4718e2448b2fe324d9ccda2710acade256",
        "9924a7c8587336bfb118024db8674a14"},
    {"TC10 AES-192 with AAD",
        "feffe9928665731c6d6a8f9467308308feffe9928665731c", kGcmIv, kGcmP60,
        kGcmA,
        "3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c"
        "7d773d00c144c525ac619d18c84a3f4718e2448b2fe324d9ccda2710",
        "2519498e80f1478f37ba55bd6d27618c"},
    {"TC14 AES-256",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000", "00000000000000000000000000000000", "",
        "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    {"TC15 AES-256 no AAD",
        "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
        kGcmIv, kGcmP, "",
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
        "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
        "b094dac5d93471bdec1a502270e3cc6c"},
    {"TC16 AES-256 with AAD",
        "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
        kGcmIv, kGcmP60, kGcmA,
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
        "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
        "76fc6ece0f4e1768cddf8853bb2d551b"},
};

std::unique_ptr<Gcm>
make_gcm (const char *key, bool encrypt)
{
  std::string error;
  auto g = Gcm::create (key_of (key), encrypt, &error);
  EXPECT_TRUE (g) << error;
  return g;
}

} // namespace

TEST (Gcm, spec_test_cases_seal_and_open)
{
  for (const GcmVector &v : kGcmVectors) {
    SCOPED_TRACE (v.name);
    Bytes iv = hex (v.iv), p = hex (v.plain), a = hex (v.aad);
    Bytes out (p.size () + 1), tag (16);
    ASSERT_TRUE (make_gcm (v.key, true)
                     ->seal (iv.data (), a.data (), a.size (), p.data (),
                         p.size (), out.data (), tag.data ()));
    out.resize (p.size ());
    EXPECT_EQ (out, hex (v.cipher));
    EXPECT_EQ (tag, hex (v.tag));

    Bytes back (p.size () + 1);
    Bytes c = hex (v.cipher), t = hex (v.tag);
    ASSERT_TRUE (make_gcm (v.key, false)
                     ->open (iv.data (), a.data (), a.size (), c.data (),
                         c.size (), back.data (), t.data ()));
    back.resize (p.size ());
    EXPECT_EQ (back, p);
  }
}

TEST (Gcm, one_context_record_after_record_takes_each_records_nonce)
{
  // Every record only sets its nonce (and, opening, its tag) on a context
  // that keeps its key: a record between two others, under another nonce,
  // after a failed open, must not change anyone's answer. Both ways of
  // setting it: in one provider call (this OpenSSL passes the known-answer
  // check that chooses it, or the per-record cost is not what the
  // benchmarks say), and the EVP_CipherInit_ex fallback.
  EXPECT_TRUE (Gcm::fast_nonce_in_use ());
  for (int round = 0; round < 2 * static_cast<int> (std::size (kGcmVectors));
       round++) {
    const bool fallback = round % 2 == 1;
    const GcmVector &v = kGcmVectors[round / 2];
    Gcm::force_nonce_fallback (fallback);
    EXPECT_EQ (Gcm::fast_nonce_in_use (), !fallback);
    SCOPED_TRACE (std::string (v.name) + (fallback ? " (fallback)" : ""));
    Bytes iv = hex (v.iv), p = hex (v.plain), a = hex (v.aad);
    Bytes other_iv = iv;
    other_iv[11] ^= 0x01;
    auto enc = make_gcm (v.key, true), dec = make_gcm (v.key, false);
    Bytes other (p.size () + 1), other_tag (16), again (p.size () + 1),
        again_tag (16), out (p.size () + 1), tag (16);
    ASSERT_TRUE (enc->seal (other_iv.data (), a.data (), a.size (), p.data (),
        p.size (), other.data (), other_tag.data ()));
    ASSERT_TRUE (enc->seal (iv.data (), a.data (), a.size (), p.data (),
        p.size (), out.data (), tag.data ()));
    ASSERT_TRUE (enc->seal (other_iv.data (), a.data (), a.size (), p.data (),
        p.size (), again.data (), again_tag.data ()));
    out.resize (p.size ());
    other.resize (p.size ());
    again.resize (p.size ());
    EXPECT_EQ (out, hex (v.cipher));
    EXPECT_EQ (tag, hex (v.tag));
    EXPECT_EQ (again, other);
    EXPECT_EQ (again_tag, other_tag);
    EXPECT_NE (other_tag, tag);

    Bytes back (p.size () + 1), bad_tag = tag;
    bad_tag[0] ^= 0x01;
    EXPECT_FALSE (dec->open (iv.data (), a.data (), a.size (), out.data (),
        out.size (), back.data (), bad_tag.data ()));
    EXPECT_FALSE (dec->open (other_iv.data (), a.data (), a.size (),
        out.data (), out.size (), back.data (), tag.data ()));
    ASSERT_TRUE (dec->open (iv.data (), a.data (), a.size (), out.data (),
        out.size (), back.data (), tag.data ()));
    back.resize (p.size ());
    EXPECT_EQ (back, p);
    back.resize (p.size () + 1);
    ASSERT_TRUE (dec->open (other_iv.data (), a.data (), a.size (),
        other.data (), other.size (), back.data (), other_tag.data ()));
    back.resize (p.size ());
    EXPECT_EQ (back, p);
  }
  Gcm::force_nonce_fallback (false);
}

TEST (Gcm, any_flipped_bit_fails_authentication)
{
  const GcmVector &v = kGcmVectors[3];
  Bytes iv = hex (v.iv), a = hex (v.aad), c = hex (v.cipher), t = hex (v.tag);
  auto g = make_gcm (v.key, false);
  Bytes out (c.size () + 1);
  for (Bytes *field : {&a, &c, &t}) {
    for (size_t bit : {0u, 7u, 13u}) {
      (*field)[bit / 8] ^= static_cast<uint8_t> (1 << (bit % 8));
      EXPECT_FALSE (g->open (iv.data (), a.data (), a.size (), c.data (),
          c.size (), out.data (), t.data ()));
      (*field)[bit / 8] ^= static_cast<uint8_t> (1 << (bit % 8));
    }
  }
  // The context keeps working after failures.
  EXPECT_TRUE (g->open (iv.data (), a.data (), a.size (), c.data (), c.size (),
      out.data (), t.data ()));
  auto wrong = make_gcm ("00000000000000000000000000000000", false);
  EXPECT_FALSE (wrong->open (iv.data (), a.data (), a.size (), c.data (),
      c.size (), out.data (), t.data ()));
}

TEST (Gcm, spec_test_cases_open_from_pieces_of_any_size_in_place)
{
  // A ciphertext spread over memories (1, 2 or 3 pieces, cut anywhere,
  // decrypted where each piece lies) gives the SP 800-38D plaintext; a
  // flipped bit in any piece fails the whole.
  for (const GcmVector &v : kGcmVectors) {
    SCOPED_TRACE (v.name);
    Bytes iv = hex (v.iv), a = hex (v.aad), p = hex (v.plain);
    Bytes t = hex (v.tag);
    const size_t n = p.size ();
    auto g = make_gcm (v.key, false);
    for (size_t cut1 = 0; cut1 <= n; cut1 += 7) {
      for (size_t cut2 = cut1; cut2 <= n; cut2 += 13) {
        Bytes c = hex (v.cipher); // decrypted in place, piece by piece
        const Gcm::Piece pieces[] = {{c.data (), c.data (), cut1},
            {c.data () + cut1, c.data () + cut1, cut2 - cut1},
            {c.data () + cut2, c.data () + cut2, n - cut2}};
        ASSERT_TRUE (
            g->open (iv.data (), a.data (), a.size (), pieces, 3, t.data ()))
            << cut1 << " " << cut2;
        EXPECT_EQ (c, p) << cut1 << " " << cut2;
        if (n == 0)
          continue;
        Bytes bad = hex (v.cipher);
        bad[cut2 < n ? cut2 : n - 1] ^= 0x80;
        Bytes out (n);
        const Gcm::Piece split[] = {{bad.data (), out.data (), cut1},
            {bad.data () + cut1, out.data () + cut1, n - cut1}};
        EXPECT_FALSE (
            g->open (iv.data (), a.data (), a.size (), split, 2, t.data ()));
      }
    }
  }
}

TEST (Gcm, hkdf_matches_rfc5869_test_case_1)
{
  Bytes ikm (22, 0x0b), salt = hex ("000102030405060708090a0b0c"),
                        info = hex ("f0f1f2f3f4f5f6f7f8f9");
  Bytes okm (42);
  ASSERT_TRUE (hkdf_sha256 (ikm.data (), ikm.size (), salt.data (),
      salt.size (), info.data (), info.size (), okm.data (), okm.size ()));
  EXPECT_EQ (okm, hex ("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db0"
                       "2d56ecc4c5bf34007208d5b887185865"));
}

TEST (Gcm, record_header_round_trips_and_checks_fields)
{
  GcmRecord r;
  r.flags = GcmRecord::kFlagFinal;
  r.length = 0x01020304;
  r.seq = 0x0000a1b2c3d4e5f6ull;
  for (size_t i = 0; i < r.salt.size (); i++)
    r.salt[i] = static_cast<uint8_t> (0xe0 + i);
  uint8_t bytes[GcmRecord::kHeaderSize];
  r.serialize (bytes);
  EXPECT_EQ (to_hex (bytes, sizeof bytes), "41670101"
                                           "01020304"
                                           "a1b2c3d4e5f6"
                                           "e0e1e2e3e4e5e6e7e8e9");
  GcmRecord back;
  std::string error;
  ASSERT_TRUE (GcmRecord::parse (bytes, &back, &error));
  EXPECT_EQ (back.length, r.length);
  EXPECT_EQ (back.seq, r.seq);
  EXPECT_EQ (back.salt, r.salt);
  EXPECT_EQ (back.flags, r.flags);
  EXPECT_EQ (to_hex (GcmRecord::nonce (r.seq).data (), 12),
      "000000000000a1b2c3d4e5f6");

  bytes[0] = 'X';
  EXPECT_FALSE (GcmRecord::parse (bytes, &back, &error));
  bytes[0] = 'A';
  bytes[2] = 2;
  EXPECT_FALSE (GcmRecord::parse (bytes, &back, &error));
  EXPECT_NE (error.find ("version 2"), std::string::npos);
  bytes[2] = 1;
  bytes[3] = 0x80;
  EXPECT_FALSE (GcmRecord::parse (bytes, &back, &error));
  bytes[3] = 0;
  bytes[4] = 0xff;
  EXPECT_FALSE (GcmRecord::parse (bytes, &back, &error));
}

TEST (Gcm, subkeys_differ_per_salt_and_per_key)
{
  std::array<uint8_t, GcmRecord::kSaltSize> s1{}, s2{};
  s2[9] = 1;
  SecureBytes k = key_of (kKey256);
  SecureBytes a = GcmRecord::derive_key (k, s1);
  SecureBytes b = GcmRecord::derive_key (k, s2);
  SecureBytes c = GcmRecord::derive_key (key_of (kKey128), s1);
  ASSERT_EQ (a.size (), 32u);
  EXPECT_EQ (c.size (), 16u);
  EXPECT_NE (to_hex (a.data (), 32), to_hex (b.data (), 32));
  // Independent check: HKDF-SHA256 with the documented info string.
  static const char info[] = "aesstream gcm v1";
  Bytes expect (32);
  ASSERT_TRUE (hkdf_sha256 (k.data (), k.size (), s2.data (), s2.size (),
      reinterpret_cast<const uint8_t *> (info), sizeof (info) - 1,
      expect.data (), expect.size ()));
  EXPECT_EQ (to_hex (b.data (), 32), to_hex (expect.data (), 32));
}

TEST (Gcm, replay_window_counts_loss_duplicates_and_late_arrivals)
{
  ReplayWindow w;
  EXPECT_EQ (w.check (5), ReplayWindow::Verdict::kNew);
  EXPECT_EQ (w.accept (5), 0); // joined late: nothing counted lost
  EXPECT_EQ (w.check (5), ReplayWindow::Verdict::kDuplicate);
  EXPECT_EQ (w.accept (6), 0);
  EXPECT_EQ (w.accept (10), 3); // 7, 8, 9 missing
  EXPECT_EQ (w.check (8), ReplayWindow::Verdict::kNew);
  EXPECT_EQ (w.accept (8), -1); // late, no longer lost
  EXPECT_EQ (w.check (8), ReplayWindow::Verdict::kDuplicate);
  EXPECT_EQ (w.accept (10 + 64), 63);
  EXPECT_EQ (w.check (10), ReplayWindow::Verdict::kTooOld);
  EXPECT_EQ (w.check (11), ReplayWindow::Verdict::kNew);
  EXPECT_EQ (w.check (74), ReplayWindow::Verdict::kDuplicate);
}

TEST (Gcm, open_budget_pays_for_clean_streams_and_bounds_failed_work)
{
  OpenBudget b;
  // A clean stream: every record's bytes arrive before it is opened.
  for (int i = 0; i < 100000; i++) {
    b.earn (1440);
    ASSERT_TRUE (b.can_open (1440));
  }
  // An attack: candidates claiming 1 MiB every 24 bytes of input. The work
  // spent on them stays within kFactor times the input (plus what was
  // saved up, at most twice the initial allowance).
  OpenBudget a;
  uint64_t input = 0, spent = 0;
  for (int i = 0; i < 200000; i++) {
    a.earn (24);
    input += 24;
    if (a.can_open (1 << 20)) {
      a.charge (1 << 20);
      spent += 1 << 20;
    }
  }
  EXPECT_LE (spent, OpenBudget::kFactor * input + 2 * OpenBudget::kInitial);
  EXPECT_GT (spent, 0u);
}

// Finding 7: per-buffer padding after re-chunking. What is detected and
// what is not is pinned here and stated in docs/elements.md and in the
// error text (the format, gst-plugins-bad's, records no buffer sizes).
TEST (Core, cbc_per_chunk_rechunking_what_is_and_is_not_detected)
{
  Bytes iv = hex (kCbcIv);
  Bytes a (40, 0x61), b (20, 0x62); // plaintext never ends like padding
  auto enc = make_per_chunk (true, kKey128, iv);
  Bytes ca (64), cb (48);
  size_t wa = 0, wb = 0;
  std::string err;
  ASSERT_TRUE (enc->update (a.data (), a.size (), ca.data (), &wa, &err));
  ASSERT_TRUE (enc->update (b.data (), b.size (), cb.data (), &wb, &err));
  ASSERT_EQ (wa, 48u);
  ASSERT_EQ (wb, 32u);
  ca.resize (wa);
  cb.resize (wb);

  // Split at a block boundary inside a buffer: detected here (the byte
  // before the split is 0x61, not padding), with a message that says so.
  {
    auto dec = make_per_chunk (false, kKey128, iv);
    Bytes out (64);
    size_t w = 0;
    EXPECT_FALSE (dec->update (ca.data (), 32, out.data (), &w, &err));
    EXPECT_NE (err.find ("merged buffers never are"), std::string::npos) << err;
  }
  // Two buffers merged whole: not detected. The first buffer's padding
  // (eight 0x08 bytes) stays inside the output.
  {
    auto dec = make_per_chunk (false, kKey128, iv);
    Bytes merged = ca;
    merged.insert (merged.end (), cb.begin (), cb.end ());
    Bytes out (merged.size () + 16);
    size_t w = 0;
    ASSERT_TRUE (
        dec->update (merged.data (), merged.size (), out.data (), &w, &err))
        << err;
    out.resize (w);
    Bytes expected = a;
    expected.insert (expected.end (), 8, 0x08);
    expected.insert (expected.end (), b.begin (), b.end ());
    EXPECT_EQ (out, expected);
  }
}
