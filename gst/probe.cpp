#include "probe.hpp"

#include <cstring>

namespace aesstream {

namespace {

constexpr uint8_t kMagic[4] = {'A', 'E', 'S', 's'};
// Mode bytes of the "AESs" header (docs/format.md).
constexpr uint8_t kModeCtr = 1;
constexpr uint8_t kModeGcmFile = 5;
// Header sizes: CTR version 1 (IV, key check), CTR version 2 (reserved,
// key id, IV), gcm-file (segment size, reserved, key id).
constexpr size_t kCtrV1Size = 32;
constexpr size_t kCtrV2Size = 48;
constexpr size_t kGcmFileSize = 32;

bool
valid_key_length (uint8_t n)
{
  return n == 16 || n == 24 || n == 32;
}

bool
all_zero (const uint8_t *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] != 0)
      return false;
  return true;
}

uint32_t
read_be32 (const uint8_t *p)
{
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8
         | p[3];
}

ProbeResult
probe_aess (const uint8_t *d, size_t n, StreamInfo *info, std::string *error)
{
  if (n < 8)
    return ProbeResult::kNeedMore;
  const uint8_t version = d[4], mode = d[5], key_length = d[6], size = d[7];
  const std::string what
      = "aesstream header (\"AESs\", version " + std::to_string (version) + ")";
  size_t expected;
  if (version == 1 && mode == kModeCtr)
    expected = kCtrV1Size;
  else if (version == 2 && mode == kModeCtr)
    expected = kCtrV2Size;
  else if (version == 2 && mode == kModeGcmFile)
    expected = kGcmFileSize;
  else if (version != 1 && version != 2) {
    *error = what
             + " is of a version this reader does not know (it reads 1 "
               "and 2): written by a newer aesstream?";
    return ProbeResult::kInvalid;
  } else {
    *error = what + " names mode " + std::to_string (mode)
             + ", which this reader does not know";
    return ProbeResult::kInvalid;
  }
  if (!valid_key_length (key_length)) {
    *error = what + " names an invalid key length of "
             + std::to_string (key_length) + " bytes";
    return ProbeResult::kInvalid;
  }
  if (size != expected) {
    *error = what + " has header length " + std::to_string (size) + " where "
             + std::to_string (expected) + " is expected";
    return ProbeResult::kInvalid;
  }
  if (n < expected)
    return ProbeResult::kNeedMore;

  StreamInfo out;
  out.version = version;
  out.key_length = key_length;
  out.header_size = expected;
  if (mode == kModeCtr) {
    out.format = StreamFormat::kCtrHeader;
    out.mode = "ctr";
    if (version == 2) {
      if (!all_zero (d + 8, 8)) {
        *error = what + " has non-zero reserved bytes (offsets 8 to 15)";
        return ProbeResult::kInvalid;
      }
      out.has_key_id = true;
      std::memcpy (out.key_id.data (), d + 16, kKeyIdSize);
    }
  } else {
    out.format = StreamFormat::kGcmFile;
    out.mode = "gcm-file";
    out.segment_size = read_be32 (d + 8);
    if (!all_zero (d + 12, 4)) {
      *error = what + " has non-zero reserved bytes (offsets 12 to 15)";
      return ProbeResult::kInvalid;
    }
    // Tink's header is 1 + D + 7 bytes (D = 32 for AES-256 keys, else 16)
    // and the first segment must hold it and a tag.
    const uint32_t derived = key_length == 32 ? 32 : 16;
    if (out.segment_size <= 8 + derived + 16) {
      *error = what + " names a segment size of "
               + std::to_string (out.segment_size)
               + " bytes, too small to hold a segment";
      return ProbeResult::kInvalid;
    }
    out.has_key_id = true;
    std::memcpy (out.key_id.data (), d + 16, kKeyIdSize);
  }
  *info = out;
  return ProbeResult::kMatch;
}

ProbeResult
probe_gcm_record (
    const uint8_t *d, size_t n, StreamInfo *info, std::string *error)
{
  if (n < GcmRecord::kHeaderSize)
    return ProbeResult::kNeedMore;
  GcmRecord record;
  if (!GcmRecord::parse (d, &record, error))
    return ProbeResult::kInvalid;
  StreamInfo out;
  out.format = StreamFormat::kGcmRecords;
  out.version = GcmRecord::kVersion;
  out.mode = "gcm";
  out.header_size = GcmRecord::kHeaderSize;
  *info = out;
  return ProbeResult::kMatch;
}

} // namespace

ProbeResult
probe_stream (
    const uint8_t *data, size_t n, StreamInfo *info, std::string *error)
{
  const size_t magic = n < 4 ? n : 4;
  if (std::memcmp (data, kMagic, magic) == 0)
    return n < 4 ? ProbeResult::kNeedMore : probe_aess (data, n, info, error);
  // "Ag" followed by version 01: anything else after "Ag" is not ours (a
  // stream may well start with "Ag" by chance).
  if (n >= 1 && data[0] == GcmRecord::kMagic0
      && (n < 2 || data[1] == GcmRecord::kMagic1)
      && (n < 3 || data[2] == GcmRecord::kVersion)) {
    if (n >= 4 && (data[3] & ~GcmRecord::kFlagFinal) != 0)
      return ProbeResult::kNoMatch;
    return probe_gcm_record (data, n, info, error);
  }
  return ProbeResult::kNoMatch;
}

const char *
stream_format_name (StreamFormat format)
{
  switch (format) {
    case StreamFormat::kCtrHeader:
      return "CTR header";
    case StreamFormat::kGcmFile:
      return "gcm-file preamble";
    case StreamFormat::kGcmRecords:
      return "GCM records";
  }
  return "unknown";
}

} // namespace aesstream
