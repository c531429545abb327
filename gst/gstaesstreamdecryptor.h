/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_AES_STREAM_DECRYPTOR (gst_aes_stream_decryptor_get_type ())
G_DECLARE_FINAL_TYPE (GstAesStreamDecryptor, gst_aes_stream_decryptor, GST,
    AES_STREAM_DECRYPTOR, GstBin)

GST_ELEMENT_REGISTER_DECLARE (aesstreamdecryptor);

G_END_DECLS
