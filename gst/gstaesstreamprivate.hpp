/* Internal to the plugin (C++): what the shared base class hands its two
 * elements, and the helpers both use on the streaming thread. */
#pragma once

#include "gstaesstreambase.h"

#include <array>
#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "codec.hpp"

/* The settings of one stream: a snapshot taken when the stream needs them
 * (its first buffer), checked, with the key loaded. The stream never looks
 * at the properties again. */
struct _GstAesStreamSnapshot
{
  aesstream::Mode mode = aesstream::Mode::kCtr;
  /* No `mode`, but gst-plugins-bad's properties: their AES-CBC, with their
   * buffer behaviour (one output per input, serialized IV in the first
   * buffer, an empty stream stays empty); aesdec also refuses input that
   * cannot be CBC, naming mode=ctr. */
  bool compat = false;
  bool encrypt = true;
  aesstream::SecureBytes key;
  std::optional<std::array<uint8_t, aesstream::kBlockSize>> iv;
  bool serialize_iv = false;
  bool per_buffer_padding = true;
  /* Whether `mode` was set; aesdec detects the format when it was not
   * (and no iv/cipher says otherwise). */
  bool mode_set = true;

  /* What make_codec() needs; points at this snapshot's key. */
  aesstream::CodecConfig codec_config () const
  {
    aesstream::CodecConfig c;
    c.mode = mode;
    c.encrypt = encrypt;
    c.key = &key;
    c.iv = iv;
    c.serialize_iv = serialize_iv;
    c.per_buffer_padding = per_buffer_padding;
    return c;
  }
};

/* Whether the settings as they are now would make a codec that can be
 * positioned (aesdec: offer pull mode; aesenc: let a muxer rewrite), for
 * the queries that ask before the stream is configured. Posts nothing; the
 * stream's configuration reports what is wrong with the settings. */
bool gst_aes_stream_base_settings_can_seek (GstAesStreamBase *self);

/* Whether the codec `snap` makes can be positioned. Depends on the mode and
 * its options, not on the key, which may not be known yet: a zero key of
 * AES-128's size stands in (the codec is only asked, never used). */
bool gst_aes_stream_snapshot_can_seek (GstAesStreamSnapshot snap);

/* Posts a codec's problem as an element error. A macro, so that the error
 * is logged in the calling element's debug category. */
#define GST_AES_STREAM_POST_PROBLEM(el, problem)                               \
  G_STMT_START                                                                 \
  {                                                                            \
    const aesstream::Problem &p_ = (problem);                                  \
    switch (p_.kind) {                                                         \
      case aesstream::Problem::Kind::kSettings:                                \
        GST_ELEMENT_ERROR (                                                    \
            el, RESOURCE, SETTINGS, ("%s", p_.message.c_str ()), (NULL));      \
        break;                                                                 \
      case aesstream::Problem::Kind::kLibrary:                                 \
        GST_ELEMENT_ERROR (                                                    \
            el, LIBRARY, FAILED, ("%s", p_.message.c_str ()), (NULL));         \
        break;                                                                 \
      case aesstream::Problem::Kind::kLimit:                                   \
        GST_ELEMENT_ERROR (                                                    \
            el, STREAM, ENCODE, ("%s", p_.message.c_str ()), (NULL));          \
        break;                                                                 \
      default:                                                                 \
        GST_ELEMENT_ERROR (                                                    \
            el, STREAM, DECRYPT, ("%s", p_.message.c_str ()), (NULL));         \
        break;                                                                 \
    }                                                                          \
  }                                                                            \
  G_STMT_END

/* The flags of a property that may change until the element is READY. */
constexpr GParamFlags GST_AES_STREAM_PARAM_RW_READY = static_cast<GParamFlags> (
    G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);

/* Maps a buffer for the codec and unmaps it when it goes out of scope. A
 * buffer of one memory (the usual case) is mapped through that memory,
 * which skips gst_buffer_map's bookkeeping on the hot path. */
class GstAesStreamBufferMap {
public:
  GstAesStreamBufferMap (GstBuffer *buf, GstMapFlags flags) : buf_ (buf)
  {
    if (gst_buffer_n_memory (buf) == 1) {
      mem_ = gst_buffer_peek_memory (buf, 0);
      ok_ = gst_memory_map (mem_, &info_, flags);
      if (ok_)
        return;
      /* A memory shared with another buffer (a region of a bigger one)
       * refuses write access; gst_buffer_map swaps in a private copy. */
      mem_ = nullptr;
    }
    ok_ = gst_buffer_map (buf, &info_, flags);
  }
  ~GstAesStreamBufferMap () { unmap (); }
  GstAesStreamBufferMap (const GstAesStreamBufferMap &) = delete;
  GstAesStreamBufferMap &operator= (const GstAesStreamBufferMap &) = delete;

  void unmap ()
  {
    if (!ok_)
      return;
    if (mem_)
      gst_memory_unmap (mem_, &info_);
    else
      gst_buffer_unmap (buf_, &info_);
    ok_ = false;
  }
  bool ok () const { return ok_; }
  guint8 *data () const { return info_.data; }
  gsize size () const { return info_.size; }

private:
  GstBuffer *buf_;
  GstMemory *mem_ = nullptr;
  /* Left uninitialised: a successful map fills it and nothing reads it
   * otherwise (zeroing its 104 bytes cost a fifth of a map). */
  GstMapInfo info_;
  bool ok_ = false;
};

