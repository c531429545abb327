// The keyring, key-file permissions and the stream probe, without
// GStreamer. Key ids expected here were computed with Python's hmac module
// (hmac.new(key, b"aesstream key id", hashlib.sha256).hexdigest()[:32]),
// never with the code under test.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "keyring.hpp"
#include "probe.hpp"
#include "testutil.hpp"

using namespace aesstream;

namespace {

const char *kKey128 = "2b7e151628aed2a6abf7158809cf4f3c";
const char *kId128 = "24efab2a070e1c7693eb4ce6087932e0";
const char *kKey256
    = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
const char *kId256 = "4959857e62fa8384c45249d86e3a7848";

KeyId
id_of (const char *hex_text)
{
  KeyId id{};
  EXPECT_TRUE (parse_key_id_hex (hex_text, &id));
  return id;
}

std::string
key_hex (const SecureBytes &key)
{
  return to_hex (key.data (), key.size ());
}

// A private temporary directory, removed with its files.
class TempDir {
public:
  TempDir ()
  {
    char tmpl[] = "/tmp/aesstream-keyring-XXXXXX";
    path_ = mkdtemp (tmpl);
  }
  ~TempDir () { std::system (("rm -rf '" + path_ + "'").c_str ()); }
  std::string write (
      const std::string &name, const std::string &content, mode_t mode)
  {
    std::string p = path_ + "/" + name;
    std::ofstream (p) << content;
    chmod (p.c_str (), mode);
    return p;
  }
  const std::string &path () const { return path_; }

private:
  std::string path_;
};

} // namespace

TEST (Keyring, derived_and_assigned_ids_are_found)
{
  std::string text = std::string ("# my keys\n\n  ") + kKey128
                     + "  # camera 1\r\n"
                     + "00112233445566778899AABBCCDDEEFF : " + kKey256 + "\n";
  Keyring ring;
  std::string error;
  ASSERT_TRUE (Keyring::parse (text, &ring, &error)) << error;
  EXPECT_EQ (ring.size (), 2u);
  SecureBytes key;
  ASSERT_TRUE (ring.find (id_of (kId128), &key));
  EXPECT_EQ (key_hex (key), kKey128);
  ASSERT_TRUE (ring.find (id_of ("00112233445566778899aabbccddeeff"), &key));
  EXPECT_EQ (key_hex (key), kKey256);
  // An assigned id replaces the derived one: the key is not found by its
  // derived id.
  EXPECT_FALSE (ring.find (id_of (kId256), &key));
}

TEST (Keyring, malformed_lines_are_errors_that_name_the_line_not_the_key)
{
  struct
  {
    std::string text, message;
  } cases[] = {
      {std::string (kKey128) + "\n2b7e15", "line 2: key must be 32, 48 or 64"},
      {"# c\n\n" + std::string (kKey128) + "zz\n", "line 3: key must be hex"},
      {"0011:" + std::string (kKey128), "line 1: a key id before ':' must be "
                                        "32 hex digits"},
      {"00112233445566778899aabbccddeeff:\n", "line 1: key must be"},
      {"00112233445566778899aabbccddeeff:" + std::string (kKey128) + "\n"
              + "00112233445566778899aabbccddeeff:" + kKey256,
          "line 2: key id 00112233445566778899aabbccddeeff is also on line 1 "
          "with a different key"},
  };
  for (const auto &c : cases) {
    Keyring ring;
    std::string error;
    EXPECT_FALSE (Keyring::parse (c.text, &ring, &error)) << c.text;
    EXPECT_NE (error.find (c.message), std::string::npos) << error;
    EXPECT_EQ (error.find ("2b7e1516"), std::string::npos) << error;
  }
  // The same key twice is fine.
  Keyring ring;
  std::string error;
  EXPECT_TRUE (Keyring::parse (
      std::string (kKey128) + "\n" + kKey128 + "\n", &ring, &error))
      << error;
}

