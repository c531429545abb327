// Tells an aesstream stream from its first bytes, with no GStreamer in sight:
// which self-describing format it is, and what its header says (mode, key
// length, key id, segment size). Used by aesstream-info and, to detect the
// format and to refuse our formats in raw modes, by aesdec.
#pragma once

#include "keyring.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace aesstream {

enum class StreamFormat
{
  kCtrHeader,  // "AESs", version 1 or 2, mode 01 (docs/format.md)
  kGcmFile,    // "AESs", version 2, mode 05: the gcm-file preamble
  kGcmRecords, // "Ag" 01: GCM records
};

struct StreamInfo
{
  StreamFormat format = StreamFormat::kCtrHeader;
  uint8_t version = 0;
  // The `mode` value that decrypts it: "ctr", "gcm-file" or "gcm".
  const char *mode = "";
  // Key size in bytes; 0 when the format does not record it (GCM records).
  uint8_t key_length = 0;
  bool has_key_id = false;
  KeyId key_id{};
  // gcm-file: Tink's ciphertext segment size S; 0 otherwise.
  uint32_t segment_size = 0;
  // Bytes of header before the payload (GCM records: of the first record).
  size_t header_size = 0;
};

enum class ProbeResult
{
  kMatch,    // one of our formats with a valid header; `info` is set
  kNeedMore, // the bytes so far are a prefix of one of our headers
  kNoMatch,  // not one of our formats
  kInvalid,  // our magic, but a header this reader cannot accept: `error`
};

// Enough bytes for every header probe_stream() reads.
constexpr size_t kProbeSize = 48;

// Looks at the first `n` bytes of a stream.
ProbeResult probe_stream (
    const uint8_t *data, size_t n, StreamInfo *info, std::string *error);

// "CTR header", "gcm-file preamble", "GCM records".
const char *stream_format_name (StreamFormat format);

// For a decoder in a raw mode (`configured`: "mode=ctr with iv", "ecb",
// "cbc"), given the first bytes of its input: a message refusing input
// that is one of our self-describing formats (raw decryption of it would be
// garbage), naming the settings to use; empty when the input is not ours.
// `*need_more` is set while the bytes so far could still be one of ours.
std::string refuse_self_describing (const uint8_t *data, size_t n,
    const std::string &configured, bool *need_more);

} // namespace aesstream
