// Key files and the user's keyring, with no GStreamer in sight.
//
// A keyring lets aesdec (and aesstream-info) find the key of a stream from
// the key id that self-describing formats carry (docs/keys.md), so that a
// player can open an encrypted file without being told its key.
#pragma once

#include "aescore.hpp"

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace aesstream {

using KeyId = std::array<uint8_t, kKeyIdSize>;

// Who besides the owner may have access to a file holding keys.
enum class SecretFilePolicy
{
  // The keyring (as ssh treats private keys): no permission bit for group
  // or others at all.
  kOwnerOnly,
  // A key-file: may be readable by its group (a service account sharing one
  // key with a group), but never readable by others, and writable by nobody
  // but its owner (whoever can replace a key can have recordings encrypted
  // under a key they know).
  kKeyFile,
};

// Reads a small file holding secrets into `out`, at most `max_size` bytes.
// `what` names the file in messages ("keyring", "key-file"). Regular files
// must satisfy `policy` (the message says which chmod fixes it); a keyring
// must be a regular file, while a key-file may also be a pipe or device
// (`key-file=/dev/fd/3`, a process substitution), which is read with the
// same bound.
bool read_secret_file (const std::string &path, std::string_view what,
    SecretFilePolicy policy, size_t max_size, SecureBytes *out,
    std::string *error);

// Where the keyring is, and in words how it was chosen (for messages):
// $AESSTREAM_KEYRING if set and not empty, else
// $XDG_CONFIG_HOME/aesstream/keyring if XDG_CONFIG_HOME is an absolute path,
// else ~/.config/aesstream/keyring. Arguments are the environment variables'
// values (nullptr when unset) so that tests need not touch the environment.
struct KeyringLocation
{
  std::string path;   // empty if no home directory could be found
  std::string origin; // e.g. "$AESSTREAM_KEYRING"
};
KeyringLocation locate_keyring (const char *aesstream_keyring,
    const char *xdg_config_home, const char *home);
// The same, from the process environment (falls back to the password
// database when HOME is unset).
KeyringLocation default_keyring_location ();

// A parsed keyring. Lines:
//   <key hex>                   a key; its id is derived (key_id())
//   <32 hex digits>:<key hex>   a key with an assigned id
// `#` starts a comment (to the end of the line); blank lines are ignored;
// whitespace around the parts does not matter. Any other line is an error
// naming its line number (never its content, which may hold a key).
class Keyring {
public:
  static constexpr size_t kMaxFileSize = 1 << 20;

  static bool parse (std::string_view text, Keyring *out, std::string *error);

  // Looks a key id up; copies the key into `key` if found.
  bool find (const KeyId &id, SecureBytes *key) const;

  size_t size () const { return entries_.size (); }
  // The ids present, in file order (for `aesstream-info --keyring`).
  std::vector<KeyId> ids () const;

private:
  struct Entry
  {
    KeyId id;
    SecureBytes key;
    size_t line;
  };
  std::vector<Entry> entries_;
};

// The result of looking a key id up in the keyring file at `path`.
enum class KeyringLookup
{
  kFound,
  kNotFound,  // the keyring exists and is valid but has no such id
  kNoKeyring, // there is no file at `path` (not an error: nobody made one)
  kError,     // unreadable, too open, not a regular file, malformed
};

// Loads the keyring at `path` and looks `id` up. `error` is set for kError
// (what is wrong and how to fix it) and kNoKeyring (that it does not exist).
KeyringLookup keyring_find (const std::string &path, const KeyId &id,
    SecureBytes *key, std::string *error);

// Loads and parses the keyring at `path` (used by aesstream-info).
KeyringLookup keyring_load (
    const std::string &path, Keyring *out, std::string *error);

// Parses 32 hex digits (either case) into a key id.
bool parse_key_id_hex (std::string_view text, KeyId *out);

} // namespace aesstream
