// Random access for the elements: what aesenc does when a muxer rewrites
// earlier bytes, and how aesdec seeks (push mode: byte seeks and queries
// translated; pull mode: getrange served from the translated ciphertext
// range). GStreamer glue only: every offset and every "can this mode do it"
// comes from the codec (codec.hpp), so any positionable StreamCodec (CTR,
// ECB, CBC, gcm-file) plugs in without a switch on the mode here.
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "codec.hpp"

namespace aesstream {

// Asked before the element's stream is configured: whether its settings,
// as they are, make a codec that can be positioned (aesdec's SCHEDULING
// answer comes before start).
using CanSeekFn = std::function<bool ()>;
// Configures the element's stream now (pull mode has no first buffer to do
// it); false after it posted an error.
using ConfigureFn = std::function<bool ()>;

// The user-facing list of what can record through a rewriting muxer; used
// in errors and warnings (docs/recording.md has the table).
extern const char kRewriteAdvice[];

// aesenc: follows BYTES segments that jump (a muxer patching what it wrote).
// Owned by the element's stream state; everything runs in the streaming
// thread except seeking_query(), which only reads the snapshot it was
// given at start.
class EncoderRewrites {
public:
  void start ()
  {
    warned_ = false;
    reset ();
  }
  // A new stream (start, FLUSH_STOP).
  void reset ()
  {
    position_ = 0;
    any_input_ = false;
  }

  // Every buffer's plaintext size, before it is encrypted.
  void consumed (size_t n)
  {
    position_ += n;
    any_input_ = true;
  }

  // A SEGMENT event from upstream. Returns the event to push downstream
  // (the same one, or a copy shifted to stream offsets), or null after
  // posting an error (the codec cannot encrypt at that offset).
  GstEvent *segment (GstElement *element, GstEvent *event, StreamCodec *codec);

  // The SEEKING query from upstream (a muxer asking whether it may
  // rewrite), `can_seek` saying whether this configuration's codec can
  // follow. Returns false when the query should be forwarded unchanged.
  bool seeking_query (GstElement *element, GstQuery *query, bool can_seek);

private:
  uint64_t position_ = 0;  // plaintext offset of the next input byte
  bool any_input_ = false; // a buffer went through (the prefix went out)
  bool warned_ = false;
};

// aesdec: byte seeks, queries and pull mode.
class DecoderRandomAccess {
public:
  // Once, at instance init.
  void init (GstElement *element, GstPad *sinkpad, GstPad *srcpad,
      CanSeekFn can_seek, ConfigureFn configure);
  // When the element's stream is configured: codecs for random access from
  // the same settings (one for seek arithmetic, one for pull mode). And
  // when it stops.
  void start (const CodecConfig &config);
  void stop ();

  // -- push mode --------------------------------------------------------
  // The map codec learns the stream's prefix (header, serialized IV) from
  // the same bytes as the element's codec, so that seeks can be translated
  // in the application's thread without touching the streaming codec.
  bool wants_prefix () const
  {
    return prefix_wanted_.load (std::memory_order_relaxed);
  }
  void feed_prefix (const uint8_t *data, size_t n);
  // A SEEK event on the src pad. Returns true if handled (result in *ok).
  bool src_event (GstEvent *event, gboolean *ok);
  // A query on the src pad. Returns true if answered here.
  bool src_query (GstQuery *query, gboolean *ok);
  // A SEGMENT event from upstream: positions the streaming codec and
  // returns the plaintext segment to push, or null after posting an error.
  GstEvent *segment (GstEvent *event, StreamCodec *codec);
  // Plaintext offset of the next output byte in push mode.
  // (Written by the streaming thread only; relaxed atomics so that the
  // POSITION query may read it from another thread: plain moves on x86.)
  uint64_t position () const
  {
    return position_.load (std::memory_order_relaxed);
  }
  void advance (size_t n)
  {
    position_.store (position () + n, std::memory_order_relaxed);
  }
  // Every input buffer's size; true when it ends the encrypted input (its
  // size is known from upstream). The element then finishes its codec
  // right away instead of at EOS: a block mode holds its last block back
  // until the end, and a demuxer that seeks when it sees those last bytes
  // (matroskademux after reading the cues) must see them while the buffer
  // is pushed, not while EOS is (a seek from inside EOS handling leaves
  // an upstream queue paused).
  bool input_ends (size_t n)
  {
    input_pos_ += n;
    return input_size_ >= 0 && input_pos_ >= static_cast<uint64_t> (input_size_)
           && input_still_ends ();
  }

  // -- pull mode --------------------------------------------------------
  // Whether this configuration can serve getrange (asked by the
  // SCHEDULING query before activation).
  bool can_seek () const;
  GstFlowReturn getrange (uint64_t offset, guint length, GstBuffer **buffer);

private:
  struct Pending
  {
    bool active = false;
    uint64_t target = 0; // plaintext offset asked for
    uint64_t input = 0;  // stream offset asked of upstream
    int64_t stop = -1;   // plaintext stop, -1 = none
  };

  bool map_ready_locked ();
  bool upstream_size (uint64_t *size);
  bool plain_size_locked (StreamCodec &codec, uint64_t *size, Problem *p);
  uint64_t plain_for_stream (const StreamCodec &codec, uint64_t offset) const;
  GstFlowReturn pull_codec_locked (Problem *p);
  GstFlowReturn decode_range (StreamCodec &codec, uint64_t offset,
      uint64_t length, GstBuffer **buffer, Problem *p);
  void refuse (const std::string &why);

  GstElement *element_ = nullptr;
  GstPad *sinkpad_ = nullptr;
  GstPad *srcpad_ = nullptr;
  CanSeekFn can_seek_fn_;
  ConfigureFn configure_fn_;
  std::atomic<bool> configured_{false};

  // Push mode: the map codec (seek arithmetic, behind map_lock_) and what
  // the streaming thread keeps.
  std::mutex map_lock_;
  std::unique_ptr<StreamCodec> map_;
  Problem map_problem_;
  bool can_seek_ = false;
  std::atomic<bool> prefix_wanted_{false};
  uint64_t prefix_fed_ = 0;
  Pending pending_;
  std::atomic<uint64_t> position_{0};
  uint64_t input_pos_ = 0;  // stream offset of the next input byte
  int64_t input_size_ = -1; // size of the encrypted input, -1 unknown
  void input_from (uint64_t offset);
  bool input_still_ends ();

  // Pull mode: a codec of its own, positioned for every request.
  std::mutex pull_lock_;
  std::unique_ptr<StreamCodec> pull_;       // prefix read, sizes known
  std::unique_ptr<StreamCodec> pull_spare_; // from start, not yet prepared
  uint64_t stream_size_ = 0;
  uint64_t plain_size_ = 0;
};

} // namespace aesstream
