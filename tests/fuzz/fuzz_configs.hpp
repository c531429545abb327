// The aesdec decoder paths that have a fuzz target each, with the aesenc
// settings that made their seed corpus (tests/fuzz/make_corpus.cpp). One
// table, so that a target and its seeds cannot disagree.
#pragma once

#include <cstring>
#include <utility>
#include <vector>

#include "fuzz_common.hpp"

namespace fuzz {

using Props = std::vector<std::pair<const char *, const char *>>;

struct DecoderConfig
{
  const char *name;
  Props decoder;
  Props encoder;
  // Authenticated: every byte out must be a substring of the known
  // plaintext, whatever was done to the input.
  bool authenticated;
};

inline const std::vector<DecoderConfig> &
decoder_configs ()
{
  static const std::vector<DecoderConfig> configs = {
      {"dec-ctr-header", {{"mode", "ctr"}, {"key", kKeyHex}},
          {{"mode", "ctr"}, {"key", kKeyHex}}, false},
      {"dec-ctr-raw", {{"mode", "ctr"}, {"key", kKeyHex}, {"iv", kIvHex}},
          {{"mode", "ctr"}, {"key", kKeyHex}, {"iv", kIvHex}}, false},
      {"dec-ecb", {{"mode", "ecb"}, {"key", kKeyHex}},
          {{"mode", "ecb"}, {"key", kKeyHex}}, false},
      {"dec-cbc",
          {{"mode", "cbc"}, {"key", kKeyHex}, {"iv", kIvHex},
              {"per-buffer-padding", "false"}},
          {{"mode", "cbc"}, {"key", kKeyHex}, {"iv", kIvHex},
              {"per-buffer-padding", "false"}},
          false},
      {"dec-cbc-per-buffer",
          {{"mode", "cbc"}, {"key", kKeyHex}, {"iv", kIvHex},
              {"per-buffer-padding", "true"}},
          {{"mode", "cbc"}, {"key", kKeyHex}, {"iv", kIvHex},
              {"per-buffer-padding", "true"}},
          false},
      {"dec-cbc-serialize-iv",
          {{"mode", "cbc"}, {"key", kKeyHex}, {"serialize-iv", "true"},
              {"per-buffer-padding", "true"}},
          {{"mode", "cbc"}, {"key", kKeyHex}, {"iv", kIvHex},
              {"serialize-iv", "true"}, {"per-buffer-padding", "true"}},
          false},
      {"dec-cbc-serialize-iv-stream",
          {{"mode", "cbc"}, {"key", kKeyHex}, {"serialize-iv", "true"},
              {"per-buffer-padding", "false"}},
          {{"mode", "cbc"}, {"key", kKeyHex}, {"iv", kIvHex},
              {"serialize-iv", "true"}, {"per-buffer-padding", "false"}},
          false},
      {"dec-gcm-error",
          {{"mode", "gcm"}, {"key", kKeyHex}, {"invalid-records", "error"}},
          {{"mode", "gcm"}, {"key", kKeyHex}}, true},
      {"dec-gcm-drop",
          {{"mode", "gcm"}, {"key", kKeyHex}, {"invalid-records", "drop"}},
          {{"mode", "gcm"}, {"key", kKeyHex}}, true},
  };
  return configs;
}

inline const DecoderConfig *
find_decoder_config (const char *name)
{
  for (const DecoderConfig &c : decoder_configs ())
    if (std::strcmp (c.name, name) == 0)
      return &c;
  return nullptr;
}

} // namespace fuzz