/* Whether the codec may write over `buf`: no one else holds the buffer.
 * A buffer of one memory (the usual case) is not asked about its memory
 * here: the write mapping asks (GstAesStreamBufferMap). A memory that
 * cannot be written as it is (in another buffer too, READONLY, a region
 * of a bigger buffer) refuses it, and gst_buffer_map gives the buffer a
 * private copy to work on: the bytes others see stay as they are, at the
 * cost of a copy, which a new output buffer would cost too. Checking the
 * memory here as well (gst_buffer_is_all_memory_writable, or
 * gst_memory_is_writable, which also checks its buffer) would cost every
 * buffer two more locked instructions and a call for that rare case.
 * Several memories: all must be writable (else a new output buffer), as
 * gst_buffer_map would merge them into a copy. */
inline bool
gst_aes_stream_base_writable_in_place (GstBuffer *buf)
{
  if (!gst_buffer_is_writable (buf))
    return false;
  return G_LIKELY (gst_buffer_n_memory (buf) == 1)
         || gst_buffer_is_all_memory_writable (buf);
}

/* A new output buffer of `out_size` bytes (downstream's pool or allocator)
 * with the input's timestamps and flags; posts an error when there is
 * none. */
GstFlowReturn gst_aes_stream_base_new_output (GstBaseTransform *trans,
    GstBuffer *inbuf, gsize out_size, GstBuffer **outbuf);

/* prepare_output_buffer for both elements' byte-stream codecs: the input
 * itself when the codec may work in place and the input is writable (no
 * copy, no allocation), else a buffer of the most the codec may write. The
 * size is asked for only then: in place, the input's size is not needed
 * (gst_buffer_get_size and the codec's max_output are a call each, on
 * every buffer). */
inline GstFlowReturn
gst_aes_stream_base_prepare_output (GstBaseTransform *trans,
    aesstream::StreamCodec &codec, GstBuffer *inbuf, GstBuffer **outbuf)
{
  if (codec.in_place_ok () && gst_aes_stream_base_writable_in_place (inbuf)) {
    *outbuf = inbuf;
    return GST_FLOW_OK;
  }
  return gst_aes_stream_base_new_output (
      trans, inbuf, codec.max_output (gst_buffer_get_size (inbuf)), outbuf);
}

/* Runs a byte-stream codec over one buffer: maps both buffers, processes,
 * and trims `outbuf` to what the codec wrote. Sets `*in_size` to the
 * input's size (known from its mapping: no gst_buffer_get_size). */
aesstream::Problem gst_aes_stream_base_process (aesstream::StreamCodec &codec,
    GstBuffer *inbuf, GstBuffer *outbuf, aesstream::StreamCodec::Output *r,
    gsize *in_size);

/* Replaces `buf`'s memory with one holding `before`, its bytes, then
 * `after`: every buffer the elements output is one flat memory. (A buffer
 * of several memories costs downstream a merge when it maps it, and
 * GStreamer 1.22's filesink loses bytes when the 1024 memories it writes at
 * once end inside such a buffer: docs/elements.md.) For the few bytes a
 * stream adds once (a header, a last block); false if allocation failed. */
bool gst_aes_stream_base_join_flat (GstBuffer *buf, const guint8 *before,
    gsize n_before, const guint8 *after, gsize n_after);

/* Pushes bytes owed at end of stream (a last block, a header, a final
 * record) as a buffer of their own. */
/* For a transform that has nothing to output for this input yet (not a
 * loss): returns GST_BASE_TRANSFORM_FLOW_DROPPED, which the base's
 * generate_output turns into "no buffer" so the next output is not marked
 * DISCONT. */
GstFlowReturn gst_aes_stream_base_nothing_yet (GstAesStreamBase *self);
/* A further output unit of the current input (takes the reference): sent
 * after the buffer transform returns, in order. */
void gst_aes_stream_base_queue_unit (GstAesStreamBase *self, GstBuffer *unit);
/* At a flush: units not sent yet belong to the old stream. */
void gst_aes_stream_base_drop_pending_units (GstAesStreamBase *self);
void gst_aes_stream_base_push_bytes (GstAesStreamBase *self, const guint8 *data,
    gsize size, GstBufferFlags flags);

/* The flag gst_aes_stream_base_key_changed reads (load it with acquire
 * order), for an element that tests it on every buffer without a call.
 * Lives as long as the instance. */
const std::atomic<bool> &gst_aes_stream_base_key_flag (GstAesStreamBase *self);

/* Key rotation: takes the keys set while the stream runs (after
 * gst_aes_stream_base_key_changed), oldest first. True with the keys; false
 * with the reason (for the user, never the key) when a value given was not
 * a valid key: the element then stops with an error rather than go on
 * under the key it was asked to replace. */
bool gst_aes_stream_base_take_new_keys (GstAesStreamBase *self,
    std::vector<aesstream::SecureBytes> *keys, std::string *error);
