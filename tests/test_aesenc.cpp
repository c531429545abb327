// GstHarness tests of aesenc: encryption per mode against OpenSSL, the
// stream header and serialized IV, in-place work, flushes, caps, settings
// and GCM sealing. (Round trips through aesdec check both directions.)
#include "elementtest.hpp"

#include <unistd.h>

#include "theirtests.hpp"
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <thread>

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
          run_chunked ("aesenc", {{"key", key}, {"mode", "ctr"}, {"iv", kIv}},
              data, seed, 300),
          expected)
          << "seed " << seed;
      ASSERT_EQ (
          run_chunked ("aesdec", {{"key", key}, {"mode", "ctr"}, {"iv", kIv}},
              expected, seed, 300),
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

TEST (Ctr, random_iv_differs_between_starts)
{
  Bytes data (64, 0);
  Bytes a = run_chunked ("aesenc", {{"key", kKey128}}, data, 1, 64);
  Bytes b = run_chunked ("aesenc", {{"key", kKey128}}, data, 1, 64);
  ASSERT_EQ (a.size (), b.size ());
  // Version-2 header: the IV is at bytes 32..47 (the key id before it is
  // the same for both).
  EXPECT_NE (Bytes (a.begin () + 32, a.begin () + 48),
      Bytes (b.begin () + 32, b.begin () + 48));
  EXPECT_NE (a, b);
}

TEST (Ctr, keeps_buffer_sizes_timestamps_and_flags)
{
  Harness h ("aesenc", {{"key", kKey128}, {"mode", "ctr"}, {"iv", kIv}});
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
  Harness h ("aesenc", {{"key", kKey128}, {"mode", "ctr"}, {"iv", kIv}});
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

TEST (Ctr, memory_shared_with_another_buffer_is_not_written_to)
{
  // A shallow copy shares its memory with the original: both buffers are
  // writable (one reference each), their memory is not. aesenc decides
  // "in place" from the buffer's writability and leaves the memory to the
  // write mapping, which is refused: the other buffer keeps its bytes.
  Harness h ("aesenc", {{"key", kKey128}, {"mode", "ctr"}, {"iv", kIv}});
  Bytes data = random_bytes (1400, 11);
  GstBuffer *original = new_buffer (data);
  GstBuffer *copy = gst_buffer_copy (original);
  ASSERT_EQ (
      gst_buffer_peek_memory (copy, 0), gst_buffer_peek_memory (original, 0));
  ASSERT_TRUE (gst_buffer_is_writable (copy));
  ASSERT_EQ (gst_harness_push (h.h, copy), GST_FLOW_OK);
  EXPECT_EQ (h.pull_all (), reference ("CTR", true, kKey128, kIv, data));
  Bytes kept (gst_buffer_get_size (original));
  gst_buffer_extract (original, 0, kept.data (), kept.size ());
  EXPECT_EQ (kept, data) << "the other buffer's memory was written to";
  gst_buffer_unref (original);
}

TEST (Ctr, read_only_memory_is_not_written_to)
{
  // A writable buffer around READONLY memory (static data wrapped by a
  // source): in place is tried, the write mapping is refused, and the
  // buffer gets a private copy to encrypt; the wrapped bytes stay.
  Harness h ("aesenc", {{"key", kKey128}, {"mode", "ctr"}, {"iv", kIv}});
  const Bytes data = random_bytes (1400, 12);
  Bytes wrapped = data;
  GstBuffer *in = gst_buffer_new_wrapped_full (GST_MEMORY_FLAG_READONLY,
      wrapped.data (), wrapped.size (), 0, wrapped.size (), nullptr, nullptr);
  ASSERT_EQ (gst_harness_push (h.h, in), GST_FLOW_OK);
  EXPECT_EQ (h.pull_all (), reference ("CTR", true, kKey128, kIv, data));
  EXPECT_EQ (wrapped, data) << "read-only memory was written to";
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

TEST (Ctr, region_of_a_bigger_buffer_is_encrypted_correctly)
{
  // Parsers and adapters hand out regions of bigger buffers: their memory
  // is shared and cannot be mapped for writing as it is.
  Harness h ("aesenc", {{"key", kKey128}, {"mode", "ctr"}, {"iv", kIv}});
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
  GstElement *e
      = make ("aesenc", {{"key", kKey128}, {"mode", "ctr"}, {"iv", kIv}});
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

// Large outputs without a downstream pool come from the element's own pool,
// so that a 64 KiB buffer's memory is reused rather than given back to the
// system and faulted in again for every buffer.
TEST (Allocation, large_outputs_reuse_memory_without_a_downstream_pool)
{
  Harness h ("aesenc", {{"key", kKey128}, {"mode", "gcm-file"}});
  const guint8 *previous = nullptr;
  size_t reused = 0;
  for (unsigned i = 0; i < 4; i++) {
    // Inputs the element may not change (another reference is held), so
    // that each segment is encrypted into an output buffer.
    GstBuffer *in = new_buffer (random_bytes (65536, i));
    gst_buffer_ref (in);
    ASSERT_EQ (gst_harness_push (h.h, in), GST_FLOW_OK);
    gst_buffer_unref (in);
    GstBuffer *out = gst_harness_pull (h.h);
    ASSERT_NE (out, nullptr);
    EXPECT_NE (out->pool, nullptr);
    // Where the segment's bytes are (the last memory: a prefix may come as
    // a memory of its own in front).
    GstMemory *m = gst_buffer_peek_memory (out, gst_buffer_n_memory (out) - 1);
    GstMapInfo mm;
    ASSERT_TRUE (gst_memory_map (m, &mm, GST_MAP_READ));
    if (previous != nullptr && mm.data == previous)
      reused++;
    previous = mm.data;
    gst_memory_unmap (m, &mm);
    gst_buffer_unref (out); // back to the pool
  }
  EXPECT_GE (reused, 2u);
}

// An input of several segments goes out as one buffer per segment; only
// the first carries the input's DISCONT, and an input that completes no
// segment (nothing to say yet, not a loss) does not make the next output
// DISCONT either (a demuxer drops what it has gathered on DISCONT).
TEST (GcmFile, one_buffer_per_segment_and_discont_only_where_the_input_had_it)
{
  Harness h ("aesenc",
      {{"key", kKey128}, {"mode", "gcm-file"}, {"segment-size", "4096"}});
  GstBuffer *in = new_buffer (random_bytes (4 * 4080 + 100, 1));
  GST_BUFFER_FLAG_SET (in, GST_BUFFER_FLAG_DISCONT);
  ASSERT_EQ (gst_harness_push (h.h, in), GST_FLOW_OK);
  std::vector<gsize> sizes;
  std::vector<bool> discont;
  auto pull = [&] () {
    while (GstBuffer *b = gst_harness_try_pull (h.h)) {
      sizes.push_back (gst_buffer_get_size (b));
      discont.push_back (GST_BUFFER_IS_DISCONT (b));
      gst_buffer_unref (b);
    }
  };
  pull ();
  // P (32) and Tink's header (24) in front of segment 0 (4096 - 24 bytes).
  ASSERT_EQ (sizes, (std::vector<gsize>{32 + 4096, 4096, 4096, 4096}));
  EXPECT_EQ (discont, (std::vector<bool>{true, false, false, false}));
  ASSERT_EQ (h.push (random_bytes (100, 2)), GST_FLOW_OK); // completes none
  pull ();
  EXPECT_EQ (sizes.size (), 4u);
  ASSERT_EQ (h.push (random_bytes (4000, 3)), GST_FLOW_OK);
  pull ();
  ASSERT_EQ (sizes.size (), 5u);
  EXPECT_EQ (sizes[4], 4096u);
  EXPECT_FALSE (discont[4]);
}

// The bytes of each memory of `b`, in order.
static std::vector<Bytes>
memories (GstBuffer *b)
{
  std::vector<Bytes> out;
  for (guint i = 0; i < gst_buffer_n_memory (b); i++) {
    GstMapInfo m;
    GstMemory *mem = gst_buffer_peek_memory (b, i);
    EXPECT_TRUE (gst_memory_map (mem, &m, GST_MAP_READ));
    out.emplace_back (m.data, m.data + m.size);
    gst_memory_unmap (mem, &m);
  }
  return out;
}

// The buffers waiting at the harness's sink, in order, as buffers (the
// caller unrefs; pull_buffers gives their bytes).
static std::vector<GstBuffer *>
take_output_buffers (Harness &h)
{
  std::vector<GstBuffer *> out;
  while (GstBuffer *b = gst_harness_try_pull (h.h))
    out.push_back (b);
  return out;
}

// Every buffer aesenc and aesdec output is one flat memory, whatever the
// mode and input: the prefix of a stream (header, serialized IV) and a
// GCM record's header and tag share the payload's memory. (Buffers of
// several memories cost a merge downstream, and GStreamer 1.22's filesink
// loses bytes when the 1024 memories it writes at once end inside one;
// tests/test_gcmfile_elements.py records through filesink.) And an input
// somebody else holds is never changed.
TEST (Output, every_buffer_is_one_flat_memory)
{
  const std::vector<Props> configs = {
      {{"key", kKey128}},
      {{"key", kKey128}, {"mode", "ctr"}, {"iv", kIv}},
      {{"key", kKey128}, {"mode", "cbc"}, {"iv", kIv},
          {"serialize-iv", "true"}},
      {{"key", kKey128}, {"mode", "cbc"}, {"iv", kIv},
          {"per-buffer-padding", "false"}},
      {{"key", kKey128}, {"mode", "gcm"}},
      {{"key", kKey128}, {"mode", "gcm-file"}, {"segment-size", "4096"}},
  };
  for (const Props &props : configs) {
    std::string name;
    for (const auto &kv : props)
      name += std::string (kv.first) + "=" + kv.second + " ";
    SCOPED_TRACE (name);
    Harness enc ("aesenc", props);
    Harness dec ("aesdec", props);
    Bytes plain;
    std::vector<GstBuffer *> ct;
    unsigned seed = 20;
    for (gsize n : {100u, 65536u, 20000u, 16u}) {
      const Bytes b = random_bytes (n, seed++);
      plain.insert (plain.end (), b.begin (), b.end ());
      GstBuffer *in = new_buffer (b);
      if (n == 20000u)
        gst_buffer_ref (in); // held elsewhere: must stay as it was
      ASSERT_EQ (gst_harness_push (enc.h, in), GST_FLOW_OK);
      if (n == 20000u) {
        EXPECT_EQ (memories (in)[0], b);
        gst_buffer_unref (in);
      }
      for (GstBuffer *o : take_output_buffers (enc))
        ct.push_back (o);
    }
    ASSERT_TRUE (enc.eos ());
    EXPECT_EQ (enc.error (), "");
    for (GstBuffer *o : take_output_buffers (enc))
      ct.push_back (o);
    ASSERT_FALSE (ct.empty ());
    for (GstBuffer *o : ct) {
      EXPECT_LE (gst_buffer_n_memory (o), 1u);
      ASSERT_EQ (gst_harness_push (dec.h, o), GST_FLOW_OK);
    }
    ASSERT_TRUE (dec.eos ());
    EXPECT_EQ (dec.error (), "");
    Bytes back;
    for (GstBuffer *o : take_output_buffers (dec)) {
      EXPECT_LE (gst_buffer_n_memory (o), 1u);
      const std::vector<Bytes> m = memories (o);
      for (const Bytes &x : m)
        back.insert (back.end (), x.begin (), x.end ());
      gst_buffer_unref (o);
    }
    EXPECT_EQ (back, plain);
  }
}

// A buffer from upstream's pool is never held until the next one arrives
// (a pool of one would deadlock: the source could not make the next one).
TEST (GcmFile, pooled_input_buffers_are_released_at_once)
{
  Harness h ("aesenc",
      {{"key", kKey128}, {"mode", "gcm-file"}, {"segment-size", "4096"}});
  GstBufferPool *pool = gst_buffer_pool_new ();
  GstStructure *config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, NULL, 1000, 0, 1);
  ASSERT_TRUE (gst_buffer_pool_set_config (pool, config));
  ASSERT_TRUE (gst_buffer_pool_set_active (pool, TRUE));
  GstBufferPoolAcquireParams dontwait = {};
  dontwait.flags = GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT;
  const Bytes plain = random_bytes (20000, 4);
  for (size_t at = 0; at < plain.size (); at += 1000) {
    GstBuffer *b = nullptr;
    ASSERT_EQ (
        gst_buffer_pool_acquire_buffer (pool, &b, &dontwait), GST_FLOW_OK)
        << "the previous pool buffer is still held (input byte " << at << ")";
    gst_buffer_fill (b, 0, plain.data () + at, 1000);
    ASSERT_EQ (gst_harness_push (h.h, b), GST_FLOW_OK);
  }
  ASSERT_TRUE (h.eos ());
  EXPECT_EQ (h.error (), "");
  const Bytes ct = h.pull_all ();
  EXPECT_GT (ct.size (), plain.size ());
  gst_buffer_pool_set_active (pool, FALSE);
  gst_object_unref (pool);
}

TEST (Ecb, pads_only_at_eos)
{
  Harness h ("aesenc", {{"key", kKey128}, {"mode", "ecb"}});
  Bytes data = random_bytes (20, 1);
  ASSERT_EQ (h.push (Bytes (data.begin (), data.begin () + 10)), GST_FLOW_OK);
  // Posted when the stream starts (its settings are final then).
  EXPECT_NE (h.warning ().find ("insecure"), std::string::npos);
  EXPECT_EQ (gst_harness_buffers_in_queue (h.h), 0u); // carried, not padded
  ASSERT_EQ (h.push (Bytes (data.begin () + 10, data.end ())), GST_FLOW_OK);
  EXPECT_EQ (h.pull_all ().size (), 16u);
  ASSERT_TRUE (h.eos ());
  Bytes tail = h.pull_all ();
  Bytes expected = reference ("ECB", true, kKey128, nullptr, data);
  EXPECT_EQ (tail, Bytes (expected.begin () + 16, expected.end ()));
}

TEST (Stream, restart_with_fixed_iv_reproduces_the_bytes)
{
  GstElement *e
      = make ("aesenc", {{"key", kKey128}, {"mode", "ctr"}, {"iv", kIv}});
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
  ASSERT_EQ (first.size (), 58u);
  ASSERT_EQ (second.size (), 58u);
  // A new header with a new IV: the keystream is never reused.
  EXPECT_EQ (Bytes (first.begin (), first.begin () + 8),
      Bytes (second.begin (), second.begin () + 8));
  EXPECT_NE (Bytes (first.begin () + 32, first.begin () + 48),
      Bytes (second.begin () + 32, second.begin () + 48));
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

TEST (BadInput, start_refuses_bad_keys_and_ivs_with_clear_errors)
{
  static const std::string k40 (40, 'a'), x32 (32, 'x');
  // A wrong value fails the state change; a missing one (key, or the iv
  // CBC needs) can still be set after start, and is an error at the first
  // buffer, before any output.
  struct Case
  {
    Props props;
    const char *message;
    bool at_start = true;
  } cases[] = {
      {{{"iv", kIv}}, "No key set", false},
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
      {{{"key", kKey128}, {"mode", "cbc"}}, "mode=cbc needs an iv", false},
      {{{"key", kKey128}, {"mode", "ctr"}, {"serialize-iv", "true"}},
          "serialize-iv applies to mode=cbc only"},
      {{{"key", kKey256}, {"iv", kIv}}, "Set cipher=aes-256-cbc"},
      {{{"key", kKey128}, {"iv", kIv}, {"cipher", "aes-256-cbc"}},
          "needs a 256-bit key"},
      {{{"key", kKey128}, {"iv", kIv}, {"cipher", "aes-128-cbc"},
           {"mode", "ecb"}},
          "selects CBC, but mode=ecb"},
  };
  // aesenc needs a key; aesdec may look it up by the stream's key id
  // (test_aesdec.cpp, KeyLookup), except in raw modes.
  EXPECT_NE (
      first_buffer_error ("aesenc", {}).find ("No key set"), std::string::npos);
  EXPECT_EQ (start_error ("aesdec", {}), "");
  EXPECT_EQ (
      first_buffer_error ("aesdec", {}).find ("No key set"), std::string::npos);
  EXPECT_NE (
      first_buffer_error ("aesdec", {{"mode", "ecb"}}).find ("No key set"),
      std::string::npos);
  for (const char *factory : {"aesenc", "aesdec"}) {
    for (const Case &c : cases) {
      std::string err = c.at_start ? start_error (factory, c.props)
                                   : first_buffer_error (factory, c.props);
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

// Finding 6: a FIFO as key-file made start() wait forever for a writer.
TEST (BadInput, key_file_that_is_a_fifo_without_writer_fails_at_once)
{
  char dir[] = "/tmp/aesstream-fifoXXXXXX";
  ASSERT_NE (mkdtemp (dir), nullptr);
  std::string path = std::string (dir) + "/key";
  ASSERT_EQ (mkfifo (path.c_str (), 0600), 0);
  for (const char *factory : {"aesenc", "aesdec"}) {
    std::string err = start_error (factory, {{"key-file", path.c_str ()}});
    EXPECT_NE (err.find ("not a regular file and delivered nothing"),
        std::string::npos)
        << err;
  }
  unlink (path.c_str ());
  rmdir (dir);
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
      run_chunked ("aesenc", {{"key-file", path}, {"mode", "ctr"}, {"iv", kIv}},
          data, 1, 30),
      reference ("CTR", true, kKey256, kIv, data));
  unlink (path);
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

TEST (Properties, changes_after_the_first_buffer_are_refused)
{
  Harness h ("aesenc", {{"key", kKey128}, {"mode", "ctr"}, {"iv", kIv}});
  ASSERT_EQ (h.push (Bytes (16, 0)), GST_FLOW_OK);
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

TEST (Gcm, iv_is_refused)
{
  EXPECT_NE (
      start_error ("aesenc", {{"mode", "gcm"}, {"key", kKey128}, {"iv", kIv}})
          .find ("mode=gcm makes its own nonces"),
      std::string::npos);
}

TEST (Logging, aesenc_logs_to_its_own_category)
{
  CategoryRecorder rec ("aesenc");
  {
    // The shared settings code logs in the element's category too.
    GstElement *e = make ("aesenc", {});
    rec.watch (e);
    gst_util_set_object_arg (G_OBJECT (e), "key", "zz");
    gst_object_unref (e);
  }
  {
    Harness h ("aesenc", {{"key", kKey128}});
    rec.watch (h.h->element);
    ASSERT_EQ (h.push (Bytes (100, 1)), GST_FLOW_OK);
    h.eos ();
  }
  EXPECT_EQ (rec.seen, std::set<std::string> ({"aesenc"}));
}

// ---------------------------------------------------------------------------
// gst-plugins-bad's semantics when `mode` is not set, late configuration
// (issue 12)

TEST (GstPluginsBadAesenc, text16)
{
  run_their_way ("aesenc", true, false, hex (kBadPlain16), hex (kBadEnc16), {});
}

TEST (GstPluginsBadAesenc, text16_serialize)
{
  run_their_way ("aesenc", true, true, hex (kBadPlain16),
      cat (hex (kBadIv), hex (kBadEnc16)), {});
}

TEST (GstPluginsBadAesenc, text16_serialize_no_per_buffer_padding)
{
  // Whole blocks at once; the padding block (all 16s) at EOS.
  Bytes enc = hex (kBadEnc16);
  run_their_way ("aesenc", false, true, hex (kBadPlain16),
      cat (hex (kBadIv), slice (enc, 0, 16)), slice (enc, 16, 32));
}

TEST (GstPluginsBadAesenc, text17)
{
  run_their_way ("aesenc", true, false, hex (kBadPlain17), hex (kBadEnc17), {});
}

TEST (GstPluginsBadAesenc, text17_serialize)
{
  run_their_way ("aesenc", true, true, hex (kBadPlain17),
      cat (hex (kBadIv), hex (kBadEnc17)), {});
}

TEST (GstPluginsBadAesenc, text17_serialize_no_per_buffer_padding)
{
  // The 17th byte waits for EOS, where it is padded.
  Bytes enc = hex (kBadEnc17);
  run_their_way ("aesenc", false, true, hex (kBadPlain17),
      cat (hex (kBadIv), slice (enc, 0, 16)), slice (enc, 16, 32));
}

// aesdec: their six cases.

TEST (Compat, iv_without_mode_is_gst_plugins_bads_aes_128_cbc)
{
  // The plainest gst-plugins-bad launch line: per-buffer PKCS#7, chain
  // continued (checked against EVP buffer by buffer).
  Harness h ("aesenc", {{"key", kKey128}, {"iv", kIv}});
  Bytes a = random_bytes (100, 1), b = random_bytes (37, 2);
  ASSERT_EQ (h.push (a), GST_FLOW_OK);
  Bytes ca = h.pull_all ();
  EXPECT_EQ (ca, reference ("CBC", true, kKey128, kIv, a));
  ASSERT_EQ (h.push (b), GST_FLOW_OK);
  std::string next_iv;
  for (size_t i = ca.size () - 16; i < ca.size (); i++) {
    char x[3];
    std::snprintf (x, sizeof x, "%02x", ca[i]);
    next_iv += x;
  }
  EXPECT_EQ (
      h.pull_all (), reference ("CBC", true, kKey128, next_iv.c_str (), b));
  EXPECT_EQ (h.error (), "");
}

TEST (Compat, any_gst_plugins_bad_property_selects_cbc_even_at_its_default)
{
  struct Case
  {
    Props props;
    gint mode;
  } cases[] = {
      {{{"key", kKey128}}, 0},
      {{{"key", kKey128}, {"iv", kIv}}, 2},
      {{{"key", kKey128}, {"cipher", "aes-128-cbc"}}, 2},
      {{{"key", kKey128}, {"serialize-iv", "false"}}, 2},
      {{{"key", kKey128}, {"per-buffer-padding", "true"}}, 2},
      {{{"key", kKey128}, {"mode", "ctr"}, {"iv", kIv}}, 0},
      {{{"key", kKey128}, {"mode", "ctr"}, {"per-buffer-padding", "true"}}, 0},
      {{{"key", kKey128}, {"mode", "gcm"}}, 3},
      // Unsetting iv again takes its vote back.
      {{{"key", kKey128}, {"iv", kIv}, {"iv", ""}}, 0},
  };
  for (const char *factory : {"aesenc", "aesdec"}) {
    for (const Case &c : cases) {
      GstElement *e = make (factory, c.props);
      gint mode = -1;
      g_object_get (e, "mode", &mode, nullptr);
      EXPECT_EQ (mode, c.mode) << factory << " case " << (&c - cases);
      gst_object_unref (e);
    }
  }
}

TEST (Compat, key_size_comes_from_cipher)
{
  Bytes data = random_bytes (64, 3);
  EXPECT_NE (start_error ("aesenc", {{"key", kKey256}, {"iv", kIv}})
                 .find ("cipher=aes-128-cbc (its default)"),
      std::string::npos);
  EXPECT_EQ (run_chunked ("aesenc",
                 {{"key", kKey256}, {"iv", kIv}, {"cipher", "aes-256-cbc"},
                     {"per-buffer-padding", "false"}},
                 data, 1, 64),
      reference ("CBC", true, kKey256, kIv, data));
  // An explicit mode=cbc takes the key's size, as before.
  EXPECT_EQ (run_chunked ("aesenc",
                 {{"key", kKey256}, {"iv", kIv}, {"mode", "cbc"},
                     {"per-buffer-padding", "false"}},
                 data, 1, 64),
      reference ("CBC", true, kKey256, kIv, data));
}

TEST (Compat, missing_or_malformed_iv_is_an_error_never_zeros)
{
  // gst-plugins-bad encrypts with an all-zero IV here.
  for (const char *p : {"per-buffer-padding", "serialize-iv", "cipher"}) {
    const char *v = std::string (p) == "cipher" ? "aes-128-cbc" : "true";
    std::string err = first_buffer_error ("aesenc", {{"key", kKey128}, {p, v}});
    EXPECT_NE (err.find ("No iv set"), std::string::npos) << p << ": " << err;
  }
  EXPECT_NE (start_error ("aesenc", {{"key", kKey128}, {"iv", "00ff"}})
                 .find ("iv must be 32 hex digits"),
      std::string::npos);
}

TEST (Compat, empty_stream_stays_empty)
{
  // As gst-plugins-bad: nothing in, nothing out (no IV, no padding block).
  for (const char *factory : {"aesenc", "aesdec"}) {
    Harness h (factory,
        {{"key", kKey128}, {"iv", kIv}, {"per-buffer-padding", "false"},
            {"serialize-iv", "true"}});
    EXPECT_TRUE (h.eos ());
    EXPECT_EQ (h.pull_all ().size (), 0u) << factory;
    EXPECT_EQ (h.error (), "") << factory;
  }
}

TEST (BadInput, missing_key_is_an_error_at_eos_of_an_empty_stream)
{
  // (aesdec in a raw mode: without mode it would look the key up by the
  // stream's key id, and an empty stream names none.)
  for (const char *factory : {"aesenc", "aesdec"}) {
    Harness h (factory, {{"mode", "ecb"}});
    EXPECT_FALSE (h.eos ());
    EXPECT_NE (h.error ().find ("No key set"), std::string::npos) << factory;
    EXPECT_EQ (h.pull_all ().size (), 0u);
  }
}

TEST (LateConfig, settings_may_change_until_the_first_buffer)
{
  // Valid at start (checked there), then changed: the stream uses what is
  // set when its first buffer arrives.
  Harness h ("aesenc", {{"key", kKey128}, {"mode", "ctr"}, {"iv", kIv}});
  EXPECT_EQ (h.error (), "");
  g_object_set (h.h->element, "key", kKey256, "mode", 2 /* cbc */,
      "per-buffer-padding", FALSE, nullptr);
  EXPECT_EQ (h.warning (), "");
  Bytes data = random_bytes (40, 5);
  ASSERT_EQ (h.push (data), GST_FLOW_OK);
  ASSERT_TRUE (h.eos ());
  EXPECT_EQ (h.pull_all (), reference ("CBC", true, kKey256, kIv, data));
}

TEST (LateConfig, a_bad_value_set_after_start_is_an_error_at_the_first_buffer)
{
  Harness h ("aesenc", {{"key", kKey128}});
  g_object_set (h.h->element, "iv", "zz", nullptr);
  EXPECT_EQ (h.push (Bytes (16, 0)), GST_FLOW_ERROR);
  EXPECT_NE (h.error ().find ("Invalid iv property"), std::string::npos);
  EXPECT_EQ (h.pull_all ().size (), 0u);
  // The stream stays failed; nothing more comes out.
  EXPECT_EQ (h.push (Bytes (16, 0)), GST_FLOW_ERROR);
  EXPECT_EQ (h.pull_all ().size (), 0u);
}

TEST (LateConfig, key_set_after_start_configures_an_empty_stream_at_eos)
{
  // An empty aesstream recording still gets its header (and key id).
  Harness h ("aesenc", {});
  g_object_set (h.h->element, "key", kKey128, nullptr);
  EXPECT_TRUE (h.eos ());
  Bytes out = h.pull_all ();
  ASSERT_EQ (out.size (), 48u);
  EXPECT_EQ (slice (out, 0, 4), (Bytes{'A', 'E', 'S', 's'}));
}

TEST (LateConfig, restart_allows_new_settings)
{
  GstElement *e
      = make ("aesenc", {{"key", kKey128}, {"mode", "ctr"}, {"iv", kIv}});
  GstHarness *h = gst_harness_new_with_element (e, "sink", "src");
  gst_harness_play (h);
  start_stream (h);
  Bytes data = random_bytes (48, 6);
  gst_harness_push (h, new_buffer (data));
  GstBuffer *b = gst_harness_pull (h);
  EXPECT_EQ (buffer_bytes (b), reference ("CTR", true, kKey128, kIv, data));
  gst_buffer_unref (b);
  ASSERT_EQ (
      gst_element_set_state (e, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  g_object_set (e, "key", kKey256, nullptr);
  ASSERT_EQ (
      gst_element_set_state (e, GST_STATE_PLAYING), GST_STATE_CHANGE_SUCCESS);
  start_stream (h);
  gst_harness_push (h, new_buffer (data));
  b = gst_harness_pull (h);
  EXPECT_EQ (buffer_bytes (b), reference ("CTR", true, kKey256, kIv, data));
  gst_buffer_unref (b);
  gst_object_unref (e);
  gst_harness_teardown (h);
}

TEST (LateConfig, what_reads_back_is_what_ran_when_set_during_the_first_buffer)
{
  // Another thread keeps changing iv while the first buffer arrives: the
  // stream takes one consistent snapshot, and from then on the value is
  // frozen, so what iv reads back afterwards is what encrypted.
  const char *ivs[2] = {kIv, kBadIv};
  Bytes data = random_bytes (64, 8);
  for (int round = 0; round < 20; round++) {
    Harness h ("aesenc", {{"key", kKey128}, {"mode", "ctr"}, {"iv", kIv}});
    std::atomic<bool> stop{false};
    std::thread setter ([&] {
      for (unsigned i = 0; !stop; i++)
        g_object_set (h.h->element, "iv", ivs[i % 2], nullptr);
    });
    EXPECT_EQ (h.push (data), GST_FLOW_OK);
    stop = true;
    setter.join ();
    gchar *iv = nullptr;
    g_object_get (h.h->element, "iv", &iv, nullptr);
    ASSERT_NE (iv, nullptr);
    EXPECT_EQ (h.pull_all (), reference ("CTR", true, kKey128, iv, data))
        << round;
    g_free (iv);
  }
}

// Finding 4: with an empty input (an empty file: EOS came before any
// SEGMENT), aesenc pushed its header, GCM final record or CBC padding
// without a segment ("Got data flow before segment event", fatal under
// G_DEBUG=fatal-warnings, which this binary runs with). It must send a
// segment first, so that an empty input still gives a stream that decrypts
// to nothing.
TEST (EmptyInput, eos_before_segment_still_gives_a_valid_empty_stream)
{
  const Props modes[] = {
      {{"mode", "ctr"}, {"key", kKey128}},
      {{"mode", "gcm"}, {"key", kKey128}},
      {{"mode", "cbc"}, {"key", kKey128}, {"iv", kIv},
          {"per-buffer-padding", "false"}},
      {{"mode", "cbc"}, {"key", kKey128}, {"iv", kIv},
          {"serialize-iv", "true"}},
  };
  for (const Props &props : modes) {
    GstElement *e = make ("aesenc", props);
    GstHarness *h = gst_harness_new_with_element (e, "sink", "src");
    gst_object_unref (e);
    gst_harness_play (h);
    gst_harness_push_event (h, gst_event_new_stream_start ("empty"));
    gst_harness_push_event (h, gst_event_new_eos ());
    bool segment_seen = false;
    while (GstEvent *ev = gst_harness_try_pull_event (h)) {
      segment_seen = segment_seen || GST_EVENT_TYPE (ev) == GST_EVENT_SEGMENT;
      gst_event_unref (ev);
    }
    Bytes out;
    while (GstBuffer *b = gst_harness_try_pull (h)) {
      GstMapInfo m;
      ASSERT_TRUE (gst_buffer_map (b, &m, GST_MAP_READ));
      out.insert (out.end (), m.data, m.data + m.size);
      gst_buffer_unmap (b, &m);
      gst_buffer_unref (b);
    }
    gst_harness_teardown (h);
    if (!out.empty ()) {
      EXPECT_TRUE (segment_seen) << props[0].second;
    }
    // Whatever came out decrypts to nothing.
    Props dec = props;
    if (std::string (props[0].second) == "gcm")
      dec.push_back ({"invalid-records", "error"});
    EXPECT_EQ (run_chunked ("aesdec", dec, out, 1, 1000), Bytes ())
        << props[0].second;
  }
}

// ---------------------------------------------------------------------------
// Key rotation while playing (issue 11)

namespace {

const char *kKeyB = "000102030405060708090a0b0c0d0e0f";

Bytes
salt_of (const Bytes &rec)
{
  return Bytes (rec.begin () + 14, rec.begin () + 24);
}

uint64_t
seq_of (const Bytes &rec)
{
  uint64_t v = 0;
  for (int i = 8; i < 14; i++)
    v = v << 8 | rec[i];
  return v;
}

// The element messages named `name` on the bus.
std::vector<GstStructure *>
element_messages (GstBus *bus, const char *name)
{
  std::vector<GstStructure *> found;
  while (GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT)) {
    const GstStructure *s = gst_message_get_structure (m);
    if (gst_structure_has_name (s, name))
      found.push_back (gst_structure_copy (s));
    gst_message_unref (m);
  }
  return found;
}

} // namespace

TEST (Rotation, key_change_while_playing_starts_a_new_stream_under_the_new_key)
{
  Harness h ("aesenc", {{"mode", "gcm"}, {"key", kKey128}});
  auto chunks = some_chunks (6, 21);
  std::vector<Bytes> recs;
  for (int i = 0; i < 3; i++) {
    ASSERT_EQ (h.push (chunks[i]), GST_FLOW_OK);
    for (Bytes &b : pull_buffers (h.h))
      recs.push_back (b);
  }
  g_object_set (h.h->element, "key", kKeyB, nullptr);
  EXPECT_EQ (h.warning (), ""); // accepted, not refused
  for (int i = 3; i < 6; i++) {
    ASSERT_EQ (h.push (chunks[i]), GST_FLOW_OK);
    for (Bytes &b : pull_buffers (h.h))
      recs.push_back (b);
  }
  h.eos ();
  for (Bytes &b : pull_buffers (h.h))
    recs.push_back (b);
  EXPECT_EQ (h.error (), "");
  // 3 records, the old stream's final record, 3 records of a new stream,
  // its final record.
  ASSERT_EQ (recs.size (), 8u);
  Bytes plain;
  for (int i = 0; i < 4; i++) {
    EXPECT_EQ (salt_of (recs[i]), salt_of (recs[0]));
    EXPECT_EQ (seq_of (recs[i]), (uint64_t)i);
    Bytes wrong;
    EXPECT_FALSE (open_record_independently (recs[i], kKeyB, &wrong));
    ASSERT_TRUE (open_record_independently (recs[i], kKey128, &plain)) << i;
    if (i < 3) {
      EXPECT_EQ (plain, chunks[i]);
    }
  }
  EXPECT_EQ (recs[3].size (), 40u);
  EXPECT_EQ (recs[3][3], 0x01); // final
  EXPECT_NE (salt_of (recs[4]), salt_of (recs[0]));
  for (int i = 4; i < 8; i++) {
    EXPECT_EQ (salt_of (recs[i]), salt_of (recs[4]));
    EXPECT_EQ (seq_of (recs[i]), (uint64_t)(i - 4)); // from 0 again
    Bytes wrong;
    EXPECT_FALSE (open_record_independently (recs[i], kKey128, &wrong));
    ASSERT_TRUE (open_record_independently (recs[i], kKeyB, &plain)) << i;
    if (i < 7) {
      EXPECT_EQ (plain, chunks[i - 1]);
    }
  }
  EXPECT_EQ (recs[7][3], 0x01);
}

TEST (Rotation, key_file_change_while_playing_reads_the_new_file)
{
  char path[] = "/tmp/aesstream-rotkeyXXXXXX";
  int fd = mkstemp (path);
  ASSERT_GE (fd, 0);
  std::string text = std::string (kKey256) + "\n";
  ASSERT_EQ (write (fd, text.data (), text.size ()), (ssize_t)text.size ());
  close (fd);
  Harness h ("aesenc", {{"mode", "gcm"}, {"key", kKey128}});
  ASSERT_EQ (h.push (Bytes (10, 1)), GST_FLOW_OK);
  Bytes first = h.pull_all (), plain;
  g_object_set (h.h->element, "key-file", path, nullptr);
  unlink (path); // read when set
  ASSERT_EQ (h.push (Bytes (10, 2)), GST_FLOW_OK);
  auto recs = pull_buffers (h.h);
  ASSERT_EQ (recs.size (), 2u); // final record of the old stream, new record
  EXPECT_TRUE (open_record_independently (recs[1], kKey256, &plain));
  EXPECT_EQ (plain, Bytes (10, 2));
  gchar *kf = nullptr;
  g_object_get (h.h->element, "key-file", &kf, nullptr);
  EXPECT_STREQ (kf, path);
  g_free (kf);
}

TEST (Rotation, only_gcm_changes_keys_and_other_properties_stay_frozen)
{
  {
    Harness h ("aesenc", {{"mode", "ctr"}, {"key", kKey128}, {"iv", kIv}});
    ASSERT_EQ (h.push (Bytes (16, 0)), GST_FLOW_OK);
    h.pull_all ();
    g_object_set (h.h->element, "key", kKeyB, nullptr);
    std::string w = h.warning ();
    EXPECT_NE (w.find ("cannot be changed while the element is running"),
        std::string::npos);
    EXPECT_NE (w.find ("Only mode=gcm"), std::string::npos);
    Bytes data (16, 3);
    ASSERT_EQ (h.push (data), GST_FLOW_OK); // still the first key
    Bytes expected = reference ("CTR", true, kKey128, kIv, Bytes (32, 0));
    expected.erase (expected.begin (), expected.begin () + 16);
    for (size_t i = 0; i < 16; i++)
      expected[i] ^= 3;
    EXPECT_EQ (h.pull_all (), expected);
  }
  {
    Harness h ("aesenc", {{"mode", "gcm"}, {"key", kKey128}});
    ASSERT_EQ (h.push (Bytes (16, 0)), GST_FLOW_OK);
    g_object_set (h.h->element, "rotate-after-records", (guint64)5, nullptr);
    EXPECT_NE (h.warning ().find ("cannot be changed"), std::string::npos);
    g_object_set (h.h->element, "mode", 0, nullptr);
    EXPECT_NE (h.warning ().find ("cannot be changed"), std::string::npos);
  }
}

TEST (Rotation, an_invalid_key_while_playing_stops_with_an_error)
{
  const char *almost = "2b7e151628aed2a6abf7158809cf4f3cff";
  Harness h ("aesenc", {{"mode", "gcm"}, {"key", kKey128}});
  ASSERT_EQ (h.push (Bytes (10, 1)), GST_FLOW_OK);
  h.pull_all ();
  g_object_set (h.h->element, "key", almost, nullptr);
  EXPECT_EQ (h.push (Bytes (10, 2)), GST_FLOW_ERROR);
  EXPECT_EQ (h.pull_all (), Bytes ()); // nothing more under the old key
  std::string err = h.error ();
  EXPECT_NE (
      err.find ("The key set while playing is not valid"), std::string::npos);
  EXPECT_EQ (err.find ("2b7e1516"), std::string::npos);
  // Unsetting the key is refused the same way.
  Harness h2 ("aesenc", {{"mode", "gcm"}, {"key", kKey128}});
  ASSERT_EQ (h2.push (Bytes (10, 1)), GST_FLOW_OK);
  g_object_set (h2.h->element, "key", nullptr, nullptr);
  EXPECT_EQ (h2.push (Bytes (10, 2)), GST_FLOW_ERROR);
  EXPECT_NE (h2.error ().find ("cannot be unset"), std::string::npos);
}

TEST (Rotation, keys_are_never_logged_when_they_change)
{
  std::vector<std::string> lines;
  GstLogFunction fn
      = [] (GstDebugCategory *, GstDebugLevel, const gchar *, const gchar *,
            gint, GObject *, GstDebugMessage *msg, gpointer data) {
          static_cast<std::vector<std::string> *> (data)->push_back (
              gst_debug_message_get (msg));
        };
  gst_debug_set_threshold_for_name ("aesenc", GST_LEVEL_LOG);
  gst_debug_add_log_function (fn, &lines, nullptr);
  gst_debug_remove_log_function (gst_debug_log_default); // quiet
  {
    Harness h ("aesenc", {{"mode", "gcm"}, {"key", kKey128}});
    h.push (Bytes (10, 1));
    g_object_set (h.h->element, "key", kKeyB, nullptr);
    h.push (Bytes (10, 2));
    h.pull_all ();
  }
  gst_debug_remove_log_function (fn);
  gst_debug_add_log_function (gst_debug_log_default, nullptr, nullptr);
  gst_debug_set_threshold_for_name ("aesenc", GST_LEVEL_NONE);
  bool rotated = false;
  for (const std::string &l : lines) {
    EXPECT_EQ (l.find ("00010203"), std::string::npos) << l;
    EXPECT_EQ (l.find ("2b7e1516"), std::string::npos) << l;
    rotated = rotated || l.find ("key rotated") != std::string::npos;
  }
  EXPECT_TRUE (rotated); // the log did run
}

// The key is handed from the application's thread to the streaming thread
// at a record boundary: with keys changing from another thread while
// records are sealed, every record opens under exactly one of the keys
// (checked with OpenSSL), and each stream is one key's records numbered
// from 0 without a gap, ended by its final record.
TEST (Rotation, keys_changed_from_another_thread_switch_between_records)
{
  Harness h ("aesenc", {{"mode", "gcm"}, {"key", kKey128}});
  std::atomic<bool> done{false};
  std::thread changer ([&] () {
    for (int i = 0; !done; i++) {
      g_object_set (h.h->element, "key", i % 2 ? kKey128 : kKeyB, nullptr);
      std::this_thread::sleep_for (std::chrono::microseconds (200));
    }
  });
  std::vector<Bytes> recs;
  for (int i = 0; i < 1500; i++) {
    if (i % 100 == 50) // let the other thread in, even on a loaded machine
      std::this_thread::sleep_for (std::chrono::milliseconds (1));
    ASSERT_EQ (h.push (Bytes (32, (uint8_t)i)), GST_FLOW_OK);
    for (Bytes &b : pull_buffers (h.h))
      recs.push_back (b);
  }
  done = true;
  changer.join ();
  h.eos ();
  for (Bytes &b : pull_buffers (h.h))
    recs.push_back (b);
  EXPECT_EQ (h.error (), "");
  size_t streams = 0, data = 0;
  Bytes salt;
  uint64_t next = 0;
  const char *stream_key = nullptr;
  for (const Bytes &r : recs) {
    Bytes plain, other;
    bool a = open_record_independently (r, kKey128, &plain);
    bool b = open_record_independently (r, kKeyB, &other);
    ASSERT_NE (a, b); // exactly one key
    const char *key = a ? kKey128 : kKeyB;
    if (salt_of (r) != salt) { // a new stream starts at 0
      salt = salt_of (r);
      stream_key = key;
      next = 0;
      streams++;
    }
    EXPECT_EQ (key, stream_key);
    EXPECT_EQ (seq_of (r), next++);
    if (r[3] == 0x01) {
      salt.clear (); // ended: the next record starts another stream
    } else {
      EXPECT_EQ ((a ? plain : other), Bytes (32, (uint8_t)data));
      data++;
    }
  }
  EXPECT_EQ (data, 1500u);
  EXPECT_GT (streams, 2u);
  EXPECT_TRUE (salt.empty ()); // the last stream ended too
}

TEST (Limits, a_message_asks_for_a_new_key_after_rotate_after_records)
{
  Harness h ("aesenc",
      {{"mode", "gcm"}, {"key", kKey128}, {"rotate-after-records", "3"}});
  guint64 def = 0;
  GstElement *fresh = make ("aesenc", {});
  g_object_get (fresh, "rotate-after-records", &def, nullptr);
  gst_object_unref (fresh);
  EXPECT_EQ (def, G_GUINT64_CONSTANT (1) << 32);
  for (int i = 0; i < 2; i++)
    ASSERT_EQ (h.push (Bytes (5, 1)), GST_FLOW_OK);
  EXPECT_TRUE (element_messages (h.bus, "aesenc-rotate-key").empty ());
  for (int i = 0; i < 3; i++)
    ASSERT_EQ (h.push (Bytes (5, 1)), GST_FLOW_OK);
  auto msgs = element_messages (h.bus, "aesenc-rotate-key");
  ASSERT_EQ (msgs.size (), 1u); // once per key
  guint64 records = 0, after = 0;
  EXPECT_TRUE (gst_structure_get_uint64 (msgs[0], "records", &records));
  EXPECT_TRUE (
      gst_structure_get_uint64 (msgs[0], "rotate-after-records", &after));
  EXPECT_EQ (records, 3u);
  EXPECT_EQ (after, 3u);
  gst_structure_free (msgs[0]);
  // The application rotates: the count starts again for the new key.
  g_object_set (h.h->element, "key", kKeyB, nullptr);
  for (int i = 0; i < 3; i++)
    ASSERT_EQ (h.push (Bytes (5, 1)), GST_FLOW_OK);
  msgs = element_messages (h.bus, "aesenc-rotate-key");
  ASSERT_EQ (msgs.size (), 1u);
  for (auto *m : msgs)
    gst_structure_free (m);
  // 0: never.
  Harness never ("aesenc",
      {{"mode", "gcm"}, {"key", kKey128}, {"rotate-after-records", "0"}});
  for (int i = 0; i < 5; i++)
    ASSERT_EQ (never.push (Bytes (5, 1)), GST_FLOW_OK);
  EXPECT_TRUE (element_messages (never.bus, "aesenc-rotate-key").empty ());
}

TEST (Limits, sealing_past_max_records_per_key_is_an_error)
{
  guint64 def = 0;
  GstElement *fresh = make ("aesenc", {});
  g_object_get (fresh, "max-records-per-key", &def, nullptr);
  gst_object_unref (fresh);
  EXPECT_EQ (def, (G_GUINT64_CONSTANT (1) << 48) - 1);
  // It can only be lowered: the format's limit is the property's maximum.
  GParamSpec *ps = g_object_class_find_property (
      G_OBJECT_CLASS (g_type_class_peek (g_type_from_name ("GstAesStreamEnc"))),
      "max-records-per-key");
  ASSERT_NE (ps, nullptr);
  EXPECT_EQ (G_PARAM_SPEC_UINT64 (ps)->maximum, def);

  Harness h ("aesenc",
      {{"mode", "gcm"}, {"key", kKey128}, {"max-records-per-key", "4"}});
  for (int i = 0; i < 4; i++)
    ASSERT_EQ (h.push (Bytes (5, 1)), GST_FLOW_OK);
  EXPECT_EQ (pull_buffers (h.h).size (), 4u);
  EXPECT_EQ (h.push (Bytes (5, 1)), GST_FLOW_ERROR);
  EXPECT_EQ (pull_buffers (h.h).size (), 0u);
  std::string err = h.error ();
  EXPECT_NE (err.find ("max-records-per-key"), std::string::npos) << err;
  EXPECT_EQ (h.push (Bytes (5, 1)), GST_FLOW_ERROR); // and stays stopped

  // Rotating in time keeps it going.
  Harness r ("aesenc",
      {{"mode", "gcm"}, {"key", kKey128}, {"max-records-per-key", "4"}});
  for (int i = 0; i < 3; i++)
    ASSERT_EQ (r.push (Bytes (5, 1)), GST_FLOW_OK);
  g_object_set (r.h->element, "key", kKeyB, nullptr);
  for (int i = 0; i < 4; i++)
    ASSERT_EQ (r.push (Bytes (5, 1)), GST_FLOW_OK);
  EXPECT_EQ (r.error (), "");
}

// The element (and the key it holds, wiped when it is finalized) is gone
// once its harness is: the messages left on the test's bus hold references
// to it, and it holds the bus, so the harness must flush the bus.
static void
note_finalized (gpointer data, GObject *)
{
  *static_cast<bool *> (data) = true;
}

TEST (Harness, element_is_finalized_with_its_harness)
{
  bool finalized = false;
  {
    Harness h ("aesenc", {{"key", kKey128}, {"mode", "ctr"}, {"iv", kIv}});
    g_object_weak_ref (G_OBJECT (h.h->element), note_finalized, &finalized);
    ASSERT_EQ (h.push (Bytes (100, 1)), GST_FLOW_OK);
    EXPECT_EQ (h.pull_all ().size (), 100u);
  }
  EXPECT_TRUE (finalized);
}

int
main (int argc, char **argv)
{
  return run_tests (argc, argv);
}
