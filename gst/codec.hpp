// The per-mode codecs: one class per mode and direction, each owning its
// state, made by make_codec(), the one place that switches on the mode.
// Plain C++ over the primitives of aescore.hpp; no GStreamer. Problems are
// returned as values (a kind and a message written for the user); only the
// elements turn them into bus errors.
//
// Two shapes:
//  - StreamCodec: a byte stream in, a byte stream out (CTR with or without
//    header, ECB, CBC). Linear processing is process()/finish(); random
//    access is seek(), which says where in its input the codec must be fed
//    from so that its next output byte is a given plaintext offset.
//  - Record codecs (GcmRecordSealer, GcmRecordOpener): one self-contained
//    unit at a time (mode=gcm's records).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aescore.hpp"
#include "format.hpp"

namespace aesstream {

// What went wrong, for the element to report. `message` is complete text
// for the user (what happened and what to do); it never holds key material.
struct Problem
{
  enum class Kind : uint8_t
  {
    kNone = 0,
    kSettings,    // the configuration cannot work (bad combination)
    kFormat,      // the input is not what this codec reads (header, mode)
    kWrongKey,    // the key does not belong to the stream
    kCorrupt,     // a check on the data failed (padding, length, tag)
    kTruncated,   // the stream ended before something it owes
    kUnsupported, // this codec cannot do that (e.g. seek in this mode)
    kLimit,       // a limit of the format was reached
    kLibrary,     // OpenSSL or the random generator failed
  };
  Kind kind = Kind::kNone;
  std::string message;

  bool ok () const { return kind == Kind::kNone; }
  static Problem none () { return Problem (); }
  static Problem make (Kind kind, std::string message)
  {
    Problem p;
    p.kind = kind;
    p.message = std::move (message);
    return p;
  }
};

// A read-only view of bytes owned by someone else.
struct ByteView
{
  const uint8_t *data = nullptr;
  size_t size = 0;
  bool empty () const { return size == 0; }
};

// Holds a caller's input bytes valid for as long as it lives (the element's
// mapping of an input buffer, with a reference to the buffer). A codec that
// must hold input back until more arrives (gcm-file, until a segment is
// complete) keeps one of these instead of copying the bytes.
using InputOwner = std::shared_ptr<const void>;

// Offsets in a codec's input and output streams that belong together.
struct Position
{
  uint64_t input = 0;  // where feeding resumes, in the codec's input stream
  uint64_t output = 0; // where the next output byte goes, in its output
};

// A byte-stream codec.
//
// Stream offsets count every byte of the encrypted stream, prefix (stream
// header, serialized IV) included; plaintext offsets count plaintext bytes.
// An encoder's input and a decoder's output are plaintext, the other side
// is the encrypted stream.
class StreamCodec {
public:
  virtual ~StreamCodec () = default;
  StreamCodec (const StreamCodec &) = delete;
  StreamCodec &operator= (const StreamCodec &) = delete;

  Mode mode () const { return mode_; }
  bool encrypting () const { return encrypt_; }

  // -- Linear processing ----------------------------------------------

  // What process() wrote: out[offset, offset + size). `offset` > 0 when the
  // codec consumed input without output (a header, a serialized IV) or
  // dropped leading output after a seek; the element trims its buffer to
  // this range (gst_buffer_resize (buf, offset, size)).
  struct Output
  {
    size_t offset = 0;
    size_t size = 0;
  };

  // Upper bound of offset + size for `n` input bytes, in the current state.
  virtual size_t max_output (size_t n) const = 0;
  // Whether process() may run with out == in now, i.e. its output never
  // runs ahead of its input (CTR always; block modes while nothing is
  // carried and no padding is added).
  virtual bool in_place_ok () const = 0;
  // Whether an empty process() result for a non-empty call is still one
  // output unit (CTR keeps one output buffer per input buffer, even an
  // empty one; block modes may have nothing to say yet).
  virtual bool one_output_per_input () const = 0;

  // Consumes all `n` bytes of `in` (n may be 0). `out` has room for
  // max_output(n) bytes and may equal `in` (when in_place_ok()); it must not
  // overlap `in` otherwise.
  virtual Problem process (
      const uint8_t *in, size_t n, uint8_t *out, Output *result)
      = 0;

  // Whether process_owned() can hold input by reference: the element then
  // maps each input so that the mapping can outlive the call.
  virtual bool holds_input () const { return false; }
  // process(), where `owner` keeps `in` valid for as long as the codec
  // holds it (instead of a copy).
  virtual Problem process_owned (const uint8_t *in, size_t n,
      const InputOwner &owner, uint8_t *out, Output *result)
  {
    (void)owner;
    return process (in, n, out, result);
  }
  // The self-contained units the last process() wrote, in order (gcm-file
  // encoders: whole segments), so that an element can send one per buffer
  // (what a segment costs in latency, and no more). Empty: not divided.
  virtual const std::vector<size_t> &output_units () const
  {
    static const std::vector<size_t> none;
    return none;
  }

