// Shared by the fuzz targets (tests/fuzz/README.md): the input encoding, the
// known plaintext every seed was made from, and the format-aware mutator.
//
// A fuzz input for an element target is a sequence of buffers, so that the
// fuzzer controls buffer boundaries as much as the bytes:
//
//   input  := item*
//   item   := len:u16le bytes[len]     a buffer (len 0: an empty buffer)
//           | 0xffff                   a flush (FLUSH_START + FLUSH_STOP)
//           | 0xfffe                   the application sets the next key
//                                      (key rotation: the target's
//                                      DecoderConfig::later_keys, in turn,
//                                      through the `key` property while
//                                      PLAYING; nothing for targets without)
//
// A last item shorter than its length is cut to what is there.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace fuzz {

using Bytes = std::vector<uint8_t>;

// The key every seed stream was encrypted with (AES-128), and the raw
// CTR/CBC iv. Known to the targets, so that authentic records open and the
// decoders' deep paths are reached.
constexpr const char *kKeyHex = "000102030405060708090a0b0c0d0e0f";
constexpr const char *kIvHex = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
// The keys a key-rotation target's sender and receiver move to (the seeds'
// later streams are sealed under them).
constexpr const char *kKey2Hex = "101112131415161718191a1b1c1d1e1f";
constexpr const char *kKey3Hex = "202122232425262728292a2b2c2d2e2f";
constexpr uint16_t kFlushMarker = 0xffff;
constexpr uint16_t kKeyMarker = 0xfffe;
constexpr size_t kMaxItem = 0xfffd;

// The plaintext every seed encrypts pieces of. A decoder of an
// authenticated mode may only ever output substrings of it: anything else
// is an unauthenticated byte let through. Pseudo-random (an LCG), so that a
// leaked run of ciphertext or of zeros is not in it by chance.
inline const Bytes &
known_plaintext ()
{
  static const Bytes p = [] {
    Bytes b (8192);
    uint32_t x = 0x2545f491u;
    for (auto &v : b) {
      x = x * 1664525u + 1013904223u;
      v = static_cast<uint8_t> (x >> 24);
    }
    return b;
  }();
  return p;
}

inline bool
is_in_known_plaintext (const uint8_t *data, size_t n)
{
  const Bytes &p = known_plaintext ();
  if (n == 0)
    return true;
  if (n > p.size ())
    return false;
  return std::search (p.begin (), p.end (), data, data + n) != p.end ();
}

struct Item
{
  bool flush = false;
  Bytes bytes;
  bool next_key = false; // the application sets the next key here

  bool is_event () const { return flush || next_key; }
};

inline std::vector<Item>
decode (const uint8_t *data, size_t size)
{
  std::vector<Item> items;
  size_t pos = 0;
  while (pos + 2 <= size) {
    uint16_t len = static_cast<uint16_t> (data[pos] | data[pos + 1] << 8);
    pos += 2;
    Item it;
    if (len == kFlushMarker) {
      it.flush = true;
    } else if (len == kKeyMarker) {
      it.next_key = true;
    } else {
      size_t n = std::min<size_t> (len, size - pos);
      it.bytes.assign (data + pos, data + pos + n);
      pos += n;
    }
    items.push_back (std::move (it));
  }
  return items;
}

inline Bytes
encode (const std::vector<Item> &items)
{
  Bytes out;
  for (const Item &it : items) {
    if (it.is_event ()) {
      const uint16_t m = it.flush ? kFlushMarker : kKeyMarker;
      out.push_back (static_cast<uint8_t> (m));
      out.push_back (static_cast<uint8_t> (m >> 8));
      continue;
    }
    // Longer buffers are split: the encoding's length is 16 bits.
    size_t pos = 0;
    do {
      size_t n = std::min (kMaxItem, it.bytes.size () - pos);
      out.push_back (static_cast<uint8_t> (n));
      out.push_back (static_cast<uint8_t> (n >> 8));
      out.insert (
          out.end (), it.bytes.begin () + pos, it.bytes.begin () + pos + n);
      pos += n;
    } while (pos < it.bytes.size ());
  }
  return out;
}

