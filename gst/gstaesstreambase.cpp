/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * GstAesStreamBase: the part of aesenc/aesdec that both share.
 *
 * Settings (what the user set through properties) live under the object
 * lock and are validated when set, so a wrong value is reported at once.
 *
 * Lifecycle (late configuration, as gst-plugins-bad's elements allow):
 *  - start() checks the settings it has, fatally: a wrong value fails the
 *    state change. A value that is still missing (no key, no iv where CBC
 *    needs one) is not an error yet, because a program may set it after
 *    start (gst_harness_new() starts the element before it is configured).
 *  - The stream needs its settings at its first buffer, or at EOS for an
 *    empty stream: ensure_configured() takes the snapshot there, freezes the
 *    settings, checks them again (a missing key is an error now, before any
 *    output), loads the key and hands the snapshot to the element
 *    (start_stream) to build its codec from. From then on property changes
 *    are refused.
 *  - stop() has the element drop that state, wiping every key copy the
 *    stream used; the settings may change again.
 * Everything mode-specific lives in the codecs (codec.hpp); everything
 * direction-specific in the elements.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstaesstreambase.h"

#include <array>
#include <atomic>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aescore.hpp"
#include "gstaesstreamprivate.hpp"

/* The shared code logs in the element's own category. */
#define BASE_CAT(self) (GST_AES_STREAM_BASE_GET_CLASS (self)->debug)

using aesstream::kBlockSize;
using aesstream::Mode;
using aesstream::SecureBytes;

enum
{
  PROP_0,
  PROP_MODE,
  PROP_KEY,
  PROP_KEY_FILE,
  PROP_IV,
  PROP_CIPHER,
  PROP_SERIALIZE_IV,
  PROP_PER_BUFFER_PADDING,
};

#define DEFAULT_MODE GST_AES_STREAM_MODE_CTR
#define DEFAULT_CIPHER GST_AES_STREAM_CIPHER_AES_128_CBC
#define DEFAULT_SERIALIZE_IV FALSE
#define DEFAULT_PER_BUFFER_PADDING TRUE

namespace {

struct Settings
{
  GstAesStreamMode mode = DEFAULT_MODE;
  /* Whether each property was set by the user (to any value, its default
   * included): without `mode`, setting any of iv, cipher, serialize-iv or
   * per-buffer-padding means gst-plugins-bad's AES-CBC (resolve_mode). */
  bool mode_set = false;
  GstAesStreamCipher cipher = DEFAULT_CIPHER;
  bool cipher_set = false;
  bool serialize_iv = DEFAULT_SERIALIZE_IV;
  bool serialize_iv_set = false;
  bool per_buffer_padding = DEFAULT_PER_BUFFER_PADDING;
  bool per_buffer_padding_set = false;
  /* The parsed key, empty when unset. Kept (wiped on replace and finalize)
   * so that the element can be restarted without setting it again. */
  SecureBytes key;
  /* Why the last value given to `key` was rejected; empty if it was fine. */
  std::string key_error;
  std::string key_file;
  std::optional<std::array<uint8_t, kBlockSize>> iv;
  std::string iv_error;
  /* iv was given a value (even a malformed one); NULL or "" unsets it. */
  bool iv_set = false;

  /* A copy to work from without the lock (the key as a wiped copy). */
  Settings snapshot () const
  {
    Settings s;
    s.mode = mode;
    s.mode_set = mode_set;
    s.cipher = cipher;
    s.cipher_set = cipher_set;
    s.serialize_iv = serialize_iv;
    s.serialize_iv_set = serialize_iv_set;
    s.per_buffer_padding = per_buffer_padding;
    s.per_buffer_padding_set = per_buffer_padding_set;
    s.key = key.clone ();
    s.key_error = key_error;
    s.key_file = key_file;
    s.iv = iv;
    s.iv_error = iv_error;
    s.iv_set = iv_set;
    return s;
  }
};

/* The mode a stream runs with, and why. */
struct ResolvedMode
{
  GstAesStreamMode mode;
  /* No `mode`, but a gst-plugins-bad property: their AES-CBC, exactly,
   * with `cipher`'s key size (default AES-128). */
  bool compat;
};

struct Impl
{
  Settings settings;
  /* From the late-configuration point (first buffer, or EOS of an empty
   * stream) to stop: the settings are frozen, changes are refused. Written
   * under the object lock by the streaming thread (and by start/stop when
   * no stream runs), so that thread may read it without. */
  bool configured = false;
  /* The configuration failed (an error was posted): refuse every buffer
   * until the next start. */
  bool config_failed = false;

  /* Key rotation (mode=gcm): a key set while the stream runs, parsed (or
   * read from its file) in the application's thread and handed to the
   * streaming thread under the object lock; the element applies it at its
   * next record. `key_pending` lets the streaming thread check for one
   * with an atomic load instead of the lock on every buffer. A value that
   * was rejected travels as `pending_error`: the stream then stops rather
   * than go on under the key the application wanted to replace. Several
   * keys set before the next record are all kept, in order (aesdec adds
   * each; aesenc uses the last), at most kMaxPendingKeys. */
  static constexpr size_t kMaxPendingKeys = 16;
  std::vector<SecureBytes> pending_keys;
  std::string pending_error;
  std::atomic<bool> key_pending{false};

  /* The transform had nothing to output for its input (a block or segment
   * not complete yet): not a loss, so the next output is not DISCONT. */
  bool nothing_yet = false;
  /* Output units still to send for the last input (gcm-file segments),
   * handed out by generate_output after the one transform returned. */
  std::deque<GstBuffer *> pending_units;
  void drop_pending_units ()
  {
    for (GstBuffer *b : pending_units)
      gst_buffer_unref (b);
    pending_units.clear ();
  }

  void drop_pending_key ()
  {
    pending_keys.clear (); /* SecureBytes wipe themselves */
    pending_error.clear ();
    key_pending = false;
  }
  /* The output allocation the base class decided on, read once after each
   * negotiation instead of asked for on every output buffer (streaming
   * thread only; dropped by decide_allocation and stop). */
  struct Allocation
  {
    bool known = false;
    GstBufferPool *pool = NULL; /* active, with buffers of pool_size */
    guint pool_size = 0;
    GstAllocator *allocator = NULL;
    GstAllocationParams params{};
    /* Ours, for large outputs when downstream offers no pool. */
    GstBufferPool *own_pool = NULL;
    gsize own_size = 0;
    void clear ()
    {
      if (pool)
        gst_object_unref (pool);
      if (own_pool) {
        gst_buffer_pool_set_active (own_pool, FALSE);
        gst_object_unref (own_pool);
      }
      if (allocator)
        gst_object_unref (allocator);
      *this = Allocation ();
    }
  } allocation;
};

Mode
core_mode (GstAesStreamMode mode)
{
  switch (mode) {
    case GST_AES_STREAM_MODE_ECB:
      return Mode::kEcb;
    case GST_AES_STREAM_MODE_CBC:
      return Mode::kCbc;
    case GST_AES_STREAM_MODE_GCM:
      return Mode::kGcm;
    case GST_AES_STREAM_MODE_GCM_FILE:
      return Mode::kGcmFile;
    case GST_AES_STREAM_MODE_CTR:
    default:
      return Mode::kCtr;
  }
}

/* The one place that decides the mode from the settings. An explicit
 * `mode` wins. Without it, any property of gst-plugins-bad's elements
 * (iv, cipher, serialize-iv, per-buffer-padding; set to any value) means
 * their AES-CBC, because that is what the same launch line meant there;
 * with none of them, CTR with the aesstream header. */
ResolvedMode
resolve_mode (const Settings &s)
{
  if (s.mode_set)
    return {s.mode, false};
  if (s.iv_set || s.cipher_set || s.serialize_iv_set
      || s.per_buffer_padding_set)
    return {GST_AES_STREAM_MODE_CBC, true};
  return {DEFAULT_MODE, false};
}

size_t
cipher_key_length (GstAesStreamCipher cipher)
{
  switch (cipher) {
    case GST_AES_STREAM_CIPHER_AES_256_CBC:
      return 32;
    case GST_AES_STREAM_CIPHER_AES_192_CBC:
      return 24;
    case GST_AES_STREAM_CIPHER_AES_128_CBC:
    default:
      return 16;
  }
}

} // namespace

typedef struct
{
  Impl *impl;
} GstAesStreamBasePrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (
    GstAesStreamBase, gst_aes_stream_base, GST_TYPE_BASE_TRANSFORM);

static Impl *
get_impl (GstAesStreamBase *self)
{
  auto priv = static_cast<GstAesStreamBasePrivate *> (
      gst_aes_stream_base_get_instance_private (self));
  return priv->impl;
}

GType
gst_aes_stream_register_enum (
    GType *type, const gchar *name, const GEnumValue *values)
{
  if (g_once_init_enter (type)) {
    GType t = g_enum_register_static (name, values);
    g_once_init_leave (type, t);
  }
  return *type;
}

GType
gst_aes_stream_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_AES_STREAM_MODE_CTR,
          "CTR: counter mode, length-preserving, for streaming (default)",
          "ctr"},
      {GST_AES_STREAM_MODE_ECB,
          "ECB with zero padding: INSECURE, leaks patterns; only for "
          "compatibility with the original recipe",
          "ecb"},
      {GST_AES_STREAM_MODE_CBC,
          "CBC with PKCS#7 padding, compatible with gst-plugins-bad's "
          "aesenc/aesdec (see cipher, serialize-iv, per-buffer-padding)",
          "cbc"},
      {GST_AES_STREAM_MODE_GCM,
          "GCM records: authenticated, one self-contained record per buffer, "
          "for live transport (loss, reordering, tampering)",
          "gcm"},
      {GST_AES_STREAM_MODE_GCM_FILE,
          "gcm-file: authenticated, seekable files and byte streams: Google "
          "Tink's AES-GCM-HKDF streaming AEAD in an aesstream preamble (see "
          "aesenc's segment-size, aesdec's skip-damaged-segments)",
          "gcm-file"},
      {0, NULL, NULL},
  };
  return gst_aes_stream_register_enum (&type, "GstAesStreamMode", values);
}

