/* GstAesStreamBase: what aesenc and aesdec share (properties, key handling,
 * per-stream state, buffer processing). Abstract; see gstaesstreamenc.cpp and
 * gstaesstreamdec.cpp for the elements. */
#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_AES_STREAM_BASE (gst_aes_stream_base_get_type ())
G_DECLARE_DERIVABLE_TYPE (GstAesStreamBase, gst_aes_stream_base, GST,
    AES_STREAM_BASE, GstBaseTransform)

struct _GstAesStreamBaseClass
{
  GstBaseTransformClass parent_class;
  /* TRUE for aesenc, FALSE for aesdec; set in class_init. */
  gboolean encrypt;
};

typedef enum
{
  GST_AES_STREAM_MODE_CTR = 0,
  GST_AES_STREAM_MODE_ECB = 1,
  GST_AES_STREAM_MODE_CBC = 2,
  GST_AES_STREAM_MODE_GCM = 3,
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

/* aesdec mode=gcm: what happens to a record that is not accepted. */
typedef enum
{
  GST_AES_STREAM_INVALID_RECORDS_AUTO = 0,
  GST_AES_STREAM_INVALID_RECORDS_ERROR = 1,
  GST_AES_STREAM_INVALID_RECORDS_DROP = 2,
} GstAesStreamInvalidRecords;

#define GST_TYPE_AES_STREAM_INVALID_RECORDS                                    \
  (gst_aes_stream_invalid_records_get_type ())
GType gst_aes_stream_invalid_records_get_type (void);

/* Installs aesdec's GCM properties (invalid-records and the read-only
 * record counters) on a subclass. */
void gst_aes_stream_base_install_decoder_properties (GObjectClass *klass);

/* The caps aesenc puts on ciphertext; aesdec reads them. */
#define GST_AES_STREAM_ENCRYPTED_CAPS_NAME "application/x-aes-encrypted"

/* The configured mode as its lower-case name ("ctr"), as caps carry it. */
const gchar *gst_aes_stream_base_mode_name (GstAesStreamBase *self);

G_END_DECLS