// The format-aware mutator (libFuzzer's LLVMFuzzerCustomMutator and
// LLVMFuzzerCustomCrossOver call these). Each step does one of the things
// a network or an attacker does to a stream: flips bits, cuts, re-chunks it
// (including empty buffers), rewrites the length fields of the GCM records
// and the stream header, drops, duplicates, reorders or flushes buffers,
// and splices in buffers from another stream. `generic` is libFuzzer's own
// byte mutator (LLVMFuzzerMutate), used on one buffer at a time.
using GenericMutate = size_t (*) (uint8_t *data, size_t size, size_t max);

class Mutator {
public:
  explicit Mutator (unsigned seed) : rng_ (seed) {}

  size_t mutate (
      uint8_t *data, size_t size, size_t max_size, GenericMutate generic)
  {
    std::vector<Item> items = decode (data, size);
    if (items.empty ())
      items.push_back (Item{});
    switch (pick (10)) {
      case 0:
      case 1:
        generic_on_one (items, generic, max_size);
        break;
      case 2:
        flip_bits (items);
        break;
      case 3:
        cut (items);
        break;
      case 4:
        rechunk (items);
        break;
      case 5:
      case 6:
        rewrite_lengths (items);
        break;
      case 7:
        drop_duplicate_or_swap (items);
        break;
      case 8:
        insert_empty_or_flush (items);
        break;
      case 9:
        merge_neighbours (items);
        break;
    }
    return store (items, data, max_size);
  }

  size_t cross_over (const uint8_t *a, size_t a_size, const uint8_t *b,
      size_t b_size, uint8_t *out, size_t max_size)
  {
    std::vector<Item> x = decode (a, a_size), y = decode (b, b_size);
    std::vector<Item> items;
    switch (pick (3)) {
      case 0: { // a prefix of one stream, then a suffix of the other
        size_t i = x.empty () ? 0 : pick (x.size () + 1);
        size_t j = y.empty () ? 0 : pick (y.size () + 1);
        items.assign (x.begin (), x.begin () + i);
        items.insert (items.end (), y.begin () + j, y.end ());
        break;
      }
      case 1: { // one buffer of the other stream inserted
        items = x;
        if (!y.empty ())
          items.insert (
              items.begin () + pick (items.size () + 1), y[pick (y.size ())]);
        break;
      }
      default: { // the two streams' buffers interleaved (two senders)
        size_t i = 0, j = 0;
        while (i < x.size () || j < y.size ()) {
          if (j >= y.size () || (i < x.size () && pick (2) == 0))
            items.push_back (x[i++]);
          else
            items.push_back (y[j++]);
        }
      }
    }
    return store (items, out, max_size);
  }

private:
  std::mt19937 rng_;

  size_t pick (size_t n) { return n == 0 ? 0 : rng_ () % n; }

  static Bytes concat (const std::vector<Item> &items)
  {
    Bytes all;
    for (const Item &it : items)
      all.insert (all.end (), it.bytes.begin (), it.bytes.end ());
    return all;
  }

  // Writes as many items as fit in max_size (the last one cut to fit), in
  // one pass: inputs are re-encoded on every mutation.
  size_t store (std::vector<Item> &items, uint8_t *out, size_t max_size)
  {
    size_t pos = 0;
    for (Item &it : items) {
      if (pos + 2 > max_size)
        break;
      if (it.is_event ()) {
        const uint16_t m = it.flush ? kFlushMarker : kKeyMarker;
        out[pos++] = static_cast<uint8_t> (m);
        out[pos++] = static_cast<uint8_t> (m >> 8);
        continue;
      }
      size_t n = std::min ({it.bytes.size (), kMaxItem, max_size - pos - 2});
      out[pos++] = static_cast<uint8_t> (n);
      out[pos++] = static_cast<uint8_t> (n >> 8);
      if (n > 0)
        std::memcpy (out + pos, it.bytes.data (), n);
      pos += n;
      if (n < it.bytes.size ())
        break;
    }
    return pos;
  }

