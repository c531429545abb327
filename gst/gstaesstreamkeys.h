/* Finding the key of a stream by its key id (docs/keys.md): the
 * `request-key` signal, then the user's keyring. Shared by aesdec and the
 * autopluggable decryptor; the lookup itself is in the GStreamer-free core
 * (keyring.hpp). */
#pragma once

#include <gst/gst.h>

#include <string>

#include "aescore.hpp"
#include "keyring.hpp"

/* Installs the `request-key` action-less signal on `type`:
 *
 *   gchar *request_key (GstElement *element, const gchar *key_id,
 *                       gpointer user_data)
 *
 * key_id: 32 lowercase hex digits. A handler returns the key as hex
 * (newly allocated; it is wiped and freed by the element) or NULL if it does
 * not know the key; handlers run in order until one returns a key. Emitted
 * from the streaming thread, when the stream's header has been read. */
guint gst_aes_stream_install_request_key_signal (GType type);

/* Looks `id` up: `request-key` on `element` (signal `signal_id`), then the
 * keyring. Returns true with the key in `key` and where it came from in
 * `source` ("request-key", or the keyring's path); else false with a
 * message for the user in `error` that names the key id and where it
 * looked. A key from request-key must have this id. */
bool gst_aes_stream_find_key (GstElement *element, guint signal_id,
    const aesstream::KeyId &id, aesstream::SecureBytes *key,
    std::string *source, std::string *error);
