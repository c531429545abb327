/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "gstaesstreambase.h"

G_BEGIN_DECLS

#define GST_TYPE_AES_STREAM_ENC (gst_aes_stream_enc_get_type ())
G_DECLARE_FINAL_TYPE (
    GstAesStreamEnc, gst_aes_stream_enc, GST, AES_STREAM_ENC, GstAesStreamBase)

GST_ELEMENT_REGISTER_DECLARE (aesenc);

G_END_DECLS
