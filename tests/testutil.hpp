// Small helpers shared by the C++ tests.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

using Bytes = std::vector<uint8_t>;

inline Bytes
hex (const std::string &s)
{
  Bytes out;
  for (size_t i = 0; i + 1 < s.size (); i += 2)
    out.push_back (
        static_cast<uint8_t> (std::stoi (s.substr (i, 2), nullptr, 16)));
  return out;
}

inline Bytes
random_bytes (size_t n, unsigned seed)
{
  std::mt19937 rng (seed);
  Bytes b (n);
  for (auto &x : b)
    x = static_cast<uint8_t> (rng ());
  return b;
}

// The parts one after the other, as one byte string.
inline Bytes
joined (const std::vector<Bytes> &parts)
{
  Bytes out;
  for (const Bytes &p : parts)
    out.insert (out.end (), p.begin (), p.end ());
  return out;
}