TEST (Keyring, location_follows_env_then_xdg_then_home)
{
  EXPECT_EQ (locate_keyring ("/k/ring", "/xdg", "/home/u").path, "/k/ring");
  EXPECT_EQ (
      locate_keyring ("", "/xdg", "/home/u").path, "/xdg/aesstream/keyring");
  EXPECT_EQ (locate_keyring (nullptr, "/xdg", "/home/u").origin,
      "$XDG_CONFIG_HOME/aesstream/keyring");
  // A relative XDG_CONFIG_HOME is invalid (XDG base directory spec).
  EXPECT_EQ (locate_keyring (nullptr, "rel", "/home/u").path,
      "/home/u/.config/aesstream/keyring");
  EXPECT_EQ (locate_keyring (nullptr, nullptr, "/home/u").path,
      "/home/u/.config/aesstream/keyring");
  EXPECT_EQ (locate_keyring (nullptr, nullptr, nullptr).path, "");
}

TEST (Keyring, file_found_absent_and_without_the_id)
{
  TempDir dir;
  std::string ring = dir.write ("keyring", std::string (kKey128) + "\n", 0600);
  SecureBytes key;
  std::string error;
  EXPECT_EQ (
      keyring_find (ring, id_of (kId128), &key, &error), KeyringLookup::kFound);
  EXPECT_EQ (key_hex (key), kKey128);
  EXPECT_EQ (keyring_find (ring, id_of (kId256), &key, &error),
      KeyringLookup::kNotFound);
  EXPECT_NE (error.find (kId256), std::string::npos) << error;
  EXPECT_EQ (keyring_find (dir.path () + "/none", id_of (kId128), &key, &error),
      KeyringLookup::kNoKeyring);
  EXPECT_NE (error.find ("does not exist"), std::string::npos) << error;
}

TEST (Keyring, readable_by_group_or_others_is_refused_with_chmod_600)
{
  TempDir dir;
  for (mode_t mode : {0640, 0604, 0620, 0660, 0644, 0601}) {
    std::string ring
        = dir.write ("keyring", std::string (kKey128) + "\n", mode);
    SecureBytes key;
    std::string error;
    EXPECT_EQ (keyring_find (ring, id_of (kId128), &key, &error),
        KeyringLookup::kError)
        << std::oct << mode;
    EXPECT_NE (error.find ("chmod 600 '" + ring + "'"), std::string::npos)
        << error;
    EXPECT_TRUE (key.empty ());
  }
}

TEST (Keyring, only_regular_files_are_read)
{
  TempDir dir;
  std::string fifo = dir.path () + "/keyring";
  ASSERT_EQ (mkfifo (fifo.c_str (), 0600), 0);
  SecureBytes key;
  std::string error;
  // Must not block waiting for a writer.
  EXPECT_EQ (
      keyring_find (fifo, id_of (kId128), &key, &error), KeyringLookup::kError);
  EXPECT_NE (error.find ("not a regular file"), std::string::npos) << error;
  EXPECT_EQ (keyring_find (dir.path (), id_of (kId128), &key, &error),
      KeyringLookup::kError);
}

TEST (Keyring, reads_are_bounded)
{
  TempDir dir;
  std::string big (Keyring::kMaxFileSize + 1, '#');
  std::string ring = dir.write ("keyring", big, 0600);
  SecureBytes key;
  std::string error;
  EXPECT_EQ (
      keyring_find (ring, id_of (kId128), &key, &error), KeyringLookup::kError);
  EXPECT_NE (error.find ("larger than"), std::string::npos) << error;
}

TEST (KeyFile, readable_by_others_or_writable_by_others_is_refused)
{
  TempDir dir;
  for (mode_t mode : {0644, 0604, 0660, 0602, 0622}) {
    std::string path = dir.write ("k", std::string (kKey128) + "\n", mode);
    SecureBytes key;
    std::string error;
    EXPECT_FALSE (read_key_file (path, &key, &error)) << std::oct << mode;
    EXPECT_NE (error.find ("chmod 600 '" + path + "'"), std::string::npos)
        << error;
  }
  // Private, or shared read-only with the group: accepted.
  for (mode_t mode : {0600, 0400, 0640, 0440}) {
    std::string path = dir.write ("k", std::string (kKey128) + "\n", mode);
    SecureBytes key;
    std::string error;
    EXPECT_TRUE (read_key_file (path, &key, &error)) << error;
    EXPECT_EQ (key_hex (key), kKey128);
  }
}

