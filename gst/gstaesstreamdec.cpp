/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * SECTION:element-aesdec
 * @title: aesdec
 *
 * Decrypts what aesenc (or `openssl enc`, or the original ECB recipe)
 * encrypted. By default CTR streams start with the aesstream header and
 * aesdec takes the IV from it; a stream without a valid header is refused
 * with an error. `mode=ctr iv=…` reads raw CTR. Without `mode`,
 * gst-plugins-bad's properties (`iv`, `cipher`, `serialize-iv`,
 * `per-buffer-padding`) select their AES-CBC, and input that cannot be CBC
 * (an aesstream header, a length that is not a multiple of 16) is refused
 * with an error naming `mode=ctr`. Properties may be set until the first
 * buffer.
 *
 * Input may carry aesenc's `application/x-aes-encrypted` caps, other caps or
 * none at all (filesrc, udpsrc). When the caps carry `original-caps`, those
 * are set on the output; otherwise the output has no caps and downstream
 * typefinding (decodebin) recognises the plaintext.
 *
 * This file holds everything aesdec does with a stream: reading the prefix
 * (through the codec), GCM record framing and opening, the invalid-records
 * policy and the record counters, and what is checked at end of stream.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=video.webm.aes ! aesdec key-file=my.key ! \
 *     decodebin ! autovideosink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstaesstreamdec.h"

#include <gst/base/gstadapter.h>

#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <openssl/crypto.h>

#include "gstaesstreamkeys.h"
#include "gstaesstreamprivate.hpp"
#include "gstaesstreamseek.hpp"
#include "probe.hpp"

GST_DEBUG_CATEGORY_STATIC (gst_aes_stream_dec_debug);
#define GST_CAT_DEFAULT gst_aes_stream_dec_debug

using aesstream::GcmRecord;
using aesstream::GcmRecordOpener;
using aesstream::Problem;
using aesstream::StreamCodec;
namespace format = aesstream::format;

enum
{
  PROP_0,
  PROP_INVALID_RECORDS,
  PROP_RECORDS_ACCEPTED,
  PROP_RECORDS_LOST,
  PROP_RECORDS_REPLAYED,
  PROP_RECORDS_REJECTED,
  PROP_STREAMS,
  PROP_RECORDS_OTHER_STREAMS,
  PROP_SKIP_DAMAGED_SEGMENTS,
  PROP_SEGMENTS_SKIPPED,
  PROP_REQUIRE_AUTHENTICATION,
  PROP_MAX_KEYS,
};

#define DEFAULT_INVALID_RECORDS GST_AES_STREAM_INVALID_RECORDS_AUTO
#define DEFAULT_STREAMS GST_AES_STREAM_STREAMS_FOLLOW_ONE
#define DEFAULT_MAX_KEYS ((guint)GcmRecordOpener::kDefaultMaxKeys)

struct AdapterDeleter
{
  void operator() (GstAdapter *a) const { g_object_unref (a); }
};

struct BufferUnref
{
  void operator() (GstBuffer *b) const { gst_buffer_unref (b); }
};

/* Everything that exists only while the element is started. */
struct DecState
{
  /* Until the stream's first bytes have been seen: without a key or a mode,
   * the codec is built only then (format detection, key lookup by id).
   * `settings` is what to build it from; `head` the first bytes (at most
   * kProbeSize); `held` the input kept back meanwhile. */
  bool peeking = false;
  std::unique_ptr<GstAesStreamSnapshot> settings;
  std::vector<uint8_t> head;
  std::unique_ptr<GstBuffer, BufferUnref> held;
  /* Raw modes: until the first bytes show the input is not one of our
   * self-describing formats (which raw decryption would turn to garbage). */
  bool checking_raw = false;
  std::string raw_description;

  /* codec.stream (CTR, ECB, CBC) or codec.opener (GCM records). */
  aesstream::Codec codec;
  /* An error was posted: refuse everything until the next start. */
  bool failed = false;
  /* The codec was finished on the input's last byte (push mode, size
   * known): nothing is left for EOS. */
  bool finished = false;

  /* Settings resolved the gst-plugins-bad way (GstAesStreamSnapshot). */
  bool compat = false;
  /* compat: a buffer went through the codec (an empty stream stays empty),
   * the bytes it got, and the stream's first bytes, to recognise our own
   * formats before a byte of garbage is output. */
  bool fed = false;
  guint64 in_bytes = 0;
  std::array<uint8_t, 4> sniff{};
  size_t sniff_have = 0;

  /* mode=gcm: bytes not yet framed into records, the resolved policy for
   * bad records, when the last warning was posted. */
  std::unique_ptr<GstAdapter, AdapterDeleter> adapter;
  GstAesStreamInvalidRecords invalid_records = DEFAULT_INVALID_RECORDS;
  gint64 last_warning = 0;
  /* After a bad record, until one authenticates again: the bytes skipped
   * to find the next record belong to the bad one and are not counted
   * again. */
  bool resyncing = false;
  /* Bounds the work spent on record candidates that fail (finding 1). */
  aesstream::OpenBudget budget;
  /* Keys set while playing before the stream showed what it is (format
   * detection): they join the opener once it exists. At most max-keys. */
  std::vector<aesstream::SecureBytes> later_keys;
};

/* mode=gcm counters, readable while streaming. */
struct Counters
{
  std::atomic<guint64> accepted{0}, replayed{0}, rejected{0}, other_streams{0};
  std::atomic<gint64> lost{0};
  /* mode=gcm-file with skip-damaged-segments. */
  std::atomic<guint64> segments_skipped{0};
  void reset ()
  {
    segments_skipped = 0;
    accepted = 0;
    replayed = 0;
    rejected = 0;
    other_streams = 0;
    lost = 0;
  }
};

struct DecImpl
{
  /* Settings (under the object lock). */
  GstAesStreamInvalidRecords invalid_records = DEFAULT_INVALID_RECORDS;
  GstAesStreamStreams streams = DEFAULT_STREAMS;
  bool skip_damaged_segments = false;
  bool require_authentication = false;
  guint max_keys = DEFAULT_MAX_KEYS;
  DecState state;
  Counters counters;
  /* Seeks, byte queries and pull mode (gstaesstreamseek.hpp). */
  aesstream::DecoderRandomAccess random_access;
  /* GstBaseTransform's src pad activation, which ours wraps. */
  GstPadActivateModeFunction base_src_activate_mode = NULL;
  /* GstBaseTransform's sink pad chain function, which ours wraps. */
  GstPadChainFunction base_chain = NULL;
  /* Whether a key was set while playing (the base class's flag, read by
   * generate_output on every buffer without a call). */
  const std::atomic<bool> *key_changed = nullptr;
  /* Downstream answered EOS to an output (it has all it wants: a demuxer
   * at the stop of its segment): the stream was not read to its end, so
   * the EOS that follows is not checked for a missing end (streaming
   * thread; reset by a flush or a new segment). */
  bool downstream_done = false;
  /* Pull mode was refused at activation (the stream cannot be positioned);
   * until the element stops, SCHEDULING offers push only. */
  std::atomic<bool> pull_refused{false};
  /* The mode upstream's caps named before the stream's settings were final
   * (streaming thread only); compared with them in start_stream. */
  std::string upstream_mode;
};

struct _GstAesStreamDec
{
  GstAesStreamBase parent;
  DecImpl *impl;
};

G_DEFINE_TYPE (GstAesStreamDec, gst_aes_stream_dec, GST_TYPE_AES_STREAM_BASE);
/* Rank none: a "Decryptor" with ANY sink caps would otherwise be tried by
 * decodebin on every stream it plugs. The elements are picked by name. */
GST_ELEMENT_REGISTER_DEFINE (
    aesdec, "aesdec", GST_RANK_NONE, GST_TYPE_AES_STREAM_DEC);

/* The base class's generate_output, kept to forward to (see
 * gst_aes_stream_dec_generate_output). */
static GstFlowReturn (*parent_generate_output) (
    GstBaseTransform *trans, GstBuffer **outbuf);

/* The streaming thread's view of the element, without a checked cast (the
 * base class calls us with our own instance only). */
static inline DecImpl *
impl_of (GstBaseTransform *trans)
{
  return reinterpret_cast<GstAesStreamDec *> (trans)->impl;
}

GType
gst_aes_stream_invalid_records_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_AES_STREAM_INVALID_RECORDS_AUTO,
          "error for non-live input (files), drop for live input", "auto"},
      {GST_AES_STREAM_INVALID_RECORDS_ERROR,
          "post an error and stop at the first record that is not accepted",
          "error"},
      {GST_AES_STREAM_INVALID_RECORDS_DROP,
          "drop such records, count them and post a warning", "drop"},
      {0, NULL, NULL},
  };
  return gst_aes_stream_register_enum (
      &type, "GstAesStreamInvalidRecords", values);
}

GType
gst_aes_stream_streams_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_AES_STREAM_STREAMS_FOLLOW_ONE,
          "one stream at a time: a stream that ended (final record) or was "
          "silent for 1 s hands over to a new one; records of a concurrent "
          "stream are dropped and counted",
          "follow-one"},
      {GST_AES_STREAM_STREAMS_NEWEST,
          "a stream never seen before takes over at once; the others are "
          "dropped and counted",
          "newest"},
      {GST_AES_STREAM_STREAMS_ALL,
          "every authentic stream, interleaved into one output", "all"},
      {0, NULL, NULL},
  };
  return gst_aes_stream_register_enum (&type, "GstAesStreamStreams", values);
}

/* ---------------------------------------------------------------------- */
/* Properties (aesdec's own; the shared ones are the base class's) */

