// Test buffers of several memories, shared by the element tests and the
// fuzz targets (GStreamer and the standard library only).
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <vector>

// A buffer holding `bytes` as one memory per piece, cut at `cuts`
// (ascending; cuts at 0, at the end or repeated make no empty memory): as
// a muxer or payloader assembles buffers from pieces. Decoders must read
// them as they lie.
inline GstBuffer *
buffer_of_memories (
    const std::vector<uint8_t> &bytes, const std::vector<size_t> &cuts)
{
  GstBuffer *buf = gst_buffer_new ();
  size_t from = 0;
  std::vector<size_t> ends (cuts);
  ends.push_back (bytes.size ());
  for (size_t to : ends) {
    if (to <= from)
      continue;
    gpointer copy = g_memdup2 (bytes.data () + from, to - from);
    gst_buffer_append_memory (
        buf, gst_memory_new_wrapped ((GstMemoryFlags)0, copy, to - from, 0,
                 to - from, copy, g_free));
    from = to;
  }
  return buf;
}