GType
gst_aes_stream_cipher_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_AES_STREAM_CIPHER_AES_128_CBC,
          "AES 128 bit cipher key using CBC method", "aes-128-cbc"},
      {GST_AES_STREAM_CIPHER_AES_256_CBC,
          "AES 256 bit cipher key using CBC method", "aes-256-cbc"},
      {GST_AES_STREAM_CIPHER_AES_192_CBC,
          "AES 192 bit cipher key using CBC method", "aes-192-cbc"},
      {0, NULL, NULL},
  };
  return gst_aes_stream_register_enum (&type, "GstAesStreamCipher", values);
}

const gchar *
gst_aes_stream_base_mode_name (GstAesStreamBase *self)
{
  GST_OBJECT_LOCK (self);
  Mode mode = core_mode (resolve_mode (get_impl (self)->settings).mode);
  GST_OBJECT_UNLOCK (self);
  return aesstream::mode_name (mode);
}

gboolean
gst_aes_stream_base_refuse_while_running (
    GstAesStreamBase *self, GParamSpec *pspec)
{
  GST_OBJECT_LOCK (self);
  bool configured = get_impl (self)->configured;
  GST_OBJECT_UNLOCK (self);
  if (!configured)
    return FALSE;
  GST_CAT_WARNING_OBJECT (BASE_CAT (self), self,
      "refusing to change '%s' while running", pspec->name);
  const bool is_key = std::strcmp (pspec->name, "key") == 0
                      || std::strcmp (pspec->name, "key-file") == 0;
  GST_ELEMENT_WARNING (self, CORE, STATE_CHANGE,
      ("Property '%s' cannot be changed while the element is running (the "
       "stream has started); change it before the first buffer, or in the "
       "NULL or READY state.%s",
          pspec->name,
          is_key ? " (Only mode=gcm changes its key while playing: key "
                   "rotation.)"
                 : ""),
      ("refused change of '%s'", pspec->name));
  return TRUE;
}

/* Whether the running stream can take a new key (key rotation): GCM
 * records, whose next record can start a new stream under another key,
 * and aesdec detecting the format (the stream may be GCM records). Byte
 * streams (CTR, ECB, CBC) have one key from their first byte to their
 * last. Object lock held. */
static bool
takes_live_keys (const Settings &s, gboolean encrypt)
{
  const ResolvedMode rm = resolve_mode (s);
  if (rm.compat)
    return false;
  return rm.mode == GST_AES_STREAM_MODE_GCM || (!encrypt && !s.mode_set);
}

/* key or key-file set while the stream runs (mode=gcm): read the new key
 * here, in the caller's thread (a key file may take time), and hand it to
 * the streaming thread. Returns FALSE if the change must be refused like
 * any other (not a mode that rotates, or the stream stopped meanwhile). */
