#include "aescore.hpp"
#include "keyring.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

namespace aesstream {

const char *
mode_name (Mode mode)
{
  switch (mode) {
    case Mode::kCtr:
      return "ctr";
    case Mode::kEcb:
      return "ecb";
    case Mode::kCbc:
      return "cbc";
    case Mode::kGcm:
      return "gcm";
    case Mode::kGcmFile:
      return "gcm-file";
  }
  return "unknown";
}

SecureBytes::SecureBytes (SecureBytes &&other) noexcept
    : bytes_ (std::move (other.bytes_))
{
  other.bytes_.clear ();
}

SecureBytes &
SecureBytes::operator= (SecureBytes &&other) noexcept
{
  if (this != &other) {
    clear ();
    bytes_ = std::move (other.bytes_);
    other.bytes_.clear ();
  }
  return *this;
}

void
SecureBytes::clear ()
{
  if (!bytes_.empty ())
    OPENSSL_cleanse (bytes_.data (), bytes_.size ());
  bytes_.clear ();
  bytes_.shrink_to_fit ();
}

int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

namespace {

std::string
describe_lengths (const std::vector<size_t> &lengths)
{
  std::string s;
  for (size_t i = 0; i < lengths.size (); i++) {
    if (i > 0)
      s += (i + 1 == lengths.size ()) ? " or " : ", ";
    s += std::to_string (lengths[i] * 2);
  }
  return s;
}

bool
is_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
         || c == '\v';
}

} // namespace

bool
parse_hex (std::string_view text, std::string_view what,
    const std::vector<size_t> &allowed_lengths, SecureBytes *out,
    std::string *error)
{
  // Check every character first, so that the error for "00zz" is about the
  // character and not the length.
  for (size_t i = 0; i < text.size (); i++) {
    if (hex_value (text[i]) < 0) {
      *error = std::string (what) + " must be hexadecimal digits; character "
               + std::to_string (i + 1) + " is not a hex digit";
      return false;
    }
  }
  bool allowed = false;
  for (size_t n : allowed_lengths)
    allowed = allowed || text.size () == 2 * n;
  if (!allowed) {
    *error = std::string (what) + " must be "
             + describe_lengths (allowed_lengths) + " hex digits";
    if (what == "key")
      error->append (" (AES-128/192/256)");
    error->append ("; got " + std::to_string (text.size ()));
    return false;
  }
  SecureBytes bytes (text.size () / 2);
  for (size_t i = 0; i < bytes.size (); i++)
    bytes.data ()[i] = static_cast<uint8_t> (
        hex_value (text[2 * i]) << 4 | hex_value (text[2 * i + 1]));
  *out = std::move (bytes);
  return true;
}

bool
parse_key_hex (std::string_view text, SecureBytes *out, std::string *error)
{
  return parse_hex (text, "key", {16, 24, 32}, out, error);
}

bool
read_key_file (const std::string &path, SecureBytes *out, std::string *error)
{
  // A key file holds at most 64 hex digits and some whitespace; refusing
  // anything large keeps a wrong path (a video, /dev/zero) from being read
  // whole into memory. Its permissions are checked too (docs/keys.md).
  constexpr size_t kMaxKeyFile = 4096;
  SecureBytes content;
  if (!read_secret_file (path, "key-file", SecretFilePolicy::kKeyFile,
          kMaxKeyFile, &content, error)) {
    if (error->find (" is larger than ") != std::string::npos)
      error->append ("; it must hold only the key as 32, 48 or 64 hex digits");
    return false;
  }
  size_t n = content.size ();
  const char *text = reinterpret_cast<const char *> (content.data ());
  size_t begin = 0, end = n;
  while (begin < end && is_space (text[begin]))
    begin++;
  while (end > begin && is_space (text[end - 1]))
    end--;
  std::string inner_error;
  if (!parse_key_hex (
          std::string_view (text + begin, end - begin), out, &inner_error)) {
    *error = "key-file '" + path + "': " + inner_error;
    return false;
  }
  return true;
}

bool
parse_iv_hex (std::string_view text, std::array<uint8_t, kBlockSize> *out,
    std::string *error)
{
  SecureBytes bytes;
  if (!parse_hex (text, "iv", {kBlockSize}, &bytes, error))
    return false;
  std::memcpy (out->data (), bytes.data (), kBlockSize);
  return true;
}

std::string
to_hex (const uint8_t *data, size_t n)
{
  static const char digits[] = "0123456789abcdef";
  std::string s (2 * n, '0');
  for (size_t i = 0; i < n; i++) {
    s[2 * i] = digits[data[i] >> 4];
    s[2 * i + 1] = digits[data[i] & 15];
  }
  return s;
}

