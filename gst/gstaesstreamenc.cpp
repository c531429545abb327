/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * SECTION:element-aesenc
 * @title: aesenc
 *
 * Encrypts a stream with AES (OpenSSL EVP). The default mode, CTR, keeps
 * every buffer's size, timestamps and flags and encrypts in place; a random
 * IV is drawn at every start and sent in a 32-byte stream header
 * (docs/format.md) in front of the first buffer (`mode=ctr iv=…`: raw CTR
 * from that IV, no header). mode=gcm turns every buffer into one
 * authenticated record. ECB (zero padding) exists only for compatibility
 * with the original recipe and is insecure. CBC is gst-plugins-bad's: without
 * `mode`, its properties (`iv`, `cipher`, `serialize-iv`,
 * `per-buffer-padding`) mean what they mean there, so `aesenc key=K iv=IV` is
 * their AES-128-CBC. Properties may be set until the first buffer.
 *
 * This file holds everything aesenc does with a stream: the codec's prefix
 * (header, serialized IV) in front of the first output, GCM sealing, and
 * what is owed at end of stream. docs/design.md follows a buffer through.
 *
 * The output caps are `application/x-aes-encrypted, mode=(string)…` with the
 * input caps kept as the `original-caps` string, so that aesdec can restore
 * them: ciphertext is never labelled as media.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=100 ! vp8enc ! webmmux ! \
 *     aesenc key-file=my.key ! filesink location=video.webm.aes
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstaesstreamenc.h"

#include <openssl/crypto.h>

#include <cstring>
#include <vector>

#include "gstaesstreamprivate.hpp"
#include "gstaesstreamseek.hpp"

GST_DEBUG_CATEGORY_STATIC (gst_aes_stream_enc_debug);
#define GST_CAT_DEFAULT gst_aes_stream_enc_debug

using aesstream::ByteView;
using aesstream::Problem;
using aesstream::StreamCodec;
namespace format = aesstream::format;

enum
{
  PROP_0,
  PROP_ROTATE_AFTER_RECORDS,
  PROP_MAX_RECORDS_PER_KEY,
  PROP_SEGMENT_SIZE,
};

/* mode=gcm: the soft limit (a message asks the application to rotate) and
 * the hard one (aesenc refuses to seal more under the key). 2^32 records
 * under one key is NIST SP 800-38D's bound for random-nonce GCM: each
 * stream has its own subkey here, so it is conservative, and at 1,000
 * records a second it is still 49 days. The hard limit defaults to what
 * the format allows in one stream (48-bit record numbers). */
#define DEFAULT_ROTATE_AFTER_RECORDS (G_GUINT64_CONSTANT (1) << 32)
#define DEFAULT_MAX_RECORDS_PER_KEY                                            \
  ((guint64)aesstream::GcmRecordSealer::kMaxRecordsPerStream)

/* The message aesenc posts when rotate-after-records is reached. */
#define ROTATE_MESSAGE "aesenc-rotate-key"

/* Everything that exists only while the element is started. */
struct EncState
{
  /* codec.stream (CTR, ECB, CBC) or codec.sealer (GCM records). */
  aesstream::Codec codec;
  /* An error was posted: refuse everything until the next start. */
  bool failed = false;
  /* Settings resolved the gst-plugins-bad way (GstAesStreamSnapshot). */
  bool compat = false;
  /* compat: a buffer went through the codec (an empty stream stays empty,
   * as with gst-plugins-bad). */
  bool fed = false;
  /* Following a muxer that goes back to rewrite (gstaesstreamseek.hpp). */
  aesstream::EncoderRewrites rewrites;
  /* mode=gcm: rotate-after-records as it was at start (0: never), and
   * whether its message was posted for the current key. */
  guint64 rotate_after = 0;
  bool rotate_posted = false;
};

struct _GstAesStreamEnc
{
  GstAesStreamBase parent;
  EncState *state;
  /* mode=gcm-file: Tink's CiphertextSegmentSize (under the object lock). */
  guint segment_size;
  /* Settings of aesenc's own (under the object lock). */
  guint64 rotate_after_records;
  guint64 max_records_per_key;
};