TEST (KeyFile, a_pipe_is_still_a_valid_key_file)
{
  int fds[2];
  ASSERT_EQ (pipe (fds), 0);
  std::string text = std::string (kKey256) + "\n";
  ASSERT_EQ (write (fds[1], text.data (), text.size ()),
      static_cast<ssize_t> (text.size ()));
  close (fds[1]);
  SecureBytes key;
  std::string error;
  EXPECT_TRUE (
      read_key_file ("/proc/self/fd/" + std::to_string (fds[0]), &key, &error))
      << error;
  EXPECT_EQ (key_hex (key), kKey256);
  close (fds[0]);
}

// ---------------------------------------------------------------------------
// The probe: headers written here byte by byte from docs/format.md and the
// gcm-file table of issue 9.

TEST (Probe, ctr_header_version_1)
{
  Bytes h = hex ("41455373"
                 "01"
                 "01"
                 "20"
                 "20"
                 "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
                 "0102030405060708");
  StreamInfo info;
  std::string error;
  ASSERT_EQ (
      probe_stream (h.data (), h.size (), &info, &error), ProbeResult::kMatch)
      << error;
  EXPECT_EQ (info.format, StreamFormat::kCtrHeader);
  EXPECT_EQ (info.version, 1);
  EXPECT_STREQ (info.mode, "ctr");
  EXPECT_EQ (info.key_length, 32);
  EXPECT_FALSE (info.has_key_id);
  EXPECT_EQ (info.header_size, 32u);
  for (size_t n = 0; n < h.size (); n++)
    EXPECT_EQ (
        probe_stream (h.data (), n, &info, &error), ProbeResult::kNeedMore)
        << n;
}