bool
random_bytes (uint8_t *out, size_t n)
{
  return RAND_bytes (out, static_cast<int> (n)) == 1;
}

void
EvpCtxDeleter::operator() (void *ctx) const
{
  // EVP_CIPHER_CTX_free cleanses the key schedule before releasing it.
  EVP_CIPHER_CTX_free (static_cast<EVP_CIPHER_CTX *> (ctx));
}

namespace {

const EVP_CIPHER *
evp_cipher (Mode mode, size_t key_length)
{
  // The built-in EVP_CIPHER objects are static: nothing to fetch or free.
  switch (mode) {
    case Mode::kCtr:
      return key_length == 16   ? EVP_aes_128_ctr ()
             : key_length == 24 ? EVP_aes_192_ctr ()
                                : EVP_aes_256_ctr ();
    case Mode::kEcb:
      return key_length == 16   ? EVP_aes_128_ecb ()
             : key_length == 24 ? EVP_aes_192_ecb ()
                                : EVP_aes_256_ecb ();
    case Mode::kCbc:
      return key_length == 16   ? EVP_aes_128_cbc ()
             : key_length == 24 ? EVP_aes_192_cbc ()
                                : EVP_aes_256_cbc ();
    case Mode::kGcm:
    case Mode::kGcmFile:
      return nullptr; // see Gcm
  }
  return nullptr;
}

EVP_CIPHER_CTX *
as_ctx (const std::unique_ptr<void, EvpCtxDeleter> &p)
{
  return static_cast<EVP_CIPHER_CTX *> (p.get ());
}

} // namespace

std::unique_ptr<Cipher>
Cipher::create (Mode mode, bool encrypt, const SecureBytes &key,
    const uint8_t *iv, std::string *error, bool pkcs7_per_chunk)
{
  if (key.size () != 16 && key.size () != 24 && key.size () != 32) {
    *error = "key must be 16, 24 or 32 bytes (AES-128/192/256); got "
             + std::to_string (key.size ());
    return nullptr;
  }
  if (mode == Mode::kGcm || mode == Mode::kGcmFile) {
    *error = std::string ("mode=") + mode_name (mode)
             + " has codecs of its own, not a stream cipher";
    return nullptr;
  }
  if (mode != Mode::kEcb && iv == nullptr) {
    *error = std::string (mode_name (mode)) + " mode needs an IV";
    return nullptr;
  }
  std::unique_ptr<Cipher> c (new Cipher ());
  c->mode_ = mode;
  c->encrypt_ = encrypt;
  c->key_length_ = key.size ();
  c->ctx_.reset (EVP_CIPHER_CTX_new ());
  EVP_CIPHER_CTX *ctx = as_ctx (c->ctx_);
  if (ctx == nullptr
      || EVP_CipherInit_ex (ctx, evp_cipher (mode, key.size ()), nullptr,
             key.data (), mode == Mode::kEcb ? nullptr : iv, encrypt ? 1 : 0)
             != 1) {
    *error = "OpenSSL could not initialise the AES context";
    return nullptr;
  }
  // ECB's zero padding is ours (the recipe's), and so is CBC's per-chunk
  // PKCS#7; CBC's end-of-stream PKCS#7 is EVP's own.
  c->per_chunk_ = mode == Mode::kCbc && pkcs7_per_chunk;
  EVP_CIPHER_CTX_set_padding (ctx, mode == Mode::kCbc && !c->per_chunk_);
  return c;
}

Cipher::~Cipher () = default;

bool
Cipher::update (const uint8_t *in, size_t n, uint8_t *out, size_t *written,
    std::string *error)
{
  if (per_chunk_)
    return update_per_chunk (in, n, out, written, error);
  if (!evp_update (in, n, out, written)) {
    *error = "OpenSSL failed to process the data";
    return false;
  }
  return true;
}

bool
Cipher::update_ctr (const uint8_t *in, size_t n, uint8_t *out)
{
  // One test for both cases EVP is not given directly: n > INT_MAX (EVP
  // takes int lengths; evp_update slices) and n == 0 (wraps around; an
  // empty buffer may come as a null pointer, which EVP is never shown).
  if (n - 1 >= static_cast<size_t> (std::numeric_limits<int>::max ())) {
    size_t written = 0; // == n: CTR outputs what it is given
    return evp_update (in, n, out, &written);
  }
  int outl = 0;
  if (EVP_CipherUpdate (as_ctx (ctx_), out, &outl, in, static_cast<int> (n))
      != 1)
    return false;
  carried_ = (carried_ + n) % kBlockSize;
  return true;
}

