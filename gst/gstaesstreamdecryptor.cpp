/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * SECTION:element-aesstreamdecryptor
 * @title: aesstreamdecryptor
 *
 * The decryptor that decodebin, uridecodebin and playbin plug by
 * themselves. Its sink caps are exactly what the plugin's typefinder gives
 * this plugin's self-describing formats (`application/x-aes-encrypted`), so
 * players use it for those and for nothing else: an ordinary file never
 * meets it. (`aesdec` keeps ANY sink caps and rank none for hand-written
 * pipelines.)
 *
 * How: a bin, `aesstreamdec ! typefind`. The decoder has neither key nor
 * mode: it detects the format from the stream's first bytes and finds the
 * key by the key id in its header (this element's `request-key` signal,
 * then the user's keyring; docs/keys.md); no key: an error that names the
 * key id and where it looked. `typefind` gives the decrypted stream its
 * caps, so the player goes on plugging a demuxer.
 *
 * Applications give keys through `request-key`, reachable from playbin's
 * `element-setup`:
 * |[
 * def on_setup(playbin, element):
 *     if element.get_factory().get_name() == "aesstreamdecryptor":
 *         element.connect("request-key", lambda el, key_id:
 * my_keys.get(key_id)) playbin.connect("element-setup", on_setup)
 * ]|
 *
 * ## Example launch line
 * |[
 * gst-play-1.0 recording.webm.aes      # with the key in
 * ~/.config/aesstream/keyring
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstaesstreamdecryptor.h"

#include "gstaesstreambase.h"
#include "gstaesstreamkeys.h"

GST_DEBUG_CATEGORY_STATIC (gst_aes_stream_decryptor_debug);
#define GST_CAT_DEFAULT gst_aes_stream_decryptor_debug

struct _GstAesStreamDecryptor
{
  GstBin parent;
  GstElement *dec;      /* aesstreamdec, owned by the bin */
  GstElement *typefind; /* owned by the bin */
};

G_DEFINE_TYPE (GstAesStreamDecryptor, gst_aes_stream_decryptor, GST_TYPE_BIN);
/* Primary: for these caps we are the only decryptor there is. */
GST_ELEMENT_REGISTER_DEFINE (aesstreamdecryptor, "aesstreamdecryptor",
    GST_RANK_PRIMARY, GST_TYPE_AES_STREAM_DECRYPTOR);

static guint request_key_signal;

static GstStaticPadTemplate sink_template
    = GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
        GST_STATIC_CAPS (GST_AES_STREAM_ENCRYPTED_CAPS_NAME));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE (
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

/* aesdec asks for a key: ask this element's handlers (the application
 * sees this element, not the aesdec inside it). NULL lets aesdec go on to
 * the keyring. */
static gchar *
forward_request_key (GstElement *dec, const gchar *key_id, gpointer user_data)
{
  gchar *key = NULL;
  g_signal_emit (user_data, request_key_signal, 0, key_id, &key);
  return key;
}

static void
gst_aes_stream_decryptor_init (GstAesStreamDecryptor *self)
{
  self->dec = gst_element_factory_make ("aesstreamdec", "dec");
  self->typefind = gst_element_factory_make ("typefind", "typefind");
  if (self->dec == NULL || self->typefind == NULL) {
    /* Reported when the element starts (see change_state). */
    g_clear_pointer (&self->dec, gst_object_unref);
    g_clear_pointer (&self->typefind, gst_object_unref);
    gst_element_add_pad (
        GST_ELEMENT (self), gst_ghost_pad_new_no_target_from_template ("sink",
                                gst_static_pad_template_get (&sink_template)));
    gst_element_add_pad (
        GST_ELEMENT (self), gst_ghost_pad_new_no_target_from_template ("src",
                                gst_static_pad_template_get (&src_template)));
    return;
  }
  gst_bin_add_many (GST_BIN (self), self->dec, self->typefind, NULL);
  gst_element_link (self->dec, self->typefind);

  GstPad *target = gst_element_get_static_pad (self->dec, "sink");
  gst_element_add_pad (
      GST_ELEMENT (self), gst_ghost_pad_new_from_template ("sink", target,
                              gst_static_pad_template_get (&sink_template)));
  gst_object_unref (target);
  target = gst_element_get_static_pad (self->typefind, "src");
  gst_element_add_pad (
      GST_ELEMENT (self), gst_ghost_pad_new_from_template ("src", target,
                              gst_static_pad_template_get (&src_template)));
  gst_object_unref (target);

  g_signal_connect_object (self->dec, "request-key",
      G_CALLBACK (forward_request_key), self, GConnectFlags (0));
}

static GstStateChangeReturn
gst_aes_stream_decryptor_change_state (
    GstElement *element, GstStateChange transition)
{
  GstAesStreamDecryptor *self = GST_AES_STREAM_DECRYPTOR (element);
  if (transition == GST_STATE_CHANGE_NULL_TO_READY
      && (self->dec == NULL || self->typefind == NULL)) {
    GST_ELEMENT_ERROR (self, CORE, MISSING_PLUGIN,
        ("aesstreamdecryptor needs aesstreamdec (this plugin) and typefind "
         "(GStreamer core); one of them is missing."),
        (NULL));
    return GST_STATE_CHANGE_FAILURE;
  }
  return GST_ELEMENT_CLASS (gst_aes_stream_decryptor_parent_class)
      ->change_state (element, transition);
}

static void
gst_aes_stream_decryptor_class_init (GstAesStreamDecryptorClass *klass)
{
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_aes_stream_decryptor_debug, "aesstreamdecryptor",
      0, "aesstream decryptor for players");

  element_class->change_state
      = GST_DEBUG_FUNCPTR (gst_aes_stream_decryptor_change_state);
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  /* "Decryptor" is what decodebin looks for (GST_ELEMENT_FACTORY_TYPE_
   * DECRYPTOR); with the narrow sink caps above, only our streams match. */
  gst_element_class_set_static_metadata (element_class,
      "AES stream decryptor for players", "Decryptor",
      "Decrypts aesstream files in decodebin/playbin: finds the key by its "
      "key id (request-key signal, then the keyring) and typefinds the "
      "plaintext",
      "aesstream developers");

  /**
   * GstAesStreamDecryptor::request-key:
   * @element: the decryptor
   * @key_id: the stream's key id, 32 lowercase hex digits
   *
   * Asks the application for the key of @key_id. Return the key as hex
   * (newly allocated; wiped and freed by the element) or %NULL to let the
   * next handler, and then the keyring, answer. Emitted from the streaming
   * thread. A key whose id is not @key_id is an error.
   */
  request_key_signal
      = gst_aes_stream_install_request_key_signal (G_TYPE_FROM_CLASS (klass));
}
