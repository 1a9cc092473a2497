#include "core/crypto/encoding.hpp"

#include <array>
#include <cstdint>

namespace mds::core::crypto {
namespace {

constexpr std::string_view kStandardSymbols = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrlSafeSymbols = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr char kPad = '=';
constexpr std::uint8_t kNotASymbol = 0xff;

// Which alphabets a character belongs to, and its 6-bit value there.
struct SymbolInfo {
  std::uint8_t value = kNotASymbol;
  bool standard_only = false; // '+' or '/'
  bool url_safe_only = false; // '-' or '_'
};

constexpr std::array<SymbolInfo, 256> make_symbol_table() {
  std::array<SymbolInfo, 256> table{};
  for (std::size_t i = 0; i < kStandardSymbols.size(); ++i) {
    auto &info = table[static_cast<unsigned char>(kStandardSymbols[i])];
    info.value = static_cast<std::uint8_t>(i);
    info.standard_only = kStandardSymbols[i] != kUrlSafeSymbols[i];
  }
  for (std::size_t i = 62; i < kUrlSafeSymbols.size(); ++i) {
    auto &info = table[static_cast<unsigned char>(kUrlSafeSymbols[i])];
    info.value = static_cast<std::uint8_t>(i);
    info.url_safe_only = true;
  }
  return table;
}

constexpr auto kSymbols = make_symbol_table();

Error base64_error(std::string message) {
  return make_error(ErrorCode::InvalidBase64, std::move(message));
}

std::string describe_char(char c, std::size_t offset) {
  constexpr std::string_view kHexDigits = "0123456789abcdef";
  const auto byte = static_cast<unsigned char>(c);
  std::string out = "byte 0x";
  out += kHexDigits[byte >> 4];
  out += kHexDigits[byte & 0x0f];
  out += " at offset " + std::to_string(offset);
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1;
}

} // namespace

std::string base64_encode(ByteView bytes, Base64Alphabet alphabet) {
  const std::string_view symbols = alphabet == Base64Alphabet::UrlSafe ? kUrlSafeSymbols : kStandardSymbols;
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t group = (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out += symbols[(group >> 18) & 0x3f];
    out += symbols[(group >> 12) & 0x3f];
    out += symbols[(group >> 6) & 0x3f];
    out += symbols[group & 0x3f];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t group = std::uint32_t{bytes[i]} << 16;
    if (rest == 2) {
      group |= std::uint32_t{bytes[i + 1]} << 8;
    }
    out += symbols[(group >> 18) & 0x3f];
    out += symbols[(group >> 12) & 0x3f];
    out += rest == 2 ? symbols[(group >> 6) & 0x3f] : kPad;
    out += kPad;
  }
  return out;
}

Result<Bytes> base64_decode(std::string_view text, Base64Alphabet alphabet) {
  if (text.size() % 4 != 0) {
    return base64_error("length " + std::to_string(text.size()) + " is not a multiple of 4");
  }
  std::size_t padding = 0;
  if (!text.empty() && text.back() == kPad) {
    padding = text[text.size() - 2] == kPad ? 2 : 1;
  }
  const std::size_t symbol_count = text.size() - padding;

  bool saw_standard_only = false;
  bool saw_url_safe_only = false;
  Bytes out;
  out.reserve(symbol_count * 3 / 4);
  std::uint32_t accumulator = 0;
  unsigned bits = 0;
  for (std::size_t i = 0; i < symbol_count; ++i) {
    const SymbolInfo &info = kSymbols[static_cast<unsigned char>(text[i])];
    const bool wrong_alphabet = (alphabet == Base64Alphabet::Standard && info.url_safe_only) ||
                                (alphabet == Base64Alphabet::UrlSafe && info.standard_only);
    if (info.value == kNotASymbol || wrong_alphabet) {
      const char *what = text[i] == kPad ? "padding before the end: " : "not a base64 character: ";
      return base64_error(what + describe_char(text[i], i));
    }
    saw_standard_only = saw_standard_only || info.standard_only;
    saw_url_safe_only = saw_url_safe_only || info.url_safe_only;
    accumulator = (accumulator << 6) | info.value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(accumulator >> bits));
      accumulator &= (1u << bits) - 1;
    }
  }
  if (saw_standard_only && saw_url_safe_only) {
    return base64_error("mixes the standard and URL-safe alphabets");
  }
  // Canonical form: the bits the last symbol carries beyond the final byte are zero.
  if (accumulator != 0) {
    return base64_error("non-canonical: unused bits of the last character are set");
  }
  return out;
}

std::string hex_encode(ByteView bytes) {
  constexpr std::string_view kHexDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const std::uint8_t byte : bytes) {
    out += kHexDigits[byte >> 4];
    out += kHexDigits[byte & 0x0f];
  }
  return out;
}

Result<Bytes> hex_decode(std::string_view text, std::optional<std::size_t> expected_size) {
  if (text.size() % 2 != 0) {
    return make_error(ErrorCode::InvalidHex, "odd length " + std::to_string(text.size()));
  }
  if (expected_size && text.size() != *expected_size * 2) {
    return make_error(ErrorCode::InvalidHex,
                      std::to_string(text.size()) + " hex digits, expected " + std::to_string(*expected_size * 2));
  }
  Bytes out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int high = hex_value(text[i]);
    const int low = hex_value(text[i + 1]);
    if (high < 0 || low < 0) {
      const std::size_t bad = high < 0 ? i : i + 1;
      return make_error(ErrorCode::InvalidHex, "not a lower-case hex digit: " + describe_char(text[bad], bad));
    }
    out.push_back(static_cast<std::uint8_t>((high << 4) | low));
  }
  return out;
}

} // namespace mds::core::crypto
