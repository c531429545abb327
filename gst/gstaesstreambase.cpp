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

#include <array>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include <openssl/crypto.h>

#include "aescore.hpp"

GST_DEBUG_CATEGORY_STATIC (gst_aes_stream_base_debug);
#define GST_CAT_DEFAULT gst_aes_stream_base_debug

using aesstream::Cipher;
using aesstream::kBlockSize;
using aesstream::Mode;
using aesstream::SecureBytes;
using aesstream::StreamHeader;

enum
{
  PROP_0,
  PROP_MODE,
  PROP_KEY,
  PROP_KEY_FILE,
  PROP_IV,
};

#define DEFAULT_MODE GST_AES_STREAM_MODE_CTR

namespace {

struct Settings
{
  GstAesStreamMode mode = DEFAULT_MODE;
  /* The parsed key, empty when unset. Kept (wiped on replace and finalize)
   * so that the element can be restarted without setting it again. */
  SecureBytes key;
  /* Why the last value given to `key` was rejected; empty if it was fine. */
  std::string key_error;
  std::string key_file;
  std::optional<std::array<uint8_t, kBlockSize>> iv;
  std::string iv_error;
};

/* Everything that exists only while the element is started. */
struct State
{
  std::unique_ptr<Cipher> cipher;
  Mode mode = Mode::kCtr;
  /* Stream uses the aesstream header (CTR without a configured iv). */
  bool with_header = false;
  /* aesenc: header not written yet; aesdec: header not complete yet. */
  bool header_pending = false;
  std::array<uint8_t, kBlockSize> iv{};
  std::array<uint8_t, StreamHeader::kSize> header{};
  size_t header_have = 0;
  /* With a header, the key is needed again for every header's key check
   * (aesdec) or for the header after a flush (aesenc). Wiped at stop. */
  SecureBytes key;
  /* An error was posted: refuse everything until the next start. */
  bool failed = false;
};

struct Impl
{
  Settings settings;
  State state;
  /* TRUE between start and stop; property changes are refused then. */
  bool started = false;
};

Mode
core_mode (GstAesStreamMode mode)
{
  switch (mode) {
    case GST_AES_STREAM_MODE_ECB:
      return Mode::kEcb;
    case GST_AES_STREAM_MODE_CTR:
    default:
      return Mode::kCtr;
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
      {0, NULL, NULL},
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstAesStreamMode", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

const gchar *
gst_aes_stream_base_mode_name (GstAesStreamBase *self)
{
  GST_OBJECT_LOCK (self);
  Mode mode = core_mode (get_impl (self)->settings.mode);
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
      g_value_set_enum (value, s.mode);
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
make_header (const State &st)
{
  StreamHeader h;
  h.mode = st.mode;
  h.key_length = static_cast<uint8_t> (st.key.size ());
  h.iv = st.iv;
  h.key_check = StreamHeader::compute_key_check (st.key, st.iv);
  return h.serialize ();
}

#define SETTINGS_ERROR(self, msg)                                              \
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("%s", (msg).c_str ()), (NULL))

static gboolean
gst_aes_stream_base_start (GstBaseTransform *trans)
{
  GstAesStreamBase *self = GST_AES_STREAM_BASE (trans);
  Impl *impl = get_impl (self);
  const gboolean encrypt = is_encrypt (self);

  /* Snapshot of the settings: the stream never looks at them again. */
  GST_OBJECT_LOCK (self);
  const Settings &s = impl->settings;
  GstAesStreamMode mode = s.mode;
  SecureBytes key = s.key.clone ();
  std::string key_error = s.key_error;
  std::string key_file = s.key_file;
  std::optional<std::array<uint8_t, kBlockSize>> iv = s.iv;
  std::string iv_error = s.iv_error;
  GST_OBJECT_UNLOCK (self);

  if (!key_error.empty ()) {
    SETTINGS_ERROR (self, std::string ("Invalid key property: ") + key_error);
    return FALSE;
  }
  if (!key.empty () && !key_file.empty ()) {
    SETTINGS_ERROR (self, std::string ("Both key and key-file are set; set "
                                       "only one of them."));
    return FALSE;
  }
  if (key.empty () && key_file.empty ()) {
    SETTINGS_ERROR (self,
        std::string (
            "No key set: set the key property "
            "(32, 48 or 64 hex digits for AES-128/192/256) or key-file."));
    return FALSE;
  }
  if (!key_file.empty ()) {
    std::string error;
    if (!aesstream::read_key_file (key_file, &key, &error)) {
      GST_ELEMENT_ERROR (
          self, RESOURCE, OPEN_READ, ("%s", error.c_str ()), (NULL));
      return FALSE;
    }
  }
  if (!iv_error.empty ()) {
    SETTINGS_ERROR (self, std::string ("Invalid iv property: ") + iv_error);
    return FALSE;
  }

  State st;
  st.mode = core_mode (mode);
  if (st.mode == Mode::kEcb && iv) {
    SETTINGS_ERROR (self, std::string ("mode=ecb does not use an iv; unset "
                                       "iv, or use mode=ctr."));
    return FALSE;
  }
  if (st.mode == Mode::kCtr) {
    if (iv) {
      st.iv = *iv;
    } else {
      st.with_header = true;
      st.header_pending = true;
      if (encrypt && !aesstream::random_bytes (st.iv.data (), st.iv.size ())) {
        GST_ELEMENT_ERROR (self, LIBRARY, INIT,
            ("OpenSSL's random generator failed; refusing to encrypt with a "
             "predictable IV."),
            (NULL));
        return FALSE;
      }
      /* aesdec learns the IV from the header; until then it holds zeros and
       * outputs nothing. */
    }
  }

  std::string error;
  st.cipher = Cipher::create (st.mode, encrypt, key,
      st.mode == Mode::kEcb ? nullptr : st.iv.data (), &error);
  if (!st.cipher) {
    GST_ELEMENT_ERROR (self, LIBRARY, INIT, ("%s", error.c_str ()), (NULL));
    return FALSE;
  }
  if (st.with_header) {
    st.key = key.clone ();
    if (encrypt)
      st.header = make_header (st);
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
      st.with_header ? "random iv in a stream header" : "fixed iv");

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
   * schedule; nothing of the stream is left. */
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
  if (!st.cipher)
    return TRUE;
  st.header_have = 0;
  st.failed = false;
  if (st.with_header) {
    st.header_pending = true;
    if (is_encrypt (self)) {
      if (!aesstream::random_bytes (st.iv.data (), st.iv.size ()))
        return FALSE;
      st.header = make_header (st);
    }
  }
  return st.cipher->restart (st.mode == Mode::kEcb ? nullptr : st.iv.data ());
}

/* ---------------------------------------------------------------------- */
/* Buffers */

static GstBuffer *
new_header_buffer (GstAesStreamBase *self)
{
  State &st = get_impl (self)->state;
  GstBuffer *buf = gst_buffer_new_memdup (st.header.data (), st.header.size ());
  GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_HEADER);
  return buf;
}

/* aesdec: takes header bytes from the front of `data`. Returns how many
 * bytes were consumed, or -1 after posting an error. */
static gssize
consume_header (GstAesStreamBase *self, const guint8 *data, gsize size)
{
  State &st = get_impl (self)->state;
  gsize take = MIN (size, st.header.size () - st.header_have);
  std::memcpy (st.header.data () + st.header_have, data, take);
  st.header_have += take;

  /* Check the magic as soon as it is complete, so that a wrong input fails
   * on its first bytes instead of waiting for a whole header. */
  bool magic_ok
      = st.header_have < StreamHeader::kMagic.size ()
        || std::memcmp (st.header.data (), StreamHeader::kMagic.data (),
               StreamHeader::kMagic.size ())
               == 0;
  if (magic_ok && st.header_have < StreamHeader::kSize)
    return take;
  StreamHeader h;
  std::string error;
  if (!StreamHeader::parse (st.header.data (), st.header_have, &h, &error)) {
    GST_ELEMENT_ERROR (self, STREAM, DECRYPT, ("%s", error.c_str ()), (NULL));
    return -1;
  }
  if (h.mode != st.mode) {
    GST_ELEMENT_ERROR (self, STREAM, DECRYPT,
        ("The stream was encrypted with mode=%s but aesdec has mode=%s.",
            aesstream::mode_name (h.mode), aesstream::mode_name (st.mode)),
        (NULL));
    return -1;
  }
  if (h.key_length != st.cipher->key_length ()) {
    GST_ELEMENT_ERROR (self, STREAM, DECRYPT,
        ("The stream was encrypted with AES-%u but the key given to aesdec "
         "is AES-%u: wrong key.",
            h.key_length * 8u, (guint)st.cipher->key_length () * 8u),
        (NULL));
    return -1;
  }
  if (CRYPTO_memcmp (h.key_check.data (),
          StreamHeader::compute_key_check (st.key, h.iv).data (),
          h.key_check.size ())
      != 0) {
    GST_ELEMENT_ERROR (self, STREAM, DECRYPT,
        ("Wrong key: the stream header's key check does not match the key "
         "given to aesdec."),
        (NULL));
    return -1;
  }
  st.iv = h.iv;
  if (!st.cipher->restart (st.iv.data ())) {
    GST_ELEMENT_ERROR (
        self, LIBRARY, FAILED, ("OpenSSL failed to set the iv"), (NULL));
    return -1;
  }
  st.header_pending = false;
  GST_DEBUG_OBJECT (self, "read stream header");
  return take;
}

static GstFlowReturn
gst_aes_stream_base_prepare_output_buffer (
    GstBaseTransform *trans, GstBuffer *inbuf, GstBuffer **outbuf)
{
  GstAesStreamBase *self = GST_AES_STREAM_BASE (trans);
  State &st = get_impl (self)->state;
  gsize size = gst_buffer_get_size (inbuf);

  /* CTR is length-preserving: encrypt in place when we may write to the
   * input (no copy, no allocation). */
  if (st.mode == Mode::kCtr && gst_buffer_is_writable (inbuf)
      && gst_buffer_is_all_memory_writable (inbuf)) {
    *outbuf = inbuf;
    return GST_FLOW_OK;
  }

  GstAllocator *allocator = NULL;
  GstAllocationParams params;
  gst_base_transform_get_allocator (trans, &allocator, &params);
  *outbuf = gst_buffer_new_allocate (
      allocator, st.cipher->max_update_output (size), &params);
  if (allocator)
    gst_object_unref (allocator);
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

static GstFlowReturn
gst_aes_stream_base_transform (
    GstBaseTransform *trans, GstBuffer *inbuf, GstBuffer *outbuf)
{
  GstAesStreamBase *self = GST_AES_STREAM_BASE (trans);
  State &st = get_impl (self)->state;
  const gboolean in_place = inbuf == outbuf;
  GstMapInfo in, out;

  if (st.failed)
    return GST_FLOW_ERROR;
  if (!gst_buffer_map (inbuf, &in, in_place ? GST_MAP_READWRITE : GST_MAP_READ))
    goto map_failed;
  if (!in_place && !gst_buffer_map (outbuf, &out, GST_MAP_WRITE)) {
    gst_buffer_unmap (inbuf, &in);
    goto map_failed;
  }

  {
    gsize skip = 0;
    if (!is_encrypt (self) && st.header_pending) {
      gssize taken = consume_header (self, in.data, in.size);
      if (taken < 0) {
        st.failed = true;
        if (!in_place)
          gst_buffer_unmap (outbuf, &out);
        gst_buffer_unmap (inbuf, &in);
        return GST_FLOW_ERROR;
      }
      skip = taken;
    }
    /* In place, the output starts where the input left off after the
     * header, because EVP refuses partially overlapping ranges. */
    guint8 *dst = in_place ? in.data + skip : out.data;
    gsize written = 0;
    gboolean ok = TRUE;
    std::string error;
    if (!st.header_pending || is_encrypt (self))
      ok = st.cipher->update (
          in.data + skip, in.size - skip, dst, &written, &error);

    if (!in_place)
      gst_buffer_unmap (outbuf, &out);
    gst_buffer_unmap (inbuf, &in);
    if (!ok) {
      GST_ELEMENT_ERROR (self, LIBRARY, FAILED,
          ("OpenSSL failed to %s", is_encrypt (self) ? "encrypt" : "decrypt"),
          (NULL));
      return GST_FLOW_ERROR;
    }

    if (in_place) {
      if (skip > 0)
        gst_buffer_resize (outbuf, skip, written);
    } else {
      gst_buffer_set_size (outbuf, written);
    }

    if (is_encrypt (self) && st.header_pending) {
      GstBuffer *header = new_header_buffer (self);
      gst_buffer_prepend_memory (outbuf, gst_buffer_get_memory (header, 0));
      gst_buffer_unref (header);
      st.header_pending = false;
      return GST_FLOW_OK;
    }
    /* CTR keeps one output buffer per input buffer, even an empty one;
     * block modes may have nothing to say yet, and neither has aesdec when
     * a buffer held only header bytes. */
    if (written == 0
        && (st.mode != Mode::kCtr || skip > 0 || st.header_pending))
      return GST_BASE_TRANSFORM_FLOW_DROPPED;
    return GST_FLOW_OK;
  }

map_failed:
  GST_ELEMENT_ERROR (
      self, RESOURCE, FAILED, ("Could not map a buffer"), (NULL));
  return GST_FLOW_ERROR;
}

/* ---------------------------------------------------------------------- */
/* Events */

/* At EOS: write what is still owed (aesenc: a header for an empty stream,
 * ECB's zero-padded last block) or report what is missing (aesdec). */
static gboolean
drain (GstAesStreamBase *self)
{
  State &st = get_impl (self)->state;
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  if (!st.cipher)
    return TRUE;
  if (st.failed)
    return FALSE; /* the error is on the bus already */

  if (st.header_pending) {
    if (is_encrypt (self)) {
      gst_pad_push (trans->srcpad, new_header_buffer (self));
      st.header_pending = false;
    } else {
      GST_ELEMENT_ERROR (self, STREAM, DECRYPT,
          ("The stream ended before its %u-byte aesstream header was "
           "complete (got %u bytes): it is truncated, or it was encrypted "
           "with a fixed iv (then set the same iv on aesdec).",
              (guint)StreamHeader::kSize, (guint)st.header_have),
          (NULL));
      return FALSE;
    }
  }

  guint8 tail[2 * kBlockSize];
  gsize written = 0;
  std::string error;
  if (!st.cipher->finish (tail, &written, &error)) {
    GST_ELEMENT_ERROR (self, STREAM, DECRYPT, ("%s", error.c_str ()), (NULL));
    return FALSE;
  }
  if (written > 0) {
    GstBuffer *buf = gst_buffer_new_memdup (tail, written);
    OPENSSL_cleanse (tail, sizeof (tail)); /* may hold plaintext */
    GstFlowReturn ret = gst_pad_push (trans->srcpad, buf);
    if (ret != GST_FLOW_OK)
      GST_DEBUG_OBJECT (
          self, "pushing the last block: %s", gst_flow_get_name (ret));
  }
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
          "Cipher mode: ctr (streaming, default) or ecb (insecure, for the "
          "original recipe's zero-padded format)",
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

  trans_class->start = GST_DEBUG_FUNCPTR (gst_aes_stream_base_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_aes_stream_base_stop);
  trans_class->prepare_output_buffer
      = GST_DEBUG_FUNCPTR (gst_aes_stream_base_prepare_output_buffer);
  trans_class->transform = GST_DEBUG_FUNCPTR (gst_aes_stream_base_transform);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_aes_stream_base_sink_event);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_aes_stream_base_query);

  gst_type_mark_as_plugin_api (GST_TYPE_AES_STREAM_MODE, (GstPluginAPIFlags)0);
  gst_type_mark_as_plugin_api (GST_TYPE_AES_STREAM_BASE, (GstPluginAPIFlags)0);
}
