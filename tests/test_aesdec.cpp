// GstHarness tests of aesdec: decryption per mode, reading the stream
// header and serialized IV, caps, wrong keys and damaged input, and GCM
// record framing, replay protection, counters and the invalid-records
// policy.
#include "buffers.hpp"
#include "elementtest.hpp"

#include "theirtests.hpp"
#include <ctime>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

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
    ASSERT_EQ (enc.size (), data.size () + 48);
    // The body is raw CTR under the IV in the header (docs/format.md,
    // version 2: IV at bytes 32..47).
    std::string iv = "";
    for (int i = 32; i < 48; i++) {
      char b[3];
      std::snprintf (b, sizeof b, "%02x", enc[i]);
      iv += b;
    }
    ASSERT_EQ (Bytes (enc.begin () + 48, enc.end ()),
        reference ("CTR", true, kKey128, iv.c_str (), data));
    ASSERT_EQ (
        run_chunked ("aesdec", {{"key", kKey128}}, enc, seed + 1000, 20), data)
        << "seed " << seed;
  }
}

TEST (Ecb, truncated_ciphertext_is_an_error_at_eos)
{
  Harness h ("aesdec", {{"key", kKey128}, {"mode", "ecb"}});
  ASSERT_EQ (h.push (random_bytes (40, 1)), GST_FLOW_OK);
  h.eos ();
  EXPECT_NE (h.error ().find ("not a multiple of 16"), std::string::npos);
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
  Harness dec ("aesdec", {{"key", kKey128}, {"mode", "ctr"}, {"iv", kIv}},
      "application/x-rtp");
  ASSERT_EQ (dec.push (Bytes (32, 1)), GST_FLOW_OK);
  EXPECT_EQ (dec.pull_all ().size (), 32u);
  EXPECT_EQ (gst_pad_get_current_caps (dec.h->sinkpad), nullptr);
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
  // The settings may still change until the first buffer: that is when the
  // mode is compared.
  gst_harness_push_event (h, gst_event_new_caps (caps));
  gst_caps_unref (caps);
  GstSegment seg;
  gst_segment_init (&seg, GST_FORMAT_BYTES);
  gst_harness_push_event (h, gst_event_new_segment (&seg));
  EXPECT_EQ (
      gst_harness_push (h, gst_buffer_new_allocate (nullptr, 16, nullptr)),
      GST_FLOW_ERROR);
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  ASSERT_NE (msg, nullptr);
  GError *err = nullptr;
  gst_message_parse_error (msg, &err, nullptr);
  EXPECT_NE (std::string (err->message).find ("mode=ctr"), std::string::npos);
  g_error_free (err);
  gst_message_unref (msg);
  release_bus (bus);
  gst_harness_teardown (h);
  gst_object_unref (e);
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
  EXPECT_NE (h.error ().find ("before its aesstream header was complete"),
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
  std::string err = h2.error ();
  EXPECT_NE (err.find ("the stream needs the key with key id "
                       "24efab2a070e1c7693eb4ce6087932e0"),
      std::string::npos)
      << err;
  EXPECT_NE (err.find ("AES-128 stream, AES-256 key"), std::string::npos)
      << err;
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

TEST (Gcm, byte_streams_are_reframed_for_any_chunking)
{
  auto chunks = some_chunks (30, 3);
  auto records = gcm_records (chunks);
  const Bytes stream = joined (records);
  const Bytes expected = joined (chunks);
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

static Bytes
bytes_of (GstBuffer *buf)
{
  Bytes b (gst_buffer_get_size (buf));
  gst_buffer_extract (buf, 0, b.data (), b.size ());
  return b;
}

// Where a record can be cut into memories: inside and at the end of the
// header, inside the payload, at and inside the tag.
static std::vector<std::vector<size_t>>
memory_layouts (size_t len)
{
  return {{}, {24}, {len - 16}, {10}, {len - 5}, {24, len - 16}, {7, len / 2},
      {24, len / 2, len - 16}, {30, len / 3, len - 9}};
}

TEST (Gcm, records_in_one_two_or_three_memories_open_without_merging)
{
  auto chunks = some_chunks (4, 21);
  auto rec = gcm_records (chunks);
  const size_t layouts = memory_layouts (rec[1].size ()).size ();
  for (size_t layout = 0; layout < layouts; layout++) {
    const auto cuts = memory_layouts (rec[1].size ())[layout];
    Harness h ("aesdec",
        {{"mode", "gcm"}, {"key", kKey128}, {"invalid-records", "error"}});
    ASSERT_EQ (h.push (rec[0]), GST_FLOW_OK);
    gst_buffer_unref (gst_harness_pull (h.h));
    GstBuffer *in = buffer_of_memories (rec[1], cuts);
    // The payload memory, to check that the output is decrypted where it
    // was (a writable input: in place, no merge, no copy).
    const size_t mid = rec[1].size () / 2;
    guint idx = 0, nmem = 0;
    gsize skip = 0;
    ASSERT_TRUE (gst_buffer_find_memory (in, mid, 1, &idx, &nmem, &skip));
    GstMemory *payload_mem = gst_buffer_peek_memory (in, idx);
    GstMapInfo pm;
    ASSERT_TRUE (gst_memory_map (payload_mem, &pm, GST_MAP_READ));
    const guint8 *where = pm.data + skip;
    gst_memory_unmap (payload_mem, &pm);
    ASSERT_EQ (gst_harness_push (h.h, in), GST_FLOW_OK);
    GstBuffer *out = gst_harness_pull (h.h);
    ASSERT_NE (out, nullptr);
    EXPECT_EQ (bytes_of (out), chunks[1]) << cuts.size () << " cuts";
    guint oidx = 0;
    gsize oskip = 0;
    ASSERT_TRUE (
        gst_buffer_find_memory (out, mid - 24, 1, &oidx, &nmem, &oskip));
    GstMapInfo om;
    GstMemory *omem = gst_buffer_peek_memory (out, oidx);
    ASSERT_TRUE (gst_memory_map (omem, &om, GST_MAP_READ));
    EXPECT_EQ (om.data + oskip, where) << "the payload was copied";
    gst_memory_unmap (omem, &om);
    // Nothing of the header or the tag is left in the output.
    for (guint i = 0; i < gst_buffer_n_memory (out); i++)
      EXPECT_GT (gst_buffer_peek_memory (out, i)->size, 0u);
    gst_buffer_unref (out);
    // A read-only input (shared) is decrypted into a new buffer instead.
    GstBuffer *shared
        = buffer_of_memories (rec[2], memory_layouts (rec[2].size ())[layout]);
    gst_buffer_ref (shared);
    ASSERT_EQ (gst_harness_push (h.h, shared), GST_FLOW_OK) << h.error ();
    out = gst_harness_pull (h.h);
    EXPECT_EQ (bytes_of (out), chunks[2]);
    EXPECT_EQ (bytes_of (shared), rec[2]) << "a shared input was modified";
    gst_buffer_unref (out);
    gst_buffer_unref (shared);
    EXPECT_EQ (h.error (), "");
  }
}

TEST (Gcm, records_across_buffers_of_several_memories_open_without_merging)
{
  auto chunks = some_chunks (6, 22);
  auto rec = gcm_records (chunks);
  const Bytes stream = joined (rec);
  const Bytes expected = joined (chunks);
  std::mt19937 rng (22);
  for (int round = 0; round < 20; round++) {
    Harness h ("aesdec",
        {{"mode", "gcm"}, {"key", kKey128}, {"invalid-records", "error"}});
    for (size_t pos = 0; pos < stream.size ();) {
      size_t n = std::min<size_t> (1 + rng () % 900, stream.size () - pos);
      Bytes part (stream.begin () + pos, stream.begin () + pos + n);
      // Each buffer itself one, two or three memories.
      std::vector<size_t> cuts;
      for (unsigned k = rng () % 3; k > 0; k--)
        cuts.push_back (rng () % n);
      std::sort (cuts.begin (), cuts.end ());
      ASSERT_EQ (
          gst_harness_push (h.h, buffer_of_memories (part, cuts)), GST_FLOW_OK);
      pos += n;
    }
    EXPECT_TRUE (h.eos ());
    EXPECT_EQ (h.pull_all (), expected) << round;
    EXPECT_EQ (h.error (), "") << round;
  }
}

TEST (Gcm, a_tampered_byte_in_any_memory_outputs_nothing_of_the_record)
{
  auto chunks = some_chunks (3, 23);
  auto rec = gcm_records (chunks);
  const size_t len = rec[1].size ();
  for (const auto &cuts : memory_layouts (len)) {
    std::vector<size_t> ends (cuts);
    ends.push_back (len);
    size_t from = 0;
    for (size_t to : ends) { // a byte in each memory: first, middle, last
      for (size_t pos : {from, (from + to) / 2, to - 1}) {
        Bytes bad = rec[1];
        bad[pos] ^= 0x01;
        for (bool across_buffers : {false, true}) {
          Harness h ("aesdec",
              {{"mode", "gcm"}, {"key", kKey128}, {"invalid-records", "drop"}});
          ASSERT_EQ (h.push (rec[0]), GST_FLOW_OK);
          if (!across_buffers) {
            ASSERT_EQ (gst_harness_push (h.h, buffer_of_memories (bad, cuts)),
                GST_FLOW_OK);
          } else { // the same memories, each a buffer of its own
            size_t f = 0;
            for (size_t t : ends) {
              ASSERT_EQ (h.push (Bytes (bad.begin () + f, bad.begin () + t)),
                  GST_FLOW_OK);
              f = t;
            }
          }
          ASSERT_EQ (h.push (rec[2]), GST_FLOW_OK);
          ASSERT_EQ (h.push (rec[3]), GST_FLOW_OK);
          EXPECT_TRUE (h.eos ());
          Bytes want = chunks[0];
          want.insert (want.end (), chunks[2].begin (), chunks[2].end ());
          EXPECT_EQ (h.pull_all (), want)
              << "byte " << pos << ", " << cuts.size () << " cuts";
          guint64 rejected = 0;
          g_object_get (h.h->element, "records-rejected", &rejected, nullptr);
          EXPECT_GE (rejected, 1u);
        }
      }
      from = to;
    }
  }
}

TEST (Gcm, garbage_and_damaged_streams_never_crash_and_never_output)
{
  // Random bytes, and real records with random damage, in random
  // chunkings: nothing unauthenticated comes out, whatever the framing.
  auto rec = gcm_records (some_chunks (20, 11));
  const Bytes stream = joined (rec);
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

TEST (Logging, aesdec_logs_to_its_own_category)
{
  CategoryRecorder rec ("aesdec");
  {
    Harness h ("aesdec", {{"key", kKey128}});
    rec.watch (h.h->element);
    // Not an aesstream stream: an error, logged too.
    EXPECT_EQ (h.push (Bytes (100, 'x')), GST_FLOW_ERROR);
  }
  EXPECT_EQ (rec.seen, std::set<std::string> ({"aesdec"}));
}

// ---------------------------------------------------------------------------
// gst-plugins-bad's semantics when `mode` is not set, late configuration
// (issue 12)

TEST (GstPluginsBadAesdec, text16)
{
  run_their_way ("aesdec", true, false, hex (kBadEnc16), hex (kBadPlain16), {});
}

TEST (GstPluginsBadAesdec, text16_serialize)
{
  run_their_way ("aesdec", true, true, cat (hex (kBadIv), hex (kBadEnc16)),
      hex (kBadPlain16), {});
}

TEST (GstPluginsBadAesdec, text16_serialize_no_per_buffer_padding)
{
  // The last block may be padding: held back until EOS, where it turns out
  // to be nothing but padding.
  run_their_way ("aesdec", false, true, cat (hex (kBadIv), hex (kBadEnc16)),
      hex (kBadPlain16), {});
}

TEST (GstPluginsBadAesdec, text17)
{
  run_their_way ("aesdec", true, false, hex (kBadEnc17), hex (kBadPlain17), {});
}

TEST (GstPluginsBadAesdec, text17_serialize)
{
  run_their_way ("aesdec", true, true, cat (hex (kBadIv), hex (kBadEnc17)),
      hex (kBadPlain17), {});
}

TEST (GstPluginsBadAesdec, text17_serialize_no_per_buffer_padding)
{
  // Whole blocks as soon as they are known not to be the last; the 17th
  // byte at EOS.
  Bytes plain = hex (kBadPlain17);
  run_their_way ("aesdec", false, true, cat (hex (kBadIv), hex (kBadEnc17)),
      slice (plain, 0, 16), slice (plain, 16, 17));
}

TEST (Compat, aesdec_refuses_aesstream_formats_naming_the_mode)
{
  Bytes header_stream = run_chunked (
      "aesenc", {{"key", kKey128}}, random_bytes (100, 1), 1, 100);
  Bytes gcm_stream = run_chunked (
      "aesenc", {{"key", kKey128}, {"mode", "gcm"}}, Bytes (64, 1), 1, 100);
  struct Case
  {
    const Bytes &input;
    const char *names;
  } cases[] = {{header_stream, "mode=ctr"}, {gcm_stream, "mode=gcm"}};
  for (const Case &c : cases) {
    for (bool pbp : {true, false}) {
      // Byte by byte too (a byte stream: per-buffer-padding=false only):
      // recognised across buffers, before any output.
      for (size_t chunk : {c.input.size (), pbp ? c.input.size () : 1}) {
        Harness h (
            "aesdec", {{"key", kKey128}, {"iv", kIv},
                          {"per-buffer-padding", pbp ? "true" : "false"}});
        GstFlowReturn ret = GST_FLOW_OK;
        for (size_t pos = 0; pos < c.input.size () && ret == GST_FLOW_OK;
             pos += chunk)
          ret = h.push (
              slice (c.input, pos, std::min (pos + chunk, c.input.size ())));
        EXPECT_EQ (ret, GST_FLOW_ERROR);
        std::string err = h.error ();
        EXPECT_NE (err.find (c.names), std::string::npos) << err;
        EXPECT_EQ (h.pull_all ().size (), 0u);
      }
    }
  }
}

TEST (Compat, aesdec_refuses_raw_ctr_naming_mode_ctr)
{
  // What `aesenc iv=…` produced before it meant CBC: raw CTR, any length.
  Bytes ctr = reference ("CTR", true, kKey128, kIv, random_bytes (1000, 4));
  {
    // Default per-buffer padding: the buffer cannot be CBC (length).
    Harness h ("aesdec", {{"key", kKey128}, {"iv", kIv}});
    EXPECT_EQ (h.push (ctr), GST_FLOW_ERROR);
    EXPECT_NE (h.error ().find ("set mode=ctr on aesdec"), std::string::npos);
    EXPECT_EQ (h.pull_all ().size (), 0u);
  }
  {
    // Padding at the end only: the length is known at EOS.
    Harness h ("aesdec",
        {{"key", kKey128}, {"iv", kIv}, {"per-buffer-padding", "false"}});
    EXPECT_EQ (h.push (ctr), GST_FLOW_OK);
    EXPECT_FALSE (h.eos ());
    std::string err = h.error ();
    EXPECT_NE (
        err.find ("not a multiple of 16 bytes (8 left over"), std::string::npos)
        << err;
    EXPECT_NE (err.find ("set mode=ctr on aesdec"), std::string::npos);
  }
  // The same stream with mode=ctr: the way it is decrypted now.
  EXPECT_EQ (run_chunked ("aesdec",
                 {{"key", kKey128}, {"mode", "ctr"}, {"iv", kIv}}, ctr, 1, 300),
      reference ("CTR", false, kKey128, kIv, ctr));
}

TEST (LateConfig, aesdec_compares_upstream_caps_with_the_late_settings)
{
  // Caps saying mode=cbc arrive while aesdec is not configured yet (it
  // would be CTR then); the iv set afterwards makes it CBC: no error.
  Bytes data = random_bytes (32, 7);
  Bytes ct = reference ("CBC", true, kBadKey, kBadIv, data);
  GstHarness *h = gst_harness_new ("aesdec");
  gst_harness_set_src_caps_str (h, "application/x-aes-encrypted, mode=cbc");
  g_object_set (h->element, "key", kBadKey, "iv", kBadIv, "per-buffer-padding",
      FALSE, nullptr);
  ASSERT_EQ (gst_harness_push (h, new_buffer (ct)), GST_FLOW_OK);
  gst_harness_push_event (h, gst_event_new_eos ());
  Bytes out;
  while (GstBuffer *b = gst_harness_try_pull (h)) {
    out = cat (out, buffer_bytes (b));
    gst_buffer_unref (b);
  }
  EXPECT_EQ (out, data);
  gst_harness_teardown (h);
}

TEST (LateConfig, flush_and_empty_buffers_before_the_configuration_are_harmless)
{
  Bytes header_stream
      = run_chunked ("aesenc", {{"key", kKey128}}, random_bytes (80, 9), 1, 80);
  Harness h ("aesdec", {{"key", kKey128}});
  gst_harness_push_event (h.h, gst_event_new_flush_start ());
  gst_harness_push_event (h.h, gst_event_new_flush_stop (TRUE));
  GstSegment seg;
  gst_segment_init (&seg, GST_FORMAT_BYTES);
  gst_harness_push_event (h.h, gst_event_new_segment (&seg));
  // Configured the gst-plugins-bad way after start; an empty first buffer
  // does not hide the header that follows.
  g_object_set (h.h->element, "iv", kIv, "per-buffer-padding", FALSE, nullptr);
  EXPECT_EQ (h.push (Bytes ()), GST_FLOW_OK);
  EXPECT_EQ (h.push (header_stream), GST_FLOW_ERROR);
  EXPECT_NE (h.error ().find ("Set mode=ctr"), std::string::npos);
  EXPECT_EQ (h.pull_all ().size (), 0u);
}

TEST (Compat, aesdec_names_the_exact_format_it_refuses)
{
  Bytes header_stream
      = run_chunked ("aesenc", {{"key", kKey128}}, random_bytes (80, 9), 1, 80);
  Harness h ("aesdec", {{"key", kKey128}, {"iv", kIv}});
  EXPECT_EQ (h.push (header_stream), GST_FLOW_ERROR);
  std::string err = h.error ();
  EXPECT_NE (err.find ("starts with aesstream's CTR header"), std::string::npos)
      << err;
  EXPECT_NE (err.find ("Set mode=ctr (without iv"), std::string::npos) << err;
}

// ---------------------------------------------------------------------------
// Attacks on aesdec mode=gcm (issue 11)

namespace {

// A crafted input: a plausible record header ("Ag" 01 00) every 24 bytes,
// each claiming `claimed` bytes of payload, none of them authentic.
Bytes
crafted_headers (size_t size, uint32_t claimed)
{
  Bytes b = random_bytes (size, 77);
  for (size_t i = 0; i + 24 <= size; i += 24) {
    b[i] = 'A';
    b[i + 1] = 'g';
    b[i + 2] = 1;
    b[i + 3] = 0;
    for (int k = 0; k < 4; k++)
      b[i + 4 + k] = static_cast<uint8_t> (claimed >> (24 - 8 * k));
  }
  return b;
}

double
thread_cpu_seconds ()
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// Pushes `buffers` into a drop-mode aesdec, then the authentic records;
// fails (and stops) if it takes more than `limit` seconds of CPU.
void
expect_bounded_cost (const std::vector<Bytes> &buffers,
    const std::vector<Bytes> &authentic, double limit, size_t *recovered)
{
  Harness h ("aesdec",
      {{"mode", "gcm"}, {"key", kKey128}, {"invalid-records", "drop"}});
  double t0 = thread_cpu_seconds ();
  for (const Bytes &b : buffers) {
    ASSERT_EQ (h.push (b), GST_FLOW_OK);
    if (GstBuffer *out = gst_harness_try_pull (h.h)) {
      gst_buffer_unref (out);
      FAIL () << "bytes came out of garbage";
    }
    ASSERT_LT (thread_cpu_seconds () - t0, limit)
        << "resynchronising cost more than " << limit << " s of CPU";
  }
  *recovered = 0;
  for (const Bytes &b : authentic) {
    ASSERT_EQ (h.push (b), GST_FLOW_OK);
    while (GstBuffer *out = gst_harness_try_pull (h.h)) {
      (*recovered)++;
      gst_buffer_unref (out);
    }
  }
  EXPECT_LT (thread_cpu_seconds () - t0, limit);
}

} // namespace

// Finding 1: with a plausible header every 24 bytes claiming half the
// input, aesdec waited for, copied and GCM-opened every candidate and moved
// on by one byte: quadratic (2 MiB cost 13 s). The limit is generous: the
// linear decoder needs a small fraction of it, also under ASan.
TEST (GcmAttack, resync_cost_is_linear_for_a_byte_stream)
{
  const size_t size = 4 << 20;
  Bytes evil = crafted_headers (size, size / 2);
  std::vector<Bytes> buffers;
  for (size_t pos = 0; pos < size; pos += 65536)
    buffers.emplace_back (evil.begin () + pos, evil.begin () + pos + 65536);
  size_t recovered = 0;
  expect_bounded_cost (buffers, {}, 20.0, &recovered);
}

// The same bytes as packets (records over UDP): a packet is never waited
// on for bytes beyond it, and the authentic records after the attack all
// come through.
TEST (GcmAttack, resync_cost_is_linear_for_packets_and_nothing_is_lost)
{
  const size_t size = 4 << 20;
  Bytes evil = crafted_headers (size, size / 2);
  std::vector<Bytes> packets;
  for (size_t pos = 0; pos + 1400 <= size; pos += 1400)
    packets.emplace_back (evil.begin () + pos, evil.begin () + pos + 1400);
  auto chunks = some_chunks (20, 11);
  auto records = gcm_records (chunks);
  size_t recovered = 0;
  expect_bounded_cost (packets, records, 20.0, &recovered);
  EXPECT_EQ (recovered, chunks.size ());
}

// Finding 3: two senders on one port were interleaved into one output
// (each record authentic). By default one stream is followed; the other's
// records are dropped, counted and warned about.
TEST (GcmAttack, a_concurrent_second_stream_is_dropped_and_counted)
{
  auto a_chunks = some_chunks (6, 21), b_chunks = some_chunks (6, 22);
  auto a = gcm_records (a_chunks), b = gcm_records (b_chunks);
  std::vector<Bytes> mixed;
  for (size_t i = 0; i < 6; i++) {
    mixed.push_back (a[i]);
    mixed.push_back (b[i]);
  }
  Harness h ("aesdec",
      {{"mode", "gcm"}, {"key", kKey128}, {"invalid-records", "drop"}});
  std::vector<Bytes> out;
  for (const Bytes &rec : mixed) {
    ASSERT_EQ (h.push (rec), GST_FLOW_OK);
    while (GstBuffer *buf = gst_harness_try_pull (h.h)) {
      GstMapInfo m;
      gst_buffer_map (buf, &m, GST_MAP_READ);
      out.emplace_back (m.data, m.data + m.size);
      gst_buffer_unmap (buf, &m);
      gst_buffer_unref (buf);
    }
  }
  EXPECT_EQ (out, a_chunks);
  guint64 other = 0, rejected = 0;
  g_object_get (h.h->element, "records-other-streams", &other,
      "records-rejected", &rejected, nullptr);
  EXPECT_EQ (other, 6u);
  EXPECT_EQ (rejected, 0u);
  EXPECT_NE (h.warning ().find ("second stream"), std::string::npos)
      << h.warning ();
}

// A restarted sender (its old stream ended with its final record) is
// followed at once: nothing is lost beyond the gap.
TEST (GcmAttack, a_restarted_sender_is_followed_without_loss)
{
  auto a_chunks = some_chunks (4, 23), b_chunks = some_chunks (4, 24);
  auto a = gcm_records (a_chunks), b = gcm_records (b_chunks);
  std::vector<Bytes> both = a; // ends with a's final record
  both.insert (both.end (), b.begin (), b.end ());
  auto r = gcm_open (both, "drop");
  std::vector<Bytes> expected = a_chunks;
  expected.insert (expected.end (), b_chunks.begin (), b_chunks.end ());
  EXPECT_EQ (r.out, expected);
}

// streams=all: the old behaviour, every authentic stream interleaved.
TEST (GcmAttack, streams_all_interleaves_every_authentic_stream)
{
  auto a = gcm_records (some_chunks (3, 25)),
       b = gcm_records (some_chunks (3, 26));
  Harness h ("aesdec", {{"mode", "gcm"}, {"key", kKey128},
                           {"invalid-records", "drop"}, {"streams", "all"}});
  size_t n = 0;
  for (size_t i = 0; i < 3; i++) {
    for (const Bytes *rec : {&a[i], &b[i]}) {
      ASSERT_EQ (h.push (*rec), GST_FLOW_OK);
      while (GstBuffer *buf = gst_harness_try_pull (h.h)) {
        n++;
        gst_buffer_unref (buf);
      }
    }
  }
  EXPECT_EQ (n, 6u);
}

// The same policy when the mode is detected from the records (no mode set):
// the detecting path configures the opener like the mode=gcm path. Before,
// it followed one stream whatever streams= said.
TEST (GcmAttack, streams_all_also_applies_when_the_mode_is_detected)
{
  auto a = gcm_records (some_chunks (3, 27)),
       b = gcm_records (some_chunks (3, 28));
  Harness h ("aesdec",
      {{"key", kKey128}, {"invalid-records", "drop"}, {"streams", "all"}});
  size_t n = 0;
  for (size_t i = 0; i < 3; i++) {
    for (const Bytes *rec : {&a[i], &b[i]}) {
      ASSERT_EQ (h.push (*rec), GST_FLOW_OK);
      while (GstBuffer *buf = gst_harness_try_pull (h.h)) {
        n++;
        gst_buffer_unref (buf);
      }
    }
  }
  EXPECT_EQ (n, 6u);
}

// ---------------------------------------------------------------------------
// Without key or mode: the stream says what it is and which key it needs.
// Key ids expected here come from Python's hmac (tests/test_core.cpp).

namespace {

const char *kId128 = "24efab2a070e1c7693eb4ce6087932e0";

struct Answer
{
  std::string asked;
  const char *key;
};

gchar *
answer (GstElement *, const gchar *id, gpointer data)
{
  Answer *a = static_cast<Answer *> (data);
  a->asked += std::string (id) + ";";
  return a->key ? g_strdup (a->key) : nullptr;
}

// A private keyring file for one test, named by AESSTREAM_KEYRING.
struct Keyring
{
  std::string path;
  explicit Keyring (const std::string &content, mode_t mode = 0600)
  {
    char tmpl[] = "/tmp/aesstream-ring-XXXXXX";
    int fd = mkstemp (tmpl);
    path = tmpl;
    EXPECT_EQ (write (fd, content.data (), content.size ()),
        static_cast<ssize_t> (content.size ()));
    close (fd);
    chmod (path.c_str (), mode);
    setenv ("AESSTREAM_KEYRING", path.c_str (), 1);
  }
  ~Keyring ()
  {
    unsetenv ("AESSTREAM_KEYRING");
    unlink (path.c_str ());
  }
};

} // namespace

TEST (KeyLookup, request_key_gets_the_stream_key_id_and_gives_the_key)
{
  Bytes data = random_bytes (3000, 21);
  Bytes enc = run_chunked ("aesenc", {{"key", kKey128}}, data, 1, 200);
  Keyring none ("");
  for (unsigned seed = 0; seed < 10; seed++) {
    Harness h ("aesdec", {});
    Answer a{"", kKey128};
    g_signal_connect (h.h->element, "request-key", G_CALLBACK (answer), &a);
    // Any chunking, down to 1-byte buffers while the header is read.
    std::mt19937 rng (seed);
    for (size_t i = 0; i < enc.size ();) {
      size_t n = std::min<size_t> (enc.size () - i, 1 + rng () % 40);
      ASSERT_EQ (
          h.push (Bytes (enc.begin () + i, enc.begin () + i + n)), GST_FLOW_OK);
      i += n;
    }
    EXPECT_TRUE (h.eos ());
    EXPECT_EQ (h.error (), "");
    EXPECT_EQ (h.pull_all (), data) << seed;
    EXPECT_EQ (a.asked, std::string (kId128) + ";");
  }
}

TEST (KeyLookup, the_keyring_gives_the_key_when_request_key_does_not)
{
  Bytes data = random_bytes (1000, 22);
  Bytes enc = run_chunked ("aesenc", {{"key", kKey128}}, data, 1, 1000);
  Keyring ring (std::string ("# keys\n") + kKey256 + "\n" + kKey128 + "\n");
  EXPECT_EQ (run_chunked ("aesdec", {}, enc, 3, 100), data);
}

TEST (KeyLookup, no_key_is_an_error_naming_the_key_id_and_the_keyring)
{
  Bytes enc
      = run_chunked ("aesenc", {{"key", kKey128}}, Bytes (100, 1), 1, 100);
  Keyring ring (std::string (kKey256) + "\n");
  Harness h ("aesdec", {});
  Answer a{"", nullptr};
  g_signal_connect (h.h->element, "request-key", G_CALLBACK (answer), &a);
  EXPECT_EQ (h.push (enc), GST_FLOW_ERROR);
  std::string err = h.error ();
  EXPECT_NE (err.find (std::string ("key id ") + kId128), std::string::npos)
      << err;
  EXPECT_NE (err.find ("keyring '" + ring.path + "' has no key with id"),
      std::string::npos)
      << err;
  EXPECT_EQ (h.pull_all ().size (), 0u);
  EXPECT_EQ (a.asked, std::string (kId128) + ";");
}

TEST (KeyLookup, a_keyring_others_can_read_is_refused)
{
  Bytes enc
      = run_chunked ("aesenc", {{"key", kKey128}}, Bytes (100, 1), 1, 100);
  Keyring ring (std::string (kKey128) + "\n", 0644);
  Harness h ("aesdec", {});
  EXPECT_EQ (h.push (enc), GST_FLOW_ERROR);
  EXPECT_NE (h.error ().find ("chmod 600"), std::string::npos);
  EXPECT_EQ (h.pull_all ().size (), 0u);
}

TEST (KeyLookup, streams_without_a_key_id_need_a_key)
{
  // A version-1 header (docs/format.md), and GCM records.
  Bytes v1 = hex ("41455373"
                  "01"
                  "01"
                  "10"
                  "20");
  v1.resize (64, 0);
  Harness h ("aesdec", {});
  EXPECT_EQ (h.push (v1), GST_FLOW_ERROR);
  EXPECT_NE (h.error ().find ("carries no key id"), std::string::npos)
      << h.error ();
  Bytes rec = run_chunked (
      "aesenc", {{"mode", "gcm"}, {"key", kKey128}}, Bytes (50, 2), 1, 50);
  Harness h2 ("aesdec", {});
  EXPECT_EQ (h2.push (rec), GST_FLOW_ERROR);
  EXPECT_NE (h2.error ().find ("carries no key id"), std::string::npos)
      << h2.error ();
}

TEST (Detection, without_mode_every_self_describing_format_decrypts)
{
  Bytes data = random_bytes (2000, 23);
  for (const char *mode : {"ctr", "gcm"}) {
    Bytes enc = run_chunked (
        "aesenc", {{"mode", mode}, {"key", kKey128}}, data, 2, 300);
    EXPECT_EQ (run_chunked ("aesdec", {{"key", kKey128}}, enc, 4, 150), data)
        << mode;
  }
}

TEST (Detection, input_that_is_not_ours_is_refused_without_mode)
{
  Harness h ("aesdec", {{"key", kKey128}});
  EXPECT_EQ (h.push (random_bytes (100, 24)), GST_FLOW_ERROR);
  EXPECT_NE (h.error ().find ("for a raw stream set mode"), std::string::npos)
      << h.error ();
  EXPECT_EQ (h.pull_all ().size (), 0u);
}

TEST (RawModes, refuse_our_formats_and_name_the_mode_to_use)
{
  Bytes ctr
      = run_chunked ("aesenc", {{"key", kKey128}}, Bytes (100, 3), 1, 100);
  Bytes gcm = run_chunked (
      "aesenc", {{"mode", "gcm"}, {"key", kKey128}}, Bytes (100, 3), 1, 100);
  struct
  {
    Props props;
    const Bytes &input;
    const char *use;
  } cases[] = {
      {{{"mode", "ecb"}, {"key", kKey128}}, ctr, "Use mode=ctr without iv"},
      {{{"mode", "cbc"}, {"key", kKey128}, {"iv", kIv}}, ctr,
          "Use mode=ctr without iv"},
      {{{"mode", "ctr"}, {"key", kKey128}, {"iv", kIv}}, ctr,
          "Use mode=ctr without iv"},
      {{{"mode", "ecb"}, {"key", kKey128}}, gcm, "Use mode=gcm"},
  };
  for (const auto &c : cases) {
    Harness h ("aesdec", c.props);
    EXPECT_EQ (h.push (c.input), GST_FLOW_ERROR);
    EXPECT_NE (h.error ().find (c.use), std::string::npos) << h.error ();
    EXPECT_EQ (h.pull_all ().size (), 0u);
  }
  // Raw input that merely starts like ours is still decrypted.
  Bytes raw = reference ("CTR", true, kKey128, kIv, Bytes (64, 7));
  EXPECT_EQ (run_chunked ("aesdec",
                 {{"mode", "ctr"}, {"key", kKey128}, {"iv", kIv}}, raw, 1, 64),
      Bytes (64, 7));
}

// ---------------------------------------------------------------------------
// Key rotation while playing (issue 11)

namespace {

const char *kKeyB = "000102030405060708090a0b0c0d0e0f";

// aesenc encrypts `before` under kKey128, its key changes to kKeyB while
// playing, then it encrypts `after`: the records, one per buffer (the old
// stream's final record between the two streams, the new one's at the end).
std::vector<Bytes>
rotated_records (
    const std::vector<Bytes> &before, const std::vector<Bytes> &after)
{
  Harness h ("aesenc", {{"mode", "gcm"}, {"key", kKey128}});
  std::vector<Bytes> out;
  for (const Bytes &c : before) {
    EXPECT_EQ (h.push (c), GST_FLOW_OK);
    for (Bytes &b : pull_buffers (h.h))
      out.push_back (b);
  }
  g_object_set (h.h->element, "key", kKeyB, nullptr);
  for (const Bytes &c : after) {
    EXPECT_EQ (h.push (c), GST_FLOW_OK);
    for (Bytes &b : pull_buffers (h.h))
      out.push_back (b);
  }
  h.eos ();
  for (Bytes &b : pull_buffers (h.h))
    out.push_back (b);
  EXPECT_EQ (out.size (), before.size () + after.size () + 2);
  return out;
}

// Pushes `records` into `h`; `key_at`: before which record the receiver's
// key changes to kKeyB (while playing). Returns the plaintexts output.
std::vector<Bytes>
receive (Harness &h, const std::vector<Bytes> &records, size_t key_at)
{
  std::vector<Bytes> out;
  for (size_t i = 0; i < records.size (); i++) {
    if (i == key_at)
      g_object_set (h.h->element, "key", kKeyB, nullptr);
    EXPECT_EQ (h.push (records[i]), GST_FLOW_OK) << i;
    for (Bytes &b : pull_buffers (h.h))
      out.push_back (b);
  }
  return out;
}

std::vector<Bytes>
concat (std::vector<Bytes> a, const std::vector<Bytes> &b)
{
  a.insert (a.end (), b.begin (), b.end ());
  return a;
}

} // namespace

TEST (Rotation, holding_old_and_new_keys_loses_no_record_at_the_switch)
{
  auto before = some_chunks (5, 31), after = some_chunks (5, 32);
  auto records = rotated_records (before, after);
  // Strict (invalid-records=error: any missing or rejected record is an
  // error), with mode=gcm and with the format detected.
  for (bool detect : {false, true}) {
    Props props = {{"key", kKey128}, {"invalid-records", "error"}};
    if (!detect)
      props.push_back ({"mode", "gcm"});
    Harness h ("aesdec", props);
    auto out = receive (h, records, 2); // the new key arrives early
    h.eos ();
    EXPECT_EQ (h.error (), "") << detect;
    EXPECT_EQ (out, concat (before, after)) << detect;
    guint64 accepted = 0, lost = 0, rejected = 0, other = 0;
    g_object_get (h.h->element, "records-accepted", &accepted, "records-lost",
        &lost, "records-rejected", &rejected, "records-other-streams", &other,
        nullptr);
    EXPECT_EQ (accepted, records.size ());
    EXPECT_EQ (lost + rejected + other, 0u);
  }
}

// Over a lossy transport the old stream's final record may be the one
// lost: the new stream (under the newer key) still takes over at once,
// rather than after a second of silence.
TEST (Rotation, the_switch_needs_no_final_record)
{
  auto before = some_chunks (5, 33), after = some_chunks (5, 34);
  auto records = rotated_records (before, after);
  records.erase (records.begin () + 5); // the old stream's final record
  Harness h ("aesdec",
      {{"mode", "gcm"}, {"key", kKey128}, {"invalid-records", "drop"}});
  auto out = receive (h, records, 1);
  EXPECT_EQ (out, concat (before, after));
  guint64 other = 0, rejected = 0;
  g_object_get (h.h->element, "records-other-streams", &other,
      "records-rejected", &rejected, nullptr);
  EXPECT_EQ (other + rejected, 0u);
}

TEST (Rotation, with_only_the_old_key_the_new_stream_is_dropped_clearly)
{
  auto before = some_chunks (4, 35), after = some_chunks (4, 36);
  auto records = rotated_records (before, after);
  Harness h ("aesdec",
      {{"mode", "gcm"}, {"key", kKey128}, {"invalid-records", "drop"}});
  auto out = receive (h, records, records.size ()); // never told
  EXPECT_EQ (out, before);
  guint64 rejected = 0;
  g_object_get (h.h->element, "records-rejected", &rejected, nullptr);
  EXPECT_EQ (rejected, after.size () + 1); // and the new final record
  std::string w = h.warning ();
  EXPECT_NE (
      w.find ("rotated to a key aesdec was not given"), std::string::npos)
      << w;
  // For a file (error): an error that says the same.
  auto r = gcm_open (records, "error");
  EXPECT_EQ (r.out, before);
  EXPECT_NE (r.error.find ("rotated to a key"), std::string::npos) << r.error;
}

TEST (Rotation, max_keys_retires_the_oldest_key_and_its_streams)
{
  auto before = some_chunks (4, 37), after = some_chunks (4, 38);
  auto records = rotated_records (before, after);
  guint def = 0;
  GstElement *fresh = make ("aesdec", {});
  g_object_get (fresh, "max-keys", &def, nullptr);
  gst_object_unref (fresh);
  EXPECT_EQ (def, 2u);
  // max-keys=1: the new key replaces the old one at once; the rest of the
  // old stream is rejected.
  Harness h ("aesdec", {{"mode", "gcm"}, {"key", kKey128},
                           {"invalid-records", "drop"}, {"max-keys", "1"}});
  auto out = receive (h, records, 2);
  EXPECT_EQ (out, concat ({before[0], before[1]}, after));
  guint64 rejected = 0;
  g_object_get (h.h->element, "records-rejected", &rejected, nullptr);
  EXPECT_EQ (rejected, 3u); // before[2], before[3] and the old final record
  // With the default (2), a third key retires the first.
  Harness h3 ("aesdec",
      {{"mode", "gcm"}, {"key", kKey128}, {"invalid-records", "drop"}});
  ASSERT_EQ (h3.push (records[0]), GST_FLOW_OK);
  g_object_set (h3.h->element, "key", kKeyB, nullptr);
  ASSERT_EQ (h3.push (records[1]), GST_FLOW_OK);
  g_object_set (h3.h->element, "key", kKey256, nullptr);
  ASSERT_EQ (h3.push (records[2]), GST_FLOW_OK); // kKey128 retired
  ASSERT_EQ (h3.push (records[5]), GST_FLOW_OK); // kKeyB still held
  auto got = pull_buffers (h3.h);
  EXPECT_EQ (got, (std::vector<Bytes>{before[0], before[1], after[0]}));
}

// Keys set one after the other before the next record all join (none is
// lost because the streaming thread had not picked up the previous one).
TEST (Rotation, keys_set_back_to_back_all_join)
{
  const char *kKeyC = "f0e0d0c0b0a090807060504030201000";
  auto under = [] (const char *key) {
    Harness e ("aesenc", {{"mode", "gcm"}, {"key", key}});
    EXPECT_EQ (e.push (Bytes (8, key[0])), GST_FLOW_OK);
    return e.pull_all ();
  };
  Bytes a = under (kKey128), b = under (kKeyB), c = under (kKeyC);
  Harness h (
      "aesdec", {{"mode", "gcm"}, {"key", kKey128}, {"invalid-records", "drop"},
                    {"max-keys", "3"}, {"streams", "all"}});
  ASSERT_EQ (h.push (a), GST_FLOW_OK);
  g_object_set (h.h->element, "key", kKeyB, nullptr);
  g_object_set (h.h->element, "key", kKeyC, nullptr);
  ASSERT_EQ (h.push (b), GST_FLOW_OK);
  ASSERT_EQ (h.push (c), GST_FLOW_OK);
  EXPECT_EQ (
      pull_buffers (h.h), (std::vector<Bytes>{Bytes (8, kKey128[0]),
                              Bytes (8, kKeyB[0]), Bytes (8, kKeyC[0])}));
  EXPECT_EQ (h.warning (), "");
}

// Several keys must not buy an attacker more work per input byte: every
// key tried on a record of an unknown stream is charged to the open
// budget. Forged 64 KiB packets with fresh salts cost 16 tries each with
// 16 keys held: the budget runs out and later ones are skipped unopened.
// With one key, the same packets never exhaust it.
TEST (GcmAttack, every_key_tried_is_charged_to_the_open_budget)
{
  std::vector<std::string> lines;
  GstLogFunction fn
      = [] (GstDebugCategory *, GstDebugLevel, const gchar *, const gchar *,
            gint, GObject *, GstDebugMessage *msg, gpointer data) {
          std::string m = gst_debug_message_get (msg);
          if (m.find ("skipped unopened") != std::string::npos)
            static_cast<std::vector<std::string> *> (data)->push_back (m);
        };
  gst_debug_set_threshold_for_name ("aesdec", GST_LEVEL_DEBUG);
  gst_debug_add_log_function (fn, &lines, nullptr);
  gst_debug_remove_log_function (gst_debug_log_default); // quiet
  std::vector<Bytes> forged;
  for (int i = 0; i < 200; i++) {
    Bytes p = random_bytes (65536 + 40, 1000 + i);
    const uint8_t head[8] = {'A', 'g', 1, 0, 0, 1, 0, 0}; // length 65536
    std::copy (head, head + 8, p.begin ());
    forged.push_back (p);
  }
  size_t skipped[2] = {0, 0};
  for (int many = 0; many < 2; many++) {
    lines.clear ();
    Harness h ("aesdec", {{"mode", "gcm"}, {"key", kKey128},
                             {"invalid-records", "drop"}, {"max-keys", "16"}});
    ASSERT_EQ (h.push (gcm_records ({Bytes (10, 1)})[0]), GST_FLOW_OK);
    if (many) {
      for (int k = 0; k < 15; k++) {
        std::string key = std::string (30, '0') + "0123456789abcdef"[k] + "1";
        g_object_set (h.h->element, "key", key.c_str (), nullptr);
        ASSERT_EQ (h.push (Bytes ()), GST_FLOW_OK); // applies it
      }
    }
    for (const Bytes &p : forged)
      ASSERT_EQ (h.push (p), GST_FLOW_OK);
    EXPECT_EQ (pull_buffers (h.h).size (), 1u);
    skipped[many] = lines.size ();
  }
  gst_debug_remove_log_function (fn);
  gst_debug_add_log_function (gst_debug_log_default, nullptr, nullptr);
  gst_debug_set_threshold_for_name ("aesdec", GST_LEVEL_NONE);
  EXPECT_EQ (skipped[0], 0u);
  EXPECT_GT (skipped[1], 50u);
}

int
main (int argc, char **argv)
{
  return run_tests (argc, argv);
}
