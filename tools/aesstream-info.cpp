// aesstream-info: which key does this recording need?
//
//   aesstream-info FILE...     for an encrypted file: format, mode, key
//                              length, key id, segment size, and whether
//                              the keyring holds its key; for a key file:
//                              its key id (the line to add to a keyring)
//   aesstream-info --keyring   where the keyring is and the key ids in it
//
// Never prints a key. Exit status: 0 if every FILE was understood, 1
// otherwise, 2 for a usage error. Installed with the plugin; uses the same
// GStreamer-free core as the elements, so what it reports is what aesdec
// reads.
#include "keyring.hpp"
#include "probe.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

using namespace aesstream;

namespace {

std::string
hex_id (const KeyId &id)
{
  return to_hex (id.data (), id.size ());
}

const char *
aes_name (size_t key_length)
{
  switch (key_length) {
    case 16:
      return "AES-128";
    case 24:
      return "AES-192";
    case 32:
      return "AES-256";
  }
  return "AES";
}

// Reads up to `n` bytes from the start of `path`.
bool
read_head (
    const char *path, uint8_t *buf, size_t n, size_t *got, std::string *error)
{
  int fd = ::open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    *error = std::string ("cannot open: ") + std::strerror (errno);
    return false;
  }
  size_t total = 0;
  while (total < n) {
    ssize_t r = ::read (fd, buf + total, n - total);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      *error = std::string ("cannot read: ") + std::strerror (errno);
      ::close (fd);
      return false;
    }
    if (r == 0)
      break;
    total += static_cast<size_t> (r);
  }
  ::close (fd);
  *got = total;
  return true;
}

void
print_keyring_status (const KeyId &id)
{
  KeyringLocation where = default_keyring_location ();
  SecureBytes key;
  std::string error;
  switch (keyring_find (where.path, id, &key, &error)) {
    case KeyringLookup::kFound:
      std::printf ("  keyring: has this key (%s)\n", where.path.c_str ());
      break;
    case KeyringLookup::kNotFound:
      std::printf (
          "  keyring: has no key with this id (%s)\n", where.path.c_str ());
      break;
    case KeyringLookup::kNoKeyring:
    case KeyringLookup::kError:
      std::printf ("  keyring: %s\n", error.c_str ());
      break;
  }
}

bool
describe_stream (const char *path, const StreamInfo &info)
{
  std::printf ("%s: aesstream encrypted stream\n", path);
  std::printf ("  format: %s, version %u\n", stream_format_name (info.format),
      info.version);
  std::printf ("  mode: %s\n", info.mode);
  if (info.key_length != 0)
    std::printf ("  key length: %u bytes (%s)\n", info.key_length,
        aes_name (info.key_length));
  else
    std::printf ("  key length: not recorded by this format\n");
  if (info.has_key_id) {
    std::printf ("  key id: %s\n", hex_id (info.key_id).c_str ());
  } else if (info.format == StreamFormat::kCtrHeader) {
    std::printf ("  key id: not recorded (version 1 header, written before "
                 "key ids; aesdec needs key or key-file)\n");
  } else {
    std::printf ("  key id: not recorded (GCM records carry none; aesdec "
                 "needs key or key-file)\n");
  }
  if (info.format == StreamFormat::kGcmFile)
    std::printf ("  segment size: %u bytes\n", info.segment_size);
  std::printf ("  header size: %zu bytes\n", info.header_size);
  if (info.has_key_id)
    print_keyring_status (info.key_id);
  return true;
}

bool
describe_file (const char *path)
{
  uint8_t head[kProbeSize];
  size_t n = 0;
  std::string error;
  if (!read_head (path, head, sizeof (head), &n, &error)) {
    std::fprintf (stderr, "%s: %s\n", path, error.c_str ());
    return false;
  }
  StreamInfo info;
  switch (probe_stream (head, n, &info, &error)) {
    case ProbeResult::kMatch:
      return describe_stream (path, info);
    case ProbeResult::kInvalid:
      std::fprintf (stderr, "%s: %s\n", path, error.c_str ());
      return false;
    case ProbeResult::kNeedMore:
      std::fprintf (stderr,
          "%s: starts like an aesstream header but ends after %zu bytes "
          "(truncated?)\n",
          path, n);
      return false;
    case ProbeResult::kNoMatch:
      break;
  }
  // Not a stream of ours: perhaps a key file.
  SecureBytes key;
  std::string key_error;
  if (read_key_file (path, &key, &key_error)) {
    KeyId id = key_id (key);
    std::printf ("%s: key file, %s\n", path, aes_name (key.size ()));
    std::printf ("  key id: %s\n", hex_id (id).c_str ());
    return true;
  }
  // A key file that read_key_file refused for a reason worth telling
  // (permissions, a typo in the hex): say that rather than "unknown". Text
  // that starts like hex is taken for an attempted key file.
  bool texty = n > 0;
  for (size_t i = 0; i < n; i++)
    texty = texty && (std::isxdigit (head[i]) || std::isspace (head[i]));
  if (key_error.find ("chmod") != std::string::npos || texty) {
    std::fprintf (stderr, "%s: %s\n", path, key_error.c_str ());
    return false;
  }
  std::fprintf (stderr,
      "%s: not an aesstream stream (no \"AESs\" or \"Ag\" header) and not a "
      "key file. Raw modes (mode=ctr with iv, ecb, cbc) write no header, so "
      "nothing can be told about them.\n",
      path);
  return false;
}

int
list_keyring ()
{
  KeyringLocation where = default_keyring_location ();
  std::printf ("keyring: %s (from %s)\n",
      where.path.empty () ? "(none)" : where.path.c_str (),
      where.origin.c_str ());
  Keyring ring;
  std::string error;
  switch (keyring_load (where.path, &ring, &error)) {
    case KeyringLookup::kFound:
    case KeyringLookup::kNotFound:
      break;
    case KeyringLookup::kNoKeyring:
      std::printf ("  %s\n", error.c_str ());
      return 0;
    case KeyringLookup::kError:
      std::fprintf (stderr, "%s\n", error.c_str ());
      return 1;
  }
  std::printf ("  %zu key%s\n", ring.size (), ring.size () == 1 ? "" : "s");
  for (const KeyId &id : ring.ids ())
    std::printf ("  key id: %s\n", hex_id (id).c_str ());
  return 0;
}

void
usage (FILE *to)
{
  std::fprintf (to,
      "usage: aesstream-info FILE...   describe encrypted files and key files\n"
      "       aesstream-info --keyring list the key ids in your keyring\n");
}

} // namespace

int
main (int argc, char **argv)
{
  if (argc == 2 && std::strcmp (argv[1], "--keyring") == 0)
    return list_keyring ();
  if (argc == 2
      && (std::strcmp (argv[1], "--help") == 0
          || std::strcmp (argv[1], "-h") == 0)) {
    usage (stdout);
    return 0;
  }
  if (argc < 2) {
    usage (stderr);
    return 2;
  }
  bool ok = true;
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] == '-' && argv[i][1] != '\0') {
      usage (stderr);
      return 2;
    }
    ok = describe_file (argv[i]) && ok;
  }
  return ok ? 0 : 1;
}