G_DEFINE_TYPE (GstAesStreamEnc, gst_aes_stream_enc, GST_TYPE_AES_STREAM_BASE);
GST_ELEMENT_REGISTER_DEFINE (
    aesenc, "aesenc", GST_RANK_NONE, GST_TYPE_AES_STREAM_ENC);

/* The streaming thread's view of the element, without a checked cast
 * (the base class calls us with our own instance only). */
static inline EncState &
state_of (GstBaseTransform *trans)
{
  return *reinterpret_cast<GstAesStreamEnc *> (trans)->state;
}

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE (
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

static GstStaticPadTemplate src_template
    = GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
        GST_STATIC_CAPS (GST_AES_STREAM_ENCRYPTED_CAPS_NAME));

static GstCaps *
encrypted_caps (GstAesStreamEnc *self)
{
  return gst_caps_new_simple (GST_AES_STREAM_ENCRYPTED_CAPS_NAME, "mode",
      G_TYPE_STRING, gst_aes_stream_base_mode_name (GST_AES_STREAM_BASE (self)),
      NULL);
}

static GstCaps *
gst_aes_stream_enc_transform_caps (GstBaseTransform *trans,
    GstPadDirection direction, GstCaps *caps, GstCaps *filter)
{
  /* Anything goes in; only ciphertext comes out. */
  GstCaps *result = direction == GST_PAD_SINK
                        ? encrypted_caps (GST_AES_STREAM_ENC (trans))
                        : gst_caps_new_any ();
  if (filter) {
    GstCaps *tmp
        = gst_caps_intersect_full (filter, result, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (result);
    result = tmp;
  }
  return result;
}

static GstCaps *
gst_aes_stream_enc_fixate_caps (GstBaseTransform *trans,
    GstPadDirection direction, GstCaps *caps, GstCaps *othercaps)
{
  if (gst_caps_is_any (othercaps) || gst_caps_is_empty (othercaps))
    return othercaps;
  othercaps = gst_caps_make_writable (gst_caps_truncate (othercaps));
  /* Keep what the plaintext was, so that aesdec can say it again. */
  if (direction == GST_PAD_SINK && gst_caps_is_fixed (caps)) {
    gchar *original = gst_caps_to_string (caps);
    gst_caps_set_simple (
        othercaps, "original-caps", G_TYPE_STRING, original, NULL);
    g_free (original);
  }
  return gst_caps_fixate (othercaps);
}

/* ---------------------------------------------------------------------- */
/* Start / stop */

/* Caps negotiated before the stream's settings were final named the mode
 * of the settings as they were then (a harness sets caps, then the key and
 * iv): tell downstream the mode the stream really has, before its first
 * byte. */
static void
relabel_output_caps (GstAesStreamEnc *self, aesstream::Mode mode)
{
  GstPad *srcpad = GST_BASE_TRANSFORM_SRC_PAD (self);
  GstCaps *caps = gst_pad_get_current_caps (srcpad);
  if (caps == NULL)
    return;
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  const gchar *named = gst_structure_get_string (s, "mode");
  if (!gst_structure_has_name (s, GST_AES_STREAM_ENCRYPTED_CAPS_NAME)
      || named == NULL
      || std::strcmp (named, aesstream::mode_name (mode)) == 0) {
    gst_caps_unref (caps);
    return;
  }
  caps = gst_caps_make_writable (caps);
  gst_caps_set_simple (
      caps, "mode", G_TYPE_STRING, aesstream::mode_name (mode), NULL);
  GST_INFO_OBJECT (
      self, "mode resolved after negotiation: %" GST_PTR_FORMAT, caps);
  gst_pad_push_event (srcpad, gst_event_new_caps (caps));
  gst_caps_unref (caps); /* the event holds its own reference */
}

static gboolean
gst_aes_stream_enc_start_stream (
    GstAesStreamBase *base, const GstAesStreamSnapshot *settings)
{
  EncState st;
  aesstream::CodecConfig config = settings->codec_config ();
  GST_OBJECT_LOCK (base);
  config.segment_size = GST_AES_STREAM_ENC (base)->segment_size;
  GST_OBJECT_UNLOCK (base);
  Problem p = aesstream::make_codec (config, &st.codec);
  if (!p.ok ()) {
    GST_AES_STREAM_POST_PROBLEM (base, p);
    return FALSE;
  }
  st.compat = settings->compat;
  st.rewrites.start ();
  if (st.codec.sealer) {
    GST_OBJECT_LOCK (base);
    st.rotate_after = GST_AES_STREAM_ENC (base)->rotate_after_records;
    st.codec.sealer->set_max_records_per_key (
        GST_AES_STREAM_ENC (base)->max_records_per_key);
    GST_OBJECT_UNLOCK (base);
  }
  *GST_AES_STREAM_ENC (base)->state = std::move (st);
  relabel_output_caps (GST_AES_STREAM_ENC (base), settings->mode);
  return TRUE;
}

static void
gst_aes_stream_enc_stop_stream (GstAesStreamBase *base)
{
  *GST_AES_STREAM_ENC (base)->state = EncState ();
}

/* ---------------------------------------------------------------------- */
/* Buffers */

static GstFlowReturn
gst_aes_stream_enc_prepare_output_buffer (
    GstBaseTransform *trans, GstBuffer *inbuf, GstBuffer **outbuf)
{
  EncState &st = state_of (trans);
  if (st.codec.stream)
    return gst_aes_stream_base_prepare_output (
        trans, *st.codec.stream, inbuf, outbuf);
  /* mode=gcm: never in place; seal_record writes header, payload and tag
   * into this one flat memory (why flat: gst_aes_stream_base_join_flat). */
  return gst_aes_stream_base_new_output (trans, inbuf,
      gst_buffer_get_size (inbuf) + format::kRecordOverhead, outbuf);
}

/* mode=gcm, key rotation: a key was set while playing. The current stream
 * ends with its final record (receivers know it ended, nothing is
 * missing), and the next record starts a new stream (new salt, record
 * numbers from 0) under the new key. The old key is wiped. */
static bool
apply_new_key (GstAesStreamEnc *self, EncState &st)
{
  GstAesStreamBase *base = GST_AES_STREAM_BASE (self);
  std::vector<aesstream::SecureBytes> keys;
  std::string error;
  if (!gst_aes_stream_base_take_new_keys (base, &keys, &error)) {
    st.failed = true;
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("The key set while playing is not valid: %s. aesenc stops rather "
         "than go on encrypting under the key it was asked to replace.",
            error.c_str ()),
        (NULL));
    return false;
  }
  guint8 rec[format::kRecordOverhead];
  Problem p = st.codec.sealer->seal_final (rec);
  if (p.ok ()) {
    gst_aes_stream_base_push_bytes (base, rec, sizeof (rec), (GstBufferFlags)0);
    p = st.codec.sealer->rekey (keys.back ()); /* the last one set */
  }
  if (!p.ok ()) {
    st.failed = true;
    GST_AES_STREAM_POST_PROBLEM (self, p);
    return false;
  }
  if (st.codec.sealer->records_under_key () == 0)
    st.rotate_posted = false;
  GST_INFO_OBJECT (self, "key rotated: a new stream starts");
  return true;
}

