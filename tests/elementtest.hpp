// Shared by the GstHarness tests of aesenc (test_aesenc.cpp) and aesdec
// (test_aesdec.cpp). The plugin is linked into each test binary and
// registered statically, so what the system registry holds (for example
// gst-plugins-bad's own aesenc) does not matter. Expected ciphertext comes
// from OpenSSL's EVP API called directly, not from the elements.
#pragma once

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
inline Bytes
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

inline GstBuffer *
new_buffer (const Bytes &b)
{
  return b.empty () ? gst_buffer_new ()
                    : gst_buffer_new_memdup (b.data (), b.size ());
}

// What a source does before its first buffer (without caps).
inline void
start_stream (GstHarness *h)
{
  gst_harness_push_event (h, gst_event_new_stream_start ("test"));
  GstSegment seg;
  gst_segment_init (&seg, GST_FORMAT_BYTES);
  gst_harness_push_event (h, gst_event_new_segment (&seg));
}

inline GstElement *
make (const char *factory, const Props &props)
{
  GstElement *e = gst_element_factory_make (factory, nullptr);
  EXPECT_NE (e, nullptr);
  for (auto &p : props)
    gst_util_set_object_arg (G_OBJECT (e), p.first, p.second);
  return e;
}

// Lets go of a bus set on an element: its queued messages hold references
// to the element, which holds the bus, so unreferencing both would leak
// them. Flushing drops the messages (and any posted later).
inline void
release_bus (GstBus *bus)
{
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
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
    release_bus (bus);
    gst_harness_teardown (h);
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
inline Bytes
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

// Starts an element configured with `props`, pushes one buffer and returns
// the error that buffer caused; checks that nothing was output.
inline std::string
first_buffer_error (const char *factory, const Props &props)
{
  Harness h (factory, props);
  EXPECT_EQ (h.error (), "") << "at start";
  EXPECT_EQ (h.push (Bytes (32, 1)), GST_FLOW_ERROR);
  EXPECT_EQ (h.pull_all ().size (), 0u);
  return h.error ();
}

// Tries to start an element configured with `props` and returns the error
// it posted ("" if it started).
inline std::string
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
  release_bus (bus);
  gst_object_unref (e);
  return text;
}

} // namespace

// ---------------------------------------------------------------------------
// mode=gcm

namespace {

// Encrypts each chunk as one buffer; returns the records, one per buffer
// (the final record last).
inline std::vector<Bytes>
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

inline GcmResult
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

// Every buffer the element has output so far, one Bytes each.
inline std::vector<Bytes>
pull_buffers (GstHarness *h)
{
  std::vector<Bytes> out;
  while (GstBuffer *buf = gst_harness_try_pull (h)) {
    GstMapInfo m;
    gst_buffer_map (buf, &m, GST_MAP_READ);
    out.emplace_back (m.data, m.data + m.size);
    gst_buffer_unmap (buf, &m);
    gst_buffer_unref (buf);
  }
  return out;
}

// Opens one GCM record the way docs/format.md describes it, with OpenSSL's
// EVP API and not our code: subkey = HKDF-SHA256 (key, salt, "aesstream gcm
// v1"), nonce = 6 zero bytes + the sequence number, the header as AAD.
inline bool
open_record_independently (const Bytes &rec, const char *key_hex, Bytes *plain)
{
  if (rec.size () < 40)
    return false;
  Bytes key = hex (key_hex), subkey (key.size ());
  static const char info[] = "aesstream gcm v1";
  EVP_KDF *kdf = EVP_KDF_fetch (nullptr, "HKDF", nullptr);
  EVP_KDF_CTX *kctx = EVP_KDF_CTX_new (kdf);
  char digest[] = "SHA256";
  Bytes salt (rec.begin () + 14, rec.begin () + 24);
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string ("digest", digest, 0),
      OSSL_PARAM_construct_octet_string ("key", key.data (), key.size ()),
      OSSL_PARAM_construct_octet_string ("salt", salt.data (), salt.size ()),
      OSSL_PARAM_construct_octet_string (
          "info", const_cast<char *> (info), sizeof (info) - 1),
      OSSL_PARAM_construct_end ()};
  bool ok = EVP_KDF_derive (kctx, subkey.data (), subkey.size (), params) == 1;
  EVP_KDF_CTX_free (kctx);
  EVP_KDF_free (kdf);
  const size_t n = rec.size () - 40;
  Bytes nonce (12, 0);
  std::copy (rec.begin () + 8, rec.begin () + 14, nonce.begin () + 6);
  const EVP_CIPHER *cipher = key.size () == 16   ? EVP_aes_128_gcm ()
                             : key.size () == 24 ? EVP_aes_192_gcm ()
                                                 : EVP_aes_256_gcm ();
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  plain->assign (n + 16, 0);
  int len = 0;
  ok = ok
       && EVP_DecryptInit_ex (
              ctx, cipher, nullptr, subkey.data (), nonce.data ())
              == 1
       && EVP_DecryptUpdate (ctx, nullptr, &len, rec.data (), 24) == 1
       && EVP_DecryptUpdate (
              ctx, plain->data (), &len, rec.data () + 24, (int)n)
              == 1
       && EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_SET_TAG, 16,
              const_cast<uint8_t *> (rec.data () + 24 + n))
              == 1
       && EVP_DecryptFinal_ex (ctx, plain->data () + n, &len) == 1;
  EVP_CIPHER_CTX_free (ctx);
  plain->resize (n);
  return ok;
}

inline std::vector<Bytes>
some_chunks (size_t count, unsigned seed)
{
  std::vector<Bytes> c;
  std::mt19937 rng (seed);
  for (size_t i = 0; i < count; i++)
    c.push_back (random_bytes (1 + rng () % 1500, seed * 1000 + i));
  return c;
}

} // namespace

// The debug categories an element's own log messages go to while `run`
// works with it (`run` is given the element; for a harness, the element
// is made by the harness and passed on through `watch`).
struct CategoryRecorder
{
  GObject *element = nullptr;
  std::set<std::string> seen;
  explicit CategoryRecorder (const char *category) : category_ (category)
  {
    gst_debug_set_threshold_for_name (category_, GST_LEVEL_LOG);
    gst_debug_add_log_function (log, this, nullptr);
  }
  ~CategoryRecorder ()
  {
    gst_debug_remove_log_function (log);
    gst_debug_set_threshold_for_name (category_, GST_LEVEL_NONE);
  }
  void watch (GstElement *e) { element = reinterpret_cast<GObject *> (e); }

private:
  const char *category_;
  static void log (GstDebugCategory *category, GstDebugLevel, const gchar *,
      const gchar *, gint, GObject *object, GstDebugMessage *, gpointer data)
  {
    auto *self = static_cast<CategoryRecorder *> (data);
    if (object != nullptr && object == self->element)
      self->seen.insert (gst_debug_category_get_name (category));
  }
};

inline int
run_tests (int argc, char **argv)
{
  ::testing::InitGoogleTest (&argc, argv);
  gst_init (&argc, &argv);
  gst_plugin_aesstream_register ();
  return RUN_ALL_TESTS ();
}
