// Random access for aesenc and aesdec: see gstaesstreamseek.hpp.
#include "gstaesstreamseek.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <openssl/crypto.h>

namespace aesstream {

const char kRewriteAdvice[]
    = "Record with mode=ctr (the default, or mode=ctr with an iv), which "
      "follows rewrites, or set the muxer so that it never goes back: "
      "matroskamux/webmmux streamable=true, mp4mux/qtmux fragment-duration=N "
      "streamable=true, or use mpegtsmux or oggmux (docs/recording.md).";

namespace {

// A copy of `seg` moved to `start` (position and time follow), with `stop`.
GstEvent *
moved_segment (
    GstEvent *event, const GstSegment *seg, uint64_t start, int64_t stop)
{
  GstSegment moved;
  gst_segment_copy_into (seg, &moved);
  moved.start = start;
  moved.position = start;
  moved.time = start;
  moved.stop = stop < 0 ? GST_CLOCK_TIME_NONE : static_cast<guint64> (stop);
  moved.duration = GST_CLOCK_TIME_NONE;
  GstEvent *out = gst_event_new_segment (&moved);
  gst_event_set_seqnum (out, gst_event_get_seqnum (event));
  gst_event_unref (event);
  return out;
}

} // namespace

// ---------------------------------------------------------------------------
// aesenc

GstEvent *
EncoderRewrites::segment (
    GstElement *element, GstEvent *event, StreamCodec *codec)
{
  const GstSegment *seg;
  gst_event_parse_segment (event, &seg);
  if (seg->format != GST_FORMAT_BYTES || codec == nullptr)
    return event;
  uint64_t start = seg->start;
  int64_t stop = GST_CLOCK_TIME_IS_VALID (seg->stop)
                     ? static_cast<int64_t> (codec->stream_offset (seg->stop))
                     : -1;
  if (start == position_) {
    // The header (if any) still has to go to offset 0, in front of the
    // first ciphertext: leave the muxer's opening segment as it is.
    if (!any_input_)
      return event;
    return moved_segment (event, seg, codec->stream_offset (start), stop);
  }
  // A jump: a muxer going back to patch what it wrote (or forward again).
  Position at;
  Problem p = codec->seek (start, &at);
  if (!p.ok ()) {
    GST_ELEMENT_ERROR (element, STREAM, ENCODE,
        ("%s cannot encrypt what the muxer rewrites at byte %" G_GUINT64_FORMAT
         " (after %" G_GUINT64_FORMAT " bytes): %s. %s",
            GST_ELEMENT_NAME (element), start, position_, p.message.c_str (),
            kRewriteAdvice),
        ("BYTES segment start %" G_GUINT64_FORMAT
         ", stream position %" G_GUINT64_FORMAT,
            start, position_));
    gst_event_unref (event);
    return nullptr;
  }
  GST_DEBUG_OBJECT (element,
      "following a rewrite: plaintext %" G_GUINT64_FORMAT
      " is written at %" G_GUINT64_FORMAT,
      start, at.output);
  position_ = start;
  return moved_segment (event, seg, at.output, stop);
}

bool
EncoderRewrites::seeking_query (
    GstElement *element, GstQuery *query, bool can_seek)
{
  GstFormat format;
  gst_query_parse_seeking (query, &format, nullptr, nullptr, nullptr);
  if (format != GST_FORMAT_BYTES || can_seek)
    return false;
  // Saying "not seekable" makes matroskamux write a streamable file by
  // itself and mp4mux stop before it writes anything, instead of a
  // rewrite that this mode could only refuse at the end of a recording.
  gst_query_set_seeking (query, GST_FORMAT_BYTES, FALSE, 0, -1);
  if (!warned_) {
    warned_ = true;
    GST_ELEMENT_WARNING (element, STREAM, ENCODE,
        ("%s cannot follow a muxer that goes back to rewrite what it wrote "
         "(only mode=ctr can encrypt at an earlier offset), so it told the "
         "muxer that its output is not seekable. %s",
            GST_ELEMENT_NAME (element), kRewriteAdvice),
        (nullptr));
  }
  return true;
}

// ---------------------------------------------------------------------------
// aesdec

void
DecoderRandomAccess::init (GstElement *element, GstPad *sinkpad, GstPad *srcpad,
    CanSeekFn can_seek, ConfigureFn configure)
{
  element_ = element;
  sinkpad_ = sinkpad;
  srcpad_ = srcpad;
  can_seek_fn_ = std::move (can_seek);
  configure_fn_ = std::move (configure);
}

// A stream codec for random access, or null with the reason (modes
// without one: mode=gcm's records).
static std::unique_ptr<StreamCodec>
random_access_codec (const CodecConfig &config, Problem *p)
{
  Codec codec;
  *p = make_codec (config, &codec);
  if (p->ok () && !codec.stream)
    *p = Problem::make (Problem::Kind::kUnsupported,
        std::string ("mode=") + mode_name (config.mode)
            + " records are authenticated one after the other from the "
              "start of the stream; they have no byte positions to seek to");
  return std::move (codec.stream);
}

void
DecoderRandomAccess::start (const CodecConfig &config)
{
  // The stream is configured at its first buffer, after the opening
  // segment: the input's size is learnt here, so that its last byte is
  // recognised (input_ends) from the first stream on.
  uint64_t size;
  const int64_t input_size
      = upstream_size (&size) ? static_cast<int64_t> (size) : -1;
  {
    std::lock_guard<std::mutex> lock (map_lock_);
    map_problem_ = Problem ();
    map_ = random_access_codec (config, &map_problem_);
    can_seek_ = map_ && map_->can_seek ();
    prefix_wanted_ = can_seek_ && map_->prefix_size () > 0;
    prefix_fed_ = 0;
    pending_ = Pending ();
    position_ = 0;
    input_pos_ = 0;
    input_size_ = input_size;
  }
  std::lock_guard<std::mutex> lock (pull_lock_);
  pull_.reset ();
  Problem ignored; // the same as the map codec's
  pull_spare_ = can_seek_ ? random_access_codec (config, &ignored) : nullptr;
  stream_size_ = plain_size_ = 0;
  configured_ = true;
}

void
DecoderRandomAccess::stop ()
{
  {
    std::lock_guard<std::mutex> lock (map_lock_);
    map_.reset ();
    can_seek_ = false;
    prefix_wanted_ = false;
    pending_ = Pending ();
  }
  std::lock_guard<std::mutex> lock (pull_lock_);
  pull_.reset ();
  pull_spare_.reset ();
  configured_ = false;
}

bool
DecoderRandomAccess::can_seek () const
{
  return can_seek_fn_ ();
}

void
DecoderRandomAccess::feed_prefix (const uint8_t *data, size_t n)
{
  std::lock_guard<std::mutex> lock (map_lock_);
  if (!prefix_wanted_ || !map_)
    return;
  size_t take = static_cast<size_t> (
      std::min<uint64_t> (n, map_->prefix_size () - prefix_fed_));
  std::vector<uint8_t> scratch (map_->max_output (take) + 1);
  StreamCodec::Output r;
  // A bad prefix is the element's own codec's to report; the map codec
  // just cannot translate seeks then.
  if (!map_->process (data, take, scratch.data (), &r).ok ())
    can_seek_ = false;
  OPENSSL_cleanse (scratch.data (), scratch.size ());
  prefix_fed_ += take;
  if (prefix_fed_ >= map_->prefix_size ())
    prefix_wanted_ = false;
}

void
DecoderRandomAccess::refuse (const std::string &why)
{
  GST_ELEMENT_WARNING (element_, STREAM, DECRYPT,
      ("%s cannot seek in this stream: %s", GST_ELEMENT_NAME (element_),
          why.c_str ()),
      (nullptr));
}

uint64_t
DecoderRandomAccess::plain_for_stream (
    const StreamCodec &codec, uint64_t offset) const
{
  // The largest plaintext offset whose byte starts at or before `offset`
  // (stream_offset() grows with the plaintext offset; for CTR, ECB and CBC
  // this is offset - prefix, for record formats it is not linear).
  uint64_t lo = 0, hi = offset;
  if (codec.stream_offset (0) > offset)
    return 0;
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo + 1) / 2;
    if (codec.stream_offset (mid) <= offset)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

bool
DecoderRandomAccess::src_event (GstEvent *event, gboolean *ok)
{
  if (GST_EVENT_TYPE (event) != GST_EVENT_SEEK)
    return false;
  gdouble rate;
  GstFormat format;
  GstSeekFlags flags;
  GstSeekType start_type, stop_type;
  gint64 start, stop;
  gst_event_parse_seek (
      event, &rate, &format, &flags, &start_type, &start, &stop_type, &stop);
  if (format != GST_FORMAT_BYTES)
    return false; // TIME seeks are the demuxer's; upstream may know more

  std::string why;
  GstEvent *up = nullptr;
  {
    std::lock_guard<std::mutex> lock (map_lock_);
    Position at;
    if (!map_) {
      why = map_problem_.message.empty () ? "it has no byte positions"
                                          : map_problem_.message;
    } else if (!can_seek_) {
      Problem p = map_->seek (0, &at);
      why = p.message;
    } else if (prefix_wanted_) {
      why = "its first bytes (the stream header) have not been read yet";
    } else if (start_type != GST_SEEK_TYPE_SET || start < 0) {
      why = "only seeks to an absolute byte offset are supported";
    } else {
      Problem p = map_->seek (static_cast<uint64_t> (start), &at);
      if (!p.ok ()) {
        why = p.message;
      } else {
        pending_.active = true;
        pending_.target = static_cast<uint64_t> (start);
        pending_.input = at.input;
        pending_.stop = stop_type == GST_SEEK_TYPE_SET && stop >= 0 ? stop : -1;
        // The stop is applied to the plaintext segment downstream; upstream
        // reads on to its end (a block mode may need the block after it).
        up = gst_event_new_seek (rate, GST_FORMAT_BYTES, flags,
            GST_SEEK_TYPE_SET, static_cast<gint64> (at.input),
            GST_SEEK_TYPE_NONE, -1);
        gst_event_set_seqnum (up, gst_event_get_seqnum (event));
        GST_DEBUG_OBJECT (element_,
            "seek to plaintext %" G_GINT64_FORMAT
            ": upstream from %" G_GUINT64_FORMAT,
            start, at.input);
      }
    }
  }
  gst_event_unref (event);
  if (up == nullptr) {
    refuse (why);
    *ok = FALSE;
    return true;
  }
  // Not under map_lock_: a flushing seek upstream waits for our streaming
  // thread, which takes map_lock_ for the new segment.
  *ok = gst_pad_push_event (sinkpad_, up);
  if (!*ok) {
    std::lock_guard<std::mutex> lock (map_lock_);
    pending_.active = false;
  }
  return true;
}

GstEvent *
DecoderRandomAccess::segment (GstEvent *event, StreamCodec *codec)
{
  const GstSegment *seg;
  gst_event_parse_segment (event, &seg);
  if (seg->format != GST_FORMAT_BYTES || codec == nullptr)
    return event;
  uint64_t s = seg->start;
  uint64_t target = 0;
  int64_t stop = -1;
  std::string why;
  {
    std::lock_guard<std::mutex> lock (map_lock_);
    Position at;
    if (pending_.active && s == pending_.input) {
      target = pending_.target;
      stop = pending_.stop;
      pending_.active = false;
    } else if (s == 0) {
      // A stream from its start (the first one, or upstream restarted): the
      // element's codec expects the prefix again, and so does the map.
      pending_.active = false;
      if (map_ && can_seek_) {
        map_->restart ();
        prefix_wanted_ = map_->prefix_size () > 0;
        prefix_fed_ = 0;
      }
      position_ = 0;
      input_from (0);
      return event;
    } else if (!map_ || !can_seek_ || prefix_wanted_) {
      why = "upstream moved to a byte offset that this stream cannot be "
            "decrypted from (seek through aesdec instead of upstream)";
    } else {
      // Upstream was moved by someone else (a direct seek on the source).
      target = plain_for_stream (*map_, s);
      if (!map_->seek (target, &at).ok () || at.input != s)
        why = "upstream moved to byte " + std::to_string (s)
              + ", which is not a position this mode can decrypt from";
    }
  }
  Position at;
  if (why.empty ()) {
    Problem p = codec->seek (target, &at);
    if (!p.ok ())
      why = p.message;
    else if (at.input != s)
      why = "upstream resumed at byte " + std::to_string (s)
            + " instead of byte " + std::to_string (at.input);
  }
  if (!why.empty ()) {
    GST_ELEMENT_ERROR (element_, STREAM, DECRYPT,
        ("%s cannot continue after a seek: %s", GST_ELEMENT_NAME (element_),
            why.c_str ()),
        ("BYTES segment start %" G_GUINT64_FORMAT, s));
    gst_event_unref (event);
    return nullptr;
  }
  position_ = target;
  input_from (s);
  GST_DEBUG_OBJECT (element_,
      "restarted at plaintext %" G_GUINT64_FORMAT " (stream %" G_GUINT64_FORMAT
      ")",
      target, s);
  return moved_segment (event, seg, target, stop);
}

void
DecoderRandomAccess::input_from (uint64_t offset)
{
  input_pos_ = offset;
  uint64_t size;
  input_size_ = upstream_size (&size) ? static_cast<int64_t> (size) : -1;
}

bool
DecoderRandomAccess::input_still_ends ()
{
  // Asked again: a file that is still being written has grown since.
  input_from (input_pos_);
  return input_size_ >= 0 && input_pos_ >= static_cast<uint64_t> (input_size_);
}

bool
DecoderRandomAccess::upstream_size (uint64_t *size)
{
  gint64 dur = -1;
  if (!gst_pad_peer_query_duration (sinkpad_, GST_FORMAT_BYTES, &dur)
      || dur < 0)
    return false;
  *size = static_cast<uint64_t> (dur);
  return true;
}

bool
DecoderRandomAccess::src_query (GstQuery *query, gboolean *ok)
{
  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_SCHEDULING: {
      // Pull mode is offered where getrange can be served: a positionable
      // mode over an upstream that can be pulled from. Once the stream is
      // configured its own codec answers (a demuxer plugged after
      // typefinding asks again, and a detected GCM stream must stay push).
      bool seekable;
      {
        std::lock_guard<std::mutex> lock (map_lock_);
        seekable = configured_ ? can_seek_ : can_seek ();
      }
      GstQuery *up = gst_query_new_scheduling ();
      gboolean pull = seekable && gst_pad_peer_query (sinkpad_, up)
                      && gst_query_has_scheduling_mode_with_flags (
                          up, GST_PAD_MODE_PULL, GST_SCHEDULING_FLAG_SEEKABLE);
      gst_query_unref (up);
      gst_query_set_scheduling (query,
          pull ? GST_SCHEDULING_FLAG_SEEKABLE : GST_SCHEDULING_FLAG_SEQUENTIAL,
          1, -1, 0);
      if (pull)
        gst_query_add_scheduling_mode (query, GST_PAD_MODE_PULL);
      gst_query_add_scheduling_mode (query, GST_PAD_MODE_PUSH);
      *ok = TRUE;
      return true;
    }
    case GST_QUERY_SEEKING: {
      GstFormat format;
      gst_query_parse_seeking (query, &format, nullptr, nullptr, nullptr);
      if (format != GST_FORMAT_BYTES)
        return false;
      gboolean upstream_seekable = FALSE;
      GstQuery *up = gst_query_new_seeking (GST_FORMAT_BYTES);
      if (gst_pad_peer_query (sinkpad_, up))
        gst_query_parse_seeking (
            up, nullptr, &upstream_seekable, nullptr, nullptr);
      gst_query_unref (up);
      bool seekable;
      {
        std::lock_guard<std::mutex> lock (map_lock_);
        seekable = configured_ ? can_seek_ : can_seek ();
      }
      gint64 end = -1;
      gint64 dur;
      if (gst_pad_query_duration (srcpad_, GST_FORMAT_BYTES, &dur))
        end = dur;
      gst_query_set_seeking (
          query, GST_FORMAT_BYTES, upstream_seekable && seekable, 0, end);
      *ok = TRUE;
      return true;
    }
    case GST_QUERY_DURATION: {
      GstFormat format;
      gst_query_parse_duration (query, &format, nullptr);
      if (format != GST_FORMAT_BYTES)
        return false;
      uint64_t size = 0;
      *ok = FALSE;
      if (GST_PAD_MODE (srcpad_) == GST_PAD_MODE_PULL) {
        if (!configured_ && !configure_fn_ ())
          return true;
        std::lock_guard<std::mutex> lock (pull_lock_);
        Problem p;
        if (pull_ || pull_codec_locked (&p) == GST_FLOW_OK) {
          gst_query_set_duration (query, GST_FORMAT_BYTES, plain_size_);
          *ok = TRUE;
        }
        return true;
      }
      if (!upstream_size (&size))
        return true;
      std::lock_guard<std::mutex> lock (map_lock_);
      if (map_ && can_seek_ && !prefix_wanted_) {
        // Exact where the size alone tells. CBC's padding (1 to 16 bytes)
        // is known at the end only, which push mode cannot read ahead of
        // time: the answer is then the largest possible size, because
        // demuxers (matroskademux) refuse to seek without one and a hint
        // a few bytes too large costs them nothing.
        auto plain = map_->plain_size (size);
        gst_query_set_duration (query, GST_FORMAT_BYTES,
            plain ? *plain : plain_for_stream (*map_, size));
        *ok = TRUE;
      }
      return true; // unknown (GCM records): not the input's size either
    }
    case GST_QUERY_POSITION: {
      GstFormat format;
      gst_query_parse_position (query, &format, nullptr);
      if (format != GST_FORMAT_BYTES)
        return false;
      gst_query_set_position (query, GST_FORMAT_BYTES, position ());
      *ok = GST_PAD_MODE (srcpad_) == GST_PAD_MODE_PUSH;
      return true;
    }
    default:
      return false;
  }
}

