// GstHarness tests of aesenc/aesdec. The plugin is linked into this binary
// and registered statically, so what the system registry holds (for example
// gst-plugins-bad's own aesenc) does not matter. Expected ciphertext comes
// from OpenSSL's EVP API called directly here, not from the elements.
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <openssl/core_names.h>
#include <openssl/kdf.h>

#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "testutil.hpp"

extern "C" void gst_plugin_aesstream_register (void);

using GstAesStreamModeValue = gint; // enum property read as its int value
using Props = std::vector<std::pair<const char *, const char *>>;

namespace {

const char *kKey128 = "2b7e151628aed2a6abf7158809cf4f3c";
const char *kKey256
    = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
const char *kIv = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

// One-shot reference straight from OpenSSL. ECB input is zero-padded here,
// as the original recipe did.
Bytes
reference (const char *mode, bool encrypt, const char *key_hex,
    const char *iv_hex, Bytes data)
{
  Bytes key = hex (key_hex);
  std::string name = "AES-" + std::to_string (key.size () * 8) + "-" + mode;
  EVP_CIPHER *cipher = EVP_CIPHER_fetch (nullptr, name.c_str (), nullptr);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  Bytes iv = iv_hex ? hex (iv_hex) : Bytes ();
  EVP_CipherInit_ex (ctx, cipher, nullptr, key.data (),
      iv.empty () ? nullptr : iv.data (), encrypt ? 1 : 0);
  EVP_CIPHER_CTX_set_padding (ctx, std::string (mode) == "CBC");
  if (std::string (mode) == "ECB" && encrypt && data.size () % 16)
    data.resize (data.size () + 16 - data.size () % 16, 0);
  Bytes out (data.size () + 32);
  int n = 0, m = 0;
  EVP_CipherUpdate (
      ctx, out.data (), &n, data.data (), static_cast<int> (data.size ()));
  EVP_CipherFinal_ex (ctx, out.data () + n, &m);
  out.resize (n + m);
  EVP_CIPHER_CTX_free (ctx);
  EVP_CIPHER_free (cipher);
  return out;
}

GstBuffer *
new_buffer (const Bytes &b)
{
  return b.empty () ? gst_buffer_new ()
                    : gst_buffer_new_memdup (b.data (), b.size ());
}

// What a source does before its first buffer (without caps).
void
start_stream (GstHarness *h)
{
  gst_harness_push_event (h, gst_event_new_stream_start ("test"));
  GstSegment seg;
  gst_segment_init (&seg, GST_FORMAT_BYTES);
  gst_harness_push_event (h, gst_event_new_segment (&seg));
}

GstElement *
make (const char *factory, const Props &props)
{
  GstElement *e = gst_element_factory_make (factory, nullptr);
  EXPECT_NE (e, nullptr);
  for (auto &p : props)
    gst_util_set_object_arg (G_OBJECT (e), p.first, p.second);
  return e;
}

// A harness around a configured element, with a bus to read errors from.
struct Harness
{
  GstHarness *h = nullptr;
  GstBus *bus = nullptr;
  Harness (const char *factory, const Props &props, const char *caps = nullptr)
  {
    GstElement *e = make (factory, props);
    bus = gst_bus_new ();
    gst_element_set_bus (e, bus);
    h = gst_harness_new_with_element (e, "sink", "src");
    gst_object_unref (e);
    if (caps) {
      gst_harness_set_src_caps_str (h, caps); // also stream-start, segment
    } else {
      gst_harness_play (h);
      start_stream (h);
    }
  }
  ~Harness ()
  {
    gst_harness_teardown (h);
    gst_object_unref (bus);
  }
  GstFlowReturn push (const Bytes &b, GstClockTime pts = GST_CLOCK_TIME_NONE)
  {
    GstBuffer *buf = new_buffer (b);
    GST_BUFFER_PTS (buf) = pts;
    return gst_harness_push (h, buf);
  }
  bool eos () { return gst_harness_push_event (h, gst_event_new_eos ()); }
  // Everything the element has output so far, concatenated.
  Bytes pull_all ()
  {
    Bytes out;
    GstBuffer *buf;
    while ((buf = gst_harness_try_pull (h)) != nullptr) {
      GstMapInfo map;
      gst_buffer_map (buf, &map, GST_MAP_READ);
      out.insert (out.end (), map.data, map.data + map.size);
      gst_buffer_unmap (buf, &map);
      gst_buffer_unref (buf);
    }
    return out;
  }
  // The first error / warning message on the bus. (Reading the bus drops
  // what it passes over, so both kinds are read in one pass.)
  std::string error ()
  {
    read_bus ();
    return first (errors);
  }
  std::string warning ()
  {
    read_bus ();
    return first (warnings);
  }
  std::vector<std::string> errors, warnings;

private:
  static std::string first (std::vector<std::string> &v)
  {
    if (v.empty ())
      return "";
    std::string s = v.front ();
    v.erase (v.begin ());
    return s;
  }
  void read_bus ()
  {
    while (GstMessage *msg = gst_bus_pop_filtered (bus,
               (GstMessageType)(GST_MESSAGE_ERROR | GST_MESSAGE_WARNING))) {
      GError *err = nullptr;
      bool is_error = GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR;
      if (is_error)
        gst_message_parse_error (msg, &err, nullptr);
      else
        gst_message_parse_warning (msg, &err, nullptr);
      (is_error ? errors : warnings).push_back (err->message);
      g_error_free (err);
      gst_message_unref (msg);
    }
  }
};

// Pushes `data` through a fresh element in chunks of 0..max_chunk bytes.
Bytes
run_chunked (const char *factory, const Props &props, const Bytes &data,
    unsigned seed, size_t max_chunk)
{
  Harness h (factory, props);
  std::mt19937 rng (seed);
  for (size_t pos = 0; pos < data.size ();) {
    size_t n = std::min<size_t> (rng () % (max_chunk + 1), data.size () - pos);
    EXPECT_EQ (h.push (Bytes (data.begin () + pos, data.begin () + pos + n)),
        GST_FLOW_OK);
    pos += n;
  }
  EXPECT_TRUE (h.eos ());
  EXPECT_EQ (h.error (), "");
  return h.pull_all ();
}

// Tries to start an element configured with `props` and returns the error
// it posted ("" if it started).
std::string
start_error (const char *factory, const Props &props)
{
  GstElement *e = make (factory, props);
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (e, bus);
  GstStateChangeReturn ret = gst_element_set_state (e, GST_STATE_PAUSED);
  std::string text;
  if (GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR)) {
    GError *err = nullptr;
    gst_message_parse_error (msg, &err, nullptr);
    text = err->message;
    g_error_free (err);
    gst_message_unref (msg);
    EXPECT_EQ (ret, GST_STATE_CHANGE_FAILURE);
  }
  gst_element_set_state (e, GST_STATE_NULL);
  gst_object_unref (e);
  gst_object_unref (bus);
  return text;
}

} // namespace

