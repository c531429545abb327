/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * SECTION:element-aesenc
 * @title: aesenc
 *
 * Encrypts a stream with AES (OpenSSL EVP). The default mode, CTR, keeps
 * every buffer's size, timestamps and flags and encrypts in place; without an
 * `iv` a random one is drawn at every start and sent in a 24-byte stream
 * header (docs/format.md) in front of the first buffer. ECB (zero padding)
 * exists only for compatibility with the original recipe and is insecure.
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

GST_DEBUG_CATEGORY_STATIC (gst_aes_stream_enc_debug);
#define GST_CAT_DEFAULT gst_aes_stream_enc_debug

struct _GstAesStreamEnc
{
  GstAesStreamBase parent;
};

G_DEFINE_TYPE (GstAesStreamEnc, gst_aes_stream_enc, GST_TYPE_AES_STREAM_BASE);
GST_ELEMENT_REGISTER_DEFINE (
    aesenc, "aesenc", GST_RANK_NONE, GST_TYPE_AES_STREAM_ENC);

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

static gboolean
gst_aes_stream_enc_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  /* A source without caps (filesrc, fdsrc) still gets its output labelled
   * as ciphertext, before the segment as the event order requires. */
  if (GST_EVENT_TYPE (event) == GST_EVENT_SEGMENT
      && !gst_pad_has_current_caps (trans->srcpad)) {
    gst_pad_push_event (trans->srcpad,
        gst_event_new_caps (encrypted_caps (GST_AES_STREAM_ENC (trans))));
  }
  return GST_BASE_TRANSFORM_CLASS (gst_aes_stream_enc_parent_class)
      ->sink_event (trans, event);
}

static void
gst_aes_stream_enc_init (GstAesStreamEnc *self)
{}

static void
gst_aes_stream_enc_class_init (GstAesStreamEncClass *klass)
{
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (
      gst_aes_stream_enc_debug, "aesenc", 0, "AES stream encryption");

  GST_AES_STREAM_BASE_CLASS (klass)->encrypt = TRUE;

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "AES stream encryption",
      "Filter/Encryptor",
      "Encrypts a stream with AES-CTR (default), AES-GCM, AES-CBC or AES-ECB "
      "using OpenSSL",
      "aesstream developers");

  trans_class->transform_caps
      = GST_DEBUG_FUNCPTR (gst_aes_stream_enc_transform_caps);
  trans_class->fixate_caps = GST_DEBUG_FUNCPTR (gst_aes_stream_enc_fixate_caps);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_aes_stream_enc_sink_event);
}