// -- pull mode ---------------------------------------------------------------

GstFlowReturn
DecoderRandomAccess::pull_codec_locked (Problem *p)
{
  auto codec = std::move (pull_spare_);
  if (!codec) {
    std::lock_guard<std::mutex> lock (map_lock_);
    *p = map_problem_.ok () ? Problem::make (Problem::Kind::kUnsupported,
             "this mode cannot be read at random offsets")
                            : map_problem_;
    return GST_FLOW_NOT_SUPPORTED;
  }
  if (!upstream_size (&stream_size_)) {
    *p = Problem::make (Problem::Kind::kUnsupported,
        "upstream did not say how large the encrypted input is");
    return GST_FLOW_NOT_SUPPORTED;
  }
  // Read the prefix (header, serialized IV) so that the codec knows what
  // the stream needs; a wrong key or a foreign stream fails here.
  size_t prefix = codec->prefix_size ();
  if (prefix > 0) {
    GstBuffer *buf = nullptr;
    GstFlowReturn ret = GST_FLOW_OK;
    if (stream_size_ > 0)
      ret = gst_pad_pull_range (sinkpad_, 0, prefix, &buf);
    if (ret != GST_FLOW_OK && ret != GST_FLOW_EOS)
      return ret;
    GstMapInfo map;
    size_t n = 0;
    std::vector<uint8_t> scratch (codec->max_output (prefix) + 1);
    StreamCodec::Output r;
    if (buf && gst_buffer_map (buf, &map, GST_MAP_READ)) {
      n = map.size;
      *p = codec->process (map.data, map.size, scratch.data (), &r);
      gst_buffer_unmap (buf, &map);
    }
    if (buf)
      gst_buffer_unref (buf);
    if (p->ok () && n < prefix) {
      size_t w = 0;
      std::vector<uint8_t> fin (codec->max_finish_output ());
      *p = codec->finish (fin.data (), &w);
      if (p->ok ())
        *p = Problem::make (Problem::Kind::kTruncated,
            "the input ends inside its " + std::to_string (prefix)
                + "-byte stream header");
    }
    if (!p->ok ())
      return GST_FLOW_ERROR;
  }
  pull_ = std::move (codec);
  if (!plain_size_locked (*pull_, &plain_size_, p)) {
    pull_.reset ();
    return GST_FLOW_ERROR;
  }
  GST_DEBUG_OBJECT (element_,
      "pull mode: %" G_GUINT64_FORMAT " encrypted bytes, %" G_GUINT64_FORMAT
      " plaintext bytes",
      stream_size_, plain_size_);
  return GST_FLOW_OK;
}

