#include "core/crypto/pem.hpp"

#include "core/crypto/encoding.hpp"

namespace mds::core::crypto {
namespace {

constexpr std::string_view kDashes = "-----";
constexpr std::string_view kBegin = "-----BEGIN ";
constexpr std::string_view kEnd = "-----END ";
constexpr std::size_t kLineLength = 64;

bool is_whitespace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_whitespace(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_whitespace(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

Error pem_error(const std::string &why) {
  return make_error(ErrorCode::KeyInvalid, "not a PEM block: " + why);
}

} // namespace

Result<PemBlock> pem_decode(std::string_view text) {
  text = trim(text);
  if (text.substr(0, kBegin.size()) != kBegin) {
    return pem_error("does not start with \"-----BEGIN \"");
  }
  const auto label_end = text.find(kDashes, kBegin.size());
  const auto first_newline = text.find('\n');
  if (label_end == std::string_view::npos || label_end > first_newline) {
    return pem_error("unterminated BEGIN line");
  }
  const std::string_view label = text.substr(kBegin.size(), label_end - kBegin.size());
  const std::string footer = std::string(kEnd) + std::string(label) + std::string(kDashes);
  if (first_newline == std::string_view::npos || text.size() < footer.size() ||
      text.substr(text.size() - footer.size()) != footer) {
    return pem_error("does not end with \"" + footer + "\"");
  }
  const std::size_t footer_start = text.size() - footer.size();
  if (text[footer_start - 1] != '\n') {
    return pem_error("END line does not start a line");
  }
  const std::string_view body = text.substr(first_newline + 1, footer_start - first_newline - 1);

  std::string base64;
  base64.reserve(body.size());
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '\n' || (c == '\r' && i + 1 < body.size() && body[i + 1] == '\n')) {
      continue;
    }
    base64 += c;
  }
  auto der = base64_decode(base64);
  if (!der) {
    return pem_error("body: " + der.error().message);
  }
  if (der->empty()) {
    return pem_error("empty body");
  }
  return PemBlock{std::string(label), std::move(*der)};
}

std::string pem_encode(std::string_view label, ByteView der) {
  const std::string body = base64_encode(der);
  std::string pem = std::string(kBegin) + std::string(label) + std::string(kDashes) + "\n";
  for (std::size_t at = 0; at < body.size(); at += kLineLength) {
    pem += body.substr(at, kLineLength);
    pem += '\n';
  }
  pem += std::string(kEnd) + std::string(label) + std::string(kDashes) + "\n";
  return pem;
}

} // namespace mds::core::crypto