bool
Cipher::evp_update (const uint8_t *in, size_t n, uint8_t *out, size_t *written)
{
  *written = 0;
  EVP_CIPHER_CTX *ctx = as_ctx (ctx_);
  // EVP takes int lengths: feed huge inputs in slices.
  constexpr size_t kSlice = size_t{1} << 30;
  while (n > 0) {
    size_t chunk = n < kSlice ? n : kSlice;
    int outl = 0;
    if (EVP_CipherUpdate (ctx, out, &outl, in, static_cast<int> (chunk)) != 1)
      return false;
    in += chunk;
    n -= chunk;
    out += outl;
    *written += static_cast<size_t> (outl);
    carried_ = (carried_ + chunk) % kBlockSize;
  }
  return true;
}

bool
Cipher::update_per_chunk (const uint8_t *in, size_t n, uint8_t *out,
    size_t *written, std::string *error)
{
  *written = 0;
  if (encrypt_) {
    // Whole blocks as they are, then the tail plus PKCS#7 bytes (a whole
    // block of 16s when the chunk is block-aligned). The tail is copied
    // first: in place, the last output block overwrites it.
    size_t tail = n % kBlockSize, body = n - tail;
    uint8_t last[kBlockSize];
    // An empty chunk may come with a null pointer (an empty GstBuffer maps
    // to none): memcpy from null is undefined even for zero bytes.
    if (tail > 0)
      std::memcpy (last, in + body, tail);
    std::memset (
        last + tail, static_cast<int> (kBlockSize - tail), kBlockSize - tail);
    size_t w1 = 0, w2 = 0;
    bool ok = evp_update (in, body, out, &w1)
              && evp_update (last, kBlockSize, out + w1, &w2);
    OPENSSL_cleanse (last, sizeof (last));
    if (!ok) {
      *error = "OpenSSL failed to encrypt";
      return false;
    }
    *written = w1 + w2;
    return true;
  }
  if (n % kBlockSize != 0) {
    *error = "with per-buffer-padding=true every encrypted buffer must be a "
             "multiple of 16 bytes, got one of "
             + std::to_string (n)
             + ": buffer boundaries were changed on the way (use "
               "per-buffer-padding=false on both sides for byte streams)";
    return false;
  }
  if (n == 0)
    return true;
  size_t w = 0;
  if (!evp_update (in, n, out, &w) || w != n) {
    *error = "OpenSSL failed to decrypt";
    return false;
  }
  uint8_t pad = out[w - 1];
  bool valid = pad >= 1 && pad <= kBlockSize;
  for (size_t i = 0; valid && i < pad; i++)
    valid = out[w - 1 - i] == pad;
  if (!valid) {
    *error = "invalid PKCS#7 padding at the end of a buffer: wrong key or iv, "
             "corrupted data, or buffer boundaries that differ from what "
             "aesenc produced (per-buffer-padding=true needs every encrypted "
             "buffer exactly as aesenc made it; re-chunking is not always "
             "detected: merged buffers never are. Use per-buffer-padding=false "
             "or mode=gcm where boundaries can change)";
    return false;
  }
  *written = w - pad;
  return true;
}

bool
Cipher::finish (uint8_t *out, size_t *written, std::string *error)
{
  *written = 0;
  EVP_CIPHER_CTX *ctx = as_ctx (ctx_);
  switch (mode_) {
    case Mode::kCtr:
      return true;
    case Mode::kEcb: {
      if (carried_ == 0)
        return true;
      if (!encrypt_) {
        *error = "ciphertext length is not a multiple of 16 bytes ("
                 + std::to_string (carried_)
                 + " bytes left over at the end): the stream is truncated or "
                   "was not encrypted with mode=ecb";
        return false;
      }
      static const uint8_t zeros[kBlockSize] = {};
      if (!evp_update (zeros, kBlockSize - carried_, out, written)) {
        *error = "OpenSSL failed to encrypt the last block";
        return false;
      }
      return true;
    }
    case Mode::kCbc: {
      if (per_chunk_)
        return true; // every chunk was complete in itself
      int outl = 0;
      if (EVP_CipherFinal_ex (ctx, out, &outl) != 1) {
        *error = encrypt_ ? "OpenSSL failed to finish CBC encryption"
                          : "CBC decryption failed at the end of the stream: "
                            "bad PKCS#7 padding or a truncated stream (wrong "
                            "key or iv?)";
        return false;
      }
      *written = static_cast<size_t> (outl);
      carried_ = 0;
      return true;
    }
    case Mode::kGcm:
    case Mode::kGcmFile:
      break;
  }
  return false;
}

