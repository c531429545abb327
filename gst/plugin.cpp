/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The aesstream plugin: aesenc and aesdec. Named aesstream (not aes) so that
 * it can sit beside gst-plugins-bad's aes plugin; see README "Which aesenc
 * do I get?" for how the shared element names are resolved.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstaesstreamdec.h"
#include "gstaesstreamdecryptor.h"
#include "gstaesstreamenc.h"

#include <string.h>

#include <string>

#include "probe.hpp"

/* Recognises this plugin's formats (docs/format.md) with the core's probe
 * (the same code that aesdec and aesstream-info use), so that typefind and
 * decodebin say "AES-encrypted" instead of "unknown type", and decodebin
 * can plug the decryptor. */
static void
aesstream_type_find (GstTypeFind *tf, gpointer user_data)
{
  /* The longest header first; a stream may be shorter (an empty CTR
   * recording is its 32-byte header alone). */
  const size_t sizes[]
      = {aesstream::kProbeSize, 32, aesstream::GcmRecord::kHeaderSize};
  for (size_t n : sizes) {
    const guint8 *h = gst_type_find_peek (tf, 0, n);
    if (h == NULL)
      continue;
    aesstream::StreamInfo info;
    std::string error;
    if (aesstream::probe_stream (h, n, &info, &error)
        != aesstream::ProbeResult::kMatch)
      return;
    guint probability = GST_TYPE_FIND_MAXIMUM;
    if (info.format == aesstream::StreamFormat::kGcmRecords) {
      /* Four bytes of magic are not much: a second record right after
       * the first makes it certain. */
      guint64 next
          = aesstream::GcmRecord::kOverhead + GST_READ_UINT32_BE (h + 4);
      const guint8 *h2 = gst_type_find_peek (tf, next, 4);
      gboolean second
          = h2 != NULL && h2[0] == 'A' && h2[1] == 'g' && h2[2] == 1;
      probability = second ? GST_TYPE_FIND_MAXIMUM : GST_TYPE_FIND_POSSIBLE;
    }
    /* The key id (formats that carry one) lets a player's decryptor find
     * the key before it has seen a byte itself. */
    GstCaps *caps = gst_caps_new_simple (GST_AES_STREAM_ENCRYPTED_CAPS_NAME,
        "mode", G_TYPE_STRING, info.mode, NULL);
    if (info.has_key_id) {
      std::string id
          = aesstream::to_hex (info.key_id.data (), info.key_id.size ());
      gst_caps_set_simple (caps, "key-id", G_TYPE_STRING, id.c_str (), NULL);
    }
    gst_type_find_suggest (tf, probability, caps);
    gst_caps_unref (caps);
    return;
  }
}

static gboolean
plugin_init (GstPlugin *plugin)
{
  gboolean ok = GST_ELEMENT_REGISTER (aesenc, plugin);
  ok = GST_ELEMENT_REGISTER (aesdec, plugin) && ok;
  /* The same elements under names nobody else uses: gst-plugins-bad's aes
   * plugin also has aesenc/aesdec, and which one a process gets depends on
   * the registry (README "Which aesenc do I get?"); aesstreamenc and
   * aesstreamdec are always ours. */
  ok = gst_element_register (
           plugin, "aesstreamenc", GST_RANK_NONE, GST_TYPE_AES_STREAM_ENC)
       && ok;
  ok = gst_element_register (
           plugin, "aesstreamdec", GST_RANK_NONE, GST_TYPE_AES_STREAM_DEC)
       && ok;
  /* What decodebin/playbin plug for our formats (and only for them). */
  ok = GST_ELEMENT_REGISTER (aesstreamdecryptor, plugin) && ok;
  /* Named after the caps it finds, not after the plugin: a feature called
   * "aesstream" would make `gst-inspect-1.0 aesstream` show the typefinder
   * instead of the plugin. */
  ok = gst_type_find_register (plugin, GST_AES_STREAM_ENCRYPTED_CAPS_NAME,
           GST_RANK_PRIMARY, aesstream_type_find, "aes", NULL, NULL, NULL)
       && ok;
  return ok;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, aesstream,
    "AES stream encryption and decryption (OpenSSL EVP): aesenc/aesdec, "
    "also registered as aesstreamenc/aesstreamdec",
    plugin_init, PACKAGE_VERSION, "LGPL", GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
