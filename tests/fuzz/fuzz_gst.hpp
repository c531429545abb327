// GStreamer side of the element fuzz targets: the plugin registered
// statically (no registry, no other plugins scanned), and one GstHarness
// run of an element over a sequence of buffers.
#pragma once

#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "../buffers.hpp"
#include "fuzz_configs.hpp"

extern "C" void gst_plugin_aesstream_register (void);

namespace fuzz {

inline void
init_gstreamer ()
{
  // Nothing but this binary's own plugin: scanning the system's plugins
  // would be slow and make runs depend on the machine.
  setenv ("GST_PLUGIN_SYSTEM_PATH_1_0", "", 1);
  setenv ("GST_PLUGIN_PATH_1_0", "", 1);
  setenv ("GST_REGISTRY_UPDATE", "no", 1);
  setenv ("GST_REGISTRY_1_0", "/nonexistent/aesstream-fuzz-registry.bin", 1);
  gst_registry_fork_set_enabled (FALSE);
  gst_init (nullptr, nullptr);
  gst_plugin_aesstream_register ();
  // A GLib warning or critical is a bug found (for example "data flow
  // before segment"): make it a crash the fuzzer reports.
  g_log_set_always_fatal (
      (GLogLevelFlags)(G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL
                       | G_LOG_LEVEL_WARNING));
}

struct RunResult
{
  std::vector<Bytes> output; // the buffers the element pushed, in order
  bool flow_error = false;
  // For each key marker that set a key: how many output buffers had been
  // pushed by then (where the change falls in the output).
  std::vector<size_t> key_changes;
};

// A buffer holding `bytes` in one, two or three memories (by its size:
// deterministic for a given input), as buffers assembled from pieces
// arrive: decoders must read them as they lie.
inline GstBuffer *
new_buffer (const Bytes &bytes)
{
  const size_t parts = std::min<size_t> (bytes.size (), 1 + bytes.size () % 3);
  std::vector<size_t> cuts;
  for (size_t k = 1; k < parts; k++)
    cuts.push_back (k * (bytes.size () / parts));
  return buffer_of_memories (bytes, cuts);
}

// Pushes `items` through a fresh element (stream-start, a BYTES segment,
// the buffers, flushes and key changes, EOS) and collects what comes out.
// A key marker sets the next of `later_keys` (in turn) on the running
// element, between two pushes. Stops feeding after a flow error, as a real
// upstream would.
inline RunResult
run_element (const char *factory, const Props &props,
    const std::vector<Item> &items,
    const std::vector<const char *> &later_keys = {})
{
  RunResult result;
  GstElement *e = gst_element_factory_make (factory, nullptr);
  if (e == nullptr)
    abort ();
  for (const auto &p : props)
    gst_util_set_object_arg (G_OBJECT (e), p.first, p.second);
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (e, bus);
  GstHarness *h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  gst_harness_play (h);
  GstSegment seg;
  gst_segment_init (&seg, GST_FORMAT_BYTES);
  gst_harness_push_event (h, gst_event_new_stream_start ("fuzz"));
  gst_harness_push_event (h, gst_event_new_segment (&seg));

  auto collect = [&] () {
    while (GstBuffer *out = gst_harness_try_pull (h)) {
      GstMapInfo map;
      if (gst_buffer_map (out, &map, GST_MAP_READ)) {
        result.output.emplace_back (map.data, map.data + map.size);
        gst_buffer_unmap (out, &map);
      } else if (gst_buffer_get_size (out) == 0) {
        result.output.emplace_back ();
      } else {
        abort (); // a buffer that cannot be read is a bug
      }
      gst_buffer_unref (out);
    }
  };

  size_t next_key = 0;
  for (const Item &it : items) {
    if (it.next_key) {
      if (!later_keys.empty ()) {
        g_object_set (h->element, "key",
            later_keys[next_key++ % later_keys.size ()], nullptr);
        result.key_changes.push_back (result.output.size ());
      }
      continue;
    }
    if (it.flush) {
      gst_harness_push_event (h, gst_event_new_flush_start ());
      gst_harness_push_event (h, gst_event_new_flush_stop (TRUE));
      gst_harness_push_event (h, gst_event_new_segment (&seg));
      collect ();
      continue;
    }
    GstFlowReturn ret = gst_harness_push (h, new_buffer (it.bytes));
    collect ();
    if (ret != GST_FLOW_OK) {
      result.flow_error = true;
      break;
    }
  }
  gst_harness_push_event (h, gst_event_new_eos ());
  collect ();
  gst_harness_teardown (h);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
  return result;
}

} // namespace fuzz
