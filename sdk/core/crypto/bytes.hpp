// Byte strings for the crypto layer: `Bytes` owns, `ByteView` borrows (C++17 has no std::span).
#ifndef MDS_CORE_CRYPTO_BYTES_HPP
#define MDS_CORE_CRYPTO_BYTES_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mds::core::crypto {

using Bytes = std::vector<std::uint8_t>;

// A read-only view of bytes owned elsewhere; it must not outlive them. Converts implicitly
// from the owners used in practice, so a message can be a std::string or a Bytes alike.
class ByteView {
public:
  constexpr ByteView() noexcept = default;
  constexpr ByteView(const std::uint8_t *data, std::size_t size) noexcept : data_(data), size_(size) {}
  ByteView(const Bytes &bytes) noexcept : data_(bytes.data()), size_(bytes.size()) {} // NOLINT: implicit by design
  template <std::size_t N>
  constexpr ByteView(const std::array<std::uint8_t, N> &bytes) noexcept // NOLINT: implicit by design
      : data_(bytes.data()), size_(N) {}
  ByteView(std::string_view text) noexcept // NOLINT: implicit by design
      : data_(reinterpret_cast<const std::uint8_t *>(text.data())), size_(text.size()) {}
  ByteView(const std::string &text) noexcept : ByteView(std::string_view(text)) {} // NOLINT: implicit by design

  constexpr const std::uint8_t *data() const noexcept { return data_; }
  constexpr std::size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr const std::uint8_t *begin() const noexcept { return data_; }
  constexpr const std::uint8_t *end() const noexcept { return data_ + size_; }
  constexpr std::uint8_t operator[](std::size_t index) const noexcept { return data_[index]; }

  Bytes to_bytes() const { return Bytes(begin(), end()); }

private:
  const std::uint8_t *data_ = nullptr;
  std::size_t size_ = 0;
};

inline Bytes to_bytes(std::string_view text) {
  return ByteView(text).to_bytes();
}

} // namespace mds::core::crypto

#endif