static void
gst_aes_stream_dec_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstAesStreamDec *self = GST_AES_STREAM_DEC (object);
  if (gst_aes_stream_base_refuse_while_running (
          GST_AES_STREAM_BASE (self), pspec))
    return;
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_INVALID_RECORDS:
      self->impl->invalid_records
          = static_cast<GstAesStreamInvalidRecords> (g_value_get_enum (value));
      break;
    case PROP_STREAMS:
      self->impl->streams
          = static_cast<GstAesStreamStreams> (g_value_get_enum (value));
      break;
    case PROP_SKIP_DAMAGED_SEGMENTS:
      self->impl->skip_damaged_segments = g_value_get_boolean (value);
      break;
    case PROP_REQUIRE_AUTHENTICATION:
      self->impl->require_authentication = g_value_get_boolean (value);
      break;
    case PROP_MAX_KEYS:
      self->impl->max_keys = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_aes_stream_dec_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstAesStreamDec *self = GST_AES_STREAM_DEC (object);
  const Counters &c = self->impl->counters;
  switch (prop_id) {
    case PROP_INVALID_RECORDS:
      GST_OBJECT_LOCK (self);
      g_value_set_enum (value, self->impl->invalid_records);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_RECORDS_ACCEPTED:
      g_value_set_uint64 (value, c.accepted);
      break;
    case PROP_RECORDS_LOST:
      g_value_set_uint64 (value, (guint64)MAX (c.lost.load (), 0));
      break;
    case PROP_RECORDS_REPLAYED:
      g_value_set_uint64 (value, c.replayed);
      break;
    case PROP_RECORDS_REJECTED:
      g_value_set_uint64 (value, c.rejected);
      break;
    case PROP_STREAMS:
      GST_OBJECT_LOCK (self);
      g_value_set_enum (value, self->impl->streams);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_RECORDS_OTHER_STREAMS:
      g_value_set_uint64 (value, c.other_streams);
      break;
    case PROP_SKIP_DAMAGED_SEGMENTS:
      GST_OBJECT_LOCK (self);
      g_value_set_boolean (value, self->impl->skip_damaged_segments);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_SEGMENTS_SKIPPED:
      g_value_set_uint64 (value, c.segments_skipped);
      break;
    case PROP_REQUIRE_AUTHENTICATION:
      GST_OBJECT_LOCK (self);
      g_value_set_boolean (value, self->impl->require_authentication);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_MAX_KEYS:
      GST_OBJECT_LOCK (self);
      g_value_set_uint (value, self->impl->max_keys);
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

/* ---------------------------------------------------------------------- */
/* Caps */

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE (
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE (
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

static GstCaps *
gst_aes_stream_dec_transform_caps (GstBaseTransform *trans,
    GstPadDirection direction, GstCaps *caps, GstCaps *filter)
{
  /* What comes out depends on the data, not on the input caps. */
  return filter ? gst_caps_ref (filter) : gst_caps_new_any ();
}

/* Upstream's caps say how the stream was encrypted. */
static bool
check_upstream_mode (GstAesStreamDec *self)
{
  const std::string &theirs = self->impl->upstream_mode;
  const gchar *ours
      = gst_aes_stream_base_mode_name (GST_AES_STREAM_BASE (self));
  /* Detecting the format: the stream's own header decides. */
  const DecState &st = self->impl->state;
  if (st.peeking && st.settings && !st.settings->mode_set)
    return true;
  if (theirs.empty () || theirs == ours)
    return true;
  GST_ELEMENT_ERROR (self, STREAM, WRONG_TYPE,
      ("The input was encrypted with mode=%s but aesdec has mode=%s; set "
       "mode=%s on aesdec.",
          theirs.c_str (), ours, theirs.c_str ()),
      (NULL));
  return false;
}

/* Input caps describe ciphertext. Only aesenc's original-caps say what the
 * plaintext is; anything else (udpsrc's, a capsfilter's) is not forwarded,
 * so that downstream typefinds the plaintext instead of trusting a label. */
static gboolean
handle_caps (GstAesStreamDec *self, GstCaps *caps)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  const GstStructure *s
      = gst_caps_is_empty (caps) ? NULL : gst_caps_get_structure (caps, 0);

  if (s == NULL
      || !gst_structure_has_name (s, GST_AES_STREAM_ENCRYPTED_CAPS_NAME)) {
    GST_DEBUG_OBJECT (self,
        "input caps %" GST_PTR_FORMAT " do not describe "
        "the plaintext; leaving the output to typefinding",
        caps);
    return TRUE;
  }

  /* The settings may change until the first buffer: until then the mode
   * is compared when they are final (start_stream). */
  const gchar *mode = gst_structure_get_string (s, "mode");
  self->impl->upstream_mode = mode != NULL ? mode : "";
  if (gst_aes_stream_base_is_configured (GST_AES_STREAM_BASE (self))
      && !check_upstream_mode (self))
    return FALSE;

  const gchar *original = gst_structure_get_string (s, "original-caps");
  if (original == NULL)
    return TRUE;
  GstCaps *out = gst_caps_from_string (original);
  if (out == NULL || !gst_caps_is_fixed (out)) {
    GST_WARNING_OBJECT (self,
        "cannot use original-caps '%s'; leaving the "
        "output to typefinding",
        original);
    if (out)
      gst_caps_unref (out);
    return TRUE;
  }
  const gboolean ok
      = gst_pad_push_event (trans->srcpad, gst_event_new_caps (out));
  gst_caps_unref (out); /* the event holds its own reference */
  return ok;
}

/* ---------------------------------------------------------------------- */
/* Start / stop */

/* The codec's configuration: the shared settings plus aesdec's own. */
static aesstream::CodecConfig
codec_config_of (GstAesStreamDec *self, const GstAesStreamSnapshot &s)
{
  aesstream::CodecConfig c = s.codec_config ();
  GST_OBJECT_LOCK (self);
  c.skip_damaged_segments = self->impl->skip_damaged_segments;
  GST_OBJECT_UNLOCK (self);
  return c;
}

/* require-authentication: modes whose every output byte is authenticated
 * (GCM records, gcm-file) pass; the others are refused with an error that
 * names what was found (`what`: "mode=ecb", "a CTR header stream"). */
static bool
check_authenticated (GstAesStreamDec *self, aesstream::Mode mode, bool compat,
    const std::string &what)
{
  GST_OBJECT_LOCK (self);
  const bool required = self->impl->require_authentication;
  GST_OBJECT_UNLOCK (self);
  if (!required
      || ((mode == aesstream::Mode::kGcm || mode == aesstream::Mode::kGcmFile)
          && !compat))
    return true;
  GST_ELEMENT_ERROR (self, STREAM, DECRYPT,
      ("require-authentication=true, but %s is not authenticated: a "
       "modified byte would go through undetected. Only mode=gcm-file and "
       "mode=gcm are accepted.",
          what.c_str ()),
      (NULL));
  return false;
}

/* mode=gcm: aesdec's record policies for a new opener, whether the mode was
 * set or detected from the stream's first bytes (both paths call this, so
 * that invalid-records and streams mean the same either way). */
static void
setup_records (GstAesStreamDec *self, DecState &st)
{
  if (!st.codec.opener)
    return;
  st.adapter.reset (gst_adapter_new ());
  GST_OBJECT_LOCK (self);
  st.invalid_records = self->impl->invalid_records;
  GstAesStreamStreams streams = self->impl->streams;
  guint max_keys = self->impl->max_keys;
  GST_OBJECT_UNLOCK (self);
  GcmRecordOpener &opener = *st.codec.opener;
  opener.set_stream_policy (streams == GST_AES_STREAM_STREAMS_ALL
                                ? GcmRecordOpener::StreamPolicy::kAll
                            : streams == GST_AES_STREAM_STREAMS_NEWEST
                                ? GcmRecordOpener::StreamPolicy::kNewest
                                : GcmRecordOpener::StreamPolicy::kFollowOne);
  opener.set_max_keys (max_keys);
  for (const aesstream::SecureBytes &k : st.later_keys)
    opener.add_key (k);
  st.later_keys.clear ();
  self->impl->counters.reset ();
}

static gboolean
gst_aes_stream_dec_start_stream (
    GstAesStreamBase *base, const GstAesStreamSnapshot *settings)
{
  GstAesStreamDec *self = GST_AES_STREAM_DEC (base);
  DecState st;
  /* mode=gcm-file's count is per stream, whichever path builds the codec
   * (mode=gcm's counters are reset with its opener). */
  self->impl->counters.segments_skipped = 0;
  const bool header_mode = settings->mode == aesstream::Mode::kCtr
                           && !settings->iv && !settings->serialize_iv;
  if (settings->mode_set
      && !check_authenticated (self, settings->mode, settings->compat,
          settings->compat
              ? std::string ("gst-plugins-bad's AES-CBC (iv/cipher set)")
              : std::string ("mode=") + aesstream::mode_name (settings->mode)))
    return FALSE;
  if (settings->key.empty () || !settings->mode_set) {
    /* The stream says what it is (and which key it needs): build the codec
     * once its first bytes are here. */
    st.peeking = true;
    st.settings.reset (new GstAesStreamSnapshot ());
    st.settings->mode = settings->mode;
    st.settings->mode_set = settings->mode_set;
    st.settings->key = settings->key.clone ();
    st.settings->encrypt = false;
    self->impl->state = std::move (st);
    return TRUE;
  }
  /* (gst-plugins-bad's CBC, compat, sniffs for our formats itself.) */
  if (!header_mode && settings->mode != aesstream::Mode::kGcm
      && settings->mode != aesstream::Mode::kGcmFile && !settings->compat) {
    st.checking_raw = true;
    st.raw_description
        = settings->mode == aesstream::Mode::kCtr
              ? "mode=ctr with an iv (raw CTR)"
              : std::string ("mode=") + aesstream::mode_name (settings->mode);
  }
  Problem p
      = aesstream::make_codec (codec_config_of (self, *settings), &st.codec);
  if (!p.ok ()) {
    GST_AES_STREAM_POST_PROBLEM (self, p);
    return FALSE;
  }
  if (!check_upstream_mode (self))
    return FALSE;
  st.compat = settings->compat;
  if (settings->serialize_iv && settings->iv)
    GST_INFO_OBJECT (self, "serialize-iv: the iv property is not used, the "
                           "stream carries the IV");
  setup_records (self, st);
  self->impl->state = std::move (st);
  self->impl->random_access.start (codec_config_of (self, *settings));
  return TRUE;
}

static void
gst_aes_stream_dec_stop_stream (GstAesStreamBase *base)
{
  GST_AES_STREAM_DEC (base)->impl->random_access.stop ();
  GST_AES_STREAM_DEC (base)->impl->state = DecState ();
  GST_AES_STREAM_DEC (base)->impl->upstream_mode.clear ();
}

/* ---------------------------------------------------------------------- */
/* Byte-stream modes (CTR, ECB, CBC): one output per input at most */

/* mode=gcm-file with skip-damaged-segments: each segment the codec skipped
 * is counted and posted as a warning (what failed, how many so far). */
static bool
post_skipped_segments (GstAesStreamDec *self, StreamCodec &codec)
{
  bool any = false;
  for (const Problem &w : codec.take_warnings ()) {
    any = true;
    self->impl->counters.segments_skipped++;
    GST_ELEMENT_WARNING (
        self, STREAM, DECRYPT, ("%s", w.message.c_str ()), (NULL));
  }
  return any;
}

static GstFlowReturn
gst_aes_stream_dec_prepare_output_buffer (
    GstBaseTransform *trans, GstBuffer *inbuf, GstBuffer **outbuf)
{
  return gst_aes_stream_base_prepare_output (
      trans, *impl_of (trans)->state.codec.stream, inbuf, outbuf);
}

/* compat: what to add to a decryption error, since the likeliest cause is
 * a stream from aesenc mode=ctr given to an aesdec set up the
 * gst-plugins-bad way. */
static void
add_compat_hint (const DecState &st, Problem *p)
{
  if (st.compat)
    p->message += ". aesdec has iv/cipher/serialize-iv/per-buffer-padding "
                  "without mode, which means gst-plugins-bad's AES-CBC; if "
                  "the stream was encrypted with AES-CTR (aesenc mode=ctr "
                  "iv=..., or aesenc iv=... of aesstream before this meant "
                  "CBC), set mode=ctr on aesdec";
}

/* compat: a stream that starts with one of our own formats (the aesstream
 * header, a gcm-file preamble, GCM records) is not gst-plugins-bad's CBC.
 * Caught on its first 4 bytes, before CBC can output a block of garbage.
 * (A real CBC stream starts like this by chance with probability 2^-31.) */
static bool
sniff_foreign_format (GstAesStreamDec *self, DecState &st, GstBuffer *inbuf)
{
  const bool at_start = st.sniff_have == 0;
  st.sniff_have += gst_buffer_extract (inbuf, 0,
      st.sniff.data () + st.sniff_have, st.sniff.size () - st.sniff_have);
  if (st.sniff_have < st.sniff.size ())
    return true;
  const guint8 *b = st.sniff.data ();
  const char *what = NULL, *mode = NULL;
  if (std::memcmp (b, format::kStreamMagic.data (), 4) == 0) {
    what = "header";
    mode = "ctr";
  } else if (b[0] == format::kRecordMagic0 && b[1] == format::kRecordMagic1
             && b[2] == format::kRecordVersion && b[3] <= 1) {
    what = "GCM records";
    mode = "gcm";
  }
  if (what == NULL)
    return true;
  /* When this buffer holds the whole header, name the exact format. */
  guint8 head[aesstream::kProbeSize];
  gsize n = gst_buffer_extract (inbuf, 0, head, sizeof (head));
  aesstream::StreamInfo info;
  std::string ignored;
  if (at_start
      && aesstream::probe_stream (head, n, &info, &ignored)
             == aesstream::ProbeResult::kMatch) {
    what = aesstream::stream_format_name (info.format);
    mode = info.mode;
  }
  GST_ELEMENT_ERROR (self, STREAM, DECRYPT,
      ("The input starts with aesstream's %s, so it is not AES-CBC: aesdec "
       "has iv/cipher/serialize-iv/per-buffer-padding without mode, which "
       "means gst-plugins-bad's AES-CBC. Set mode=%s%s and the key on aesdec.",
          what, mode,
          std::strcmp (mode, "ctr") == 0
              ? " (without iv: mode=ctr with an iv is raw CTR without header)"
              : ""),
      (NULL));
  return false;
}

static GstFlowReturn
gst_aes_stream_dec_transform (
    GstBaseTransform *trans, GstBuffer *inbuf, GstBuffer *outbuf)
{
  DecState &st = impl_of (trans)->state;
  if (G_UNLIKELY (st.failed))
    return GST_FLOW_ERROR;
  if (G_UNLIKELY (st.compat)) {
    if (st.sniff_have < st.sniff.size ()
        && !sniff_foreign_format (
            reinterpret_cast<GstAesStreamDec *> (trans), st, inbuf)) {
      st.failed = true;
      return GST_FLOW_ERROR;
    }
    st.fed = true;
    st.in_bytes += gst_buffer_get_size (inbuf);
  }
  StreamCodec &codec = *st.codec.stream;
  aesstream::DecoderRandomAccess &ra = impl_of (trans)->random_access;
  if (G_UNLIKELY (ra.wants_prefix ())) {
    /* The map codec learns the header from the same bytes (before an
     * in-place decryption overwrites them). */
    GstAesStreamBufferMap in (inbuf, GST_MAP_READ);
    if (in.ok ())
      ra.feed_prefix (in.data (), in.size ());
  }
  StreamCodec::Output r;
  gsize in_size = 0;
  Problem p = gst_aes_stream_base_process (codec, inbuf, outbuf, &r, &in_size);
  /* A skipped (damaged) segment is a gap in the output: DISCONT. */
  bool gap = false;
  if (G_UNLIKELY (st.codec.stream->mode () == aesstream::Mode::kGcmFile))
    gap = post_skipped_segments (GST_AES_STREAM_DEC (trans), codec);
  if (G_UNLIKELY (!p.ok ())) {
    st.failed = true;
    add_compat_hint (st, &p);
    GST_AES_STREAM_POST_PROBLEM (trans, p);
    return GST_FLOW_ERROR;
  }
  if (G_UNLIKELY (ra.input_ends (in_size))) {
    /* The last byte of an input of known size: end the codec now, so that
     * a block mode's last block goes out with this buffer (see
     * DecoderRandomAccess::input_ends). */
    std::vector<guint8> tail (codec.max_finish_output ());
    gsize written = 0;
    p = codec.finish (tail.data (), &written);
    st.finished = true;
    if (!p.ok ()) {
      st.failed = true;
      add_compat_hint (st, &p);
      GST_AES_STREAM_POST_PROBLEM (trans, p);
      return GST_FLOW_ERROR;
    }
    if (written > 0) {
      /* In the same memory as the rest of the output (once a stream). */
      if (!gst_aes_stream_base_join_flat (
              outbuf, nullptr, 0, tail.data (), written)) {
        OPENSSL_cleanse (tail.data (), tail.size ());
        GST_ELEMENT_ERROR (trans, RESOURCE, NO_SPACE_LEFT,
            ("Could not allocate an output buffer"), (NULL));
        return GST_FLOW_ERROR;
      }
      r.size += written;
    }
    OPENSSL_cleanse (tail.data (), tail.size ()); /* plaintext */
  }
  /* Downstream sees plaintext offsets (upstream's are ciphertext's). */
  GST_BUFFER_OFFSET (outbuf) = ra.position ();
  ra.advance (r.size);
  GST_BUFFER_OFFSET_END (outbuf) = ra.position ();
  if (G_UNLIKELY (r.offset > 0 && r.size == 0))
    GST_DEBUG_OBJECT (trans, "read the stream's prefix");
  /* CTR keeps one output buffer per input buffer, even an empty one;
   * block modes may have nothing to say yet, and no mode has when a
   * buffer held only prefix bytes. gst-plugins-bad's elements output one
   * buffer per input buffer, empty or not: so does the compat way. */
  if (r.size == 0 && (!codec.one_output_per_input () || r.offset > 0)
      && !st.compat)
    return G_UNLIKELY (gap)
               ? GST_BASE_TRANSFORM_FLOW_DROPPED
               : gst_aes_stream_base_nothing_yet (GST_AES_STREAM_BASE (trans));
  if (G_UNLIKELY (gap))
    GST_BUFFER_FLAG_SET (outbuf, GST_BUFFER_FLAG_DISCONT);
  return GST_FLOW_OK;
}

/* ---------------------------------------------------------------------- */
/* mode=gcm: framing, the invalid-records policy, counters */

enum class Bad
{
  kRejected,    /* malformed, truncated, or failed authentication */
  kReplayed,    /* a record already received, or too old for the window */
  kLost,        /* records missing (only an error in error mode) */
  kOtherStream, /* authentic, of a stream not followed (streams=) */
};

/* Decides, once, what "auto" means here: drop for live input (a network
 * source), error otherwise (a file). */
static void
resolve_invalid_records (GstAesStreamDec *self, DecState &st)
{
  if (st.invalid_records != GST_AES_STREAM_INVALID_RECORDS_AUTO)
    return;
  gboolean live = FALSE;
  GstQuery *q = gst_query_new_latency ();
  if (gst_pad_peer_query (GST_BASE_TRANSFORM_SINK_PAD (self), q))
    gst_query_parse_latency (q, &live, NULL, NULL);
  gst_query_unref (q);
  st.invalid_records = live ? GST_AES_STREAM_INVALID_RECORDS_DROP
                            : GST_AES_STREAM_INVALID_RECORDS_ERROR;
  GST_INFO_OBJECT (self, "invalid-records=auto: %s input, so %s",
      live ? "live" : "non-live", live ? "drop" : "error");
}

/* The counters as fields of a message's details structure (the message
 * owns the structure it builds from them). */
#define COUNTER_FIELDS(impl)                                                   \
  "accepted", G_TYPE_UINT64, (guint64)(impl)->counters.accepted.load (),       \
      "lost", G_TYPE_UINT64,                                                   \
      (guint64)MAX ((impl)->counters.lost.load (), (gint64)0), "replayed",     \
      G_TYPE_UINT64, (guint64)(impl)->counters.replayed.load (), "rejected",   \
      G_TYPE_UINT64, (guint64)(impl)->counters.rejected.load (),               \
      "other-streams", G_TYPE_UINT64,                                          \
      (guint64)(impl)->counters.other_streams.load (), NULL

/* Counts a record that was not accepted and applies the policy: error (and
 * stop) or drop with a warning. Warnings are limited to one a second so
 * that an attack cannot flood the bus; the counters are always exact. */
static GstFlowReturn
bad_record (
    GstAesStreamDec *self, Bad kind, guint64 count, const std::string &why)
{
  DecImpl *impl = self->impl;
  DecState &st = impl->state;
  switch (kind) {
    case Bad::kRejected:
      impl->counters.rejected += count;
      break;
    case Bad::kReplayed:
      impl->counters.replayed += count;
      break;
    case Bad::kLost:
      break; /* counted by the replay window already */
    case Bad::kOtherStream:
      impl->counters.other_streams += count;
      break;
  }
  if (st.invalid_records == GST_AES_STREAM_INVALID_RECORDS_ERROR) {
    st.failed = true;
    GST_ELEMENT_ERROR_WITH_DETAILS (self, STREAM, DECRYPT, ("%s", why.c_str ()),
        (NULL), (COUNTER_FIELDS (impl)));
    return GST_FLOW_ERROR;
  }
  if (kind == Bad::kLost)
    return GST_FLOW_OK; /* loss is normal on live transports: no warning */
  gint64 now = g_get_monotonic_time ();
  if (st.last_warning == 0 || now - st.last_warning >= G_USEC_PER_SEC) {
    st.last_warning = now;
    GST_ELEMENT_WARNING_WITH_DETAILS (self, STREAM, DECRYPT,
        ("Dropped a record: %s (records accepted %" G_GUINT64_FORMAT
         ", lost %" G_GINT64_FORMAT ", replayed %" G_GUINT64_FORMAT
         ", rejected %" G_GUINT64_FORMAT ", of other streams %" G_GUINT64_FORMAT
         ")",
            why.c_str (), (guint64)impl->counters.accepted.load (),
            MAX (impl->counters.lost.load (), (gint64)0),
            (guint64)impl->counters.replayed.load (),
            (guint64)impl->counters.rejected.load (),
            (guint64)impl->counters.other_streams.load ()),
        (NULL), (COUNTER_FIELDS (impl)));
  } else {
    GST_DEBUG_OBJECT (self, "dropped a record: %s", why.c_str ());
  }
  return GST_FLOW_OK;
}

/* After a bad record: skip a byte and look for the next record start, so
 * that both packet transports (a record per buffer) and byte streams
 * recover. */
static void
resync (GstAdapter *adapter)
{
  gst_adapter_flush (adapter, 1);
  gsize avail = gst_adapter_available (adapter);
  if (avail < 4)
    return;
  /* "Ag", version 1, flags 0 or 1. */
  gssize off = gst_adapter_masked_scan_uint32 (adapter, 0xfffffffe,
      (guint32)format::kRecordMagic0 << 24
          | (guint32)format::kRecordMagic1 << 16
          | (guint32)format::kRecordVersion << 8,
      0, avail);
  gst_adapter_flush (adapter, off >= 0 ? (gsize)off : avail - 3);
}

/* The size of the record `buf` holds if it is exactly one well-formed
 * record, else 0; then `h` holds its header. */
static gsize
whole_record_size (GstBuffer *buf, guint8 (&h)[format::kRecordHeaderSize])
{
  const gsize size = gst_buffer_get_size (buf);
  if (size < format::kRecordOverhead)
    return 0;
  /* Reading the header where it lies (one map of the first memory) is
   * cheaper than gst_buffer_extract for the usual single-memory buffer. */
  GstMemory *mem
      = gst_buffer_n_memory (buf) > 0 ? gst_buffer_peek_memory (buf, 0) : NULL;
  GstMapInfo map;
  if (mem != NULL && mem->size >= sizeof (h)
      && gst_memory_map (mem, &map, GST_MAP_READ)) {
    std::memcpy (h, map.data, sizeof (h));
    gst_memory_unmap (mem, &map);
  } else if (gst_buffer_extract (buf, 0, h, sizeof (h)) != sizeof (h)) {
    return 0;
  }
  /* The checks of GcmRecord::parse that these bytes are subject to
   * (the rest, sequence number and salt, has none). */
  if (h[0] != format::kRecordMagic0 || h[1] != format::kRecordMagic1
      || h[2] != format::kRecordVersion
      || (h[3] & ~format::kRecordFlagFinal) != 0)
    return 0;
  const gsize length
      = (gsize)h[4] << 24 | (gsize)h[5] << 16 | (gsize)h[6] << 8 | (gsize)h[7];
  if (length > format::kRecordMaxLength)
    return 0;
  return size == length + format::kRecordOverhead ? size : 0;
}

/* The memories of a record buffer, mapped for the time of one open. A
 * buffer holds at most gst_buffer_get_max_memory () memories (16 in 1.22;
 * appending more merges), so the maps fit a small array. */
class RecordMaps {
public:
  /* User-provided, so that value-initialisation (std::optional's
   * in_place) does not zero the arrays either. */
  RecordMaps () {}
  RecordMaps (const RecordMaps &) = delete;
  RecordMaps &operator= (const RecordMaps &) = delete;
  ~RecordMaps ()
  {
    for (guint i = 0; i < n_; i++)
      gst_memory_unmap (mems_[i], &infos_[i]);
  }
  bool map (GstBuffer *buf, GstMapFlags flags)
  {
    const guint n = gst_buffer_n_memory (buf);
    if (n > kMax)
      return false;
    for (guint i = 0; i < n; i++) {
      GstMemory *mem = gst_buffer_peek_memory (buf, i);
      if (!gst_memory_map (mem, &infos_[n_], flags))
        return false;
      mems_[n_++] = mem;
    }
    return true;
  }
  guint size () const { return n_; }
  const GstMapInfo &operator[] (guint i) const { return infos_[i]; }

  static constexpr guint kMax = 16;

private:
  /* Left uninitialised: only [0, n_) is ever read, and zeroing 16 map
   * infos (2 KiB, twice a record) cost more than the maps themselves. */
  std::array<GstMemory *, kMax> mems_;
  std::array<GstMapInfo, kMax> infos_;
  guint n_ = 0;
};

/* Opens `rec`, which is exactly one record (`length` payload bytes) in any
 * number of memories, memory by memory: the header bytes are the AAD, each
 * payload memory goes through EVP's incremental update, the tag comes from
 * the last bytes; memories are never merged. With `in_place` (a writable
 * buffer that is one whole input) the payload is decrypted where it is and
 * the output is `rec` itself, trimmed to the payload: no allocation, no
 * copy. Otherwise (a record assembled from the adapter, or a read-only
 * input) into one new buffer. Nothing reaches *out unless the tag verified;
 * on any other verdict the plaintext written so far is wiped and dropped.
 * Takes `rec`. */
static GcmRecordOpener::Verdict
open_record_buffer (
    DecState &st, GstBuffer *rec, gsize length, bool in_place, GstBuffer **out)
{
  GcmRecordOpener::Verdict v;
  const gsize tag_at = format::kRecordHeaderSize + length;
  GstBuffer *dst_buf = NULL;
  {
    std::optional<RecordMaps> maps (std::in_place);
    RecordMaps dst;
    guint8 header[format::kRecordHeaderSize], tag[format::kRecordTagSize];
    std::array<aesstream::Gcm::Piece, RecordMaps::kMax> pieces;
    size_t count = 0;
    bool mapped = maps->map (rec, in_place ? GST_MAP_READWRITE : GST_MAP_READ);
    if (!mapped && in_place) {
      /* A memory that is a region of a bigger one (a buffer taken from the
       * adapter) refuses write access although the buffer is writable:
       * decrypt into a new buffer instead. */
      maps.emplace ();
      in_place = false;
      mapped = maps->map (rec, GST_MAP_READ);
    }
    if (!in_place)
      dst_buf = gst_buffer_new_allocate (NULL, length, NULL);
    if (!mapped
        || (dst_buf != NULL && length > 0 /* an empty buffer does not map */
            && !dst.map (dst_buf, GST_MAP_WRITE))) {
      v.why = "could not map the record";
    } else {
      guint8 *plain = dst.size () > 0 ? dst[0].data : NULL;
      gsize pos = 0; /* of the current memory in the record */
      for (guint i = 0; i < maps->size (); i++) {
        const guint8 *d = (*maps)[i].data;
        const gsize size = (*maps)[i].size, end = pos + size;
        /* The part of this memory in [0, 24): header. */
        if (pos < format::kRecordHeaderSize) {
          gsize n = MIN (end, (gsize)format::kRecordHeaderSize) - pos;
          std::memcpy (header + pos, d, n);
        }
        /* In [24, tag_at): ciphertext, a piece. */
        gsize from = MAX (pos, (gsize)format::kRecordHeaderSize);
        gsize to = MIN (end, tag_at);
        if (from < to) {
          guint8 *o = in_place ? (*maps)[i].data + (from - pos)
                               : plain + (from - format::kRecordHeaderSize);
          pieces[count++] = {d + (from - pos), o, to - from};
        }
        /* In [tag_at, tag_at + 16): tag. */
        if (end > tag_at) {
          gsize f = MAX (pos, tag_at);
          std::memcpy (tag + (f - tag_at), d + (f - pos), end - f);
        }
        pos = end;
      }
      v = st.codec.opener->open (
          header, pieces.data (), count, tag, g_get_monotonic_time ());
    }
  }
  if (v.kind != GcmRecordOpener::Verdict::Kind::kAccepted) {
    if (dst_buf != NULL)
      gst_buffer_unref (dst_buf);
    gst_buffer_unref (rec);
    return v;
  }
  if (in_place) {
    /* Trim to the payload; header and tag memories of their own (a record
     * assembled from pieces, as aesenc before 742b6d2 sealed large ones)
     * become empty and are taken out. */
    if (gst_buffer_n_memory (rec) == 1) {
      /* The packet case: one memory, known writable (cheaper than the
       * general gst_buffer_resize). */
      gst_memory_resize (
          gst_buffer_peek_memory (rec, 0), format::kRecordHeaderSize, length);
      *out = rec;
      return v;
    }
    gst_buffer_resize (rec, format::kRecordHeaderSize, length);
    while (gst_buffer_n_memory (rec) > 1
           && gst_buffer_peek_memory (rec, 0)->size == 0)
      gst_buffer_remove_memory (rec, 0);
    while (gst_buffer_n_memory (rec) > 1
           && gst_buffer_peek_memory (rec, gst_buffer_n_memory (rec) - 1)->size
                  == 0)
      gst_buffer_remove_memory (rec, gst_buffer_n_memory (rec) - 1);
    *out = rec;
    return v;
  }
  GST_BUFFER_PTS (dst_buf) = GST_BUFFER_PTS (rec);
  GST_BUFFER_DTS (dst_buf) = GST_BUFFER_DTS (rec);
  gst_buffer_unref (rec);
  *out = dst_buf;
  return v;
}

/* Opens a buffer that is exactly one record (the usual packet case): in
 * place when it is writable. Takes `whole`. */
static GcmRecordOpener::Verdict
open_whole_buffer (DecState &st, GstBuffer *whole, GstBuffer **out)
{
  const gsize length = gst_buffer_get_size (whole) - format::kRecordOverhead;
  const bool in_place = gst_buffer_is_writable (whole)
                        && gst_buffer_is_all_memory_writable (whole);
  return open_record_buffer (st, whole, length, in_place, out);
}

/* Opens the record at the front of the adapter (split over buffers, or
 * several in one: byte streams), `total` bytes long: the adapter lends its
 * memories (no merge, no copy) and the record is opened into a new buffer;
 * consumes it on acceptance or replay, resyncs after a rejection. */
static GcmRecordOpener::Verdict
open_from_adapter (DecState &st, gsize total, GstBuffer **out)
{
  GstAdapter *adapter = st.adapter.get ();
  GstClockTime pts = gst_adapter_prev_pts (adapter, NULL);
  GstClockTime dts = gst_adapter_prev_dts (adapter, NULL);
  GcmRecordOpener::Verdict v;
  GstBuffer *rec = gst_adapter_get_buffer_fast (adapter, total);
  if (rec == NULL) {
    v.why = "could not read the record";
  } else {
    v = open_record_buffer (
        st, rec, total - format::kRecordOverhead, false, out);
  }
  if (v.kind == GcmRecordOpener::Verdict::Kind::kRejected) {
    resync (adapter);
    return v;
  }
  gst_adapter_flush (adapter, total);
  if (v.kind == GcmRecordOpener::Verdict::Kind::kAccepted) {
    GST_BUFFER_PTS (*out) = pts;
    GST_BUFFER_DTS (*out) = dts;
  }
  return v;
}

/* Applies the policy to a verdict. Returns OK with *outbuf set to the
 * payload to push, or NULL when there is nothing to push for this record. */
static GstFlowReturn
handle_verdict (GstAesStreamDec *self, const GcmRecordOpener::Verdict &v,
    GstBuffer **outbuf)
{
  DecImpl *impl = self->impl;
  DecState &st = impl->state;
  using Kind = GcmRecordOpener::Verdict::Kind;
  if (v.library_failure) {
    GST_ELEMENT_ERROR (self, LIBRARY, FAILED, ("%s", v.why.c_str ()), (NULL));
    st.failed = true;
    return GST_FLOW_ERROR;
  }
  if (v.kind == Kind::kReplayed)
    return bad_record (self, Bad::kReplayed, 1, v.why);
  if (v.kind == Kind::kOtherStream)
    return bad_record (self, Bad::kOtherStream, 1, v.why);
  if (v.kind == Kind::kRejected) {
    if (st.resyncing)
      return GST_FLOW_OK;
    st.resyncing = true;
    return bad_record (self, Bad::kRejected, 1, v.why);
  }
  st.resyncing = false;
  if (G_UNLIKELY (v.new_key))
    GST_INFO_OBJECT (self, "following a new stream under a newer key (the "
                           "sender rotated its key)");
  impl->counters.accepted++;
  impl->counters.lost += v.lost;
  if (v.lost > 0) {
    GstFlowReturn ret = bad_record (self, Bad::kLost, (guint64)v.lost,
        std::to_string (v.lost) + " record(s) missing before record "
            + std::to_string (v.seq) + ": removed or lost");
    if (ret != GST_FLOW_OK) {
      gst_buffer_unref (*outbuf);
      *outbuf = NULL;
      return ret;
    }
  }
  if (v.length == 0) { /* the final record, or an empty buffer */
    gst_buffer_unref (*outbuf);
    *outbuf = NULL;
  }
  return GST_FLOW_OK;
}

/* Charges the failed work of one record to the budget: each key it was
 * tried under and failed (a rejected record costs at least its size, as
 * it did with one key; an authentic one only the keys tried before its
 * own). */
static void
charge_attempts (
    DecState &st, const GcmRecordOpener::Verdict &v, gsize record_size)
{
  guint64 attempts = v.failed_attempts;
  if (v.kind == GcmRecordOpener::Verdict::Kind::kRejected && attempts == 0)
    attempts = 1;
  if (attempts > 0)
    st.budget.charge (record_size * attempts);
}

/* Takes the next complete record from the adapter. Returns OK with
 * *outbuf NULL when more input is needed. */
static GstFlowReturn
next_record (GstAesStreamDec *self, GstBuffer **outbuf)
{
  DecState &st = self->impl->state;
  GstAdapter *adapter = st.adapter.get ();
  *outbuf = NULL;

  for (;;) {
    gsize avail = gst_adapter_available (adapter);
    if (avail < format::kRecordHeaderSize)
      return GST_FLOW_OK;
    guint8 h[format::kRecordHeaderSize];
    gst_adapter_copy (adapter, h, 0, sizeof (h));
    GcmRecord r;
    std::string error;
    if (!GcmRecord::parse (h, &r, &error)) {
      resync (adapter);
      if (st.resyncing)
        continue;
      st.resyncing = true;
      GstFlowReturn ret = bad_record (self, Bad::kRejected, 1, error);
      if (ret != GST_FLOW_OK)
        return ret;
      continue;
    }
    gsize total = r.length + format::kRecordOverhead;
    if (avail < total)
      return GST_FLOW_OK;

    GstBuffer *out = NULL;
    GcmRecordOpener::Verdict v;
    /* A stream not seen before is tried under every key held: each try
     * is work the budget must be able to pay for. */
    const gsize tries = st.codec.opener->candidate_keys (h);
    if (!st.budget.can_open (total * tries)) {
      /* Damaged or crafted input has used up the work it is allowed
       * (finding 1): skip this candidate without copying or opening it. */
      resync (adapter);
      v.why = "record " + std::to_string (r.seq) + " claims "
              + std::to_string (r.length)
              + " bytes and was skipped unopened: too much failed work on "
                "damaged input";
      GstFlowReturn ret = handle_verdict (self, v, &out);
      if (ret != GST_FLOW_OK)
        return ret;
      continue;
    }
    if (gst_adapter_available_fast (adapter) == total) {
      /* The record is one whole buffer that had to wait in the adapter
       * (behind a partial record that turned out bogus). */
      GstBuffer *whole = gst_adapter_take_buffer (adapter, total);
      v = open_whole_buffer (st, whole, &out);
      /* The bad record was exactly this buffer: the next one starts
       * afresh, nothing to resynchronise. */
      if (v.kind == GcmRecordOpener::Verdict::Kind::kRejected)
        st.resyncing = false;
    } else {
      v = open_from_adapter (st, total, &out);
    }
    charge_attempts (st, v, total);
    GstFlowReturn ret = handle_verdict (self, v, &out);
    if (ret != GST_FLOW_OK || out != NULL) {
      *outbuf = out;
      return ret;
    }
  }
}

/* mode=gcm: the outputs of the queued input, record by record. */
static GstFlowReturn
generate_records (GstAesStreamDec *self, GstBuffer **outbuf)
{
  GstBaseTransform *trans = reinterpret_cast<GstBaseTransform *> (self);
  DecState &st = self->impl->state;
  *outbuf = NULL;
  if (st.failed)
    return GST_FLOW_ERROR;
  resolve_invalid_records (self, st);
  GstBuffer *in = trans->queued_buf;
  trans->queued_buf = NULL;
  if (in == NULL)
    return next_record (self, outbuf);

  GstAdapter *adapter = st.adapter.get ();
  st.budget.earn (gst_buffer_get_size (in));
  guint8 h[format::kRecordHeaderSize];
  gsize whole = whole_record_size (in, h);
  if (whole > 0 && gst_adapter_available (adapter) > 0) {
    /* A packet transport with a damaged length field leaves a record
     * waiting for bytes that belong to the next packets. A buffer that is
     * itself exactly one well-formed record shows the waiting one was
     * bogus. */
    gst_adapter_clear (adapter);
    if (!st.resyncing) {
      GstFlowReturn ret = bad_record (self, Bad::kRejected, 1,
          "a record was cut short by the next packet (damaged length)");
      if (ret != GST_FLOW_OK) {
        gst_buffer_unref (in);
        return ret;
      }
    }
    st.resyncing = false;
  }
  if (whole > 0) {
    /* The usual packet case: the buffer is one record. No adapter. A new
     * stream with several keys held costs a try per key: like a record in
     * the adapter, it is opened only if the budget can pay for them all. */
    GcmRecordOpener::Verdict v;
    const gsize tries = st.codec.opener->candidate_keys (h);
    if (tries > 1 && !st.budget.can_open (whole * tries)) {
      gst_buffer_unref (in);
      v.why = "a record of a stream not seen before was skipped unopened: "
              "too much failed work on damaged input";
    } else {
      v = open_whole_buffer (st, in, outbuf);
    }
    if (v.kind == GcmRecordOpener::Verdict::Kind::kRejected)
      st.resyncing = false;
    charge_attempts (st, v, whole);
    return handle_verdict (self, v, outbuf);
  }
  gst_adapter_push (adapter, in);
  return next_record (self, outbuf);
}

/* ---------------------------------------------------------------------- */
/* The first bytes: format detection, key lookup by id, raw-mode checks */

static guint request_key_signal;

/* Copies the input's first bytes into st.head, up to kProbeSize. */
static void
collect_head (DecState &st, GstBuffer *in)
{
  gsize want = aesstream::kProbeSize - st.head.size ();
  gsize n = MIN (want, gst_buffer_get_size (in));
  if (n == 0)
    return;
  gsize at = st.head.size ();
  st.head.resize (at + n);
  gst_buffer_extract (in, 0, st.head.data () + at, n);
}

/* Keeps `in` (taken from the base class) until the decision. */
static void
hold (DecState &st, GstBuffer *in)
{
  if (st.held)
    st.held.reset (gst_buffer_append (st.held.release (), in));
  else
    st.held.reset (in);
}

/* The mode that decrypts a detected format. Every format the probe knows
 * is decrypted: no default, so that a new format without a case is a
 * -Wswitch warning, not a runtime "not yet". */
static aesstream::Mode
mode_of_format (aesstream::StreamFormat format)
{
  switch (format) {
    case aesstream::StreamFormat::kCtrHeader:
      return aesstream::Mode::kCtr;
    case aesstream::StreamFormat::kGcmRecords:
      return aesstream::Mode::kGcm;
    case aesstream::StreamFormat::kGcmFile:
      /* The decoder reads and checks the preamble itself (key id, segment
       * size, P as Tink's associated data). */
      return aesstream::Mode::kGcmFile;
  }
  return aesstream::Mode::kCtr; /* not reached: every value has its case */
}

/* The stream's first bytes are known: mode and key from them, then the
 * codec. Posts the error and returns false when that cannot be done. */
static bool
build_from_head (
    GstAesStreamDec *self, DecState &st, const aesstream::StreamInfo &info)
{
  GstAesStreamSnapshot &cfg = *st.settings;
  aesstream::Mode mode = mode_of_format (info.format);
  if (!check_authenticated (self, mode, false,
          std::string ("this stream (")
              + aesstream::stream_format_name (info.format)
              + ", mode=" + info.mode + ")"))
    return false;
  if (cfg.mode_set && mode != cfg.mode) {
    GST_ELEMENT_ERROR (self, STREAM, WRONG_TYPE,
        ("The input starts with an aesstream %s, but aesdec has mode=%s: "
         "set mode=%s, or leave mode unset to detect it.",
            aesstream::stream_format_name (info.format),
            aesstream::mode_name (cfg.mode), info.mode),
        (NULL));
    return false;
  }
  cfg.mode = mode;
  if (cfg.key.empty ()) {
    if (!info.has_key_id) {
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          ("No key set, and this stream (%s, version %u) carries no key id "
           "to look one up by: set key or key-file.",
              aesstream::stream_format_name (info.format), (guint)info.version),
          (NULL));
      return false;
    }
    std::string source, error;
    if (!gst_aes_stream_find_key (GST_ELEMENT (self), request_key_signal,
            info.key_id, &cfg.key, &source, &error)) {
      GST_ELEMENT_ERROR (
          self, STREAM, DECRYPT_NOKEY, ("%s", error.c_str ()), (NULL));
      return false;
    }
    GST_INFO_OBJECT (self, "key for key id %s from %s",
        aesstream::to_hex (info.key_id.data (), info.key_id.size ()).c_str (),
        source.c_str ());
  }
  Problem p = aesstream::make_codec (codec_config_of (self, cfg), &st.codec);
  if (!p.ok ()) {
    GST_AES_STREAM_POST_PROBLEM (self, p);
    return false;
  }
  setup_records (self, st);
  GST_INFO_OBJECT (self, "stream is %s (version %u): mode=%s",
      aesstream::stream_format_name (info.format), (guint)info.version,
      info.mode);
  /* Seeks (push mode) and ranges (pull mode) from the detected settings. */
  self->impl->random_access.start (codec_config_of (self, cfg));
  return true;
}

/* The error for a stream start that probe_stream() did not accept. */
static void
post_probe_error (GstAesStreamDec *self, const DecState &st,
    aesstream::ProbeResult result, const std::string &error)
{
  if (result == aesstream::ProbeResult::kInvalid)
    GST_ELEMENT_ERROR (self, STREAM, DECRYPT, ("%s", error.c_str ()), (NULL));
  else if (!st.settings->mode_set)
    GST_ELEMENT_ERROR (self, STREAM, WRONG_TYPE,
        ("input does not start with an aesstream header or record (CTR "
         "header, gcm-file preamble, GCM records), so aesdec cannot "
         "tell how to decrypt it: for a raw stream set mode (ctr with "
         "iv, ecb, cbc) and the key, or it is not encrypted at all."),
        (NULL));
  else
    GST_ELEMENT_ERROR (self, STREAM, DECRYPT,
        ("input does not start with an aesstream header: it was not "
         "written by aesenc without an iv (if it was encrypted with a "
         "fixed iv, set mode=ctr, the same iv and the key on aesdec), or "
         "it is not encrypted at all"),
        (NULL));
}

/* Runs before the codec sees the input while the first bytes matter.
 * Returns an error, or OK with trans->queued_buf what the codec gets now
 * (NULL: nothing yet, the input is held). */
G_GNUC_NO_INLINE static GstFlowReturn
first_bytes (GstAesStreamDec *self, DecState &st)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  GstBuffer *in = trans->queued_buf;
  if (in == NULL)
    return GST_FLOW_OK;
  collect_head (st, in);
  bool more = false;

  if (st.checking_raw) {
    std::string refusal = aesstream::refuse_self_describing (
        st.head.data (), st.head.size (), st.raw_description, &more);
    if (!refusal.empty ()) {
      st.failed = true;
      GST_ELEMENT_ERROR (
          self, STREAM, WRONG_TYPE, ("%s", refusal.c_str ()), (NULL));
      return GST_FLOW_ERROR;
    }
    if (!more)
      st.checking_raw = false;
    return GST_FLOW_OK; /* raw decryption goes on meanwhile */
  }

  aesstream::StreamInfo info;
  std::string error;
  const aesstream::ProbeResult result = aesstream::probe_stream (
      st.head.data (), st.head.size (), &info, &error);
  switch (result) {
    case aesstream::ProbeResult::kNeedMore:
      trans->queued_buf = NULL;
      hold (st, in);
      return GST_FLOW_OK;
    case aesstream::ProbeResult::kInvalid:
    case aesstream::ProbeResult::kNoMatch:
      st.failed = true;
      post_probe_error (self, st, result, error);
      return GST_FLOW_ERROR;
    case aesstream::ProbeResult::kMatch:
      break;
  }
  if (!build_from_head (self, st, info)) {
    st.failed = true;
    return GST_FLOW_ERROR;
  }
  st.peeking = false;
  if (st.held) {
    trans->queued_buf = gst_buffer_append (st.held.release (), in);
  }
  return GST_FLOW_OK;
}

