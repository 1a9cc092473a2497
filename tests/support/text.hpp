// Small text builders for test inputs.
#ifndef MDS_TESTS_SUPPORT_TEXT_HPP
#define MDS_TESTS_SUPPORT_TEXT_HPP

#include <cstddef>
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

} // namespace mds::test

#endif