TEST (Probe, ctr_header_version_2_carries_the_key_id)
{
  Bytes h = hex (std::string ("41455373"
                              "02"
                              "01"
                              "10"
                              "30"
                              "0000000000000000")
                 + kId128 + "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
  StreamInfo info;
  std::string error;
  ASSERT_EQ (
      probe_stream (h.data (), h.size (), &info, &error), ProbeResult::kMatch)
      << error;
  EXPECT_EQ (info.version, 2);
  EXPECT_EQ (info.key_length, 16);
  ASSERT_TRUE (info.has_key_id);
  EXPECT_EQ (to_hex (info.key_id.data (), 16), kId128);
  EXPECT_EQ (info.header_size, 48u);
  h[9] = 1; // reserved
  EXPECT_EQ (probe_stream (h.data (), h.size (), &info, &error),
      ProbeResult::kInvalid);
  EXPECT_NE (error.find ("reserved"), std::string::npos) << error;
}

TEST (Probe, gcm_file_preamble)
{
  Bytes h = hex (std::string ("41455373"
                              "02"
                              "05"
                              "20"
                              "20"
                              "00010000"
                              "00000000")
                 + kId256);
  StreamInfo info;
  std::string error;
  ASSERT_EQ (
      probe_stream (h.data (), h.size (), &info, &error), ProbeResult::kMatch)
      << error;
  EXPECT_EQ (info.format, StreamFormat::kGcmFile);
  EXPECT_STREQ (info.mode, "gcm-file");
  EXPECT_EQ (info.segment_size, 65536u);
  EXPECT_EQ (to_hex (info.key_id.data (), 16), kId256);
  EXPECT_EQ (info.header_size, 32u);
  Bytes bad = h;
  bad[15] = 1; // reserved must be zero
  EXPECT_EQ (probe_stream (bad.data (), bad.size (), &info, &error),
      ProbeResult::kInvalid);
  bad = h;
  bad[8] = bad[9] = bad[10] = 0;
  bad[11] = 56; // S = len(H) + 16 for AES-256 (D = 32): too small
  EXPECT_EQ (probe_stream (bad.data (), bad.size (), &info, &error),
      ProbeResult::kInvalid);
  bad[11] = 57;
  EXPECT_EQ (probe_stream (bad.data (), bad.size (), &info, &error),
      ProbeResult::kMatch);
  // The largest S a reader holds is 64 MiB (format.hpp): beyond it the
  // typefinder does not claim the stream and aesdec says why at once.
  bad[8] = 0x04;
  bad[9] = bad[10] = bad[11] = 0;
  EXPECT_EQ (probe_stream (bad.data (), bad.size (), &info, &error),
      ProbeResult::kMatch);
  bad[11] = 1;
  EXPECT_EQ (probe_stream (bad.data (), bad.size (), &info, &error),
      ProbeResult::kInvalid);
  EXPECT_NE (error.find ("67108865"), std::string::npos) << error;
}

TEST (Probe, gcm_record)
{
  Bytes h = hex ("4167"
                 "01"
                 "00"
                 "00000010"
                 "000000000000"
                 "00112233445566778899");
  StreamInfo info;
  std::string error;
  ASSERT_EQ (
      probe_stream (h.data (), h.size (), &info, &error), ProbeResult::kMatch)
      << error;
  EXPECT_EQ (info.format, StreamFormat::kGcmRecords);
  EXPECT_STREQ (info.mode, "gcm");
  EXPECT_FALSE (info.has_key_id);
}

TEST (Probe, other_bytes_and_bad_headers)
{
  StreamInfo info;
  std::string error;
  for (const char *other : {"1a45dfa3", "000000206674797069736f6d", "4167ff",
           "41670102", "4145537400"}) {
    Bytes b = hex (other);
    EXPECT_EQ (probe_stream (b.data (), b.size (), &info, &error),
        ProbeResult::kNoMatch)
        << other;
  }
  struct
  {
    const char *bytes, *message;
  } bad[] = {
      {"41455373"
       "03"
       "01"
       "10"
       "20",
          "version"},
      {"41455373"
       "01"
       "02"
       "10"
       "20",
          "mode 2"},
      {"41455373"
       "01"
       "01"
       "11"
       "20",
          "key length of 17"},
      {"41455373"
       "01"
       "01"
       "10"
       "30",
          "header length 48"},
      {"41455373"
       "02"
       "01"
       "10"
       "20",
          "header length 32"},
  };
  for (const auto &c : bad) {
    Bytes b = hex (c.bytes);
    b.resize (48);
    EXPECT_EQ (probe_stream (b.data (), b.size (), &info, &error),
        ProbeResult::kInvalid)
        << c.bytes;
    EXPECT_NE (error.find (c.message), std::string::npos) << error;
  }
}

TEST (Probe, raw_modes_refuse_our_formats_and_name_the_mode_to_use)
{
  Bytes v2 = hex (std::string ("41455373"
                               "02"
                               "01"
                               "10"
                               "30"
                               "0000000000000000")
                  + kId128 + "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
  bool more = false;
  std::string msg
      = refuse_self_describing (v2.data (), v2.size (), "mode=ecb", &more);
  EXPECT_NE (msg.find ("CTR header (version 2)"), std::string::npos) << msg;
  EXPECT_NE (msg.find ("mode=ecb"), std::string::npos) << msg;
  EXPECT_NE (msg.find ("Use mode=ctr without iv"), std::string::npos) << msg;
  // A prefix could still be ours; anything else is not.
  EXPECT_EQ (refuse_self_describing (v2.data (), 20, "cbc", &more), "");
  EXPECT_TRUE (more);
  Bytes other = random_bytes (64, 9);
  other[0] = 0x1a;
  EXPECT_EQ (
      refuse_self_describing (other.data (), other.size (), "cbc", &more), "");
  EXPECT_FALSE (more);
  Bytes rec = hex ("4167"
                   "01"
                   "00"
                   "00000010"
                   "000000000000"
                   "00112233445566778899");
  msg = refuse_self_describing (
      rec.data (), rec.size (), "mode=ctr with iv", &more);
  EXPECT_NE (msg.find ("Use mode=gcm"), std::string::npos) << msg;
}
