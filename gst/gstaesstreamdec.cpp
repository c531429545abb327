/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * SECTION:element-aesdec
 * @title: aesdec
 *
 * Decrypts what aesenc (or `openssl enc`, or the original ECB recipe)
 * encrypted. Without `iv`, CTR streams start with the aesstream header and
 * aesdec takes the IV from it; a stream without a valid header is refused
 * with an error.
 *
 * Input may carry aesenc's `application/x-aes-encrypted` caps, other caps or
 * none at all (filesrc, udpsrc). When the caps carry `original-caps`, those
 * are set on the output; otherwise the output has no caps and downstream
 * typefinding (decodebin) recognises the plaintext.
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

#include <cstring>

GST_DEBUG_CATEGORY_STATIC (gst_aes_stream_dec_debug);
#define GST_CAT_DEFAULT gst_aes_stream_dec_debug

struct _GstAesStreamDec
{
  GstAesStreamBase parent;
};

G_DEFINE_TYPE (GstAesStreamDec, gst_aes_stream_dec, GST_TYPE_AES_STREAM_BASE);
/* Rank none: a "Decryptor" with ANY sink caps would otherwise be tried by
 * decodebin on every stream it plugs. The elements are picked by name. */
GST_ELEMENT_REGISTER_DEFINE (
    aesdec, "aesdec", GST_RANK_NONE, GST_TYPE_AES_STREAM_DEC);

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

  const gchar *mode = gst_structure_get_string (s, "mode");
  const gchar *ours
      = gst_aes_stream_base_mode_name (GST_AES_STREAM_BASE (self));
  if (mode != NULL && std::strcmp (mode, ours) != 0) {
    GST_ELEMENT_ERROR (self, STREAM, WRONG_TYPE,
        ("The input was encrypted with mode=%s but aesdec has mode=%s; set "
         "mode=%s on aesdec.",
            mode, ours, mode),
        (NULL));
    return FALSE;
  }

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
  return gst_pad_push_event (trans->srcpad, gst_event_new_caps (out));
}

static gboolean
gst_aes_stream_dec_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
    GstCaps *caps;
    gst_event_parse_caps (event, &caps);
    gboolean ret = handle_caps (GST_AES_STREAM_DEC (trans), caps);
    gst_event_unref (event);
    return ret;
  }
  return GST_BASE_TRANSFORM_CLASS (gst_aes_stream_dec_parent_class)
      ->sink_event (trans, event);
}

static void
gst_aes_stream_dec_before_transform (GstBaseTransform *trans, GstBuffer *buffer)
{
  /* The output caps are decided in handle_caps(); a reconfigure request
   * from downstream must not make the base class renegotiate them from the
   * ciphertext caps. */
  gst_pad_check_reconfigure (trans->srcpad);
}

static void
gst_aes_stream_dec_init (GstAesStreamDec *self)
{}

static void
gst_aes_stream_dec_class_init (GstAesStreamDecClass *klass)
{
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (
      gst_aes_stream_dec_debug, "aesdec", 0, "AES stream decryption");

  GST_AES_STREAM_BASE_CLASS (klass)->encrypt = FALSE;

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "AES stream decryption",
      "Filter/Decryptor",
      "Decrypts a stream encrypted with AES-CTR, AES-GCM, AES-CBC or AES-ECB "
      "using OpenSSL",
      "aesstream developers");

  gst_aes_stream_base_install_decoder_properties (G_OBJECT_CLASS (klass));

  trans_class->transform_caps
      = GST_DEBUG_FUNCPTR (gst_aes_stream_dec_transform_caps);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_aes_stream_dec_sink_event);
  trans_class->before_transform
      = GST_DEBUG_FUNCPTR (gst_aes_stream_dec_before_transform);
}