/* Tells the application, once per key, that it is time to rotate. */
static void
post_rotate_message (GstAesStreamEnc *self, EncState &st)
{
  st.rotate_posted = true;
  const guint64 records = st.codec.sealer->records_under_key ();
  GST_INFO_OBJECT (self,
      "%" G_GUINT64_FORMAT " records under this key: asking for a new key",
      records);
  GstStructure *s = gst_structure_new (ROTATE_MESSAGE, "records", G_TYPE_UINT64,
      records, "rotate-after-records", G_TYPE_UINT64, st.rotate_after, NULL);
  gst_element_post_message (
      GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), s));
}

/* mode=gcm: one input buffer becomes one record (docs/format.md). */
static GstFlowReturn
seal_record (
    GstAesStreamEnc *self, EncState &st, GstBuffer *inbuf, GstBuffer *outbuf)
{
  if (G_UNLIKELY (gst_aes_stream_base_key_changed (GST_AES_STREAM_BASE (self)))
      && !apply_new_key (self, st))
    return GST_FLOW_ERROR;
  gsize n = gst_buffer_get_size (inbuf);
  Problem p;
  {
    GstAesStreamBufferMap in (inbuf, GST_MAP_READ);
    GstAesStreamBufferMap out (outbuf, GST_MAP_WRITE);
    if (!in.ok () || !out.ok ()) {
      GST_ELEMENT_ERROR (
          self, RESOURCE, FAILED, ("Could not map a buffer"), (NULL));
      return GST_FLOW_ERROR;
    }
    guint8 *rec = out.data ();
    p = st.codec.sealer->seal (in.data (), n, rec,
        rec + format::kRecordHeaderSize, rec + format::kRecordHeaderSize + n);
  }
  if (!p.ok ()) {
    st.failed = true;
    GST_AES_STREAM_POST_PROBLEM (self, p);
    return GST_FLOW_ERROR;
  }
  if (gst_buffer_get_size (outbuf) != n + format::kRecordOverhead)
    gst_buffer_set_size (outbuf, n + format::kRecordOverhead); /* a pool's */
  if (G_UNLIKELY (st.rotate_after > 0 && !st.rotate_posted
                  && st.codec.sealer->records_under_key () >= st.rotate_after))
    post_rotate_message (self, st);
  return GST_FLOW_OK;
}

