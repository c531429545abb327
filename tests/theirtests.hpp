// gst-plugins-bad 1.22.0's own element tests for the elements we replace
// (subprojects/gst-plugins-bad/tests/check/elements/aesenc.c and aesdec.c),
// rewritten as ours: their key, IV, inputs and expected bytes (facts about
// AES-128-CBC, cross-checked with pycryptodome by tests/test_compat.py,
// which reads them from this file), and the way their tests drive the
// element: created and started by gst_harness_new(), caps set, and only then
// configured. Used by test_aesenc.cpp and test_aesdec.cpp.
#pragma once

#include "elementtest.hpp"

namespace {

const char *kBadKey = "1f9423681beb9a79215820f6bda73d0f";
const char *kBadIv = "e9aa8e834d8d70b7e0d254ff670dd718";
const char *kBadPlain16 = "000102030405060708090a0b0c0d0e0f";
const char *kBadPlain17 = "000102030405060708090a0b0c0d0e0f10";
const char *kBadEnc16 = "fc4914c6ee06e1b1c7a23a0513152927"
                        "40eefdcb3bbef30ba7af5e2087788a45";
const char *kBadEnc17 = "fc4914c6ee06e1b1c7a23a0513152927"
                        "e1e0aaf4e8297c9fc4e3114a97589ca5";

inline Bytes
cat (const Bytes &a, const Bytes &b)
{
  Bytes out = a;
  out.insert (out.end (), b.begin (), b.end ());
  return out;
}

inline Bytes
slice (const Bytes &b, size_t from, size_t to)
{
  return Bytes (b.begin () + from, b.begin () + to);
}

inline Bytes
buffer_bytes (GstBuffer *buf)
{
  GstMapInfo map;
  EXPECT_TRUE (gst_buffer_map (buf, &map, GST_MAP_READ));
  Bytes out (map.data, map.data + map.size);
  gst_buffer_unmap (buf, &map);
  return out;
}

// What their tests do, step by step: the harness creates and starts the
// element by name, caps are set, and only then the element is configured.
// `first` is the one buffer expected after pushing `in`; `at_eos` what EOS
// adds (nothing, or one buffer).
inline void
run_their_way (const char *factory, bool per_buffer_padding, bool serialize_iv,
    const Bytes &in, const Bytes &first, const Bytes &at_eos)
{
  GstHarness *h = gst_harness_new (factory);
  gst_harness_set_src_caps_str (h, "video/x-raw");
  g_object_set (h->element, "key", kBadKey, "iv", kBadIv, "per-buffer-padding",
      per_buffer_padding, "serialize-iv", serialize_iv, nullptr);

  GstBuffer *out = gst_harness_push_and_pull (h, new_buffer (in));
  ASSERT_NE (out, nullptr);
  EXPECT_EQ (buffer_bytes (out), first);
  gst_buffer_unref (out);
  EXPECT_EQ (gst_harness_buffers_in_queue (h), 0u);

  EXPECT_TRUE (gst_harness_push_event (h, gst_event_new_eos ()));
  out = gst_harness_try_pull (h);
  if (at_eos.empty ()) {
    EXPECT_EQ (out, nullptr);
  } else {
    ASSERT_NE (out, nullptr);
    EXPECT_EQ (buffer_bytes (out), at_eos);
    gst_buffer_unref (out);
  }

  // The configuration took gst-plugins-bad's meaning: CBC, and aesenc's
  // caps (negotiated before the iv was set) say so by the first byte.
  gint mode = -1;
  g_object_get (h->element, "mode", &mode, nullptr);
  EXPECT_EQ (mode, 2); // GST_AES_STREAM_MODE_CBC
  if (std::string (factory) == "aesenc") {
    GstCaps *caps = gst_pad_get_current_caps (h->sinkpad);
    ASSERT_NE (caps, nullptr);
    EXPECT_STREQ (
        gst_structure_get_string (gst_caps_get_structure (caps, 0), "mode"),
        "cbc");
    gst_caps_unref (caps);
  }
  gst_harness_teardown (h);
}

} // namespace
