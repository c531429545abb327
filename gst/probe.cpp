#include "probe.hpp"

#include <cstring>

namespace aesstream {

namespace {

uint32_t
read_be32 (const uint8_t *p)
{
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8
         | p[3];
}

// The gcm-file preamble (issue 9's table): after the 8 common bytes, the
// segment size S (big-endian), 4 reserved zero bytes, the key id.
ProbeResult
probe_gcm_file (
    const uint8_t *d, size_t n, StreamInfo *info, std::string *error)
{
  const uint8_t key_length = d[format::kHeaderKeyLengthOffset];
  if (!format::is_key_length (key_length)) {
    *error = "gcm-file preamble names an invalid key length of "
             + std::to_string (key_length) + " bytes";
    return ProbeResult::kInvalid;
  }
  if (n < format::kGcmFilePreambleSize)
    return ProbeResult::kNeedMore;
  StreamInfo out;
  out.format = StreamFormat::kGcmFile;
  out.version = format::kHeaderVersion2;
  out.mode = "gcm-file";
  out.key_length = key_length;
  out.header_size = format::kGcmFilePreambleSize;
  out.segment_size = read_be32 (d + format::kGcmFileSegmentSizeOffset);
  const uint8_t *reserved = d + format::kGcmFileReservedOffset;
  if (reserved[0] != 0 || reserved[1] != 0 || reserved[2] != 0
      || reserved[3] != 0) {
    *error = "gcm-file preamble has non-zero reserved bytes (offsets 12 to "
             "15)";
    return ProbeResult::kInvalid;
  }
  // The bounds the decoder enforces: segment 0 must hold Tink's header and
  // a tag; no reader holds a segment larger than the maximum.
  const uint32_t min = format::gcm_file_min_segment_size (key_length);
  if (out.segment_size < min
      || out.segment_size > format::kGcmFileMaxSegmentSize) {
    *error = "gcm-file preamble names a segment size of "
             + std::to_string (out.segment_size) + " bytes, outside ["
             + std::to_string (min) + ", "
             + std::to_string (format::kGcmFileMaxSegmentSize) + "]";
    return ProbeResult::kInvalid;
  }
  out.has_key_id = true;
  std::memcpy (out.key_id.data (), d + format::kGcmFileKeyIdOffset, kKeyIdSize);
  *info = out;
  return ProbeResult::kMatch;
}

ProbeResult
probe_aess (const uint8_t *d, size_t n, StreamInfo *info, std::string *error)
{
  if (n < format::kHeaderFixedSize)
    return ProbeResult::kNeedMore;
  // The version and length bytes say how long the header is; the CTR
  // header itself is parsed by the same code aesdec uses.
  size_t size = StreamHeader::size_from_prefix (d, n, error);
  if (size == 0)
    return ProbeResult::kInvalid;
  if (d[format::kHeaderVersionOffset] == format::kHeaderVersion2
      && d[format::kHeaderModeOffset] == format::kModeGcmFile)
    return probe_gcm_file (d, n, info, error);
  if (d[format::kHeaderModeOffset] != static_cast<uint8_t> (Mode::kCtr)) {
    *error = "aesstream header names mode "
             + std::to_string (d[format::kHeaderModeOffset])
             + ", which this reader does not know";
    return ProbeResult::kInvalid;
  }
  if (!format::is_key_length (d[format::kHeaderKeyLengthOffset])) {
    *error = "aesstream header names an invalid key length of "
             + std::to_string (d[format::kHeaderKeyLengthOffset]) + " bytes";
    return ProbeResult::kInvalid;
  }
  if (n < size)
    return ProbeResult::kNeedMore;
  StreamHeader h;
  if (!StreamHeader::parse (d, n, &h, error))
    return ProbeResult::kInvalid;
  StreamInfo out;
  out.format = StreamFormat::kCtrHeader;
  out.version = h.version;
  out.mode = "ctr";
  out.key_length = h.key_length;
  out.header_size = h.size ();
  out.has_key_id = h.version != 1;
  out.key_id = h.key_id;
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
  if (n == 0) /* an empty buffer may be NULL: nothing to compare yet */
    return ProbeResult::kNeedMore;
  if (std::memcmp (data, format::kStreamMagic.data (), magic) == 0)
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

std::string
refuse_self_describing (const uint8_t *data, size_t n,
    const std::string &configured, bool *need_more)
{
  StreamInfo info;
  std::string error;
  ProbeResult r = probe_stream (data, n, &info, &error);
  *need_more = r == ProbeResult::kNeedMore;
  if (r != ProbeResult::kMatch)
    return "";
  std::string use
      = info.format == StreamFormat::kCtrHeader
            ? "mode=ctr without iv (or no mode at all)"
            : std::string ("mode=") + info.mode + " (or no mode at all)";
  return "The input starts with an aesstream "
         + std::string (stream_format_name (info.format)) + " (version "
         + std::to_string (info.version) + "), but aesdec is set to "
         + configured + ", which would decrypt it to garbage. Use " + use + ".";
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