/* gcm-file: an output that holds several segments (an input larger than a
 * segment) goes out as one buffer per segment, so that a segment, not the
 * input's size, bounds what a receiver waits for. `outbuf` keeps the first
 * segment (the base class sends it, with the input's timestamps and a
 * pending DISCONT); the others are sub-buffers of it (no copy), queued for
 * the base class's next generate_output calls. */
static void
split_units (
    GstAesStreamEnc *self, GstBuffer *outbuf, const std::vector<size_t> &units)
{
  gsize offset = units[0];
  for (size_t i = 1; i < units.size (); i++) {
    GstBuffer *unit = gst_buffer_copy_region (outbuf,
        (GstBufferCopyFlags)(GST_BUFFER_COPY_FLAGS | GST_BUFFER_COPY_MEMORY),
        offset, units[i]);
    GST_BUFFER_FLAG_UNSET (unit, GST_BUFFER_FLAG_DISCONT);
    gst_aes_stream_base_queue_unit (GST_AES_STREAM_BASE (self), unit);
    offset += units[i];
  }
  gst_buffer_resize (outbuf, 0, units[0]);
}

static GstFlowReturn
gst_aes_stream_enc_transform (
    GstBaseTransform *trans, GstBuffer *inbuf, GstBuffer *outbuf)
{
  GstAesStreamEnc *self = reinterpret_cast<GstAesStreamEnc *> (trans);
  EncState &st = state_of (trans);
  if (G_UNLIKELY (st.failed))
    return GST_FLOW_ERROR;
  if (!st.codec.stream)
    return seal_record (self, st, inbuf, outbuf);

  StreamCodec &codec = *st.codec.stream;
  StreamCodec::Output r;
  gsize in_size = 0;
  Problem p = gst_aes_stream_base_process (codec, inbuf, outbuf, &r, &in_size);
  if (G_UNLIKELY (!p.ok ())) {
    st.failed = true;
    GST_AES_STREAM_POST_PROBLEM (self, p);
    return GST_FLOW_ERROR;
  }
  st.rewrites.consumed (in_size);
  st.fed = true;
  /* The prefix (stream header, serialized IV) goes in front of the first
   * output, in the same memory (a copy of one buffer a stream). A serialized
   * IV waits for ciphertext, except the gst-plugins-bad way, where it is
   * the first buffer's first bytes whatever follows (any size > 0 says
   * "due now"). */
  ByteView prefix
      = codec.take_prefix (G_UNLIKELY (st.compat) ? r.size + 1 : r.size);
  const std::vector<size_t> &units = codec.output_units ();
  if (G_UNLIKELY (units.size () > 1))
    split_units (self, outbuf, units);
  if (G_UNLIKELY (!prefix.empty ())) {
    if (!gst_aes_stream_base_join_flat (
            outbuf, prefix.data, prefix.size, nullptr, 0)) {
      GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
          ("Could not allocate an output buffer"), (NULL));
      return GST_FLOW_ERROR;
    }
    return GST_FLOW_OK;
  }
  /* CTR keeps one output buffer per input buffer, even an empty one; block
   * modes may have nothing to say yet. gst-plugins-bad's elements output
   * one buffer per input buffer, empty or not: so does the compat way. */
  if (r.size == 0 && !codec.one_output_per_input () && !st.compat)
    return gst_aes_stream_base_nothing_yet (GST_AES_STREAM_BASE (self));
  return GST_FLOW_OK;
}

