/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Measures one thing and prints its wall time and the process's CPU time
 * (all threads) in seconds; bench/bench.py uses the CPU time, which a
 * shared machine disturbs far less than wall time. bench/bench.py
 * runs it many times (each run its own process, for peak RSS) and builds the
 * tables and the plot.
 *
 *   aesstream-bench raw MODE DIR KEYBITS SIZE TOTAL
 *       raw OpenSSL EVP: TOTAL bytes through EVP_CipherUpdate in SIZE-byte
 *       calls, in place, one context (the ceiling). MODE ctr|ecb|cbc|gcm,
 *       DIR enc|dec.
 *   aesstream-bench pipe ELEMENT SIZE TOTAL
 *       fakesrc ! ELEMENT ! fakesink with TOTAL bytes in SIZE-byte buffers,
 *       from PLAYING to EOS. ELEMENT is a gst-launch fragment ("identity",
 *       "aesenc mode=ctr key=... iv=..."). The elements come from the
 *       registry, so the environment decides whose aesenc runs. The
 *       pipeline prerolls (PAUSED) before the clock starts: what is timed
 *       is the buffers, not the setup (an element's start, OpenSSL's own
 *       first initialisation, ~1.7 ms; raw's setup is not timed either).
 *   aesstream-bench evp-probe ctr|map enc|dec SIZE TOTAL
 *       AES itself as a pipeline meets it: fakesrc ! identity ! fakesink as
 *       `pipe` runs it, with a probe on identity's source pad that maps
 *       each buffer and runs raw EVP AES-128-CTR over it in place (`ctr`),
 *       or only maps it (`map`). ctr minus map is what EVP_CipherUpdate
 *       costs on a pipeline's buffers (data and code no longer in the
 *       first-level caches, unlike `raw`'s loop); no aesstream code runs.
 *   aesstream-bench rtp ELEMENT SIZE COUNT STREAMS
 *       STREAMS independent branches, each COUNT RTP packets of SIZE bytes
 *       (a valid 12-byte RTP header written by a probe, one SSRC a branch)
 *       through ELEMENT, all in one pipeline, from PLAYING to EOS. The
 *       live-transport figures: per-packet cost, concurrent streams, RSS
 *       per stream; ELEMENT may be srtpenc ! srtpdec (libsrtp2). Prints
 *       wall time and the process's CPU time (all threads), in seconds.
 *   aesstream-bench core gcm-file DIR SIZE TOTAL
 *       the gcm-file codec of the core alone (no GStreamer): TOTAL bytes in
 *       SIZE-byte calls through FileEncoder (enc) or FileDecoder over a
 *       4 MiB file encrypted beforehand, decrypted again and again, one
 *       segment a call as aesenc sends them (dec) or in SIZE-byte reads
 *       that cut segments (dec-file),
 *       segment size 65536, AES-128. Compare with `raw gcm`: the format's
 *       own cost.
 */
#include <gst/gst.h>
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "gcmfile.hpp"

namespace {

/* CPU time of the whole process (all its threads), in seconds: what a
 * pipeline costs, less disturbed than wall time on a shared machine. */
double
cpu_now ()
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

double
now ()
{
  return std::chrono::duration<double> (
      std::chrono::steady_clock::now ().time_since_epoch ())
      .count ();
}

int
run_raw (const std::string &mode, bool enc, int bits, size_t size, size_t total)
{
  std::string name = "AES-" + std::to_string (bits) + "-" + mode;
  EVP_CIPHER *cipher = EVP_CIPHER_fetch (nullptr, name.c_str (), nullptr);
  if (!cipher) {
    std::fprintf (stderr, "no cipher %s\n", name.c_str ());
    return 1;
  }
  std::vector<unsigned char> key (bits / 8, 0x42), iv (16, 0x24);
  std::vector<unsigned char> buf (size + 32, 0x5a);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  if (mode == "gcm")
    iv.resize (12);
  EVP_CipherInit_ex (ctx, cipher, nullptr, key.data (), iv.data (), enc);
  EVP_CIPHER_CTX_set_padding (ctx, 0);
  size_t iterations = total / size;
  unsigned char aad[24] = {0}, tag[16] = {0};
  double t0 = now (), c0 = cpu_now ();
  for (size_t i = 0; i < iterations; i++) {
    int outl = 0;
    if (mode == "gcm") {
      /* A record per buffer, as the element does: new nonce, the 24-byte
       * header as AAD, the payload, the tag. */
      EVP_CipherInit_ex (ctx, nullptr, nullptr, nullptr, iv.data (), enc);
      EVP_CipherUpdate (ctx, nullptr, &outl, aad, sizeof (aad));
    }
    EVP_CipherUpdate (
        ctx, buf.data (), &outl, buf.data (), static_cast<int> (size));
    if (mode == "gcm") {
      if (enc) {
        EVP_CipherFinal_ex (ctx, buf.data () + size, &outl);
        EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag);
      } else {
        /* The check fails on this data; its cost is what counts. */
        EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag);
        EVP_CipherFinal_ex (ctx, buf.data () + size, &outl);
      }
    }
  }
  double t = now () - t0, cpu = cpu_now () - c0;
  EVP_CIPHER_CTX_free (ctx);
  EVP_CIPHER_free (cipher);
  std::printf ("%.6f %.6f\n", t, cpu);
  return 0;
}

