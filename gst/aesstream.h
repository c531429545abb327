/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The aesstream plugin linked statically into an application
 * (meson setup -Ddefault_library=static; pkg-config gstaesstream-1.0).
 *
 *   #include <gst/aesstream/aesstream.h>
 *   gst_init (&argc, &argv);
 *   gst_plugin_aesstream_register ();
 *   ... gst_element_factory_make ("aesstreamenc", NULL) ...
 *
 * A statically registered plugin is registered in this process only and
 * after the registry was loaded, so its aesenc/aesdec replace any other
 * plugin's elements of those names here; aesstreamenc/aesstreamdec are
 * ours in any case.
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* Registers the plugin's elements (aesenc, aesdec, aesstreamenc,
 * aesstreamdec) and its typefinder. Call once, after gst_init(). */
void gst_plugin_aesstream_register (void);

G_END_DECLS