/* ---------------------------------------------------------------------- */
/* Events */

/* At EOS: what is still owed. Block modes: the last padded block (and the
 * prefix, for a stream whose only output this is; a header even for an
 * empty stream). GCM: the final record, so that aesdec can tell a complete
 * stream from a truncated one. */
static gboolean
drain (GstAesStreamEnc *self, EncState &st)
{
  GstAesStreamBase *base = GST_AES_STREAM_BASE (self);
  if (st.failed)
    return FALSE; /* the error is on the bus already */
  if (st.codec.sealer) {
    guint8 rec[format::kRecordOverhead];
    Problem p = st.codec.sealer->seal_final (rec);
    if (!p.ok ()) {
      GST_AES_STREAM_POST_PROBLEM (self, p);
      return FALSE;
    }
    gst_aes_stream_base_push_bytes (base, rec, sizeof (rec), (GstBufferFlags)0);
    return TRUE;
  }
  if (!st.codec.stream)
    return TRUE; /* not started */
  if (st.compat && !st.fed)
    return TRUE; /* gst-plugins-bad: an empty stream stays empty */
  StreamCodec &codec = *st.codec.stream;
  /* A padded block, or gcm-file's last segment (up to segment-size). */
  std::vector<guint8> tail (codec.max_finish_output ());
  gsize written = 0;
  Problem p = codec.finish (tail.data (), &written);
  if (!p.ok ()) {
    GST_AES_STREAM_POST_PROBLEM (self, p);
    return FALSE;
  }
  ByteView prefix = codec.take_prefix (written);
  if (!prefix.empty ())
    gst_aes_stream_base_push_bytes (
        base, prefix.data, prefix.size, GST_BUFFER_FLAG_HEADER);
  if (written > 0)
    gst_aes_stream_base_push_bytes (
        base, tail.data (), written, (GstBufferFlags)0);
  return TRUE;
}

/* After a flush: a new stream. A random IV or GCM salt is drawn again:
 * reusing it on new data would reuse keystream or nonces. */
static Problem
restart (EncState &st)
{
  st.failed = false;
  st.fed = false;
  st.rewrites.reset ();
  if (st.codec.stream)
    return st.codec.stream->restart ();
  if (st.codec.sealer)
    return st.codec.sealer->restart ();
  return Problem::none ();
}