bool
DecoderRandomAccess::plain_size_locked (
    StreamCodec &codec, uint64_t *size, Problem *p)
{
  auto known = codec.plain_size (stream_size_);
  if (known) {
    *size = *known;
    return true;
  }
  // Only the end tells (CBC's padding): decrypt the last blocks.
  uint64_t last = plain_for_stream (codec, stream_size_);
  uint64_t from = last > 2 * kBlockSize ? last - 2 * kBlockSize : 0;
  GstBuffer *tail = nullptr;
  if (decode_range (codec, from, G_MAXUINT32, &tail, p) != GST_FLOW_OK)
    return false;
  *size = from + gst_buffer_get_size (tail);
  gst_buffer_unref (tail);
  return true;
}

GstFlowReturn
DecoderRandomAccess::decode_range (StreamCodec &codec, uint64_t offset,
    uint64_t length, GstBuffer **buffer, Problem *p)
{
  Position at;
  *p = codec.seek (offset, &at);
  if (!p->ok ())
    return GST_FLOW_ERROR;
  // Enough input for `length` output bytes in one pull: the stream offset
  // of the end, plus two blocks (a block mode decrypts whole blocks and
  // holds the last one back until it knows whether it is the end).
  uint64_t in_pos = at.input;
  uint64_t end = std::min<uint64_t> (offset + length, G_MAXUINT64 / 2);
  uint64_t in_end
      = std::min (stream_size_, codec.stream_offset (end) + 2 * kBlockSize);
  std::vector<uint8_t> acc;
  GstBuffer *first = nullptr;
  for (;;) {
    uint64_t want = std::max<uint64_t> (
        in_end > in_pos ? in_end - in_pos : 0, in_pos < stream_size_ ? 1 : 0);
    want = std::min<uint64_t> (want, G_MAXUINT32);
    GstBuffer *in = nullptr;
    size_t got = 0;
    if (want > 0) {
      GstFlowReturn ret = gst_pad_pull_range (
          sinkpad_, in_pos, static_cast<guint> (want), &in);
      if (ret == GST_FLOW_EOS)
        in = nullptr;
      else if (ret != GST_FLOW_OK)
        return ret;
    }
    if (in)
      got = gst_buffer_get_size (in);
    in_pos += got;
    bool at_end = in_pos >= stream_size_ || got < want;
    size_t fin = at_end ? codec.max_finish_output () : 0;
    StreamCodec::Output r;
    size_t fin_written = 0;
    GstBuffer *out;
    if (in && codec.in_place_ok () && !at_end && acc.empty ()
        && gst_buffer_n_memory (in) == 1) {
      // The usual case: decrypt the pulled buffer in place (filesrc hands
      // out a fresh buffer per pull, so it is writable without a copy).
      out = gst_buffer_make_writable (in);
      in = nullptr;
    } else {
      out = gst_buffer_new_allocate (
          nullptr, codec.max_output (got) + fin, nullptr);
    }
    GstMapInfo omap;
    if (!gst_buffer_map (out, &omap, GST_MAP_READWRITE)) {
      gst_buffer_unref (out);
      if (in)
        gst_buffer_unref (in);
      *p = Problem::make (Problem::Kind::kLibrary, "cannot map a buffer");
      return GST_FLOW_ERROR;
    }
    if (in) {
      GstMapInfo imap;
      gst_buffer_map (in, &imap, GST_MAP_READ);
      *p = codec.process (imap.data, imap.size, omap.data, &r);
      gst_buffer_unmap (in, &imap);
      gst_buffer_unref (in);
    } else if (got > 0) {
      *p = codec.process (omap.data, got, omap.data, &r);
    }
    if (p->ok () && at_end) {
      // The finish output follows the process output (`out` has room for
      // max_output (got) + max_finish_output ()).
      *p = codec.finish (omap.data + r.offset + r.size, &fin_written);
    }
    gst_buffer_unmap (out, &omap);
    if (!p->ok ()) {
      gst_buffer_unref (out);
      if (first)
        gst_buffer_unref (first);
      return GST_FLOW_ERROR;
    }
    size_t produced = r.size + fin_written;
    gst_buffer_resize (out, r.offset, produced);
    if (first == nullptr && acc.empty () && (produced >= length || at_end)) {
      first = out;
      break;
    }
    // Rare: more input needed (a record format, or a range at the end).
    if (first) {
      gst_buffer_unref (first);
      first = nullptr;
    }
    size_t old = acc.size ();
    acc.resize (old + produced);
    if (produced > 0) // (a segment format may say nothing yet)
      gst_buffer_extract (out, 0, acc.data () + old, produced);
    gst_buffer_unref (out);
    if (acc.size () >= length || at_end)
      break;
    in_end = std::min (stream_size_,
        in_pos + std::max<uint64_t> (64 * 1024, length - acc.size ()));
  }
  GstBuffer *result = first;
  if (result == nullptr) {
    result = gst_buffer_new_allocate (nullptr, acc.size (), nullptr);
    gst_buffer_fill (result, 0, acc.data (), acc.size ());
    OPENSSL_cleanse (acc.data (), acc.size ());
  }
  if (gst_buffer_get_size (result) > length)
    gst_buffer_resize (result, 0, static_cast<gssize> (length));
  GST_BUFFER_OFFSET (result) = offset;
  GST_BUFFER_OFFSET_END (result) = offset + gst_buffer_get_size (result);
  *buffer = result;
  return GST_FLOW_OK;
}

GstFlowReturn
DecoderRandomAccess::getrange (
    uint64_t offset, guint length, GstBuffer **buffer)
{
  // Pull mode has no first buffer to configure the stream: the first range
  // does (a missing key is reported here).
  if (!configured_ && !configure_fn_ ())
    return GST_FLOW_ERROR;
  std::lock_guard<std::mutex> lock (pull_lock_);
  Problem p;
  GstFlowReturn ret = GST_FLOW_OK;
  if (!pull_)
    ret = pull_codec_locked (&p);
  if (ret == GST_FLOW_OK) {
    if (offset >= plain_size_)
      return GST_FLOW_EOS;
    uint64_t n = std::min<uint64_t> (length, plain_size_ - offset);
    ret = decode_range (*pull_, offset, n, buffer, &p);
  }
  if (ret == GST_FLOW_ERROR || ret == GST_FLOW_NOT_SUPPORTED) {
    GST_ELEMENT_ERROR (element_, STREAM, DECRYPT,
        ("%s", p.message.empty () ? "decryption failed" : p.message.c_str ()),
        ("pull mode, range %" G_GUINT64_FORMAT " + %u", offset, length));
    return GST_FLOW_ERROR;
  }
  return ret;
}

} // namespace aesstream
