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

static gboolean
plugin_init (GstPlugin *plugin)
{
  gboolean ok = GST_ELEMENT_REGISTER (aesenc, plugin);
  ok = GST_ELEMENT_REGISTER (aesdec, plugin) && ok;
  return ok;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, aesstream,
    "AES stream encryption and decryption (OpenSSL EVP)", plugin_init,
    PACKAGE_VERSION, "LGPL", PACKAGE, PACKAGE_ORIGIN)