static gboolean
gst_aes_stream_enc_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstAesStreamEnc *self = GST_AES_STREAM_ENC (trans);
  EncState &st = *self->state;

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_SEGMENT:
      /* A source without caps (filesrc, fdsrc) still gets its output
       * labelled as ciphertext, before the segment as the event order
       * requires. */
      if (!gst_pad_has_current_caps (trans->srcpad)) {
        GstCaps *caps = encrypted_caps (self);
        gst_pad_push_event (trans->srcpad, gst_event_new_caps (caps));
        gst_caps_unref (caps); /* the event holds its own reference */
      }
      /* A muxer going back to patch what it wrote: encrypt at that offset
       * and move the segment past our header (or refuse, in modes that
       * cannot). Before the stream is configured only the opening segment
       * comes. */
      if (st.codec.stream) {
        event = st.rewrites.segment (
            GST_ELEMENT (self), event, st.codec.stream.get ());
        if (event == NULL) {
          st.failed = true;
          return FALSE;
        }
      }
      break;
    case GST_EVENT_EOS:
      /* An empty stream needs its settings here (its header; a missing
       * key reported). */
      if (!gst_aes_stream_base_ensure_configured (GST_AES_STREAM_BASE (self))
          || !drain (self, st)) {
        gst_event_unref (event);
        return FALSE;
      }
      break;
    case GST_EVENT_FLUSH_STOP: {
      gst_aes_stream_base_drop_pending_units (GST_AES_STREAM_BASE (self));
      Problem p = restart (st);
      if (!p.ok ()) {
        GST_AES_STREAM_POST_PROBLEM (self, p);
        gst_event_unref (event);
        return FALSE;
      }
      break;
    }
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (gst_aes_stream_enc_parent_class)
      ->sink_event (trans, event);
}

static gboolean
gst_aes_stream_enc_query (
    GstBaseTransform *trans, GstPadDirection direction, GstQuery *query)
{
  /* A muxer asking whether it may go back and rewrite (it asks before its
   * first buffer, so possibly before the stream is configured): only if
   * this mode can follow. Then downstream answers. */
  if (direction == GST_PAD_SINK
      && GST_QUERY_TYPE (query) == GST_QUERY_SEEKING) {
    GstAesStreamBase *base = GST_AES_STREAM_BASE (trans);
    EncState &st = state_of (trans);
    bool can_seek = gst_aes_stream_base_is_configured (base)
                        ? st.codec.stream && st.codec.stream->can_seek ()
                        : gst_aes_stream_base_settings_can_seek (base);
    if (st.rewrites.seeking_query (GST_ELEMENT (trans), query, can_seek))
      return TRUE;
  }
  /* Upstream's size in bytes is the plaintext's, not the ciphertext's (a
   * header, padding, a tag per segment or record): forwarded, it would
   * tell aesdec that the stream ends before it does (a false truncation
   * error). Not known here, so not answered. */
  if (direction == GST_PAD_SRC
      && GST_QUERY_TYPE (query) == GST_QUERY_DURATION) {
    GstFormat format;
    gst_query_parse_duration (query, &format, NULL);
    if (format == GST_FORMAT_BYTES)
      return FALSE;
  }
  return GST_BASE_TRANSFORM_CLASS (gst_aes_stream_enc_parent_class)
      ->query (trans, direction, query);
}

/* ---------------------------------------------------------------------- */
/* Properties (aesenc's own; the shared ones are the base class's) */

static void
gst_aes_stream_enc_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstAesStreamEnc *self = GST_AES_STREAM_ENC (object);
  if (gst_aes_stream_base_refuse_while_running (
          GST_AES_STREAM_BASE (self), pspec))
    return;
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_ROTATE_AFTER_RECORDS:
      self->rotate_after_records = g_value_get_uint64 (value);
      break;
    case PROP_MAX_RECORDS_PER_KEY:
      self->max_records_per_key = g_value_get_uint64 (value);
      break;
    case PROP_SEGMENT_SIZE:
      self->segment_size = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_aes_stream_enc_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstAesStreamEnc *self = GST_AES_STREAM_ENC (object);
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_ROTATE_AFTER_RECORDS:
      g_value_set_uint64 (value, self->rotate_after_records);
      break;
    case PROP_MAX_RECORDS_PER_KEY:
      g_value_set_uint64 (value, self->max_records_per_key);
      break;
    case PROP_SEGMENT_SIZE:
      g_value_set_uint (value, self->segment_size);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_aes_stream_enc_init (GstAesStreamEnc *self)
{
  self->state = new EncState ();
  self->segment_size = format::kGcmFileDefaultSegmentSize;
  self->rotate_after_records = DEFAULT_ROTATE_AFTER_RECORDS;
  self->max_records_per_key = DEFAULT_MAX_RECORDS_PER_KEY;
}