bool
Cipher::restart (const uint8_t *iv)
{
  EVP_CIPHER_CTX *ctx = as_ctx (ctx_);
  carried_ = 0;
  // A NULL cipher and key keep the key schedule; only the IV and the
  // buffered partial block are reset.
  return EVP_CipherInit_ex (ctx, nullptr, nullptr, nullptr,
             mode_ == Mode::kEcb ? nullptr : iv, -1)
         == 1;
}

std::array<uint8_t, StreamHeader::kSize>
StreamHeader::serialize () const
{
  StreamHeader v1 = *this;
  v1.version = 1;
  std::array<uint8_t, kMaxSize> all = v1.serialize_any ();
  std::array<uint8_t, kSize> out{};
  std::memcpy (out.data (), all.data (), out.size ());
  return out;
}

std::array<uint8_t, StreamHeader::kMaxSize>
StreamHeader::serialize_any () const
{
  std::array<uint8_t, kMaxSize> out{};
  std::memcpy (out.data (), kMagic.data (), kMagic.size ());
  out[format::kHeaderVersionOffset] = version;
  out[format::kHeaderModeOffset] = static_cast<uint8_t> (mode);
  out[format::kHeaderKeyLengthOffset] = key_length;
  out[format::kHeaderLengthOffset] = static_cast<uint8_t> (size ());
  if (version == 1) {
    std::memcpy (out.data () + format::kHeaderIvOffset, iv.data (), iv.size ());
    std::memcpy (out.data () + format::kHeaderKeyCheckOffset, key_check.data (),
        key_check.size ());
  } else {
    // Reserved bytes stay zero.
    std::memcpy (out.data () + format::kHeaderV2KeyIdOffset, key_id.data (),
        key_id.size ());
    std::memcpy (
        out.data () + format::kHeaderV2IvOffset, iv.data (), iv.size ());
  }
  return out;
}

std::array<uint8_t, kKeyIdSize>
key_id (const SecureBytes &key)
{
  const auto &kLabel = format::kKeyIdLabel;
  uint8_t mac[32];
  size_t mac_len = 0;
  std::array<uint8_t, kKeyIdSize> out{};
  if (EVP_Q_mac (nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data (),
          key.size (), reinterpret_cast<const uint8_t *> (kLabel),
          sizeof (kLabel) - 1, mac, sizeof (mac), &mac_len)
      != nullptr) {
    std::memcpy (out.data (), mac, out.size ());
  }
  OPENSSL_cleanse (mac, sizeof (mac));
  return out;
}

std::array<uint8_t, StreamHeader::kKeyCheckSize>
StreamHeader::compute_key_check (
    const SecureBytes &key, const std::array<uint8_t, kBlockSize> &iv)
{
  const auto &kLabel = format::kKeyCheckLabel;
  uint8_t msg[sizeof (kLabel) - 1 + kBlockSize];
  std::memcpy (msg, kLabel, sizeof (kLabel) - 1);
  std::memcpy (msg + sizeof (kLabel) - 1, iv.data (), iv.size ());
  uint8_t mac[32];
  size_t mac_len = 0;
  std::array<uint8_t, kKeyCheckSize> out{};
  if (EVP_Q_mac (nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data (),
          key.size (), msg, sizeof (msg), mac, sizeof (mac), &mac_len)
      != nullptr) {
    std::memcpy (out.data (), mac, out.size ());
  }
  OPENSSL_cleanse (mac, sizeof (mac));
  return out;
}

size_t
StreamHeader::size_from_prefix (
    const uint8_t *data, size_t n, std::string *error)
{
  if (n < format::kHeaderFixedSize
      || std::memcmp (data, kMagic.data (), kMagic.size ()) != 0) {
    *error
        = "input does not start with an aesstream header: it was not written "
          "by aesenc without an iv (for raw CTR from aesenc mode=ctr iv=..., "
          "set mode=ctr and the same iv on aesdec; for gst-plugins-bad's "
          "AES-CBC, set its iv, or serialize-iv=true), or it is not "
          "encrypted at all";
    return 0;
  }
  const uint8_t version = data[format::kHeaderVersionOffset];
  const uint8_t length = data[format::kHeaderLengthOffset];
  size_t expected;
  if (version == format::kHeaderVersion)
    expected = format::kHeaderSize;
  else if (version == format::kHeaderVersion2
           && data[format::kHeaderModeOffset] == format::kModeGcmFile)
    expected = format::kGcmFilePreambleSize;
  else if (version == format::kHeaderVersion2)
    expected = format::kHeaderV2Size;
  else {
    *error = "aesstream header version " + std::to_string (version)
             + " is not supported (this aesdec reads versions 1 and 2)";
    return 0;
  }
  if (length != expected) {
    *error = "aesstream header length " + std::to_string (length)
             + " is invalid for version " + std::to_string (version)
             + " (expected " + std::to_string (expected) + ")";
    return 0;
  }
  return expected;
}

