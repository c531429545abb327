/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * GstAesStreamBase: the part of aesenc/aesdec that both share.
 *
 * Settings (what the user set through properties) live under the object
 * lock and are validated when set, so a wrong value is reported at once.
 * They are checked again, fatally, in start(), which builds the per-stream
 * State from a snapshot; stop() drops the State, wiping every key copy the
 * stream used. The streaming thread reads only the State: no string parsing,
 * no locks and no allocation beyond the output buffer on the hot path.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstaesstreambase.h"

#include <gst/base/gstadapter.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <openssl/crypto.h>

#include "aescore.hpp"

GST_DEBUG_CATEGORY_STATIC (gst_aes_stream_base_debug);
#define GST_CAT_DEFAULT gst_aes_stream_base_debug

using aesstream::Cipher;
using aesstream::Gcm;
using aesstream::GcmRecord;
using aesstream::kBlockSize;
using aesstream::Mode;
using aesstream::ReplayWindow;
using aesstream::SecureBytes;
using aesstream::StreamHeader;

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
  PROP_INVALID_RECORDS,
  PROP_RECORDS_ACCEPTED,
  PROP_RECORDS_LOST,
  PROP_RECORDS_REPLAYED,
  PROP_RECORDS_REJECTED,
};

#define DEFAULT_MODE GST_AES_STREAM_MODE_CTR
#define DEFAULT_CIPHER GST_AES_STREAM_CIPHER_AES_128_CBC
#define DEFAULT_SERIALIZE_IV FALSE
#define DEFAULT_PER_BUFFER_PADDING TRUE
#define DEFAULT_INVALID_RECORDS GST_AES_STREAM_INVALID_RECORDS_AUTO
/* aesenc mode=gcm encrypts buffers at least this large in place. */
#define GCM_IN_PLACE_MIN 8192
/* Streams (salts) whose replay windows aesdec remembers. */
#define GCM_SESSIONS 4

namespace {

struct Settings
{
  GstAesStreamMode mode = DEFAULT_MODE;
  /* Whether mode / cipher were set by the user: setting cipher selects CBC,
   * and an explicit other mode beside it is a conflict. */
  bool mode_set = false;
  GstAesStreamCipher cipher = DEFAULT_CIPHER;
  bool cipher_set = false;
  bool serialize_iv = DEFAULT_SERIALIZE_IV;
  bool per_buffer_padding = DEFAULT_PER_BUFFER_PADDING;
  GstAesStreamInvalidRecords invalid_records = DEFAULT_INVALID_RECORDS;
  /* The parsed key, empty when unset. Kept (wiped on replace and finalize)
   * so that the element can be restarted without setting it again. */
  SecureBytes key;
  /* Why the last value given to `key` was rejected; empty if it was fine. */
  std::string key_error;
  std::string key_file;
  std::optional<std::array<uint8_t, kBlockSize>> iv;
  std::string iv_error;
};

/* What precedes the ciphertext on the wire. */
enum class Prefix
{
  kNone,
  kHeader, /* the aesstream header (CTR without a configured iv) */
  kIv,     /* the bare 16-byte IV (CBC with serialize-iv) */
};

struct AdapterDeleter
{
  void operator() (GstAdapter *a) const { g_object_unref (a); }
};

/* aesdec mode=gcm: one sender's stream, known by its salt. */
struct GcmSession
{
  std::array<uint8_t, GcmRecord::kSaltSize> salt{};
  std::unique_ptr<Gcm> gcm;
  ReplayWindow window;
  bool final_seen = false;
};

/* Everything that exists only while the element is started. */
struct State
{
  std::unique_ptr<Cipher> cipher;
  Mode mode = Mode::kCtr;
  Prefix prefix = Prefix::kNone;
  /* aesenc: prefix not written yet; aesdec: prefix not complete yet. */
  bool prefix_pending = false;
  std::array<uint8_t, kBlockSize> iv{};
  /* aesenc: the prefix to write; aesdec: the prefix bytes read so far. */
  std::array<uint8_t, StreamHeader::kSize> prefix_buf{};
  size_t prefix_have = 0;

  size_t prefix_size () const
  {
    return prefix == Prefix::kHeader ? StreamHeader::kSize
           : prefix == Prefix::kIv   ? kBlockSize
                                     : 0;
  }
  /* With a header, the key is needed again for every header's key check
   * (aesdec) or for the header after a flush (aesenc). Wiped at stop. */
  SecureBytes key;
  /* An error was posted: refuse everything until the next start. */
  bool failed = false;

  /* mode=gcm, aesenc: the stream's salt, subkey context, next sequence
   * number. */
  std::unique_ptr<Gcm> gcm;
  std::array<uint8_t, GcmRecord::kSaltSize> salt{};
  uint64_t seq = 0;
  /* mode=gcm, aesdec: bytes not yet framed into records, the streams seen
   * (most recent first), the resolved policy for bad records. */
  std::unique_ptr<GstAdapter, AdapterDeleter> adapter;
  std::vector<GcmSession> sessions;
  GstAesStreamInvalidRecords invalid_records = DEFAULT_INVALID_RECORDS;
  gint64 last_warning = 0;
  /* After a bad record, until one authenticates again: the bytes skipped
   * to find the next record belong to the bad one and are not counted
   * again. */
  bool resyncing = false;
};

/* aesdec mode=gcm counters, readable while streaming. */
struct Counters
{
  std::atomic<guint64> accepted{0}, replayed{0}, rejected{0};
  std::atomic<gint64> lost{0};
  void reset ()
  {
    accepted = 0;
    replayed = 0;
    rejected = 0;
    lost = 0;
  }
};

struct Impl
{
  Settings settings;
  State state;
  /* TRUE between start and stop; property changes are refused then. */
  bool started = false;
  Counters counters;
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
    case GST_AES_STREAM_MODE_CTR:
    default:
      return Mode::kCtr;
  }
}

/* Setting `cipher` (the gst-plugins-bad way) selects CBC. */
GstAesStreamMode
effective_mode (const Settings &s)
{
  return s.cipher_set && !s.mode_set ? GST_AES_STREAM_MODE_CBC : s.mode;
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

static gboolean
is_encrypt (GstAesStreamBase *self)
{
  return GST_AES_STREAM_BASE_GET_CLASS (self)->encrypt;
}

/* Registers an enum GType once, thread-safely. */
static GType
register_enum_once (GType *type, const gchar *name, const GEnumValue *values)
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
      {0, NULL, NULL},
  };
  return register_enum_once (&type, "GstAesStreamMode", values);
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
  return register_enum_once (&type, "GstAesStreamCipher", values);
}

GType
gst_aes_stream_invalid_records_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_AES_STREAM_INVALID_RECORDS_AUTO,
          "error for non-live input (files), drop for live input", "auto"},
      {GST_AES_STREAM_INVALID_RECORDS_ERROR,
          "post an error and stop at the first record that is not accepted",
          "error"},
      {GST_AES_STREAM_INVALID_RECORDS_DROP,
          "drop such records, count them and post a warning", "drop"},
      {0, NULL, NULL},
  };
  return register_enum_once (&type, "GstAesStreamInvalidRecords", values);
}