/* Key rotation: a key set while playing joins the keys held (mode=gcm),
 * between two records. The oldest beyond max-keys is retired. */
G_GNUC_NO_INLINE static bool
apply_new_key (GstAesStreamDec *self, DecState &st)
{
  std::vector<aesstream::SecureBytes> keys;
  std::string error;
  if (!gst_aes_stream_base_take_new_keys (
          GST_AES_STREAM_BASE (self), &keys, &error)) {
    st.failed = true;
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("The key set while playing is not valid: %s.", error.c_str ()),
        (NULL));
    return false;
  }
  if (!st.codec.opener && !st.peeking) {
    GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
        ("A key set while playing applies to mode=gcm records only; this "
         "stream is not GCM records and keeps its key until the element "
         "restarts."),
        (NULL));
    return true;
  }
  for (aesstream::SecureBytes &key : keys) {
    if (st.codec.opener) {
      size_t retired = st.codec.opener->add_key (key);
      GST_INFO_OBJECT (self,
          "a new key joins the keys held (%u now); %u retired",
          (guint)st.codec.opener->key_count (), (guint)retired);
    } else if (st.settings->key.empty ()) {
      /* The stream has not said what it is yet. */
      st.settings->key = std::move (key);
    } else {
      st.later_keys.push_back (std::move (key));
      if (st.later_keys.size () > GcmRecordOpener::kMaxKeys)
        st.later_keys.erase (st.later_keys.begin ());
    }
  }
  return true;
}