  // End of stream: writes what is still owed (a padded last block) to `out`
  // (room for kMaxFinishOutput bytes), or reports what is missing (a
  // truncated header, a partial block, bad padding).
  static constexpr size_t kMaxFinishOutput = 2 * kBlockSize;
  virtual Problem finish (uint8_t *out, size_t *written) = 0;
  // Room finish() needs now: kMaxFinishOutput for the block modes; a whole
  // held-back segment for gcm-file.
  virtual size_t max_finish_output () const { return kMaxFinishOutput; }

  // Problems the codec recovered from since the last call (gcm-file with
  // skip-damaged-segments: each segment skipped, with the count so far), for
  // the element to post as warnings.
  virtual std::vector<Problem> take_warnings () { return {}; }

  // Encoders: the bytes that go in front of the output (the stream header,
  // a serialized IV) while they are still due, given the size of the output
  // about to be sent; marks them sent. Empty when nothing is due (always
  // for decoders). A header precedes even an empty stream; a serialized IV
  // waits for ciphertext.
  virtual ByteView take_prefix (size_t output_size)
  {
    (void)output_size;
    return ByteView ();
  }

  // Back to the start of a new stream (after a flush). Encoders with a
  // random IV draw a new one (reusing it on new data would reuse
  // keystream); decoders expect the prefix again.
  virtual Problem restart () = 0;

  // -- Positioning ----------------------------------------------------

  // Bytes in front of the first ciphertext byte (header, serialized IV).
  size_t prefix_size () const { return prefix_size_; }

  // Makes plaintext offset `plain` the next byte: for an encoder, the next
  // input byte is plaintext `plain`; for a decoder, the next output byte
  // is. `at` says where to feed from (at->input) and where the output
  // lands (at->output). Carried bytes are dropped. A decoder may ask to be
  // fed from before `plain` (a block start, the previous block as CBC's IV)
  // and drops the extra output itself. Codecs that cannot be positioned
  // return kUnsupported with a message that says why.
  virtual Problem seek (uint64_t plain, Position *at);
  // Whether seek() can succeed in this configuration at all, asked before
  // any input (an element offering pull mode, a muxer asking whether it may
  // rewrite). A CTR decoder with a header can, though it seeks only once
  // the header is read.
  virtual bool can_seek () const { return false; }

  // Stream offset of plaintext byte `plain` (prefix + plain for the
  // length-preserving layouts of CTR, ECB and CBC).
  virtual uint64_t stream_offset (uint64_t plain) const
  {
    return prefix_size_ + plain;
  }
  // Plaintext size of an encrypted stream of `stream_size` bytes, if the
  // size alone tells (not for CBC, whose padding is known at the end only).
  virtual std::optional<uint64_t> plain_size (uint64_t stream_size) const;

protected:
  StreamCodec (Mode mode, bool encrypt, size_t prefix_size)
      : mode_ (mode), encrypt_ (encrypt), prefix_size_ (prefix_size)
  {}
  // A decoder learns the size of a header of several versions by reading it.
  void set_prefix_size (size_t n) { prefix_size_ = n; }

private:
  Mode mode_;
  bool encrypt_;
  size_t prefix_size_;
};

// aesenc mode=gcm: each call seals one buffer as one record
// (docs/format.md). A stream is a random 80-bit salt (its subkey is derived
// from it) and record numbers from 0.
class GcmRecordSealer {
public:
  static std::unique_ptr<GcmRecordSealer> create (
      const SecureBytes &key, Problem *problem);

  // Seals `n` bytes: the 24-byte header to `header`, the ciphertext to `out`
  // (may equal `in`), the 16-byte tag to `tag`.
  Problem seal (
      const uint8_t *in, size_t n, uint8_t *header, uint8_t *out, uint8_t *tag);
  // The empty final record (kRecordOverhead bytes) that ends a stream.
  Problem seal_final (uint8_t *record);
  // A new stream: a new salt, record numbers from 0.
  Problem restart ();
  // Key rotation: a new stream (new salt, record numbers from 0) under
  // `key`; the old key is wiped. The count of records under the key starts
  // again (the same key given again keeps counting).
  Problem rekey (const SecureBytes &key);

  const std::array<uint8_t, format::kRecordSaltSize> &salt () const
  {
    return salt_;
  }