/* The evp-probe subcommand's work on each buffer (see the top). */
struct EvpProbe
{
  EVP_CIPHER_CTX *ctx = nullptr; /* null: map only */
};

GstPadProbeReturn
evp_probe (GstPad *, GstPadProbeInfo *info, gpointer user)
{
  auto *probe = static_cast<EvpProbe *> (user);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstMapInfo map;
  if (gst_buffer_map (buf, &map, GST_MAP_READWRITE)) {
    int outl = 0;
    if (probe->ctx)
      EVP_CipherUpdate (
          probe->ctx, map.data, &outl, map.data, static_cast<int> (map.size));
    gst_buffer_unmap (buf, &map);
  }
  return GST_PAD_PROBE_OK;
}

int
run_pipe (const std::string &element, size_t size, size_t total,
    EvpProbe *probe = nullptr)
{
  /* A whole number of 16-byte blocks, so that ECB decryption ends clean. */
  size_t buffers = total / size / 16 * 16;
  std::string desc = "fakesrc num-buffers=" + std::to_string (buffers)
                     + " sizetype=fixed sizemax=" + std::to_string (size)
                     + " filltype=nothing ! " + element
                     + " ! fakesink sync=false";
  GError *err = nullptr;
  GstElement *pipeline = gst_parse_launch (desc.c_str (), &err);
  if (!pipeline) {
    std::fprintf (stderr, "%s\n", err->message);
    return 1;
  }
  if (probe) {
    GstElement *id = gst_bin_get_by_name (GST_BIN (pipeline), "probed");
    GstPad *pad = gst_element_get_static_pad (id, "src");
    gst_pad_add_probe (
        pad, GST_PAD_PROBE_TYPE_BUFFER, evp_probe, probe, nullptr);
    gst_object_unref (pad);
    gst_object_unref (id);
  }
  GstBus *bus = gst_element_get_bus (pipeline);
  /* Setup is not timed: preroll first (an error shows on the bus below). */
  gst_element_set_state (pipeline, GST_STATE_PAUSED);
  gst_element_get_state (pipeline, nullptr, nullptr, GST_CLOCK_TIME_NONE);
  double t0 = now (), c0 = cpu_now ();
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
      (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  double t = now () - t0, cpu = cpu_now () - c0;
  int status = 0;
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *e = nullptr;
    gst_message_parse_error (msg, &e, nullptr);
    /* Decrypting CBC garbage fails the padding check at EOS, after all
     * the data went through: the time still counts; say so. */
    std::fprintf (stderr, "error: %s\n", e->message);
    status = std::strstr (e->message, "PKCS#7") ? 0 : 1;
    g_error_free (e);
  }
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  std::printf ("%.6f %.6f\n", t, cpu);
  return status;
}

/* Turns fakesrc's buffer into an RTP packet: version 2, payload type 96,
 * sequence number and timestamp counting up, one SSRC per branch. The
 * identity baseline runs the same probe, so its cost cancels out. */
struct RtpState
{
  guint16 seq = 0;
  guint32 ssrc = 0;
};

GstPadProbeReturn
make_rtp (GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
  auto *st = static_cast<RtpState *> (user);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstMapInfo map;
  if (gst_buffer_map (buf, &map, GST_MAP_WRITE)) {
    if (map.size >= 12) {
      guint8 *h = map.data;
      h[0] = 0x80;
      h[1] = 96;
      GST_WRITE_UINT16_BE (h + 2, st->seq);
      GST_WRITE_UINT32_BE (h + 4, (guint32)st->seq * 3000u);
      GST_WRITE_UINT32_BE (h + 8, st->ssrc);
    }
    gst_buffer_unmap (buf, &map);
  }
  st->seq++;
  return GST_PAD_PROBE_OK;
}

