// Shared by the core and codec tests (no GStreamer): the NIST SP 800-38A
// known answers and small helpers.
#pragma once

#include <string>

#include "aescore.hpp"
#include "testutil.hpp"

namespace nist {

using aesstream::Mode;

// NIST SP 800-38A, Appendix F: the common plaintext and keys.
constexpr const char *kPlain = "6bc1bee22e409f96e93d7e117393172a"
                               "ae2d8a571e03ac9c9eb76fac45af8e51"
                               "30c81c46a35ce411e5fbc1191a0a52ef"
                               "f69f2445df4f9b17ad2b417be66c3710";
constexpr const char *kKey128 = "2b7e151628aed2a6abf7158809cf4f3c";
constexpr const char *kKey192
    = "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b";
constexpr const char *kKey256
    = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
constexpr const char *kCtrIv = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
constexpr const char *kCbcIv = "000102030405060708090a0b0c0d0e0f";

struct Vector
{
  const char *name;
  Mode mode;
  const char *key;
  const char *iv;
  const char *cipher;
};

constexpr Vector kVectors[] = {
    {"F.1.1/F.1.2 ECB-AES128", Mode::kEcb, kKey128, nullptr,
        "3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf"
        "43b1cd7f598ece23881b00e3ed0306887b0c785e27e8ad3f8223207104725dd4"},
    {"F.1.3/F.1.4 ECB-AES192", Mode::kEcb, kKey192, nullptr,
        "bd334f1d6e45f25ff712a214571fa5cc974104846d0ad3ad7734ecb3ecee4eef"
        "ef7afd2270e2e60adce0ba2face6444e9a4b41ba738d6c72fb16691603c18e0e"},
    {"F.1.5/F.1.6 ECB-AES256", Mode::kEcb, kKey256, nullptr,
        "f3eed1bdb5d2a03c064b5a7e3db181f8591ccb10d410ed26dc5ba74a31362870"
        "b6ed21b99ca6f4f9f153e7b1beafed1d23304b7a39f9f3ff067d8d8f9e24ecc7"},
    {"F.5.1/F.5.2 CTR-AES128", Mode::kCtr, kKey128, kCtrIv,
        "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
        "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee"},
    {"F.5.3/F.5.4 CTR-AES192", Mode::kCtr, kKey192, kCtrIv,
        "1abc932417521ca24f2b0459fe7e6e0b090339ec0aa6faefd5ccc2c6f4ce8e94"
        "1e36b26bd1ebc670d1bd1d665620abf74f78a7f6d29809585a97daec58c6b050"},
    {"F.5.5/F.5.6 CTR-AES256", Mode::kCtr, kKey256, kCtrIv,
        "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
        "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6"},
    {"F.2.1/F.2.2 CBC-AES128", Mode::kCbc, kKey128, kCbcIv,
        "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
        "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7"},
    {"F.2.3/F.2.4 CBC-AES192", Mode::kCbc, kKey192, kCbcIv,
        "4f021db243bc633d7178183a9fa071e8b4d9ada9ad7dedf4e5e738763f69145a"
        "571b242012fb7ae07fa9baac3df102e008b0e27988598881d920a9e64f5615cd"},
    {"F.2.5/F.2.6 CBC-AES256", Mode::kCbc, kKey256, kCbcIv,
        "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
        "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b"},
};

// A key given in hex, as the core takes it.
inline aesstream::SecureBytes
key_of (const std::string &s)
{
  Bytes b = hex (s);
  return aesstream::SecureBytes (b.data (), b.size ());
}

} // namespace nist