/* gst_aes_stream_dec_generate_output when there is more to do than hand
 * over to the base class: a key set while playing, the stream's first
 * bytes, GCM records. Out of line, so that the byte-stream modes' path
 * stays a few instructions without a stack frame of its own. */
G_GNUC_NO_INLINE static GstFlowReturn
generate_output_slow (GstBaseTransform *trans, GstBuffer **outbuf)
{
  DecState &st = impl_of (trans)->state;
  if (G_UNLIKELY (gst_aes_stream_base_key_changed (
          reinterpret_cast<GstAesStreamBase *> (trans)))
      && !apply_new_key (reinterpret_cast<GstAesStreamDec *> (trans), st)) {
    *outbuf = NULL;
    return GST_FLOW_ERROR;
  }
  if (G_UNLIKELY (st.peeking || st.checking_raw)) {
    *outbuf = NULL;
    if (st.failed)
      return GST_FLOW_ERROR;
    GstFlowReturn ret
        = first_bytes (reinterpret_cast<GstAesStreamDec *> (trans), st);
    if (ret != GST_FLOW_OK || trans->queued_buf == NULL)
      return ret;
  }
  if (G_LIKELY (!st.codec.opener))
    return parent_generate_output (trans, outbuf);
  return generate_records (reinterpret_cast<GstAesStreamDec *> (trans), outbuf);
}

