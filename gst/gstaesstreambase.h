/* GstAesStreamBase: what aesenc and aesdec really share: the settings
 * (properties, validation, key loading), buffer mapping and output
 * allocation. Abstract; each element owns its direction (codec, prefix,
 * events, end of stream): see gstaesstreamenc.cpp and gstaesstreamdec.cpp. */
#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_AES_STREAM_BASE (gst_aes_stream_base_get_type ())
G_DECLARE_DERIVABLE_TYPE (GstAesStreamBase, gst_aes_stream_base, GST,
    AES_STREAM_BASE, GstBaseTransform)

/* The checked settings of one stream (gstaesstreamprivate.hpp). */
typedef struct _GstAesStreamSnapshot GstAesStreamSnapshot;

struct _GstAesStreamBaseClass
{
  GstBaseTransformClass parent_class;
  /* TRUE for aesenc, FALSE for aesdec; set in class_init. */
  gboolean encrypt;
  /* The element's debug category; the shared code logs there too, so that
   * everything an element does shows under its own name. */
  GstDebugCategory *debug;
  /* The stream needs its settings (first buffer, or EOS of an empty
   * stream; see gst_aes_stream_base_ensure_configured): they were frozen
   * and checked and the key loaded; build the stream's state (its codec)
   * from them, or post an error and fail. Called on the streaming thread. */
  gboolean (*start_stream) (
      GstAesStreamBase *self, const GstAesStreamSnapshot *settings);
  /* stop(): drop every piece of the stream's state. */
  void (*stop_stream) (GstAesStreamBase *self);
};

typedef enum
{
  GST_AES_STREAM_MODE_CTR = 0,
  GST_AES_STREAM_MODE_ECB = 1,
  GST_AES_STREAM_MODE_CBC = 2,
  GST_AES_STREAM_MODE_GCM = 3,
  GST_AES_STREAM_MODE_GCM_FILE = 4,
} GstAesStreamMode;

#define GST_TYPE_AES_STREAM_MODE (gst_aes_stream_mode_get_type ())
GType gst_aes_stream_mode_get_type (void);

/* gst-plugins-bad's `cipher` values (same numbers and nicks as its
 * GstAesCipher, under a GType name of our own), plus AES-192. */
typedef enum
{
  GST_AES_STREAM_CIPHER_AES_128_CBC = 0,
  GST_AES_STREAM_CIPHER_AES_256_CBC = 1,
  GST_AES_STREAM_CIPHER_AES_192_CBC = 2,
} GstAesStreamCipher;

#define GST_TYPE_AES_STREAM_CIPHER (gst_aes_stream_cipher_get_type ())
GType gst_aes_stream_cipher_get_type (void);

/* Registers an enum GType once, thread-safely. */
GType gst_aes_stream_register_enum (
    GType *type, const gchar *name, const GEnumValue *values);

/* The caps aesenc puts on ciphertext; aesdec reads them. */
#define GST_AES_STREAM_ENCRYPTED_CAPS_NAME "application/x-aes-encrypted"

/* The configured mode as its lower-case name ("ctr"), as caps carry it. */
const gchar *gst_aes_stream_base_mode_name (GstAesStreamBase *self);

/* The late-configuration point, for the elements' EOS handling (the base
 * class calls it before every buffer): the first call freezes and checks
 * the settings and has the element build its stream (start_stream).
 * FALSE when that failed (an error was posted). */
gboolean gst_aes_stream_base_ensure_configured (GstAesStreamBase *self);

/* Whether the settings are frozen (the stream has started). Streaming
 * thread only. */
gboolean gst_aes_stream_base_is_configured (GstAesStreamBase *self);

/* For a subclass's own properties: TRUE (after a warning on the bus) if the
 * stream has started and the change must be refused. Call it with the
 * object lock NOT held. */
gboolean gst_aes_stream_base_refuse_while_running (
    GstAesStreamBase *self, GParamSpec *pspec);

/* Key rotation (mode=gcm): whether a key or key-file was set while the
 * stream runs and waits for the element (one atomic load; streaming
 * thread, once per record). */
gboolean gst_aes_stream_base_key_changed (GstAesStreamBase *self);

G_END_DECLS
