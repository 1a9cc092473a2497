// Small text builders for test inputs.
#ifndef MDS_TESTS_SUPPORT_TEXT_HPP
#define MDS_TESTS_SUPPORT_TEXT_HPP

#include <cstddef>
#include <random>
#include <string>

namespace mds::test {

// `piece` written `times` times, for inputs at and beyond length limits.
inline std::string repeat(const std::string &piece, std::size_t times) {
  std::string out;
  out.reserve(piece.size() * times);
  for (std::size_t i = 0; i < times; ++i) {
    out += piece;
  }
  return out;
}

// `size` bytes from a generator seeded with `seed`: incompressible, so a blob of them is
// about as large as the file, and the same for the same seed.
inline std::string random_bytes(std::size_t size, unsigned seed) {
  std::mt19937 random(seed);
  std::string out(size, '\0');
  for (auto &c : out) {
    c = static_cast<char>(random());
  }
  return out;
}

} // namespace mds::test

#endif
