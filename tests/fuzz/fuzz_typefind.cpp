// libFuzzer target: the aesstream typefinder (plugin.cpp), called through
// its factory with the input as the whole stream. Oracle: no crash, no
// sanitizer report; a suggestion is well-formed caps.
#include <cstdlib>
#include <cstring>

#include "fuzz_gst.hpp"

namespace {

GstTypeFindFactory *factory;

struct Source
{
  const uint8_t *data;
  size_t size;
  GstCaps *caps = nullptr;
  guint probability = 0;
};

const guint8 *
peek (gpointer user, gint64 offset, guint size)
{
  auto *s = static_cast<Source *> (user);
  if (offset < 0) // from the end, as GstTypeFind allows
    offset += static_cast<gint64> (s->size);
  if (offset < 0 || static_cast<guint64> (offset) > s->size
      || size > s->size - static_cast<guint64> (offset))
    return nullptr;
  return s->data + offset;
}

void
suggest (gpointer user, guint probability, GstCaps *caps)
{
  auto *s = static_cast<Source *> (user);
  if (!GST_IS_CAPS (caps) || gst_caps_get_size (caps) != 1
      || probability > GST_TYPE_FIND_MAXIMUM)
    abort ();
  if (probability > s->probability) {
    gst_caps_replace (&s->caps, caps);
    s->probability = probability;
  }
}

guint64
get_length (gpointer user)
{
  return static_cast<Source *> (user)->size;
}

} // namespace

extern "C" int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz::init_gstreamer ();
  factory
      = GST_TYPE_FIND_FACTORY (gst_registry_find_feature (gst_registry_get (),
          "application/x-aes-encrypted", GST_TYPE_TYPE_FIND_FACTORY));
  if (factory == nullptr)
    abort ();
  return 0;
}

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  // A copy of exactly `size` bytes, so that ASan sees any read past the end.
  uint8_t *copy = static_cast<uint8_t *> (malloc (size ? size : 1));
  if (size)
    std::memcpy (copy, data, size);
  Source src{copy, size};
  GstTypeFind tf = {};
  tf.peek = peek;
  tf.suggest = suggest;
  tf.data = &src;
  tf.get_length = get_length;
  gst_type_find_factory_call_function (factory, &tf);
  if (src.caps != nullptr) {
    const GstStructure *st = gst_caps_get_structure (src.caps, 0);
    if (!gst_structure_has_name (st, "application/x-aes-encrypted"))
      abort ();
    gst_caps_unref (src.caps);
  }
  free (copy);
  return 0;
}