static void
gst_aes_stream_enc_finalize (GObject *object)
{
  GstAesStreamEnc *self = GST_AES_STREAM_ENC (object);
  delete self->state;
  self->state = NULL;
  G_OBJECT_CLASS (gst_aes_stream_enc_parent_class)->finalize (object);
}

static void
gst_aes_stream_enc_class_init (GstAesStreamEncClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstAesStreamBaseClass *base_class = GST_AES_STREAM_BASE_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (
      gst_aes_stream_enc_debug, "aesenc", 0, "AES stream encryption");

  base_class->encrypt = TRUE;
  base_class->debug = gst_aes_stream_enc_debug;
  base_class->start_stream = gst_aes_stream_enc_start_stream;
  base_class->stop_stream = gst_aes_stream_enc_stop_stream;

  gobject_class->finalize = gst_aes_stream_enc_finalize;
  gobject_class->set_property = gst_aes_stream_enc_set_property;
  gobject_class->get_property = gst_aes_stream_enc_get_property;
  g_object_class_install_property (gobject_class, PROP_SEGMENT_SIZE,
      g_param_spec_uint ("segment-size", "Segment size",
          "mode=gcm-file: bytes of ciphertext per segment, tag included "
          "(Tink's CiphertextSegmentSize). Bounds latency and memory: aesenc "
          "holds up to one segment. At least 41 (57 with AES-256 keys), at "
          "most 64 MiB",
          format::kGcmFileMinSegmentSize, format::kGcmFileMaxSegmentSize,
          format::kGcmFileDefaultSegmentSize, GST_AES_STREAM_PARAM_RW_READY));

  g_object_class_install_property (gobject_class, PROP_ROTATE_AFTER_RECORDS,
      g_param_spec_uint64 ("rotate-after-records", "Rotate after records",
          "mode=gcm: after this many records under one key, post an "
          "element message '" ROTATE_MESSAGE "' (once per key) so that the "
          "application sets a new key (key rotation, allowed while "
          "playing). 0 = never",
          0, G_MAXUINT64, DEFAULT_ROTATE_AFTER_RECORDS,
          GST_AES_STREAM_PARAM_RW_READY));
  g_object_class_install_property (gobject_class, PROP_MAX_RECORDS_PER_KEY,
      g_param_spec_uint64 ("max-records-per-key", "Max records per key",
          "mode=gcm: hard limit: aesenc refuses (error) to seal more records "
          "than this under one key. At most, and by default, 2^48 - 1, what "
          "the format allows in one stream; it can only be lowered",
          1, DEFAULT_MAX_RECORDS_PER_KEY, DEFAULT_MAX_RECORDS_PER_KEY,
          GST_AES_STREAM_PARAM_RW_READY));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "AES stream encryption",
      "Filter/Encryptor",
      "Encrypts a stream with AES-CTR (default), AES-GCM records, gcm-file "
      "(Tink streaming AEAD), AES-CBC or AES-ECB using OpenSSL",
      "aesstream developers");

  trans_class->transform_caps
      = GST_DEBUG_FUNCPTR (gst_aes_stream_enc_transform_caps);
  trans_class->fixate_caps = GST_DEBUG_FUNCPTR (gst_aes_stream_enc_fixate_caps);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_aes_stream_enc_sink_event);
  trans_class->prepare_output_buffer
      = GST_DEBUG_FUNCPTR (gst_aes_stream_enc_prepare_output_buffer);
  trans_class->transform = GST_DEBUG_FUNCPTR (gst_aes_stream_enc_transform);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_aes_stream_enc_query);
}