/* GstBaseTransform calls this for every buffer of every mode (twice: until
 * it gives no buffer). Only GCM records (0..n outputs per input), the
 * stream's first bytes and a key set while playing need it; the
 * byte-stream modes go straight on to the base class's own generate_output
 * after three tests and a load of the key flag (whether a key was set). */
static GstFlowReturn
gst_aes_stream_dec_generate_output (GstBaseTransform *trans, GstBuffer **outbuf)
{
  const DecImpl *impl = impl_of (trans);
  const DecState &st = impl->state;
  if (G_LIKELY (!st.codec.opener && !st.peeking && !st.checking_raw
                && !impl->key_changed->load (std::memory_order_acquire)))
    return parent_generate_output (trans, outbuf);
  return generate_output_slow (trans, outbuf);
}

/* ---------------------------------------------------------------------- */
/* Events */

/* mode=gcm at EOS: bytes left over are a truncated record; a stream that
 * never sent its final record was cut short (an error for files, where
 * nothing should be missing). */
static gboolean
drain_records (GstAesStreamDec *self, DecState &st)
{
  DecImpl *impl = self->impl;
  resolve_invalid_records (self, st);
  gsize left = gst_adapter_available (st.adapter.get ());
  if (left > 0) {
    gst_adapter_clear (st.adapter.get ());
    if (!st.resyncing
        && bad_record (self, Bad::kRejected, 1,
               "the stream ends inside a record (" + std::to_string (left)
                   + " bytes left): it is truncated")
               != GST_FLOW_OK)
      return FALSE;
  }
  if (st.invalid_records == GST_AES_STREAM_INVALID_RECORDS_ERROR
      && !st.codec.opener->final_seen ()) {
    GST_ELEMENT_ERROR_WITH_DETAILS (self, STREAM, DECRYPT,
        ("%s", !st.codec.opener->any_stream ()
                   ? "The input holds no mode=gcm record at all."
                   : "The stream ended without its final record: it was "
                     "truncated (records at the end are missing)."),
        (NULL), (COUNTER_FIELDS (impl)));
    return FALSE;
  }
  return TRUE;
}

