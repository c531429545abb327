/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Example: encrypt or decrypt a file with aesenc/aesdec from C.
 *
 *   aesstream-file encrypt KEYFILE IN OUT   # AES-CTR, random IV in a header
 *   aesstream-file decrypt KEYFILE IN OUT
 *
 * Set AESSTREAM_ELEMENTS=aesstream to use the unambiguous names
 * aesstreamenc/aesstreamdec instead of aesenc/aesdec.
 *
 * Builds `filesrc ! aesenc ! filesink` (or aesdec), runs it to EOS and
 * reports errors from the bus: a bad key file or a wrong key ends with the
 * element's message and exit status 1. Built by Meson and run by
 * tests/test_examples.py.
 */
#include <gst/gst.h>
#include <string.h>

/* gst-plugins-bad also has elements named aesenc/aesdec (CBC only, no
 * key-file: setting it there is ignored and it encrypts under an all-zero
 * key). Never use an element without checking it is ours. */
static gboolean
is_aesstream_element (GstElement *el)
{
  GstElementFactory *f = gst_element_get_factory (el);
  const gchar *plugin
      = f ? gst_plugin_feature_get_plugin_name (GST_PLUGIN_FEATURE (f)) : NULL;
  return g_strcmp0 (plugin, "aesstream") == 0;
}

static int
run_pipeline (
    const char *element, const char *keyfile, const char *in, const char *out)
{
  GstElement *pipeline = gst_pipeline_new ("pipeline");
  GstElement *src = gst_element_factory_make ("filesrc", NULL);
  GstElement *cipher = gst_element_factory_make (element, NULL);
  GstElement *sink = gst_element_factory_make ("filesink", NULL);
  int status = 0;

  if (!pipeline || !src || !cipher || !sink) {
    g_printerr ("missing elements (is the aesstream plugin installed?)\n");
    return 1;
  }
  if (!is_aesstream_element (cipher)) {
    g_printerr ("%s is not the aesstream plugin's element here (another "
                "plugin, e.g. gst-plugins-bad, provides it): stopping. Use "
                "aesstreamenc/aesstreamdec, or see README \"Which aesenc do I "
                "get?\"\n",
        element);
    return 1;
  }
  g_object_set (src, "location", in, NULL);
  g_object_set (sink, "location", out, NULL);
  /* A key file keeps the key out of the process list. */
  g_object_set (cipher, "key-file", keyfile, NULL);

  gst_bin_add_many (GST_BIN (pipeline), src, cipher, sink, NULL);
  gst_element_link_many (src, cipher, sink, NULL);

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered (
      bus, GST_CLOCK_TIME_NONE, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err = NULL;
    gchar *debug = NULL;
    gst_message_parse_error (msg, &err, &debug);
    g_printerr ("%s failed: %s\n", element, err->message);
    g_clear_error (&err);
    g_free (debug);
    status = 1;
  }
  gst_message_unref (msg);
  gst_object_unref (bus);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  return status;
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  if (argc != 5
      || (strcmp (argv[1], "encrypt") && strcmp (argv[1], "decrypt"))) {
    g_printerr ("usage: %s encrypt|decrypt KEYFILE IN OUT\n", argv[0]);
    return 2;
  }
  /* gst-plugins-bad also has elements named aesenc/aesdec. Loading our
   * plugin registers its elements last, so they win in this process. */
  GstPlugin *plugin = gst_plugin_load_by_name ("aesstream");
  if (plugin == NULL) {
    g_printerr ("the aesstream plugin was not found\n");
    return 1;
  }
  gst_object_unref (plugin);

  gboolean encrypt = strcmp (argv[1], "encrypt") == 0;
  gboolean unambiguous
      = g_strcmp0 (g_getenv ("AESSTREAM_ELEMENTS"), "aesstream") == 0;
  const char *element = unambiguous
                            ? (encrypt ? "aesstreamenc" : "aesstreamdec")
                            : (encrypt ? "aesenc" : "aesdec");
  int status = run_pipeline (element, argv[2], argv[3], argv[4]);
  if (status == 0)
    g_print ("%sed %s -> %s\n", argv[1], argv[3], argv[4]);
  return status;
}