static gboolean
set_key_while_running (GstAesStreamBase *self, guint prop_id,
    const GValue *value, GParamSpec *pspec)
{
  Impl *impl = get_impl (self);
  const gboolean encrypt = GST_AES_STREAM_BASE_GET_CLASS (self)->encrypt;
  GST_OBJECT_LOCK (self);
  const bool live = impl->configured && !impl->config_failed
                    && takes_live_keys (impl->settings, encrypt);
  GST_OBJECT_UNLOCK (self);
  if (!live)
    return FALSE;

  const gchar *text = g_value_get_string (value);
  SecureBytes key;
  std::string error;
  if (text == NULL || text[0] == '\0')
    error = std::string ("the ") + pspec->name
            + " cannot be unset while the stream runs (a running stream "
              "needs a key); stop the pipeline to change the configuration";
  else if (prop_id == PROP_KEY)
    aesstream::parse_key_hex (text, &key, &error);
  else
    aesstream::read_key_file (text, &key, &error);

  GST_OBJECT_LOCK (self);
  if (error.empty ()) {
    /* The new key is also what the next start uses; it replaces the other
     * way of giving it (key and key-file stay exclusive). */
    Settings &s = impl->settings;
    s.key_error.clear ();
    if (prop_id == PROP_KEY) {
      s.key = key.clone ();
      s.key_file.clear ();
    } else {
      s.key.clear ();
      s.key_file = text;
    }
  }
  if (error.empty ()) {
    impl->pending_keys.push_back (std::move (key));
    if (impl->pending_keys.size () > Impl::kMaxPendingKeys)
      impl->pending_keys.erase (impl->pending_keys.begin ());
  } else if (impl->pending_error.empty ()) {
    impl->pending_error = error;
  }
  impl->key_pending = true;
  GST_OBJECT_UNLOCK (self);
  /* Never the key, nor the text given. */
  if (error.empty ())
    GST_CAT_INFO_OBJECT (BASE_CAT (self), self,
        "new key (%s) set while running: applied at the next record",
        pspec->name);
  else
    GST_CAT_WARNING_OBJECT (BASE_CAT (self), self,
        "invalid %s set while running: %s", pspec->name, error.c_str ());
  return TRUE;
}

gboolean
gst_aes_stream_base_key_changed (GstAesStreamBase *self)
{
  return get_impl (self)->key_pending.load (std::memory_order_acquire);
}

const std::atomic<bool> &
gst_aes_stream_base_key_flag (GstAesStreamBase *self)
{
  return get_impl (self)->key_pending;
}

bool
gst_aes_stream_base_take_new_keys (
    GstAesStreamBase *self, std::vector<SecureBytes> *keys, std::string *error)
{
  Impl *impl = get_impl (self);
  GST_OBJECT_LOCK (self);
  *keys = std::move (impl->pending_keys);
  *error = impl->pending_error;
  impl->drop_pending_key ();
  GST_OBJECT_UNLOCK (self);
  return error->empty () && !keys->empty ();
}

/* ---------------------------------------------------------------------- */
/* Properties */

static void
gst_aes_stream_base_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstAesStreamBase *self = GST_AES_STREAM_BASE (object);
  Impl *impl = get_impl (self);
  Settings &s = impl->settings;

  if ((prop_id == PROP_KEY || prop_id == PROP_KEY_FILE)
      && set_key_while_running (self, prop_id, value, pspec))
    return;
  if (gst_aes_stream_base_refuse_while_running (self, pspec))
    return;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODE:
      s.mode = static_cast<GstAesStreamMode> (g_value_get_enum (value));
      s.mode_set = true;
      break;
    case PROP_CIPHER:
      s.cipher = static_cast<GstAesStreamCipher> (g_value_get_enum (value));
      s.cipher_set = true;
      break;
    case PROP_SERIALIZE_IV:
      s.serialize_iv = g_value_get_boolean (value);
      s.serialize_iv_set = true;
      break;
    case PROP_PER_BUFFER_PADDING:
      s.per_buffer_padding = g_value_get_boolean (value);
      s.per_buffer_padding_set = true;
      break;
    case PROP_KEY: {
      const gchar *text = g_value_get_string (value);
      s.key.clear ();
      s.key_error.clear ();
      if (text != NULL
          && !aesstream::parse_key_hex (text, &s.key, &s.key_error)) {
        /* Never log the value: it is (nearly) a key. */
        GST_CAT_WARNING_OBJECT (
            BASE_CAT (self), self, "invalid key: %s", s.key_error.c_str ());
      }
      break;
    }
    case PROP_KEY_FILE: {
      const gchar *path = g_value_get_string (value);
      s.key_file = path != NULL ? path : "";
      break;
    }
    case PROP_IV: {
      const gchar *text = g_value_get_string (value);
      s.iv.reset ();
      s.iv_error.clear ();
      s.iv_set = text != NULL && text[0] != '\0';
      if (s.iv_set) {
        std::array<uint8_t, kBlockSize> iv;
        if (aesstream::parse_iv_hex (text, &iv, &s.iv_error))
          s.iv = iv;
        else
          GST_CAT_WARNING_OBJECT (
              BASE_CAT (self), self, "invalid iv: %s", s.iv_error.c_str ());
      }
      break;
    }
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_aes_stream_base_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstAesStreamBase *self = GST_AES_STREAM_BASE (object);
  Settings &s = get_impl (self)->settings;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODE:
      g_value_set_enum (value, resolve_mode (s).mode);
      break;
    case PROP_CIPHER:
      g_value_set_enum (value, s.cipher);
      break;
    case PROP_SERIALIZE_IV:
      g_value_set_boolean (value, s.serialize_iv);
      break;
    case PROP_PER_BUFFER_PADDING:
      g_value_set_boolean (value, s.per_buffer_padding);
      break;
    case PROP_KEY_FILE:
      g_value_set_string (
          value, s.key_file.empty () ? NULL : s.key_file.c_str ());
      break;
    case PROP_IV:
      if (s.iv) {
        std::string hex = aesstream::to_hex (s.iv->data (), s.iv->size ());
        g_value_set_string (value, hex.c_str ());
      } else {
        g_value_set_string (value, NULL);
      }
      break;
    default:
      /* `key` is write-only: GObject never calls us for it. */
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* ---------------------------------------------------------------------- */
/* Start / stop */

#define SETTINGS_ERROR(self, ...)                                              \
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, (__VA_ARGS__), (NULL))

/* What check_settings() found. */
enum class Check
{
  kOk,
  kMissing, /* no key, or no iv where CBC needs one: may still be set */
  kInvalid, /* an error was posted */
};

/* The checks of this element's gst-plugins-bad properties (`cipher`, and
 * what they mean without `mode`); the codec factory checks the rest of the
 * mode's combinations. `key` is empty while it is missing: the key-size
 * checks wait for it. */
