// libFuzzer target: the core's parsers (gst/aescore.hpp), no GStreamer.
// The first input byte picks the parser, the rest is its input:
//   0  StreamHeader::parse      (accepted headers re-serialise to the input)
//   1  GcmRecord::parse         (same round trip)
//   2  parse_hex / parse_key_hex / parse_iv_hex (accepted text round-trips
//      through to_hex)
//   3  read_key_file on a regular file holding the input
//   4  a GCM record stream opened with the seeds' key: framing, subkeys,
//      replay windows; only known plaintext may come out of a record that
//      authenticates
//   5  probe_stream (format detection; a match is a well-formed header)
//   6  Keyring::parse (every id found is an id parsed)
//   7  GcmRecordOpener over a record stream (policy from the next byte,
//      time advancing per record): only known plaintext comes out, at
//      most kMaxSessions streams are kept
// Oracle: no crash, no sanitizer report, the round trips above.
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "aescore.hpp"
#include "codec.hpp"
#include "fuzz_common.hpp"
#include "keyring.hpp"
#include "probe.hpp"

using namespace aesstream;

namespace {

void
check (bool ok, const char *what)
{
  if (!ok) {
    std::fprintf (stderr, "oracle failed: %s\n", what);
    abort ();
  }
}

void
fuzz_stream_header (const uint8_t *d, size_t n)
{
  StreamHeader h;
  std::string error;
  if (StreamHeader::parse (d, n, &h, &error)) {
    check (n >= StreamHeader::kSize, "header accepted from fewer bytes");
    auto again = h.serialize ();
    check (std::memcmp (again.data (), d, again.size ()) == 0,
        "header does not re-serialise to its input");
  } else {
    check (!error.empty (), "header refused without a message");
  }
}

void
fuzz_gcm_header (const uint8_t *d, size_t n)
{
  if (n < GcmRecord::kHeaderSize)
    return; // parse() reads exactly 24 bytes; callers check the size
  GcmRecord r;
  std::string error;
  if (GcmRecord::parse (d, &r, &error)) {
    uint8_t again[GcmRecord::kHeaderSize];
    r.serialize (again);
    check (std::memcmp (again, d, sizeof (again)) == 0,
        "record header does not re-serialise to its input");
    check (r.length <= GcmRecord::kMaxLength, "record length above maximum");
  } else {
    check (!error.empty (), "record header refused without a message");
  }
}

void
fuzz_hex (const uint8_t *d, size_t n)
{
  std::string_view text (reinterpret_cast<const char *> (d), n);
  std::string error;
  SecureBytes out;
  auto lower = [] (std::string_view s) {
    std::string l (s);
    for (char &c : l)
      c = static_cast<char> (std::tolower (static_cast<unsigned char> (c)));
    return l;
  };
  if (parse_hex (text, "value", {1, 2, 3, 8, 16}, &out, &error))
    check (to_hex (out.data (), out.size ()) == lower (text), "hex round trip");
  if (parse_key_hex (text, &out, &error))
    check (out.size () == 16 || out.size () == 24 || out.size () == 32,
        "key of an AES size");
  std::array<uint8_t, kBlockSize> iv;
  if (parse_iv_hex (text, &iv, &error))
    check (to_hex (iv.data (), iv.size ()) == lower (text), "iv round trip");
  // Error messages never repeat the text: it may be a key.
  bool key_like = n >= 12
                  && text.find_first_not_of ("0123456789abcdefABCDEF")
                         == std::string_view::npos;
  if (key_like && !error.empty ())
    check (error.find (text.substr (0, 12)) == std::string::npos,
        "error message quotes the input");
}

void
fuzz_key_file (const uint8_t *d, size_t n)
{
  // A memfd is a regular file with no name on disk.
  int fd = memfd_create ("aesstream-fuzz-key", 0);
  if (fd < 0)
    return;
  // Owner-only, as a key file must be (docs/keys.md).
  if (fchmod (fd, 0600) != 0
      || (n > 0 && write (fd, d, n) != static_cast<ssize_t> (n))) {
    close (fd);
    return;
  }
  std::string path = "/proc/self/fd/" + std::to_string (fd);
  SecureBytes key;
  std::string error;
  if (read_key_file (path, &key, &error))
    check (n <= 4096
               && (key.size () == 16 || key.size () == 24 || key.size () == 32),
        "key file accepted");
  else
    check (!error.empty (), "key file refused without a message");
  close (fd);
}

// A minimal record reader over one byte stream: the format's rules
// (docs/format.md) with the core's primitives, so that the primitives are
// fuzzed with authentic records too.
void
fuzz_gcm_stream (const uint8_t *d, size_t n)
{
  static const SecureBytes key = [] {
    SecureBytes k;
    std::string e;
    parse_key_hex (fuzz::kKeyHex, &k, &e);
    return k;
  }();
  struct Session
  {
    std::unique_ptr<Gcm> gcm;
    ReplayWindow window;
  };
  std::map<std::array<uint8_t, GcmRecord::kSaltSize>, Session> sessions;
  size_t pos = 0;
  while (pos + GcmRecord::kHeaderSize <= n && sessions.size () < 8) {
    GcmRecord r;
    std::string error;
    if (!GcmRecord::parse (d + pos, &r, &error)) {
      pos++;
      continue;
    }
    size_t total = size_t{r.length} + GcmRecord::kOverhead;
    if (total > n - pos) {
      pos++;
      continue;
    }
    Session &s = sessions[r.salt];
    if (!s.gcm) {
      SecureBytes sub = GcmRecord::derive_key (key, r.salt);
      check (sub.size () == key.size (), "subkey derived");
      s.gcm = Gcm::create (sub, false, &error);
      check (s.gcm != nullptr, "GCM context");
    }
    if (s.window.check (r.seq) != ReplayWindow::Verdict::kNew) {
      pos += total;
      continue;
    }
    auto nonce = GcmRecord::nonce (r.seq);
    std::vector<uint8_t> plain (r.length + 1);
    const uint8_t *rec = d + pos;
    if (s.gcm->open (nonce.data (), rec, GcmRecord::kHeaderSize,
            rec + GcmRecord::kHeaderSize, r.length, plain.data (),
            rec + GcmRecord::kHeaderSize + r.length)) {
      check (fuzz::is_in_known_plaintext (plain.data (), r.length),
          "an authenticated record holds bytes the sender never sealed");
      s.window.accept (r.seq);
      check (s.window.check (r.seq) == ReplayWindow::Verdict::kDuplicate,
          "replay window forgets an accepted record");
      pos += total;
    } else {
      pos++;
    }
  }
}

void
fuzz_probe (const uint8_t *d, size_t n)
{
  StreamInfo info;
  std::string error;
  switch (probe_stream (d, n, &info, &error)) {
    case ProbeResult::kMatch:
      check (info.mode != nullptr && info.mode[0] != '\0', "probe: a mode");
      check (info.key_length == 0 || info.key_length == 16
                 || info.key_length == 24 || info.key_length == 32,
          "probe: an AES key length");
      check ((info.header_size > 0 && info.header_size <= n)
                 || info.format == StreamFormat::kGcmRecords,
          "probe: a header within the bytes given");
      break;
    case ProbeResult::kInvalid:
      check (!error.empty (), "probe: invalid without a message");
      break;
    case ProbeResult::kNeedMore:
      check (n < kProbeSize, "probe: needs more than kProbeSize bytes");
      break;
    case ProbeResult::kNoMatch:
      break;
  }
}

void
fuzz_keyring (const uint8_t *d, size_t n)
{
  Keyring ring;
  std::string error;
  std::string_view text (reinterpret_cast<const char *> (d), n);
  if (Keyring::parse (text, &ring, &error)) {
    check (ring.ids ().size () == ring.size (), "keyring: ids");
    for (const KeyId &id : ring.ids ()) {
      SecureBytes key;
      check (ring.find (id, &key), "keyring: a listed id is found");
      check (key.size () == 16 || key.size () == 24 || key.size () == 32,
          "keyring: an AES key");
    }
  } else {
    check (!error.empty (), "keyring refused without a message");
  }
}

void
fuzz_opener (const uint8_t *d, size_t n)
{
  if (n < 1)
    return;
  static const SecureBytes key = [] {
    SecureBytes k;
    std::string e;
    parse_key_hex (fuzz::kKeyHex, &k, &e);
    return k;
  }();
  Problem p;
  auto policy = static_cast<GcmRecordOpener::StreamPolicy> (d[0] % 3);
  auto opener = GcmRecordOpener::create (key, &p, policy);
  d++;
  n--;
  size_t pos = 0;
  int64_t now = 0;
  std::vector<uint8_t> plain;
  while (pos + GcmRecord::kHeaderSize <= n) {
    GcmRecord r;
    std::string error;
    if (!GcmRecord::parse (d + pos, &r, &error)) {
      pos++;
      continue;
    }
    size_t total = size_t{r.length} + GcmRecord::kOverhead;
    if (total > n - pos) {
      pos++;
      continue;
    }
    plain.assign (r.length + 1, 0);
    auto v = opener->open (d + pos, total, plain.data (), now);
    now += 300000;
    if (v.kind == GcmRecordOpener::Verdict::Kind::kAccepted)
      check (fuzz::is_in_known_plaintext (plain.data (), v.length),
          "the opener accepted bytes the sender never sealed");
    check (opener->stream_count () <= GcmRecordOpener::kMaxSessions,
        "the opener keeps more streams than kMaxSessions");
    pos += v.kind == GcmRecordOpener::Verdict::Kind::kRejected ? 1 : total;
  }
}

} // namespace

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size == 0)
    return 0;
  // An exact-size copy, so that ASan catches a read past the end.
  std::unique_ptr<uint8_t[]> copy (new uint8_t[size - 1 + 1]);
  std::memcpy (copy.get (), data + 1, size - 1);
  const uint8_t *d = copy.get ();
  size_t n = size - 1;
  switch (data[0] % 8) {
    case 0:
      fuzz_stream_header (d, n);
      break;
    case 1:
      fuzz_gcm_header (d, n);
      break;
    case 2:
      fuzz_hex (d, n);
      break;
    case 3:
      fuzz_key_file (d, n);
      break;
    case 4:
      fuzz_gcm_stream (d, n);
      break;
    case 5:
      fuzz_probe (d, n);
      break;
    case 6:
      fuzz_keyring (d, n);
      break;
    case 7:
      fuzz_opener (d, n);
      break;
  }
  return 0;
}
