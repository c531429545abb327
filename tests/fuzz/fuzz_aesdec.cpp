// libFuzzer target: one aesdec decoder path (AESSTREAM_FUZZ_CONFIG names a
// row of fuzz_configs.hpp; meson builds one binary a row). The input is a
// sequence of buffers and flushes (fuzz_common.hpp), mutated with
// knowledge of the formats. Oracle: no crash, no sanitizer report, no GLib
// warning or critical, and for authenticated modes no output byte that is
// not part of the known plaintext the seeds were made from.
#include <cstdio>
#include <cstdlib>

#include "fuzz_gst.hpp"

#ifndef AESSTREAM_FUZZ_CONFIG
#error "AESSTREAM_FUZZ_CONFIG must name a decoder config"
#endif

namespace {
const fuzz::DecoderConfig *config;
// AESSTREAM_FUZZ_VERBOSE=1: say what each input produced (to check that the
// seeds reach the decoders' deep paths).
bool verbose;
} // namespace

extern "C" int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz::init_gstreamer ();
  verbose = std::getenv ("AESSTREAM_FUZZ_VERBOSE") != nullptr;
  config = fuzz::find_decoder_config (AESSTREAM_FUZZ_CONFIG);
  if (config == nullptr)
    abort ();
  return 0;
}

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  std::vector<fuzz::Item> items = fuzz::decode (data, size);
  fuzz::RunResult r = fuzz::run_element (
      "aesdec", config->decoder, items, config->later_keys);
  if (verbose) {
    size_t total = 0;
    for (const fuzz::Bytes &b : r.output)
      total += b.size ();
    std::fprintf (stderr, "%s: %zu buffers, %zu bytes out%s, %zu keys set\n",
        config->name, r.output.size (), total,
        r.flow_error ? ", flow error" : "", r.key_changes.size ());
  }
  if (config->authenticated) {
    for (const fuzz::Bytes &b : r.output) {
      if (!fuzz::is_in_known_plaintext (b.data (), b.size ())) {
        std::fprintf (stderr,
            "%s: aesdec output %zu bytes that are not plaintext the "
            "sender encrypted (unauthenticated output)\n",
            config->name, b.size ());
        abort ();
      }
    }
  }
  return 0;
}

FUZZ_ITEM_MUTATOR
