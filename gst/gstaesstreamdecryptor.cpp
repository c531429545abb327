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
 * How: a bin that starts as `typefind` alone. When the stream's type is
 * known (upstream's caps, or its own typefinding), the caps name the mode
 * and the key id; the key is found by its id (the `request-key` signal of
 * this element, then the user's keyring; docs/keys.md), and only then
 * `aesstreamdec` (with that key and mode) and a second `typefind` are
 * added behind it, so that the decrypted stream leaves with caps and the
 * player goes on plugging a demuxer. No key: an error that names the key
 * id and where it looked.
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

#include <openssl/crypto.h>

#include "gstaesstreambase.h"
#include "gstaesstreamkeys.h"

GST_DEBUG_CATEGORY_STATIC (gst_aes_stream_decryptor_debug);
#define GST_CAT_DEFAULT gst_aes_stream_decryptor_debug

struct _GstAesStreamDecryptor
{
  GstBin parent;
  GstElement *peek; /* typefind on the ciphertext; always there */
  GstPad *srcpad;   /* ghost, targeted once the decoder is plugged */
  /* Plugged when the type is known; removed at PAUSED->READY. Protected
   * by the object lock. */
  GstElement *dec;
  GstElement *typefind;
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

/* Whether aesdec here has a `mode` value with this nick (gcm-file comes
 * with its own developer's work). */
static gboolean
decoder_knows_mode (GstElement *dec, const gchar *mode)
{
  GParamSpec *pspec
      = g_object_class_find_property (G_OBJECT_GET_CLASS (dec), "mode");
  if (pspec == NULL || !G_IS_PARAM_SPEC_ENUM (pspec))
    return FALSE;
  return g_enum_get_value_by_nick (G_PARAM_SPEC_ENUM (pspec)->enum_class, mode)
         != NULL;
}

/* Builds `aesstreamdec mode=M key=K ! typefind` behind the peek typefind.
 * Runs in the streaming thread (typefind's have-type), before typefind
 * pushes anything downstream, as decodebin plugs its elements. */
static void
plug_decoder (GstAesStreamDecryptor *self, GstCaps *caps)
{
  GstStructure *s = gst_caps_get_structure (caps, 0);
  const gchar *mode = gst_structure_get_string (s, "mode");
  const gchar *id_hex = gst_structure_get_string (s, "key-id");

  if (!gst_structure_has_name (s, GST_AES_STREAM_ENCRYPTED_CAPS_NAME)
      || mode == NULL) {
    GST_ELEMENT_ERROR (self, STREAM, WRONG_TYPE,
        ("This is not an aesstream stream (its type is %" GST_PTR_FORMAT
         "): aesstreamdecryptor only decrypts this plugin's formats.",
            caps),
        (NULL));
    return;
  }
  aesstream::KeyId id{};
  if (id_hex == NULL || !aesstream::parse_key_id_hex (id_hex, &id)) {
    GST_ELEMENT_ERROR (self, STREAM, DECRYPT_NOKEY,
        ("This stream (mode=%s) carries no key id, so its key cannot be "
         "looked up (CTR headers of version 1 and GCM records carry none): "
         "decrypt it with aesdec key-file=... in a pipeline of your own.",
            mode),
        (NULL));
    return;
  }

  aesstream::SecureBytes key;
  std::string source, error;
  if (!gst_aes_stream_find_key (
          GST_ELEMENT (self), request_key_signal, id, &key, &source, &error)) {
    GST_ELEMENT_ERROR (
        self, STREAM, DECRYPT_NOKEY, ("%s", error.c_str ()), (NULL));
    return;
  }
  GST_INFO_OBJECT (self, "key for key id %s from %s", id_hex, source.c_str ());

  GstElement *dec = gst_element_factory_make ("aesstreamdec", NULL);
  GstElement *tf = gst_element_factory_make ("typefind", NULL);
  if (dec == NULL || tf == NULL || !decoder_knows_mode (dec, mode)) {
    GST_ELEMENT_ERROR (self, CORE, MISSING_PLUGIN,
        ("aesstreamdec (with mode=%s) or typefind is missing.", mode), (NULL));
    g_clear_pointer (&dec, gst_object_unref);
    g_clear_pointer (&tf, gst_object_unref);
    return;
  }
  gst_util_set_object_arg (G_OBJECT (dec), "mode", mode);
  std::string hex = aesstream::to_hex (key.data (), key.size ());
  g_object_set (dec, "key", hex.c_str (), NULL);
  OPENSSL_cleanse (&hex[0], hex.size ());

  gst_bin_add_many (GST_BIN (self), dec, tf, NULL);
  gst_element_link_many (self->peek, dec, tf, NULL);
  GstPad *target = gst_element_get_static_pad (tf, "src");
  gst_ghost_pad_set_target (GST_GHOST_PAD (self->srcpad), target);
  gst_object_unref (target);
  gst_element_sync_state_with_parent (tf);
  gst_element_sync_state_with_parent (dec);

  GST_OBJECT_LOCK (self);
  self->dec = dec;
  self->typefind = tf;
  GST_OBJECT_UNLOCK (self);
}

static void
have_type (GstElement *peek, guint probability, GstCaps *caps, gpointer data)
{
  GstAesStreamDecryptor *self = GST_AES_STREAM_DECRYPTOR (data);
  GST_OBJECT_LOCK (self);
  gboolean plugged = self->dec != NULL;
  GST_OBJECT_UNLOCK (self);
  if (!plugged)
    plug_decoder (self, caps);
}

/* Back to the state before the type was known: the next stream may need
 * another key (and the key must not outlive the stream). */
static void
unplug_decoder (GstAesStreamDecryptor *self)
{
  GST_OBJECT_LOCK (self);
  GstElement *dec = self->dec, *tf = self->typefind;
  self->dec = self->typefind = NULL;
  GST_OBJECT_UNLOCK (self);
  gst_ghost_pad_set_target (GST_GHOST_PAD (self->srcpad), NULL);
  for (GstElement *e : {dec, tf}) {
    if (e != NULL) {
      gst_element_set_state (e, GST_STATE_NULL);
      gst_bin_remove (GST_BIN (self), e);
    }
  }
}

static void
gst_aes_stream_decryptor_init (GstAesStreamDecryptor *self)
{
  self->peek = gst_element_factory_make ("typefind", "peek");
  GstPad *sink;
  if (self->peek != NULL) {
    gst_bin_add (GST_BIN (self), self->peek);
    GstPad *target = gst_element_get_static_pad (self->peek, "sink");
    sink = gst_ghost_pad_new_from_template (
        "sink", target, gst_static_pad_template_get (&sink_template));
    gst_object_unref (target);
    g_signal_connect (self->peek, "have-type", G_CALLBACK (have_type), self);
  } else {
    sink = gst_ghost_pad_new_no_target_from_template (
        "sink", gst_static_pad_template_get (&sink_template));
  }
  gst_element_add_pad (GST_ELEMENT (self), sink);
  self->srcpad = gst_ghost_pad_new_no_target_from_template (
      "src", gst_static_pad_template_get (&src_template));
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);
}

static GstStateChangeReturn
gst_aes_stream_decryptor_change_state (
    GstElement *element, GstStateChange transition)
{
  GstAesStreamDecryptor *self = GST_AES_STREAM_DECRYPTOR (element);
  if (transition == GST_STATE_CHANGE_NULL_TO_READY && self->peek == NULL) {
    GST_ELEMENT_ERROR (self, CORE, MISSING_PLUGIN,
        ("aesstreamdecryptor needs typefind (GStreamer core), which is "
         "missing."),
        (NULL));
    return GST_STATE_CHANGE_FAILURE;
  }
  GstStateChangeReturn ret
      = GST_ELEMENT_CLASS (gst_aes_stream_decryptor_parent_class)
            ->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    unplug_decoder (self);
  return ret;
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
