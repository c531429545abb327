#include "keyring.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace aesstream {

namespace {

std::string
octal_mode (mode_t mode)
{
  char buf[8];
  std::snprintf (
      buf, sizeof (buf), "%04o", static_cast<unsigned> (mode & 07777));
  return buf;
}

// Why a regular file is too open for `policy`, or an empty string.
std::string
permission_problem (const std::string &path, std::string_view what,
    SecretFilePolicy policy, mode_t mode)
{
  const std::string where = std::string (what) + " '" + path + "'";
  const std::string perms = " (permissions " + octal_mode (mode) + ")";
  if (policy == SecretFilePolicy::kOwnerOnly) {
    if ((mode & 077) == 0)
      return "";
    return where + " is accessible by other users" + perms
           + "; it holds keys and must be private to you: chmod 600 '" + path
           + "'";
  }
  if ((mode & (S_IWGRP | S_IWOTH)) != 0)
    return where + " is writable by other users" + perms
           + ": whoever can write it can replace the key. Run chmod 600 '"
           + path + "' (or chmod 640 to share it read-only with its group)";
  if ((mode & S_IROTH) != 0)
    return where + " is readable by all users" + perms
           + ": anyone on this machine can read the key. Run chmod 600 '" + path
           + "' (or chmod 640 to share it with its group)";
  return "";
}

bool
is_space (char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view
trim (std::string_view s)
{
  while (!s.empty () && is_space (s.front ()))
    s.remove_prefix (1);
  while (!s.empty () && is_space (s.back ()))
    s.remove_suffix (1);
  return s;
}

} // namespace

bool
read_secret_file (const std::string &path, std::string_view what,
    SecretFilePolicy policy, size_t max_size, SecureBytes *out,
    std::string *error)
{
  const std::string where = std::string (what) + " '" + path + "'";
  // Opened without blocking: a FIFO with no writer would otherwise make
  // open() wait forever inside the element's start() (issue 11, finding 6).
  int fd = ::open (path.c_str (), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    *error = "cannot open " + where + ": " + std::strerror (errno);
    return false;
  }
  struct stat st;
  if (::fstat (fd, &st) != 0) {
    *error = "cannot read " + where + ": " + std::strerror (errno);
    ::close (fd);
    return false;
  }
  const bool regular = S_ISREG (st.st_mode);
  // The keyring is found by convention, not named by the user: only a
  // regular file. A key-file the user names may be a pipe (a process
  // substitution, `key-file=<(pass show k)`): read with a deadline instead.
  if (!regular
      && (policy == SecretFilePolicy::kOwnerOnly || S_ISDIR (st.st_mode))) {
    *error = where + " is not a regular file";
    ::close (fd);
    return false;
  }
  if (regular) {
    // Checked on the open descriptor, so that the file read is the file
    // checked (no window for a rename in between).
    std::string problem = permission_problem (path, what, policy, st.st_mode);
    if (!problem.empty ()) {
      *error = problem;
      ::close (fd);
      return false;
    }
    if (static_cast<unsigned long long> (st.st_size) > max_size) {
      *error
          = where + " is larger than " + std::to_string (max_size) + " bytes";
      ::close (fd);
      return false;
    }
  }
  // Read at most max_size + 1 bytes whatever the file claims, so that a
  // device or a file growing under us cannot make us read without bound;
  // and, for a pipe, FIFO or device, within kSecretReadSeconds, so that a
  // writer that never writes (or never closes) cannot block start().
  constexpr int kSecretReadSeconds = 5;
  const auto deadline = std::chrono::steady_clock::now ()
                        + std::chrono::seconds (kSecretReadSeconds);
  SecureBytes content (max_size + 1);
  size_t n = 0;
  while (n < content.size ()) {
    ssize_t r = ::read (fd, content.data () + n, content.size () - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0 && errno == EAGAIN && !regular) {
      auto left_ms = std::chrono::duration_cast<std::chrono::milliseconds> (
          deadline - std::chrono::steady_clock::now ())
                         .count ();
      struct pollfd pfd = {fd, POLLIN, 0};
      if (left_ms <= 0 || ::poll (&pfd, 1, static_cast<int> (left_ms)) == 0) {
        *error = where + " is not a regular file and delivered no key within "
                 + std::to_string (kSecretReadSeconds)
                 + " seconds (its writer never wrote or never closed it)";
        ::close (fd);
        return false;
      }
      continue;
    }
    if (r < 0) {
      *error = "cannot read " + where + ": " + std::strerror (errno);
      ::close (fd);
      return false;
    }
    if (r == 0)
      break;
    n += static_cast<size_t> (r);
  }
  ::close (fd);
  if (n > max_size) {
    *error = where + " is larger than " + std::to_string (max_size) + " bytes";
    return false;
  }
  if (n == 0 && !regular) {
    *error = where
             + " is not a regular file and delivered nothing (a FIFO with no "
               "writer?): name a file holding the key, or a pipe that writes "
               "it";
    return false;
  }
  *out = SecureBytes (content.data (), n);
  return true;
}

KeyringLocation
locate_keyring (const char *aesstream_keyring, const char *xdg_config_home,
    const char *home)
{
  if (aesstream_keyring != nullptr && aesstream_keyring[0] != '\0')
    return {aesstream_keyring, "$AESSTREAM_KEYRING"};
  // The XDG base directory specification: a relative XDG_CONFIG_HOME is
  // invalid and must be ignored.
  if (xdg_config_home != nullptr && xdg_config_home[0] == '/')
    return {std::string (xdg_config_home) + "/aesstream/keyring",
        "$XDG_CONFIG_HOME/aesstream/keyring"};
  if (home != nullptr && home[0] != '\0')
    return {std::string (home) + "/.config/aesstream/keyring",
        "~/.config/aesstream/keyring"};
  return {"", "~/.config/aesstream/keyring (no home directory)"};
}

KeyringLocation
default_keyring_location ()
{
  const char *home = std::getenv ("HOME");
  std::string pw_home;
  if (home == nullptr || home[0] == '\0') {
    struct passwd pw, *result = nullptr;
    char buf[4096];
    if (getpwuid_r (geteuid (), &pw, buf, sizeof (buf), &result) == 0
        && result != nullptr && result->pw_dir != nullptr) {
      pw_home = result->pw_dir;
      home = pw_home.c_str ();
    }
  }
  return locate_keyring (
      std::getenv ("AESSTREAM_KEYRING"), std::getenv ("XDG_CONFIG_HOME"), home);
}

bool
parse_key_id_hex (std::string_view text, KeyId *out)
{
  if (text.size () != 2 * kKeyIdSize)
    return false;
  KeyId id{};
  for (size_t i = 0; i < id.size (); i++) {
    int hi = hex_value (text[2 * i]), lo = hex_value (text[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return false;
    id[i] = static_cast<uint8_t> (hi << 4 | lo);
  }
  *out = id;
  return true;
}

bool
Keyring::parse (std::string_view text, Keyring *out, std::string *error)
{
  Keyring ring;
  size_t line_no = 0;
  while (!text.empty ()) {
    line_no++;
    size_t nl = text.find ('\n');
    std::string_view line = text.substr (0, nl);
    text.remove_prefix (nl == std::string_view::npos ? text.size () : nl + 1);
    size_t hash = line.find ('#');
    if (hash != std::string_view::npos)
      line = line.substr (0, hash);
    line = trim (line);
    if (line.empty ())
      continue;

    const std::string at = "line " + std::to_string (line_no) + ": ";
    Entry entry;
    entry.line = line_no;
    std::string_view key_text = line;
    size_t colon = line.find (':');
    bool assigned = colon != std::string_view::npos;
    if (assigned) {
      if (!parse_key_id_hex (trim (line.substr (0, colon)), &entry.id)) {
        *error = at + "a key id before ':' must be 32 hex digits";
        return false;
      }
      key_text = trim (line.substr (colon + 1));
    }
    std::string key_error;
    if (!parse_key_hex (key_text, &entry.key, &key_error)) {
      *error = at + key_error;
      return false;
    }
    if (!assigned)
      entry.id = key_id (entry.key);
    for (const Entry &e : ring.entries_) {
      if (e.id != entry.id)
        continue;
      // The same key listed twice is harmless; two keys under one id would
      // make the answer depend on line order.
      if (e.key.size () != entry.key.size ()
          || std::memcmp (e.key.data (), entry.key.data (), e.key.size ())
                 != 0) {
        *error = at + "key id " + to_hex (entry.id.data (), entry.id.size ())
                 + " is also on line " + std::to_string (e.line)
                 + " with a different key";
        return false;
      }
    }
    ring.entries_.push_back (std::move (entry));
  }
  *out = std::move (ring);
  return true;
}

bool
Keyring::find (const KeyId &id, SecureBytes *key) const
{
  for (const Entry &e : entries_) {
    if (e.id == id) {
      *key = e.key.clone ();
      return true;
    }
  }
  return false;
}

std::vector<KeyId>
Keyring::ids () const
{
  std::vector<KeyId> out;
  for (const Entry &e : entries_)
    out.push_back (e.id);
  return out;
}

KeyringLookup
keyring_load (const std::string &path, Keyring *out, std::string *error)
{
  if (path.empty ()) {
    *error = "no keyring: no home directory to look in";
    return KeyringLookup::kNoKeyring;
  }
  struct stat st;
  if (::stat (path.c_str (), &st) != 0 && errno == ENOENT) {
    *error = "keyring '" + path + "' does not exist";
    return KeyringLookup::kNoKeyring;
  }
  SecureBytes content;
  if (!read_secret_file (path, "keyring", SecretFilePolicy::kOwnerOnly,
          Keyring::kMaxFileSize, &content, error))
    return KeyringLookup::kError;
  std::string parse_error;
  if (!Keyring::parse (
          std::string_view (reinterpret_cast<const char *> (content.data ()),
              content.size ()),
          out, &parse_error)) {
    *error = "keyring '" + path + "' " + parse_error;
    return KeyringLookup::kError;
  }
  return KeyringLookup::kFound;
}

KeyringLookup
keyring_find (const std::string &path, const KeyId &id, SecureBytes *key,
    std::string *error)
{
  Keyring ring;
  KeyringLookup r = keyring_load (path, &ring, error);
  if (r != KeyringLookup::kFound)
    return r;
  if (!ring.find (id, key)) {
    *error = "keyring '" + path + "' has no key with id "
             + to_hex (id.data (), id.size ());
    return KeyringLookup::kNotFound;
  }
  return KeyringLookup::kFound;
}

} // namespace aesstream