/* At EOS: what the codec still holds (a last block) goes out; what is
 * missing (a header, a partial block, bad padding, records) is an error. */
static gboolean
drain (GstAesStreamDec *self, DecState &st)
{
  if (st.failed)
    return FALSE; /* the error is on the bus already */
  if (st.peeking) {
    if (st.head.empty ())
      return TRUE; /* an empty input */
    GST_ELEMENT_ERROR (self, STREAM, DECRYPT,
        ("The stream ended after %u bytes, before its aesstream header was "
         "complete: it is truncated, or not an aesstream stream.",
            (guint)st.head.size ()),
        (NULL));
    return FALSE;
  }
  if (st.codec.opener)
    return drain_records (self, st);
  if (!st.codec.stream || st.finished)
    return TRUE; /* not started, or finished on the input's last byte */
  if (st.compat && !st.fed)
    return TRUE; /* gst-plugins-bad: an empty stream stays empty */
  const guint64 prefix = st.codec.stream->prefix_size ();
  if (st.compat && st.in_bytes > prefix && (st.in_bytes - prefix) % 16 != 0) {
    Problem p = Problem::make (Problem::Kind::kCorrupt,
        "The stream's length is not a multiple of 16 bytes ("
            + std::to_string ((st.in_bytes - prefix) % 16)
            + " left over at the end), so it is not AES-CBC");
    add_compat_hint (st, &p);
    GST_AES_STREAM_POST_PROBLEM (self, p);
    return FALSE;
  }
  /* A last block, or gcm-file's last segment (up to its segment size). */
  std::vector<guint8> tail (st.codec.stream->max_finish_output ());
  gsize written = 0;
  Problem p = st.codec.stream->finish (tail.data (), &written);
  post_skipped_segments (self, *st.codec.stream);
  if (!p.ok ()) {
    add_compat_hint (st, &p);
    GST_AES_STREAM_POST_PROBLEM (self, p);
    return FALSE;
  }
  if (written > 0)
    gst_aes_stream_base_push_bytes (
        GST_AES_STREAM_BASE (self), tail.data (), written, (GstBufferFlags)0);
  OPENSSL_cleanse (tail.data (), tail.size ()); /* plaintext */
  return TRUE;
}