  // Records sealed under the current key, over all its streams (final
  // records included).
  uint64_t records_under_key () const { return records_under_key_; }
  // The hard limit of data records under one key (aesenc's
  // max-records-per-key): seal() refuses the record after it. At most,
  // and by default, kMaxRecordsPerStream.
  void set_max_records_per_key (uint64_t n)
  {
    max_records_ = n < kMaxRecordsPerStream ? n : kMaxRecordsPerStream;
  }
  // What the format allows in one stream: 48-bit record numbers give 2^48
  // records, the last number kept for the final record.
  static constexpr uint64_t kMaxRecordsPerStream = format::kRecordMaxSeq;

  // Tests only: the next record number of this stream, to reach the end
  // of the number space without sealing 2^48 records.
  void skip_to_seq_for_testing (uint64_t seq) { seq_ = seq; }

private:
  GcmRecordSealer () = default;
  SecureBytes key_;
  std::unique_ptr<Gcm> gcm_;
  std::array<uint8_t, format::kRecordSaltSize> salt_{};
  uint64_t seq_ = 0;
  uint64_t records_under_key_ = 0;
  uint64_t max_records_ = kMaxRecordsPerStream;
};

// aesdec mode=gcm: opens one whole record at a time and keeps what replay
// protection needs: a replay window per stream (salt) for the most recent
// kMaxSessions streams (bounded: issue 11, finding 2). Framing a byte
// stream into records is the caller's (it knows buffers); the verdict says
// what to count.
//
// Which streams are output (issue 11, finding 3): several senders on one
// port (or an attacker replaying a captured stream next to a live one)
// would otherwise be interleaved into one output, each record authentic.
// By default (kFollowOne) one stream is followed at a time: the first
// authentic one; a new stream takes over when the followed one ended with
// its final record or has been silent for kSilence (a restarted sender);
// records of any other authentic stream are dropped as kOtherStream.
//
// Keys (key rotation, issue 11): GCM records carry no key id, so the opener
// holds a small set of keys (at most max_keys(), oldest retired first) and
// tries each on the first record of a stream it has not seen, newest first;
// a known stream is opened under the key it authenticated with. A stream
// under a key added later than the followed stream's key takes over at once
// (the sender rotated), even if the old stream's final record was lost.
class GcmRecordOpener {
public:
  enum class StreamPolicy
  {
    kFollowOne, // one stream at a time (default)
    kNewest,    // every new authentic stream takes over at once
    kAll,       // every authentic stream, interleaved (the old behaviour)
  };
  // How long the followed stream must have been silent before another
  // stream takes over (kFollowOne).
  static constexpr int64_t kSilenceUs = 1000000;

  static std::unique_ptr<GcmRecordOpener> create (const SecureBytes &key,
      Problem *problem, StreamPolicy policy = StreamPolicy::kFollowOne);

  struct Verdict
  {
    enum class Kind
    {
      kAccepted,    // authentic and new: plaintext written
      kRejected,    // malformed or failed authentication
      kReplayed,    // a duplicate, or too old for the replay window
      kOtherStream, // authentic, but not the stream followed: dropped
    };
    Kind kind = Kind::kRejected;
    uint64_t seq = 0;
    uint32_t length = 0;          // plaintext bytes written (kAccepted)
    bool final = false;           // the stream's final record (kAccepted)
    bool new_stream = false;      // kAccepted: the first of a stream followed
    int64_t lost = 0;             // change in the count of missing records
    std::string why;              // for the user (not kAccepted)
    bool library_failure = false; // a subkey could not be derived
    // Keys whose attempt to open this record failed (a stream not seen
    // before is tried under every key held): the caller charges each to its
    // OpenBudget, so that several keys keep resynchronising linear.
    unsigned failed_attempts = 0;
    bool new_key = false; // kAccepted: the first stream under a newer key
  };

  // Opens the record rec[0, n): n must be the record's full size (header
  // length + overhead). The plaintext goes to `plain` (room for n -
  // kRecordOverhead bytes; may be rec + kRecordHeaderSize, in place). When
  // the verdict is not kAccepted, `plain` holds no plaintext (wiped).
  // `now_us` is a monotonic time (microseconds) for the silence rule; a
  // caller without a clock passes 0 (then only a final record ends a
  // stream).
  Verdict open (
      const uint8_t *rec, size_t n, uint8_t *plain, int64_t now_us = 0);
  // The same for a record that lies in pieces (the memories of a buffer,
  // or of several): `header` its 24 header bytes, `payload` its ciphertext
  // in order (together exactly the header's length), each piece decrypted
  // to its own `out` (may equal `in`), `tag` its 16 tag bytes. Nothing is
  // gathered into one copy. When the verdict is not kAccepted, no `out`
  // holds plaintext (wiped).
  Verdict open (const uint8_t *header, const Gcm::Piece *payload, size_t count,
      const uint8_t *tag, int64_t now_us = 0);