bool
StreamHeader::parse (
    const uint8_t *data, size_t n, StreamHeader *out, std::string *error)
{
  size_t size = size_from_prefix (data, n, error);
  if (size == 0)
    return false;
  const uint8_t version = data[format::kHeaderVersionOffset];
  uint8_t mode = data[format::kHeaderModeOffset];
  if (version == format::kHeaderVersion2 && mode == format::kModeGcmFile) {
    *error = "this stream is mode=gcm-file (its preamble says so): decrypt "
             "it with aesdec mode=gcm-file";
    return false;
  }
  if (mode != static_cast<uint8_t> (Mode::kCtr)
      && (version != 1
          || (mode != static_cast<uint8_t> (Mode::kEcb)
              && mode != static_cast<uint8_t> (Mode::kCbc)))) {
    *error = "aesstream header names unknown mode " + std::to_string (mode);
    return false;
  }
  const uint8_t key_length = data[format::kHeaderKeyLengthOffset];
  if (!format::is_key_length (key_length)) {
    *error = "aesstream header names an invalid key length of "
             + std::to_string (key_length) + " bytes";
    return false;
  }
  if (n < size) {
    *error = "aesstream header is incomplete: " + std::to_string (n) + " of "
             + std::to_string (size) + " bytes";
    return false;
  }
  StreamHeader h;
  h.version = version;
  h.mode = static_cast<Mode> (mode);
  h.key_length = key_length;
  if (version == 1) {
    std::memcpy (h.iv.data (), data + format::kHeaderIvOffset, kBlockSize);
    std::memcpy (h.key_check.data (), data + format::kHeaderKeyCheckOffset,
        kKeyCheckSize);
  } else {
    for (size_t i = 0; i < format::kHeaderV2ReservedSize; i++) {
      if (data[format::kHeaderV2ReservedOffset + i] != 0) {
        *error = "aesstream header has non-zero reserved bytes (offsets 8 to "
                 "15): it is damaged, or written by a newer version";
        return false;
      }
    }
    std::memcpy (
        h.key_id.data (), data + format::kHeaderV2KeyIdOffset, kKeyIdSize);
    std::memcpy (h.iv.data (), data + format::kHeaderV2IvOffset, kBlockSize);
  }
  *out = h;
  return true;
}

} // namespace aesstream

#include <openssl/core_names.h>
#include <openssl/kdf.h>

namespace aesstream {

bool
hkdf (const char *digest, const uint8_t *ikm, size_t ikm_len,
    const uint8_t *salt, size_t salt_len, const uint8_t *info, size_t info_len,
    uint8_t *out, size_t out_len)
{
  EVP_KDF *kdf = EVP_KDF_fetch (nullptr, "HKDF", nullptr);
  if (kdf == nullptr)
    return false;
  EVP_KDF_CTX *ctx = EVP_KDF_CTX_new (kdf);
  EVP_KDF_free (kdf);
  if (ctx == nullptr)
    return false;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string (
          OSSL_KDF_PARAM_DIGEST, const_cast<char *> (digest), 0),
      OSSL_PARAM_construct_octet_string (
          OSSL_KDF_PARAM_KEY, const_cast<uint8_t *> (ikm), ikm_len),
      OSSL_PARAM_construct_octet_string (
          OSSL_KDF_PARAM_SALT, const_cast<uint8_t *> (salt), salt_len),
      OSSL_PARAM_construct_octet_string (
          OSSL_KDF_PARAM_INFO, const_cast<uint8_t *> (info), info_len),
      OSSL_PARAM_construct_end (),
  };
  bool ok = EVP_KDF_derive (ctx, out, out_len, params) == 1;
  EVP_KDF_CTX_free (ctx);
  return ok;
}

