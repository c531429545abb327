// Key lookup by id from an element (gst/gstaesstreamkeys.*): the
// request-key signal first, then the keyring, and the errors a user sees.
// Key ids expected here come from Python's hmac (see test_keyring.cpp).
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "gstaesstreamkeys.h"

using namespace aesstream;

namespace {

const char *kKey128 = "2b7e151628aed2a6abf7158809cf4f3c";
const char *kId128 = "24efab2a070e1c7693eb4ce6087932e0";
const char *kKey256
    = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";

guint request_key_signal;

// The smallest element with the signal, standing in for aesdec.
GType
test_element_get_type ()
{
  static GType type = 0;
  if (type == 0) {
    GTypeInfo info = {};
    info.class_size = sizeof (GstElementClass);
    info.instance_size = sizeof (GstElement);
    type = g_type_register_static (
        GST_TYPE_ELEMENT, "AesStreamKeyLookupTest", &info, GTypeFlags (0));
    request_key_signal = gst_aes_stream_install_request_key_signal (type);
  }
  return type;
}

KeyId
id_of (const char *hex_text)
{
  KeyId id{};
  EXPECT_TRUE (parse_key_id_hex (hex_text, &id));
  return id;
}

class KeyLookup : public ::testing::Test {
protected:
  void SetUp () override
  {
    char tmpl[] = "/tmp/aesstream-lookup-XXXXXX";
    dir_ = mkdtemp (tmpl);
    ring_ = dir_ + "/keyring";
    setenv ("AESSTREAM_KEYRING", ring_.c_str (), 1);
    element_ = GST_ELEMENT (g_object_new (test_element_get_type (), NULL));
    gst_object_ref_sink (element_);
  }
  void TearDown () override
  {
    gst_object_unref (element_);
    unsetenv ("AESSTREAM_KEYRING");
    std::system (("rm -rf '" + dir_ + "'").c_str ());
  }
  void write_keyring (const std::string &text, mode_t mode)
  {
    std::ofstream (ring_) << text;
    chmod (ring_.c_str (), mode);
  }
  bool find (
      const char *id, SecureBytes *key, std::string *source, std::string *error)
  {
    return gst_aes_stream_find_key (
        element_, request_key_signal, id_of (id), key, source, error);
  }

  std::string dir_, ring_;
  GstElement *element_ = nullptr;
};

gchar *
answer_key128 (GstElement *, const gchar *id, gpointer calls)
{
  (*static_cast<std::string *> (calls)) += std::string (id) + ";";
  return g_strcmp0 (id, kId128) == 0 ? g_strdup (kKey128) : NULL;
}

gchar *
answer_nothing (GstElement *, const gchar *, gpointer calls)
{
  (*static_cast<std::string *> (calls)) += "nothing;";
  return NULL;
}

gchar *
answer_wrong_key (GstElement *, const gchar *, gpointer)
{
  return g_strdup (kKey256);
}

gchar *
answer_garbage (GstElement *, const gchar *, gpointer)
{
  return g_strdup ("not a key");
}

} // namespace

TEST_F (KeyLookup, request_key_gets_the_id_as_lowercase_hex_and_wins)
{
  std::string calls;
  g_signal_connect (
      element_, "request-key", G_CALLBACK (answer_nothing), &calls);
  g_signal_connect (
      element_, "request-key", G_CALLBACK (answer_key128), &calls);
  SecureBytes key;
  std::string source, error;
  ASSERT_TRUE (find (kId128, &key, &source, &error)) << error;
  EXPECT_EQ (to_hex (key.data (), key.size ()), kKey128);
  EXPECT_EQ (source, "request-key");
  // Handlers ran in order until one answered.
  EXPECT_EQ (calls, std::string ("nothing;") + kId128 + ";");
}

TEST_F (KeyLookup, a_key_with_another_id_from_request_key_is_an_error)
{
  g_signal_connect (
      element_, "request-key", G_CALLBACK (answer_wrong_key), NULL);
  SecureBytes key;
  std::string source, error;
  EXPECT_FALSE (find (kId128, &key, &source, &error));
  EXPECT_NE (error.find ("needs key id 24efab2a070e1c7693eb4ce6087932e0"),
      std::string::npos)
      << error;
  EXPECT_EQ (error.find (kKey256), std::string::npos);
}

TEST_F (KeyLookup, an_invalid_key_from_request_key_is_an_error)
{
  g_signal_connect (element_, "request-key", G_CALLBACK (answer_garbage), NULL);
  SecureBytes key;
  std::string source, error;
  EXPECT_FALSE (find (kId128, &key, &source, &error));
  EXPECT_NE (
      error.find ("request-key returned an invalid key"), std::string::npos)
      << error;
}

TEST_F (KeyLookup, the_keyring_is_used_when_request_key_has_no_answer)
{
  std::string calls;
  g_signal_connect (
      element_, "request-key", G_CALLBACK (answer_nothing), &calls);
  write_keyring (std::string (kKey256) + "\n" + kKey128 + "\n", 0600);
  SecureBytes key;
  std::string source, error;
  ASSERT_TRUE (find (kId128, &key, &source, &error)) << error;
  EXPECT_EQ (to_hex (key.data (), key.size ()), kKey128);
  EXPECT_EQ (source, ring_);
  EXPECT_EQ (calls, "nothing;");
}

TEST_F (KeyLookup, no_key_names_the_id_and_where_it_looked)
{
  SecureBytes key;
  std::string source, error;
  EXPECT_FALSE (find (kId128, &key, &source, &error));
  EXPECT_NE (
      error.find ("key id 24efab2a070e1c7693eb4ce6087932e0"), std::string::npos)
      << error;
  EXPECT_NE (error.find ("request-key"), std::string::npos) << error;
  EXPECT_NE (
      error.find ("keyring '" + ring_ + "' does not exist"), std::string::npos)
      << error;
  EXPECT_NE (error.find ("$AESSTREAM_KEYRING"), std::string::npos) << error;

  write_keyring (std::string (kKey256) + "\n", 0600);
  EXPECT_FALSE (find (kId128, &key, &source, &error));
  EXPECT_NE (error.find ("has no key with id 24efab2a070e1c7693eb4ce6087932e0"),
      std::string::npos)
      << error;
}

TEST_F (KeyLookup, a_keyring_others_can_read_is_refused)
{
  write_keyring (std::string (kKey128) + "\n", 0644);
  SecureBytes key;
  std::string source, error;
  EXPECT_FALSE (find (kId128, &key, &source, &error));
  EXPECT_NE (error.find ("chmod 600"), std::string::npos) << error;
  EXPECT_TRUE (key.empty ());
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  ::testing::InitGoogleTest (&argc, argv);
  return RUN_ALL_TESTS ();
}