  // Whether any stream authenticated, and whether the stream followed
  // ended with its final record (a complete file).
  bool any_stream () const { return !sessions_.empty (); }
  bool final_seen () const
  {
    const Session *f = followed ();
    return f != nullptr && f->final_seen;
  }
  // Streams whose replay windows are kept: at most kMaxSessions.
  size_t stream_count () const { return sessions_.size (); }
  // Chooses the policy (before the first record).
  void set_stream_policy (StreamPolicy policy) { policy_ = policy; }

  // Streams (salts) whose replay windows are kept.
  static constexpr size_t kMaxSessions = 4;

  // -- Keys ---------------------------------------------------------------
  static constexpr size_t kDefaultMaxKeys = 2;
  static constexpr size_t kMaxKeys = 16;
  // Adds a key (a rotation): tried first from now on. When more than
  // max_keys() are held, the oldest are retired: wiped, and the streams
  // opened under them forgotten (their records are rejected from then on).
  // A key already held changes nothing. Returns how many keys were retired.
  size_t add_key (const SecureBytes &key);
  // Bounds the keys held (1..kMaxKeys); retires the oldest beyond it.
  size_t set_max_keys (size_t n);
  size_t key_count () const { return keys_.size (); }
  size_t max_keys () const { return max_keys_; }
  // How many keys open() may try for the record whose header is `header`
  // (kRecordHeaderSize bytes): 1 for a stream it knows, else every key.
  size_t candidate_keys (const uint8_t *header) const;

private:
  struct Session
  {
    std::array<uint8_t, format::kRecordSaltSize> salt{};
    std::unique_ptr<Gcm> gcm;
    ReplayWindow window;
    bool final_seen = false;
    int64_t last_us = 0;  // when its last record was accepted
    uint64_t key_gen = 0; // the key it authenticated under (HeldKey::gen)
  };
  struct HeldKey
  {
    SecureBytes key;
    uint64_t gen = 0; // order of arrival: higher is newer
  };
  GcmRecordOpener () = default;
  const Session *followed () const;
  void remember (Session fresh);
  size_t retire_beyond_max ();

  std::vector<HeldKey> keys_; // newest first; at most max_keys_
  size_t max_keys_ = kDefaultMaxKeys;
  uint64_t next_gen_ = 0;
  StreamPolicy policy_ = StreamPolicy::kFollowOne;
  std::vector<Session> sessions_; // most recent first; at most kMaxSessions
  std::array<uint8_t, format::kRecordSaltSize> followed_salt_{};
  bool following_ = false;
};

// Everything a codec is made from: a snapshot of the element's settings.
struct CodecConfig
{
  Mode mode = Mode::kCtr;
  bool encrypt = true;
  // The key; the codec keeps a copy only where it needs one later (header
  // key checks, GCM subkeys), wiped when the codec goes.
  const SecureBytes *key = nullptr;
  // CTR: raw CTR from this counter block, no header. CBC: the IV.
  std::optional<std::array<uint8_t, kBlockSize>> iv;
  // CBC (gst-plugins-bad): the IV travels as the first 16 bytes.
  bool serialize_iv = false;
  // CBC (gst-plugins-bad): PKCS#7 on every buffer instead of at the end.
  bool per_buffer_padding = false;
  // Decoders of CTR with header: the header, when the caller has already
  // read it (format detection, key lookup by id, pull mode). The codec
  // then knows its IV at once (seek works before any input) and still
  // expects the stream from offset 0, header included.
  std::optional<StreamHeader> header;
  // gcm-file: Tink's CiphertextSegmentSize S (encoders; decoders read it
  // from the preamble).
  uint32_t segment_size = format::kGcmFileDefaultSegmentSize;
  // gcm-file decoders: skip segments that fail and go on (counted, each
  // reported by take_warnings()) instead of stopping.
  bool skip_damaged_segments = false;
};

// The codec of one mode and direction: exactly one member is set.
struct Codec
{
  std::unique_ptr<StreamCodec> stream;     // CTR, ECB, CBC, gcm-file
  std::unique_ptr<GcmRecordSealer> sealer; // mode=gcm, encrypting
  std::unique_ptr<GcmRecordOpener> opener; // mode=gcm, decrypting
};

// Checks the configuration and builds the codec; the only switch on the
// mode. Problems: kSettings (a combination that cannot work, message names
// the properties), kWrongKey/kFormat (a given header that does not fit the
// key or mode), kLibrary.
Problem make_codec (const CodecConfig &config, Codec *out);

} // namespace aesstream