namespace {

// The nonce of the next record (and, when opening, its expected tag) on a
// GCM context whose key is set, in one call to the provider.
// EVP_CipherInit_ex (ctx, nullptr, nullptr, nullptr, nonce, enc) does the
// same, but OpenSSL 3.0 then asks the provider for the IV length on every
// call, about 450 instructions a record (a 1400-byte record costs ~6000 in
// all). OSSL_CIPHER_PARAM_AEAD_TLS1_IV_FIXED with the length -1 replaces the
// whole IV and leaves the key schedule alone (the way OpenSSH sets its
// AES-GCM nonce through EVP_CTRL_GCM_SET_IV_FIXED); the tag in the same
// parameter list saves the second call that EVP_CTRL_AEAD_SET_TAG makes. That
// -1 case is not in OpenSSL's manual, so a known answer (NIST SP 800-38D test
// case 2, through a context that has already finished a record under
// another nonce) is checked once per process, and any other answer falls
// back to EVP_CipherInit_ex: a wrong nonce must never be possible.
bool
gcm_set_nonce_init (
    EVP_CIPHER_CTX *ctx, const uint8_t *nonce, int enc, const uint8_t *tag)
{
  return EVP_CipherInit_ex (ctx, nullptr, nullptr, nullptr, nonce, enc) == 1
         && (tag == nullptr
             || EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_SET_TAG,
                    static_cast<int> (Gcm::kTagSize),
                    const_cast<uint8_t *> (tag))
                    == 1);
}

bool
gcm_set_nonce_params (
    EVP_CIPHER_CTX *ctx, const uint8_t *nonce, const uint8_t *tag)
{
  OSSL_PARAM params[3] = {OSSL_PARAM_END, OSSL_PARAM_END, OSSL_PARAM_END};
  params[0]
      = OSSL_PARAM_construct_octet_string (OSSL_CIPHER_PARAM_AEAD_TLS1_IV_FIXED,
          const_cast<uint8_t *> (nonce), static_cast<size_t> (-1));
  if (tag != nullptr)
    params[1] = OSSL_PARAM_construct_octet_string (
        OSSL_CIPHER_PARAM_AEAD_TAG, const_cast<uint8_t *> (tag), Gcm::kTagSize);
  return EVP_CIPHER_CTX_set_params (ctx, params) == 1;
}

// True if gcm_set_nonce_params gives NIST's answer, sealing and opening.
bool
gcm_nonce_params_known_answer ()
{
  static const uint8_t kCiphertext[16] = {0x03, 0x88, 0xda, 0xce, 0x60, 0xb6,
      0xa3, 0x92, 0xf3, 0x28, 0xc2, 0xb9, 0x71, 0xb2, 0xfe, 0x78};
  static const uint8_t kTag[16] = {0xab, 0x6e, 0x47, 0xd4, 0x2c, 0xec, 0x13,
      0xbd, 0xf5, 0x3a, 0x67, 0xb2, 0x12, 0x57, 0xbd, 0xdf};
  const uint8_t key[16] = {}, zero_nonce[12] = {};
  const uint8_t other_nonce[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  bool ok = true;
  for (int enc = 1; enc >= 0 && ok; enc--) {
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
    uint8_t buf[16] = {}, tag[16] = {}, fin[16];
    int outl = 0;
    ok = ctx != nullptr
         && EVP_CipherInit_ex (
                ctx, EVP_aes_128_gcm (), nullptr, key, other_nonce, enc)
                == 1;
    if (ok && enc == 1) {
      // One record under another nonce first: the known answer then shows
      // that the nonce was replaced and the GCM state started afresh.
      ok = EVP_CipherUpdate (ctx, buf, &outl, buf, 16) == 1
           && EVP_CipherFinal_ex (ctx, fin, &outl) == 1
           && gcm_set_nonce_params (ctx, zero_nonce, nullptr);
      std::memset (buf, 0, sizeof buf);
      ok = ok && EVP_CipherUpdate (ctx, buf, &outl, buf, 16) == 1
           && EVP_CipherFinal_ex (ctx, fin, &outl) == 1
           && EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag) == 1
           && std::memcmp (buf, kCiphertext, 16) == 0
           && std::memcmp (tag, kTag, 16) == 0;
    } else if (ok) {
      // The right tag opens, a wrong one must not.
      uint8_t bad_tag[16];
      std::memcpy (bad_tag, kTag, 16);
      bad_tag[15] ^= 1;
      std::memcpy (buf, kCiphertext, 16);
      ok = gcm_set_nonce_params (ctx, zero_nonce, bad_tag)
           && EVP_CipherUpdate (ctx, buf, &outl, buf, 16) == 1
           && EVP_CipherFinal_ex (ctx, fin, &outl) != 1;
      std::memcpy (buf, kCiphertext, 16);
      ok = ok && gcm_set_nonce_params (ctx, zero_nonce, kTag)
           && EVP_CipherUpdate (ctx, buf, &outl, buf, 16) == 1
           && EVP_CipherFinal_ex (ctx, fin, &outl) == 1;
      for (uint8_t b : buf)
        ok = ok && b == 0;
    }
    EVP_CIPHER_CTX_free (ctx);
  }
  return ok;
}