static Check
check_compat (GstAesStreamBase *self, const Settings &s, const SecureBytes &key,
    const ResolvedMode &rm)
{
  const gboolean encrypt = GST_AES_STREAM_BASE_GET_CLASS (self)->encrypt;
  if (s.cipher_set && s.mode_set && s.mode != GST_AES_STREAM_MODE_CBC) {
    SETTINGS_ERROR (self,
        "cipher=aes-%u-cbc selects CBC, but mode=%s is also set; set "
        "mode=cbc or leave mode out.",
        (guint)cipher_key_length (s.cipher) * 8,
        aesstream::mode_name (core_mode (s.mode)));
    return Check::kInvalid;
  }
  if (rm.mode != GST_AES_STREAM_MODE_CBC)
    return Check::kOk;
  /* gst-plugins-bad's key size comes from `cipher` (default AES-128); an
   * explicit mode=cbc without cipher takes the key's size. */
  if ((s.cipher_set || rm.compat) && !key.empty ()
      && key.size () != cipher_key_length (s.cipher)) {
    const guint bits = (guint)cipher_key_length (s.cipher) * 8;
    if (s.cipher_set)
      SETTINGS_ERROR (self,
          "cipher=aes-%u-cbc needs a %u-bit key (%u hex digits); the key "
          "has %u bits.",
          bits, bits, bits / 4, (guint)key.size () * 8);
    else
      SETTINGS_ERROR (self,
          "Without mode, iv/serialize-iv/per-buffer-padding mean "
          "gst-plugins-bad's AES-CBC with cipher=aes-128-cbc (its default), "
          "which needs a 128-bit key (32 hex digits); the key has %u bits. "
          "Set cipher=aes-%u-cbc, or mode=ctr for raw AES-CTR.",
          (guint)key.size () * 8, (guint)key.size () * 8);
    return Check::kInvalid;
  }
  /* aesdec with serialize-iv reads the IV from the stream; otherwise CBC
   * needs one (gst-plugins-bad used zeros). It may still be set. */
  if (!s.iv && s.iv_error.empty () && (encrypt || !s.serialize_iv))
    return Check::kMissing;
  return Check::kOk;
}

/* The one place that decides whether the settings can run a stream: key
 * (property or file), iv, the resolved mode and every combination (with
 * the codec factory's checks). Posts an error and returns kInvalid for a
 * wrong value. A missing key or iv is kMissing when `missing_ok` (start():
 * a program may still set it), else an error like any other. On kOk, `snap`
 * is complete: the stream's settings with the key loaded. */
static Check
check_settings (GstAesStreamBase *self, const Settings &s, bool missing_ok,
    GstAesStreamSnapshot *snap)
{
  const gboolean encrypt = GST_AES_STREAM_BASE_GET_CLASS (self)->encrypt;
  SecureBytes &key = snap->key;
  key = s.key.clone ();
  if (!s.key_error.empty ()) {
    SETTINGS_ERROR (self, "Invalid key property: %s", s.key_error.c_str ());
    return Check::kInvalid;
  }
  if (!key.empty () && !s.key_file.empty ()) {
    SETTINGS_ERROR (self, "Both key and key-file are set; set only one of "
                          "them.");
    return Check::kInvalid;
  }
  if (!s.key_file.empty ()) {
    std::string error;
    if (!aesstream::read_key_file (s.key_file, &key, &error)) {
      GST_ELEMENT_ERROR (
          self, RESOURCE, OPEN_READ, ("%s", error.c_str ()), (NULL));
      return Check::kInvalid;
    }
  }
  if (!s.iv_error.empty ()) {
    SETTINGS_ERROR (self, "Invalid iv property: %s", s.iv_error.c_str ());
    return Check::kInvalid;
  }
  const ResolvedMode rm = resolve_mode (s);
  Check c = check_compat (self, s, key, rm);
  if (c == Check::kInvalid)
    return c;
  /* aesdec may run without a key when the stream will say which key it
   * needs (a key id in its header): it looks the key up then (request-key,
   * keyring; docs/keys.md). Raw modes carry no key id. */
  const bool lookup = !encrypt && key.empty () && !rm.compat && !s.iv
                      && rm.mode == GST_AES_STREAM_MODE_CTR;
  if (key.empty () && !lookup) {
    if (missing_ok)
      return Check::kMissing;
    SETTINGS_ERROR (self, "No key set: set the key property (32, 48 or 64 "
                          "hex digits for AES-128/192/256) or key-file.");
    return Check::kInvalid;
  }
  if (c == Check::kMissing) {
    if (missing_ok)
      return c;
    if (rm.compat) {
      SETTINGS_ERROR (self, "%s",
          encrypt
              ? "No iv set: without mode, serialize-iv/per-buffer-padding/"
                "cipher mean gst-plugins-bad's AES-CBC, which needs an iv (32 "
                "hex digits; gst-plugins-bad silently used zeros). Set iv, or "
                "mode=ctr for aesstream's CTR."
              : "No iv set: without mode, serialize-iv/per-buffer-padding/"
                "cipher mean gst-plugins-bad's AES-CBC, which needs the iv "
                "the stream was encrypted with, or serialize-iv=true if the "
                "stream starts with it.");
      return Check::kInvalid;
    }
    /* Explicit mode=cbc: the codec factory says what is missing. */
  }

  snap->mode = core_mode (rm.mode);
  snap->compat = rm.compat;
  /* aesdec detects the format when nothing says which it is. */
  snap->mode_set = s.mode_set || rm.compat || s.iv.has_value ();
  snap->encrypt = encrypt;
  snap->iv = s.iv;
  snap->serialize_iv = s.serialize_iv;
  snap->per_buffer_padding = s.per_buffer_padding;
  /* The mode's own combinations are the codec factory's to check (without
   * a key, aesdec builds its codec when the stream has named its key). */
  aesstream::Codec trial;
  aesstream::Problem p
      = key.empty () ? aesstream::Problem::none ()
                     : aesstream::make_codec (snap->codec_config (), &trial);
  if (!p.ok ()) {
    GST_AES_STREAM_POST_PROBLEM (self, p);
    return Check::kInvalid;
  }
  return Check::kOk;
}

/* Whether nothing can set a property after start. gst-launch-1.0 sets all
 * of them from its command line before the pipeline starts, so there a
 * missing key fails the state change at once, as a user of the tool
 * expects. (It also avoids gst-launch 1.22 never exiting when an element
 * error is posted during preroll before its main loop runs: measured in one
 * run of three when the error comes with the first buffer.) */
static bool
settings_are_final ()
{
  const gchar *prg = g_get_prgname ();
  return prg != NULL && std::strcmp (prg, "gst-launch-1.0") == 0;
}

/* Checks what it can now; the stream is built when it needs its settings
 * (ensure_configured). A wrong value fails the state change here, so that
 * gst-launch users see it before anything runs. */
static gboolean
gst_aes_stream_base_start (GstBaseTransform *trans)
{
  GstAesStreamBase *self = GST_AES_STREAM_BASE (trans);
  Impl *impl = get_impl (self);

  GST_OBJECT_LOCK (self);
  Settings s = impl->settings.snapshot ();
  impl->configured = false;
  impl->config_failed = false;
  impl->drop_pending_key ();
  GST_OBJECT_UNLOCK (self);

  GstAesStreamSnapshot snap; /* its key is wiped by its destructor */
  Check c = check_settings (self, s, !settings_are_final (), &snap);
  if (c == Check::kInvalid)
    return FALSE;
  if (c == Check::kMissing)
    GST_CAT_INFO_OBJECT (BASE_CAT (self), self,
        "no %s yet: it can be set until the first buffer",
        snap.key.empty () ? "key" : "iv");
  return TRUE;
}

