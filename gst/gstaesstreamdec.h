/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "gstaesstreambase.h"

G_BEGIN_DECLS

#define GST_TYPE_AES_STREAM_DEC (gst_aes_stream_dec_get_type ())
G_DECLARE_FINAL_TYPE (
    GstAesStreamDec, gst_aes_stream_dec, GST, AES_STREAM_DEC, GstAesStreamBase)

GST_ELEMENT_REGISTER_DECLARE (aesdec);

G_END_DECLS