std::atomic<bool> g_force_nonce_fallback{false};

bool
params_nonce_ok ()
{
  static const bool ok = gcm_nonce_params_known_answer ();
  return ok && !g_force_nonce_fallback.load (std::memory_order_relaxed);
}

bool
gcm_set_nonce (
    EVP_CIPHER_CTX *ctx, const uint8_t *nonce, int enc, const uint8_t *tag)
{
  return params_nonce_ok () ? gcm_set_nonce_params (ctx, nonce, tag)
                            : gcm_set_nonce_init (ctx, nonce, enc, tag);
}

} // namespace

bool
Gcm::fast_nonce_in_use ()
{
  return params_nonce_ok ();
}

void
Gcm::force_nonce_fallback (bool on)
{
  g_force_nonce_fallback.store (on, std::memory_order_relaxed);
}

std::unique_ptr<Gcm>
Gcm::create (const SecureBytes &key, bool encrypt, std::string *error)
{
  const EVP_CIPHER *cipher = key.size () == 16   ? EVP_aes_128_gcm ()
                             : key.size () == 24 ? EVP_aes_192_gcm ()
                             : key.size () == 32 ? EVP_aes_256_gcm ()
                                                 : nullptr;
  if (cipher == nullptr) {
    *error = "key must be 16, 24 or 32 bytes (AES-128/192/256); got "
             + std::to_string (key.size ());
    return nullptr;
  }
  std::unique_ptr<Gcm> g (new Gcm ());
  g->encrypt_ = encrypt;
  g->ctx_.reset (EVP_CIPHER_CTX_new ());
  auto *ctx = static_cast<EVP_CIPHER_CTX *> (g->ctx_.get ());
  // The key schedule is computed once; every record only sets its nonce.
  if (ctx == nullptr
      || EVP_CipherInit_ex (
             ctx, cipher, nullptr, key.data (), nullptr, encrypt ? 1 : 0)
             != 1) {
    *error = "OpenSSL could not initialise AES-GCM";
    return nullptr;
  }
  return g;
}

Gcm::~Gcm () = default;

bool
Gcm::seal (const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
    const uint8_t *in, size_t n, uint8_t *out, uint8_t *tag)
{
  const Piece piece{in, out, n};
  return seal (nonce, aad, aad_len, &piece, n > 0 ? 1 : 0, tag);
}

namespace {

// Sets the nonce (and, when opening, the expected tag) and feeds the
// associated data: the start of seal and open.
bool
gcm_begin (EVP_CIPHER_CTX *ctx, const uint8_t *nonce, const uint8_t *aad,
    size_t aad_len, bool encrypt, const uint8_t *tag)
{
  int outl = 0;
  return gcm_set_nonce (ctx, nonce, encrypt ? 1 : 0, tag)
         && (aad_len == 0
             || (aad_len <= static_cast<size_t> (INT32_MAX)
                 && EVP_CipherUpdate (
                        ctx, nullptr, &outl, aad, static_cast<int> (aad_len))
                        == 1));
}

// EVP's GCM keeps a partial block between updates, so pieces of any size
// give the same bytes as one update over the whole text.
bool
gcm_pieces (EVP_CIPHER_CTX *ctx, const Gcm::Piece *pieces, size_t count)
{
  int outl = 0;
  for (size_t i = 0; i < count; i++) {
    const Gcm::Piece &p = pieces[i];
    if (p.size == 0)
      continue;
    if (p.size > static_cast<size_t> (INT32_MAX)
        || EVP_CipherUpdate (ctx, p.out, &outl, p.in, static_cast<int> (p.size))
               != 1)
      return false;
  }
  return true;
}

} // namespace

bool
Gcm::seal (const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
    const Piece *pieces, size_t count, uint8_t *tag)
{
  auto *ctx = static_cast<EVP_CIPHER_CTX *> (ctx_.get ());
  int outl = 0;
  uint8_t final_out[kTagSize]; // GCM's final step outputs nothing
  return encrypt_ && gcm_begin (ctx, nonce, aad, aad_len, true, nullptr)
         && gcm_pieces (ctx, pieces, count)
         && EVP_CipherFinal_ex (ctx, final_out, &outl) == 1
         && EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_GET_TAG, kTagSize, tag)
                == 1;
}