/* After a flush: byte-stream codecs expect the stream's prefix again; a
 * partial record is dropped (the replay windows stay). */
static Problem
restart (DecState &st)
{
  st.failed = false;
  st.finished = false;
  st.fed = false;
  st.in_bytes = 0;
  st.sniff_have = 0;
  if (st.peeking) {
    st.head.clear ();
    st.held.reset ();
  }
  if (st.adapter)
    gst_adapter_clear (st.adapter.get ());
  if (st.codec.stream)
    return st.codec.stream->restart ();
  return Problem::none ();
}

static gboolean
gst_aes_stream_dec_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstAesStreamDec *self = GST_AES_STREAM_DEC (trans);
  DecState &st = self->impl->state;

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS: {
      GstCaps *caps;
      gst_event_parse_caps (event, &caps);
      gboolean ret = handle_caps (self, caps);
      gst_event_unref (event);
      return ret;
    }
    case GST_EVENT_EOS:
      /* An empty stream needs its settings here (a missing key is
       * reported). After downstream said it wants no more, the stream was
       * not read to its end: a missing end is not a truncation then (all
       * output so far was authenticated). */
      if (G_UNLIKELY (self->impl->downstream_done)) {
        GST_DEBUG_OBJECT (self, "downstream wanted no more: end not checked");
        break;
      }
      if (!gst_aes_stream_base_ensure_configured (GST_AES_STREAM_BASE (self))
          || !drain (self, st)) {
        gst_event_unref (event);
        return FALSE;
      }
      break;
    case GST_EVENT_FLUSH_STOP: {
      self->impl->downstream_done = false;
      Problem p = restart (st);
      if (!p.ok ()) {
        GST_AES_STREAM_POST_PROBLEM (self, p);
        gst_event_unref (event);
        return FALSE;
      }
      break;
    }
    case GST_EVENT_SEGMENT:
      self->impl->downstream_done = false;
      /* A byte segment after a seek: restart the codec at the plaintext
       * target and tell downstream where the output starts. (Before the
       * stream is configured only the opening segment comes.) */
      if (st.codec.stream) {
        event
            = self->impl->random_access.segment (event, st.codec.stream.get ());
        if (event == NULL) {
          st.failed = true;
          return FALSE;
        }
      }
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (gst_aes_stream_dec_parent_class)
      ->sink_event (trans, event);
}

static gboolean
gst_aes_stream_dec_src_event (GstBaseTransform *trans, GstEvent *event)
{
  gboolean ok;
  if (impl_of (trans)->random_access.src_event (event, &ok))
    return ok;
  return GST_BASE_TRANSFORM_CLASS (gst_aes_stream_dec_parent_class)
      ->src_event (trans, event);
}

static gboolean
gst_aes_stream_dec_query (
    GstBaseTransform *trans, GstPadDirection direction, GstQuery *query)
{
  gboolean ok;
  if (direction == GST_PAD_SRC
      && impl_of (trans)->random_access.src_query (query, &ok))
    return ok;
  return GST_BASE_TRANSFORM_CLASS (gst_aes_stream_dec_parent_class)
      ->query (trans, direction, query);
}

/* ---------------------------------------------------------------------- */
/* Pull mode */

/* Whether a stream in this detected format can be read at random offsets,
 * asked of the codec its settings make. */
static bool
format_can_seek (aesstream::Mode mode)
{
  GstAesStreamSnapshot snap;
  snap.mode = mode;
  snap.encrypt = false;
  return gst_aes_stream_snapshot_can_seek (std::move (snap));
}

/* Whether upstream's caps (an outer typefind that already recognised one
 * of our formats: decodebin, playbin) name a mode whose streams cannot be
 * read at random offsets. Asked before pull mode is offered, because a
 * refusal at activation would have to undo upstream's pull mode from its
 * own streaming thread. */
static bool
upstream_caps_forbid_seeking (GstAesStreamDec *self)
{
  GstCaps *caps
      = gst_pad_peer_query_caps (GST_BASE_TRANSFORM (self)->sinkpad, NULL);
  bool forbid = false;
  if (caps != NULL && gst_caps_is_fixed (caps)) {
    const GstStructure *s = gst_caps_get_structure (caps, 0);
    const gchar *name
        = gst_structure_has_name (s, GST_AES_STREAM_ENCRYPTED_CAPS_NAME)
              ? gst_structure_get_string (s, "mode")
              : NULL;
    for (aesstream::Mode m : {aesstream::Mode::kCtr, aesstream::Mode::kEcb,
             aesstream::Mode::kCbc, aesstream::Mode::kGcm})
      if (name != NULL && g_str_equal (name, aesstream::mode_name (m)))
        forbid = !format_can_seek (m);
  }
  if (caps != NULL)
    gst_caps_unref (caps);
  return forbid;
}

enum class PullSetup
{
  kReady,
  kNotPositionable, /* quietly: downstream may fall back to push mode */
  kFailed,          /* an error was posted */
};

/* Pull mode has no first buffer: the stream is configured from its first
 * bytes, pulled here, through the same steps as in push mode (raw-mode
 * refusal, format detection, key lookup by id, request-key). */
static PullSetup
configure_for_pull (GstAesStreamDec *self)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  if (!gst_aes_stream_base_ensure_configured (GST_AES_STREAM_BASE (self)))
    return PullSetup::kFailed;
  DecState &st = self->impl->state;
  if (st.failed)
    return PullSetup::kFailed;
  if (!st.peeking && !st.checking_raw)
    return PullSetup::kReady;

  std::vector<uint8_t> head;
  GstBuffer *buf = NULL;
  GstFlowReturn ret
      = gst_pad_pull_range (trans->sinkpad, 0, aesstream::kProbeSize, &buf);
  if (ret == GST_FLOW_OK) {
    head.resize (gst_buffer_get_size (buf));
    if (!head.empty ())
      gst_buffer_extract (buf, 0, head.data (), head.size ());
    gst_buffer_unref (buf);
  } else if (ret != GST_FLOW_EOS) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED,
        ("could not read the stream's first bytes from upstream (%s)",
            gst_flow_get_name (ret)),
        (NULL));
    st.failed = true;
    return PullSetup::kFailed;
  }

  if (st.checking_raw) {
    bool more = false;
    std::string refusal = aesstream::refuse_self_describing (
        head.data (), head.size (), st.raw_description, &more);
    if (!refusal.empty ()) {
      st.failed = true;
      GST_ELEMENT_ERROR (
          self, STREAM, WRONG_TYPE, ("%s", refusal.c_str ()), (NULL));
      return PullSetup::kFailed;
    }
    st.checking_raw = false;
    return PullSetup::kReady;
  }

  aesstream::StreamInfo info;
  std::string error;
  aesstream::ProbeResult result
      = aesstream::probe_stream (head.data (), head.size (), &info, &error);
  if (result == aesstream::ProbeResult::kNeedMore) {
    /* The whole input is shorter than a header. */
    result = aesstream::ProbeResult::kInvalid;
    error = "the input ends after " + std::to_string (head.size ())
            + " bytes, inside an aesstream header: it was cut short";
  }
  if (result != aesstream::ProbeResult::kMatch) {
    st.failed = true;
    post_probe_error (self, st, result, error);
    return PullSetup::kFailed;
  }
  if (!format_can_seek (mode_of_format (info.format))) {
    GST_INFO_OBJECT (self, "%s cannot be read at random offsets: no pull mode",
        aesstream::stream_format_name (info.format));
    return PullSetup::kNotPositionable;
  }
  if (!build_from_head (self, st, info)) {
    st.failed = true;
    return PullSetup::kFailed;
  }
  st.peeking = false;
  return PullSetup::kReady;
}

/* The src pad's activation: in pull mode the stream is configured right
 * away, so that a stream which cannot be positioned (GCM records found by
 * detection) refuses pull mode while downstream can still fall back to push
 * (typefind, and so decodebin and playbin, do). */
static gboolean
gst_aes_stream_dec_src_activate_mode (
    GstPad *pad, GstObject *parent, GstPadMode mode, gboolean active)
{
  GstAesStreamDec *self = GST_AES_STREAM_DEC (parent);
  GstPadActivateModeFunction base = self->impl->base_src_activate_mode;
  if (!base (pad, parent, mode, active))
    return FALSE;
  if (mode == GST_PAD_MODE_PUSH && !active)
    self->impl->pull_refused = false; /* stopping: the input may change */
  if (mode != GST_PAD_MODE_PULL || !active)
    return TRUE;
  switch (configure_for_pull (self)) {
    case PullSetup::kReady:
      return TRUE;
    case PullSetup::kFailed:
      /* The error is on the bus; every range fails. (Undoing the
       * activation would stop an upstream task from its own thread.) */
      return TRUE;
    case PullSetup::kNotPositionable:
      /* Asked again (a demuxer after typefinding), the answer is push. */
      self->impl->pull_refused = true;
      break;
  }
  base (pad, parent, mode, FALSE);
  return FALSE;
}

