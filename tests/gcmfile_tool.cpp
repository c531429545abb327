// A test-only command line over the gcm-file core, so that the Python tests
// can cross-check it against the independent implementation
// (tests/gcmfile_ref.py) without a pipeline:
//   gcmfile_tool enc KEYHEX SEGMENT_SIZE SEED  < plain  > file
//   gcmfile_tool dec KEYHEX SEED [skip] [from=X] < file  > plain
// SEED picks a random chunking of the input (0: one chunk). On a problem,
// the authenticated output so far is written, the problem's kind and
// message go to stderr ("kind: message"), and the exit status is 1.
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "gcmfile.hpp"

using namespace aesstream;
using namespace aesstream::gcmfile;

namespace {

const char *
kind_name (Problem::Kind k)
{
  switch (k) {
    case Problem::Kind::kNone:
      return "none";
    case Problem::Kind::kSettings:
      return "settings";
    case Problem::Kind::kFormat:
      return "format";
    case Problem::Kind::kWrongKey:
      return "wrong-key";
    case Problem::Kind::kCorrupt:
      return "corrupt";
    case Problem::Kind::kTruncated:
      return "truncated";
    case Problem::Kind::kUnsupported:
      return "unsupported";
    case Problem::Kind::kLimit:
      return "limit";
    case Problem::Kind::kLibrary:
      return "library";
  }
  return "?";
}

std::vector<size_t>
chunks (size_t n, unsigned seed)
{
  if (seed == 0)
    return {n};
  std::mt19937 rng (seed);
  const size_t max = 1 + rng () % 70000;
  std::vector<size_t> out;
  for (size_t done = 0; done < n;) {
    const size_t c = std::min<size_t> (n - done, rng () % (max + 1));
    out.push_back (c);
    done += c;
  }
  return out;
}

int
report (const Problem &p)
{
  std::cerr << kind_name (p.kind) << ": " << p.message << "\n";
  return 1;
}

void
put (const std::vector<uint8_t> &b, size_t n)
{
  std::fwrite (b.data (), 1, n, stdout);
}

} // namespace

int
main (int argc, char **argv)
{
  if (argc < 4) {
    std::cerr << "usage: gcmfile_tool enc|dec KEYHEX ...\n";
    return 2;
  }
  std::string error;
  SecureBytes key;
  if (!parse_key_hex (argv[2], &key, &error)) {
    std::cerr << error << "\n";
    return 2;
  }
  std::vector<uint8_t> in ((std::istreambuf_iterator<char> (std::cin)),
      std::istreambuf_iterator<char> ());
  Problem p;
  if (std::strcmp (argv[1], "enc") == 0 && argc == 5) {
    auto enc = FileEncoder::create (
        key, static_cast<uint32_t> (std::stoul (argv[3])), &p);
    if (!enc)
      return report (p);
    size_t pos = 0;
    for (size_t c : chunks (in.size (), std::stoul (argv[4]))) {
      std::vector<uint8_t> out (enc->update_output_size (c));
      size_t w = 0;
      if (!(p = enc->update (in.data () + pos, c, out.data (), &w)).ok ())
        return report (p);
      put (out, w);
      pos += c;
    }
    std::vector<uint8_t> out (enc->finish_output_size ());
    size_t w = 0;
    if (!(p = enc->finish (out.data (), &w)).ok ())
      return report (p);
    put (out, w);
    return 0;
  }
  if (std::strcmp (argv[1], "dec") == 0) {
    auto dec = FileDecoder::create (key, &p);
    if (!dec)
      return report (p);
    size_t pos = 0;
    for (int a = 4; a < argc; a++) {
      if (std::strcmp (argv[a], "skip") == 0) {
        dec->set_skip_damaged (true);
      } else if (std::strncmp (argv[a], "from=", 5) == 0) {
        // Read the preamble and header as a reader at offset 0 does, then
        // jump to the plaintext offset.
        std::vector<uint8_t> out (in.size ());
        size_t w = 0;
        for (pos = 0; pos < in.size () && !dec->ready (); pos++)
          if (!(p = dec->update (in.data () + pos, 1, out.data (), &w)).ok ())
            return report (p);
        if (!dec->ready ())
          return report (
              Problem::make (Problem::Kind::kTruncated, "no header"));
        pos = dec->seek (std::stoull (argv[a] + 5));
        if (pos > in.size ())
          pos = in.size ();
      }
    }
    std::vector<uint8_t> rest (in.begin () + pos, in.end ());
    pos = 0;
    int status = 0;
    for (size_t c : chunks (rest.size (), std::stoul (argv[3]))) {
      std::vector<uint8_t> out (dec->max_update_output (c));
      size_t w = 0;
      p = dec->update (rest.data () + pos, c, out.data (), &w);
      put (out, w);
      for (auto &warn : dec->take_warnings ())
        std::cerr << "warning: " << warn.message << "\n";
      if (!p.ok ())
        return report (p);
      pos += c;
    }
    std::vector<uint8_t> out (dec->max_finish_output ());
    size_t w = 0;
    p = dec->finish (out.data (), &w);
    put (out, w);
    for (auto &warn : dec->take_warnings ())
      std::cerr << "warning: " << warn.message << "\n";
    if (!p.ok ())
      status = report (p);
    std::cerr << "skipped: " << dec->segments_skipped () << "\n";
    return status;
  }
  std::cerr << "usage: gcmfile_tool enc KEYHEX S SEED | dec KEYHEX SEED "
               "[skip] [from=X]\n";
  return 2;
}