const gchar *
gst_aes_stream_base_mode_name (GstAesStreamBase *self)
{
  GST_OBJECT_LOCK (self);
  Mode mode = core_mode (effective_mode (get_impl (self)->settings));
  GST_OBJECT_UNLOCK (self);
  return aesstream::mode_name (mode);
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

  GST_OBJECT_LOCK (self);
  if (impl->started) {
    GST_OBJECT_UNLOCK (self);
    GST_WARNING_OBJECT (
        self, "refusing to change '%s' while running", pspec->name);
    GST_ELEMENT_WARNING (self, CORE, STATE_CHANGE,
        ("Property '%s' cannot be changed while the element is running; "
         "change it in the NULL or READY state.",
            pspec->name),
        ("refused change of '%s'", pspec->name));
    return;
  }

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
      break;
    case PROP_PER_BUFFER_PADDING:
      s.per_buffer_padding = g_value_get_boolean (value);
      break;
    case PROP_INVALID_RECORDS:
      s.invalid_records
          = static_cast<GstAesStreamInvalidRecords> (g_value_get_enum (value));
      break;
    case PROP_KEY: {
      const gchar *text = g_value_get_string (value);
      s.key.clear ();
      s.key_error.clear ();
      if (text != NULL
          && !aesstream::parse_key_hex (text, &s.key, &s.key_error)) {
        /* Never log the value: it is (nearly) a key. */
        GST_WARNING_OBJECT (self, "invalid key: %s", s.key_error.c_str ());
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
      if (text != NULL && text[0] != '\0') {
        std::array<uint8_t, kBlockSize> iv;
        if (aesstream::parse_iv_hex (text, &iv, &s.iv_error))
          s.iv = iv;
        else
          GST_WARNING_OBJECT (self, "invalid iv: %s", s.iv_error.c_str ());
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
      g_value_set_enum (value, effective_mode (s));
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
    case PROP_INVALID_RECORDS:
      g_value_set_enum (value, s.invalid_records);
      break;
    case PROP_RECORDS_ACCEPTED:
      g_value_set_uint64 (value, get_impl (self)->counters.accepted);
      break;
    case PROP_RECORDS_LOST:
      g_value_set_uint64 (
          value, (guint64)MAX (get_impl (self)->counters.lost.load (), 0));
      break;
    case PROP_RECORDS_REPLAYED:
      g_value_set_uint64 (value, get_impl (self)->counters.replayed);
      break;
    case PROP_RECORDS_REJECTED:
      g_value_set_uint64 (value, get_impl (self)->counters.rejected);
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

static std::array<uint8_t, StreamHeader::kSize>
make_header (const State &st, const SecureBytes &key)
{
  StreamHeader h;
  h.mode = st.mode;
  h.key_length = static_cast<uint8_t> (key.size ());
  h.iv = st.iv;
  h.key_check = StreamHeader::compute_key_check (key, st.iv);
  return h.serialize ();
}

#define SETTINGS_ERROR(self, ...)                                              \
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, (__VA_ARGS__), (NULL))

/* The checks of start() that depend only on the settings and the key. */
static bool
check_mode_settings (GstAesStreamBase *self, const Settings &s,
    const SecureBytes &key, Mode mode)
{
  const gboolean encrypt = is_encrypt (self);
  if (s.cipher_set && s.mode_set && s.mode != GST_AES_STREAM_MODE_CBC) {
    SETTINGS_ERROR (self,
        "cipher=aes-%u-cbc selects CBC, but mode=%s is also set; set "
        "mode=cbc or leave mode out.",
        (guint)cipher_key_length (s.cipher) * 8,
        aesstream::mode_name (core_mode (s.mode)));
    return false;
  }
  if (mode == Mode::kGcm && s.iv) {
    SETTINGS_ERROR (self, "mode=gcm makes its own nonces (a random salt per "
                          "stream and a record counter); unset iv.");
    return false;
  }
  if (mode == Mode::kEcb && s.iv) {
    SETTINGS_ERROR (self, "mode=ecb does not use an iv; unset iv, or use "
                          "mode=ctr.");
    return false;
  }
  if (mode != Mode::kCbc && s.serialize_iv) {
    SETTINGS_ERROR (self,
        "serialize-iv applies to mode=cbc only (gst-plugins-bad "
        "compatibility); mode=%s %s.",
        aesstream::mode_name (mode),
        mode == Mode::kCtr ? "writes its random IV in the aesstream header "
                             "when iv is unset"
                           : "has no IV");
    return false;
  }
  if (mode == Mode::kCbc) {
    if (s.cipher_set && key.size () != cipher_key_length (s.cipher)) {
      SETTINGS_ERROR (self,
          "cipher=aes-%u-cbc needs a %u-bit key (%u hex digits); the key "
          "has %u bits.",
          (guint)cipher_key_length (s.cipher) * 8,
          (guint)cipher_key_length (s.cipher) * 8,
          (guint)cipher_key_length (s.cipher) * 2, (guint)key.size () * 8);
      return false;
    }
    /* aesdec with serialize-iv reads the IV from the stream; in every other
     * case CBC has no IV unless one is given. (gst-plugins-bad used zeros.) */
    if (!s.iv && (encrypt || !s.serialize_iv)) {
      SETTINGS_ERROR (self, "%s",
          encrypt ? "mode=cbc needs an iv: set iv (32 hex digits), and "
                    "serialize-iv=true to send it in front of the stream."
                  : "mode=cbc needs an iv: set the iv the stream was "
                    "encrypted with, or serialize-iv=true if the stream "
                    "starts with it.");
      return false;
    }
  }
  return true;
}

/* aesenc mode=gcm: a new stream: fresh random salt, its subkey, sequence
 * numbers from 0. A (subkey, nonce) pair can then only repeat if two
 * streams draw the same 80-bit salt (docs/format.md). */
static bool
start_gcm_stream (GstAesStreamBase *self, State &st)
{
  std::string error;
  if (!aesstream::random_bytes (st.salt.data (), st.salt.size ())) {
    GST_ELEMENT_ERROR (self, LIBRARY, INIT,
        ("OpenSSL's random generator failed; refusing to encrypt."), (NULL));
    return false;
  }
  SecureBytes subkey = GcmRecord::derive_key (st.key, st.salt);
  st.gcm = subkey.empty () ? nullptr : Gcm::create (subkey, true, &error);
  if (!st.gcm) {
    GST_ELEMENT_ERROR (self, LIBRARY, INIT,
        ("Could not set up AES-GCM: %s", error.c_str ()), (NULL));
    return false;
  }
  st.seq = 0;
  return true;
}

static gboolean
gst_aes_stream_base_start (GstBaseTransform *trans)
{
  GstAesStreamBase *self = GST_AES_STREAM_BASE (trans);
  Impl *impl = get_impl (self);
  const gboolean encrypt = is_encrypt (self);

  /* Snapshot of the settings: the stream never looks at them again. */
  Settings s;
  GST_OBJECT_LOCK (self);
  {
    const Settings &cur = impl->settings;
    s.mode = cur.mode;
    s.mode_set = cur.mode_set;
    s.cipher = cur.cipher;
    s.cipher_set = cur.cipher_set;
    s.serialize_iv = cur.serialize_iv;
    s.per_buffer_padding = cur.per_buffer_padding;
    s.invalid_records = cur.invalid_records;
    s.key = cur.key.clone ();
    s.key_error = cur.key_error;
    s.key_file = cur.key_file;
    s.iv = cur.iv;
    s.iv_error = cur.iv_error;
  }
  GST_OBJECT_UNLOCK (self);
  SecureBytes key = std::move (s.key);

  if (!s.key_error.empty ()) {
    SETTINGS_ERROR (self, "Invalid key property: %s", s.key_error.c_str ());
    return FALSE;
  }
  if (!key.empty () && !s.key_file.empty ()) {
    SETTINGS_ERROR (self, "Both key and key-file are set; set only one of "
                          "them.");
    return FALSE;
  }
  if (key.empty () && s.key_file.empty ()) {
    SETTINGS_ERROR (self, "No key set: set the key property (32, 48 or 64 "
                          "hex digits for AES-128/192/256) or key-file.");
    return FALSE;
  }
  if (!s.key_file.empty ()) {
    std::string error;
    if (!aesstream::read_key_file (s.key_file, &key, &error)) {
      GST_ELEMENT_ERROR (
          self, RESOURCE, OPEN_READ, ("%s", error.c_str ()), (NULL));
      return FALSE;
    }
  }
  if (!s.iv_error.empty ()) {
    SETTINGS_ERROR (self, "Invalid iv property: %s", s.iv_error.c_str ());
    return FALSE;
  }

  State st;
  st.mode = core_mode (effective_mode (s));
  if (!check_mode_settings (self, s, key, st.mode))
    return FALSE;

  if (s.iv)
    st.iv = *s.iv;
  if (st.mode == Mode::kCtr && !s.iv) {
    st.prefix = Prefix::kHeader;
    if (encrypt && !aesstream::random_bytes (st.iv.data (), st.iv.size ())) {
      GST_ELEMENT_ERROR (self, LIBRARY, INIT,
          ("OpenSSL's random generator failed; refusing to encrypt with a "
           "predictable IV."),
          (NULL));
      return FALSE;
    }
    /* aesdec learns the IV from the header; until then it holds zeros and
     * outputs nothing. The key stays for the header's key check, and for
     * aesenc's next header after a flush; it is wiped at stop. */
    st.key = key.clone ();
    if (encrypt)
      st.prefix_buf = make_header (st, st.key);
  } else if (st.mode == Mode::kCbc && s.serialize_iv) {
    st.prefix = Prefix::kIv;
    if (encrypt)
      std::memcpy (st.prefix_buf.data (), st.iv.data (), kBlockSize);
    else if (s.iv)
      GST_INFO_OBJECT (self, "serialize-iv: the iv property is not used, "
                             "the stream carries the IV");
  }
  st.prefix_pending = st.prefix != Prefix::kNone;

  if (st.mode == Mode::kGcm) {
    /* Records need the key for every new stream's subkey (aesenc after a
     * flush, aesdec for each sender's salt). Wiped at stop. */
    st.key = key.clone ();
    if (encrypt) {
      if (!start_gcm_stream (self, st))
        return FALSE;
    } else {
      st.adapter.reset (gst_adapter_new ());
      st.invalid_records = s.invalid_records;
      impl->counters.reset ();
    }
  } else {
    std::string error;
    st.cipher = Cipher::create (st.mode, encrypt, key,
        st.mode == Mode::kEcb ? nullptr : st.iv.data (), &error,
        s.per_buffer_padding);
    if (!st.cipher) {
      GST_ELEMENT_ERROR (self, LIBRARY, INIT, ("%s", error.c_str ()), (NULL));
      return FALSE;
    }
  }

  if (st.mode == Mode::kEcb) {
    GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
        ("mode=ecb is insecure: identical 16-byte blocks give identical "
         "ciphertext, so patterns in the media stay visible. Use it only "
         "to interoperate with the original ECB recipe; prefer mode=ctr."),
        (NULL));
  }

  GST_INFO_OBJECT (self, "starting: mode %s, AES-%u, %s",
      aesstream::mode_name (st.mode), (guint)key.size () * 8,
      st.prefix == Prefix::kHeader ? "random iv in a stream header"
      : st.prefix == Prefix::kIv   ? "serialized iv"
                                   : "iv from the properties");

  GST_OBJECT_LOCK (self);
  impl->state = std::move (st);
  impl->started = true;
  GST_OBJECT_UNLOCK (self);
  /* `key` (the snapshot) is wiped here by its destructor. */
  return TRUE;
}

static gboolean
gst_aes_stream_base_stop (GstBaseTransform *trans)
{
  GstAesStreamBase *self = GST_AES_STREAM_BASE (trans);
  Impl *impl = get_impl (self);

  GST_OBJECT_LOCK (self);
  /* Dropping the cipher frees the EVP context, which cleanses the key
   * schedule; State's key copy is a SecureBytes. Nothing of the stream is
   * left. */
  impl->state = State ();
  impl->started = false;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

/* Back to the state right after start(), for a flush. aesenc with a random
 * iv draws a new one: reusing the old one on new data would reuse keystream. */
static gboolean
reset_stream (GstAesStreamBase *self)
{
  State &st = get_impl (self)->state;
  st.failed = false;
  if (st.mode == Mode::kGcm) {
    /* aesenc: what follows a flush is a new stream with a new salt.
     * aesdec: a partial record before the flush is dropped; the replay
     * windows stay. */
    if (st.adapter)
      gst_adapter_clear (st.adapter.get ());
    return !is_encrypt (self) || start_gcm_stream (self, st);
  }
  if (!st.cipher)
    return TRUE;
  st.prefix_have = 0;
  st.prefix_pending = st.prefix != Prefix::kNone;
  if (st.prefix == Prefix::kHeader && is_encrypt (self)) {
    if (!aesstream::random_bytes (st.iv.data (), st.iv.size ()))
      return FALSE;
    st.prefix_buf = make_header (st, st.key);
  }
  return st.cipher->restart (st.mode == Mode::kEcb ? nullptr : st.iv.data ());
}

/* ---------------------------------------------------------------------- */
/* Buffers */

/* Maps a buffer for the cipher and unmaps it when it goes out of scope. A
 * buffer of one memory (the usual case) is mapped through that memory,
 * which skips gst_buffer_map's bookkeeping on the hot path. */
class BufferMap {
public:
  BufferMap (GstBuffer *buf, GstMapFlags flags) : buf_ (buf)
  {
    if (gst_buffer_n_memory (buf) == 1) {
      mem_ = gst_buffer_peek_memory (buf, 0);
      ok_ = gst_memory_map (mem_, &info_, flags);
      if (ok_)
        return;
      /* A memory shared with another buffer (a region of a bigger one)
       * refuses write access; gst_buffer_map swaps in a private copy. */
      mem_ = nullptr;
    }
    ok_ = gst_buffer_map (buf, &info_, flags);
  }
  ~BufferMap () { unmap (); }
  BufferMap (const BufferMap &) = delete;
  BufferMap &operator= (const BufferMap &) = delete;

  void unmap ()
  {
    if (!ok_)
      return;
    if (mem_)
      gst_memory_unmap (mem_, &info_);
    else
      gst_buffer_unmap (buf_, &info_);
    ok_ = false;
  }
  bool ok () const { return ok_; }
  guint8 *data () const { return info_.data; }
  gsize size () const { return info_.size; }

private:
  GstBuffer *buf_;
  GstMemory *mem_ = nullptr;
  GstMapInfo info_{};
  bool ok_ = false;
};

/* aesdec: checks a complete aesstream header and sets up the cipher from
 * it. Returns false after posting an error. */
static bool
accept_header (GstAesStreamBase *self, State &st)
{
  StreamHeader h;
  std::string error;
  if (!StreamHeader::parse (
          st.prefix_buf.data (), st.prefix_have, &h, &error)) {
    GST_ELEMENT_ERROR (self, STREAM, DECRYPT, ("%s", error.c_str ()), (NULL));
    return false;
  }
  if (h.mode != st.mode) {
    GST_ELEMENT_ERROR (self, STREAM, DECRYPT,
        ("The stream was encrypted with mode=%s but aesdec has mode=%s.",
            aesstream::mode_name (h.mode), aesstream::mode_name (st.mode)),
        (NULL));
    return false;
  }
  if (h.key_length != st.cipher->key_length ()) {
    GST_ELEMENT_ERROR (self, STREAM, DECRYPT,
        ("The stream was encrypted with AES-%u but the key given to aesdec "
         "is AES-%u: wrong key.",
            h.key_length * 8u, (guint)st.cipher->key_length () * 8u),
        (NULL));
    return false;
  }
  if (CRYPTO_memcmp (h.key_check.data (),
          StreamHeader::compute_key_check (st.key, h.iv).data (),
          h.key_check.size ())
      != 0) {
    GST_ELEMENT_ERROR (self, STREAM, DECRYPT,
        ("Wrong key: the stream header's key check does not match the key "
         "given to aesdec."),
        (NULL));
    return false;
  }
  st.iv = h.iv;
  return true;
}

/* aesdec: takes prefix bytes (header or serialized IV) from the front of
 * `data`. Returns how many bytes were consumed, or -1 after posting an
 * error. */
static gssize
consume_prefix (GstAesStreamBase *self, const guint8 *data, gsize size)
{
  State &st = get_impl (self)->state;
  gsize take = MIN (size, st.prefix_size () - st.prefix_have);
  if (take > 0) /* an empty buffer maps to NULL */
    std::memcpy (st.prefix_buf.data () + st.prefix_have, data, take);
  st.prefix_have += take;

  if (st.prefix == Prefix::kHeader) {
    /* Check the magic as soon as it is complete, so that a wrong input
     * fails on its first bytes instead of waiting for a whole header. */
    bool magic_ok
        = st.prefix_have < StreamHeader::kMagic.size ()
          || std::memcmp (st.prefix_buf.data (), StreamHeader::kMagic.data (),
                 StreamHeader::kMagic.size ())
                 == 0;
    if (magic_ok && st.prefix_have < StreamHeader::kSize)
      return take;
    if (!accept_header (self, st))
      return -1;
  } else {
    if (st.prefix_have < kBlockSize)
      return take;
    std::memcpy (st.iv.data (), st.prefix_buf.data (), kBlockSize);
  }
  if (!st.cipher->restart (st.iv.data ())) {
    GST_ELEMENT_ERROR (
        self, LIBRARY, FAILED, ("OpenSSL failed to set the iv"), (NULL));
    return -1;
  }
  st.prefix_pending = false;
  GST_DEBUG_OBJECT (self, "read the stream's %s",
      st.prefix == Prefix::kHeader ? "header" : "iv");
  return take;
}

/* A buffer of `size` bytes for output: from the pool downstream proposed
 * when it has one with buffers large enough, else from the negotiated
 * allocator. */
static GstBuffer *
allocate_output (GstBaseTransform *trans, gsize size)
{
  GstBuffer *buf = NULL;
  GstBufferPool *pool = gst_base_transform_get_buffer_pool (trans);
  if (pool != NULL) {
    GstStructure *config = gst_buffer_pool_get_config (pool);
    guint pool_size = 0;
    gst_buffer_pool_config_get_params (config, NULL, &pool_size, NULL, NULL);
    gst_structure_free (config);
    /* The base class activates its pool in its own prepare_output_buffer,
     * which we replace: activate it here, once. */
    if (pool_size >= size
        && (gst_buffer_pool_is_active (pool)
            || gst_buffer_pool_set_active (pool, TRUE))
        && gst_buffer_pool_acquire_buffer (pool, &buf, NULL) == GST_FLOW_OK)
      gst_buffer_set_size (buf, size);
    gst_object_unref (pool);
    if (buf != NULL)
      return buf;
  }
  GstAllocator *allocator = NULL;
  GstAllocationParams params;
  gst_base_transform_get_allocator (trans, &allocator, &params);
  buf = gst_buffer_new_allocate (allocator, size, &params);
  if (allocator)
    gst_object_unref (allocator);
  return buf;
}

static GstFlowReturn
gst_aes_stream_base_prepare_output_buffer (
    GstBaseTransform *trans, GstBuffer *inbuf, GstBuffer **outbuf)
{
  GstAesStreamBase *self = GST_AES_STREAM_BASE (trans);
  State &st = get_impl (self)->state;
  gsize size = gst_buffer_get_size (inbuf);

  /* Work in place when we may write to the input and the cipher's output
   * never runs ahead of its input (always for CTR, which is
   * length-preserving): no copy, no allocation. A GCM record encrypts the
   * payload in place too, with its header and tag as memories of their
   * own around it. */
  /* (For small GCM records one new buffer costs less than two extra
   * memories around the old one.) */
  bool in_place_ok = st.mode == Mode::kGcm
                         ? is_encrypt (self) && size >= GCM_IN_PLACE_MIN
                         : st.cipher->can_update_in_place ();
  if (in_place_ok && gst_buffer_is_writable (inbuf)
      && gst_buffer_is_all_memory_writable (inbuf)) {
    *outbuf = inbuf;
    return GST_FLOW_OK;
  }

  /* Otherwise exactly one pass: the cipher reads the input and writes the
   * new buffer. */
  *outbuf = allocate_output (trans, st.mode == Mode::kGcm
                                        ? size + GcmRecord::kOverhead
                                        : st.cipher->max_update_output (size));
  if (*outbuf == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
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

/* aesenc mode=gcm: one input buffer becomes one record, header and tag
 * around the ciphertext (docs/format.md). */
static GstMemory *
wrap_copy (const guint8 *data, gsize size)
{
  gpointer copy = g_memdup2 (data, size);
  return gst_memory_new_wrapped (
      (GstMemoryFlags)0, copy, size, 0, size, copy, g_free);
}

static GstFlowReturn
seal_record (GstAesStreamBase *self, GstBuffer *inbuf, GstBuffer *outbuf)
{
  State &st = get_impl (self)->state;
  const gboolean in_place = inbuf == outbuf;
  gsize n = gst_buffer_get_size (inbuf);

  if (st.seq > GcmRecord::kMaxSeq) {
    GST_ELEMENT_ERROR (self, STREAM, ENCODE,
        ("This stream has used all 2^48 record numbers; restart the element "
         "to begin a new stream (a new salt)."),
        (NULL));
    return GST_FLOW_ERROR;
  }
  if (n > GcmRecord::kMaxLength) {
    GST_ELEMENT_ERROR (self, STREAM, ENCODE,
        ("A buffer of %" G_GSIZE_FORMAT " bytes is larger than a GCM record "
         "may be (%u bytes).",
            n, (guint)GcmRecord::kMaxLength),
        (NULL));
    return GST_FLOW_ERROR;
  }
  GcmRecord r;
  r.length = static_cast<uint32_t> (n);
  r.seq = st.seq;
  r.salt = st.salt;
  guint8 header[GcmRecord::kHeaderSize], tag[GcmRecord::kTagSize];
  r.serialize (header);
  auto nonce = GcmRecord::nonce (st.seq);

  bool ok;
  {
    BufferMap in (inbuf, in_place ? GST_MAP_READWRITE : GST_MAP_READ);
    std::optional<BufferMap> out;
    if (!in_place)
      out.emplace (outbuf, GST_MAP_WRITE);
    if (!in.ok () || (out && !out->ok ())) {
      GST_ELEMENT_ERROR (
          self, RESOURCE, FAILED, ("Could not map a buffer"), (NULL));
      return GST_FLOW_ERROR;
    }
    if (in_place) {
      ok = st.gcm->seal (nonce.data (), header, sizeof (header), in.data (), n,
          in.data (), tag);
    } else {
      std::memcpy (out->data (), header, sizeof (header));
      ok = st.gcm->seal (nonce.data (), header, sizeof (header), in.data (), n,
          out->data () + sizeof (header), out->data () + sizeof (header) + n);
    }
  }
  if (ok && in_place) {
    gst_buffer_prepend_memory (outbuf, wrap_copy (header, sizeof (header)));
    gst_buffer_append_memory (outbuf, wrap_copy (tag, sizeof (tag)));
  } else if (ok) {
    gst_buffer_set_size (outbuf, n + GcmRecord::kOverhead);
  }
  if (!ok) {
    GST_ELEMENT_ERROR (
        self, LIBRARY, FAILED, ("OpenSSL failed to encrypt a record"), (NULL));
    return GST_FLOW_ERROR;
  }
  st.seq++;
  return GST_FLOW_OK;
}

/* aesenc mode=gcm at EOS: an empty record flagged final, so that aesdec can
 * tell a complete stream from a truncated one. */
static bool
final_record (GstAesStreamBase *self, guint8 (&rec)[GcmRecord::kOverhead])
{
  State &st = get_impl (self)->state;
  GcmRecord r;
  r.flags = GcmRecord::kFlagFinal;
  r.seq = st.seq++;
  r.salt = st.salt;
  r.serialize (rec);
  auto nonce = GcmRecord::nonce (r.seq);
  return r.seq <= GcmRecord::kMaxSeq
         && st.gcm->seal (nonce.data (), rec, GcmRecord::kHeaderSize, rec, 0,
             rec + GcmRecord::kHeaderSize, rec + GcmRecord::kHeaderSize);
}

static GstFlowReturn
gst_aes_stream_base_transform (
    GstBaseTransform *trans, GstBuffer *inbuf, GstBuffer *outbuf)
{
  GstAesStreamBase *self = GST_AES_STREAM_BASE (trans);
  State &st = get_impl (self)->state;
  const gboolean encrypt = is_encrypt (self);
  const gboolean in_place = inbuf == outbuf;

  if (st.failed)
    return GST_FLOW_ERROR;
  if (st.mode == Mode::kGcm)
    return seal_record (self, inbuf, outbuf);

  gsize skip = 0, written = 0, in_size = 0;
  {
    BufferMap in (inbuf, in_place ? GST_MAP_READWRITE : GST_MAP_READ);
    std::optional<BufferMap> out;
    if (!in_place)
      out.emplace (outbuf, GST_MAP_WRITE);
    if (!in.ok () || (out && !out->ok ())) {
      GST_ELEMENT_ERROR (
          self, RESOURCE, FAILED, ("Could not map a buffer"), (NULL));
      return GST_FLOW_ERROR;
    }
    in_size = in.size ();
    if (!encrypt && st.prefix_pending) {
      gssize taken = consume_prefix (self, in.data (), in.size ());
      if (taken < 0) {
        st.failed = true;
        return GST_FLOW_ERROR;
      }
      skip = taken;
    }
    /* In place, the output starts where the input left off after the
     * prefix, because EVP refuses partially overlapping ranges. */
    guint8 *dst = in_place ? in.data () + skip : out->data ();
    std::string error;
    if ((encrypt || !st.prefix_pending)
        && !st.cipher->update (
            in.data () + skip, in.size () - skip, dst, &written, &error)) {
      st.failed = true;
      GST_ELEMENT_ERROR (self, STREAM, DECRYPT, ("%s", error.c_str ()), (NULL));
      return GST_FLOW_ERROR;
    }
  }

  if (in_place) {
    if (skip > 0 || written != in_size)
      gst_buffer_resize (outbuf, skip, written);
  } else {
    gst_buffer_set_size (outbuf, written);
  }

  /* aesenc: the prefix goes in front of the first output, as a memory of
   * its own (no copy of the payload). A header is due even before an
   * empty CTR buffer; a serialized IV waits for ciphertext. */
  if (encrypt && st.prefix_pending
      && (written > 0 || st.prefix == Prefix::kHeader)) {
    gst_buffer_prepend_memory (
        outbuf, wrap_copy (st.prefix_buf.data (), st.prefix_size ()));
    st.prefix_pending = false;
    return GST_FLOW_OK;
  }
  /* CTR keeps one output buffer per input buffer, even an empty one;
   * block modes may have nothing to say yet, and neither has aesdec when
   * a buffer held only prefix bytes. */
  if (written == 0 && (st.mode != Mode::kCtr || skip > 0 || st.prefix_pending))
    return GST_BASE_TRANSFORM_FLOW_DROPPED;
  return GST_FLOW_OK;
}

/* ---------------------------------------------------------------------- */
/* aesdec mode=gcm: framing, authentication, replay protection */

enum class Bad
{
  kRejected, /* malformed, truncated, or failed authentication */
  kReplayed, /* a record already received, or too old for the window */
  kLost,     /* records missing (only an error in error mode) */
};

/* Decides, once, what "auto" means here: drop for live input (a network
 * source), error otherwise (a file). */
static void
resolve_invalid_records (GstAesStreamBase *self, State &st)
{
  if (st.invalid_records != GST_AES_STREAM_INVALID_RECORDS_AUTO)
    return;
  gboolean live = FALSE;
  GstQuery *q = gst_query_new_latency ();
  if (gst_pad_peer_query (GST_BASE_TRANSFORM_SINK_PAD (self), q))
    gst_query_parse_latency (q, &live, NULL, NULL);
  gst_query_unref (q);
  st.invalid_records = live ? GST_AES_STREAM_INVALID_RECORDS_DROP
                            : GST_AES_STREAM_INVALID_RECORDS_ERROR;
  GST_INFO_OBJECT (self, "invalid-records=auto: %s input, so %s",
      live ? "live" : "non-live", live ? "drop" : "error");
}

/* The counters as fields of a message's details structure (the message
 * owns the structure it builds from them). */
#define COUNTER_FIELDS(impl)                                                   \
  "accepted", G_TYPE_UINT64, (guint64)(impl)->counters.accepted.load (),       \
      "lost", G_TYPE_UINT64,                                                   \
      (guint64)MAX ((impl)->counters.lost.load (), (gint64)0), "replayed",     \
      G_TYPE_UINT64, (guint64)(impl)->counters.replayed.load (), "rejected",   \
      G_TYPE_UINT64, (guint64)(impl)->counters.rejected.load (), NULL

/* Counts a record that was not accepted and applies the policy: error (and
 * stop) or drop with a warning. Warnings are limited to one a second so
 * that an attack cannot flood the bus; the counters are always exact. */
static GstFlowReturn
bad_record (
    GstAesStreamBase *self, Bad kind, guint64 count, const std::string &why)
{
  Impl *impl = get_impl (self);
  State &st = impl->state;
  switch (kind) {
    case Bad::kRejected:
      impl->counters.rejected += count;
      break;
    case Bad::kReplayed:
      impl->counters.replayed += count;
      break;
    case Bad::kLost:
      break; /* counted by the replay window already */
  }
  if (st.invalid_records == GST_AES_STREAM_INVALID_RECORDS_ERROR) {
    st.failed = true;
    GST_ELEMENT_ERROR_WITH_DETAILS (self, STREAM, DECRYPT, ("%s", why.c_str ()),
        (NULL), (COUNTER_FIELDS (impl)));
    return GST_FLOW_ERROR;
  }
  if (kind == Bad::kLost)
    return GST_FLOW_OK; /* loss is normal on live transports: no warning */
  gint64 now = g_get_monotonic_time ();
  if (st.last_warning == 0 || now - st.last_warning >= G_USEC_PER_SEC) {
    st.last_warning = now;
    GST_ELEMENT_WARNING_WITH_DETAILS (self, STREAM, DECRYPT,
        ("Dropped a record: %s (records accepted %" G_GUINT64_FORMAT
         ", lost %" G_GINT64_FORMAT ", replayed %" G_GUINT64_FORMAT
         ", rejected %" G_GUINT64_FORMAT ")",
            why.c_str (), (guint64)impl->counters.accepted.load (),
            MAX (impl->counters.lost.load (), (gint64)0),
            (guint64)impl->counters.replayed.load (),
            (guint64)impl->counters.rejected.load ()),
        (NULL), (COUNTER_FIELDS (impl)));
  } else {
    GST_DEBUG_OBJECT (self, "dropped a record: %s", why.c_str ());
  }
  return GST_FLOW_OK;
}

/* After a bad record: skip a byte and look for the next record start, so
 * that both packet transports (a record per buffer) and byte streams
 * recover. */
static void
resync (GstAdapter *adapter)
{
  gst_adapter_flush (adapter, 1);
  gsize avail = gst_adapter_available (adapter);
  if (avail < 4)
    return;
  /* "Ag", version 1, flags 0 or 1. */
  gssize off = gst_adapter_masked_scan_uint32 (adapter, 0xfffffffe,
      (guint32)GcmRecord::kMagic0 << 24 | (guint32)GcmRecord::kMagic1 << 16
          | (guint32)GcmRecord::kVersion << 8,
      0, avail);
  gst_adapter_flush (adapter, off >= 0 ? (gsize)off : avail - 3);
}

static GcmSession *
session_for (GstAesStreamBase *self, State &st,
    const std::array<uint8_t, GcmRecord::kSaltSize> &salt)
{
  for (size_t i = 0; i < st.sessions.size (); i++) {
    if (st.sessions[i].salt == salt) {
      if (i > 0)
        std::rotate (st.sessions.begin (), st.sessions.begin () + i,
            st.sessions.begin () + i + 1);
      return &st.sessions[0];
    }
  }
  /* A stream we have not seen: a new sender or a restart. Its subkey is
   * derived from its salt; it is kept only if its first record
   * authenticates (see open_record). */
  GcmSession fresh;
  fresh.salt = salt;
  std::string error;
  SecureBytes subkey = GcmRecord::derive_key (st.key, salt);
  fresh.gcm = subkey.empty () ? nullptr : Gcm::create (subkey, false, &error);
  if (!fresh.gcm)
    return nullptr;
  st.sessions.insert (st.sessions.begin (), std::move (fresh));
  return &st.sessions[0];
}

/* A packet transport with a damaged length field leaves a record waiting
 * for bytes that belong to the next packets. If a new buffer is itself
 * exactly one well-formed record, the waiting one was bogus. */
static bool
buffer_is_one_record (GstBuffer *buf)
{
  guint8 h[GcmRecord::kHeaderSize];
  if (gst_buffer_extract (buf, 0, h, sizeof (h)) != sizeof (h))
    return false;
  GcmRecord r;
  std::string error;
  return GcmRecord::parse (h, &r, &error)
         && gst_buffer_get_size (buf) == r.length + GcmRecord::kOverhead;
}

/* Takes the next complete record from the adapter. Returns OK with
 * *outbuf NULL when more input is needed. */
static GstFlowReturn
next_record (GstAesStreamBase *self, GstBuffer **outbuf)
{
  Impl *impl = get_impl (self);
  State &st = impl->state;
  GstAdapter *adapter = st.adapter.get ();
  *outbuf = NULL;

  for (;;) {
    gsize avail = gst_adapter_available (adapter);
    if (avail < GcmRecord::kHeaderSize)
      return GST_FLOW_OK;
    guint8 h[GcmRecord::kHeaderSize];
    gst_adapter_copy (adapter, h, 0, sizeof (h));
    GcmRecord r;
    std::string error;
    if (!GcmRecord::parse (h, &r, &error)) {
      resync (adapter);
      if (st.resyncing)
        continue;
      st.resyncing = true;
      GstFlowReturn ret = bad_record (self, Bad::kRejected, 1, error);
      if (ret != GST_FLOW_OK)
        return ret;
      continue;
    }
    gsize total = r.length + GcmRecord::kOverhead;
    if (avail < total)
      return GST_FLOW_OK;

    GcmSession *session = session_for (self, st, r.salt);
    if (session == nullptr) {
      GST_ELEMENT_ERROR (
          self, LIBRARY, FAILED, ("Could not derive a GCM subkey"), (NULL));
      return GST_FLOW_ERROR;
    }
    ReplayWindow::Verdict verdict = session->window.check (r.seq);
    if (verdict != ReplayWindow::Verdict::kNew) {
      gst_adapter_flush (adapter, total);
      GstFlowReturn ret = bad_record (self, Bad::kReplayed, 1,
          verdict == ReplayWindow::Verdict::kDuplicate
              ? "record " + std::to_string (r.seq)
                    + " was already received "
                      "(duplicate or replay)"
              : "record " + std::to_string (r.seq)
                    + " is older than the "
                      "replay window");
      if (ret != GST_FLOW_OK)
        return ret;
      continue;
    }

    auto nonce = GcmRecord::nonce (r.seq);
    GstBuffer *out = NULL;
    bool ok;
    if (gst_adapter_available_fast (adapter) == total) {
      /* The usual packet case: the record is one whole input buffer.
       * Decrypt it in place and pass the payload on as a region of it. */
      GstClockTime pts = gst_adapter_prev_pts (adapter, NULL);
      GstClockTime dts = gst_adapter_prev_dts (adapter, NULL);
      GstBuffer *whole = gst_adapter_take_buffer (adapter, total);
      bool in_place = gst_buffer_is_writable (whole)
                      && gst_buffer_is_all_memory_writable (whole);
      if (!in_place)
        out = gst_buffer_new_allocate (NULL, r.length, NULL);
      {
        BufferMap rec (whole, in_place ? GST_MAP_READWRITE : GST_MAP_READ);
        std::optional<BufferMap> dst;
        if (!in_place && r.length > 0) /* an empty buffer does not map */
          dst.emplace (out, GST_MAP_WRITE);
        guint8 *plain = in_place ? rec.data () + GcmRecord::kHeaderSize
                        : dst    ? dst->data ()
                                 : nullptr;
        ok = rec.ok () && (!dst || dst->ok ())
             && session->gcm->open (nonce.data (), rec.data (),
                 GcmRecord::kHeaderSize, rec.data () + GcmRecord::kHeaderSize,
                 r.length, plain,
                 rec.data () + GcmRecord::kHeaderSize + r.length);
        if (!ok && plain != NULL)
          OPENSSL_cleanse (plain, r.length); /* never let it out */
      }
      if (ok && in_place)
        out = gst_buffer_copy_region (whole,
            (GstBufferCopyFlags)(GST_BUFFER_COPY_METADATA
                                 | GST_BUFFER_COPY_MEMORY),
            GcmRecord::kHeaderSize, r.length);
      if (ok) {
        GST_BUFFER_PTS (out) = pts;
        GST_BUFFER_DTS (out) = dts;
      }
      /* The bad record was exactly this buffer: the next one starts
       * afresh, nothing to resynchronise. */
      if (!ok)
        st.resyncing = false;
      gst_buffer_unref (whole);
    } else {
      /* A record split over buffers, or several in one (byte streams). */
      GstClockTime pts = gst_adapter_prev_pts (adapter, NULL);
      GstClockTime dts = gst_adapter_prev_dts (adapter, NULL);
      out = gst_buffer_new_allocate (NULL, r.length, NULL);
      {
        std::optional<BufferMap> dst;
        if (r.length > 0) /* an empty buffer does not map */
          dst.emplace (out, GST_MAP_WRITE);
        guint8 *plain = dst ? dst->data () : nullptr;
        const guint8 *rec
            = static_cast<const guint8 *> (gst_adapter_map (adapter, total));
        ok = (!dst || dst->ok ())
             && session->gcm->open (nonce.data (), rec, GcmRecord::kHeaderSize,
                 rec + GcmRecord::kHeaderSize, r.length, plain,
                 rec + GcmRecord::kHeaderSize + r.length);
        gst_adapter_unmap (adapter);
        if (!ok && plain != nullptr)
          OPENSSL_cleanse (plain, r.length); /* never let it out */
      }
      if (ok) {
        gst_adapter_flush (adapter, total);
        GST_BUFFER_PTS (out) = pts;
        GST_BUFFER_DTS (out) = dts;
      } else {
        resync (adapter);
      }
    }
    if (!ok) {
      if (out)
        gst_buffer_unref (out);
      if (!session->window.started ())
        st.sessions.erase (st.sessions.begin ()); /* forged salt: forget */
      if (st.resyncing)
        continue;
      st.resyncing = true;
      GstFlowReturn ret = bad_record (self, Bad::kRejected, 1,
          "record " + std::to_string (r.seq)
              + " failed authentication: "
                "wrong key, or the record was modified");
      if (ret != GST_FLOW_OK)
        return ret;
      continue;
    }
    st.resyncing = false;

    int64_t lost = session->window.accept (r.seq);
    impl->counters.accepted++;
    impl->counters.lost += lost;
    if (r.flags & GcmRecord::kFlagFinal)
      session->final_seen = true;
    if (lost > 0) {
      GstFlowReturn ret = bad_record (self, Bad::kLost, (guint64)lost,
          std::to_string (lost) + " record(s) missing before record "
              + std::to_string (r.seq) + ": removed or lost");
      if (ret != GST_FLOW_OK) {
        gst_buffer_unref (out);
        return ret;
      }
    }
    if (r.length == 0) { /* the final record, or an empty buffer */
      gst_buffer_unref (out);
      continue;
    }
    *outbuf = out;
    return GST_FLOW_OK;
  }
}

static GstFlowReturn
gst_aes_stream_base_generate_output (
    GstBaseTransform *trans, GstBuffer **outbuf)
{
  GstAesStreamBase *self = GST_AES_STREAM_BASE (trans);
  State &st = get_impl (self)->state;
  if (st.mode != Mode::kGcm || is_encrypt (self))
    return GST_BASE_TRANSFORM_CLASS (gst_aes_stream_base_parent_class)
        ->generate_output (trans, outbuf);

  *outbuf = NULL;
  if (st.failed)
    return GST_FLOW_ERROR;
  resolve_invalid_records (self, st);
  GstBuffer *in = trans->queued_buf;
  trans->queued_buf = NULL;
  if (in != NULL) {
    GstAdapter *adapter = st.adapter.get ();
    if (gst_adapter_available (adapter) > 0 && buffer_is_one_record (in)) {
      gst_adapter_clear (adapter);
      if (!st.resyncing) {
        GstFlowReturn ret = bad_record (self, Bad::kRejected, 1,
            "a record was cut short by the next packet (damaged length)");
        if (ret != GST_FLOW_OK) {
          gst_buffer_unref (in);
          return ret;
        }
      }
      st.resyncing = false;
    }
    gst_adapter_push (adapter, in);
  }
  return next_record (self, outbuf);
}

/* ---------------------------------------------------------------------- */
/* Events */

static void
push_bytes (GstAesStreamBase *self, const guint8 *data, gsize size,
    GstBufferFlags flags)
{
  GstBuffer *buf = gst_buffer_new_memdup (data, size);
  GST_BUFFER_FLAG_SET (buf, flags);
  GstFlowReturn ret = gst_pad_push (GST_BASE_TRANSFORM_SRC_PAD (self), buf);
  if (ret != GST_FLOW_OK)
    GST_DEBUG_OBJECT (self, "pushing at EOS: %s", gst_flow_get_name (ret));
}

/* mode=gcm at EOS. aesenc: the final record. aesdec: bytes left over are a
 * truncated record; a stream that never sent its final record was cut
 * short (an error for files, where nothing should be missing). */
static gboolean
drain_gcm (GstAesStreamBase *self)
{
  Impl *impl = get_impl (self);
  State &st = impl->state;
  if (is_encrypt (self)) {
    if (!st.gcm)
      return TRUE;
    guint8 rec[GcmRecord::kOverhead];
    if (!final_record (self, rec)) {
      GST_ELEMENT_ERROR (
          self, LIBRARY, FAILED, ("Could not write the final record"), (NULL));
      return FALSE;
    }
    push_bytes (self, rec, sizeof (rec), (GstBufferFlags)0);
    return TRUE;
  }
  if (!st.adapter)
    return TRUE;
  resolve_invalid_records (self, st);
  gsize left = gst_adapter_available (st.adapter.get ());
  if (left > 0) {
    gst_adapter_clear (st.adapter.get ());
    if (!st.resyncing
        && bad_record (self, Bad::kRejected, 1,
               "the stream ends inside a record (" + std::to_string (left)
                   + " bytes left): it is truncated")
               != GST_FLOW_OK)
      return FALSE;
  }
  if (st.invalid_records == GST_AES_STREAM_INVALID_RECORDS_ERROR
      && (st.sessions.empty () || !st.sessions[0].final_seen)) {
    GST_ELEMENT_ERROR_WITH_DETAILS (self, STREAM, DECRYPT,
        ("%s", st.sessions.empty ()
                   ? "The input holds no mode=gcm record at all."
                   : "The stream ended without its final record: it was "
                     "truncated (records at the end are missing)."),
        (NULL), (COUNTER_FIELDS (impl)));
    return FALSE;
  }
  return TRUE;
}

/* At EOS: write what is still owed (aesenc: the last padded block, a header
 * for an empty stream) or report what is missing (aesdec). */
static gboolean
drain (GstAesStreamBase *self)
{
  State &st = get_impl (self)->state;
  const gboolean encrypt = is_encrypt (self);
  if (st.failed)
    return FALSE; /* the error is on the bus already */
  if (st.mode == Mode::kGcm)
    return drain_gcm (self);
  if (!st.cipher)
    return TRUE;

  if (!encrypt && st.prefix_pending
      && (st.prefix == Prefix::kHeader || st.prefix_have > 0)) {
    if (st.prefix == Prefix::kHeader)
      GST_ELEMENT_ERROR (self, STREAM, DECRYPT,
          ("The stream ended before its %u-byte aesstream header was "
           "complete (got %u bytes): it is truncated, or it was encrypted "
           "with a fixed iv (then set the same iv on aesdec).",
              (guint)StreamHeader::kSize, (guint)st.prefix_have),
          (NULL));
    else
      GST_ELEMENT_ERROR (self, STREAM, DECRYPT,
          ("The stream ended inside its 16-byte serialized IV (got %u "
           "bytes): it is truncated.",
              (guint)st.prefix_have),
          (NULL));
    return FALSE;
  }

  guint8 tail[Cipher::kMaxFinishOutput];
  gsize written = 0;
  std::string error;
  if (!st.cipher->finish (tail, &written, &error)) {
    GST_ELEMENT_ERROR (self, STREAM, DECRYPT, ("%s", error.c_str ()), (NULL));
    return FALSE;
  }
  if (encrypt && st.prefix_pending
      && (written > 0 || st.prefix == Prefix::kHeader)) {
    push_bytes (
        self, st.prefix_buf.data (), st.prefix_size (), GST_BUFFER_FLAG_HEADER);
    st.prefix_pending = false;
  }
  if (written > 0)
    push_bytes (self, tail, written, (GstBufferFlags)0);
  OPENSSL_cleanse (tail, sizeof (tail)); /* may hold plaintext */
  return TRUE;
}

static gboolean
gst_aes_stream_base_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstAesStreamBase *self = GST_AES_STREAM_BASE (trans);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_EOS:
      if (!drain (self)) {
        gst_event_unref (event);
        return FALSE;
      }
      break;
    case GST_EVENT_FLUSH_STOP:
      if (!reset_stream (self)) {
        GST_ELEMENT_ERROR (self, LIBRARY, FAILED,
            ("Could not restart the cipher after a flush"), (NULL));
        gst_event_unref (event);
        return FALSE;
      }
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (gst_aes_stream_base_parent_class)
      ->sink_event (trans, event);
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

  GST_DEBUG_CATEGORY_INIT (gst_aes_stream_base_debug, "aesstream", 0,
      "AES stream encryption (shared code)");

  gobject_class->set_property = gst_aes_stream_base_set_property;
  gobject_class->get_property = gst_aes_stream_base_get_property;
  gobject_class->finalize = gst_aes_stream_base_finalize;

  const GParamFlags rw_ready
      = (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
                      | GST_PARAM_MUTABLE_READY);

  g_object_class_install_property (gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode",
          "Cipher mode: ctr (streaming, default), ecb (insecure, for the "
          "original recipe's zero-padded format) or cbc (gst-plugins-bad "
          "compatible)",
          GST_TYPE_AES_STREAM_MODE, DEFAULT_MODE, rw_ready));
  g_object_class_install_property (gobject_class, PROP_KEY,
      g_param_spec_string ("key", "Key",
          "AES key as 32, 48 or 64 hex digits (AES-128/192/256). "
          "Write-only: it cannot be read back",
          NULL,
          (GParamFlags)(G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS
                        | GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property (gobject_class, PROP_KEY_FILE,
      g_param_spec_string ("key-file", "Key file",
          "Path of a file holding the key as hex text (surrounding "
          "whitespace ignored); keeps the key out of process lists. "
          "Exclusive with key",
          NULL, rw_ready));
  g_object_class_install_property (gobject_class, PROP_IV,
      g_param_spec_string ("iv", "IV",
          "CTR initial counter block as 32 hex digits. Unset (default): "
          "aesenc draws a random IV at every start and writes it in a stream "
          "header, which aesdec reads. Set: raw CTR without header, "
          "identical to openssl enc; never reuse a key+iv pair for "
          "different data",
          NULL, rw_ready));

  g_object_class_install_property (gobject_class, PROP_CIPHER,
      g_param_spec_enum ("cipher", "Cipher",
          "gst-plugins-bad compatibility: setting it selects mode=cbc with "
          "this key size (the key must match)",
          GST_TYPE_AES_STREAM_CIPHER, DEFAULT_CIPHER, rw_ready));
  g_object_class_install_property (gobject_class, PROP_SERIALIZE_IV,
      g_param_spec_boolean ("serialize-iv", "Serialize IV",
          "mode=cbc: aesenc writes the iv in front of the first output "
          "buffer; aesdec reads the IV from the first 16 bytes of the stream",
          DEFAULT_SERIALIZE_IV, rw_ready));
  g_object_class_install_property (gobject_class, PROP_PER_BUFFER_PADDING,
      g_param_spec_boolean ("per-buffer-padding", "Per-buffer padding",
          "mode=cbc: true pads every buffer with PKCS#7 (the CBC chain "
          "continues; buffer boundaries must be kept); false pads once at "
          "the end, like openssl enc. Ignored by other modes",
          DEFAULT_PER_BUFFER_PADDING, rw_ready));

  trans_class->start = GST_DEBUG_FUNCPTR (gst_aes_stream_base_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_aes_stream_base_stop);
  trans_class->prepare_output_buffer
      = GST_DEBUG_FUNCPTR (gst_aes_stream_base_prepare_output_buffer);
  trans_class->transform = GST_DEBUG_FUNCPTR (gst_aes_stream_base_transform);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_aes_stream_base_sink_event);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_aes_stream_base_query);
  trans_class->generate_output
      = GST_DEBUG_FUNCPTR (gst_aes_stream_base_generate_output);

  gst_type_mark_as_plugin_api (GST_TYPE_AES_STREAM_MODE, (GstPluginAPIFlags)0);
  gst_type_mark_as_plugin_api (
      GST_TYPE_AES_STREAM_CIPHER, (GstPluginAPIFlags)0);
  gst_type_mark_as_plugin_api (
      GST_TYPE_AES_STREAM_INVALID_RECORDS, (GstPluginAPIFlags)0);
  gst_type_mark_as_plugin_api (GST_TYPE_AES_STREAM_BASE, (GstPluginAPIFlags)0);
}

void
gst_aes_stream_base_install_decoder_properties (GObjectClass *klass)
{
  /* GObject does not inherit these two: properties installed on the
   * subclass are handled by the same functions as the base's. */
  klass->set_property = gst_aes_stream_base_set_property;
  klass->get_property = gst_aes_stream_base_get_property;
  g_object_class_install_property (klass, PROP_INVALID_RECORDS,
      g_param_spec_enum ("invalid-records", "Invalid records",
          "mode=gcm: what to do with a record that is not accepted "
          "(failed authentication, malformed, truncated, replayed, or "
          "missing): auto = error for files, drop for live input",
          GST_TYPE_AES_STREAM_INVALID_RECORDS, DEFAULT_INVALID_RECORDS,
          (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
                        | GST_PARAM_MUTABLE_READY)));
  const struct
  {
    guint id;
    const char *name, *nick, *blurb;
  } counters[] = {
      {PROP_RECORDS_ACCEPTED, "records-accepted", "Records accepted",
          "mode=gcm: records authenticated and output"},
      {PROP_RECORDS_LOST, "records-lost", "Records lost",
          "mode=gcm: gaps in the record numbers (late arrivals inside the "
          "replay window are taken off again)"},
      {PROP_RECORDS_REPLAYED, "records-replayed", "Records replayed",
          "mode=gcm: duplicates and records too old for the replay window, "
          "dropped"},
      {PROP_RECORDS_REJECTED, "records-rejected", "Records rejected",
          "mode=gcm: records that failed authentication or were malformed "
          "or truncated, dropped"},
  };
  for (const auto &c : counters)
    g_object_class_install_property (klass, c.id,
        g_param_spec_uint64 (c.name, c.nick, c.blurb, 0, G_MAXUINT64, 0,
            (GParamFlags)(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
}
