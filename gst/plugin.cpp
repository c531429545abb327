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
#include "gstaesstreamenc.h"

#include <string.h>

/* Recognises this plugin's formats (docs/format.md), so that typefind and
 * decodebin say "AES-encrypted" instead of "unknown type". */
static void
aesstream_type_find (GstTypeFind *tf, gpointer user_data)
{
  const guint8 *h = gst_type_find_peek (tf, 0, 8);
  if (h == NULL)
    return;
  /* The CTR stream header: magic, version 1, mode, key length, size 32. */
  if (memcmp (h, "AESs\x01", 5) == 0 && (h[6] == 16 || h[6] == 24 || h[6] == 32)
      && h[7] == 32) {
    gst_type_find_suggest_simple (tf, GST_TYPE_FIND_MAXIMUM,
        "application/x-aes-encrypted", "mode", G_TYPE_STRING,
        h[5] == 1 ? "ctr" : "unknown", NULL);
    return;
  }
  /* GCM records: "Ag", version 1, flags; a second record right after the
   * first makes it certain. */
  if (h[0] == 'A' && h[1] == 'g' && h[2] == 1 && h[3] <= 1) {
    guint64 next = 40 + GST_READ_UINT32_BE (h + 4);
    const guint8 *h2 = gst_type_find_peek (tf, next, 4);
    gboolean second = h2 != NULL && h2[0] == 'A' && h2[1] == 'g' && h2[2] == 1;
    gst_type_find_suggest_simple (tf,
        second ? GST_TYPE_FIND_MAXIMUM : GST_TYPE_FIND_POSSIBLE,
        "application/x-aes-encrypted", "mode", G_TYPE_STRING, "gcm", NULL);
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