int
run_rtp (const std::string &element, size_t size, size_t count, int streams)
{
  std::string desc;
  for (int i = 0; i < streams; i++) {
    /* "@SSRC@" in ELEMENT becomes the branch's SSRC (srtpdec's caps name
     * the stream they key). */
    std::string branch = element;
    for (size_t at; (at = branch.find ("@SSRC@")) != std::string::npos;)
      branch.replace (at, 6, std::to_string (0x1000u + i));
    desc += "fakesrc name=src" + std::to_string (i)
            + " num-buffers=" + std::to_string (count)
            + " sizetype=fixed sizemax=" + std::to_string (size)
            + " filltype=zero ! application/x-rtp,media=video,"
              "clock-rate=90000,encoding-name=X-GST,payload=96 ! "
            + branch + " ! fakesink name=sink" + std::to_string (i)
            + " sync=false ";
  }
  GError *err = nullptr;
  GstElement *pipeline = gst_parse_launch (desc.c_str (), &err);
  if (!pipeline) {
    std::fprintf (stderr, "%s\n", err->message);
    return 1;
  }
  std::vector<RtpState> states (streams);
  gint received = 0;
  for (int i = 0; i < streams; i++) {
    states[i].ssrc = 0x1000u + i;
    GstElement *src = gst_bin_get_by_name (
        GST_BIN (pipeline), ("src" + std::to_string (i)).c_str ());
    GstPad *pad = gst_element_get_static_pad (src, "src");
    gst_pad_add_probe (
        pad, GST_PAD_PROBE_TYPE_BUFFER, make_rtp, &states[i], nullptr);
    gst_object_unref (pad);
    gst_object_unref (src);
    /* Every packet must arrive: a pipeline that drops (a decryptor
     * refusing the packets) would look fast. */
    GstElement *sink = gst_bin_get_by_name (
        GST_BIN (pipeline), ("sink" + std::to_string (i)).c_str ());
    pad = gst_element_get_static_pad (sink, "sink");
    gst_pad_add_probe (
        pad, GST_PAD_PROBE_TYPE_BUFFER,
        [] (GstPad *, GstPadProbeInfo *, gpointer user) {
          g_atomic_int_inc (static_cast<gint *> (user));
          return GST_PAD_PROBE_OK;
        },
        &received, nullptr);
    gst_object_unref (pad);
    gst_object_unref (sink);
  }
  GstBus *bus = gst_element_get_bus (pipeline);
  double t0 = now (), c0 = cpu_now ();
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
      (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  double t = now () - t0, cpu = cpu_now () - c0;
  int status = 0;
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *e = nullptr;
    gst_message_parse_error (msg, &e, nullptr);
    std::fprintf (stderr, "error: %s\n", e->message);
    g_error_free (e);
    status = 1;
  }
  if (status == 0 && (size_t)received != count * streams) {
    std::fprintf (stderr, "error: %d of %zu packets arrived\n", received,
        count * streams);
    status = 1;
  }
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  std::printf ("%.6f %.6f\n", t, cpu);
  return status;
}