/* The late-configuration point: the stream needs its settings now. Freezes
 * them (snapshot and freeze under one lock: no change slips in between),
 * checks them (a missing key is an error now, before any output) and has
 * the element build its stream. Returns FALSE after posting an error.
 * Out of line, so that the test every buffer makes
 * (gst_aes_stream_base_ensure_configured) inlines without its frame. */
G_GNUC_NO_INLINE static gboolean
configure_stream (GstAesStreamBase *self)
{
  Impl *impl = get_impl (self);
  GST_OBJECT_LOCK (self);
  Settings s = impl->settings.snapshot ();
  impl->configured = true;
  GST_OBJECT_UNLOCK (self);

  GstAesStreamSnapshot snap;
  if (check_settings (self, s, false, &snap) != Check::kOk
      || !GST_AES_STREAM_BASE_GET_CLASS (self)->start_stream (self, &snap)) {
    impl->config_failed = true;
    return FALSE;
  }
  if (snap.mode == Mode::kEcb) {
    GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
        ("mode=ecb is insecure: identical 16-byte blocks give identical "
         "ciphertext, so patterns in the media stay visible. Use it only "
         "to interoperate with the original ECB recipe; prefer mode=ctr."),
        (NULL));
  }
  GST_CAT_INFO_OBJECT (BASE_CAT (self), self,
      "configured: mode %s%s, AES-%u, %s", aesstream::mode_name (snap.mode),
      snap.compat ? " (gst-plugins-bad's meaning of the settings)" : "",
      (guint)snap.key.size () * 8,
      snap.mode == Mode::kCtr && !snap.iv ? "random iv in a stream header"
      : snap.serialize_iv                 ? "serialized iv"
                                          : "iv from the properties");
  return TRUE;
}

/* Configures the stream at its first buffer (configure_stream). Returns
 * FALSE after posting an error (or if one was posted before). */
gboolean
gst_aes_stream_base_ensure_configured (GstAesStreamBase *self)
{
  Impl *impl = get_impl (self);
  if (G_LIKELY (impl->configured))
    return !impl->config_failed;
  return configure_stream (self);
}

gboolean
gst_aes_stream_base_is_configured (GstAesStreamBase *self)
{
  return get_impl (self)->configured;
}

bool
gst_aes_stream_base_settings_can_seek (GstAesStreamBase *self)
{
  GST_OBJECT_LOCK (self);
  Settings s = get_impl (self)->settings.snapshot ();
  GST_OBJECT_UNLOCK (self);
  const ResolvedMode rm = resolve_mode (s);
  GstAesStreamSnapshot snap;
  snap.mode = core_mode (rm.mode);
  snap.compat = rm.compat;
  snap.encrypt = GST_AES_STREAM_BASE_GET_CLASS (self)->encrypt;
  snap.iv = s.iv;
  snap.serialize_iv = s.serialize_iv;
  snap.per_buffer_padding = s.per_buffer_padding;
  return gst_aes_stream_snapshot_can_seek (std::move (snap));
}

bool
gst_aes_stream_snapshot_can_seek (GstAesStreamSnapshot snap)
{
  snap.key = SecureBytes (16);
  aesstream::Codec codec;
  return aesstream::make_codec (snap.codec_config (), &codec).ok ()
         && codec.stream && codec.stream->can_seek ();
}

/* GstBaseTransform's submit_input_buffer, kept to forward to without a
 * checked class cast per buffer. */
static GstFlowReturn (*parent_submit_input_buffer) (
    GstBaseTransform *trans, gboolean is_discont, GstBuffer *input);

/* A buffer while the stream is not configured (the first one), or after
 * its configuration failed. Out of line: the path of every other buffer
 * stays two loads and a tail call. */
G_GNUC_NO_INLINE static GstFlowReturn
submit_unconfigured (
    GstBaseTransform *trans, gboolean is_discont, GstBuffer *input)
{
  if (!gst_aes_stream_base_ensure_configured (
          reinterpret_cast<GstAesStreamBase *> (trans))) {
    gst_buffer_unref (input);
    return GST_FLOW_ERROR;
  }
  return parent_submit_input_buffer (trans, is_discont, input);
}

/* Every buffer passes here before the base class looks at it: the first
 * one configures the stream. No checked cast (the base class calls us with
 * our own instance only). */
static GstFlowReturn
gst_aes_stream_base_submit_input_buffer (
    GstBaseTransform *trans, gboolean is_discont, GstBuffer *input)
{
  const Impl *impl = get_impl (reinterpret_cast<GstAesStreamBase *> (trans));
  if (G_LIKELY (impl->configured && !impl->config_failed))
    return parent_submit_input_buffer (trans, is_discont, input);
  return submit_unconfigured (trans, is_discont, input);
}

/* GstBaseTransform's generate_output, kept to forward to. */
static GstFlowReturn (*parent_generate_output) (
    GstBaseTransform *trans, GstBuffer **outbuf);

/* The base class calls this until it gives no buffer: first the output of
 * the input (the default), then the units the transform queued after it.
 * An input that gave nothing yet is reported as "no buffer" rather than
 * GST_BASE_TRANSFORM_FLOW_DROPPED, which would make the base class mark
 * the next output DISCONT (a demuxer then drops what it has gathered). */
static GstFlowReturn
gst_aes_stream_base_generate_output (
    GstBaseTransform *trans, GstBuffer **outbuf)
{
  Impl *impl = get_impl (reinterpret_cast<GstAesStreamBase *> (trans));
  if (G_UNLIKELY (!impl->pending_units.empty ())) {
    *outbuf = impl->pending_units.front ();
    impl->pending_units.pop_front ();
    return GST_FLOW_OK;
  }
  GstFlowReturn ret = parent_generate_output (trans, outbuf);
  if (G_UNLIKELY (
          ret == GST_BASE_TRANSFORM_FLOW_DROPPED && impl->nothing_yet)) {
    impl->nothing_yet = false;
    if (*outbuf != NULL)
      gst_buffer_unref (*outbuf);
    *outbuf = NULL;
    return GST_FLOW_OK;
  }
  return ret;
}

GstFlowReturn
gst_aes_stream_base_nothing_yet (GstAesStreamBase *self)
{
  get_impl (self)->nothing_yet = true;
  return GST_BASE_TRANSFORM_FLOW_DROPPED;
}

