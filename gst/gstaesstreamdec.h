/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "gstaesstreambase.h"

G_BEGIN_DECLS

#define GST_TYPE_AES_STREAM_DEC (gst_aes_stream_dec_get_type ())
G_DECLARE_FINAL_TYPE (
    GstAesStreamDec, gst_aes_stream_dec, GST, AES_STREAM_DEC, GstAesStreamBase)

GST_ELEMENT_REGISTER_DECLARE (aesdec);

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

/* aesdec mode=gcm: which authentic streams are output (several senders on
 * one port, a restarted sender). */
typedef enum
{
  GST_AES_STREAM_STREAMS_FOLLOW_ONE = 0,
  GST_AES_STREAM_STREAMS_NEWEST = 1,
  GST_AES_STREAM_STREAMS_ALL = 2,
} GstAesStreamStreams;

#define GST_TYPE_AES_STREAM_STREAMS (gst_aes_stream_streams_get_type ())
GType gst_aes_stream_streams_get_type (void);

G_END_DECLS