TEST (Registration, factories_come_from_this_plugin)
{
  for (const char *name : {"aesenc", "aesdec"}) {
    GstElementFactory *f = gst_element_factory_find (name);
    ASSERT_NE (f, nullptr);
    EXPECT_STREQ (gst_plugin_feature_get_plugin_name (GST_PLUGIN_FEATURE (f)),
        "aesstream");
    gst_object_unref (f);
  }
  GstElement *e = make ("aesenc", {});
  EXPECT_STREQ (G_OBJECT_TYPE_NAME (e), "GstAesStreamEnc");
  gst_object_unref (e);
}

TEST (Ctr, matches_openssl_for_any_chunking)
{
  for (const char *key :
      {kKey128, "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b", kKey256}) {
    Bytes data = random_bytes (5000, 7);
    Bytes expected = reference ("CTR", true, key, kIv, data);
    for (unsigned seed = 0; seed < 20; seed++) {
      ASSERT_EQ (
          run_chunked ("aesenc", {{"key", key}, {"iv", kIv}}, data, seed, 300),
          expected)
          << "seed " << seed;
      ASSERT_EQ (run_chunked ("aesdec", {{"key", key}, {"iv", kIv}}, expected,
                     seed, 300),
          data)
          << "seed " << seed;
    }
  }
}

TEST (Ecb, matches_zero_padded_openssl_for_any_chunking)
{
  for (size_t len : {0, 1, 15, 16, 17, 1000, 4099}) {
    Bytes data = random_bytes (len, static_cast<unsigned> (len));
    Bytes expected = reference ("ECB", true, kKey256, nullptr, data);
    for (unsigned seed = 0; seed < 20; seed++) {
      ASSERT_EQ (run_chunked ("aesenc", {{"key", kKey256}, {"mode", "ecb"}},
                     data, seed, 70),
          expected)
          << "len " << len << " seed " << seed;
      Bytes padded = data;
      padded.resize (expected.size (), 0);
      ASSERT_EQ (run_chunked ("aesdec", {{"key", kKey256}, {"mode", "ecb"}},
                     expected, seed, 70),
          padded);
    }
  }
}

TEST (Cbc, matches_openssl_pkcs7_for_any_chunking)
{
  // per-buffer-padding=false: one PKCS#7 padding at EOS, as openssl enc.
  for (size_t len : {0, 1, 16, 1000, 4099}) {
    Bytes data = random_bytes (len, static_cast<unsigned> (len) + 11);
    Bytes expected = reference ("CBC", true, kKey256, kIv, data);
    Props props = {{"mode", "cbc"}, {"key", kKey256}, {"iv", kIv},
        {"per-buffer-padding", "false"}};
    for (unsigned seed = 0; seed < 20; seed++) {
      ASSERT_EQ (run_chunked ("aesenc", props, data, seed, 70), expected)
          << "len " << len << " seed " << seed;
      ASSERT_EQ (run_chunked ("aesdec", props, expected, seed, 70), data)
          << "len " << len << " seed " << seed;
    }
  }
}

TEST (Cbc, per_buffer_padding_pads_every_buffer)
{
  Harness h (
      "aesenc", {{"cipher", "aes-128-cbc"}, {"key", kKey128}, {"iv", kIv}});
  for (size_t n : {1u, 16u, 33u}) {
    ASSERT_EQ (h.push (random_bytes (n, 1)), GST_FLOW_OK);
    GstBuffer *out = gst_harness_pull (h.h);
    EXPECT_EQ (gst_buffer_get_size (out), n + 16 - n % 16);
    gst_buffer_unref (out);
  }
  // Setting cipher selected CBC; reading mode back says so.
  GstAesStreamModeValue mode = 0;
  g_object_get (h.h->element, "mode", &mode, nullptr);
  EXPECT_EQ (mode, 2); // GST_AES_STREAM_MODE_CBC
}

TEST (Cbc, serialized_iv_is_written_once_and_read_across_buffers)
{
  Props enc = {{"mode", "cbc"}, {"key", kKey128}, {"iv", kIv},
      {"serialize-iv", "true"}, {"per-buffer-padding", "false"}};
  Bytes data = random_bytes (500, 8);
  Bytes ct = run_chunked ("aesenc", enc, data, 3, 60);
  Bytes expected = hex (kIv);
  Bytes body = reference ("CBC", true, kKey128, kIv, data);
  expected.insert (expected.end (), body.begin (), body.end ());
  ASSERT_EQ (ct, expected);
  Props dec = {{"mode", "cbc"}, {"key", kKey128}, {"serialize-iv", "true"},
      {"per-buffer-padding", "false"}};
  for (unsigned seed = 0; seed < 20; seed++)
    ASSERT_EQ (run_chunked ("aesdec", dec, ct, seed, 20), data) << seed;
}

TEST (Ctr, header_stream_round_trips_for_any_chunking)
{
  Bytes data = random_bytes (3000, 3);
  for (unsigned seed = 0; seed < 30; seed++) {
    Bytes enc = run_chunked ("aesenc", {{"key", kKey128}}, data, seed, 100);
    ASSERT_EQ (enc.size (), data.size () + 32);
    // The body is raw CTR under the IV in the header (docs/format.md).
    std::string iv = "";
    for (int i = 8; i < 24; i++) {
      char b[3];
      std::snprintf (b, sizeof b, "%02x", enc[i]);
      iv += b;
    }
    ASSERT_EQ (Bytes (enc.begin () + 32, enc.end ()),
        reference ("CTR", true, kKey128, iv.c_str (), data));
    ASSERT_EQ (
        run_chunked ("aesdec", {{"key", kKey128}}, enc, seed + 1000, 20), data)
        << "seed " << seed;
  }
}

TEST (Ctr, random_iv_differs_between_starts)
{
  Bytes data (64, 0);
  Bytes a = run_chunked ("aesenc", {{"key", kKey128}}, data, 1, 64);
  Bytes b = run_chunked ("aesenc", {{"key", kKey128}}, data, 1, 64);
  ASSERT_EQ (a.size (), b.size ());
  EXPECT_NE (Bytes (a.begin () + 8, a.begin () + 24),
      Bytes (b.begin () + 8, b.begin () + 24));
  EXPECT_NE (a, b);
}