  Item *random_data_item (std::vector<Item> &items)
  {
    std::vector<Item *> data_items;
    for (Item &it : items)
      if (!it.is_event () && !it.bytes.empty ())
        data_items.push_back (&it);
    return data_items.empty () ? nullptr
                               : data_items[pick (data_items.size ())];
  }

  void generic_on_one (
      std::vector<Item> &items, GenericMutate generic, size_t max_size)
  {
    Item *it = random_data_item (items);
    if (it == nullptr || generic == nullptr) {
      flip_bits (items);
      return;
    }
    size_t size = it->bytes.size ();
    size_t room = std::max (size, std::min (kMaxItem, 2 * size + 64));
    it->bytes.resize (room);
    size_t n = generic (it->bytes.data (), size, room);
    it->bytes.resize (n);
  }

  void flip_bits (std::vector<Item> &items)
  {
    Item *it = random_data_item (items);
    if (it == nullptr)
      return;
    size_t flips = 1 + pick (3);
    for (size_t i = 0; i < flips; i++)
      it->bytes[pick (it->bytes.size ())]
          ^= static_cast<uint8_t> (1u << pick (8));
  }

  void cut (std::vector<Item> &items)
  {
    Item *it = random_data_item (items);
    if (it == nullptr)
      return;
    size_t n = it->bytes.size ();
    if (pick (2) == 0) { // truncate the buffer
      it->bytes.resize (pick (n));
    } else { // remove a range from inside it
      size_t a = pick (n), b = a + pick (n - a + 1);
      it->bytes.erase (it->bytes.begin () + a, it->bytes.begin () + b);
    }
  }

  // The same bytes in other buffer boundaries, as a byte-stream transport
  // (a file, TCP) delivers them: sizes from 0 (empty buffers) upwards.
  // Flushes and key changes stay where they were in the bytes.
  void rechunk (std::vector<Item> &items)
  {
    Bytes all = concat (items);
    std::vector<std::pair<size_t, Item>> events; // at a byte position
    size_t at = 0;
    for (const Item &it : items) {
      if (it.is_event ())
        events.emplace_back (at, it);
      at += it.bytes.size ();
    }
    std::vector<Item> out;
    size_t pos = 0, next_event = 0;
    size_t style = pick (3);
    while (pos < all.size () || next_event < events.size ()) {
      while (next_event < events.size () && events[next_event].first <= pos)
        out.push_back (events[next_event++].second);
      if (pos >= all.size ())
        continue;
      size_t n = style == 0   ? pick (8)         // tiny, with empties
                 : style == 1 ? 1 + pick (64)    // small
                              : 1 + pick (2048); // packet-like
      n = std::min (n, all.size () - pos);
      if (next_event < events.size ())
        n = std::min (n, events[next_event].first - pos);
      Item it;
      it.bytes.assign (all.begin () + pos, all.begin () + pos + n);
      out.push_back (std::move (it));
      pos += n;
    }
    items = std::move (out);
  }