bool
Gcm::open (const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
    const uint8_t *in, size_t n, uint8_t *out, const uint8_t *tag)
{
  const Piece piece{in, out, n};
  return open (nonce, aad, aad_len, &piece, n > 0 ? 1 : 0, tag);
}

bool
Gcm::open (const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
    const Piece *pieces, size_t count, const uint8_t *tag)
{
  auto *ctx = static_cast<EVP_CIPHER_CTX *> (ctx_.get ());
  int outl = 0;
  uint8_t final_out[kTagSize]; // GCM's final step outputs nothing
  // The tag goes in with the nonce, before any output is written over it
  // (`tag` may lie in a piece decrypted in place).
  return !encrypt_ && gcm_begin (ctx, nonce, aad, aad_len, false, tag)
         && gcm_pieces (ctx, pieces, count)
         && EVP_CipherFinal_ex (ctx, final_out, &outl) == 1;
}

void
GcmRecord::serialize (uint8_t *out) const
{
  out[0] = kMagic0;
  out[1] = kMagic1;
  out[2] = kVersion;
  out[3] = flags;
  for (int i = 0; i < 4; i++)
    out[4 + i] = static_cast<uint8_t> (length >> (24 - 8 * i));
  for (int i = 0; i < 6; i++)
    out[8 + i] = static_cast<uint8_t> (seq >> (40 - 8 * i));
  std::memcpy (out + 14, salt.data (), kSaltSize);
}

bool
GcmRecord::parse (const uint8_t *in, GcmRecord *out, std::string *error)
{
  if (in[0] != kMagic0 || in[1] != kMagic1) {
    *error = "not an aesstream GCM record (bad magic): the input is not "
             "mode=gcm ciphertext, or it is corrupted";
    return false;
  }
  if (in[2] != kVersion) {
    *error = "aesstream GCM record version " + std::to_string (in[2])
             + " is not supported (this aesdec reads version 1)";
    return false;
  }
  if ((in[3] & ~kFlagFinal) != 0) {
    *error = "aesstream GCM record has unknown flags";
    return false;
  }
  uint32_t length = 0;
  for (int i = 0; i < 4; i++)
    length = length << 8 | in[4 + i];
  if (length > kMaxLength) {
    *error = "aesstream GCM record claims " + std::to_string (length)
             + " bytes, more than the " + std::to_string (kMaxLength)
             + " allowed";
    return false;
  }
  uint64_t seq = 0;
  for (int i = 0; i < 6; i++)
    seq = seq << 8 | in[8 + i];
  out->flags = in[3];
  out->length = length;
  out->seq = seq;
  std::memcpy (out->salt.data (), in + 14, kSaltSize);
  return true;
}

std::array<uint8_t, Gcm::kNonceSize>
GcmRecord::nonce (uint64_t seq)
{
  std::array<uint8_t, Gcm::kNonceSize> n{};
  for (int i = 0; i < 6; i++)
    n[6 + i] = static_cast<uint8_t> (seq >> (40 - 8 * i));
  return n;
}

SecureBytes
GcmRecord::derive_key (
    const SecureBytes &key, const std::array<uint8_t, kSaltSize> &salt)
{
  const auto &kInfo = format::kRecordKdfInfo;
  SecureBytes out (key.size ());
  if (!hkdf_sha256 (key.data (), key.size (), salt.data (), salt.size (),
          reinterpret_cast<const uint8_t *> (kInfo), sizeof (kInfo) - 1,
          out.data (), out.size ()))
    out.clear ();
  return out;
}

ReplayWindow::Verdict
ReplayWindow::check (uint64_t seq) const
{
  if (!started_ || seq > highest_)
    return Verdict::kNew;
  uint64_t age = highest_ - seq;
  if (age >= kSize)
    return Verdict::kTooOld;
  return (bitmap_ >> age) & 1 ? Verdict::kDuplicate : Verdict::kNew;
}

int64_t
ReplayWindow::accept (uint64_t seq)
{
  if (!started_) {
    // A receiver that joins late has lost nothing it could know about.
    started_ = true;
    highest_ = seq;
    bitmap_ = 1;
    return 0;
  }
  if (seq > highest_) {
    uint64_t gap = seq - highest_;
    bitmap_ = gap >= kSize ? 0 : bitmap_ << gap;
    bitmap_ |= 1;
    highest_ = seq;
    return static_cast<int64_t> (gap - 1);
  }
  bitmap_ |= uint64_t{1} << (highest_ - seq);
  return -1; // it had been counted lost when the window moved past it
}

} // namespace aesstream