/* Pull mode: a range of plaintext, from the matching ciphertext range. */
static GstFlowReturn
gst_aes_stream_dec_getrange (GstPad *pad, GstObject *parent, guint64 offset,
    guint length, GstBuffer **buffer)
{
  return GST_AES_STREAM_DEC (parent)->impl->random_access.getrange (
      offset, length, buffer);
}

static void
gst_aes_stream_dec_before_transform (GstBaseTransform *trans, GstBuffer *buffer)
{
  /* The output caps are decided in handle_caps(); a reconfigure request
   * from downstream must not make the base class renegotiate them from the
   * ciphertext caps. The flag is read first without the pad's lock (one
   * load; gst_pad_check_reconfigure locks the pad on every buffer): a
   * request that arrives while it is read is in the same race as one
   * arriving just after a locked check, before the base class looks. */
  if (G_UNLIKELY (GST_PAD_NEEDS_RECONFIGURE (trans->srcpad)))
    gst_pad_check_reconfigure (trans->srcpad);
}

/* ---------------------------------------------------------------------- */

/* Notes when downstream answers EOS (see DecImpl::downstream_done). */
static GstFlowReturn
gst_aes_stream_dec_chain (GstPad *pad, GstObject *parent, GstBuffer *buffer)
{
  DecImpl *impl = reinterpret_cast<GstAesStreamDec *> (parent)->impl;
  GstFlowReturn ret = impl->base_chain (pad, parent, buffer);
  if (G_UNLIKELY (ret == GST_FLOW_EOS))
    impl->downstream_done = true;
  return ret;
}

static void
gst_aes_stream_dec_init (GstAesStreamDec *self)
{
  self->impl = new DecImpl ();
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  self->impl->random_access.init (
      GST_ELEMENT (self), trans->sinkpad, trans->srcpad,
      [self] () {
        return !self->impl->pull_refused
               && gst_aes_stream_base_settings_can_seek (
                   GST_AES_STREAM_BASE (self))
               && !upstream_caps_forbid_seeking (self);
      },
      [self] () { return configure_for_pull (self) == PullSetup::kReady; });
  /* GstBaseTransform's own getrange pulls the same range from upstream;
   * ours pulls the ciphertext range that holds it. Activation stays the
   * base class's (pull on the src pad pulls on the sink pad and starts). */
  gst_pad_set_getrange_function (
      trans->srcpad, GST_DEBUG_FUNCPTR (gst_aes_stream_dec_getrange));
  self->impl->base_chain = GST_PAD_CHAINFUNC (trans->sinkpad);
  self->impl->key_changed
      = &gst_aes_stream_base_key_flag (GST_AES_STREAM_BASE (self));
  gst_pad_set_chain_function (
      trans->sinkpad, GST_DEBUG_FUNCPTR (gst_aes_stream_dec_chain));
  self->impl->base_src_activate_mode = GST_PAD_ACTIVATEMODEFUNC (trans->srcpad);
  gst_pad_set_activatemode_function (
      trans->srcpad, GST_DEBUG_FUNCPTR (gst_aes_stream_dec_src_activate_mode));
}

static void
gst_aes_stream_dec_finalize (GObject *object)
{
  GstAesStreamDec *self = GST_AES_STREAM_DEC (object);
  delete self->impl;
  self->impl = NULL;
  G_OBJECT_CLASS (gst_aes_stream_dec_parent_class)->finalize (object);
}

static void
install_properties (GObjectClass *klass)
{
  g_object_class_install_property (klass, PROP_INVALID_RECORDS,
      g_param_spec_enum ("invalid-records", "Invalid records",
          "mode=gcm: what to do with a record that is not accepted "
          "(failed authentication, malformed, truncated, replayed, or "
          "missing): auto = error for files, drop for live input",
          GST_TYPE_AES_STREAM_INVALID_RECORDS, DEFAULT_INVALID_RECORDS,
          GST_AES_STREAM_PARAM_RW_READY));
  g_object_class_install_property (klass, PROP_MAX_KEYS,
      g_param_spec_uint ("max-keys", "Max keys",
          "mode=gcm: how many keys aesdec holds (key rotation): the key set "
          "at start and those set while playing, newest first; a new key "
          "beyond this retires the oldest (its streams are no longer "
          "accepted). A stream not seen before is tried under each. 1 = a "
          "new key replaces the old one at once",
          1, (guint)GcmRecordOpener::kMaxKeys, DEFAULT_MAX_KEYS,
          GST_AES_STREAM_PARAM_RW_READY));
  g_object_class_install_property (klass, PROP_STREAMS,
      g_param_spec_enum ("streams", "Streams",
          "mode=gcm: which authentic streams are output when several arrive "
          "(two senders on one port, a restarted sender)",
          GST_TYPE_AES_STREAM_STREAMS, DEFAULT_STREAMS,
          GST_AES_STREAM_PARAM_RW_READY));
  const struct
  {
    guint id;
    const char *name, *nick, *blurb;
  } counters[] = {
      {PROP_RECORDS_ACCEPTED, "records-accepted", "Records accepted",
          "mode=gcm: records authenticated and output"},
      {PROP_RECORDS_LOST, "records-lost", "Records lost",
          "mode=gcm: gaps in the record numbers (late arrivals inside the "
          "replay window are taken off again)"},
      {PROP_RECORDS_REPLAYED, "records-replayed", "Records replayed",
          "mode=gcm: duplicates and records too old for the replay window, "
          "dropped"},
      {PROP_RECORDS_REJECTED, "records-rejected", "Records rejected",
          "mode=gcm: records that failed authentication or were malformed "
          "or truncated, dropped"},
      {PROP_RECORDS_OTHER_STREAMS, "records-other-streams",
          "Records of other streams",
          "mode=gcm: authentic records of a stream not followed (see "
          "streams), dropped"},
  };
  for (const auto &c : counters)
    g_object_class_install_property (klass, c.id,
        g_param_spec_uint64 (c.name, c.nick, c.blurb, 0, G_MAXUINT64, 0,
            (GParamFlags)(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  g_object_class_install_property (klass, PROP_SKIP_DAMAGED_SEGMENTS,
      g_param_spec_boolean ("skip-damaged-segments", "Skip damaged segments",
          "mode=gcm-file: to recover a damaged or interrupted recording, skip "
          "segments that fail authentication (and a missing end) with a "
          "warning each, instead of stopping with an error. Only "
          "authenticated segments are ever output either way",
          FALSE, GST_AES_STREAM_PARAM_RW_READY));
  g_object_class_install_property (klass, PROP_REQUIRE_AUTHENTICATION,
      g_param_spec_boolean ("require-authentication", "Require authentication",
          "Output only authenticated plaintext: refuse every stream and mode "
          "without authentication (ctr, ecb, cbc), also when the format is "
          "detected. Set it where a modified file must always be an error: "
          "detection trusts the stream's first bytes, and a gcm-file "
          "preamble rewritten into a CTR header would otherwise decrypt as "
          "CTR, without error",
          FALSE, GST_AES_STREAM_PARAM_RW_READY));
  g_object_class_install_property (klass, PROP_SEGMENTS_SKIPPED,
      g_param_spec_uint64 ("segments-skipped", "Segments skipped",
          "mode=gcm-file with skip-damaged-segments: segments skipped (and "
          "a missing end counted once)",
          0, G_MAXUINT64, 0,
          (GParamFlags)(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
}

static void
gst_aes_stream_dec_class_init (GstAesStreamDecClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstAesStreamBaseClass *base_class = GST_AES_STREAM_BASE_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (
      gst_aes_stream_dec_debug, "aesdec", 0, "AES stream decryption");

  base_class->encrypt = FALSE;
  base_class->debug = gst_aes_stream_dec_debug;
  base_class->start_stream = gst_aes_stream_dec_start_stream;
  base_class->stop_stream = gst_aes_stream_dec_stop_stream;

  gobject_class->set_property = gst_aes_stream_dec_set_property;
  gobject_class->get_property = gst_aes_stream_dec_get_property;
  gobject_class->finalize = gst_aes_stream_dec_finalize;
  install_properties (gobject_class);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "AES stream decryption",
      "Filter/Decryptor",
      "Decrypts a stream encrypted with AES-CTR, AES-GCM records, gcm-file "
      "(Tink streaming AEAD), AES-CBC or AES-ECB using OpenSSL",
      "aesstream developers");

  parent_generate_output = trans_class->generate_output;
  trans_class->transform_caps
      = GST_DEBUG_FUNCPTR (gst_aes_stream_dec_transform_caps);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_aes_stream_dec_sink_event);
  trans_class->before_transform
      = GST_DEBUG_FUNCPTR (gst_aes_stream_dec_before_transform);
  trans_class->prepare_output_buffer
      = GST_DEBUG_FUNCPTR (gst_aes_stream_dec_prepare_output_buffer);
  trans_class->transform = GST_DEBUG_FUNCPTR (gst_aes_stream_dec_transform);
  trans_class->src_event = GST_DEBUG_FUNCPTR (gst_aes_stream_dec_src_event);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_aes_stream_dec_query);
  trans_class->generate_output
      = GST_DEBUG_FUNCPTR (gst_aes_stream_dec_generate_output);

  gst_type_mark_as_plugin_api (
      GST_TYPE_AES_STREAM_INVALID_RECORDS, (GstPluginAPIFlags)0);
  gst_type_mark_as_plugin_api (
      GST_TYPE_AES_STREAM_STREAMS, (GstPluginAPIFlags)0);

  /**
   * GstAesStreamDec::request-key:
   * @element: the aesdec
   * @key_id: the stream's key id, 32 lowercase hex digits
   *
   * Emitted (from the streaming thread) when neither key nor key-file is
   * set and the stream's header names its key id. Return the key as hex
   * (newly allocated; wiped and freed by aesdec) or %NULL to let the next
   * handler, and then the keyring, answer (docs/keys.md).
   */
  request_key_signal
      = gst_aes_stream_install_request_key_signal (G_TYPE_FROM_CLASS (klass));
}