  // Rewrites the length field of a GCM record header ("Ag" 01) or a field
  // of the stream header ("AESs") with values that stress the framing:
  // zero, one, off by one, half the input, the format's maximum and past it.
  void rewrite_lengths (std::vector<Item> &items)
  {
    struct Spot
    {
      Item *item;
      size_t off;
      bool gcm;
    };
    std::vector<Spot> spots;
    for (Item &it : items) {
      const Bytes &b = it.bytes;
      for (size_t i = 0; i + 8 <= b.size (); i++) {
        if (b[i] == 'A' && b[i + 1] == 'g' && b[i + 2] == 1)
          spots.push_back ({&it, i, true});
        else if (b[i] == 'A' && b[i + 1] == 'E' && b[i + 2] == 'S'
                 && b[i + 3] == 's')
          spots.push_back ({&it, i, false});
      }
    }
    if (spots.empty ()) {
      flip_bits (items);
      return;
    }
    Spot s = spots[pick (spots.size ())];
    uint8_t *h = s.item->bytes.data () + s.off;
    if (!s.gcm) { // version, mode, key length or header size
      h[4 + pick (4)]
          = static_cast<uint8_t> (pick (4) == 0 ? rng_ () : pick (40));
      return;
    }
    uint32_t old = uint32_t{h[4]} << 24 | uint32_t{h[5]} << 16
                   | uint32_t{h[6]} << 8 | h[7];
    size_t total = concat (items).size ();
    const uint32_t choices[]
        = {0, 1, old + 1, old - 1, old + 16, static_cast<uint32_t> (total / 2),
            static_cast<uint32_t> (total), 64u << 20, (64u << 20) + 1,
            0xffffffffu, static_cast<uint32_t> (rng_ ())};
    uint32_t v = choices[pick (sizeof (choices) / sizeof (choices[0]))];
    for (int i = 0; i < 4; i++)
      h[4 + i] = static_cast<uint8_t> (v >> (24 - 8 * i));
    if (pick (4) == 0) // and sometimes the flags or the version
      h[2 + pick (2)] = static_cast<uint8_t> (pick (3));
  }

  // Loss, duplication (replay) and reordering on a packet transport.
  void drop_duplicate_or_swap (std::vector<Item> &items)
  {
    if (items.empty ())
      return;
    size_t i = pick (items.size ());
    switch (pick (3)) {
      case 0:
        items.erase (items.begin () + i);
        break;
      case 1:
        items.insert (items.begin () + pick (items.size () + 1), items[i]);
        break;
      default:
        std::swap (items[i], items[pick (items.size ())]);
    }
  }

  // An empty buffer, a flush, or the application setting the next key.
  void insert_empty_or_flush (std::vector<Item> &items)
  {
    Item it;
    const size_t what = pick (6);
    it.flush = what < 2;
    it.next_key = what == 2;
    items.insert (items.begin () + pick (items.size () + 1), it);
  }

  void merge_neighbours (std::vector<Item> &items)
  {
    if (items.size () < 2)
      return;
    size_t i = pick (items.size () - 1);
    if (items[i].is_event () || items[i + 1].is_event ())
      return;
    Bytes &b = items[i].bytes;
    b.insert (b.end (), items[i + 1].bytes.begin (), items[i + 1].bytes.end ());
    items.erase (items.begin () + i + 1);
  }
};

} // namespace fuzz

// libFuzzer's byte mutator; weak so that the corpus runner (built without
// libFuzzer) links too.
extern "C" size_t LLVMFuzzerMutate (uint8_t *data, size_t size, size_t max)
    __attribute__ ((weak));

// Defines the custom mutator entry points for a target whose input is the
// item encoding above.
#define FUZZ_ITEM_MUTATOR                                                      \
  extern "C" size_t LLVMFuzzerCustomMutator (                                  \
      uint8_t *data, size_t size, size_t max_size, unsigned int seed)          \
  {                                                                            \
    fuzz::Mutator m (seed);                                                    \
    return m.mutate (data, size, max_size, LLVMFuzzerMutate);                  \
  }                                                                            \
  extern "C" size_t LLVMFuzzerCustomCrossOver (const uint8_t *a,               \
      size_t a_size, const uint8_t *b, size_t b_size, uint8_t *out,            \
      size_t max_size, unsigned int seed)                                      \
  {                                                                            \
    fuzz::Mutator m (seed);                                                    \
    return m.cross_over (a, a_size, b, b_size, out, max_size);                 \
  }
