// Admin bearer tokens. The token file is read once at start; only SHA-256 digests of the
// tokens stay in memory, and a presented token is compared against every digest in
// constant time, so neither a memory dump nor response timing gives a token away.
//
// Token file: one token per line, optionally preceded by a name that identifies its
// holder in the audit log ("ci-deploy 3q2…"). Blank lines and lines starting with '#'
// are ignored. A token is 32 to 256 characters of [A-Za-z0-9._~+/=-].
#ifndef MDS_SERVER_AUTH_ADMIN_TOKENS_HPP
#define MDS_SERVER_AUTH_ADMIN_TOKENS_HPP

#include "core/crypto/sha256.hpp"

#include <mds/error.hpp>

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mds::server {

class AdminTokens {
public:
  static constexpr std::size_t kMinTokenLength = 32;
  static constexpr std::size_t kMaxTokenLength = 256;

  static Result<AdminTokens> load(const std::filesystem::path &file);
  static Result<AdminTokens> parse(std::string_view file_text);

  // Checks an Authorization header value ("Bearer <token>"). Returns the identity of the
  // token's holder, or Unauthorized. Every refusal carries the same message to the client.
  Result<std::string> authenticate(std::optional<std::string_view> authorization_header) const;

  std::size_t size() const { return entries_.size(); }

private:
  struct Entry {
    core::crypto::Digest digest;
    std::string identity;
  };
  std::vector<Entry> entries_;
};

} // namespace mds::server

#endif