TEST (Ctr, keeps_buffer_sizes_timestamps_and_flags)
{
  Harness h ("aesenc", {{"key", kKey128}, {"iv", kIv}});
  Bytes data = random_bytes (1000, 5);
  GstBuffer *in = gst_buffer_new_memdup (data.data (), data.size ());
  GST_BUFFER_PTS (in) = 40 * GST_MSECOND;
  GST_BUFFER_DTS (in) = 20 * GST_MSECOND;
  GST_BUFFER_DURATION (in) = 33 * GST_MSECOND;
  GST_BUFFER_OFFSET (in) = 7;
  GST_BUFFER_OFFSET_END (in) = 8;
  GST_BUFFER_FLAG_SET (in, GST_BUFFER_FLAG_DELTA_UNIT);
  GST_BUFFER_FLAG_SET (in, GST_BUFFER_FLAG_DISCONT);
  ASSERT_EQ (gst_harness_push (h.h, in), GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull (h.h);
  EXPECT_EQ (gst_buffer_get_size (out), 1000u);
  EXPECT_EQ (GST_BUFFER_PTS (out), 40 * GST_MSECOND);
  EXPECT_EQ (GST_BUFFER_DTS (out), 20 * GST_MSECOND);
  EXPECT_EQ (GST_BUFFER_DURATION (out), 33 * GST_MSECOND);
  EXPECT_EQ (GST_BUFFER_OFFSET (out), 7u);
  EXPECT_EQ (GST_BUFFER_OFFSET_END (out), 8u);
  EXPECT_TRUE (GST_BUFFER_FLAG_IS_SET (out, GST_BUFFER_FLAG_DELTA_UNIT));
  EXPECT_TRUE (GST_BUFFER_FLAG_IS_SET (out, GST_BUFFER_FLAG_DISCONT));
  gst_buffer_unref (out);
  // An empty buffer stays an (empty) buffer.
  ASSERT_EQ (h.push (Bytes (), 80 * GST_MSECOND), GST_FLOW_OK);
  out = gst_harness_pull (h.h);
  EXPECT_EQ (gst_buffer_get_size (out), 0u);
  EXPECT_EQ (GST_BUFFER_PTS (out), 80 * GST_MSECOND);
  gst_buffer_unref (out);
}

TEST (Ctr, encrypts_writable_buffers_in_place)
{
  Harness h ("aesenc", {{"key", kKey128}, {"iv", kIv}});
  Bytes data = random_bytes (4096, 9);
  GstBuffer *in = gst_buffer_new_memdup (data.data (), data.size ());
  GstMemory *mem = gst_buffer_peek_memory (in, 0);
  ASSERT_EQ (gst_harness_push (h.h, in), GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull (h.h);
  EXPECT_EQ (gst_buffer_peek_memory (out, 0), mem);
  gst_buffer_unref (out);

  // A buffer someone else holds is not written to: the output is a copy.
  GstBuffer *shared = gst_buffer_new_memdup (data.data (), data.size ());
  gst_buffer_ref (shared);
  ASSERT_EQ (gst_harness_push (h.h, shared), GST_FLOW_OK);
  out = gst_harness_pull (h.h);
  EXPECT_NE (out, shared);
  GstMapInfo map;
  gst_buffer_map (shared, &map, GST_MAP_READ);
  EXPECT_EQ (Bytes (map.data, map.data + map.size), data);
  gst_buffer_unmap (shared, &map);
  gst_buffer_unref (shared);
  gst_buffer_unref (out);
}

TEST (Ecb, works_in_place_when_no_block_is_carried)
{
  Harness h ("aesenc", {{"key", kKey128}, {"mode", "ecb"}});
  Bytes data = random_bytes (4096 + 5, 3);
  GstBuffer *in = new_buffer (data);
  GstMemory *mem = gst_buffer_peek_memory (in, 0);
  ASSERT_EQ (gst_harness_push (h.h, in), GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull (h.h);
  EXPECT_EQ (gst_buffer_peek_memory (out, 0), mem); // same memory
  EXPECT_EQ (gst_buffer_get_size (out), 4096u);     // 5 bytes carried
  gst_buffer_unref (out);
  // With 5 bytes carried, the next output would run ahead of its input:
  // it goes to a new buffer, and the bytes still match one-shot ECB.
  Bytes more = random_bytes (100, 4);
  ASSERT_EQ (h.push (more), GST_FLOW_OK);
  h.eos ();
  Bytes all = data;
  all.insert (all.end (), more.begin (), more.end ());
  Bytes expected = reference ("ECB", true, kKey128, nullptr, all);
  EXPECT_EQ (h.pull_all (), Bytes (expected.begin () + 4096, expected.end ()));
}

namespace {

// Answers the ALLOCATION query as a downstream element with a buffer pool.
GstPadProbeReturn
propose_pool (GstPad *pad, GstPadProbeInfo *info, gpointer pool)
{
  GstQuery *q = GST_PAD_PROBE_INFO_QUERY (info);
  if (GST_QUERY_TYPE (q) != GST_QUERY_ALLOCATION)
    return GST_PAD_PROBE_OK;
  gst_query_add_allocation_pool (q, GST_BUFFER_POOL (pool), 8192, 0, 0);
  return GST_PAD_PROBE_HANDLED;
}

} // namespace

TEST (Ctr, region_of_a_bigger_buffer_is_encrypted_correctly)
{
  // Parsers and adapters hand out regions of bigger buffers: their memory
  // is shared and cannot be mapped for writing as it is.
  Harness h ("aesenc", {{"key", kKey128}, {"iv", kIv}});
  Bytes data = random_bytes (3000, 10);
  GstBuffer *big = new_buffer (data);
  GstBuffer *part
      = gst_buffer_copy_region (big, GST_BUFFER_COPY_ALL, 1000, 1000);
  gst_buffer_unref (big);
  ASSERT_EQ (gst_harness_push (h.h, part), GST_FLOW_OK);
  EXPECT_EQ (
      h.pull_all (), reference ("CTR", true, kKey128, kIv,
                         Bytes (data.begin () + 1000, data.begin () + 2000)));
}

TEST (Ctr, read_only_input_is_copied_once_into_the_downstream_pool)
{
  GstElement *e = make ("aesenc", {{"key", kKey128}, {"iv", kIv}});
  GstHarness *h = gst_harness_new_with_element (e, "sink", "src");
  GstBufferPool *pool = gst_buffer_pool_new ();
  gst_pad_add_probe (h->sinkpad, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM,
      propose_pool, pool, NULL);
  gst_harness_set_src_caps_str (h, "application/octet-stream");
  Bytes data = random_bytes (4000, 6);
  GstBuffer *in = new_buffer (data);
  gst_buffer_ref (in); // not writable: someone else holds it
  ASSERT_EQ (gst_harness_push (h, in), GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull (h);
  EXPECT_EQ (out->pool, pool);
  GstMapInfo map;
  gst_buffer_map (out, &map, GST_MAP_READ);
  EXPECT_EQ (Bytes (map.data, map.data + map.size),
      reference ("CTR", true, kKey128, kIv, data));
  gst_buffer_unmap (out, &map);
  gst_buffer_map (in, &map, GST_MAP_READ);
  EXPECT_EQ (Bytes (map.data, map.data + map.size), data); // untouched
  gst_buffer_unmap (in, &map);
  gst_buffer_unref (in);
  gst_buffer_unref (out);
  gst_harness_teardown (h);
  gst_object_unref (pool);
  gst_object_unref (e);
}

TEST (Ecb, pads_only_at_eos)
{
  Harness h ("aesenc", {{"key", kKey128}, {"mode", "ecb"}});
  EXPECT_NE (h.warning ().find ("insecure"), std::string::npos);
  Bytes data = random_bytes (20, 1);
  ASSERT_EQ (h.push (Bytes (data.begin (), data.begin () + 10)), GST_FLOW_OK);
  EXPECT_EQ (gst_harness_buffers_in_queue (h.h), 0u); // carried, not padded
  ASSERT_EQ (h.push (Bytes (data.begin () + 10, data.end ())), GST_FLOW_OK);
  EXPECT_EQ (h.pull_all ().size (), 16u);
  ASSERT_TRUE (h.eos ());
  Bytes tail = h.pull_all ();
  Bytes expected = reference ("ECB", true, kKey128, nullptr, data);
  EXPECT_EQ (tail, Bytes (expected.begin () + 16, expected.end ()));
}

TEST (Ecb, truncated_ciphertext_is_an_error_at_eos)
{
  Harness h ("aesdec", {{"key", kKey128}, {"mode", "ecb"}});
  ASSERT_EQ (h.push (random_bytes (40, 1)), GST_FLOW_OK);
  h.eos ();
  EXPECT_NE (h.error ().find ("not a multiple of 16"), std::string::npos);
}

TEST (Stream, restart_with_fixed_iv_reproduces_the_bytes)
{
  GstElement *e = make ("aesenc", {{"key", kKey128}, {"iv", kIv}});
  GstHarness *h = gst_harness_new_with_element (e, "sink", "src");
  gst_harness_play (h);
  start_stream (h);
  Bytes data = random_bytes (100, 2);
  auto once = [&] () {
    gst_harness_push (h, gst_buffer_new_memdup (data.data (), data.size ()));
    GstBuffer *b = gst_harness_pull (h);
    GstMapInfo m;
    gst_buffer_map (b, &m, GST_MAP_READ);
    Bytes out (m.data, m.data + m.size);
    gst_buffer_unmap (b, &m);
    gst_buffer_unref (b);
    return out;
  };
  Bytes first = once ();
  EXPECT_EQ (first, reference ("CTR", true, kKey128, kIv, data));
  ASSERT_EQ (
      gst_element_set_state (e, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  ASSERT_EQ (
      gst_element_set_state (e, GST_STATE_PLAYING), GST_STATE_CHANGE_SUCCESS);
  start_stream (h);
  EXPECT_EQ (once (), first);
  gst_object_unref (e);
  gst_harness_teardown (h);
}

TEST (Stream, flush_drops_carried_bytes)
{
  Harness h ("aesenc", {{"key", kKey128}, {"mode", "ecb"}});
  ASSERT_EQ (h.push (Bytes (5, 0xaa)), GST_FLOW_OK);
  gst_harness_push_event (h.h, gst_event_new_flush_start ());
  gst_harness_push_event (h.h, gst_event_new_flush_stop (TRUE));
  GstSegment seg;
  gst_segment_init (&seg, GST_FORMAT_TIME);
  gst_harness_push_event (h.h, gst_event_new_segment (&seg));
  Bytes block = random_bytes (16, 4);
  ASSERT_EQ (h.push (block), GST_FLOW_OK);
  h.eos ();
  EXPECT_EQ (h.pull_all (), reference ("ECB", true, kKey128, nullptr, block));
}

TEST (Stream, flush_restarts_ctr_with_a_new_header_and_iv)
{
  Harness h ("aesenc", {{"key", kKey128}});
  ASSERT_EQ (h.push (Bytes (10, 0)), GST_FLOW_OK);
  Bytes first = h.pull_all ();
  gst_harness_push_event (h.h, gst_event_new_flush_start ());
  gst_harness_push_event (h.h, gst_event_new_flush_stop (TRUE));
  GstSegment seg;
  gst_segment_init (&seg, GST_FORMAT_TIME);
  gst_harness_push_event (h.h, gst_event_new_segment (&seg));
  ASSERT_EQ (h.push (Bytes (10, 0)), GST_FLOW_OK);
  Bytes second = h.pull_all ();
  ASSERT_EQ (first.size (), 42u);
  ASSERT_EQ (second.size (), 42u);
  // A new header with a new IV: the keystream is never reused.
  EXPECT_EQ (Bytes (first.begin (), first.begin () + 8),
      Bytes (second.begin (), second.begin () + 8));
  EXPECT_NE (Bytes (first.begin () + 8, first.begin () + 24),
      Bytes (second.begin () + 8, second.begin () + 24));
}

TEST (Caps, ciphertext_is_labelled_and_original_caps_restored)
{
  const char *raw = "video/x-raw, format=(string)I420, width=(int)320, "
                    "height=(int)240, framerate=(fraction)30/1";
  Harness enc ("aesenc", {{"key", kKey128}}, raw);
  ASSERT_EQ (enc.push (random_bytes (115200, 1)), GST_FLOW_OK);
  GstCaps *caps = gst_pad_get_current_caps (enc.h->sinkpad);
  ASSERT_NE (caps, nullptr);
  GstStructure *s = gst_caps_get_structure (caps, 0);
  EXPECT_TRUE (gst_structure_has_name (s, "application/x-aes-encrypted"));
  EXPECT_STREQ (gst_structure_get_string (s, "mode"), "ctr");
  const char *original = gst_structure_get_string (s, "original-caps");
  ASSERT_NE (original, nullptr);
  GstCaps *orig = gst_caps_from_string (original);
  GstCaps *rawcaps = gst_caps_from_string (raw);
  EXPECT_TRUE (gst_caps_is_equal (orig, rawcaps));

  gchar *enc_caps = gst_caps_to_string (caps);
  Harness dec ("aesdec", {{"key", kKey128}}, enc_caps);
  g_free (enc_caps);
  GstBuffer *b = gst_harness_pull (enc.h);
  ASSERT_EQ (gst_harness_push (dec.h, b), GST_FLOW_OK);
  EXPECT_EQ (dec.pull_all ().size (), 115200u);
  GstCaps *out = gst_pad_get_current_caps (dec.h->sinkpad);
  ASSERT_NE (out, nullptr);
  EXPECT_TRUE (gst_caps_is_equal (out, rawcaps));
  gst_caps_unref (out);
  gst_caps_unref (orig);
  gst_caps_unref (rawcaps);
  gst_caps_unref (caps);
}

TEST (Caps, unrelated_input_caps_are_not_passed_on)
{
  // udpsrc's caps describe the transport, not the plaintext: downstream is
  // left to typefind.
  Harness dec ("aesdec", {{"key", kKey128}, {"iv", kIv}}, "application/x-rtp");
  ASSERT_EQ (dec.push (Bytes (32, 1)), GST_FLOW_OK);
  EXPECT_EQ (dec.pull_all ().size (), 32u);
  EXPECT_EQ (gst_pad_get_current_caps (dec.h->sinkpad), nullptr);
}

TEST (Caps, encrypted_caps_without_upstream_caps)
{
  Harness enc ("aesenc", {{"key", kKey128}});
  ASSERT_EQ (enc.push (Bytes (3, 1)), GST_FLOW_OK);
  GstCaps *caps = gst_pad_get_current_caps (enc.h->sinkpad);
  ASSERT_NE (caps, nullptr);
  GstCaps *expected
      = gst_caps_from_string ("application/x-aes-encrypted, mode=(string)ctr");
  EXPECT_TRUE (gst_caps_is_equal (caps, expected));
  gst_caps_unref (caps);
  gst_caps_unref (expected);
}

TEST (Caps, mode_mismatch_is_reported)
{
  GstElement *e = make ("aesdec", {{"key", kKey128}, {"mode", "ecb"}});
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (e, bus);
  GstHarness *h = gst_harness_new_with_element (e, "sink", "src");
  gst_harness_play (h);
  gst_harness_push_event (h, gst_event_new_stream_start ("test"));
  GstCaps *caps
      = gst_caps_from_string ("application/x-aes-encrypted, mode=(string)ctr");
  // (A sticky event's push reports success once stored; the bus says more.)
  gst_harness_push_event (h, gst_event_new_caps (caps));
  gst_caps_unref (caps);
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  ASSERT_NE (msg, nullptr);
  GError *err = nullptr;
  gst_message_parse_error (msg, &err, nullptr);
  EXPECT_NE (std::string (err->message).find ("mode=ctr"), std::string::npos);
  g_error_free (err);
  gst_message_unref (msg);
  gst_harness_teardown (h);
  gst_object_unref (e);
  gst_object_unref (bus);
}

TEST (BadInput, start_refuses_bad_keys_and_ivs_with_clear_errors)
{
  static const std::string k40 (40, 'a'), x32 (32, 'x');
  struct Case
  {
    Props props;
    const char *message;
  } cases[] = {
      {{}, "No key set"},
      {{{"key", "00112233"}}, "got 8"},
      {{{"key", "2b7e151628aed2a6abf7158809cf4f3"}}, "got 31"},
      {{{"key", "2b7e151628aed2a6abf7158809cf4fzz"}}, "not a hex digit"},
      {{{"key", k40.c_str ()}}, "got 40"},
      {{{"key-file", "/nonexistent/key"}},
          "cannot open key-file '/nonexistent/key'"},
      {{{"key", kKey128}, {"key-file", "/etc/hostname"}},
          "Both key and key-file"},
      {{{"key", kKey128}, {"iv", "0011"}}, "iv must be 32 hex digits; got 4"},
      {{{"key", kKey128}, {"iv", x32.c_str ()}}, "not a hex digit"},
      {{{"key", kKey128}, {"iv", kIv}, {"mode", "ecb"}}, "does not use an iv"},
      {{{"key", kKey128}, {"mode", "cbc"}}, "mode=cbc needs an iv"},
      {{{"key", kKey128}, {"serialize-iv", "true"}},
          "serialize-iv applies to mode=cbc only"},
      {{{"key", kKey128}, {"iv", kIv}, {"cipher", "aes-256-cbc"}},
          "needs a 256-bit key"},
      {{{"key", kKey128}, {"iv", kIv}, {"cipher", "aes-128-cbc"},
           {"mode", "ecb"}},
          "selects CBC, but mode=ecb"},
  };
  for (const char *factory : {"aesenc", "aesdec"}) {
    for (const Case &c : cases) {
      std::string err = start_error (factory, c.props);
      EXPECT_NE (err.find (c.message), std::string::npos)
          << factory << ": expected '" << c.message << "', got '" << err << "'";
    }
  }
}

TEST (BadInput, error_messages_never_contain_the_key)
{
  const char *almost = "2b7e151628aed2a6abf7158809cf4f3cff";
  std::string err = start_error ("aesenc", {{"key", almost}});
  EXPECT_NE (err, "");
  EXPECT_EQ (err.find ("2b7e1516"), std::string::npos);
}

TEST (BadInput, key_file_with_bad_content)
{
  char path[] = "/tmp/aesstream-badkeyXXXXXX";
  int fd = mkstemp (path);
  ASSERT_GE (fd, 0);
  ASSERT_EQ (write (fd, "abc\n", 4), 4);
  close (fd);
  std::string err = start_error ("aesenc", {{"key-file", path}});
  EXPECT_NE (err.find ("got 3"), std::string::npos) << err;
  unlink (path);
}

TEST (BadInput, key_file_works)
{
  char path[] = "/tmp/aesstream-keyXXXXXX";
  int fd = mkstemp (path);
  ASSERT_GE (fd, 0);
  std::string text = std::string (kKey256) + "\n";
  ASSERT_EQ (write (fd, text.data (), text.size ()),
      static_cast<ssize_t> (text.size ()));
  close (fd);
  Bytes data = random_bytes (100, 1);
  EXPECT_EQ (
      run_chunked ("aesenc", {{"key-file", path}, {"iv", kIv}}, data, 1, 30),
      reference ("CTR", true, kKey256, kIv, data));
  unlink (path);
}

TEST (BadInput, headerless_input_is_refused)
{
  Harness h ("aesdec", {{"key", kKey128}});
  EXPECT_EQ (h.push (Bytes (100, 'x')), GST_FLOW_ERROR);
  EXPECT_NE (h.error ().find ("does not start with an aesstream header"),
      std::string::npos);
  EXPECT_EQ (h.pull_all ().size (), 0u);
}

TEST (BadInput, short_stream_without_complete_header_is_an_error)
{
  Harness h ("aesdec", {{"key", kKey128}});
  EXPECT_EQ (h.push (Bytes{'A', 'E', 'S', 's', 1}), GST_FLOW_OK);
  h.eos ();
  EXPECT_NE (h.error ().find ("ended before its 32-byte aesstream header"),
      std::string::npos);
}

TEST (BadInput, wrong_key_is_detected_from_the_header)
{
  Bytes enc = run_chunked ("aesenc", {{"key", kKey128}}, Bytes (50, 1), 1, 50);
  Harness h ("aesdec", {{"key", "000102030405060708090a0b0c0d0e0f"}});
  EXPECT_EQ (h.push (enc), GST_FLOW_ERROR);
  EXPECT_NE (h.error ().find ("Wrong key"), std::string::npos);
  EXPECT_EQ (h.pull_all ().size (), 0u);

  Harness h2 ("aesdec", {{"key", kKey256}});
  EXPECT_EQ (h2.push (enc), GST_FLOW_ERROR);
  EXPECT_NE (
      h2.error ().find ("AES-128 but the key given to aesdec is AES-256"),
      std::string::npos);
}

TEST (BadInput, tampered_header_is_refused)
{
  Bytes enc = run_chunked ("aesenc", {{"key", kKey128}}, Bytes (50, 1), 1, 50);
  for (size_t i : {4, 5, 7, 9, 30}) {
    Bytes bad = enc;
    bad[i] ^= 0x01;
    Harness h ("aesdec", {{"key", kKey128}});
    EXPECT_EQ (h.push (bad), GST_FLOW_ERROR) << "byte " << i;
    EXPECT_NE (h.error (), "") << "byte " << i;
    EXPECT_EQ (h.pull_all ().size (), 0u);
  }
}

TEST (Properties, key_is_write_only)
{
  GstElement *e = make ("aesenc", {{"key", kKey128}});
  GParamSpec *p = g_object_class_find_property (G_OBJECT_GET_CLASS (e), "key");
  ASSERT_NE (p, nullptr);
  EXPECT_FALSE (p->flags & G_PARAM_READABLE);
  EXPECT_TRUE (p->flags & G_PARAM_WRITABLE);
  gchar *iv = nullptr;
  g_object_get (e, "iv", &iv, nullptr);
  EXPECT_EQ (iv, nullptr);
  gst_object_unref (e);
}

TEST (Properties, changes_while_running_are_refused)
{
  Harness h ("aesenc", {{"key", kKey128}, {"iv", kIv}});
  g_object_set (
      h.h->element, "iv", "00000000000000000000000000000000", nullptr);
  EXPECT_NE (
      h.warning ().find ("cannot be changed while the element is running"),
      std::string::npos);
  gchar *iv = nullptr;
  g_object_get (h.h->element, "iv", &iv, nullptr);
  EXPECT_STREQ (iv, kIv);
  g_free (iv);
}

// ---------------------------------------------------------------------------
// mode=gcm

namespace {

// Encrypts each chunk as one buffer; returns the records, one per buffer
// (the final record last).
std::vector<Bytes>
gcm_records (const std::vector<Bytes> &chunks, const char *key = kKey128)
{
  Harness h ("aesenc", {{"mode", "gcm"}, {"key", key}});
  std::vector<Bytes> out;
  for (const Bytes &c : chunks) {
    EXPECT_EQ (h.push (c), GST_FLOW_OK);
    out.push_back (h.pull_all ());
  }
  h.eos ();
  out.push_back (h.pull_all ());
  return out;
}

// Decrypts records delivered as the given buffers.
struct GcmResult
{
  std::vector<Bytes> out;
  guint64 accepted = 0, lost = 0, replayed = 0, rejected = 0;
  std::string error, warning;
};

GcmResult
gcm_open (const std::vector<Bytes> &buffers, const char *policy,
    const char *key = kKey128, bool eos = true)
{
  Harness h (
      "aesdec", {{"mode", "gcm"}, {"key", key}, {"invalid-records", policy}});
  GcmResult r;
  for (const Bytes &b : buffers) {
    if (h.push (b) != GST_FLOW_OK)
      break;
    GstBuffer *buf;
    while ((buf = gst_harness_try_pull (h.h)) != nullptr) {
      GstMapInfo m;
      gst_buffer_map (buf, &m, GST_MAP_READ);
      r.out.emplace_back (m.data, m.data + m.size);
      gst_buffer_unmap (buf, &m);
      gst_buffer_unref (buf);
    }
  }
  if (eos)
    h.eos ();
  g_object_get (h.h->element, "records-accepted", &r.accepted, "records-lost",
      &r.lost, "records-replayed", &r.replayed, "records-rejected", &r.rejected,
      nullptr);
  r.error = h.error ();
  r.warning = h.warning ();
  return r;
}

std::vector<Bytes>
some_chunks (size_t count, unsigned seed)
{
  std::vector<Bytes> c;
  std::mt19937 rng (seed);
  for (size_t i = 0; i < count; i++)
    c.push_back (random_bytes (1 + rng () % 1500, seed * 1000 + i));
  return c;
}

} // namespace

TEST (Gcm, one_record_per_buffer_with_40_bytes_overhead)
{
  auto chunks = some_chunks (10, 1);
  chunks.push_back (Bytes ());
  auto records = gcm_records (chunks);
  ASSERT_EQ (records.size (), chunks.size () + 1);
  for (size_t i = 0; i < chunks.size (); i++) {
    EXPECT_EQ (records[i].size (), chunks[i].size () + 40);
    EXPECT_EQ (records[i][0], 'A');
    EXPECT_EQ (records[i][1], 'g');
    EXPECT_EQ (records[i][8 + 5], i); // sequence number, low byte
  }
  EXPECT_EQ (records.back ().size (), 40u); // the final record
  EXPECT_EQ (records.back ()[3], 0x01);     // flagged final
  auto r = gcm_open (records, "error");
  EXPECT_EQ (r.error, "");
  ASSERT_EQ (r.out.size (), chunks.size () - 1); // the empty one stays empty
  for (size_t i = 0; i + 1 < chunks.size (); i++)
    EXPECT_EQ (r.out[i], chunks[i]);
  EXPECT_EQ (r.accepted, chunks.size () + 1);
  EXPECT_EQ (r.lost + r.replayed + r.rejected, 0u);
}

TEST (Gcm, record_is_aes_gcm_under_the_hkdf_subkey)
{
  // The format read by code that is not the element: OpenSSL's EVP API
  // with the documented HKDF derivation and nonce.
  Bytes data = random_bytes (300, 2);
  Bytes rec = gcm_records ({data})[0];
  Bytes key = hex (kKey128);
  Bytes subkey (16);
  static const char info[] = "aesstream gcm v1";
  EVP_KDF *kdf = EVP_KDF_fetch (nullptr, "HKDF", nullptr);
  EVP_KDF_CTX *kctx = EVP_KDF_CTX_new (kdf);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string ("digest", digest, 0),
      OSSL_PARAM_construct_octet_string ("key", key.data (), key.size ()),
      OSSL_PARAM_construct_octet_string ("salt", rec.data () + 14, 10),
      OSSL_PARAM_construct_octet_string (
          "info", const_cast<char *> (info), sizeof (info) - 1),
      OSSL_PARAM_construct_end ()};
  ASSERT_EQ (EVP_KDF_derive (kctx, subkey.data (), 16, params), 1);
  EVP_KDF_CTX_free (kctx);
  EVP_KDF_free (kdf);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  Bytes nonce (12, 0);
  std::copy (rec.begin () + 8, rec.begin () + 14, nonce.begin () + 6);
  EVP_DecryptInit_ex (
      ctx, EVP_aes_128_gcm (), nullptr, subkey.data (), nonce.data ());
  int n = 0;
  EVP_DecryptUpdate (ctx, nullptr, &n, rec.data (), 24);
  Bytes plain (300);
  EVP_DecryptUpdate (ctx, plain.data (), &n, rec.data () + 24, 300);
  EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_SET_TAG, 16, rec.data () + 324);
  EXPECT_EQ (EVP_DecryptFinal_ex (ctx, plain.data () + 300, &n), 1);
  EVP_CIPHER_CTX_free (ctx);
  EXPECT_EQ (plain, data);
}

TEST (Gcm, byte_streams_are_reframed_for_any_chunking)
{
  auto chunks = some_chunks (30, 3);
  auto records = gcm_records (chunks);
  Bytes stream;
  for (auto &r : records)
    stream.insert (stream.end (), r.begin (), r.end ());
  Bytes expected;
  for (auto &c : chunks)
    expected.insert (expected.end (), c.begin (), c.end ());
  for (unsigned seed = 0; seed < 20; seed++) {
    EXPECT_EQ (
        run_chunked ("aesdec",
            {{"mode", "gcm"}, {"key", kKey128}, {"invalid-records", "error"}},
            stream, seed, 700),
        expected)
        << seed;
  }
}

TEST (Gcm, every_record_decrypts_on_its_own)
{
  auto chunks = some_chunks (20, 4);
  auto records = gcm_records (chunks);
  // A receiver that joins at record 7 and loses 12 and 15.
  std::vector<Bytes> got;
  for (size_t i = 7; i < records.size (); i++)
    if (i != 12 && i != 15)
      got.push_back (records[i]);
  auto r = gcm_open (got, "drop");
  ASSERT_EQ (r.out.size (), chunks.size () - 7 - 2);
  EXPECT_EQ (r.out[0], chunks[7]);
  EXPECT_EQ (r.out.back (), chunks.back ());
  EXPECT_EQ (r.lost, 2u);
  EXPECT_EQ (r.rejected + r.replayed, 0u);
  EXPECT_EQ (r.accepted, got.size ());
}

TEST (Gcm, duplicates_are_dropped_and_reordering_is_accepted)
{
  auto chunks = some_chunks (10, 5);
  auto rec = gcm_records (chunks);
  std::vector<Bytes> got = {rec[0], rec[2], rec[1], rec[1], rec[3], rec[0],
      rec[5], rec[4], rec[6], rec[7], rec[8], rec[9], rec[10]};
  auto r = gcm_open (got, "drop");
  EXPECT_EQ (r.replayed, 2u);
  EXPECT_EQ (r.lost, 0u); // 1 and 4 came late, inside the window
  EXPECT_EQ (r.rejected, 0u);
  EXPECT_EQ (r.out.size (), 10u);
  EXPECT_NE (r.warning.find ("replayed 1"), std::string::npos) << r.warning;
  // In error mode (files) a replay stops the stream (and so would the
  // reordering above: a file has no reason to be out of order).
  auto e = gcm_open ({rec[0], rec[1], rec[1], rec[2]}, "error");
  EXPECT_NE (e.error.find ("already received"), std::string::npos) << e.error;
}

TEST (Gcm, any_flipped_bit_rejects_the_record_and_outputs_nothing_of_it)
{
  auto chunks = some_chunks (3, 6);
  auto rec = gcm_records (chunks);
  size_t len = rec[1].size ();
  for (size_t pos :
      {0ul, 3ul, 5ul, 9ul, 15ul, 23ul, 24ul, len / 2, len - 16, len - 1}) {
    auto bad = rec;
    bad[1][pos] ^= 0x10;
    auto r = gcm_open (bad, "drop");
    EXPECT_EQ (r.rejected, 1u) << "byte " << pos;
    ASSERT_EQ (r.out.size (), 2u) << "byte " << pos;
    EXPECT_EQ (r.out[0], chunks[0]);
    EXPECT_EQ (r.out[1], chunks[2]);
    auto e = gcm_open (bad, "error");
    EXPECT_NE (e.error, "") << "byte " << pos;
    EXPECT_EQ (e.out.size (), 1u) << "byte " << pos;
  }
}

TEST (Gcm, wrong_key_and_truncation_are_rejected)
{
  auto chunks = some_chunks (4, 7);
  auto rec = gcm_records (chunks);
  auto r = gcm_open (rec, "drop", kKey256);
  EXPECT_EQ (r.out.size (), 0u);
  EXPECT_EQ (r.rejected, rec.size ());
  auto e = gcm_open (rec, "error", "000102030405060708090a0b0c0d0e0f");
  EXPECT_NE (e.error.find ("failed authentication"), std::string::npos);

  auto cut = rec;
  cut[2].resize (cut[2].size () - 1); // a truncated record
  auto t = gcm_open (cut, "drop");
  EXPECT_EQ (t.rejected, 1u);
  EXPECT_EQ (t.out.size (), 3u);

  // Records removed at the end of a file: no final record.
  std::vector<Bytes> head (rec.begin (), rec.begin () + 2);
  auto f = gcm_open (head, "error");
  EXPECT_NE (f.error.find ("without its final record"), std::string::npos)
      << f.error;
  // Records removed in the middle: a gap, an error for files.
  std::vector<Bytes> gap = {rec[0], rec[2], rec[3], rec[4]};
  auto g = gcm_open (gap, "error");
  EXPECT_NE (g.error.find ("missing"), std::string::npos) << g.error;
}

TEST (Gcm, streams_under_one_key_never_share_a_nonce)
{
  // The nonce space is per stream: (salt, sequence number). Two encoders,
  // a restart and a flush make four streams; no (salt, seq) repeats.
  std::set<std::pair<Bytes, Bytes>> seen;
  size_t total = 0;
  auto note = [&] (const std::vector<Bytes> &records) {
    for (auto &r : records) {
      seen.insert ({Bytes (r.begin () + 14, r.begin () + 24),
          Bytes (r.begin () + 8, r.begin () + 14)});
      total++;
    }
  };
  note (gcm_records (some_chunks (50, 8)));
  note (gcm_records (some_chunks (50, 8))); // same data, same key
  {
    Harness h ("aesenc", {{"mode", "gcm"}, {"key", kKey128}});
    std::vector<Bytes> rec;
    for (int i = 0; i < 5; i++) {
      h.push (Bytes (10, 1));
      rec.push_back (h.pull_all ());
    }
    gst_harness_push_event (h.h, gst_event_new_flush_start ());
    gst_harness_push_event (h.h, gst_event_new_flush_stop (TRUE));
    start_stream (h.h);
    for (int i = 0; i < 5; i++) {
      h.push (Bytes (10, 1));
      rec.push_back (h.pull_all ());
    }
    EXPECT_NE (Bytes (rec[0].begin () + 14, rec[0].begin () + 24),
        Bytes (rec[5].begin () + 14, rec[5].begin () + 24));
    EXPECT_EQ (rec[5][13], 0); // the new stream counts from 0 again
    note (rec);
  }
  EXPECT_EQ (seen.size (), total);
}

TEST (Gcm, keeps_timestamps_per_record)
{
  Harness enc ("aesenc", {{"mode", "gcm"}, {"key", kKey128}});
  Harness dec ("aesdec", {{"mode", "gcm"}, {"key", kKey128}});
  for (int i = 0; i < 3; i++) {
    ASSERT_EQ (enc.push (Bytes (100, i), i * GST_SECOND), GST_FLOW_OK);
    GstBuffer *rec = gst_harness_pull (enc.h);
    EXPECT_EQ (GST_BUFFER_PTS (rec), i * GST_SECOND);
    ASSERT_EQ (gst_harness_push (dec.h, rec), GST_FLOW_OK);
    GstBuffer *out = gst_harness_pull (dec.h);
    EXPECT_EQ (GST_BUFFER_PTS (out), i * GST_SECOND);
    EXPECT_EQ (gst_buffer_get_size (out), 100u);
    gst_buffer_unref (out);
  }
}

TEST (Gcm, large_writable_buffers_are_sealed_in_place)
{
  Harness enc ("aesenc", {{"mode", "gcm"}, {"key", kKey128}});
  Bytes data = random_bytes (20000, 9);
  GstBuffer *in = new_buffer (data);
  GstMemory *payload = gst_buffer_peek_memory (in, 0);
  ASSERT_EQ (gst_harness_push (enc.h, in), GST_FLOW_OK);
  GstBuffer *rec = gst_harness_pull (enc.h);
  // header | the input's own memory, encrypted | tag
  ASSERT_EQ (gst_buffer_n_memory (rec), 3u);
  EXPECT_EQ (gst_buffer_peek_memory (rec, 1), payload);
  EXPECT_EQ (gst_buffer_get_size (rec), 20000u + 40);
  Harness dec ("aesdec", {{"mode", "gcm"}, {"key", kKey128}});
  ASSERT_EQ (gst_harness_push (dec.h, rec), GST_FLOW_OK);
  EXPECT_EQ (dec.pull_all (), data);
}

TEST (Gcm, garbage_and_damaged_streams_never_crash_and_never_output)
{
  // Random bytes, and real records with random damage, in random
  // chunkings: nothing unauthenticated comes out, whatever the framing.
  auto rec = gcm_records (some_chunks (20, 11));
  Bytes stream;
  for (auto &r : rec)
    stream.insert (stream.end (), r.begin (), r.end ());
  std::mt19937 rng (12);
  for (unsigned round = 0; round < 40; round++) {
    Bytes input = round % 2 ? random_bytes (5000, round) : stream;
    if (round % 2 == 0)
      for (int k = 0; k < 5; k++) // NOLINT: one statement
        input[rng () % input.size ()]
            ^= static_cast<uint8_t> (1 + rng () % 255);
    Harness h ("aesdec",
        {{"mode", "gcm"}, {"key", kKey128}, {"invalid-records", "drop"}});
    std::mt19937 cut (round);
    for (size_t pos = 0; pos < input.size ();) {
      size_t n = std::min<size_t> (cut () % 600, input.size () - pos);
      ASSERT_EQ (
          h.push (Bytes (input.begin () + pos, input.begin () + pos + n)),
          GST_FLOW_OK);
      pos += n;
    }
    h.eos ();
    Bytes out = h.pull_all ();
    if (round % 2) {
      EXPECT_TRUE (out.empty ()) << round;
    }
    EXPECT_EQ (h.error (), "") << round;
  }
}

TEST (Gcm, iv_is_refused)
{
  EXPECT_NE (
      start_error ("aesenc", {{"mode", "gcm"}, {"key", kKey128}, {"iv", kIv}})
          .find ("mode=gcm makes its own nonces"),
      std::string::npos);
}

int
main (int argc, char **argv)
{
  ::testing::InitGoogleTest (&argc, argv);
  gst_init (&argc, &argv);
  gst_plugin_aesstream_register ();
  return RUN_ALL_TESTS ();
}
