#include "gstaesstreamkeys.h"

#include <openssl/crypto.h>

#include <cstring>

namespace {

/* Handlers run in connection order until one returns a key, so that
 * several parts of an application can each answer for their own keys. */
gboolean
first_key_wins (
    GSignalInvocationHint *hint, GValue *acc, const GValue *ret, gpointer data)
{
  const gchar *key = g_value_get_string (ret);
  if (key == NULL)
    return TRUE; /* go on */
  g_value_copy (ret, acc);
  return FALSE;
}

void
free_secret_string (gchar *s)
{
  if (s != NULL) {
    OPENSSL_cleanse (s, strlen (s));
    g_free (s);
  }
}

} // namespace

guint
gst_aes_stream_install_request_key_signal (GType type)
{
  return g_signal_new ("request-key", type, G_SIGNAL_RUN_LAST, 0,
      first_key_wins, NULL, NULL, G_TYPE_STRING, 1, G_TYPE_STRING);
}

bool
gst_aes_stream_find_key (GstElement *element, guint signal_id,
    const aesstream::KeyId &id, aesstream::SecureBytes *key,
    std::string *source, std::string *error)
{
  const std::string id_hex = aesstream::to_hex (id.data (), id.size ());

  /* 1. The application. */
  gchar *answer = NULL;
  g_signal_emit (element, signal_id, 0, id_hex.c_str (), &answer);
  if (answer != NULL) {
    aesstream::SecureBytes candidate;
    std::string parse_error;
    bool ok = aesstream::parse_key_hex (answer, &candidate, &parse_error);
    free_secret_string (answer);
    if (!ok) {
      *error = "request-key returned an invalid key for key id " + id_hex + ": "
               + parse_error;
      return false;
    }
    aesstream::KeyId got = aesstream::key_id (candidate);
    if (got != id) {
      *error = "request-key returned a key whose id is "
               + aesstream::to_hex (got.data (), got.size ())
               + ", but the stream needs key id " + id_hex;
      return false;
    }
    *key = std::move (candidate);
    *source = "request-key";
    return true;
  }

  /* 2. The user's keyring. */
  aesstream::KeyringLocation where = aesstream::default_keyring_location ();
  std::string keyring_error;
  switch (aesstream::keyring_find (where.path, id, key, &keyring_error)) {
    case aesstream::KeyringLookup::kFound:
      *source = where.path;
      return true;
    case aesstream::KeyringLookup::kError:
      /* A keyring that is there but unusable (too open, malformed) is
       * an error in itself: the user meant it to be used. */
      *error = "cannot use the keyring to find key id " + id_hex + ": "
               + keyring_error;
      return false;
    case aesstream::KeyringLookup::kNotFound:
    case aesstream::KeyringLookup::kNoKeyring:
      break;
  }
  *error = "No key for this stream (key id " + id_hex
           + "). Looked in: the request-key signal (no handler returned a "
             "key), then the keyring: "
           + keyring_error + " (found through " + where.origin
           + "). Set key or key-file, or add the key to the keyring "
             "(docs/keys.md).";
  return false;
}
