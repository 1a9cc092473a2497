#include "server/auth/admin_tokens.hpp"

#include "core/crypto/constant_time.hpp"

#include <cctype>
#include <fstream>
#include <sstream>

namespace mds::server {
namespace {

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' ||
         c == '=' || c == '-';
}

bool is_well_formed_token(std::string_view token) {
  if (token.size() < AdminTokens::kMinTokenLength || token.size() > AdminTokens::kMaxTokenLength) {
    return false;
  }
  for (char c : token) {
    if (!is_token_char(c)) {
      return false;
    }
  }
  return true;
}

std::string hex_prefix(const core::crypto::Digest &digest, std::size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

std::vector<std::string_view> split_whitespace(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && std::isspace(static_cast<unsigned char>(line[pos])) != 0) {
      ++pos;
    }
    const auto start = pos;
    while (pos < line.size() && std::isspace(static_cast<unsigned char>(line[pos])) == 0) {
      ++pos;
    }
    if (pos > start) {
      fields.push_back(line.substr(start, pos - start));
    }
  }
  return fields;
}

Error unauthorized() {
  return make_error(ErrorCode::Unauthorized, "a valid admin token is required (Authorization: Bearer <token>)");
}

} // namespace

Result<AdminTokens> AdminTokens::load(const std::filesystem::path &file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return make_error(ErrorCode::IoError, "cannot read the admin token file " + file.string());
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return make_error(ErrorCode::IoError, "cannot read the admin token file " + file.string());
  }
  auto tokens = parse(text.str());
  if (!tokens) {
    return make_error(tokens.code(), file.string() + ": " + tokens.error().message);
  }
  return tokens;
}

Result<AdminTokens> AdminTokens::parse(std::string_view file_text) {
  AdminTokens tokens;
  std::size_t line_number = 0;
  std::size_t pos = 0;
  while (pos < file_text.size()) {
    auto end = file_text.find('\n', pos);
    if (end == std::string_view::npos) {
      end = file_text.size();
    }
    const auto line = file_text.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;

    const auto fields = split_whitespace(line);
    if (fields.empty() || fields[0][0] == '#') {
      continue;
    }
    if (fields.size() > 2) {
      return make_error(ErrorCode::InvalidArgument,
                        "line " + std::to_string(line_number) + ": expected \"[NAME] TOKEN\"");
    }
    const auto token = fields.back();
    if (!is_well_formed_token(token)) {
      return make_error(ErrorCode::InvalidArgument,
                        "line " + std::to_string(line_number) + ": a token must be " + std::to_string(kMinTokenLength) +
                            " to " + std::to_string(kMaxTokenLength) + " characters of A-Z a-z 0-9 . _ ~ + / = -");
    }
    Entry entry{core::crypto::sha256(token), {}};
    // A bare token is named by a digest prefix: enough to tell holders apart in the
    // audit log, useless for guessing the token.
    entry.identity = fields.size() == 2 ? std::string(fields[0]) : "token:" + hex_prefix(entry.digest, 4);
    tokens.entries_.push_back(std::move(entry));
  }
  if (tokens.entries_.empty()) {
    return make_error(ErrorCode::InvalidArgument, "no admin token in the file");
  }
  return tokens;
}

Result<std::string> AdminTokens::authenticate(std::optional<std::string_view> authorization_header) const {
  if (!authorization_header) {
    return unauthorized();
  }
  constexpr std::string_view kScheme = "bearer ";
  const auto header = *authorization_header;
  if (header.size() <= kScheme.size()) {
    return unauthorized();
  }
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) {
      return unauthorized();
    }
  }
  const auto token = header.substr(kScheme.size());
  if (!is_well_formed_token(token)) {
    return unauthorized();
  }
  const auto presented = core::crypto::sha256(token);
  // Every stored digest is compared, match or not, so timing says nothing about which
  // entry (if any) matched.
  const Entry *matched = nullptr;
  for (const auto &entry : entries_) {
    const bool equal = core::crypto::constant_time_equal(entry.digest, presented);
    if (equal && matched == nullptr) {
      matched = &entry;
    }
  }
  if (matched == nullptr) {
    return unauthorized();
  }
  return matched->identity;
}

} // namespace mds::server