int
run_core_gcmfile (bool enc, bool aligned, size_t size, size_t total)
{
  using namespace aesstream::gcmfile;
  std::vector<uint8_t> k (16, 0x42);
  aesstream::SecureBytes key (k.data (), k.size ());
  aesstream::Problem p;
  std::vector<uint8_t> in, out;
  double t = 0, cpu = 0, t0 = 0, c0 = 0;
  // What aesenc/aesdec pass: an owner that keeps the input valid, so that
  // bytes held back for the next segment are held by reference, not copied
  // (here the input outlives the codec; the owner owns nothing).
  const aesstream::InputOwner owner (&key, [] (const void *) {});
  if (enc) {
    auto e = FileEncoder::create (key, kDefaultSegmentSize, &p);
    in.assign (size, 0x5a);
    out.resize (e->update_output_size (size) + kDefaultSegmentSize);
    t0 = now ();
    c0 = cpu_now ();
    for (size_t done = 0; done + size <= total; done += size) {
      size_t w = 0;
      p = e->update (in.data (), size, out.data (), &w, &owner);
    }
    size_t w = 0;
    p = e->finish (out.data (), &w);
    t = now () - t0;
    cpu = cpu_now () - c0;
  } else {
    // One 4 MiB file (cache-resident, like raw's buffer), decrypted as
    // often as it takes to reach TOTAL.
    const size_t plain = 4u << 20;
    auto e = FileEncoder::create (key, kDefaultSegmentSize, &p);
    std::vector<uint8_t> src (plain, 0x5a);
    std::vector<uint8_t> file (e->update_output_size (plain));
    size_t w = 0;
    p = e->update (src.data (), plain, file.data (), &w);
    file.resize (w + e->finish_output_size ());
    size_t w2 = 0;
    p = e->finish (file.data () + w, &w2);
    out.resize (size + 3 * kDefaultSegmentSize);
    t0 = now ();
    c0 = cpu_now ();
    for (size_t done = 0; done < total;) {
      auto d = FileDecoder::create (key, &p);
      for (size_t pos = 0, n = 0; pos < file.size () && done < total;
           pos += n) {
        // "dec": the buffers aesenc pushes, one segment each (the first
        // with the preamble and header); "dec-file": SIZE-byte reads of a
        // file, which cut every segment.
        n = aligned ? (pos == 0 ? kPreambleSize + kDefaultSegmentSize
                                : kDefaultSegmentSize)
                    : size;
        n = std::min (n, file.size () - pos);
        size_t wn = 0;
        p = d->update (file.data () + pos, n, out.data (), &wn, &owner);
        done += n;
        if (!p.ok ()) {
          std::fprintf (stderr, "%s\n", p.message.c_str ());
          return 1;
        }
      }
    }
    t = now () - t0;
    cpu = cpu_now () - c0;
  }
  if (!p.ok ()) {
    std::fprintf (stderr, "%s\n", p.message.c_str ());
    return 1;
  }
  std::printf ("%.6f %.6f\n", t, cpu);
  return 0;
}

} // namespace

int
main (int argc, char **argv)
{
  if (argc == 7 && std::string (argv[1]) == "raw")
    return run_raw (argv[2], std::string (argv[3]) == "enc",
        std::atoi (argv[4]), std::strtoull (argv[5], nullptr, 10),
        std::strtoull (argv[6], nullptr, 10));
  if (argc == 5 && std::string (argv[1]) == "pipe") {
    gst_init (&argc, &argv);
    return run_pipe (argv[2], std::strtoull (argv[3], nullptr, 10),
        std::strtoull (argv[4], nullptr, 10));
  }
  if (argc == 6 && std::string (argv[1]) == "evp-probe") {
    gst_init (&argc, &argv);
    EvpProbe probe;
    EVP_CIPHER *cipher = EVP_CIPHER_fetch (nullptr, "AES-128-CTR", nullptr);
    const unsigned char key[16] = {0x42}, iv[16] = {0x24};
    if (std::string (argv[2]) == "ctr") {
      probe.ctx = EVP_CIPHER_CTX_new ();
      EVP_CipherInit_ex (
          probe.ctx, cipher, nullptr, key, iv, std::string (argv[3]) == "enc");
    }
    int status = run_pipe ("identity name=probed",
        std::strtoull (argv[4], nullptr, 10),
        std::strtoull (argv[5], nullptr, 10), &probe);
    EVP_CIPHER_CTX_free (probe.ctx);
    EVP_CIPHER_free (cipher);
    return status;
  }
  if (argc == 6 && std::string (argv[1]) == "rtp") {
    gst_init (&argc, &argv);
    return run_rtp (argv[2], std::strtoull (argv[3], nullptr, 10),
        std::strtoull (argv[4], nullptr, 10), std::atoi (argv[5]));
  }
  if (argc == 6 && std::string (argv[1]) == "core"
      && std::string (argv[2]) == "gcm-file")
    return run_core_gcmfile (std::string (argv[3]) == "enc",
        std::string (argv[3]) == "dec", std::strtoull (argv[4], nullptr, 10),
        std::strtoull (argv[5], nullptr, 10));
  std::fprintf (stderr,
      "usage: %s raw MODE enc|dec KEYBITS SIZE TOTAL\n"
      "       %s pipe ELEMENT SIZE TOTAL\n"
      "       %s evp-probe ctr|map enc|dec SIZE TOTAL\n"
      "       %s rtp ELEMENT SIZE COUNT STREAMS\n"
      "       %s core gcm-file enc|dec|dec-file SIZE TOTAL\n",
      argv[0], argv[0], argv[0], argv[0], argv[0]);
  return 2;
}
