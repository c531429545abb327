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
  // Key rotation (mode=gcm): at each key marker of the input the harness
  // sets the next of these keys, in turn, through the `key` property while
  // PLAYING, between two buffers, as an application does; on aesdec (which
  // then holds several keys) and on aesenc making the seeds (which then
  // starts a new stream under it). Empty: markers do nothing.
  std::vector<const char *> later_keys = {};
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
      // Key rotation: aesdec starts with one key and is given two more
      // while it runs (the oldest retired beyond max-keys=2); the seeds hold
      // streams under each, sealed by an aesenc whose key changed at the
      // same markers, and old-key records arriving after the switch.
      {"dec-gcm-keys",
          {{"mode", "gcm"}, {"key", kKeyHex}, {"invalid-records", "drop"},
              {"max-keys", "2"}},
          {{"mode", "gcm"}, {"key", kKeyHex}}, true,
          {kKey2Hex, kKey3Hex, kKeyHex}},
      // mode=gcm-file (Tink streaming AEAD): small segments, so that the
      // seeds hold many of them and segment boundaries fall everywhere.
      // (skip-damaged-segments has no row: an output buffer may then join
      // the segments either side of a skipped one, authentic but not one
      // substring of the known plaintext, which this oracle checks.)
      {"dec-gcm-file", {{"mode", "gcm-file"}, {"key", kKeyHex}},
          {{"mode", "gcm-file"}, {"key", kKeyHex}, {"segment-size", "128"}},
          true},
      // The same streams with the format detected (no mode): the first
      // bytes held, probed, the codec built from them. Not authenticated:
      // without mode the preamble is believed before anything checks it,
      // so a preamble rewritten into a CTR header decrypts as CTR
      // (docs/format.md: set mode=gcm-file to rule that out).
      {"dec-gcm-file-detect", {{"key", kKeyHex}},
          {{"mode", "gcm-file"}, {"key", kKeyHex}, {"segment-size", "128"}},
          false},
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