void
gst_aes_stream_base_queue_unit (GstAesStreamBase *self, GstBuffer *unit)
{
  get_impl (self)->pending_units.push_back (unit);
}

void
gst_aes_stream_base_drop_pending_units (GstAesStreamBase *self)
{
  get_impl (self)->drop_pending_units ();
}

static gboolean
gst_aes_stream_base_stop (GstBaseTransform *trans)
{
  GstAesStreamBase *self = GST_AES_STREAM_BASE (trans);
  get_impl (self)->drop_pending_units ();
  /* The element drops its codec: the EVP contexts cleanse their key
   * schedules, key copies are SecureBytes. Nothing of the stream is left. */
  GST_AES_STREAM_BASE_GET_CLASS (self)->stop_stream (self);
  get_impl (self)->allocation.clear ();
  GST_OBJECT_LOCK (self);
  get_impl (self)->configured = false;
  get_impl (self)->config_failed = false;
  get_impl (self)->drop_pending_key ();
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* Buffers (helpers for the elements' streaming thread) */

/* Large outputs (64 KiB and more: file modes) without a downstream pool
 * come from a pool of our own. A fresh allocation per buffer makes malloc
 * give the memory back to the system and take it again (its trim
 * threshold is 128 KiB): two page faults per buffer in `aesenc ! aesdec`,
 * a tenth of the time at 64 KiB. Small outputs (GCM records) stay with
 * malloc, which is cheaper for them than a pool. */
#define OWN_POOL_MIN (16 * 1024)

/* Makes sure our pool gives buffers of at least `size`; it only grows
 * (sizes vary by a segment), in 64 KiB steps. */
static bool
own_pool_fits (Impl::Allocation &a, gsize size)
{
  if (a.own_pool != NULL && a.own_size >= size)
    return true;
  if (a.own_pool != NULL) {
    gst_buffer_pool_set_active (a.own_pool, FALSE);
    gst_object_unref (a.own_pool);
    a.own_pool = NULL;
  }
  const gsize step = 64 * 1024;
  const gsize want = (size + step - 1) / step * step;
  if (want > G_MAXUINT)
    return false;
  GstBufferPool *pool = gst_buffer_pool_new ();
  GstStructure *config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (
      config, NULL, static_cast<guint> (want), 0, 0);
  gst_buffer_pool_config_set_allocator (config, a.allocator, &a.params);
  if (!gst_buffer_pool_set_config (pool, config)
      || !gst_buffer_pool_set_active (pool, TRUE)) {
    gst_object_unref (pool);
    return false;
  }
  a.own_pool = pool;
  a.own_size = want;
  return true;
}

/* A buffer of `size` bytes for output: from the pool downstream proposed
 * when it has one with buffers large enough, else (large outputs) from our
 * own pool, else from the negotiated allocator. */
static GstBuffer *
allocate_output (GstBaseTransform *trans, gsize size)
{
  Impl::Allocation &a
      = get_impl (reinterpret_cast<GstAesStreamBase *> (trans))->allocation;
  if (G_UNLIKELY (!a.known)) {
    a.known = true;
    GstBufferPool *pool = gst_base_transform_get_buffer_pool (trans);
    if (pool != NULL) {
      GstStructure *config = gst_buffer_pool_get_config (pool);
      gst_buffer_pool_config_get_params (
          config, NULL, &a.pool_size, NULL, NULL);
      gst_structure_free (config);
      /* The base class activates its pool in its own
       * prepare_output_buffer, which we replace: activate it here, once. */
      if (gst_buffer_pool_is_active (pool)
          || gst_buffer_pool_set_active (pool, TRUE))
        a.pool = pool;
      else
        gst_object_unref (pool);
    }
    gst_base_transform_get_allocator (trans, &a.allocator, &a.params);
  }
  GstBuffer *buf = NULL;
  if (a.pool != NULL && a.pool_size >= size
      && gst_buffer_pool_acquire_buffer (a.pool, &buf, NULL) == GST_FLOW_OK) {
    gst_buffer_set_size (buf, size);
    return buf;
  }
  if (a.pool == NULL && size >= OWN_POOL_MIN) {
    if (own_pool_fits (a, size)
        && gst_buffer_pool_acquire_buffer (a.own_pool, &buf, NULL)
               == GST_FLOW_OK) {
      gst_buffer_set_size (buf, size);
      return buf;
    }
  }
  return gst_buffer_new_allocate (a.allocator, size, &a.params);
}

/* A new negotiation may bring another pool or allocator: read them again
 * at the next output buffer. */
static gboolean
gst_aes_stream_base_decide_allocation (GstBaseTransform *trans, GstQuery *query)
{
  get_impl (reinterpret_cast<GstAesStreamBase *> (trans))->allocation.clear ();
  return GST_BASE_TRANSFORM_CLASS (gst_aes_stream_base_parent_class)
      ->decide_allocation (trans, query);
}

GstFlowReturn
gst_aes_stream_base_new_output (GstBaseTransform *trans, GstBuffer *inbuf,
    gsize out_size, GstBuffer **outbuf)
{
  /* Not in place: exactly one pass, the codec reads the input and writes
   * the new buffer. */
  *outbuf = allocate_output (trans, out_size);
  if (*outbuf == NULL) {
    GST_ELEMENT_ERROR (trans, RESOURCE, NO_SPACE_LEFT,
        ("Could not allocate an output buffer"), (NULL));
    return GST_FLOW_ERROR;
  }
  /* Timestamps and flags describe the stream position and stay; metas
   * describe the plaintext's layout and do not apply to ciphertext. */
  gst_buffer_copy_into (*outbuf, inbuf,
      (GstBufferCopyFlags)(GST_BUFFER_COPY_FLAGS | GST_BUFFER_COPY_TIMESTAMPS),
      0, -1);
  return GST_FLOW_OK;
}

namespace {

/* An input buffer held for a codec that keeps bytes it must hold back by
 * reference instead of copying them (StreamCodec::process_owned): a
 * reference to the buffer and each of its memories mapped for reading as
 * it lies, as long as the codec holds part of one. One owner for all of
 * them: the codec may hold pieces of several memories of one buffer. While
 * the buffer has a reference of ours, nobody else takes it, or a memory
 * mapped here, for writable. A buffer has at most
 * gst_buffer_get_max_memory () memories (16, fixed for GStreamer 1.x): no
 * allocation beyond this object. */
struct HeldInput
{
  explicit HeldInput (GstBuffer *buf) : buffer (gst_buffer_ref (buf))
  {
    const guint n = gst_buffer_n_memory (buf);
    if (n > mems.size ()) {
      ok = false;
      return;
    }
    for (guint i = 0; i < n; i++) {
      mems[count] = gst_buffer_peek_memory (buf, i);
      if (!gst_memory_map (mems[count], &maps[count], GST_MAP_READ)) {
        ok = false;
        return;
      }
      count++;
    }
  }
  ~HeldInput ()
  {
    for (guint i = 0; i < count; i++)
      gst_memory_unmap (mems[i], &maps[i]);
    gst_buffer_unref (buffer); /* after the unmaps: it keeps the memories */
  }
  HeldInput (const HeldInput &) = delete;
  HeldInput &operator= (const HeldInput &) = delete;
  GstBuffer *buffer;
  std::array<GstMemory *, 16> mems;
  std::array<GstMapInfo, 16> maps;
  guint count = 0;
  bool ok = true;
};

aesstream::Problem
map_failed ()
{
  return aesstream::Problem::make (
      aesstream::Problem::Kind::kLibrary, "Could not map a buffer");
}

} // namespace

/* For a codec that holds input by reference (gcm-file): each memory of the
 * input is fed as it lies, where mapping a buffer of several memories would
 * merge them into a new allocation. The codec's output for the pieces is
 * contiguous (these codecs never skip output). */
static aesstream::Problem
process_held (aesstream::StreamCodec &codec, GstBuffer *inbuf,
    GstBuffer *outbuf, aesstream::StreamCodec::Output *r, gsize *in_size)
{
  GstAesStreamBufferMap out (outbuf, GST_MAP_WRITE);
  auto held = std::make_shared<HeldInput> (inbuf);
  if (!out.ok () || !held->ok)
    return map_failed ();
  gsize written = 0;
  *in_size = 0;
  *r = aesstream::StreamCodec::Output ();
  for (guint i = 0; i < held->count; i++) {
    const GstMapInfo &info = held->maps[i];
    *in_size += info.size;
    if (info.size == 0)
      continue;
    if (written + codec.max_output (info.size) > out.size ())
      return aesstream::Problem::make (aesstream::Problem::Kind::kLibrary,
          "internal error: a codec's output outgrew its buffer");
    aesstream::StreamCodec::Output piece;
    aesstream::Problem p = codec.process_owned (
        info.data, info.size, held, out.data () + written, &piece);
    if (!p.ok ())
      return p;
    if (piece.offset != 0)
      return aesstream::Problem::make (aesstream::Problem::Kind::kLibrary,
          "internal error: a codec skipped output within a buffer");
    written += piece.size;
  }
  out.unmap ();
  r->size = written;
  gst_buffer_resize (outbuf, 0, written);
  return aesstream::Problem::none ();
}

aesstream::Problem
gst_aes_stream_base_process (aesstream::StreamCodec &codec, GstBuffer *inbuf,
    GstBuffer *outbuf, aesstream::StreamCodec::Output *r, gsize *in_size)
{
  if (G_LIKELY (inbuf == outbuf)) {
    /* In place (CTR, and the block modes while nothing is carried): one
     * mapping, the codec writes over what it reads. */
    GstAesStreamBufferMap io (inbuf, GST_MAP_READWRITE);
    if (G_UNLIKELY (!io.ok ()))
      return map_failed ();
    *in_size = io.size ();
    aesstream::Problem p
        = codec.process (io.data (), io.size (), io.data (), r);
    io.unmap (); /* before any resize */
    if (G_UNLIKELY (!p.ok ()))
      return p;
    /* Trim to what the codec wrote: it may have consumed a header or
     * dropped leading bytes (the output then starts at r->offset). */
    if (G_UNLIKELY (r->offset > 0 || r->size != *in_size))
      gst_buffer_resize (outbuf, r->offset, r->size);
    /* A new value, not `p`: returning `p` moves its std::string (this
     * function returns other values too, so it is not constructed in
     * place), 30 instructions a buffer. */
    return aesstream::Problem::none ();
  }
  /* Held by reference only when the buffer belongs to no pool: a pooled
   * buffer kept until the next one arrives could be the one the source
   * needs to produce it (a pool of one deadlocks). Then the codec copies.
   * An encoder reports the units of one call (output_units), so it is fed
   * a buffer of several memories in one call, mapped (merged) whole. */
  if (codec.holds_input () && inbuf->pool == NULL
      && (!codec.encrypting () || gst_buffer_n_memory (inbuf) == 1))
    return process_held (codec, inbuf, outbuf, r, in_size);
  {
    GstAesStreamBufferMap in (inbuf, GST_MAP_READ);
    GstAesStreamBufferMap out (outbuf, GST_MAP_WRITE);
    if (!in.ok () || !out.ok ())
      return map_failed ();
    *in_size = in.size ();
    aesstream::Problem p
        = codec.process (in.data (), in.size (), out.data (), r);
    if (!p.ok ())
      return p;
  }
  /* Keep exactly what the codec wrote, out[r->offset, r->offset + r->size),
   * of a buffer sized for the most it could write. */
  gst_buffer_resize (outbuf, r->offset, r->size);
  return aesstream::Problem::none ();
}

bool
gst_aes_stream_base_join_flat (GstBuffer *buf, const guint8 *before,
    gsize n_before, const guint8 *after, gsize n_after)
{
  const gsize size = gst_buffer_get_size (buf);
  GstMemory *mem = gst_allocator_alloc (NULL, n_before + size + n_after, NULL);
  GstMapInfo m;
  if (mem == NULL || !gst_memory_map (mem, &m, GST_MAP_WRITE)) {
    if (mem != NULL)
      gst_memory_unref (mem);
    return false;
  }
  if (n_before > 0)
    memcpy (m.data, before, n_before);
  gst_buffer_extract (buf, 0, m.data + n_before, size);
  if (n_after > 0)
    memcpy (m.data + n_before + size, after, n_after);
  gst_memory_unmap (mem, &m);
  gst_buffer_replace_all_memory (buf, mem);
  return true;
}

void
gst_aes_stream_base_push_bytes (GstAesStreamBase *self, const guint8 *data,
    gsize size, GstBufferFlags flags)
{
  GstPad *src = GST_BASE_TRANSFORM_SRC_PAD (self);
  /* An empty input (an empty file) can reach EOS before any SEGMENT: the
   * header, final record or padding owed at EOS would then be data before
   * the segment (issue 11, finding 4). Open a byte segment first, so that
   * an empty input still gives a stream that decrypts to nothing. */
  if (GstEvent *seg = gst_pad_get_sticky_event (src, GST_EVENT_SEGMENT, 0)) {
    gst_event_unref (seg);
  } else {
    GstSegment segment;
    gst_segment_init (&segment, GST_FORMAT_BYTES);
    gst_pad_push_event (src, gst_event_new_segment (&segment));
  }
  GstBuffer *buf = gst_buffer_new_memdup (data, size);
  GST_BUFFER_FLAG_SET (buf, flags);
  GstFlowReturn ret = gst_pad_push (src, buf);
  if (ret != GST_FLOW_OK)
    GST_CAT_DEBUG_OBJECT (
        BASE_CAT (self), self, "pushing at EOS: %s", gst_flow_get_name (ret));
}

static gboolean
gst_aes_stream_base_query (
    GstBaseTransform *trans, GstPadDirection direction, GstQuery *query)
{
  /* The cipher state runs along the stream: pulling arbitrary ranges
   * (decodebin's typefinder would) cannot be served. Offer push mode only,
   * so that downstream typefinds on the pushed data instead. */
  if (direction == GST_PAD_SRC
      && GST_QUERY_TYPE (query) == GST_QUERY_SCHEDULING) {
    gst_query_set_scheduling (query, GST_SCHEDULING_FLAG_SEQUENTIAL, 1, -1, 0);
    gst_query_add_scheduling_mode (query, GST_PAD_MODE_PUSH);
    return TRUE;
  }
  return GST_BASE_TRANSFORM_CLASS (gst_aes_stream_base_parent_class)
      ->query (trans, direction, query);
}

/* ---------------------------------------------------------------------- */

static void
gst_aes_stream_base_init (GstAesStreamBase *self)
{
  auto priv = static_cast<GstAesStreamBasePrivate *> (
      gst_aes_stream_base_get_instance_private (self));
  priv->impl = new Impl ();
}

static void
gst_aes_stream_base_finalize (GObject *object)
{
  auto priv = static_cast<GstAesStreamBasePrivate *> (
      gst_aes_stream_base_get_instance_private (GST_AES_STREAM_BASE (object)));
  delete priv->impl; /* SecureBytes wipe the key */
  priv->impl = NULL;
  G_OBJECT_CLASS (gst_aes_stream_base_parent_class)->finalize (object);
}

static void
gst_aes_stream_base_class_init (GstAesStreamBaseClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  gobject_class->set_property = gst_aes_stream_base_set_property;
  gobject_class->get_property = gst_aes_stream_base_get_property;
  gobject_class->finalize = gst_aes_stream_base_finalize;

  g_object_class_install_property (gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode",
          "Cipher mode: ctr (streaming), gcm-file (authenticated, seekable "
          "files: Tink streaming AEAD), gcm (authenticated records), cbc "
          "(gst-plugins-bad compatible) or ecb (insecure, the original "
          "recipe). Unset: cbc if any of iv, cipher, serialize-iv, "
          "per-buffer-padding is set (gst-plugins-bad's meaning), else ctr "
          "with a random IV in a header (aesdec: detects ctr-header, "
          "gcm-file and gcm streams, and finds the key by id; set "
          "mode=gcm-file to accept nothing unauthenticated). Reads back as "
          "the mode that runs",
          GST_TYPE_AES_STREAM_MODE, DEFAULT_MODE,
          GST_AES_STREAM_PARAM_RW_READY));
  g_object_class_install_property (gobject_class, PROP_KEY,
      g_param_spec_string ("key", "Key",
          "AES key as 32, 48 or 64 hex digits (AES-128/192/256). "
          "Write-only: it cannot be read back. aesdec without key or "
          "key-file finds the key by the stream's key id (request-key "
          "signal, then ~/.config/aesstream/keyring). mode=gcm: may change "
          "while playing (key rotation): aesenc starts a new stream under "
          "the new key at the next record, aesdec adds it to the keys it "
          "holds (see max-keys)",
          NULL,
          (GParamFlags)(G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS
                        | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property (gobject_class, PROP_KEY_FILE,
      g_param_spec_string ("key-file", "Key file",
          "Path of a file holding the key as hex text (surrounding "
          "whitespace ignored); keeps the key out of process lists. "
          "Exclusive with key. mode=gcm: may change while playing, like key "
          "(the file is read when the property is set)",
          NULL,
          (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
                        | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property (gobject_class, PROP_IV,
      g_param_spec_string ("iv", "IV",
          "32 hex digits, used by ctr and cbc only (ecb and gcm refuse it). "
          "Without mode, gst-plugins-bad's meaning: the "
          "AES-CBC IV (setting it selects CBC). With mode=ctr: the initial "
          "counter block of raw CTR without header, identical to openssl "
          "enc (unset: a random IV per start, in a stream header); never "
          "reuse a key+iv pair for different data",
          NULL, GST_AES_STREAM_PARAM_RW_READY));

  g_object_class_install_property (gobject_class, PROP_CIPHER,
      g_param_spec_enum ("cipher", "Cipher",
          "gst-plugins-bad compatibility: setting it selects CBC with this "
          "key size (the key must match); without mode it also gives the "
          "key size when iv, serialize-iv or per-buffer-padding chose CBC",
          GST_TYPE_AES_STREAM_CIPHER, DEFAULT_CIPHER,
          GST_AES_STREAM_PARAM_RW_READY));
  g_object_class_install_property (gobject_class, PROP_SERIALIZE_IV,
      g_param_spec_boolean ("serialize-iv", "Serialize IV",
          "CBC (setting it without mode selects CBC, as in gst-plugins-bad): "
          "aesenc writes the iv in front of the first output buffer; aesdec "
          "reads the IV from the first 16 bytes of the stream",
          DEFAULT_SERIALIZE_IV, GST_AES_STREAM_PARAM_RW_READY));
  g_object_class_install_property (gobject_class, PROP_PER_BUFFER_PADDING,
      g_param_spec_boolean ("per-buffer-padding", "Per-buffer padding",
          "CBC (setting it without mode selects CBC, as in gst-plugins-bad): "
          "true pads every buffer with PKCS#7 (the CBC chain "
          "continues; buffer boundaries must be kept); false pads once at "
          "the end, like openssl enc. Ignored by other modes",
          DEFAULT_PER_BUFFER_PADDING, GST_AES_STREAM_PARAM_RW_READY));

  trans_class->start = GST_DEBUG_FUNCPTR (gst_aes_stream_base_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_aes_stream_base_stop);
  parent_generate_output = trans_class->generate_output;
  trans_class->generate_output
      = GST_DEBUG_FUNCPTR (gst_aes_stream_base_generate_output);
  parent_submit_input_buffer = trans_class->submit_input_buffer;
  trans_class->submit_input_buffer
      = GST_DEBUG_FUNCPTR (gst_aes_stream_base_submit_input_buffer);
  trans_class->decide_allocation
      = GST_DEBUG_FUNCPTR (gst_aes_stream_base_decide_allocation);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_aes_stream_base_query);

  gst_type_mark_as_plugin_api (GST_TYPE_AES_STREAM_MODE, (GstPluginAPIFlags)0);
  gst_type_mark_as_plugin_api (
      GST_TYPE_AES_STREAM_CIPHER, (GstPluginAPIFlags)0);
  gst_type_mark_as_plugin_api (GST_TYPE_AES_STREAM_BASE, (GstPluginAPIFlags)0);
}
